//! Accept loop.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::connection::{spawn_stream, ConnectionConfig, ConnectionHandle, Handler};

/// Accepts connections on `listener` until `shutdown` is cancelled, serving each with `handler`
/// (over TLS or plaintext per `config.tls`). At shutdown every connection it accepted is
/// closed too, so nothing is served after the caller goes on to persist its state.
pub async fn serve(
    listener: TcpListener,
    handler: Arc<dyn Handler>,
    config: ConnectionConfig,
    shutdown: CancellationToken,
) {
    let mut incoming =
        crate::tls::incoming(listener, config.tls.clone(), true, shutdown.child_token());
    let mut live: Vec<ConnectionHandle> = Vec::new();
    loop {
        let accepted = tokio::select! {
            a = incoming.recv() => a,
            _ = shutdown.cancelled() => break,
        };
        let Some((stream, _)) = accepted else { break };
        match spawn_stream(stream, Arc::clone(&handler), config.clone()) {
            Ok(conn) => {
                live.retain(|c| !c.is_closed());
                live.push(conn);
            }
            Err(e) => tracing::debug!(error = %e, "connection setup failed"),
        }
    }
    for conn in live {
        conn.close();
    }
}
