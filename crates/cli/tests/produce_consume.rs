//! The Rust client against real processes: sync sends, pulls, committed offsets across a clean
//! broker restart, long polling, and auto-creation through TBW102.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ferromq_client::{Message, Producer, PullConsumer, PullStatus};

#[test]
fn restart_keeps_messages_and_committed_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let mut broker = start_broker(dir.path(), &ns.addr, "broker-r", "");
    let (code, out, err) = mqadmin(&[
        "updateTopic",
        "-n",
        &ns.addr,
        "-b",
        &broker.addr,
        "-t",
        "tp_restart",
        "-r",
        "2",
        "-w",
        "2",
    ]);
    assert_eq!(code, 0, "{out}{err}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let sent = rt.block_on(async {
        let producer = Producer::builder("PG_r")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        let mut sent = Vec::new();
        for i in 0..40 {
            let msg = Message::new("tp_restart", format!("body-{i}"))
                .with_tags(if i % 2 == 0 { "TagA" } else { "TagB" })
                .with_key(format!("k{i}"))
                .with_property("seq", i.to_string());
            let r = producer.send(msg).await.unwrap();
            sent.push((
                r.queue.queue_id,
                r.queue_offset,
                format!("body-{i}"),
                r.msg_id,
                r.offset_msg_id,
            ));
        }
        // Commit half of each queue for the group.
        let consumer = PullConsumer::builder("CG_r")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        for mq in consumer.fetch_queues("tp_restart").await.unwrap() {
            consumer.update_offset("CG_r", &mq, 10).await.unwrap();
        }
        sent
    });

    broker.restart();

    rt.block_on(async {
        let consumer = PullConsumer::builder("CG_r")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let queues = loop {
            match consumer.fetch_queues("tp_restart").await {
                Ok(q) if q.len() == 2 => break q,
                _ if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                other => panic!("no route after restart: {other:?}"),
            }
        };
        let mut seen = Vec::new();
        for mq in &queues {
            assert_eq!(
                consumer.query_offset("CG_r", mq).await.unwrap(),
                Some(10),
                "committed offset survives"
            );
            assert_eq!(consumer.max_offset(mq).await.unwrap(), 20);
            // Everything from 0 is still there with its offsets, ids and properties.
            let r = consumer.pull(mq, 0, 32).await.unwrap();
            assert_eq!(r.status, PullStatus::Found);
            assert_eq!(r.messages.len(), 20);
            for m in &r.messages {
                seen.push((
                    m.queue_id,
                    m.queue_offset,
                    String::from_utf8(m.body.to_vec()).unwrap(),
                    m.msg_id(),
                    m.offset_msg_id(),
                ));
                assert!(m.properties.get("seq").is_some());
            }
            // Resuming at the committed offset gives only what was not committed.
            let rest = consumer.pull(mq, 10, 32).await.unwrap();
            assert_eq!(rest.messages.first().map(|m| m.queue_offset), Some(10));
        }
        let mut expected = sent.clone();
        expected.sort();
        seen.sort();
        assert_eq!(seen, expected);
    });
}

#[test]
fn long_poll_returns_when_a_message_arrives_and_topics_auto_create() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-lp", "");
    // Its port opens before its first registration (which carries TBW102) reaches the name
    // server; a send before that finds no route for the new topic.
    broker.wait_registered();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let producer = Producer::builder("PG_lp")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        // The topic does not exist: the first send creates it through TBW102.
        let first = producer
            .send(Message::new("tp_auto_lp", "first"))
            .await
            .unwrap();
        let consumer = PullConsumer::builder("CG_lp")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        let mq = first.queue.clone();
        // The broker registers an auto-created topic with the name server in the background;
        // the pull below looks the broker up by the topic's route.
        let admin = ferromq_client::AdminClient::connect(Some(&ns.addr)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while admin.topic_route("tp_auto_lp").await.is_err() {
            assert!(Instant::now() < deadline, "tp_auto_lp was never registered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let c2 = consumer.clone();
        let mq2 = mq.clone();
        let started = Instant::now();
        let waiter = tokio::spawn(async move { c2.pull_block_if_not_found(&mq2, 1, 32).await });
        tokio::time::sleep(Duration::from_millis(500)).await;
        if waiter.is_finished() {
            panic!(
                "the pull must be held while the queue is empty, got {:?}",
                waiter
                    .await
                    .unwrap()
                    .map(|r| (r.status, r.next_begin_offset, r.max_offset))
            );
        }
        producer
            .send_to_queue(Message::new("tp_auto_lp", "second"), &mq)
            .await
            .unwrap();
        let r = tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(r.status, PullStatus::Found);
        assert_eq!(&r.messages[0].body[..], b"second");
        assert!(started.elapsed() < Duration::from_secs(10));
    });
}

#[test]
fn a_new_group_starts_at_zero_only_while_the_first_message_is_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    // Ratio 0: every message but the newest counts as "on disk", as with a long history.
    let hot = start_broker(dir.path(), &ns.addr, "broker-hot", "");
    let cold = start_broker(
        dir.path(),
        &ns.addr,
        "broker-cold",
        "accessMessageInMemoryMaxRatio=0",
    );
    // `updateTopic -c` creates the topic on the masters the name server lists at that moment.
    hot.wait_registered();
    cold.wait_registered();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let producer = Producer::builder("PG_mem")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        let consumer = PullConsumer::builder("CG_mem")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        for broker in ["broker-hot", "broker-cold"] {
            let topic = format!("tp_{broker}");
            let (code, out, err) = mqadmin(&[
                "updateTopic",
                "-n",
                &ns.addr,
                "-c",
                "DefaultCluster",
                "-t",
                &topic,
                "-r",
                "1",
                "-w",
                "1",
            ]);
            assert_eq!(code, 0, "{out}{err}");
            let mq = ferromq_client::MessageQueue::new(topic.clone(), broker, 0);
            let deadline = Instant::now() + Duration::from_secs(10);
            for i in 0..3 {
                loop {
                    match producer
                        .send_to_queue(Message::new(topic.clone(), format!("m{i}")), &mq)
                        .await
                    {
                        Ok(_) => break,
                        Err(e) if Instant::now() < deadline => {
                            let _ = e;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Err(e) => panic!("send to {broker} failed: {e}"),
                    }
                }
            }
            while consumer.max_offset(&mq).await.unwrap() < 3 {
                assert!(Instant::now() < deadline, "messages never became visible");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let offset = consumer.query_offset("CG_mem", &mq).await.unwrap();
            let expected = if broker == "broker-hot" {
                Some(0)
            } else {
                None
            };
            assert_eq!(offset, expected, "{broker}");
        }
    });
}
