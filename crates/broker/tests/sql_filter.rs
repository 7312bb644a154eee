//! SQL92 subscriptions on an in-process broker: pulls carry only the messages whose properties
//! match (counted in the responses), with the expression in the pull or from the heartbeat; a
//! changed expression takes effect at once; bad expressions and a broker without
//! `enablePropertyFilter` are refused with RocketMQ's codes.

mod support;

use ferromq_proto::body::{
    CheckClientRequestBody, ConsumerData, ExpressionType, HeartbeatData, JsonBody, SubscriptionData,
};
use ferromq_proto::codes::{request, response};
use ferromq_proto::header::NoHeader;
use ferromq_proto::headers::{pull_flag, PullMessageRequestHeader, PullMessageResponseHeader};
use ferromq_proto::message::record::decode_records;
use ferromq_proto::RemotingCommand;
use support::{start, TestBroker};

const TOPIC: &str = "TSQL";

fn pull(group: &str, topic: &str, offset: i64, sql: Option<&str>) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id: 0,
        queue_offset: offset,
        max_msg_nums: 64,
        sys_flag: if sql.is_some() {
            pull_flag::SUBSCRIPTION
        } else {
            0
        },
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: sql.map(str::to_owned),
        sub_version: 1,
        expression_type: sql.map(|_| "SQL92".to_owned()),
        max_msg_bytes: None,
    };
    RemotingCommand::request(request::PULL_MESSAGE, &header)
}

/// Every body a group gets from queue 0 of [`TOPIC`], pulling to the end; also how many
/// messages the responses carried in all.
async fn pull_all(t: &TestBroker, group: &str, sql: Option<&str>) -> (Vec<String>, usize) {
    let mut offset = 0;
    let mut bodies = Vec::new();
    let mut carried = 0;
    loop {
        let resp = t.call(pull(group, TOPIC, offset, sql)).await;
        let h: PullMessageResponseHeader = resp.decode_header().unwrap();
        match resp.code {
            response::SUCCESS => {
                let msgs = decode_records(resp.body.clone()).unwrap();
                carried += msgs.len();
                bodies.extend(
                    msgs.iter()
                        .map(|m| String::from_utf8_lossy(&m.body).into_owned()),
                );
            }
            response::PULL_RETRY_IMMEDIATELY => {}
            response::PULL_NOT_FOUND => return (bodies, carried),
            other => panic!("pull answered {other}: {:?}", resp.remark),
        }
        assert!(h.next_begin_offset > offset, "no progress at {offset}");
        offset = h.next_begin_offset;
    }
}

/// 40 messages: `a` = i, `b` = x|y, `c` = p|q|r|s, `d` only on odd ones, tags A|B|C.
async fn load(t: &TestBroker) {
    for i in 0..40 {
        let b = if i % 2 == 0 { "x" } else { "y" };
        let c = ["p", "q", "r", "s"][i % 4];
        let tag = ["A", "B", "C"][i % 3];
        let mut props = format!("a\u{1}{i}\u{2}b\u{1}{b}\u{2}c\u{1}{c}\u{2}TAGS\u{1}{tag}\u{2}");
        if i % 2 == 1 {
            props.push_str("d\u{1}here\u{2}");
        }
        let resp = t.send(TOPIC, 0, &format!("m{i}"), &props, None).await;
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    }
}

fn expect(pred: impl Fn(usize) -> bool) -> Vec<String> {
    (0..40)
        .filter(|&i| pred(i))
        .map(|i| format!("m{i}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_carry_only_matching_messages() {
    let t = start(|c| c.enable_property_filter = true).await;
    load(&t).await;
    type Case = (&'static str, Box<dyn Fn(usize) -> bool>);
    let cases: [Case; 5] = [
        ("a > 5 AND b = 'x'", Box::new(|i| i > 5 && i % 2 == 0)),
        ("c IN ('p','q')", Box::new(|i| i % 4 < 2)),
        ("d IS NULL", Box::new(|i| i % 2 == 0)),
        ("TAGS IN ('A','B')", Box::new(|i| i % 3 < 2)),
        (
            "a BETWEEN 10 AND 12 OR NOT (b = 'x')",
            Box::new(|i| (10..=12).contains(&i) || i % 2 == 1),
        ),
    ];
    for (sql, pred) in cases {
        let (got, carried) = pull_all(&t, "G_sql", Some(sql)).await;
        let want = expect(pred);
        assert_eq!(got, want, "{sql}");
        assert_eq!(
            carried,
            want.len(),
            "{sql}: the responses carried other messages"
        );
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_subscription_filters_and_a_new_expression_applies_at_once() {
    let t = start(|c| c.enable_property_filter = true).await;
    load(&t).await;
    let subscribe = |sql: &str| {
        let data = HeartbeatData {
            client_id: "127.0.0.1@sql".into(),
            consumer_data_set: vec![ConsumerData {
                group_name: "G_hb".into(),
                subscription_data_set: vec![SubscriptionData {
                    topic: TOPIC.into(),
                    sub_string: sql.into(),
                    expression_type: ExpressionType::Sql92,
                    sub_version: 1,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        RemotingCommand::request(request::HEART_BEAT, &NoHeader).with_body(data.to_json())
    };
    assert_eq!(t.call(subscribe("a < 3")).await.code, response::SUCCESS);
    assert_eq!(pull_all(&t, "G_hb", None).await.0, expect(|i| i < 3));
    assert_eq!(t.call(subscribe("a >= 38")).await.code, response::SUCCESS);
    assert_eq!(pull_all(&t, "G_hb", None).await.0, expect(|i| i >= 38));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_expressions_and_a_broker_without_property_filters_are_refused() {
    let on = start(|c| c.enable_property_filter = true).await;
    load(&on).await;
    let resp = on.call(pull("G_bad", TOPIC, 0, Some("a > AND"))).await;
    assert_eq!(resp.code, response::SUBSCRIPTION_PARSE_FAILED);
    assert!(resp.remark.unwrap().contains("a > AND"));
    let check = |sql: &str| {
        let body = CheckClientRequestBody {
            client_id: "c".into(),
            group: "G".into(),
            namespace: None,
            subscription_data: SubscriptionData {
                topic: TOPIC.into(),
                sub_string: sql.into(),
                expression_type: ExpressionType::Sql92,
                ..Default::default()
            },
        };
        RemotingCommand::request(request::CHECK_CLIENT_CONFIG, &NoHeader).with_body(body.to_json())
    };
    assert_eq!(on.call(check("a = 'x'")).await.code, response::SUCCESS);
    let bad = on.call(check("a = = 'x'")).await;
    assert_eq!(bad.code, response::SUBSCRIPTION_PARSE_FAILED);
    assert!(!bad.remark.unwrap_or_default().is_empty());
    on.stop().await;

    let off = start(|_| {}).await;
    load(&off).await;
    for resp in [
        off.call(pull("G_off", TOPIC, 0, Some("a > 1"))).await,
        off.call(check("a > 1")).await,
    ] {
        assert_eq!(resp.code, response::SYSTEM_ERROR);
        assert!(resp
            .remark
            .unwrap()
            .contains("does not support consumer to filter message by SQL92"));
    }
    off.stop().await;
}
