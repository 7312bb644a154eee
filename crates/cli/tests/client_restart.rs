//! A broker restart in the middle of producing and consuming: the producer retries and succeeds
//! once the broker is back, the push consumers reconnect and carry on, and no committed offset
//! ever moves backwards.

mod client_util;
mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_util::{runtime, Cluster, Collector};
use ferromq_client::{
    ConsumeFrom, ConsumeStatus, Message, MessageQueue, Producer, PullConsumer, PushConsumer,
};

#[test]
fn broker_restart_mid_stream() {
    let mut cluster = Cluster::start(&["broker-mid"]);
    cluster.create_topic("tp_mid", 4);
    let ns = cluster.ns.addr.clone();
    let rt = runtime();
    const TOTAL: usize = 400;

    let got = Collector::default();
    let sent_ids: Arc<Mutex<Vec<String>>> = Arc::default();
    let sent = Arc::new(AtomicUsize::new(0));
    let api_failures = Arc::new(AtomicUsize::new(0));
    let backwards: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop_watch = Arc::new(AtomicBool::new(false));

    let (consumers, producer_task, watcher) = rt.block_on(async {
        let mut consumers = Vec::new();
        for i in 0..2 {
            let g = got.clone();
            let c = PushConsumer::builder("CG_mid")
                .namesrv_addr(ns.clone())
                .subscribe("tp_mid", "*")
                .consume_from(ConsumeFrom::FirstOffset)
                .listener_concurrently(move |msgs, _ctx| {
                    let g = g.clone();
                    async move {
                        for m in &msgs {
                            g.push(m, i);
                        }
                        ConsumeStatus::Success
                    }
                })
                .build()
                .unwrap();
            c.start().await.unwrap();
            consumers.push(c);
        }
        // Watches the committed offsets of every queue.
        let watch = PullConsumer::builder("CG_mid_watch")
            .namesrv_addr(ns.clone())
            .build()
            .unwrap();
        let queues: Vec<MessageQueue> = watch.fetch_queues("tp_mid").await.unwrap();
        let (b2, s2) = (Arc::clone(&backwards), Arc::clone(&stop_watch));
        let watcher = tokio::spawn(async move {
            let mut high: HashMap<MessageQueue, i64> = HashMap::new();
            while !s2.load(Ordering::Relaxed) {
                for q in &queues {
                    if let Ok(Some(o)) = watch.query_offset("CG_mid", q).await {
                        let h = high.entry(q.clone()).or_insert(o);
                        if o < *h {
                            b2.lock().unwrap().push(format!("{q:?}: {o} after {h}"));
                        }
                        *h = (*h).max(o);
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            high
        });
        let producer = Producer::builder("PG_mid")
            .namesrv_addr(ns.clone())
            .retry_times(4)
            .build()
            .unwrap();
        let (ids, n, fails) = (
            Arc::clone(&sent_ids),
            Arc::clone(&sent),
            Arc::clone(&api_failures),
        );
        let producer_task = tokio::spawn(async move {
            for i in 0..TOTAL {
                loop {
                    match producer
                        .send(Message::new("tp_mid", format!("mid-{i}")))
                        .await
                    {
                        Ok(r) => {
                            ids.lock().unwrap().push(r.msg_id);
                            break;
                        }
                        Err(_) => {
                            fails.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
                n.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            producer.shutdown().await;
        });
        (consumers, producer_task, watcher)
    });

    // Restart the broker once a third has been sent and some of it consumed.
    let deadline = Instant::now() + Duration::from_secs(60);
    while (sent.load(Ordering::Relaxed) < TOTAL / 3 || got.len() < TOTAL / 5)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = (sent.load(Ordering::Relaxed), got.len());
    cluster.brokers[0].restart();
    println!(
        "restart: broker restarted after {} sent, {} consumed",
        before.0, before.1
    );

    rt.block_on(async {
        producer_task.await.unwrap();
        let ids = sent_ids.lock().unwrap().clone();
        assert_eq!(ids.len(), TOTAL);
        let all_in = got.wait_for(&ids, Duration::from_secs(90)).await;
        // Let the 5 s commits land after the last messages.
        tokio::time::sleep(Duration::from_secs(6)).await;
        stop_watch.store(true, Ordering::Relaxed);
        let high = watcher.await.unwrap();
        for c in &consumers {
            c.shutdown().await;
        }
        let dups = got.len() - got.distinct().len();
        println!(
            "restart: {} sent ({} failed send calls while the broker was away), {} consumed ({dups} duplicates), committed {:?}",
            ids.len(),
            api_failures.load(Ordering::Relaxed),
            got.distinct().len(),
            high.values().collect::<Vec<_>>()
        );
        assert!(all_in, "consumers did not carry on: {} of {TOTAL}", got.distinct().len());
        let back = backwards.lock().unwrap();
        assert!(back.is_empty(), "committed offsets moved backwards: {back:?}");
        // A send whose answer the restart cut off may still have been stored; the producer
        // then sends it again as a new message, so the queues can hold more than TOTAL. Every
        // stored message is consumed and committed, and no acknowledged one is missing.
        let stored = got.distinct().len();
        assert!(stored >= TOTAL, "{stored} distinct messages consumed, {TOTAL} acknowledged");
        assert_eq!(high.values().sum::<i64>(), stored as i64, "everything committed");
    });
}
