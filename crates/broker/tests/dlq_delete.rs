//! DELETE_DLQ_MESSAGE and GET_DLQ_TOMBSTONES (FerroMQ's 9110-9111) on an in-process broker: a
//! deleted dead letter is left out of pulls, VIEW_MESSAGE_BY_ID and QUERY_MESSAGE, stays deleted
//! across a restart, other topics are refused with clear remarks, and tombstones of messages
//! retention deleted are dropped.

mod support;

use std::time::{Duration, Instant, SystemTime};

use ferromq_proto::body::dlq::{DeletedDeadLetter, DlqTombstoneTable};
use ferromq_proto::body::JsonBody;
use ferromq_proto::codes::{request, response};
use ferromq_proto::header::NoHeader;
use ferromq_proto::headers::{
    ConsumerSendMsgBackRequestHeader, PullMessageResponseHeader, QueryMessageRequestHeader,
    SendMessageResponseHeader, ViewMessageRequestHeader,
};
use ferromq_proto::message::properties::UNIQ_KEY;
use ferromq_proto::message::record::decode_records;
use ferromq_proto::message::MessageExt;
use ferromq_proto::RemotingCommand;
use support::{pull_request, start, start_in, TestBroker};

const DLQ: &str = "%DLQ%GD";

/// Stores `body` in `topic` and dead-letters it for group GD (send-back with delay level -1).
async fn dead_letter(t: &TestBroker, topic: &str, body: &str) -> MessageExt {
    let resp = t.send(topic, 0, body, "KEYS\u{1}k\u{2}", None).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    let stored = t.read(topic, 0, h.queue_offset).remove(0);
    let before = t.broker.store.max_offset_in_queue(DLQ, 0).max(0);
    let back = ConsumerSendMsgBackRequestHeader {
        offset: stored.commit_log_offset,
        group: "GD".into(),
        delay_level: -1,
        origin_msg_id: None,
        origin_topic: None,
        unit_mode: Some(false),
        max_reconsume_times: None,
    };
    let resp = t
        .call(RemotingCommand::request(
            request::CONSUMER_SEND_MSG_BACK,
            &back,
        ))
        .await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let got = t.read(DLQ, 0, before);
    assert_eq!(got.len(), 1, "the dead letter of {body} is not in {DLQ}");
    got.into_iter().next().unwrap()
}

fn delete_cmd(topic: &str, offset: &str) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request::DELETE_DLQ_MESSAGE, &NoHeader);
    cmd.ext_fields.insert("topic", topic.to_owned());
    cmd.ext_fields.insert("commitLogOffset", offset.to_owned());
    cmd
}

/// Pulls `DLQ` from `offset` as a consumer would: (code, bodies, nextBeginOffset).
async fn pull(t: &TestBroker, offset: i64, max: i32) -> (i32, Vec<String>, i64) {
    let mut cmd = pull_request(DLQ, "CG_reader");
    cmd.ext_fields.insert("queueOffset", offset.to_string());
    cmd.ext_fields.insert("maxMsgNums", max.to_string());
    let resp = t.call(cmd).await;
    let h: PullMessageResponseHeader = resp.decode_header().unwrap();
    let bodies = if resp.code == response::SUCCESS {
        decode_records(bytes::Bytes::from(resp.body.to_vec()))
            .unwrap()
            .iter()
            .map(|m| String::from_utf8_lossy(&m.body).into_owned())
            .collect()
    } else {
        Vec::new()
    };
    (resp.code, bodies, h.next_begin_offset)
}

async fn tombstones(t: &TestBroker) -> DlqTombstoneTable {
    let resp = t
        .call(RemotingCommand::request(
            request::GET_DLQ_TOMBSTONES,
            &NoHeader,
        ))
        .await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    DlqTombstoneTable::from_json(&resp.body).unwrap()
}

async fn view(t: &TestBroker, offset: i64) -> RemotingCommand {
    let h = ViewMessageRequestHeader {
        topic: Some(DLQ.into()),
        offset,
    };
    t.call(RemotingCommand::request(request::VIEW_MESSAGE_BY_ID, &h))
        .await
}

async fn by_unique_key(t: &TestBroker, key: &str) -> RemotingCommand {
    let h = QueryMessageRequestHeader {
        topic: DLQ.into(),
        key: key.into(),
        max_num: 32,
        begin_timestamp: 0,
        end_timestamp: i64::MAX,
        unique_key_query: Some(true),
    };
    t.call(RemotingCommand::request(request::QUERY_MESSAGE, &h))
        .await
}

/// What a broker shows once `dead[1]` (of three) is deleted.
async fn check(t: &TestBroker, dead: &[MessageExt]) {
    let (code, bodies, next) = pull(t, 0, 32).await;
    assert_eq!(code, response::SUCCESS);
    assert_eq!(bodies, ["dl-0", "dl-2"]);
    assert_eq!(next, 3);
    // A pull that finds only the deleted one moves past it.
    let (code, bodies, next) = pull(t, 1, 1).await;
    assert_eq!(
        (code, bodies.len(), next),
        (response::PULL_RETRY_IMMEDIATELY, 0, 2)
    );
    let gone = view(t, dead[1].commit_log_offset).await;
    assert_eq!(gone.code, response::SYSTEM_ERROR, "{:?}", gone.remark);
    assert_eq!(
        view(t, dead[0].commit_log_offset).await.code,
        response::SUCCESS
    );
    let key = |m: &MessageExt| m.properties.get(UNIQ_KEY).unwrap().to_owned();
    let q = by_unique_key(t, &key(&dead[1])).await;
    assert_eq!(q.code, response::QUERY_NOT_FOUND, "{:?}", q.remark);
    assert_eq!(
        by_unique_key(t, &key(&dead[2])).await.code,
        response::SUCCESS
    );
    // The message in its first topic is not touched.
    assert_eq!(t.read("TD", 0, 0).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_dead_letter_is_left_out_everywhere_and_stays_deleted_after_a_restart() {
    let t = start(|_| {}).await;
    let mut dead = Vec::new();
    for body in ["dl-0", "dl-1", "dl-2"] {
        dead.push(dead_letter(&t, "TD", body).await);
    }
    let (code, bodies, _) = pull(&t, 0, 32).await;
    assert_eq!((code, bodies.len()), (response::SUCCESS, 3));

    let victim = &dead[1];
    let resp = t
        .call(delete_cmd(DLQ, &victim.commit_log_offset.to_string()))
        .await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let d = DeletedDeadLetter::from_json(&resp.body).unwrap();
    assert_eq!(
        (
            d.topic.as_str(),
            d.queue_id,
            d.queue_offset,
            d.already_deleted
        ),
        (DLQ, 0, victim.queue_offset, false)
    );
    assert_eq!(Some(d.msg_id.as_str()), victim.properties.get(UNIQ_KEY));
    // Twice is fine, and says so.
    let again = t
        .call(delete_cmd(DLQ, &victim.commit_log_offset.to_string()))
        .await;
    assert_eq!(again.code, response::SUCCESS);
    assert!(
        DeletedDeadLetter::from_json(&again.body)
            .unwrap()
            .already_deleted
    );

    check(&t, &dead).await;
    let listed = tombstones(&t).await;
    assert_eq!(listed.count(DLQ), 1);
    let file = t.dir.path().join("config").join("dlqTombstones.json");
    assert!(file.exists(), "the tombstones are not persisted");

    let dir = t.stop_keep_store().await;
    let t = start_in(dir, |_| {}).await;
    check(&t, &dead).await;
    assert_eq!(tombstones(&t).await, listed);

    // Deleting the topic forgets its tombstones.
    let del = RemotingCommand::request(
        request::DELETE_TOPIC_IN_BROKER,
        &ferromq_proto::headers::TopicHeader { topic: DLQ.into() },
    );
    let resp = t.call(del).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert_eq!(tombstones(&t).await.count(DLQ), 0);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_deletes_get_clear_errors() {
    let t = start(|_| {}).await;
    let dl = dead_letter(&t, "TD", "dl-x").await;
    let plain = t.read("TD", 0, 0).remove(0);
    let cases: Vec<(RemotingCommand, i32, &str)> = vec![
        (
            delete_cmd("TD", &plain.commit_log_offset.to_string()),
            response::INVALID_PARAMETER,
            "dead-letter topic",
        ),
        (
            delete_cmd("%RETRY%GD", "0"),
            response::INVALID_PARAMETER,
            "dead-letter topic",
        ),
        (
            delete_cmd(DLQ, "12x"),
            response::INVALID_PARAMETER,
            "not a number",
        ),
        (
            delete_cmd(DLQ, &(dl.commit_log_offset + 3).to_string()),
            response::NO_MESSAGE,
            "can not find message",
        ),
        (
            delete_cmd(DLQ, "999999999"),
            response::NO_MESSAGE,
            "can not find message",
        ),
        (
            // The message at this offset is in TD, not in the DLQ.
            delete_cmd(DLQ, &plain.commit_log_offset.to_string()),
            response::INVALID_PARAMETER,
            "belongs to topic TD",
        ),
        (
            delete_cmd("%DLQ%Nobody", &dl.commit_log_offset.to_string()),
            response::TOPIC_NOT_EXIST,
            "not exist",
        ),
        (
            RemotingCommand::request(request::DELETE_DLQ_MESSAGE, &NoHeader),
            response::INVALID_PARAMETER,
            "needs `topic`",
        ),
    ];
    for (cmd, code, remark) in cases {
        let resp = t.call(cmd).await;
        let got = resp.remark.clone().unwrap_or_default();
        assert_eq!(resp.code, code, "{got}");
        assert!(got.contains(remark), "`{got}` does not say `{remark}`");
    }
    assert!(tombstones(&t).await.tombstones.is_empty());
    let (_, bodies, _) = pull(&t, 0, 32).await;
    assert_eq!(bodies, ["dl-x"]);
    t.stop().await;
}

fn age_files(dir: &std::path::Path, hours: u64) {
    let then = SystemTime::now() - Duration::from_secs(hours * 3600);
    for e in std::fs::read_dir(dir).unwrap() {
        let f = std::fs::File::options()
            .write(true)
            .open(e.unwrap().path())
            .unwrap();
        f.set_modified(then).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tombstones_of_messages_retention_deleted_are_dropped() {
    let t = start(|c| {
        c.mapped_file_size_commit_log = 64 * 1024;
        c.mapped_file_size_consume_queue = 400;
        c.file_reserved_time = 1;
        c.delete_when = "99".into();
    })
    .await;
    let body = "x".repeat(1000);
    let mut dead = Vec::new();
    for i in 0..100 {
        dead.push(dead_letter(&t, "TD", &format!("{i}-{body}")).await);
    }
    for m in [&dead[0], &dead[1], &dead[99]] {
        let resp = t
            .call(delete_cmd(DLQ, &m.commit_log_offset.to_string()))
            .await;
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    }
    assert_eq!(tombstones(&t).await.count(DLQ), 3);

    t.broker.store.flush().unwrap();
    age_files(&t.dir.path().join("commitlog"), 2);
    t.broker.store.clean_expired_files_now().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let min = loop {
        let min = t.broker.store.min_offset_in_queue(DLQ, 0);
        if min > 1 {
            break min;
        }
        assert!(
            Instant::now() < deadline,
            "the DLQ's min offset never moved"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(min <= 98, "retention deleted more than expected: min {min}");
    // The next delete drops the tombstones below the queue's min offset.
    let resp = t
        .call(delete_cmd(DLQ, &dead[98].commit_log_offset.to_string()))
        .await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let left = tombstones(&t).await;
    let offsets: Vec<i64> = left.tombstones[DLQ][&0].iter().copied().collect();
    assert_eq!(offsets, [98, 99]);
    t.stop().await;
}
