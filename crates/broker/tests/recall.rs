//! RECALL_MESSAGE (370) on an in-process broker, driven the way a RocketMQ 5.3 Java producer
//! does it: a timer send answers with `recallHandle`, and `recallMessage(topic, handle)` sends
//! RECALL_MESSAGE with `producerGroup`, `topic`, `recallHandle` and `bname`. Refusals carry
//! RocketMQ's codes and remarks (`RecallMessageProcessor`); a recalled message is never
//! delivered, also across a restart; a recall after delivery is refused.

mod support;

use std::time::Duration;

use ferromq_common::now_millis;
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::{
    RecallMessageRequestHeader, RecallMessageResponseHeader, SendMessageResponseHeader,
};
use ferromq_proto::message::RecallHandle;
use ferromq_proto::RemotingCommand;
use support::{start, start_in, TestBroker};

const BROKER: &str = "broker-test";

fn enabled(c: &mut ferromq_broker::BrokerConfig) {
    c.recall_message_enable = true;
}

/// A message sent with `TIMER_DELIVER_MS`.
struct Timed {
    uniq: String,
    due: i64,
    handle: String,
}

async fn send_timed(t: &TestBroker, topic: &str, due: i64, body: &str) -> Timed {
    let props = format!("TIMER_DELIVER_MS\u{1}{due}\u{2}KEYS\u{1}{body}\u{2}");
    let resp = t.send(topic, 0, body, &props, None).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    Timed {
        uniq: h.transaction_id.unwrap(),
        due,
        handle: h
            .recall_handle
            .expect("a timer send answers with a recall handle"),
    }
}

async fn recall(t: &TestBroker, topic: &str, handle: &str) -> RemotingCommand {
    let header = RecallMessageRequestHeader {
        producer_group: Some("PG_test".into()),
        topic: topic.into(),
        recall_handle: handle.into(),
        bname: Some(BROKER.into()),
    };
    t.call(RemotingCommand::request(request::RECALL_MESSAGE, &header))
        .await
}

fn assert_refused(resp: &RemotingCommand, code: i32, remark: &str) {
    assert_eq!(
        (resp.code, resp.remark.as_deref()),
        (code, Some(remark)),
        "{resp:?}"
    );
}

/// Ids of the messages in queue 0 of `topic`.
fn delivered(t: &TestBroker, topic: &str) -> Vec<String> {
    t.read(topic, 0, 0)
        .iter()
        .map(|m| m.properties.get("UNIQ_KEY").unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_send_answers_with_a_handle_only_for_timer_messages() {
    let t = start(|_| {}).await;
    let due = now_millis() + 60_000;
    let sent = send_timed(&t, "tp_handle", due, "a").await;
    let h = RecallHandle::decode(&sent.handle).unwrap();
    assert_eq!(
        h,
        RecallHandle {
            topic: "tp_handle".into(),
            broker_name: BROKER.into(),
            timestamp: (due + 1).to_string(),
            message_id: sent.uniq.clone(),
        }
    );
    for props in ["", "DELAY\u{1}1\u{2}"] {
        let resp = t.send("tp_handle", 0, "b", props, None).await;
        let h: SendMessageResponseHeader = resp.decode_header().unwrap();
        assert_eq!(h.recall_handle, None, "{props:?}");
    }
    t.stop().await;
}

#[tokio::test]
async fn recall_is_forbidden_unless_enabled() {
    let t = start(|_| {}).await;
    let sent = send_timed(&t, "tp_off", now_millis() + 60_000, "a").await;
    let resp = recall(&t, "tp_off", &sent.handle).await;
    assert_refused(
        &resp,
        response::NO_PERMISSION,
        "recall failed, operation is forbidden",
    );
    t.stop().await;
}

#[tokio::test]
async fn bad_handles_and_mismatches_get_rocketmq_codes_and_remarks() {
    let t = start(enabled).await;
    let due = now_millis() + 60_000;
    let sent = send_timed(&t, "tp_bad", due, "a").await;
    send_timed(&t, "tp_other", due, "b").await;
    let handle = RecallHandle::decode(&sent.handle).unwrap();
    let with = |f: &dyn Fn(&mut RecallHandle)| {
        let mut h = handle.clone();
        f(&mut h);
        h.encode()
    };

    let resp = recall(&t, "tp_missing", &sent.handle).await;
    assert_refused(
        &resp,
        response::TOPIC_NOT_EXIST,
        "recall failed, the topic[tp_missing] not exist",
    );
    for bad in ["", "v1 tp_bad broker-test 1 x", "djEgYSBiIGM="] {
        let resp = recall(&t, "tp_bad", bad).await;
        assert_refused(
            &resp,
            response::ILLEGAL_OPERATION,
            "recall handle is invalid",
        );
    }
    let resp = recall(&t, "tp_other", &sent.handle).await;
    assert_refused(
        &resp,
        response::ILLEGAL_OPERATION,
        "recall failed, topic not match",
    );
    let other_broker = with(&|h| h.broker_name = "broker-b".into());
    let resp = recall(&t, "tp_bad", &other_broker).await;
    assert_refused(
        &resp,
        response::ILLEGAL_OPERATION,
        "recall failed, broker service not available",
    );
    let past = (now_millis() - 1).to_string();
    let beyond_max = (now_millis() + 259_200_000 + 60_000).to_string();
    for ts in [past.as_str(), beyond_max.as_str(), "soon"] {
        let resp = recall(&t, "tp_bad", &with(&|h| h.timestamp = ts.into())).await;
        assert_refused(
            &resp,
            response::ILLEGAL_OPERATION,
            "recall failed, timestamp invalid",
        );
    }
    // The real thing answers with the message's id.
    let resp = recall(&t, "tp_bad", &sent.handle).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let answer: RecallMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(answer.msg_id, sent.uniq);
    assert_eq!(
        t.broker
            .stats
            .recalled
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    t.stop().await;
}

#[tokio::test]
async fn a_recalled_message_is_never_delivered_and_a_late_recall_is_refused() {
    const TOPIC: &str = "tp_recall";
    let t = start(enabled).await;
    let due = now_millis() + 1_200;
    let mut sent = Vec::new();
    for i in 0..6 {
        sent.push(send_timed(&t, TOPIC, due + i * 40, &format!("m{i}")).await);
    }
    for s in sent.iter().skip(1).step_by(2) {
        let resp = recall(&t, TOPIC, &s.handle).await;
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    }
    // Recalling the same message twice is answered the same way (RocketMQ stores a second
    // marker); recalling it under another topic cancels nothing (the key holds the topic).
    assert_eq!(recall(&t, TOPIC, &sent[1].handle).await.code, 0);
    send_timed(&t, "tp_recall_other", due + 60_000, "x").await;
    let collision = RecallHandle {
        topic: "tp_recall_other".into(),
        ..RecallHandle::decode(&sent[0].handle).unwrap()
    };
    let resp = recall(&t, "tp_recall_other", &collision.encode()).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);

    let kept: Vec<String> = sent.iter().step_by(2).map(|s| s.uniq.clone()).collect();
    t.wait_for(TOPIC, 0, 0, kept.len(), Duration::from_secs(10))
        .await;
    // Past the last due time, with time for a recalled one to show up.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(delivered(&t, TOPIC), kept);
    assert_eq!(t.broker.timer.recalls().dropped(), 3);

    // After delivery (and after the drop), RocketMQ's refusal.
    for s in &sent[..2] {
        assert!(s.due < now_millis());
        let resp = recall(&t, TOPIC, &s.handle).await;
        assert_refused(
            &resp,
            response::ILLEGAL_OPERATION,
            "recall failed, timestamp invalid",
        );
    }
    t.stop().await;
}

#[tokio::test]
async fn recalls_survive_a_restart_also_for_messages_due_while_the_broker_was_down() {
    const TOPIC: &str = "tp_recall_restart";
    let t = start(enabled).await;
    let now = now_millis();
    // Two due while the broker is down, two after it is back.
    let dues = [now + 1_000, now + 1_100, now + 3_500, now + 3_600];
    let mut sent = Vec::new();
    for (i, due) in dues.iter().enumerate() {
        sent.push(send_timed(&t, TOPIC, *due, &format!("m{i}")).await);
    }
    for s in [&sent[1], &sent[3]] {
        let resp = recall(&t, TOPIC, &s.handle).await;
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    }
    let dir = t.stop_keep_store().await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let t = start_in(dir, enabled).await;
    t.wait_for(TOPIC, 0, 0, 2, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        delivered(&t, TOPIC),
        [sent[0].uniq.clone(), sent[2].uniq.clone()]
    );
    assert_eq!(t.broker.timer.recalls().dropped(), 2);
    t.stop().await;
}
