//! The FerroMQ dashboard: an HTTP server in the broker process (and in `ferromq standalone`),
//! on `dashboardPort` (8080; 0 turns it off): server-rendered pages, the JSON API they call,
//! and Prometheus' `/metrics`.
//!
//! ```text
//! browser ──GET /topics, /groups/G, ...──▶ pages/*  ─┐
//!         ──POST /api/... (JSON)─────────▶ pages/*  ─┼─▶ ferromq_admin operations (the code
//!         ──GET /api/charts/* ───────────▶ history   │    mqadmin runs) ─▶ AdminClient ─▶
//!                                                    │    name server / brokers over remoting
//! Prometheus ──GET /metrics──▶ spawn_blocking(MetricsRegistry::render)
//! ```
//!
//! The dashboard is a client of the cluster like `mqadmin`: it asks the name servers the broker
//! registers with, so it shows the whole cluster, not only the broker it runs in. Everything it
//! shows is HTML-escaped ([`html::esc`]); user mistakes answer 4xx with the reason
//! ([`error::ApiError`]). Pages are plain HTML with a small embedded script
//! (`assets/dashboard.js`) that sends the forms as JSON and draws the charts as inline SVG.
//!
//! `/metrics` rendering walks offset tables and asks the file system for free space, so it runs
//! on a blocking thread: the runtime workers that serve sends and pulls never wait for a scrape.

pub mod error;
pub mod history;
pub mod html;
mod pages;

use std::io;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ferromq_admin::AdminClient;
use ferromq_metrics::MetricsRegistry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::history::History;

/// Where the dashboard finds the cluster: the broker it runs in and its name servers.
#[derive(Debug, Clone)]
pub struct ClusterTarget {
    /// Name servers, `a:9876;b:9876`.
    pub namesrv: String,
    /// The local broker's address (`brokerIP1:listenPort`).
    pub broker_addr: String,
    /// The local broker's name.
    pub broker_name: String,
    /// The local broker's cluster; topics and groups are created on its masters.
    pub cluster: String,
}

/// State shared by the handlers.
#[derive(Clone)]
pub struct Dashboard {
    registry: MetricsRegistry,
    cluster: Option<Arc<Cluster>>,
}

/// The admin client and what it talks to.
pub(crate) struct Cluster {
    pub(crate) admin: AdminClient,
    pub(crate) target: ClusterTarget,
    pub(crate) history: History,
}

impl Dashboard {
    /// `/metrics` only (the Prometheus exporter ports).
    pub fn metrics_only(registry: MetricsRegistry) -> Self {
        Dashboard {
            registry,
            cluster: None,
        }
    }

    /// The pages and API over `target`, plus `/metrics`. An unusable name-server list is an
    /// error (the pages could never answer).
    pub fn with_cluster(
        registry: MetricsRegistry,
        target: ClusterTarget,
    ) -> Result<Self, ferromq_client::ClientError> {
        let admin = AdminClient::connect(Some(&target.namesrv))?;
        Ok(Dashboard {
            registry,
            cluster: Some(Arc::new(Cluster {
                admin,
                target,
                history: History::default(),
            })),
        })
    }

    pub(crate) fn cluster(&self) -> Result<&Cluster, error::ApiError> {
        self.cluster.as_deref().ok_or_else(|| {
            error::ApiError::unavailable(
                "this listener serves only /metrics (no name server to ask): use the broker's dashboardPort",
            )
        })
    }
}

/// The dashboard's routes over `registry` alone: `/metrics` and a short index.
pub fn router(registry: MetricsRegistry) -> Router {
    app(Dashboard::metrics_only(registry))
}

/// The routes of `dashboard`: pages and API when it has a cluster, `/metrics` always.
pub fn app(dashboard: Dashboard) -> Router {
    let base = Router::new().route("/metrics", get(metrics));
    let routes = if dashboard.cluster.is_some() {
        pages::routes(base)
    } else {
        base.route("/", get(index))
    };
    routes.fallback(not_found).with_state(dashboard)
}

/// Serves `/metrics` over `registry` on `listener` until `shutdown` is cancelled.
///
/// Returns an error only if accepting connections fails for good.
pub async fn serve(
    listener: TcpListener,
    registry: MetricsRegistry,
    shutdown: CancellationToken,
) -> io::Result<()> {
    serve_dashboard(listener, Dashboard::metrics_only(registry), shutdown).await
}

/// Serves `dashboard` on `listener` until `shutdown` is cancelled; with a cluster, the chart
/// sampler runs as long as the server does.
///
/// Returns an error only if accepting connections fails for good.
pub async fn serve_dashboard(
    listener: TcpListener,
    dashboard: Dashboard,
    shutdown: CancellationToken,
) -> io::Result<()> {
    start_history(&dashboard, &shutdown);
    axum::serve(listener, app(dashboard))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

/// With a cluster, starts the chart sampler; it runs until `shutdown`.
fn start_history(dashboard: &Dashboard, shutdown: &CancellationToken) {
    if let Some(c) = &dashboard.cluster {
        tokio::spawn(
            c.history
                .clone()
                .run(c.admin.clone(), shutdown.child_token()),
        );
    }
}

/// [`serve_dashboard`] with TLS per `tls` (`tls.server.mode`: plaintext, both, or TLS only).
pub async fn serve_tls(
    listener: TcpListener,
    tls: ferromq_net::tls::TlsServer,
    dashboard: Dashboard,
    shutdown: CancellationToken,
) -> io::Result<()> {
    start_history(&dashboard, &shutdown);
    let local = listener.local_addr()?;
    let incoming = ferromq_net::tls::incoming(listener, tls, false, shutdown.child_token());
    let listener = Incoming {
        rx: incoming,
        local,
    };
    axum::serve(listener, app(dashboard))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

/// Connections handed over by [`ferromq_net::tls::incoming`], as axum takes them.
struct Incoming {
    rx: tokio::sync::mpsc::Receiver<(ferromq_net::tls::MaybeTlsStream, std::net::SocketAddr)>,
    local: std::net::SocketAddr,
}

impl axum::serve::Listener for Incoming {
    type Io = ferromq_net::tls::MaybeTlsStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept loop ended (shutdown): wait for the graceful shutdown to finish.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

async fn metrics(State(d): State<Dashboard>, headers: HeaderMap) -> Response {
    let registry = d.registry;
    // Prometheus asks for OpenMetrics first; others (curl, older scrapers) get text 0.0.4.
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    match tokio::task::spawn_blocking(move || registry.render()).await {
        Ok(text) if openmetrics => (
            [(header::CONTENT_TYPE, ferromq_metrics::CONTENT_TYPE)],
            text,
        )
            .into_response(),
        Ok(text) => (
            [(header::CONTENT_TYPE, ferromq_metrics::TEXT_CONTENT_TYPE)],
            ferromq_metrics::to_text_format(&text),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering /metrics failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("rendering the metrics failed: {e}\n"),
            )
                .into_response()
        }
    }
}

async fn index() -> &'static str {
    "FerroMQ dashboard\n\n/metrics  Prometheus metrics (RocketMQ 5 names)\n"
}

async fn not_found(req: Request) -> Response {
    let path = req.uri().path().to_owned();
    if path.starts_with("/api/") {
        return error::ApiError::not_found(format!("no API at {path}")).into_response();
    }
    (
        StatusCode::NOT_FOUND,
        format!("no page at {path}: see / for the dashboard and /metrics for Prometheus\n"),
    )
        .into_response()
}
