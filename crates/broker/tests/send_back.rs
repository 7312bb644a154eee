//! CONSUMER_SEND_MSG_BACK and sends to `%RETRY%` topics on an in-process broker: retry copies
//! with back-off levels, the dead-letter queue past the limit, and the refusals.

mod support;

use std::time::Duration;

use ferromq_proto::body::SubscriptionGroupConfig;
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::{ConsumerSendMsgBackRequestHeader, SendMessageResponseHeader};
use ferromq_proto::message::properties::{DELAY, KEYS, ORIGIN_MESSAGE_ID, RETRY_TOPIC, UNIQ_KEY};
use ferromq_proto::message::MessageExt;
use ferromq_proto::RemotingCommand;
use support::{start, TestBroker};

const WAIT: Duration = Duration::from_secs(10);

fn send_back_cmd(offset: i64, group: &str, delay_level: i32, max: Option<i32>) -> RemotingCommand {
    let header = ConsumerSendMsgBackRequestHeader {
        offset,
        group: group.into(),
        delay_level,
        origin_msg_id: None,
        origin_topic: None,
        unit_mode: Some(false),
        max_reconsume_times: max,
    };
    RemotingCommand::request(request::CONSUMER_SEND_MSG_BACK, &header)
}

/// Sends one message to `topic` queue 0 and returns it as stored.
async fn stored(t: &TestBroker, topic: &str, body: &str) -> MessageExt {
    let resp = t
        .send(topic, 0, body, "KEYS\u{1}k-1\u{2}TAGS\u{1}TagA\u{2}", None)
        .await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    t.read(topic, 0, h.queue_offset).remove(0)
}

fn set_group(t: &TestBroker, group: &str, retry_max_times: i32, retry_queue_nums: i32) {
    let mut g = SubscriptionGroupConfig::new(group);
    g.retry_max_times = retry_max_times;
    g.retry_queue_nums = retry_queue_nums;
    t.broker.groups.upsert(g).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_message_comes_back_through_the_retry_topic_then_goes_to_the_dlq() {
    let t = start(|_| {}).await;
    set_group(&t, "G1", 2, 1);
    let original = stored(&t, "T1", "payload").await;
    let uniq = original.properties.get(UNIQ_KEY).unwrap().to_owned();

    // Round 1: level 3 + 0 after a second, in %RETRY%G1, same id, count 1.
    let resp = t
        .call(send_back_cmd(original.commit_log_offset, "G1", 0, None))
        .await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert!(
        t.read("%RETRY%G1", 0, 0).is_empty(),
        "a retry must wait for its delay level"
    );
    let first = t.wait_for("%RETRY%G1", 0, 0, 1, WAIT).await;
    assert_eq!(first.len(), 1, "the retry copy never arrived");
    let r1 = &first[0];
    assert_eq!(r1.reconsume_times, 1);
    assert_eq!(&r1.body[..], b"payload");
    assert_eq!(r1.properties.get(UNIQ_KEY), Some(uniq.as_str()));
    assert_eq!(r1.properties.get(RETRY_TOPIC), Some("T1"));
    assert_eq!(r1.properties.get(KEYS), Some("k-1"));
    assert_eq!(r1.properties.get(DELAY), Some("3"));
    let origin = r1.properties.get(ORIGIN_MESSAGE_ID).unwrap().to_owned();
    assert_eq!(origin, original.offset_msg_id());

    // Round 2 from the retry copy: level 3 + 1, count 2, the origin id kept.
    let resp = t
        .call(send_back_cmd(r1.commit_log_offset, "G1", 0, None))
        .await;
    assert_eq!(resp.code, response::SUCCESS);
    let second = t.wait_for("%RETRY%G1", 0, 1, 1, WAIT).await;
    assert_eq!(second.len(), 1);
    let r2 = &second[0];
    assert_eq!(r2.reconsume_times, 2);
    assert_eq!(r2.properties.get(DELAY), Some("4"));
    assert_eq!(r2.properties.get(ORIGIN_MESSAGE_ID), Some(origin.as_str()));
    assert_eq!(r2.properties.get(RETRY_TOPIC), Some("T1"));

    // Round 3: count 2 has reached retryMaxTimes 2: the dead-letter queue, at once.
    let resp = t
        .call(send_back_cmd(r2.commit_log_offset, "G1", 0, None))
        .await;
    assert_eq!(resp.code, response::SUCCESS);
    let dead = t.read("%DLQ%G1", 0, 0);
    assert_eq!(
        dead.len(),
        1,
        "past the limit the message must be in the DLQ"
    );
    let d = &dead[0];
    assert_eq!(&d.body[..], b"payload");
    assert_eq!(d.reconsume_times, 3);
    assert_eq!(d.properties.get(RETRY_TOPIC), Some("T1"));
    assert_eq!(d.properties.get(KEYS), Some("k-1"));
    assert_eq!(d.properties.get(UNIQ_KEY), Some(uniq.as_str()));
    assert_eq!(d.properties.get(ORIGIN_MESSAGE_ID), Some(origin.as_str()));
    let dlq = t.broker.topics.get("%DLQ%G1").unwrap();
    assert_eq!((dlq.read_queue_nums, dlq.perm), (1, 6));
    assert_eq!(t.read("%RETRY%G1", 0, 2).len(), 0);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_limit_counts_for_new_clients_only_and_minus_one_means_the_dlq() {
    let t = start(|_| {}).await;
    set_group(&t, "G2", 16, 1);
    let m = stored(&t, "T2", "x").await;
    // A client at version 63 (the C++ client) gets the group's 16: a retry.
    let mut old = send_back_cmd(m.commit_log_offset, "G2", 0, Some(0));
    old.version = 63;
    assert_eq!(t.call(old).await.code, response::SUCCESS);
    // A current client's maxReconsumeTimes 0 counts: straight to the DLQ.
    let now = send_back_cmd(m.commit_log_offset, "G2", 0, Some(0));
    assert_eq!(t.call(now).await.code, response::SUCCESS);
    assert_eq!(t.read("%DLQ%G2", 0, 0).len(), 1);
    // delayLevel -1: the DLQ whatever the count.
    let minus = send_back_cmd(m.commit_log_offset, "G2", -1, None);
    assert_eq!(t.call(minus).await.code, response::SUCCESS);
    assert_eq!(t.read("%DLQ%G2", 0, 0).len(), 2);
    assert_eq!(
        t.wait_for("%RETRY%G2", 0, 0, 1, WAIT).await.len(),
        1,
        "the old client's send-back should have been retried"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_send_backs_get_clear_errors() {
    let t = start(|c| c.auto_create_subscription_group = false).await;
    set_group(&t, "G3", 16, 1);
    // An offset where no message starts.
    let resp = t.call(send_back_cmd(987_654_321, "G3", 0, None)).await;
    assert_eq!(resp.code, response::SYSTEM_ERROR);
    assert!(
        resp.remark
            .as_deref()
            .unwrap_or("")
            .contains("look message by offset failed"),
        "{:?}",
        resp.remark
    );
    // An unknown group when groups are not created on demand.
    let m = stored(&t, "T3", "x").await;
    let resp = t
        .call(send_back_cmd(m.commit_log_offset, "nobody", 0, None))
        .await;
    assert_eq!(resp.code, response::SUBSCRIPTION_GROUP_NOT_EXIST);
    // A header without the required fields.
    let resp = t
        .call(RemotingCommand::request(
            request::CONSUMER_SEND_MSG_BACK,
            &ferromq_proto::header::NoHeader,
        ))
        .await;
    assert_ne!(resp.code, response::SUCCESS);
    // A group without retry queues: dropped, answered SUCCESS (RocketMQ's behaviour).
    set_group(&t, "G3none", 16, 0);
    let resp = t
        .call(send_back_cmd(m.commit_log_offset, "G3none", 0, None))
        .await;
    assert_eq!(resp.code, response::SUCCESS);
    assert!(t.broker.topics.get("%RETRY%G3none").is_none());
    assert!(t.broker.topics.get("%DLQ%G3none").is_none());
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_to_a_retry_topic_past_the_limit_or_under_queue_locks_go_to_the_dlq() {
    let t = start(|_| {}).await;
    set_group(&t, "G4", 3, 1);
    // The client's fallback copy: reconsumeTimes in the header, DELAY set by the client.
    let props = "RETRY_TOPIC\u{1}T4\u{2}DELAY\u{1}3\u{2}";
    let resp = t.send("%RETRY%G4", 0, "again", props, Some(3)).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert!(
        t.read("%DLQ%G4", 0, 0).is_empty(),
        "3 is not over the limit 3"
    );
    assert_eq!(t.wait_for("%RETRY%G4", 0, 0, 1, WAIT).await.len(), 1);

    let resp = t.send("%RETRY%G4", 0, "over", props, Some(4)).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let dead = t.read("%DLQ%G4", 0, 0);
    assert_eq!(dead.len(), 1);
    assert_eq!(&dead[0].body[..], b"over");
    assert_eq!(dead[0].properties.get(DELAY), Some("-1"));

    // An orderly group holding a queue lock: every retry send is a dead letter.
    let mq = ferromq_proto::body::MessageQueue::new("T4", "broker-test", 0);
    t.broker
        .locks
        .try_lock_batch("G4", &[mq].into_iter().collect(), "client-1");
    let resp = t.send("%RETRY%G4", 0, "ordered", props, Some(1)).await;
    assert_eq!(resp.code, response::SUCCESS);
    assert_eq!(t.read("%DLQ%G4", 0, 0).len(), 2);

    // A client that leaves the count in the RECONSUME_TIME property (no header field).
    let with_prop = "RETRY_TOPIC\u{1}T4\u{2}RECONSUME_TIME\u{1}9\u{2}";
    let resp = t.send("%RETRY%G5", 0, "prop", with_prop, None).await;
    assert_eq!(resp.code, response::SUBSCRIPTION_GROUP_NOT_EXIST);
    set_group(&t, "G5", 3, 1);
    let resp = t.send("%RETRY%G5", 0, "prop", with_prop, None).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let dead = t.read("%DLQ%G5", 0, 0);
    assert_eq!(dead.len(), 1, "RECONSUME_TIME 9 is over the limit 3");
    assert_eq!(dead[0].reconsume_times, 9);

    // A retry topic of a group that does not exist.
    let resp = t.send("%RETRY%ghost", 0, "x", props, Some(1)).await;
    assert_eq!(resp.code, response::SUBSCRIPTION_GROUP_NOT_EXIST);
    t.stop().await;
}
