//! Retries and dead letters with the Rust client against a real broker whose delay levels are
//! shortened: a concurrent listener that fails gets the message back with reconsume times 1, 2,
//! ... and, past the group's `retryMaxTimes` (set with `mqadmin updateSubGroup`), the message is
//! in `%DLQ%<group>` with its body, keys and first topic; an orderly queue with a poison message
//! moves it to the DLQ after the limit and consumes the messages behind it in order.

mod client_util;
mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_util::{runtime, wait_until};
use common::{create_topic, mqadmin, start_broker, start_namesrv};
use ferromq_client::{ConsumeStatus, Message, OrderlyStatus, Producer, PullConsumer, PushConsumer};
use ferromq_proto::body::MessageQueue;
use ferromq_proto::message::properties::RETRY_TOPIC;

const LEVELS: &str = "messageDelayLevel=1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s";

/// Every message of `%DLQ%<group>` on the broker.
async fn dead_letters(ns: &str, broker: &str, group: &str) -> Vec<ferromq_client::MessageExt> {
    let reader = PullConsumer::builder(format!("CG_dlq_reader_{group}"))
        .namesrv_addr(ns)
        .build()
        .unwrap();
    let mq = MessageQueue::new(format!("%DLQ%{group}"), broker, 0);
    let got = reader.pull(&mq, 0, 64).await;
    reader.shutdown().await;
    got.map(|r| r.messages).unwrap_or_default()
}

#[test]
fn a_failing_concurrent_listener_retries_with_back_off_then_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-retry", LEVELS);
    create_topic(&ns.addr, &broker.addr, "tp_retry", 2);
    let (code, out, err) = mqadmin(&[
        "updateSubGroup",
        "-n",
        &ns.addr,
        "-b",
        &broker.addr,
        "-g",
        "CG_retry",
        "-r",
        "2",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("retryMaxTimes=2"), "{out}");

    runtime().block_on(async {
        // (when, body, topic, reconsume times) of every delivery.
        type Seen = Vec<(Instant, String, String, i32)>;
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let s = Arc::clone(&seen);
        let consumer = PushConsumer::builder("CG_retry")
            .namesrv_addr(ns.addr.clone())
            .subscribe("tp_retry", "*")
            .listener_concurrently(move |msgs, _ctx| {
                let s = Arc::clone(&s);
                async move {
                    let mut status = ConsumeStatus::Success;
                    for m in &msgs {
                        let body = String::from_utf8_lossy(&m.body).into_owned();
                        s.lock().unwrap().push((
                            Instant::now(),
                            body.clone(),
                            m.topic.clone(),
                            m.reconsume_times,
                        ));
                        if body.starts_with("poison") {
                            status = ConsumeStatus::ReconsumeLater;
                        }
                        if body.starts_with("panic") && m.reconsume_times == 0 {
                            panic!("a listener that panics is retried too");
                        }
                    }
                    status
                }
            })
            .build()
            .unwrap();
        consumer.start().await.unwrap();
        let producer = Producer::builder("PG_retry")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        let poison = producer
            .send(
                Message::new("tp_retry", "poison-1")
                    .with_key("pk-1")
                    .with_tags("TagP"),
            )
            .await
            .unwrap();
        producer
            .send(Message::new("tp_retry", "panic-1"))
            .await
            .unwrap();
        for i in 0..5 {
            producer
                .send(Message::new("tp_retry", format!("fine-{i}")))
                .await
                .unwrap();
        }
        let deliveries = |body: &str| -> Vec<(Instant, String, i32)> {
            seen.lock()
                .unwrap()
                .iter()
                .filter(|(_, b, _, _)| b == body)
                .map(|(t, _, topic, n)| (*t, topic.clone(), *n))
                .collect()
        };
        let dead = wait_until(Duration::from_secs(40), || {
            let ns = ns.addr.clone();
            async move {
                !dead_letters(&ns, "broker-retry", "CG_retry")
                    .await
                    .is_empty()
            }
        })
        .await;
        assert!(
            dead,
            "the failing message never reached the DLQ: {:?}",
            deliveries("poison-1")
        );
        let poisoned = deliveries("poison-1");
        assert_eq!(
            poisoned.iter().map(|d| d.2).collect::<Vec<_>>(),
            [0, 1, 2],
            "deliveries of the failing message: {poisoned:?}"
        );
        for d in &poisoned {
            assert_eq!(d.1, "tp_retry", "a retried message shows its first topic");
        }
        for w in poisoned.windows(2) {
            let gap = w[1].0 - w[0].0;
            assert!(gap >= Duration::from_millis(900), "retried after {gap:?}");
        }
        let letters = dead_letters(&ns.addr, "broker-retry", "CG_retry").await;
        assert_eq!(letters.len(), 1, "{letters:?}");
        let d = &letters[0];
        assert_eq!(&d.body[..], b"poison-1");
        assert_eq!(d.keys(), Some("pk-1"));
        assert_eq!(d.tags(), Some("TagP"));
        assert_eq!(d.properties.get(RETRY_TOPIC), Some("tp_retry"));
        assert_eq!(d.msg_id(), poison.msg_id);
        // The panicking message came back once and then succeeded; the rest went through once.
        let panicked = deliveries("panic-1");
        assert_eq!(panicked.iter().map(|d| d.2).collect::<Vec<_>>(), [0, 1]);
        for i in 0..5 {
            assert_eq!(deliveries(&format!("fine-{i}")).len(), 1);
        }
        consumer.shutdown().await;
        producer.shutdown().await;
    });
}

#[test]
fn an_orderly_queue_moves_its_poison_message_to_the_dlq_and_goes_on_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-oretry", LEVELS);
    create_topic(&ns.addr, &broker.addr, "tp_oretry", 1);
    runtime().block_on(async {
        let seen: Arc<Mutex<Vec<(String, i32)>>> = Arc::default();
        let s = Arc::clone(&seen);
        let consumer = PushConsumer::builder("CG_oretry")
            .namesrv_addr(ns.addr.clone())
            .subscribe("tp_oretry", "*")
            .max_reconsume_times(2)
            .suspend_current_queue_time(Duration::from_millis(100))
            .listener_orderly(move |msgs, _ctx| {
                let s = Arc::clone(&s);
                async move {
                    for m in &msgs {
                        let body = String::from_utf8_lossy(&m.body).into_owned();
                        s.lock().unwrap().push((body.clone(), m.reconsume_times));
                        if body == "3" {
                            return OrderlyStatus::SuspendCurrentQueueAMoment;
                        }
                    }
                    OrderlyStatus::Success
                }
            })
            .build()
            .unwrap();
        consumer.start().await.unwrap();
        let producer = Producer::builder("PG_oretry")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        for i in 0..8 {
            producer
                .send_orderly(Message::new("tp_oretry", i.to_string()), "one-key")
                .await
                .unwrap();
        }
        let done = wait_until(Duration::from_secs(30), || {
            let s = Arc::clone(&seen);
            async move { s.lock().unwrap().iter().any(|(b, _)| b == "7") }
        })
        .await;
        let log = seen.lock().unwrap().clone();
        assert!(done, "the queue stalled behind the poison message: {log:?}");
        let order: Vec<&str> = log.iter().map(|(b, _)| b.as_str()).collect();
        assert_eq!(
            order,
            ["0", "1", "2", "3", "3", "3", "4", "5", "6", "7"],
            "{log:?}"
        );
        assert_eq!(
            log.iter()
                .filter(|(b, _)| b == "3")
                .map(|(_, n)| *n)
                .collect::<Vec<_>>(),
            [0, 1, 2]
        );
        let letters = dead_letters(&ns.addr, "broker-oretry", "CG_oretry").await;
        assert_eq!(letters.len(), 1, "{letters:?}");
        assert_eq!(&letters[0].body[..], b"3");
        assert_eq!(letters[0].properties.get(RETRY_TOPIC), Some("tp_oretry"));
        consumer.shutdown().await;
        producer.shutdown().await;
    });
}
