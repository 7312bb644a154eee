//! Ordered consumption across rebalances: 8 queues, 100 sharding keys, per-key sequence
//! numbers, three orderly consumers of one group started and stopped while consuming. Every key
//! must be consumed in sequence with nothing lost, and no queue may be consumed by two
//! consumers at once; duplicates (replays after a hand-over) are counted and printed.

mod client_util;
mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_util::{runtime, Cluster};
use ferromq_client::{Message, OrderlyStatus, Producer, PushConsumer};

#[derive(Default)]
struct Check {
    /// Queue id → consumer inside the listener for it now.
    in_queue: Mutex<HashMap<i32, usize>>,
    /// Key → last sequence number consumed in order.
    last: Mutex<HashMap<u32, i64>>,
    in_order: AtomicUsize,
    duplicates: AtomicUsize,
    gaps: Mutex<Vec<String>>,
    overlaps: AtomicUsize,
}

impl Check {
    /// Marks `consumer` as working on `queue_id`; counts an overlap when another one is.
    fn enter(&self, consumer: usize, queue_id: i32) {
        let mut q = self.in_queue.lock().unwrap();
        if let Some(other) = q.insert(queue_id, consumer) {
            if other != consumer {
                self.overlaps.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    fn consume(&self, consumer: usize, queue_id: i32, body: &[u8]) {
        let text = std::str::from_utf8(body).unwrap();
        let (key, seq) = text.split_once(':').unwrap();
        let (key, seq): (u32, i64) = (key.parse().unwrap(), seq.parse().unwrap());
        {
            let mut last = self.last.lock().unwrap();
            let l = last.entry(key).or_insert(-1);
            if seq == *l + 1 {
                *l = seq;
                self.in_order.fetch_add(1, Ordering::SeqCst);
            } else if seq <= *l {
                self.duplicates.fetch_add(1, Ordering::SeqCst);
            } else {
                self.gaps
                    .lock()
                    .unwrap()
                    .push(format!("key {key}: {seq} after {l} (consumer {consumer})"));
            }
        }
        self.in_queue.lock().unwrap().remove(&queue_id);
    }
}

fn orderly_consumer(ns: &str, idx: usize, check: &Arc<Check>) -> PushConsumer {
    let c = Arc::clone(check);
    PushConsumer::builder("CG_order")
        .namesrv_addr(ns)
        .subscribe("tp_order", "*")
        .listener_orderly(move |msgs, ctx| {
            let c = Arc::clone(&c);
            async move {
                c.enter(idx, ctx.queue.queue_id);
                // Stay "inside" across a yield so that a second consumer on the queue would be
                // caught.
                tokio::task::yield_now().await;
                for m in &msgs {
                    c.consume(idx, ctx.queue.queue_id, &m.body);
                }
                OrderlyStatus::Success
            }
        })
        .build()
        .unwrap()
}

fn run_order_test(keys: u32, per_key: i64) {
    let cluster = Cluster::start(&["broker-order"]);
    cluster.create_topic("tp_order", 8);
    let ns = cluster.ns.addr.clone();
    let total = keys as usize * per_key as usize;
    runtime().block_on(async {
        let check = Arc::new(Check::default());
        let c1 = orderly_consumer(&ns, 1, &check);
        c1.start().await.unwrap();

        let producer = Producer::builder("PG_order")
            .namesrv_addr(ns.clone())
            .build()
            .unwrap();
        let mut senders = Vec::new();
        for key in 0..keys {
            let p = producer.clone();
            senders.push(tokio::spawn(async move {
                for seq in 0..per_key {
                    let msg = Message::new("tp_order", format!("{key}:{seq}"))
                        .with_key(format!("key-{key}"));
                    p.send_orderly(msg, &format!("key-{key}")).await.unwrap();
                }
            }));
        }

        let progress = || check.in_order.load(Ordering::SeqCst);
        let wait_for = |n: usize| {
            let check = Arc::clone(&check);
            async move {
                let deadline = Instant::now() + Duration::from_secs(180);
                while check.in_order.load(Ordering::SeqCst) < n {
                    assert!(
                        Instant::now() < deadline,
                        "stuck at {} of {n}; gaps: {:?}",
                        check.in_order.load(Ordering::SeqCst),
                        check.gaps.lock().unwrap()
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        wait_for(total * 15 / 100).await;
        let c2 = orderly_consumer(&ns, 2, &check);
        c2.start().await.unwrap();
        println!("order: consumer 2 started at {}", progress());
        wait_for(total * 35 / 100).await;
        let c3 = orderly_consumer(&ns, 3, &check);
        c3.start().await.unwrap();
        println!("order: consumer 3 started at {}", progress());
        wait_for(total * 55 / 100).await;
        c1.shutdown().await;
        println!("order: consumer 1 stopped at {}", progress());
        wait_for(total * 80 / 100).await;
        c2.shutdown().await;
        println!("order: consumer 2 stopped at {}", progress());
        for s in senders {
            s.await.unwrap();
        }
        wait_for(total).await;
        c3.shutdown().await;
        producer.shutdown().await;

        let last = check.last.lock().unwrap();
        let gaps = check.gaps.lock().unwrap();
        println!(
            "order: {} messages in sequence over {} keys, {} duplicates, {} gaps, {} overlaps",
            check.in_order.load(Ordering::SeqCst),
            last.len(),
            check.duplicates.load(Ordering::SeqCst),
            gaps.len(),
            check.overlaps.load(Ordering::SeqCst)
        );
        assert!(
            gaps.is_empty(),
            "out of order: {:?}",
            &gaps[..gaps.len().min(10)]
        );
        assert_eq!(
            check.overlaps.load(Ordering::SeqCst),
            0,
            "two consumers on one queue"
        );
        assert_eq!(last.len(), keys as usize);
        assert!(
            last.values().all(|l| *l == per_key - 1),
            "a key is incomplete"
        );
    });
}

#[test]
fn orderly_consumers_keep_every_key_in_sequence_across_rebalances() {
    run_order_test(100, 200);
}

#[test]
#[ignore = "large variant: 200,000 messages"]
fn orderly_consumers_keep_order_large() {
    run_order_test(100, 2000);
}
