//! Accept loop.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::connection::{spawn, ConnectionConfig, ConnectionHandle, Handler};

/// Accepts connections on `listener` until `shutdown` is cancelled, serving each with `handler`.
/// At shutdown every connection it accepted is closed too, so nothing is served after the
/// caller goes on to persist its state.
pub async fn serve(
    listener: TcpListener,
    handler: Arc<dyn Handler>,
    config: ConnectionConfig,
    shutdown: CancellationToken,
) {
    let mut live: Vec<ConnectionHandle> = Vec::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => break,
        };
        match accepted {
            Ok((stream, _)) => match spawn(stream, Arc::clone(&handler), config.clone()) {
                Ok(conn) => {
                    live.retain(|c| !c.is_closed());
                    live.push(conn);
                }
                Err(e) => tracing::debug!(error = %e, "connection setup failed"),
            },
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    for conn in live {
        conn.close();
    }
}
