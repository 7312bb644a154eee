//! Timer-message recall (RocketMQ 5.3 RECALL_MESSAGE) against real name-server and broker
//! processes with the Rust client: timer sends answer with a recall handle,
//! `Producer::recall_message` cancels half of them, the broker is killed with kill -9 right
//! after the recalls and again while messages are being delivered, and exactly the messages not
//! recalled arrive, once each. A recall after delivery is refused with ILLEGAL_OPERATION.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use ferromq_client::{ClientError, Message};
use ferromq_client::{MessageQueue, Producer, PullConsumer, PullStatus};

const TOPIC: &str = "tp_recall";

fn now_ms() -> i64 {
    ferromq_common::now_millis()
}

/// Every message of `TOPIC` now visible, by id (with the number of copies).
async fn read_all(ns: &str) -> HashMap<String, usize> {
    let consumer = PullConsumer::builder("CG_recall")
        .namesrv_addr(ns.to_owned())
        .build()
        .unwrap();
    // A broker just restarted registers with the name server shortly after it listens.
    let deadline = Instant::now() + Duration::from_secs(15);
    let queues: Vec<MessageQueue> = loop {
        match consumer.fetch_queues(TOPIC).await {
            Ok(q) if !q.is_empty() => break q,
            other if Instant::now() > deadline => panic!("no route for {TOPIC}: {other:?}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let mut got = HashMap::new();
    for mq in &queues {
        let mut offset = 0;
        loop {
            let r = consumer.pull(mq, offset, 32).await.unwrap();
            if r.status != PullStatus::Found {
                break;
            }
            offset = r.next_begin_offset;
            for m in r.messages {
                *got.entry(m.msg_id()).or_insert(0) += 1;
            }
        }
    }
    consumer.shutdown().await;
    got
}

#[test]
fn recalled_timer_messages_never_arrive_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let mut broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-recall",
        "recallMessageEnable=true",
    );
    create_topic(&ns.addr, &broker.addr, TOPIC, 2);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let start = now_ms();
    let (kept, recalled) = rt.block_on(async {
        let producer = Producer::builder("PG_recall")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        let mut sent = Vec::new();
        for i in 0..40i64 {
            // Due 4 s .. 8 s from the start, scattered.
            let due = start + 4_000 + (i * 7_919) % 4_000;
            let msg = Message::new(TOPIC, format!("recall-{i}")).with_deliver_time_ms(due);
            let r = producer.send(msg).await.unwrap();
            let handle = r.recall_handle.clone().expect("a recall handle");
            sent.push((r.msg_id, handle));
        }
        let (mut kept, mut recalled) = (Vec::new(), Vec::new());
        for (i, (id, handle)) in sent.into_iter().enumerate() {
            if i % 2 == 1 {
                let answered = producer.recall_message(TOPIC, &handle).await.unwrap();
                assert_eq!(answered, id);
                recalled.push((id, handle));
            } else {
                kept.push((id, handle));
            }
        }
        producer.shutdown().await;
        (kept, recalled)
    });
    assert!(
        now_ms() < start + 4_000,
        "sending and recalling took too long for the test to mean anything"
    );
    // Killed right after the recalls were answered (their markers may not be filed yet), and
    // again while the messages are being delivered.
    broker.proc.kill();
    broker.start_again();
    let midway = start + 6_000 - now_ms();
    std::thread::sleep(Duration::from_millis(midway.max(0) as u64));
    broker.proc.kill();
    broker.start_again();

    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut got = read_all(&ns.addr).await;
        while got.len() < kept.len() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            got = read_all(&ns.addr).await;
        }
        // Past every due time, with time for a recalled or duplicate copy to show up.
        let wait = start + 8_000 - now_ms() + 1_000;
        tokio::time::sleep(Duration::from_millis(wait.max(1_000) as u64)).await;
        let got = read_all(&ns.addr).await;
        for (id, _) in &kept {
            assert_eq!(got.get(id), Some(&1), "{id} not delivered exactly once");
        }
        for (id, _) in &recalled {
            assert_eq!(got.get(id), None, "recalled {id} was delivered");
        }
        assert_eq!(got.len(), kept.len(), "{got:?}");

        // After delivery, RocketMQ's refusal; for a recalled one too (its due time is past).
        let producer = Producer::builder("PG_recall_late")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        for (_, handle) in [&kept[0], &recalled[0]] {
            let err = producer.recall_message(TOPIC, handle).await.unwrap_err();
            assert!(
                matches!(&err, ClientError::Broker { code: 604, remark } if remark == "recall failed, timestamp invalid"),
                "{err}"
            );
        }
        producer.shutdown().await;
    });
}
