//! The RocketMQ 5 gRPC API (`apache.rocketmq.v2.MessagingService`) served by the broker itself,
//! so the official v5 clients (Java, Go, Python, Node.js, C#, Rust, C++) connect with no proxy
//! process.
//!
//! ```text
//! v5 client ─▶ tonic (grpcListenPort) ─▶ service.rs ─▶ broker services (send, transactions,
//!                                             │          send-back/DLQ, offsets, store reads)
//!                                             └──▶ pop.rs (receipt handles, in-flight state,
//!                                                           config/popState.{log,json})
//!   Telemetry ─▶ clients.rs (v5 clients in the broker's client tables; transaction checks
//!                            down the stream)      PullMessage ─▶ pull.rs
//! ```
//!
//! The .proto files under `proto/` come from the npm package `rocketmq-client-nodejs` (see
//! `proto/README.md`); the code is generated at build time by protox (no protoc needed).

pub mod auth;
pub mod clients;
pub mod convert;
pub mod pop;
pub mod pull;
pub mod service;
pub mod transport;

/// Generated messages, server and client of `apache.rocketmq.v2`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("apache.rocketmq.v2");
}

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use service::{BrokerSlot, Messaging};

/// Largest request accepted (bigger than any `maxMessageSize`, so that an oversized body gets
/// RocketMQ's MESSAGE_BODY_TOO_LARGE rather than a transport error).
pub const MAX_REQUEST_BYTES: usize = 256 * 1024 * 1024;

/// Serves the gRPC API of the broker in `slot` on `listener` until `shutdown` (plaintext, no
/// ACL checks: see [`serve_secured`]).
pub async fn serve(
    listener: TcpListener,
    slot: BrokerSlot,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    serve_secured(listener, slot, Security::default(), shutdown).await
}

/// How the gRPC port is guarded.
#[derive(Clone, Default)]
pub struct Security {
    /// `tls.server.mode` and the certificate (the broker's own TLS settings).
    pub tls: ferromq_net::tls::TlsServer,
    /// When set, every RPC is checked against the ACL 2.0 users and ACLs of the broker the
    /// slot's hook was chained to (`authenticationEnabled` / `authorizationEnabled`).
    pub auth: Option<auth::AuthSlot>,
}

/// [`serve`] with TLS per `security.tls` and, when `security.auth` is set, ACL 2.0 checks.
pub async fn serve_secured(
    listener: TcpListener,
    slot: BrokerSlot,
    security: Security,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    use pb::messaging_service_server::MessagingServiceServer;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    // Until the broker has opened (it loads its store after the ports are bound), clients wait
    // in the listen backlog rather than being answered "the broker is not open".
    while !slot.is_open() {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(std::time::Duration::from_millis(20)) => {}
        }
    }
    let messaging = Messaging::new(slot, port).with_shutdown(shutdown.clone());
    // TLS per the mode, and no Nagle on accepted connections (`transport::incoming`): a unary
    // answer goes out as headers, data and trailers, and a client waiting on it would
    // otherwise wait for the delayed ACK (40 ms) of each call.
    let incoming = transport::incoming(listener, &security.tls, shutdown.clone());
    let router = match security.auth {
        Some(a) => tonic::transport::Server::builder().add_service(
            MessagingServiceServer::new(auth::Guarded::new(messaging, a))
                .max_decoding_message_size(MAX_REQUEST_BYTES)
                .max_encoding_message_size(MAX_REQUEST_BYTES),
        ),
        None => tonic::transport::Server::builder().add_service(
            MessagingServiceServer::new(messaging)
                .max_decoding_message_size(MAX_REQUEST_BYTES)
                .max_encoding_message_size(MAX_REQUEST_BYTES),
        ),
    };
    router
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await
}
