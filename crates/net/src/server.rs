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
    // Refusals since the last log line: one line per burst, not one per connection.
    let mut refused: u64 = 0;
    let mut refused_logged = std::time::Instant::now() - REFUSAL_LOG_PERIOD;
    loop {
        let accepted = tokio::select! {
            a = incoming.recv() => a,
            _ = shutdown.cancelled() => break,
        };
        let Some((stream, peer)) = accepted else {
            break;
        };
        if at_limit(&mut live, config.max_connections) {
            drop(stream);
            crate::stats::FLOW_STATS.refuse();
            refused += 1;
            if refused_logged.elapsed() >= REFUSAL_LOG_PERIOD {
                tracing::warn!(
                    limit = config.max_connections,
                    refused,
                    last_peer = %peer,
                    "connection limit reached (serverMaxConnections): closing new connections"
                );
                refused = 0;
                refused_logged = std::time::Instant::now();
            }
            continue;
        }
        match spawn_stream(stream, Arc::clone(&handler), config.clone()) {
            Ok(conn) => {
                live.push(conn);
            }
            Err(e) => tracing::debug!(error = %e, "connection setup failed"),
        }
    }
    for conn in live {
        conn.close();
    }
}

/// Least time between two "connection limit reached" log lines.
const REFUSAL_LOG_PERIOD: std::time::Duration = std::time::Duration::from_secs(10);

/// True when `live` (pruned of closed connections here) already holds `max` connections.
fn at_limit(live: &mut Vec<ConnectionHandle>, max: usize) -> bool {
    live.retain(|c| !c.is_closed());
    live.len() >= max.max(1)
}
