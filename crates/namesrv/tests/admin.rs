//! KV config and name server config over TCP.

mod support;

use ferromq_namesrv::kv::NAMESPACE_ORDER_TOPIC_CONFIG;
use ferromq_net::RemotingClient;
use ferromq_proto::body::{JsonBody, KVTable};
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::{
    GetKvConfigResponseHeader, KvConfigKeyHeader, NamespaceHeader, PutKvConfigRequestHeader,
};
use ferromq_proto::RemotingCommand;
use support::*;

fn put(ns: &str, key: &str, value: &str) -> RemotingCommand {
    RemotingCommand::request(
        request::PUT_KV_CONFIG,
        &PutKvConfigRequestHeader {
            namespace: ns.into(),
            key: key.into(),
            value: value.into(),
        },
    )
}

fn key_request(code: i32, ns: &str, key: &str) -> RemotingCommand {
    RemotingCommand::request(
        code,
        &KvConfigKeyHeader {
            namespace: ns.into(),
            key: key.into(),
        },
    )
}

#[tokio::test]
async fn kv_put_get_delete_and_list() {
    let ns = start(|_| {}).await;
    let client = RemotingClient::default();
    assert_eq!(
        call(&client, &ns.addr, put("NS", "k1", "v1")).await.code,
        response::SUCCESS
    );
    assert_eq!(
        call(&client, &ns.addr, put("NS", "k2", "v2")).await.code,
        response::SUCCESS
    );

    let resp = call(
        &client,
        &ns.addr,
        key_request(request::GET_KV_CONFIG, "NS", "k1"),
    )
    .await;
    assert_eq!(resp.code, response::SUCCESS);
    assert_eq!(
        resp.decode_header::<GetKvConfigResponseHeader>()
            .unwrap()
            .value
            .as_deref(),
        Some("v1")
    );

    let list = RemotingCommand::request(
        request::GET_KVLIST_BY_NAMESPACE,
        &NamespaceHeader {
            namespace: "NS".into(),
        },
    );
    let resp = call(&client, &ns.addr, list.clone()).await;
    assert_eq!(KVTable::from_json(&resp.body).unwrap().table.len(), 2);

    let persisted = std::fs::read_to_string(ns.dir.path().join("kvConfig.json")).unwrap();
    assert!(persisted.contains("\"k2\": \"v2\""), "{persisted}");

    assert_eq!(
        call(
            &client,
            &ns.addr,
            key_request(request::DELETE_KV_CONFIG, "NS", "k1")
        )
        .await
        .code,
        response::SUCCESS
    );
    let resp = call(
        &client,
        &ns.addr,
        key_request(request::GET_KV_CONFIG, "NS", "k1"),
    )
    .await;
    assert_eq!(resp.code, response::QUERY_NOT_FOUND);
    call(
        &client,
        &ns.addr,
        key_request(request::DELETE_KV_CONFIG, "NS", "k2"),
    )
    .await;
    assert_eq!(
        call(&client, &ns.addr, list).await.code,
        response::QUERY_NOT_FOUND
    );

    // Missing required header field: SYSTEM_ERROR naming it.
    let resp = call(
        &client,
        &ns.addr,
        RemotingCommand::bare_request(request::GET_KV_CONFIG),
    )
    .await;
    assert_eq!(resp.code, response::SYSTEM_ERROR);
    assert!(resp.remark.unwrap().contains("namespace"));
}

#[tokio::test]
async fn kv_survives_restart() {
    let first = start(|_| {}).await;
    let client = RemotingClient::default();
    call(&client, &first.addr, put("NS", "k", "v")).await;
    let path = first.dir.path().join("kvConfig.json");
    let second = start(|c| c.kv_config_path = path.clone()).await;
    let resp = call(
        &client,
        &second.addr,
        key_request(request::GET_KV_CONFIG, "NS", "k"),
    )
    .await;
    assert_eq!(resp.ext_fields.get("value"), Some("v"));
}

#[tokio::test]
async fn order_topic_conf_when_order_messages_are_enabled() {
    let ns = start(|c| c.order_message_enable = true).await;
    let client = RemotingClient::default();
    call(
        &client,
        &ns.addr,
        put(NAMESPACE_ORDER_TOPIC_CONFIG, "T", "broker-a:4"),
    )
    .await;
    let resp = call(
        &client,
        &ns.addr,
        register_request("C", "broker-a", 0, "10.0.0.1:1", 1, &[("T", 4)]),
    )
    .await;
    let table = KVTable::from_json(&resp.body).unwrap().table;
    assert_eq!(table.get("T").map(String::as_str), Some("broker-a:4"));
    let route = route(&client, &ns.addr, "T").await.unwrap();
    assert_eq!(route.order_topic_conf.as_deref(), Some("broker-a:4"));
}

#[tokio::test]
async fn namesrv_config_get_and_update() {
    let ns = start(|_| {}).await;
    let client = RemotingClient::default();
    let resp = call(
        &client,
        &ns.addr,
        RemotingCommand::bare_request(request::GET_NAMESRV_CONFIG),
    )
    .await;
    let text = String::from_utf8(resp.body.to_vec()).unwrap();
    assert!(text.contains("orderMessageEnable=false\n"), "{text}");

    let update = RemotingCommand::bare_request(request::UPDATE_NAMESRV_CONFIG)
        .with_body(&b"orderMessageEnable=true\n"[..]);
    assert_eq!(
        call(&client, &ns.addr, update).await.code,
        response::SUCCESS
    );
    assert!(ns.namesrv.config().order_message_enable);

    let forbidden = RemotingCommand::bare_request(request::UPDATE_NAMESRV_CONFIG)
        .with_body(&b"kvConfigPath=/tmp/x\n"[..]);
    assert_eq!(
        call(&client, &ns.addr, forbidden).await.code,
        response::NO_PERMISSION
    );
    let bad = RemotingCommand::bare_request(request::UPDATE_NAMESRV_CONFIG)
        .with_body(&b"enableTopicList=maybe\n"[..]);
    assert_eq!(
        call(&client, &ns.addr, bad).await.code,
        response::INVALID_PARAMETER
    );
    assert!(ns.namesrv.config().enable_topic_list);
}
