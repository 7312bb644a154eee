//! Delay levels against a real broker with `messageDelayLevel` shortened: a delayed message is
//! not visible in its topic before its delay, arrives once after it (keys, tags, properties and
//! unique id kept), survives kill -9 in between, and is not delivered twice when the saved
//! progress is behind what was delivered.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use ferromq_client::{Message, MessageExt, Producer, PullConsumer, PullStatus};

const TOPIC: &str = "tp_delay";
const LEVELS: &str = "messageDelayLevel=1s 2s 3s\n";

/// Every message now in the topic, by unique id (a second copy of one id is kept as a list).
async fn everything(ns: &str) -> HashMap<String, Vec<MessageExt>> {
    let consumer = PullConsumer::builder("CG_delay_reader")
        .namesrv_addr(ns.to_owned())
        .build()
        .unwrap();
    let mut out: HashMap<String, Vec<MessageExt>> = HashMap::new();
    for mq in consumer.fetch_queues(TOPIC).await.unwrap() {
        let mut offset = 0;
        loop {
            let r = consumer.pull(&mq, offset, 32).await.unwrap();
            if r.status != PullStatus::Found {
                break;
            }
            offset = r.next_begin_offset;
            for m in r.messages {
                out.entry(m.msg_id()).or_default().push(m);
            }
        }
    }
    consumer.shutdown().await;
    out
}

async fn send_delayed(ns: &str, count: usize, level: i32) -> Vec<(String, i32)> {
    let producer = Producer::builder("PG_delay")
        .namesrv_addr(ns.to_owned())
        .build()
        .unwrap();
    let mut sent = Vec::new();
    for i in 0..count {
        let lvl = if level > 0 { level } else { 1 + (i % 4) as i32 };
        let msg = Message::new(TOPIC, format!("delayed-{i}"))
            .with_tags("TagD")
            .with_key(format!("key-{i}"))
            .with_property("seq", i.to_string())
            .with_delay_level(lvl);
        let r = producer.send(msg).await.unwrap();
        sent.push((r.msg_id, lvl.min(3)));
    }
    producer.shutdown().await;
    sent
}

async fn wait_all(ns: &str, want: usize, within: Duration) -> HashMap<String, Vec<MessageExt>> {
    let deadline = Instant::now() + within;
    loop {
        let got = everything(ns).await;
        if got.len() >= want || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn delayed_messages_arrive_after_their_level_and_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-delay", LEVELS);
    create_topic(&ns.addr, &broker.addr, TOPIC, 2);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Levels 1..4; 4 is above the three configured and is clamped to 3 s.
        let sent = send_delayed(&ns.addr, 40, 0).await;
        assert!(
            everything(&ns.addr).await.is_empty(),
            "delayed messages were visible at once"
        );
        let got = wait_all(&ns.addr, sent.len(), Duration::from_secs(20)).await;
        assert_eq!(got.len(), sent.len(), "not every delayed message arrived");
        let mut lateness = Vec::new();
        for (id, level) in &sent {
            let copies = &got[id];
            assert_eq!(copies.len(), 1, "{id} delivered {} times", copies.len());
            let m = &copies[0];
            let waited = m.store_timestamp - m.born_timestamp;
            assert!(
                waited >= i64::from(*level) * 1000 - 50,
                "{id} (level {level}) arrived after {waited} ms"
            );
            lateness.push(waited - i64::from(*level) * 1000);
            assert_eq!(m.tags(), Some("TagD"));
            assert!(m.keys().is_some_and(|k| k.starts_with("key-")));
            assert!(m.properties.get("seq").is_some());
        }
        // Measured, not asserted: born time to the delivered copy's store time, minus the level.
        lateness.sort_unstable();
        let at = |q: f64| lateness[((lateness.len() - 1) as f64 * q) as usize];
        println!(
            "delay-level lateness over {} messages: p50 {} ms, p99 {} ms, max {} ms",
            lateness.len(),
            at(0.5),
            at(0.99),
            at(1.0)
        );
    });
    // A negative level is refused, not silently sent at once.
    rt.block_on(async {
        let producer = Producer::builder("PG_delay_bad")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        let err = producer
            .send(Message::new(TOPIC, "x").with_property("DELAY", "-1"))
            .await
            .unwrap_err();
        assert_eq!(err.response_code(), Some(13), "{err}");
        producer.shutdown().await;
    });
}

#[test]
fn delayed_messages_survive_kill_9_and_lost_progress_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let mut broker = start_broker(dir.path(), &ns.addr, "broker-delay-k", LEVELS);
    create_topic(&ns.addr, &broker.addr, TOPIC, 2);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let first = rt.block_on(send_delayed(&ns.addr, 30, 3));
    // Killed while every message is still pending.
    std::thread::sleep(Duration::from_millis(1_000));
    broker.proc.kill();
    broker.start_again();
    rt.block_on(async {
        let got = wait_all(&ns.addr, first.len(), Duration::from_secs(30)).await;
        assert_eq!(
            got.len(),
            first.len(),
            "delayed messages lost across kill -9"
        );
        assert!(
            got.values().all(|c| c.len() == 1),
            "a delayed message arrived twice"
        );
    });
    // Progress lost after delivery (as if killed between a delivery and saving the offsets):
    // the broker must find the delivered copies and not deliver again.
    broker.restart();
    broker.proc.kill();
    let offsets = dir.path().join("broker-delay-k/config/delayOffset.json");
    let saved = std::fs::read_to_string(&offsets).unwrap();
    assert!(
        saved.contains("\"3\":30"),
        "unexpected delayOffset.json: {saved}"
    );
    std::fs::write(&offsets, r#"{"offsetTable":{3:0}}"#).unwrap();
    broker.start_again();
    std::thread::sleep(Duration::from_millis(1_500));
    rt.block_on(async {
        let got = everything(&ns.addr).await;
        assert_eq!(got.len(), first.len());
        assert!(
            got.values().all(|c| c.len() == 1),
            "delayed messages delivered again after the progress was lost"
        );
    });
}
