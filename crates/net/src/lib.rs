//! Tokio transport for RocketMQ remoting.
//!
//! One [`connection`] type serves both sides: it reads every complete frame a socket delivered,
//! runs requests concurrently (bounded per connection) through a [`Handler`], matches responses
//! to outstanding calls by `opaque`, and writes everything queued with one vectored write.
//!
//! * [`server::serve`] accepts connections and hands each to the handler.
//! * [`client::RemotingClient`] keeps one connection per address and offers `invoke` (with a
//!   deadline) and `invoke_oneway`; requests the server sends back (consumer-ids-changed
//!   notices) go to the client's own handler.
//!
//! A malformed frame closes only its connection. [`stats::copy_stats`] counts what the writers
//! copied (headers) and what they wrote by reference (bodies, mapped commit-log slices).

pub mod client;
pub mod connection;
pub mod error;
pub mod server;
pub mod stats;
pub mod tls;

pub use client::RemotingClient;
pub use connection::{BoxFuture, ConnectionConfig, ConnectionHandle, DetachedPeer, Handler};
pub use error::NetError;
pub use server::serve;
pub use stats::{copy_stats, flow_stats, CopyStats, FlowStats, PauseReason};
pub use tls::{ClientAuth, ServerIdentity, ServerTrust, TlsClient, TlsError, TlsMode, TlsServer};
