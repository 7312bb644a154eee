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

pub mod clients;
pub mod convert;
pub mod pop;
pub mod pull;
pub mod service;

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

/// Serves the gRPC API of the broker in `slot` on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    slot: BrokerSlot,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    // Until the broker has opened (it loads its store after the ports are bound), clients wait
    // in the listen backlog rather than being answered "the broker is not open".
    while !slot.is_open() {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(std::time::Duration::from_millis(20)) => {}
        }
    }
    let service = pb::messaging_service_server::MessagingServiceServer::new(
        Messaging::new(slot, port).with_shutdown(shutdown.clone()),
    )
    .max_decoding_message_size(MAX_REQUEST_BYTES)
    .max_encoding_message_size(MAX_REQUEST_BYTES);
    tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(
            // No Nagle: a unary answer goes out as headers, data and trailers, and a client
            // waiting on it would otherwise wait for the delayed ACK (40 ms) of each call.
            tokio_stream::StreamExt::map(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                |conn| {
                    if let Ok(c) = &conn {
                        let _ = c.set_nodelay(true);
                    }
                    conn
                },
            ),
            shutdown.cancelled_owned(),
        )
        .await
}
