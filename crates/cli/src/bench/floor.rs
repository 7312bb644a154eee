//! The transport floor: the same requests the producer bench sends (SEND_MESSAGE_V2 headers, a
//! 1 KiB body, a send-response-sized answer) against a `ferromq_net` server whose handler does
//! nothing. The server runs on a runtime of its own (two workers, like the broker's), so the
//! figures show what tokio, the framing and the header codecs cost before any broker work:
//! the gap between these rows and the broker's is the broker's own per-message cost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_net::{serve, BoxFuture, ConnectionConfig, ConnectionHandle, Handler};
use ferromq_proto::command::SerializeType;
use ferromq_proto::headers::SendMessageResponseHeader;
use ferromq_proto::RemotingCommand;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::wire::{QueueTarget, SendTemplate};

/// Answers every request like a successful send, without storing anything.
struct Echo;

impl Handler for Echo {
    fn handle(
        &self,
        _conn: ConnectionHandle,
        req: RemotingCommand,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        let header = SendMessageResponseHeader {
            msg_id: "7F00000100002A9F0000000000000000".to_owned(),
            queue_id: 0,
            queue_offset: 0,
            transaction_id: Some("7F000001000000000000000000000000".to_owned()),
            batch_uniq_id: None,
            recall_handle: None,
        };
        let mut resp = req.success_to().with_header(&header);
        resp.ext_fields.insert("MSG_REGION", "DefaultRegion");
        resp.ext_fields.insert("TRACE_ON", "true");
        Box::pin(async move { Some(resp) })
    }

    fn poll_inline(&self, _request: &RemotingCommand) -> bool {
        true
    }
}

/// What the echo server sustained.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Floor {
    /// Round trips per second, one request at a time.
    pub sync_rt_per_s: f64,
    /// Median round trip, microseconds.
    pub sync_p50_us: f64,
    /// Requests per second with 256 in flight on one connection.
    pub async_msgs_per_s: f64,
}

impl Floor {
    /// The best of every figure over `runs`.
    pub fn best(runs: &[Floor]) -> Floor {
        let mut b = runs.first().copied().unwrap_or_default();
        for r in runs.iter().skip(1) {
            b.sync_rt_per_s = b.sync_rt_per_s.max(r.sync_rt_per_s);
            b.sync_p50_us = b.sync_p50_us.min(r.sync_p50_us);
            b.async_msgs_per_s = b.async_msgs_per_s.max(r.async_msgs_per_s);
        }
        b
    }
}

/// Measures the floor for about `each` per figure, with `serialize` headers.
pub async fn measure(each: Duration, serialize: SerializeType) -> anyhow::Result<Floor> {
    let stop = CancellationToken::new();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?.to_string();
    let server_stop = stop.clone();
    let server = std::thread::Builder::new()
        .name("floor-server".into())
        .spawn(move || -> anyhow::Result<()> {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener)?;
                serve(
                    listener,
                    Arc::new(Echo),
                    ConnectionConfig::default(),
                    server_stop,
                )
                .await;
                Ok::<(), anyhow::Error>(())
            })?;
            rt.shutdown_timeout(Duration::from_millis(100));
            Ok(())
        })?;
    let result = drive(&addr, each, serialize).await;
    stop.cancel();
    // Wakes the accept loop so the server thread sees the cancellation.
    let _ = tokio::net::TcpStream::connect(&addr).await;
    let _ = tokio::task::spawn_blocking(move || server.join()).await;
    result
}

async fn drive(addr: &str, each: Duration, serialize: SerializeType) -> anyhow::Result<Floor> {
    let client = ferromq_net::RemotingClient::default();
    let conn = client.connection(addr).await?;
    let template = SendTemplate {
        group: "benchmark_producer".to_owned(),
        topic: "floor".to_owned(),
        serialize,
        credentials: None,
    };
    let queue = QueueTarget {
        broker: "broker-a".to_owned(),
        addr: addr.to_owned(),
        queue_id: 0,
    };
    let body = Bytes::from(vec![b'x'; 1024]);
    let props = "UNIQ_KEY\u{1}7F00000100002A9F0000000000000000\u{2}WAIT\u{1}true\u{2}";
    let request = || template.request(&queue, body.clone(), props.to_owned(), false);
    let timeout = Duration::from_secs(3);

    let mut samples = Vec::with_capacity(1 << 16);
    let start = Instant::now();
    while start.elapsed() < each {
        let t0 = Instant::now();
        conn.invoke(request(), timeout).await?;
        samples.push(t0.elapsed().as_nanos() as u64);
    }
    let sync_rt_per_s = samples.len() as f64 / start.elapsed().as_secs_f64();
    samples.sort_unstable();
    let sync_p50_us = samples.get(samples.len() / 2).copied().unwrap_or(0) as f64 / 1000.0;

    let window = 256;
    let budget = Arc::new(Semaphore::new(window));
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < each {
        let permit = Arc::clone(&budget).acquire_owned().await?;
        let c = conn.clone();
        let cmd = request();
        tokio::spawn(async move {
            let _ = c.invoke(cmd, timeout).await;
            drop(permit);
        });
        sent += 1;
    }
    let _ = budget.acquire_many(window as u32).await?;
    let async_msgs_per_s = sent as f64 / start.elapsed().as_secs_f64();
    client.close_all().await;
    Ok(Floor {
        sync_rt_per_s: sync_rt_per_s.round(),
        sync_p50_us: (sync_p50_us * 10.0).round() / 10.0,
        async_msgs_per_s: async_msgs_per_s.round(),
    })
}
