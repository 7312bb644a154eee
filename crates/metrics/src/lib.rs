//! FerroMQ's metrics: one registry per process that the broker and the name server feed, read
//! only when Prometheus scrapes it.
//!
//! ```text
//! broker ──(Source: topics, offsets, store, rpc table)──┐
//! namesrv ─(Source: routes, rpc table)──────────────────┼─▶ MetricsRegistry ──render()──▶ /metrics
//! process ─(Source: cpu, RSS)───────────────────────────┘     (dashboard crate, axum)
//! ```
//!
//! Why this shape:
//! * **Rendered at scrape time.** A [`Source`] reads the counters its server already keeps (or
//!   keeps for this purpose, as plain atomics) and the state it can compute on demand (consumer
//!   lag from offsets, store positions), and writes them into a [`Scrape`]. Nothing on the send
//!   or pull path builds label sets, allocates, or touches a metrics library: the only hot-path
//!   cost is the counters themselves ([`RpcLatency::observe`]: a read lock, a small-map lookup
//!   and two relaxed atomic adds, about 18 ns).
//! * **One registry for the whole process.** `ferromq standalone` runs a broker and a name
//!   server in one process; families with the same name (`rocketmq_rpc_latency`) from both are
//!   merged into one family with `node_type` telling them apart, which Prometheus requires (a
//!   family may appear once per exposition).
//! * **A well-kept encoder.** The text itself is written by `prometheus-client` (the Prometheus
//!   project's Rust client): OpenMetrics text, escaping, `_total`/`_bucket` suffixes and `# EOF`.
//!
//! Names and labels are RocketMQ 5's (see [`names`]), so RocketMQ's Grafana dashboards can read
//! FerroMQ's brokers.

mod exporter;
pub mod names;
mod process;
mod registry;
mod rpc;
mod scrape;

pub use exporter::MetricsExporterType;
pub use process::ProcessSource;
pub use registry::{to_text_format, MetricsRegistry, Source, CONTENT_TYPE, TEXT_CONTENT_TYPE};
pub use rpc::{RpcLatency, RPC_LATENCY_BUCKETS_MS};
pub use scrape::{Labels, Scrape};
