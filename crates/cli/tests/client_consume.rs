//! The Rust push and lite-pull consumers against real processes: clustering and broadcasting,
//! flow control, the rate limiter, retries, and the lite pull consumer.

mod client_util;
mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_util::{runtime, wait_until, Cluster, Collector};
use ferromq_client::{
    ConsumeFrom, ConsumeStatus, LitePullConsumer, Message, MessageModel, MessageQueue,
    OrderlyStatus, Producer, PushConsumer,
};

async fn cluster_addr(admin: &ferromq_client::AdminClient) -> String {
    let info = admin.cluster_info().await.unwrap();
    info.broker_addr_table
        .values()
        .next()
        .and_then(|b| b.master_addr().map(str::to_owned))
        .unwrap()
}

fn producer(ns: &str, group: &str) -> Producer {
    Producer::builder(group).namesrv_addr(ns).build().unwrap()
}

async fn send_n(p: &Producer, topic: &str, n: usize, prefix: &str) -> Vec<String> {
    let mut futs = Vec::new();
    for i in 0..n {
        futs.push(
            p.send_async(Message::new(topic, format!("{prefix}-{i}")))
                .await
                .unwrap(),
        );
    }
    let mut ids = Vec::new();
    for f in futs {
        ids.push(f.await.unwrap().msg_id);
    }
    ids
}

fn collecting(
    ns: &str,
    group: &str,
    topic: &str,
    idx: usize,
    got: &Collector,
) -> ferromq_client::PushConsumerBuilder {
    let g = got.clone();
    PushConsumer::builder(group)
        .namesrv_addr(ns)
        .subscribe(topic, "*")
        .listener_concurrently(move |msgs, _ctx| {
            let g = g.clone();
            async move {
                for m in &msgs {
                    g.push(m, idx);
                }
                ConsumeStatus::Success
            }
        })
}

#[test]
fn clustering_consumers_own_distinct_queues_and_get_each_message_once() {
    let cluster = Cluster::start(&["broker-cl"]);
    cluster.create_topic("tp_cluster", 8);
    let ns = cluster.ns.addr.clone();
    runtime().block_on(async {
        let got = Collector::default();
        let mut consumers = Vec::new();
        for i in 0..3 {
            let c = collecting(&ns, "CG_cluster", "tp_cluster", i, &got)
                .consume_from(ConsumeFrom::FirstOffset)
                .build()
                .unwrap();
            c.start().await.unwrap();
            consumers.push(c);
        }
        // Rebalance settles: the 8 queues split 3/3/2 with no overlap. Within 10 s, i.e. before
        // the 20 s periodic rebalance: the earlier consumers learn about the later ones from
        // NOTIFY_CONSUMER_IDS_CHANGED.
        let settled = wait_until(Duration::from_secs(10), || {
            let sets: Vec<Vec<MessageQueue>> = consumers
                .iter()
                .map(|c| {
                    c.assigned_queues()
                        .into_iter()
                        .filter(|q| q.topic == "tp_cluster")
                        .collect()
                })
                .collect();
            let all: BTreeSet<&MessageQueue> = sets.iter().flatten().collect();
            let mut sizes: Vec<usize> = sets.iter().map(Vec::len).collect();
            sizes.sort();
            // Averaging: 3, 3 and 2 queues, together all 8, none twice.
            let ok = all.len() == 8 && sizes == [2, 3, 3];
            async move { ok }
        })
        .await;
        assert!(
            settled,
            "queues never split 3/3/2 among the three consumers"
        );

        let p = producer(&ns, "PG_cluster");
        let ids = send_n(&p, "tp_cluster", 300, "cl").await;
        assert!(got.wait_for(&ids, Duration::from_secs(60)).await);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let all = got.snapshot();
        assert_eq!(all.len(), 300, "each message exactly once");
        // Every consumer got messages only from its own queues.
        let mut owner: HashMap<i32, usize> = HashMap::new();
        for g in &all {
            let prev = *owner.entry(g.queue_id).or_insert(g.consumer);
            assert_eq!(
                prev, g.consumer,
                "queue {} consumed by two consumers",
                g.queue_id
            );
        }
        assert_eq!(owner.values().collect::<BTreeSet<_>>().len(), 3);
        for c in &consumers {
            c.shutdown().await;
        }
        // Clean shutdown: the broker no longer lists the group's consumers.
        let admin = ferromq_client::AdminClient::connect(Some(&ns)).unwrap();
        let gone = wait_until(Duration::from_secs(10), || {
            let admin = admin.clone();
            async move {
                match admin
                    .consumer_connection(&cluster_addr(&admin).await, "CG_cluster")
                    .await
                {
                    Ok(c) => c.connection_set.is_empty(),
                    Err(e) => e.response_code() == Some(206),
                }
            }
        })
        .await;
        assert!(gone, "consumers still registered after shutdown");
        p.shutdown().await;
    });
}

#[test]
fn broadcasting_consumers_each_get_everything_and_resume_from_the_local_offset() {
    let cluster = Cluster::start(&["broker-bc"]);
    cluster.create_topic("tp_broadcast", 4);
    let ns = cluster.ns.addr.clone();
    let offsets_dir = cluster.dir.path().join("offsets");
    runtime().block_on(async {
        let colls: Vec<Collector> = (0..3).map(|_| Collector::default()).collect();
        let build = |i: usize, from: ConsumeFrom| {
            collecting(&ns, "CG_broadcast", "tp_broadcast", i, &colls[i])
                .message_model(MessageModel::Broadcasting)
                .instance_name(format!("bc{i}"))
                .offset_store_dir(&offsets_dir)
                .consume_from(from)
                .build()
                .unwrap()
        };
        let mut consumers = Vec::new();
        for i in 0..3 {
            let c = build(i, ConsumeFrom::LastOffset);
            c.start().await.unwrap();
            consumers.push(c);
        }
        assert!(
            wait_until(Duration::from_secs(20), || {
                let ok = consumers.iter().all(|c| c.assigned_queues().len() == 4);
                async move { ok }
            })
            .await
        );
        let p = producer(&ns, "PG_broadcast");
        let first = send_n(&p, "tp_broadcast", 100, "b1").await;
        for c in &colls {
            assert!(c.wait_for(&first, Duration::from_secs(60)).await);
        }
        // A late consumer starting from the first offset sees the backlog too.
        let late_coll = Collector::default();
        let late = collecting(&ns, "CG_broadcast", "tp_broadcast", 9, &late_coll)
            .message_model(MessageModel::Broadcasting)
            .instance_name("bc-late")
            .offset_store_dir(&offsets_dir)
            .consume_from(ConsumeFrom::FirstOffset)
            .build()
            .unwrap();
        late.start().await.unwrap();
        assert!(late_coll.wait_for(&first, Duration::from_secs(60)).await);

        // Consumer 0 stops; its offsets are in its local file.
        let c0 = consumers.remove(0);
        let file = c0.offset_file().unwrap();
        c0.shutdown().await;
        assert!(file.exists(), "no local offset file at {}", file.display());
        let second = send_n(&p, "tp_broadcast", 50, "b2").await;
        for c in &colls[1..] {
            assert!(c.wait_for(&second, Duration::from_secs(60)).await);
        }
        // Restarted with the same instance name, it resumes where it stopped: the 50 it missed,
        // and none of the first 100 again.
        let before = colls[0].len();
        let c0 = build(0, ConsumeFrom::LastOffset);
        c0.start().await.unwrap();
        assert!(colls[0].wait_for(&second, Duration::from_secs(60)).await);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after: Vec<String> = colls[0].snapshot()[before..]
            .iter()
            .map(|g| g.msg_id.clone())
            .collect();
        let second_set: BTreeSet<&String> = second.iter().collect();
        assert!(
            after.iter().all(|id| second_set.contains(id)),
            "replayed old messages"
        );
        assert_eq!(after.len(), 50);
        for (i, c) in colls.iter().enumerate() {
            assert_eq!(c.distinct().len(), 150, "consumer {i}");
        }
        c0.shutdown().await;
        for c in &consumers {
            c.shutdown().await;
        }
        late.shutdown().await;
        p.shutdown().await;
    });
}

#[test]
fn flow_control_keeps_the_cache_at_the_threshold() {
    let cluster = Cluster::start(&["broker-fc"]);
    cluster.create_topic("tp_flow", 1);
    let ns = cluster.ns.addr.clone();
    runtime().block_on(async {
        let p = producer(&ns, "PG_flow");
        let body = vec![b'x'; 1024];
        let mut futs = Vec::new();
        for _ in 0..1500 {
            futs.push(p.send_async(Message::new("tp_flow", body.clone())).await.unwrap());
        }
        for f in futs {
            f.await.unwrap();
        }
        let consumed = Arc::new(AtomicUsize::new(0));
        let c2 = Arc::clone(&consumed);
        let consumer = PushConsumer::builder("CG_flow")
            .namesrv_addr(ns.clone())
            .subscribe("tp_flow", "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .pull_threshold_for_queue(100)
            .pull_batch_size(32)
            .consume_thread_count(2)
            .listener_concurrently(move |_msgs, _ctx| {
                let c2 = Arc::clone(&c2);
                async move {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    c2.fetch_add(1, Ordering::Relaxed);
                    ConsumeStatus::Success
                }
            })
            .build()
            .unwrap();
        consumer.start().await.unwrap();
        let mut max_count = 0;
        let mut max_bytes = 0;
        let mut at_threshold = 0;
        let started = Instant::now();
        while consumed.load(Ordering::Relaxed) < 800 && started.elapsed() < Duration::from_secs(60)
        {
            for (_, s) in consumer.queue_stats() {
                max_count = max_count.max(s.cached_count);
                max_bytes = max_bytes.max(s.cached_bytes);
                if s.cached_count >= 100 {
                    at_threshold += 1;
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        println!("flow control: max cached {max_count} messages / {max_bytes} bytes, {at_threshold} samples at the threshold");
        assert!(consumed.load(Ordering::Relaxed) >= 800, "consumption stalled");
        assert!(max_count <= 100 + 32, "cache grew past threshold + one pull: {max_count}");
        assert!(max_bytes <= (100 + 32) * 1024);
        assert!(at_threshold > 0, "the cache never reached the threshold");
        consumer.shutdown().await;

        // The size threshold: 16 KiB of 1 KiB bodies.
        let consumed = Arc::new(AtomicUsize::new(0));
        let c2 = Arc::clone(&consumed);
        let by_size = PushConsumer::builder("CG_flow_size")
            .namesrv_addr(ns.clone())
            .subscribe("tp_flow", "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .pull_threshold_size_for_queue(16 * 1024)
            .pull_batch_size(8)
            .consume_thread_count(1)
            .listener_concurrently(move |_msgs, _ctx| {
                let c2 = Arc::clone(&c2);
                async move {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    c2.fetch_add(1, Ordering::Relaxed);
                    ConsumeStatus::Success
                }
            })
            .build()
            .unwrap();
        by_size.start().await.unwrap();
        let mut max_bytes = 0;
        let started = Instant::now();
        while consumed.load(Ordering::Relaxed) < 300 && started.elapsed() < Duration::from_secs(60)
        {
            for (_, s) in by_size.queue_stats() {
                max_bytes = max_bytes.max(s.cached_bytes);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        println!("flow control by size: max cached {max_bytes} bytes");
        assert!(max_bytes <= 16 * 1024 + 8 * 1024, "{max_bytes}");
        assert!(max_bytes > 8 * 1024);
        by_size.shutdown().await;
        p.shutdown().await;
    });
}

#[test]
fn the_rate_limiter_paces_consumption() {
    let cluster = Cluster::start(&["broker-rl"]);
    cluster.create_topic("tp_rate", 2);
    let ns = cluster.ns.addr.clone();
    runtime().block_on(async {
        let p = producer(&ns, "PG_rate");
        let ids = send_n(&p, "tp_rate", 500, "r").await;
        let times = Arc::new(Mutex::new(Vec::<Instant>::new()));
        let t2 = Arc::clone(&times);
        let got = Collector::default();
        let g = got.clone();
        let consumer = PushConsumer::builder("CG_rate")
            .namesrv_addr(ns.clone())
            .subscribe("tp_rate", "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .rate_limit("tp_rate", 200.0, Duration::from_millis(500))
            .listener_concurrently(move |msgs, _ctx| {
                let t2 = Arc::clone(&t2);
                let g = g.clone();
                async move {
                    t2.lock().unwrap().push(Instant::now());
                    for m in &msgs {
                        g.push(m, 0);
                    }
                    ConsumeStatus::Success
                }
            })
            .build()
            .unwrap();
        consumer.start().await.unwrap();
        assert!(got.wait_for(&ids, Duration::from_secs(60)).await);
        let times = times.lock().unwrap().clone();
        let span = times.last().unwrap().duration_since(times[0]).as_secs_f64();
        let rate = (times.len() - 1) as f64 / span;
        println!(
            "rate limiter: {} messages in {span:.2} s = {rate:.1} msg/s (configured 200)",
            times.len()
        );
        assert!((100.0..=300.0).contains(&rate), "measured {rate:.1} msg/s");
        consumer.shutdown().await;
        p.shutdown().await;
    });
}

#[test]
fn failed_messages_are_consumed_again() {
    let cluster = Cluster::start(&["broker-rt"]);
    cluster.create_topic("tp_retry", 2);
    cluster.create_topic("tp_retry_ord", 1);
    let ns = cluster.ns.addr.clone();
    runtime().block_on(async {
        // Concurrent: the first delivery of each message fails (RECONSUME_LATER, an error, or a
        // panic); the broker cannot take send-backs yet, so the client redelivers locally.
        let attempts: Arc<Mutex<HashMap<String, Vec<i32>>>> = Arc::default();
        let a2 = Arc::clone(&attempts);
        let consumer = PushConsumer::builder("CG_retry")
            .namesrv_addr(ns.clone())
            .subscribe("tp_retry", "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .listener_concurrently(move |msgs, _ctx| {
                let a2 = Arc::clone(&a2);
                async move {
                    let m = &msgs[0];
                    let body = String::from_utf8_lossy(&m.body).to_string();
                    let first = {
                        let mut a = a2.lock().unwrap();
                        let v = a.entry(body.clone()).or_default();
                        v.push(m.reconsume_times);
                        v.len() == 1
                    };
                    if first {
                        if body.ends_with("panic") {
                            panic!("listener bug on {body}");
                        }
                        if body.ends_with("error") {
                            return Err(format!("cannot handle {body}"));
                        }
                        return Ok(ConsumeStatus::ReconsumeLater);
                    }
                    Ok(ConsumeStatus::Success)
                }
            })
            .build()
            .unwrap();
        consumer.start().await.unwrap();
        let p = producer(&ns, "PG_retry");
        for kind in ["later", "error", "panic"] {
            p.send(Message::new("tp_retry", format!("m-{kind}")))
                .await
                .unwrap();
        }
        let done = wait_until(Duration::from_secs(40), || {
            let ok = attempts
                .lock()
                .unwrap()
                .values()
                .filter(|v| v.len() >= 2)
                .count()
                == 3;
            async move { ok }
        })
        .await;
        let seen = attempts.lock().unwrap().clone();
        assert!(done, "not every failed message came back: {seen:?}");
        for (body, v) in &seen {
            assert_eq!(
                v[..2],
                [0, 1],
                "{body}: reconsume count visible on the retry"
            );
        }
        consumer.shutdown().await;

        // Orderly: a failure suspends the queue and retries the same message first.
        let order: Arc<Mutex<Vec<(String, i32)>>> = Arc::default();
        let o2 = Arc::clone(&order);
        let failed_once = Arc::new(AtomicUsize::new(0));
        let f2 = Arc::clone(&failed_once);
        let orderly = PushConsumer::builder("CG_retry_ord")
            .namesrv_addr(ns.clone())
            .subscribe("tp_retry_ord", "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .listener_orderly(move |msgs, _ctx| {
                let o2 = Arc::clone(&o2);
                let f2 = Arc::clone(&f2);
                async move {
                    let m = &msgs[0];
                    let body = String::from_utf8_lossy(&m.body).to_string();
                    o2.lock().unwrap().push((body.clone(), m.reconsume_times));
                    if body == "o-2" && f2.fetch_add(1, Ordering::SeqCst) == 0 {
                        return OrderlyStatus::SuspendCurrentQueueAMoment;
                    }
                    OrderlyStatus::Success
                }
            })
            .build()
            .unwrap();
        orderly.start().await.unwrap();
        for i in 0..5 {
            p.send(Message::new("tp_retry_ord", format!("o-{i}")))
                .await
                .unwrap();
        }
        assert!(
            wait_until(Duration::from_secs(30), || {
                let n = order.lock().unwrap().len();
                async move { n >= 6 }
            })
            .await
        );
        let order = order.lock().unwrap().clone();
        let bodies: Vec<&str> = order.iter().map(|(b, _)| b.as_str()).collect();
        assert_eq!(bodies, ["o-0", "o-1", "o-2", "o-2", "o-3", "o-4"]);
        assert_eq!(order[3].1, 1, "the retry carries reconsume count 1");
        orderly.shutdown().await;
        p.shutdown().await;
    });
}

#[test]
fn lite_pull_consumer_assigns_polls_seeks_and_commits() {
    let cluster = Cluster::start(&["broker-lite"]);
    cluster.create_topic("tp_lite", 2);
    let ns = cluster.ns.addr.clone();
    runtime().block_on(async {
        let p = producer(&ns, "PG_lite");
        let ids = send_n(&p, "tp_lite", 40, "l").await;

        let lite = LitePullConsumer::builder("CG_lite")
            .namesrv_addr(ns.clone())
            .auto_commit(false, Duration::from_secs(5))
            .consume_from(ConsumeFrom::FirstOffset)
            .build()
            .unwrap();
        let queues = lite.fetch_message_queues("tp_lite").await.unwrap();
        assert_eq!(queues.len(), 2);
        lite.assign(queues.clone()).unwrap();
        assert!(
            lite.subscribe("tp_lite", "*").is_err(),
            "assign and subscribe exclude each other"
        );
        lite.start().await.unwrap();
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while seen.len() < 40 && Instant::now() < deadline {
            for m in lite.poll(Duration::from_millis(500)).await {
                seen.push((m.queue_id, m.queue_offset, m.msg_id()));
            }
        }
        let distinct: BTreeSet<&String> = seen.iter().map(|s| &s.2).collect();
        assert_eq!(distinct.len(), 40);
        assert!(ids.iter().all(|i| distinct.contains(i)));
        // Manual commit: nothing committed before commit_sync (a broker answers 0 for a new
        // group while the queue still starts at 0, as RocketMQ does).
        for q in &queues {
            assert!(matches!(lite.committed(q).await.unwrap(), None | Some(0)));
        }
        lite.commit_sync().await;
        let mut committed = 0;
        for q in &queues {
            committed += lite.committed(q).await.unwrap().unwrap();
        }
        assert_eq!(committed, 40);
        // Seek back: the next messages of that queue start at offset 5.
        let q0 = queues[0].clone();
        lite.seek(&q0, 5).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut after_seek = Vec::new();
        while after_seek.is_empty() && Instant::now() < deadline {
            after_seek = lite
                .poll(Duration::from_millis(500))
                .await
                .into_iter()
                .filter(|m| m.queue_id == q0.queue_id)
                .collect();
        }
        assert_eq!(after_seek.first().map(|m| m.queue_offset), Some(5));
        assert!(
            lite.seek(&q0, 10_000).await.is_err(),
            "beyond the max offset"
        );
        lite.shutdown().await;

        // Subscribe mode with auto commit: a new group gets everything and commits it.
        let sub = LitePullConsumer::builder("CG_lite_sub")
            .namesrv_addr(ns.clone())
            .auto_commit(true, Duration::from_millis(200))
            .build()
            .unwrap();
        sub.subscribe("tp_lite", "*").unwrap();
        sub.start().await.unwrap();
        let mut n = 0;
        let deadline = Instant::now() + Duration::from_secs(30);
        while n < 40 && Instant::now() < deadline {
            n += sub.poll(Duration::from_millis(500)).await.len();
        }
        assert_eq!(n, 40);
        assert_eq!(sub.assignment().len(), 2);
        sub.poll(Duration::from_millis(300)).await;
        sub.shutdown().await;
        let check = LitePullConsumer::builder("CG_lite_sub")
            .namesrv_addr(ns.clone())
            .build()
            .unwrap();
        let mut committed = 0;
        for q in &queues {
            committed += check.committed(q).await.unwrap().unwrap_or(0);
        }
        assert_eq!(committed, 40, "auto commit stored the polled offsets");
        check.shutdown().await;
        p.shutdown().await;
    });
}

/// Resident memory of this process, from /proc (Linux).
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[test]
#[ignore = "large: a 1 GiB backlog"]
fn flow_control_bounds_memory_over_a_1gib_backlog() {
    let cluster = Cluster::start(&["broker-gib"]);
    cluster.create_topic("tp_gib", 1);
    let ns = cluster.ns.addr.clone();
    const BODY: usize = 16 * 1024;
    const COUNT: usize = 65_536; // 1 GiB of bodies
    runtime().block_on(async {
        let p = Producer::builder("PG_gib")
            .namesrv_addr(ns.clone())
            .compress_over(usize::MAX)
            .send_timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let body = bytes::Bytes::from(vec![b'g'; BODY]);
        let mut futs = std::collections::VecDeque::new();
        for _ in 0..COUNT {
            futs.push_back(p.send_async(Message::new("tp_gib", body.clone())).await.unwrap());
            if futs.len() > 256 {
                futs.pop_front().unwrap().await.unwrap();
            }
        }
        for f in futs {
            f.await.unwrap();
        }
        p.shutdown().await;
        drop(p);
        let base = rss_bytes();
        let consumed = Arc::new(AtomicUsize::new(0));
        let c2 = Arc::clone(&consumed);
        // A slow listener, and the count and span thresholds out of the way: the 100 MiB size
        // threshold is what bounds the cache.
        let consumer = PushConsumer::builder("CG_gib")
            .namesrv_addr(ns.clone())
            .subscribe("tp_gib", "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .pull_threshold_for_queue(1_000_000)
            .consume_concurrently_max_span(1_000_000)
            .consume_thread_count(4)
            .consume_batch_max_size(8)
            .listener_concurrently(move |msgs, _ctx| {
                let c2 = Arc::clone(&c2);
                async move {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    c2.fetch_add(msgs.len(), Ordering::Relaxed);
                    ConsumeStatus::Success
                }
            })
            .build()
            .unwrap();
        consumer.start().await.unwrap();
        let (mut peak, mut max_cached) = (base, 0);
        let started = Instant::now();
        while consumed.load(Ordering::Relaxed) < COUNT && started.elapsed() < Duration::from_secs(900)
        {
            peak = peak.max(rss_bytes());
            for (_, s) in consumer.queue_stats() {
                max_cached = max_cached.max(s.cached_bytes);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "1 GiB backlog: {} messages in {secs:.1} s, RSS {} MiB -> peak {} MiB, max cached {} MiB",
            consumed.load(Ordering::Relaxed),
            base >> 20,
            peak >> 20,
            max_cached >> 20
        );
        assert_eq!(consumed.load(Ordering::Relaxed), COUNT);
        assert!(max_cached <= 100 * 1024 * 1024 + 32 * BODY);
        assert!(max_cached >= 90 * 1024 * 1024, "the cache never filled up to the threshold");
        assert!(peak - base < 400 * 1024 * 1024, "memory grew by {} MiB", (peak - base) >> 20);
        consumer.shutdown().await;
    });
}
