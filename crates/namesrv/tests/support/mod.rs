//! Shared harness: a real name server on 127.0.0.1:0 with its KV file in a temp dir.

#![allow(dead_code)]

use std::time::Duration;

use bytes::Bytes;
use ferromq_common::hash::crc32_masked;
use ferromq_namesrv::{Namesrv, NamesrvConfig};
use ferromq_net::RemotingClient;
use ferromq_proto::body::{DataVersion, JsonBody, RegisterBrokerBody, TopicConfig, TopicRouteData};
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::{GetRouteInfoRequestHeader, RegisterBrokerRequestHeader};
use ferromq_proto::RemotingCommand;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const TIMEOUT: Duration = Duration::from_secs(3);

pub struct TestServer {
    pub addr: String,
    pub namesrv: Namesrv,
    pub dir: tempfile::TempDir,
    stop: CancellationToken,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts a name server; `tweak` adjusts the config (the KV path is already in a temp dir).
pub async fn start(tweak: impl FnOnce(&mut NamesrvConfig)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = NamesrvConfig {
        kv_config_path: dir.path().join("kvConfig.json"),
        ..Default::default()
    };
    tweak(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let namesrv = Namesrv::new(config).unwrap();
    let stop = CancellationToken::new();
    let server = namesrv.clone();
    let token = stop.clone();
    tokio::spawn(async move { server.serve(listener, token).await });
    TestServer {
        addr,
        namesrv,
        dir,
        stop,
    }
}

pub async fn call(client: &RemotingClient, addr: &str, cmd: RemotingCommand) -> RemotingCommand {
    client.invoke(addr, cmd, TIMEOUT).await.unwrap()
}

/// A REGISTER_BROKER request as a Java broker sends it (JSON body, crc filled in).
pub fn register_request(
    cluster: &str,
    broker: &str,
    id: i64,
    addr: &str,
    counter: i64,
    topics: &[(&str, i32)],
) -> RemotingCommand {
    let mut body = RegisterBrokerBody::default();
    let wrapper = &mut body.topic_config_serialize_wrapper;
    wrapper.data_version = DataVersion {
        counter,
        state_version: 0,
        timestamp: 1_700_000_000_000,
    };
    for (topic, queues) in topics {
        let mut config = TopicConfig::new(*topic);
        config.read_queue_nums = *queues;
        config.write_queue_nums = *queues;
        wrapper
            .topic_config_table
            .insert((*topic).to_owned(), config);
    }
    let bytes = body.to_json();
    register_with_body(cluster, broker, id, addr, Bytes::from(bytes), false, None)
}

pub fn register_with_body(
    cluster: &str,
    broker: &str,
    id: i64,
    addr: &str,
    body: Bytes,
    compressed: bool,
    heartbeat_timeout_millis: Option<i64>,
) -> RemotingCommand {
    let header = RegisterBrokerRequestHeader {
        broker_name: broker.into(),
        broker_addr: addr.into(),
        cluster_name: cluster.into(),
        ha_server_addr: format!("{addr}-ha"),
        broker_id: id,
        heartbeat_timeout_millis,
        enable_acting_master: Some(false),
        compressed: Some(compressed),
        body_crc32: Some(crc32_masked(&body)),
    };
    RemotingCommand::request(request::REGISTER_BROKER, &header).with_body(body)
}

pub fn route_request(topic: &str) -> RemotingCommand {
    RemotingCommand::request(
        request::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: topic.into(),
            accept_standard_json_only: None,
        },
    )
}

/// The route of `topic`, or `None` on TOPIC_NOT_EXIST.
pub async fn route(client: &RemotingClient, addr: &str, topic: &str) -> Option<TopicRouteData> {
    let resp = call(client, addr, route_request(topic)).await;
    match resp.code {
        response::SUCCESS => Some(TopicRouteData::from_json(&resp.body).unwrap()),
        response::TOPIC_NOT_EXIST => None,
        other => panic!("unexpected code {other}: {:?}", resp.remark),
    }
}

/// Polls until `topic`'s route satisfies `done`, failing after `limit`.
pub async fn wait_route(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    limit: Duration,
    done: impl Fn(&Option<TopicRouteData>) -> bool,
) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let r = route(client, addr, topic).await;
        if done(&r) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "route of {topic} still {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
