//! Accept loop.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::connection::{spawn, ConnectionConfig, Handler};

/// Accepts connections on `listener` until `shutdown` is cancelled, serving each with `handler`.
pub async fn serve(
    listener: TcpListener,
    handler: Arc<dyn Handler>,
    config: ConnectionConfig,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, _)) => {
                if let Err(e) = spawn(stream, Arc::clone(&handler), config.clone()) {
                    tracing::debug!(error = %e, "connection setup failed");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}
