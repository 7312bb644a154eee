//! What a consumer group's config (`mqadmin updateSubGroup`) does on an in-process broker:
//! `consumeEnable=false` and `consumeBroadcastEnable=false` refuse pulls with NO_PERMISSION,
//! and deleting a group with `cleanOffset` drops its committed offsets.

mod support;

use ferromq_proto::body::{
    ConsumerData, HeartbeatData, JsonBody, MessageModel, SubscriptionGroupConfig,
};
use ferromq_proto::codes::{request, response};
use ferromq_proto::header::NoHeader;
use ferromq_proto::headers::{pull_flag, PullMessageRequestHeader};
use ferromq_proto::RemotingCommand;
use support::{start, TestBroker};

fn pull(group: &str, topic: &str) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id: 0,
        queue_offset: 0,
        max_msg_nums: 32,
        sys_flag: pull_flag::SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
    };
    RemotingCommand::request(request::PULL_MESSAGE, &header)
}

async fn heartbeat(t: &TestBroker, group: &str, model: MessageModel) {
    let data = HeartbeatData {
        client_id: "127.0.0.1@test".into(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            message_model: model,
            ..Default::default()
        }],
        ..Default::default()
    };
    let cmd = RemotingCommand::request(request::HEART_BEAT, &NoHeader).with_body(data.to_json());
    assert_eq!(t.call(cmd).await.code, response::SUCCESS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_switches_refuse_pulls() {
    let t = start(|_| {}).await;
    assert_eq!(t.send("TG", 0, "m", "", None).await.code, response::SUCCESS);

    let mut off = SubscriptionGroupConfig::new("G_off");
    off.consume_enable = false;
    t.broker.groups.upsert(off).unwrap();
    let resp = t.call(pull("G_off", "TG")).await;
    assert_eq!(resp.code, response::NO_PERMISSION);
    assert!(resp
        .remark
        .unwrap()
        .contains("subscription group no permission"));

    let mut no_broadcast = SubscriptionGroupConfig::new("G_nb");
    no_broadcast.consume_broadcast_enable = false;
    t.broker.groups.upsert(no_broadcast).unwrap();
    heartbeat(&t, "G_nb", MessageModel::Broadcasting).await;
    let resp = t.call(pull("G_nb", "TG")).await;
    assert_eq!(resp.code, response::NO_PERMISSION);
    assert!(resp
        .remark
        .unwrap()
        .contains("can not consume by broadcast way"));
    // The same group consumed by clustering is served.
    heartbeat(&t, "G_nb", MessageModel::Clustering).await;
    assert_eq!(t.call(pull("G_nb", "TG")).await.code, response::SUCCESS);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_group_with_clean_offset_drops_its_offsets() {
    let t = start(|_| {}).await;
    t.broker
        .groups
        .upsert(SubscriptionGroupConfig::new("G_del"))
        .unwrap();
    t.broker
        .groups
        .upsert(SubscriptionGroupConfig::new("G_keep"))
        .unwrap();
    t.broker.offsets.commit("G_del", "TD", 0, 5);
    t.broker.offsets.commit("G_keep", "TD", 0, 7);
    let delete = |group: &str, clean: bool| {
        let mut cmd = RemotingCommand::request(request::DELETE_SUBSCRIPTIONGROUP, &NoHeader);
        cmd.ext_fields.insert("groupName", group.to_owned());
        cmd.ext_fields.insert("cleanOffset", clean.to_string());
        cmd
    };
    assert_eq!(
        t.call(delete("G_keep", false)).await.code,
        response::SUCCESS
    );
    assert_eq!(t.broker.offsets.query("G_keep", "TD", 0), Some(7));
    assert_eq!(t.call(delete("G_del", true)).await.code, response::SUCCESS);
    assert_eq!(t.broker.offsets.query("G_del", "TD", 0), None);
    assert!(t.broker.groups.get("G_del").is_none());
    t.stop().await;
}
