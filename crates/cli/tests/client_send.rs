//! The Rust producer against real processes: every send mode reaches a push consumer with the
//! right SendResult fields; NAMESRV_ADDR and instance names; retries on another broker.

mod client_util;
mod common;

use std::collections::HashMap;
use std::time::Duration;

use client_util::{runtime, Cluster, Collector};
use ferromq_client::{
    ConsumeFrom, ConsumeStatus, Message, Producer, PushConsumer, SendResult, SendStatus,
};
use ferromq_proto::message::decode_offset_msg_id;

#[test]
fn every_send_mode_reaches_a_push_consumer() {
    let cluster = Cluster::start(&["broker-modes"]);
    let topic = "tp_modes";
    cluster.create_topic(topic, 4);
    let ns = cluster.ns.addr.clone();
    let broker_addr = cluster.brokers[0].addr.clone();
    runtime().block_on(async {
        let got = Collector::default();
        let g = got.clone();
        let consumer = PushConsumer::builder("CG_modes")
            .namesrv_addr(ns.clone())
            .consume_from(ConsumeFrom::FirstOffset)
            .subscribe(topic, "*")
            .listener_concurrently(move |msgs, _ctx| {
                let g = g.clone();
                async move {
                    for m in &msgs {
                        g.push(m, 0);
                    }
                    ConsumeStatus::Success
                }
            })
            .build()
            .unwrap();
        consumer.start().await.unwrap();

        let producer = Producer::builder("PG_modes")
            .namesrv_addr(ns.clone())
            .instance_name("modes")
            .build()
            .unwrap();
        let mut results: Vec<(&str, SendResult)> = Vec::new();
        // sync, with tags, keys and a user property
        let r = producer
            .send(
                Message::new(topic, "sync-body")
                    .with_tags("TagSync")
                    .with_key("k-sync")
                    .with_property("color", "red"),
            )
            .await
            .unwrap();
        results.push(("sync", r));
        // async futures, many in flight
        let mut futures = Vec::new();
        for i in 0..20 {
            futures.push(
                producer
                    .send_async(Message::new(topic, format!("async-{i}")))
                    .await
                    .unwrap(),
            );
        }
        for f in futures {
            results.push(("async", f.await.unwrap()));
        }
        // callback
        let (tx, rx) = tokio::sync::oneshot::channel();
        producer
            .send_with_callback(Message::new(topic, "callback-body"), move |r| {
                let _ = tx.send(r);
            })
            .await
            .unwrap();
        results.push(("callback", rx.await.unwrap().unwrap()));
        // ordered: one sharding key, one queue
        for i in 0..5 {
            let r = producer
                .send_orderly(Message::new(topic, format!("ordered-{i}")), "order-1")
                .await
                .unwrap();
            results.push(("ordered", r));
        }
        // a custom selector
        let last = |qs: &[ferromq_client::MessageQueue], _: &Message, _: &str| qs.len() - 1;
        let r = producer
            .send_with_selector(Message::new(topic, "selected"), &last, "")
            .await
            .unwrap();
        assert_eq!(r.queue.queue_id, 3);
        results.push(("selector", r));
        // a chosen queue
        let mq = producer.publish_queues(topic).await.unwrap()[1].clone();
        let r = producer
            .send_to_queue(Message::new(topic, "to-queue"), &mq)
            .await
            .unwrap();
        assert_eq!(r.queue, mq);
        results.push(("queue", r));
        // delay level and compression
        let r = producer
            .send(Message::new(topic, "delayed").with_delay_level(1))
            .await
            .unwrap();
        results.push(("delay", r));
        let big: String = (0..6000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let r = producer
            .send(Message::new(topic, big.clone()))
            .await
            .unwrap();
        results.push(("compressed", r));
        // batch, and a batch split in two
        let batch: Vec<Message> = (0..3)
            .map(|i| Message::new(topic, format!("batch-{i}")).with_tags("TagBatch"))
            .collect();
        let batch_result = producer.send_batch(batch).await.unwrap();
        let split: Vec<Message> = (0..4)
            .map(|i| Message::new(topic, format!("split-{i}-{}", "x".repeat(600))))
            .collect();
        let split_results = ferromq_client::split_batch(split.clone(), 1400);
        assert_eq!(split_results.len(), 2);
        let small_batches = Producer::builder("PG_modes_small")
            .namesrv_addr(ns.clone())
            .max_message_size(1400)
            .build()
            .unwrap();
        let split_sent = small_batches.send_batch_split(split).await.unwrap();
        assert_eq!(split_sent.len(), 2);
        // oneway: no result, it must still arrive
        producer
            .send_oneway(Message::new(topic, "oneway-body").with_key("k-oneway"))
            .await
            .unwrap();

        let mut expected: Vec<String> = results.iter().map(|(_, r)| r.msg_id.clone()).collect();
        for r in std::iter::once(&batch_result).chain(&split_sent) {
            expected.extend(r.msg_id.split(',').map(str::to_owned));
        }
        let total = expected.len() + 1; // + oneway
        assert!(
            got.wait_for(&expected, Duration::from_secs(60)).await,
            "not everything arrived: {} of {}",
            got.distinct().len(),
            total
        );
        assert!(
            client_util::wait_until(Duration::from_secs(20), || {
                let n = got.distinct().len();
                async move { n >= total }
            })
            .await,
            "the oneway message never arrived"
        );
        let by_id: HashMap<String, client_util::Got> = got
            .snapshot()
            .into_iter()
            .map(|g| (g.msg_id.clone(), g))
            .collect();

        for (mode, r) in &results {
            assert_eq!(r.status, SendStatus::SendOk, "{mode}");
            let m = &by_id[&r.msg_id];
            assert_eq!(m.queue_id, r.queue.queue_id, "{mode}: queue");
            assert_eq!(r.queue.broker_name, "broker-modes");
            let (addr, offset) = decode_offset_msg_id(&r.offset_msg_id).unwrap();
            assert_eq!(addr.to_string(), broker_addr, "{mode}: offsetMsgId host");
            if *mode == "delay" {
                // As in RocketMQ, the send stored it in SCHEDULE_TOPIC_XXXX; what arrives is a
                // new record in the real queue, delivered when its level was due.
                assert!(m.commit_log_offset > offset, "{mode}: delivered copy");
            } else {
                assert_eq!(m.queue_offset, r.queue_offset, "{mode}: queue offset");
                assert_eq!(offset, m.commit_log_offset, "{mode}: offsetMsgId offset");
            }
            assert_eq!(m.store_host.to_string(), broker_addr);
            assert_eq!(r.transaction_id.as_deref(), Some(r.msg_id.as_str()));
        }
        let sync = &by_id[&results[0].1.msg_id];
        assert_eq!(sync.body, b"sync-body");
        assert_eq!(sync.tags.as_deref(), Some("TagSync"));
        assert_eq!(sync.props.get("KEYS").map(String::as_str), Some("k-sync"));
        assert_eq!(sync.props.get("color").map(String::as_str), Some("red"));
        let ordered: Vec<&SendResult> = results
            .iter()
            .filter(|(m, _)| *m == "ordered")
            .map(|(_, r)| r)
            .collect();
        assert!(ordered
            .windows(2)
            .all(|w| w[0].queue == w[1].queue && w[1].queue_offset == w[0].queue_offset + 1));
        let delayed = &by_id[&results
            .iter()
            .find(|(m, _)| *m == "delay")
            .unwrap()
            .1
            .msg_id];
        assert_eq!(delayed.props.get("DELAY").map(String::as_str), Some("1"));
        let compressed = &by_id[&results
            .iter()
            .find(|(m, _)| *m == "compressed")
            .unwrap()
            .1
            .msg_id];
        assert_eq!(
            compressed.body,
            big.as_bytes(),
            "inflated on the consumer side"
        );
        // A batch is consecutive records of one queue, offsets from the result's.
        let ids: Vec<&str> = batch_result.msg_id.split(',').collect();
        assert_eq!(ids.len(), 3);
        for (i, id) in ids.iter().enumerate() {
            let m = &by_id[*id];
            assert_eq!(m.queue_id, batch_result.queue.queue_id);
            assert_eq!(m.queue_offset, batch_result.queue_offset + i as i64);
            assert_eq!(m.body, format!("batch-{i}").as_bytes());
            assert_eq!(m.tags.as_deref(), Some("TagBatch"));
        }
        assert!(got.snapshot().iter().any(|g| g.body == b"oneway-body"
            && g.props.get("KEYS").map(String::as_str) == Some("k-oneway")));
        let dups = got.len() - got.distinct().len();
        println!(
            "send modes: {} messages, {dups} duplicate deliveries",
            got.len()
        );
        consumer.shutdown().await;
        producer.shutdown().await;
        small_batches.shutdown().await;
        // Clean shutdown: no task of the clients is left (pull loops, listeners, heartbeats,
        // connection readers and writers).
        let metrics = tokio::runtime::Handle::current().metrics();
        let drained = client_util::wait_until(Duration::from_secs(10), || {
            let n = metrics.num_alive_tasks();
            async move { n == 0 }
        })
        .await;
        assert!(
            drained,
            "{} tasks still alive after shutdown",
            metrics.num_alive_tasks()
        );
    });
}

#[test]
fn namesrv_addr_env_and_instance_names() {
    let cluster = Cluster::start(&["broker-env"]);
    cluster.create_topic("tp_env", 2);
    let ns = cluster.ns.addr.clone();
    runtime().block_on(async {
        // No address given: NAMESRV_ADDR is used (only this test sets it in this binary).
        std::env::set_var("NAMESRV_ADDR", &ns);
        let from_env = Producer::builder("PG_env")
            .instance_name("env")
            .build()
            .unwrap();
        std::env::remove_var("NAMESRV_ADDR");
        let r = from_env
            .send(Message::new("tp_env", "via env"))
            .await
            .unwrap();
        assert_eq!(r.status, SendStatus::SendOk);
        assert!(matches!(
            Producer::builder("PG_none").build(),
            Err(ferromq_client::ClientError::NoNameServer)
        ));

        let a = Producer::builder("PG_a")
            .namesrv_addr(ns.clone())
            .instance_name("ia")
            .build()
            .unwrap();
        let b = Producer::builder("PG_b")
            .namesrv_addr(ns.clone())
            .instance_name("ib")
            .build()
            .unwrap();
        let a2 = Producer::builder("PG_a2")
            .namesrv_addr(ns.clone())
            .instance_name("ia")
            .build()
            .unwrap();
        assert_ne!(
            a.client_id(),
            b.client_id(),
            "different instance names are independent"
        );
        assert_eq!(
            a.client_id(),
            a2.client_id(),
            "the same instance name shares a client"
        );
        assert!(a.client_id().ends_with("@ia"));
        // Shutting one down leaves the other working.
        b.shutdown().await;
        a.send(Message::new("tp_env", "a")).await.unwrap();
        a2.send(Message::new("tp_env", "a2")).await.unwrap();
        a.shutdown().await;
        a2.send(Message::new("tp_env", "a2 after a")).await.unwrap();
        a2.shutdown().await;
        from_env.shutdown().await;
    });
}

#[test]
fn sends_retry_on_another_broker_and_avoid_a_dead_one() {
    let mut cluster = Cluster::start(&["broker-fa", "broker-fb"]);
    cluster.create_topic("tp_fault", 2);
    let ns = cluster.ns.addr.clone();
    let rt = runtime();
    let producer = rt.block_on(async {
        let p = Producer::builder("PG_fault")
            .namesrv_addr(ns.clone())
            .send_latency_fault_enable(true)
            .build()
            .unwrap();
        // Both brokers take messages, and the route is cached.
        let mut brokers = std::collections::BTreeSet::new();
        for i in 0..8 {
            let r = p
                .send(Message::new("tp_fault", format!("before-{i}")))
                .await
                .unwrap();
            brokers.insert(r.queue.broker_name);
        }
        assert_eq!(brokers.len(), 2);
        p
    });
    cluster.brokers[0].proc.kill();
    rt.block_on(async {
        let mut on_b = 0;
        for i in 0..30 {
            let r = producer
                .send(Message::new("tp_fault", format!("after-{i}")))
                .await
                .unwrap_or_else(|e| panic!("send {i} failed with a live broker left: {e}"));
            assert_eq!(r.queue.broker_name, "broker-fb");
            on_b += 1;
        }
        assert_eq!(on_b, 30);
        // Async sends retry too.
        let f = producer
            .send_async(Message::new("tp_fault", "async"))
            .await
            .unwrap();
        assert_eq!(f.await.unwrap().queue.broker_name, "broker-fb");
        producer.shutdown().await;
    });
}

#[test]
fn async_sends_are_bounded_by_back_pressure() {
    let cluster = Cluster::start(&["broker-bp"]);
    cluster.create_topic("tp_bp", 2);
    let ns = cluster.ns.addr.clone();
    runtime().block_on(async {
        let producer = Producer::builder("PG_bp")
            .namesrv_addr(ns.clone())
            .async_max_in_flight(4)
            .async_max_in_flight_bytes(64 * 1024)
            .build()
            .unwrap();
        let mut futs = Vec::new();
        let mut max_seen = 0;
        for i in 0..200 {
            // send_async returns only once the message fits the limits.
            futs.push(
                producer
                    .send_async(Message::new("tp_bp", vec![b'0' + (i % 10) as u8; 1024]))
                    .await
                    .unwrap(),
            );
            max_seen = max_seen.max(producer.in_flight());
        }
        for f in futs {
            assert_eq!(f.await.unwrap().status, SendStatus::SendOk);
        }
        println!("back-pressure: at most {max_seen} async sends in flight (limit 4)");
        assert!(max_seen <= 4, "{max_seen} in flight");
        assert!(max_seen >= 1);
        assert_eq!(producer.in_flight(), 0);
        producer.shutdown().await;
    });
}
