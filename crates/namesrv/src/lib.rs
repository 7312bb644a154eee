//! The FerroMQ name server: RocketMQ's `namesrv`, wire-compatible with its brokers, clients and
//! admin tools.
//!
//! It owns the route table (which broker groups exist, in which cluster, with which topic
//! queues), broker liveness, and a small persisted KV config.
//!
//! ```text
//! broker ──REGISTER_BROKER (every 30 s, full or incremental)──▶ RouteTable ◀── expiry sweep (5 s)
//!        ──UNREGISTER_BROKER / connection close──────────────▶     │
//! client ──GET_ROUTEINFO_BY_TOPIC──▶ route(topic) ◀────────────────┘
//! admin  ──cluster info, topic lists, delete topic, KV config, NS config──▶ handlers
//! ```
//!
//! * [`config`]: [`NamesrvConfig`] from `namesrv.conf`.
//! * [`route`]: the route table and liveness, synchronous and unit tested.
//! * [`kv`]: the KV config store, written atomically to `kvConfigPath`.
//! * `handlers`: one module per request family, dispatched from one table.
//! * [`Namesrv`]: the embeddable server; [`run`] serves a listener until shutdown.
//! * `metrics`: request latency and route-table gauges for `/metrics`
//!   ([`Namesrv::register_metrics`]).
//!
//! Responses always carry version 479 and language `JAVA`, and route data is always standard
//! JSON (`{"0":"addr"}`), whatever the client's version.

pub mod config;
mod error;
mod handlers;
pub mod kv;
mod metrics;
pub mod route;
mod server;

pub use config::NamesrvConfig;
pub use error::NamesrvError;
pub use metrics::{NAMESRV_BROKERS, NAMESRV_TOPICS};
pub use server::{Namesrv, RequestGuard};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Serves the name server on `listener` until `shutdown` is cancelled.
///
/// Returns an error only when start-up fails (the KV config file exists but cannot be read or
/// parsed); returns `Ok(())` after shutdown.
pub async fn run(
    listener: TcpListener,
    config: NamesrvConfig,
    shutdown: CancellationToken,
) -> Result<(), NamesrvError> {
    run_with_metrics(listener, config, shutdown, None).await
}

/// [`run`], with the name server added to `metrics` (read by `/metrics`).
pub async fn run_with_metrics(
    listener: TcpListener,
    config: NamesrvConfig,
    shutdown: CancellationToken,
    metrics: Option<ferromq_metrics::MetricsRegistry>,
) -> Result<(), NamesrvError> {
    run_guarded(listener, config, shutdown, metrics, None).await
}

/// [`run_with_metrics`], checking every request with `guard` first (ACL 2.0).
pub async fn run_guarded(
    listener: TcpListener,
    config: NamesrvConfig,
    shutdown: CancellationToken,
    metrics: Option<ferromq_metrics::MetricsRegistry>,
    guard: Option<RequestGuard>,
) -> Result<(), NamesrvError> {
    let mut namesrv = Namesrv::new(config)?;
    if let Some(g) = guard {
        namesrv = namesrv.with_guard(g);
    }
    if let Some(registry) = metrics {
        let node_id = listener
            .local_addr()
            .map_or_else(|_| "namesrv".to_owned(), |a| a.to_string());
        namesrv.register_metrics(&registry, node_id);
    }
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "name server listening");
    }
    namesrv.serve(listener, shutdown).await;
    Ok(())
}
