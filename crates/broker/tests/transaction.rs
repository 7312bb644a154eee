//! Transactional messages on an in-process broker, driven the way a Java producer does it on
//! the wire (frames built from the protocol notes): a half message (SEND_MESSAGE_V2 with
//! `TRAN_MSG=true`, `PGROUP` and sysFlag PREPARED), END_TRANSACTION one-way with the half
//! message's offsets, and the broker's CHECK_TRANSACTION_STATE to the producer's connection.

mod support;

use std::sync::Arc;
use std::time::Duration;

use ferromq_net::{BoxFuture, ConnectionHandle, Handler, RemotingClient};
use ferromq_proto::body::{HeartbeatData, JsonBody, ProducerData};
use ferromq_proto::codes::{request, response};
use ferromq_proto::header::NoHeader;
use ferromq_proto::headers::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader,
};
use ferromq_proto::message::msg_id::decode_offset_msg_id;
use ferromq_proto::message::record::decode_record;
use ferromq_proto::message::sys_flag;
use ferromq_proto::RemotingCommand;
use support::{start, TestBroker};
use tokio::sync::mpsc;

const GROUP: &str = "PG_tx";

/// A half message as Java's `TransactionMQProducer` sends it.
fn half_send(topic: &str, body: &str, uniq: &str) -> RemotingCommand {
    let props = format!(
        "TRAN_MSG\u{1}true\u{2}PGROUP\u{1}{GROUP}\u{2}KEYS\u{1}k-{body}\u{2}UNIQ_KEY\u{1}{uniq}\u{2}WAIT\u{1}true\u{2}"
    );
    let header = SendMessageRequestHeaderV2 {
        a: GROUP.into(),
        b: topic.into(),
        c: "TBW102".into(),
        d: 4,
        e: 1,
        f: sys_flag::TRANSACTION_PREPARED_TYPE,
        g: ferromq_common::now_millis(),
        h: 0,
        i: Some(props),
        j: Some(0),
        k: Some(false),
        l: None,
        m: Some(false),
        n: Some("broker-test".into()),
    };
    RemotingCommand::request(request::SEND_MESSAGE_V2, &header).with_body(body.as_bytes().to_vec())
}

struct Half {
    queue_offset: i64,
    commit_log_offset: i64,
    uniq: String,
}

async fn send_half(t: &TestBroker, topic: &str, body: &str, uniq: &str) -> Half {
    let resp = t.call(half_send(topic, body, uniq)).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(h.transaction_id.as_deref(), Some(uniq));
    assert_eq!(h.queue_id, 1, "the response names the real queue");
    let (_, commit_log_offset) = decode_offset_msg_id(&h.msg_id).unwrap();
    Half {
        queue_offset: h.queue_offset,
        commit_log_offset,
        uniq: uniq.into(),
    }
}

fn end(half: &Half, action: i32, from_check: bool) -> RemotingCommand {
    let header = EndTransactionRequestHeader {
        topic: Some("TX".into()),
        producer_group: GROUP.into(),
        tran_state_table_offset: half.queue_offset,
        commit_log_offset: half.commit_log_offset,
        commit_or_rollback: action,
        from_transaction_check: Some(from_check),
        msg_id: Some(half.uniq.clone()),
        transaction_id: Some(half.uniq.clone()),
    };
    RemotingCommand::request(request::END_TRANSACTION, &header)
}

fn bodies(t: &TestBroker) -> Vec<String> {
    t.read("TX", 1, 0)
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_rollback_and_bad_end_transactions() {
    let t = start(|_| {}).await;
    let a = send_half(&t, "TX", "a", "ID-A").await;
    let b = send_half(&t, "TX", "b", "ID-B").await;
    let c = send_half(&t, "TX", "c", "ID-C").await;
    assert!(bodies(&t).is_empty(), "half messages must be invisible");

    assert_eq!(t.call(end(&a, 8, false)).await.code, response::SUCCESS);
    assert_eq!(t.call(end(&b, 12, false)).await.code, response::SUCCESS);
    // Unknown: nothing happens.
    assert_eq!(t.call(end(&c, 0, false)).await.code, response::SUCCESS);
    assert_eq!(bodies(&t), ["a"]);
    let committed = &t.read("TX", 1, 0)[0];
    assert_eq!(
        sys_flag::transaction_type(committed.sys_flag),
        sys_flag::TRANSACTION_COMMIT_TYPE
    );
    assert_eq!(committed.properties.get("UNIQ_KEY"), Some("ID-A"));
    assert_eq!(committed.properties.get("KEYS"), Some("k-a"));
    assert_eq!(committed.prepared_transaction_offset, a.commit_log_offset);

    // A second commit, or a commit after a rollback, is refused and delivers nothing.
    let again = t.call(end(&a, 8, true)).await;
    assert_eq!(again.code, response::SYSTEM_ERROR);
    assert!(again.remark.unwrap().contains("already resolved"));
    assert_eq!(t.call(end(&b, 8, true)).await.code, response::SYSTEM_ERROR);
    assert_eq!(bodies(&t), ["a"]);

    // Offsets that name no half message, a wrong group, a bad action.
    let bogus = Half {
        queue_offset: 99,
        commit_log_offset: a.commit_log_offset,
        uniq: "x".into(),
    };
    assert_eq!(
        t.call(end(&bogus, 8, false)).await.code,
        response::SYSTEM_ERROR
    );
    let nowhere = Half {
        queue_offset: 0,
        commit_log_offset: 123_456_789,
        uniq: "x".into(),
    };
    assert_eq!(
        t.call(end(&nowhere, 8, false)).await.code,
        response::SYSTEM_ERROR
    );
    let mut wrong_group = end(&c, 8, false);
    wrong_group
        .ext_fields
        .insert("producerGroup", "someone-else".to_owned());
    assert_eq!(t.call(wrong_group).await.code, response::SYSTEM_ERROR);
    assert_ne!(t.call(end(&c, 5, false)).await.code, response::SUCCESS);
    assert_eq!(bodies(&t), ["a"]);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_message_with_a_bad_delay_level_is_refused_at_send() {
    let t = start(|_| {}).await;
    let mut cmd = half_send("TX", "d", "ID-D");
    let props = cmd.ext_fields.get("i").unwrap().to_owned();
    cmd.ext_fields
        .insert("i", format!("{props}DELAY\u{1}-1\u{2}"));
    let resp = t.call(cmd).await;
    assert_eq!(resp.code, response::MESSAGE_ILLEGAL, "{:?}", resp.remark);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_transaction_message_refuses_half_messages() {
    let t = start(|c| c.reject_transaction_message = true).await;
    let resp = t.call(half_send("TX", "a", "ID-R")).await;
    assert_eq!(resp.code, response::NO_PERMISSION);
    assert!(resp
        .remark
        .unwrap()
        .contains("transaction message is forbidden"));
    t.stop().await;
}

/// A producer connection that answers the broker's checks at once, as Java's producer does
/// (one-way END_TRANSACTION on the connection the check came on): commit for `commit-me`,
/// rollback for `roll-me`, nothing for anything else; every check is also recorded.
struct Checks(mpsc::UnboundedSender<(String, CheckTransactionStateRequestHeader, i32)>);

impl Handler for Checks {
    fn handle(
        &self,
        conn: ConnectionHandle,
        req: RemotingCommand,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        assert_eq!(req.code, request::CHECK_TRANSACTION_STATE);
        let h: CheckTransactionStateRequestHeader = req.decode_header().unwrap();
        let (msg, _) = decode_record(&req.body).unwrap();
        let body = String::from_utf8_lossy(&msg.body).into_owned();
        let uniq = msg.properties.get("UNIQ_KEY").unwrap().to_owned();
        let action = match body.as_str() {
            "commit-me" => 8,
            "roll-me" => 12,
            _ => 0,
        };
        if action != 0 {
            let copy = Half {
                queue_offset: h.tran_state_table_offset,
                commit_log_offset: h.commit_log_offset,
                uniq,
            };
            conn.send_oneway(end(&copy, action, true)).unwrap();
        }
        assert_eq!(msg.topic, "TX", "the check carries the real topic");
        assert_eq!(msg.queue_id, 1);
        let checks: i32 = msg
            .properties
            .get("TRANSACTION_CHECK_TIMES")
            .unwrap()
            .parse()
            .unwrap();
        let _ = self.0.send((body, h, checks));
        Box::pin(async { None })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unresolved_half_messages_are_checked_back_and_discarded_after_the_last_check() {
    let t = start(|c| {
        c.transaction_timeout = 200;
        c.transaction_check_interval = 100;
        c.transaction_check_max = 3;
    })
    .await;
    let (tx, mut checks) = mpsc::unbounded_channel();
    let producer = RemotingClient::new(Arc::new(Checks(tx)));
    let heartbeat = HeartbeatData {
        client_id: "127.0.0.1@tx-test".into(),
        producer_data_set: vec![ProducerData {
            group_name: GROUP.into(),
        }],
        ..Default::default()
    };
    let hb =
        RemotingCommand::request(request::HEART_BEAT, &NoHeader).with_body(heartbeat.to_json());
    let resp = producer
        .invoke(&t.addr, hb, support::TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS);

    send_half(&t, "TX", "commit-me", "ID-1").await;
    send_half(&t, "TX", "roll-me", "ID-2").await;
    send_half(&t, "TX", "ignore-me", "ID-3").await;
    // The ignored one is checked transactionCheckMax times, then discarded.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while t.read("TRANS_CHECK_MAX_TIME_TOPIC", 0, 0).is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "never discarded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let discarded = t.read("TRANS_CHECK_MAX_TIME_TOPIC", 0, 0);
    let mut seen = Vec::new();
    while let Ok((body, h, n)) = checks.try_recv() {
        assert_eq!(h.bname.as_deref(), Some("broker-test"));
        seen.push((body, n));
    }
    assert_eq!(discarded.len(), 1, "{discarded:?} after checks {seen:?}");
    assert_eq!(&discarded[0].body[..], b"ignore-me");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        bodies(&t),
        ["commit-me"],
        "exactly the committed message is delivered"
    );
    let ignored: Vec<i32> = seen
        .iter()
        .filter(|(b, _)| b == "ignore-me")
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(
        ignored,
        [1, 2, 3],
        "checks of the unanswered message: {seen:?}"
    );
    assert!(seen.iter().any(|(b, _)| b == "commit-me"), "{seen:?}");
    // Nothing is checked any more.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        checks.try_recv().is_err(),
        "resolved transactions were checked again"
    );
    t.stop().await;
}
