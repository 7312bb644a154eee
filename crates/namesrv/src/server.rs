//! The name server as a value: shared state, the remoting handler and the expiry sweep.

use std::sync::Arc;
use std::time::Instant;

use ferromq_net::{serve, BoxFuture, ConnectionConfig, ConnectionHandle, Handler};
use ferromq_proto::body::{ClusterInfo, TopicRouteData};
use ferromq_proto::RemotingCommand;
use parking_lot::RwLock;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::kv::KvStore;
use crate::route::{RegisterPolicy, RouteTable};
use crate::{handlers, NamesrvConfig, NamesrvError};

/// State every request handler sees.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: RwLock<NamesrvConfig>,
    pub(crate) routes: RwLock<RouteTable>,
    pub(crate) kv: KvStore,
    /// Request latency by request code, for `/metrics`.
    pub(crate) rpc: ferromq_metrics::RpcLatency,
}

impl Shared {
    pub(crate) fn register_policy(&self) -> RegisterPolicy {
        let config = self.config.read();
        RegisterPolicy {
            default_timeout: config.default_broker_timeout(),
            delete_unlisted_topics: config.delete_topic_with_broker_registration,
        }
    }
}

/// A check run before every request (ACL 2.0): `Err` carries the NO_PERMISSION remark.
pub type RequestGuard =
    Arc<dyn Fn(std::net::IpAddr, &RemotingCommand) -> Result<(), String> + Send + Sync>;

/// An embeddable name server: build it with [`Namesrv::new`], then either [`Namesrv::serve`] it
/// on a listener, or hand [`Namesrv::handler`] to your own accept loop and run
/// [`Namesrv::spawn_expiry_sweep`] next to it.
#[derive(Clone)]
pub struct Namesrv {
    shared: Arc<Shared>,
    /// TLS of the listening port (`tls.server.mode`), set up once at creation.
    tls: ferromq_net::tls::TlsServer,
    /// Checked before every request, when set.
    guard: Option<RequestGuard>,
}

impl std::fmt::Debug for Namesrv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namesrv")
            .field("shared", &self.shared)
            .field("tls", &self.tls)
            .field("guarded", &self.guard.is_some())
            .finish()
    }
}

impl Namesrv {
    /// Creates a name server and loads the KV config from `config.kv_config_path`.
    ///
    /// Errors when that file exists but cannot be read or parsed.
    pub fn new(config: NamesrvConfig) -> Result<Self, NamesrvError> {
        let kv = KvStore::load(config.kv_config_path.clone())?;
        let tls = config
            .tls
            .server()
            .map_err(|e| NamesrvError::Tls(e.to_string()))?;
        Ok(Namesrv {
            tls,
            guard: None,
            shared: Arc::new(Shared {
                config: RwLock::new(config),
                routes: RwLock::new(RouteTable::new()),
                kv,
                rpc: ferromq_metrics::RpcLatency::default(),
            }),
        })
    }

    /// The remoting handler serving every name-server request code; it also drops a broker
    /// when the connection it registered on closes.
    pub fn handler(&self) -> Arc<dyn Handler> {
        Arc::new(NamesrvHandler {
            shared: Arc::clone(&self.shared),
            guard: self.guard.clone(),
        })
    }

    /// The same name server checking every request with `guard` first; a refused request is
    /// answered NO_PERMISSION (16) with the guard's remark.
    pub fn with_guard(mut self, guard: RequestGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// Adds this name server to `registry` (read by `/metrics`), its series labelled
    /// `node_type="namesrv"` and `node_id=<node_id>` (the address it listens on).
    pub fn register_metrics(&self, registry: &ferromq_metrics::MetricsRegistry, node_id: String) {
        registry.register(Arc::new(crate::metrics::NamesrvSource::new(
            Arc::downgrade(&self.shared),
            node_id,
        )));
    }

    /// The current settings (UPDATE_NAMESRV_CONFIG may change them at run time).
    pub fn config(&self) -> NamesrvConfig {
        self.shared.config.read().clone()
    }

    /// Every registered broker group by cluster, for dashboards.
    pub fn cluster_info(&self) -> ClusterInfo {
        self.shared.routes.read().cluster_info()
    }

    /// The route of `topic` as GET_ROUTEINFO_BY_TOPIC would answer it (without
    /// `orderTopicConf`), or `None` for unknown topics.
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        self.shared.routes.read().route(topic)
    }

    /// Starts the sweep that drops brokers whose heartbeat timed out, every
    /// `scanNotActiveBrokerInterval`, until `shutdown`.
    pub fn spawn_expiry_sweep(&self, shutdown: CancellationToken) -> JoinHandle<()> {
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            let mut period = shared.config.read().scan_interval();
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = shutdown.cancelled() => return,
                }
                let expired = shared.routes.write().remove_expired(Instant::now());
                for e in expired {
                    tracing::warn!(
                        cluster = %e.addr.cluster, addr = %e.addr.addr,
                        timeout_ms = e.timeout.as_millis() as u64, "broker expired: no heartbeat"
                    );
                    if let Some(conn) = e.conn {
                        conn.close();
                    }
                }
                let wanted = shared.config.read().scan_interval();
                if wanted != period {
                    period = wanted;
                    ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                }
            }
        })
    }

    /// Serves `listener` until `shutdown` is cancelled, with the expiry sweep running.
    pub async fn serve(&self, listener: TcpListener, shutdown: CancellationToken) {
        let sweep = self.spawn_expiry_sweep(shutdown.clone());
        let conn_config = ConnectionConfig {
            idle_timeout: self.config().idle_timeout(),
            tls: self.tls.clone(),
            ..Default::default()
        };
        serve(listener, self.handler(), conn_config, shutdown).await;
        let _ = sweep.await;
    }
}

struct NamesrvHandler {
    shared: Arc<Shared>,
    guard: Option<RequestGuard>,
}

impl Handler for NamesrvHandler {
    fn handle(
        &self,
        conn: ConnectionHandle,
        request: RemotingCommand,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        let shared = Arc::clone(&self.shared);
        let refused = self
            .guard
            .as_ref()
            .and_then(|g| g(conn.peer_addr().ip(), &request).err());
        Box::pin(async move {
            let started = std::time::Instant::now();
            let response = match refused {
                Some(remark) => {
                    if request.is_oneway() {
                        return None;
                    }
                    request.response_to(ferromq_proto::codes::response::NO_PERMISSION, Some(remark))
                }
                None => handlers::dispatch(&shared, &conn, &request).await,
            };
            let oneway = request.is_oneway();
            let elapsed = started.elapsed();
            shared
                .rpc
                .observe(request.code, response.code, oneway, false, elapsed);
            Some(response)
        })
    }

    fn on_close(&self, conn: &ConnectionHandle) {
        if let Some(addr) = self.shared.routes.write().remove_connection(conn.id()) {
            tracing::info!(cluster = %addr.cluster, addr = %addr.addr, "broker connection closed: broker dropped");
        }
    }
}
