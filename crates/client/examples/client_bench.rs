//! Throughput of the Rust client against one broker: sync sends from one task, async sends with
//! many in flight, and push consumption.
//!
//! ```sh
//! cargo build --release -p ferromq-cli --bins && cargo build --release -p ferromq-client --example client_bench
//! target/release/ferromq standalone --data /tmp/bench &   # or mqnamesrv + mqbroker
//! target/release/examples/client_bench --namesrv 127.0.0.1:9876 --topic BenchTopic --mode sync --count 20000
//! target/release/examples/client_bench --namesrv 127.0.0.1:9876 --topic BenchTopic --mode async --count 200000
//! target/release/examples/client_bench --namesrv 127.0.0.1:9876 --topic BenchTopic --mode consume --count 200000
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_client::{ConsumeFrom, ConsumeStatus, Message, Producer, PushConsumer};

fn opts() -> HashMap<String, String> {
    let mut it = std::env::args().skip(1);
    let mut m = HashMap::new();
    while let Some(k) = it.next() {
        if let Some(k) = k.strip_prefix("--") {
            m.insert(k.to_owned(), it.next().unwrap_or_default());
        }
    }
    m
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = opts();
    let get = |k: &str, d: &str| o.get(k).cloned().unwrap_or_else(|| d.to_owned());
    let namesrv = get("namesrv", "127.0.0.1:9876");
    let topic = get("topic", "BenchTopic");
    let count: usize = get("count", "20000").parse()?;
    let size: usize = get("body", "1024").parse()?;
    let in_flight: usize = get("in-flight", "1024").parse()?;
    let mode = get("mode", "sync");
    let body = Bytes::from(vec![b'b'; size]);
    let started = Instant::now();
    match mode.as_str() {
        "sync" | "async" => {
            let producer = Producer::builder("PG_bench")
                .namesrv_addr(namesrv)
                .async_max_in_flight(in_flight)
                .build()?;
            // Warm up: route and connection.
            producer.send(Message::new(&topic, body.clone())).await?;
            let started = Instant::now();
            if mode == "sync" {
                for _ in 0..count {
                    producer.send(Message::new(&topic, body.clone())).await?;
                }
            } else {
                let done = Arc::new(AtomicUsize::new(0));
                let failed = Arc::new(AtomicUsize::new(0));
                for _ in 0..count {
                    let (d, f) = (Arc::clone(&done), Arc::clone(&failed));
                    producer
                        .send_with_callback(Message::new(&topic, body.clone()), move |r| {
                            if r.is_err() {
                                f.fetch_add(1, Ordering::Relaxed);
                            }
                            d.fetch_add(1, Ordering::Relaxed);
                        })
                        .await?;
                }
                while done.load(Ordering::Relaxed) < count {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                if failed.load(Ordering::Relaxed) > 0 {
                    eprintln!("{} sends failed", failed.load(Ordering::Relaxed));
                }
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{mode} send: {count} x {size} B in {secs:.2} s = {:.0} msg/s",
                count as f64 / secs
            );
            producer.shutdown().await;
        }
        "consume" => {
            let consumed = Arc::new(AtomicUsize::new(0));
            let c2 = Arc::clone(&consumed);
            let group = format!("CG_bench_{}", std::process::id());
            let consumer = PushConsumer::builder(group)
                .namesrv_addr(namesrv)
                .subscribe(&topic, "*")
                .consume_from(ConsumeFrom::FirstOffset)
                .listener_concurrently(move |msgs, _ctx| {
                    c2.fetch_add(msgs.len(), Ordering::Relaxed);
                    async { ConsumeStatus::Success }
                })
                .build()?;
            consumer.start().await?;
            let mut first: Option<Instant> = None;
            while consumed.load(Ordering::Relaxed) < count {
                if first.is_none() && consumed.load(Ordering::Relaxed) > 0 {
                    first = Some(Instant::now());
                }
                if started.elapsed() > Duration::from_secs(600) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let from = first.unwrap_or(started);
            let secs = from.elapsed().as_secs_f64();
            let n = consumed.load(Ordering::Relaxed);
            println!(
                "consume: {n} messages in {secs:.2} s = {:.0} msg/s",
                n as f64 / secs
            );
            consumer.shutdown().await;
        }
        other => return Err(format!("unknown mode {other}").into()),
    }
    Ok(())
}
