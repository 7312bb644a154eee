//! UPDATE_AND_CREATE_TOPIC_LIST (18) on an in-process broker: every listed topic is created with
//! one request and survives a restart; `+key` attributes are stored without the sign; a list
//! with one bad topic creates none; under ACL 2.0 the request needs Create on every topic.

mod support;

use ferromq_proto::acl::sign;
use ferromq_proto::body::{AclInfo, CreateTopicListRequestBody, JsonBody, TopicConfig, UserInfo};
use ferromq_proto::codes::{request, response};
use ferromq_proto::header::NoHeader;
use ferromq_proto::RemotingCommand;
use support::{start, start_in};

fn topic(name: &str, queues: i32) -> TopicConfig {
    TopicConfig {
        read_queue_nums: queues,
        write_queue_nums: queues,
        ..TopicConfig::new(name)
    }
}

fn list_request(topics: Vec<TopicConfig>) -> RemotingCommand {
    let body = CreateTopicListRequestBody {
        topic_config_list: topics,
    };
    RemotingCommand::bare_request(request::UPDATE_AND_CREATE_TOPIC_LIST).with_body(body.to_json())
}

fn ok(resp: &RemotingCommand) {
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
}

#[tokio::test]
async fn a_list_creates_every_topic_or_none() {
    let t = start(|_| {}).await;
    let mut fifo = topic("list-fifo", 4);
    fifo.attributes
        .insert("+message.type".into(), "FIFO".into());
    let topics: Vec<TopicConfig> = (0..50)
        .map(|i| topic(&format!("list-{i:02}"), 8))
        .chain([fifo])
        .collect();
    let version = t.broker.topics.snapshot().data_version;
    ok(&t.call(list_request(topics)).await);
    let after = t.broker.topics.snapshot().data_version;
    assert_eq!(after.counter, version.counter + 1, "one version bump");
    assert_eq!(t.broker.topics.get("list-49").unwrap().write_queue_nums, 8);
    let stored = t.broker.topics.get("list-fifo").unwrap();
    assert_eq!(stored.attributes.get("message.type").unwrap(), "FIFO");
    assert_eq!(stored.attributes.len(), 1);
    // A send to a listed topic is stored.
    ok(&t
        .call(support::send_request("PG_list", "list-07", "m"))
        .await);

    // One system topic or bad queue count in a list refuses the whole list.
    for bad in [topic("TBW102", 8), topic("list-bad-queues", 0)] {
        let resp = t.call(list_request(vec![topic("list-new", 8), bad])).await;
        assert_ne!(resp.code, response::SUCCESS);
        assert!(!t.broker.topics.contains("list-new"));
    }
    // A body that is not a topic list.
    let resp = t
        .call(
            RemotingCommand::bare_request(request::UPDATE_AND_CREATE_TOPIC_LIST)
                .with_body(b"{not json".to_vec()),
        )
        .await;
    assert_ne!(resp.code, response::SUCCESS);

    // The topics were written to topics.json.
    let dir = t.stop_keep_store().await;
    let t = start_in(dir, |_| {}).await;
    assert!(t.broker.topics.contains("list-00"));
    assert_eq!(t.broker.topics.get("list-fifo").unwrap().read_queue_nums, 4);
    assert_eq!(t.read("list-07", 0, 0).len(), 1);
    t.stop().await;
}

const ROOT: (&str, &str) = support::ACL2_ROOT;
const ALICE: (&str, &str) = ("alice", "aliceSecret1");

fn signed(mut cmd: RemotingCommand, who: (&str, &str)) -> RemotingCommand {
    sign(&mut cmd, who.0, who.1);
    cmd
}

fn auth_request(code: i32, field: (&str, &str), body: Vec<u8>) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(code, &NoHeader);
    cmd.ext_fields.insert_str(field.0, field.1);
    cmd.with_body(body)
}

#[tokio::test]
async fn under_acl_2_a_list_needs_create_on_every_topic() {
    let t = start(support::acl2_on).await;
    let alice = UserInfo {
        username: Some(ALICE.0.into()),
        password: Some(ALICE.1.into()),
        user_type: None,
        user_status: None,
    };
    ok(&t
        .call(signed(
            auth_request(
                request::AUTH_CREATE_USER,
                ("username", ALICE.0),
                alice.to_json(),
            ),
            ROOT,
        ))
        .await);
    let acl = AclInfo::from_json(
        br#"{"subject":"User:alice","policies":[{"entries":[
            {"resource":"Topic:ord*","actions":["Create"],"decision":"Allow"}]}]}"#,
    )
    .unwrap();
    ok(&t
        .call(signed(
            auth_request(
                request::AUTH_CREATE_ACL,
                ("subject", "User:alice"),
                acl.to_json(),
            ),
            ROOT,
        ))
        .await);

    ok(&t
        .call(signed(
            list_request(vec![topic("orders-1", 4), topic("orders-2", 4)]),
            ALICE,
        ))
        .await);
    assert!(t.broker.topics.contains("orders-2"));

    let resp = t
        .call(signed(
            list_request(vec![topic("orders-3", 4), topic("other", 4)]),
            ALICE,
        ))
        .await;
    assert_eq!(resp.code, response::NO_PERMISSION, "{:?}", resp.remark);
    let remark = resp.remark.as_deref().unwrap_or("");
    assert!(remark.contains("Topic:other (Create)"), "{remark}");
    assert!(!t.broker.topics.contains("orders-3"));
    assert!(!t.broker.topics.contains("other"));

    // Root may create any.
    ok(&t
        .call(signed(list_request(vec![topic("other", 4)]), ROOT))
        .await);
    assert!(t.broker.topics.contains("other"));
    t.stop().await;
}
