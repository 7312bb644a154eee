//! The FerroMQ dashboard: an HTTP server in the broker process (and in `ferromq standalone`),
//! on `dashboardPort` (8080; 0 turns it off). Today it serves Prometheus' `/metrics`; pages come
//! on top of the same router.
//!
//! ```text
//! GET /metrics ──▶ spawn_blocking(MetricsRegistry::render) ──▶ 200 OpenMetrics text (when the
//!                  scraper accepts it, as Prometheus does), else text format 0.0.4
//! GET /        ──▶ 200 a short index
//! anything else ─▶ 404 with the reason
//! ```
//!
//! Rendering walks offset tables and asks the file system for free space, so it runs on a
//! blocking thread: the runtime workers that serve sends and pulls never wait for a scrape.
//! The server shares the broker's runtime but none of its locks beyond the short read locks a
//! scrape takes on counters and tables.

use std::io;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ferromq_metrics::MetricsRegistry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The dashboard's routes over `registry`.
pub fn router(registry: MetricsRegistry) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(registry)
}

/// Serves the dashboard on `listener` until `shutdown` is cancelled.
///
/// Returns an error only if accepting connections fails for good.
pub async fn serve(
    listener: TcpListener,
    registry: MetricsRegistry,
    shutdown: CancellationToken,
) -> io::Result<()> {
    axum::serve(listener, router(registry))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

/// [`serve`] with TLS per `tls` (`tls.server.mode`: plaintext, both, or TLS only).
pub async fn serve_tls(
    listener: TcpListener,
    tls: ferromq_net::tls::TlsServer,
    registry: MetricsRegistry,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let local = listener.local_addr()?;
    let incoming = ferromq_net::tls::incoming(listener, tls, false, shutdown.child_token());
    let listener = Incoming {
        rx: incoming,
        local,
    };
    axum::serve(listener, router(registry))
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

async fn metrics(State(registry): State<MetricsRegistry>, headers: HeaderMap) -> Response {
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

async fn not_found(req: Request) -> (StatusCode, String) {
    (
        StatusCode::NOT_FOUND,
        format!(
            "no page at {}: this FerroMQ dashboard serves / and /metrics\n",
            req.uri().path()
        ),
    )
}
