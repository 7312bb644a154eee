//! Broker liveness over TCP: heartbeat expiry, connection close, heartbeats and data versions.

mod support;

use std::time::Duration;

use bytes::Bytes;
use ferromq_net::RemotingClient;
use ferromq_proto::body::{DataVersion, JsonBody};
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::{
    BrokerHeartbeatRequestHeader, BrokerIdentityHeader, QueryDataVersionResponseHeader,
};
use ferromq_proto::RemotingCommand;
use support::*;

fn json_body(topics: &[(&str, i32)], counter: i64) -> Bytes {
    register_request("C", "x", 0, "x:1", counter, topics).body
}

#[tokio::test]
async fn broker_with_short_heartbeat_timeout_expires() {
    let ns = start(|c| c.scan_not_active_broker_interval_ms = 100).await;
    // One connection per broker, as real brokers have: the sweep closes the expired one's.
    let silent = RemotingClient::default();
    let short = register_with_body(
        "C",
        "short",
        0,
        "10.0.0.1:1",
        json_body(&[("T", 4), ("S", 1)], 1),
        false,
        Some(500),
    );
    assert_eq!(call(&silent, &ns.addr, short).await.code, response::SUCCESS);
    let broker = RemotingClient::default();
    let kept = register_with_body(
        "C",
        "kept",
        0,
        "10.0.0.2:1",
        json_body(&[("T", 4)], 1),
        false,
        Some(500),
    );
    assert_eq!(call(&broker, &ns.addr, kept).await.code, response::SUCCESS);

    // "kept" heartbeats every 150 ms; "short" stays silent (its connection stays open).
    let heartbeat = RemotingCommand::request(
        request::BROKER_HEARTBEAT,
        &BrokerHeartbeatRequestHeader {
            cluster_name: "C".into(),
            broker_addr: "10.0.0.2:1".into(),
            broker_name: "kept".into(),
            broker_id: Some(0),
        },
    );
    let started = std::time::Instant::now();
    let observer = RemotingClient::default();
    loop {
        assert_eq!(
            call(&broker, &ns.addr, heartbeat.clone()).await.code,
            response::SUCCESS
        );
        if route(&observer, &ns.addr, "S").await.is_none() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "short broker did not expire"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "expired too early: {:?}",
        started.elapsed()
    );
    let t = route(&observer, &ns.addr, "T")
        .await
        .expect("kept broker still serves T");
    assert_eq!(t.broker_datas.len(), 1);
    assert_eq!(t.broker_datas[0].broker_name, "kept");
}

#[tokio::test]
async fn closing_the_registering_connection_drops_the_broker() {
    let ns = start(|_| {}).await;
    let observer = RemotingClient::default();

    let broker = RemotingClient::default();
    call(
        &broker,
        &ns.addr,
        register_request("C", "a", 0, "10.0.0.1:1", 1, &[("T", 4)]),
    )
    .await;
    call(
        &observer,
        &ns.addr,
        register_request("C", "b", 0, "10.0.0.2:1", 1, &[("T", 4)]),
    )
    .await;
    assert_eq!(
        route(&observer, &ns.addr, "T")
            .await
            .unwrap()
            .broker_datas
            .len(),
        2
    );

    broker.close_all().await;
    wait_route(&observer, &ns.addr, "T", Duration::from_secs(2), |r| {
        r.as_ref()
            .is_some_and(|r| r.broker_datas.len() == 1 && r.broker_datas[0].broker_name == "b")
    })
    .await;
}

#[tokio::test]
async fn only_the_latest_registering_connection_counts() {
    let ns = start(|_| {}).await;
    let first = RemotingClient::default();
    let second = RemotingClient::default();
    call(
        &first,
        &ns.addr,
        register_request("C", "a", 0, "10.0.0.1:1", 1, &[("T", 4)]),
    )
    .await;
    call(
        &second,
        &ns.addr,
        register_request("C", "a", 0, "10.0.0.1:1", 1, &[("T", 4)]),
    )
    .await;
    first.close_all().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(route(&second, &ns.addr, "T").await.is_some());
    second.close_all().await;
    let observer = RemotingClient::default();
    wait_route(
        &observer,
        &ns.addr,
        "T",
        Duration::from_secs(2),
        Option::is_none,
    )
    .await;
}

#[tokio::test]
async fn query_data_version_reports_changes() {
    let ns = start(|_| {}).await;
    let client = RemotingClient::default();
    call(
        &client,
        &ns.addr,
        register_request("C", "a", 0, "10.0.0.1:1", 7, &[("T", 4)]),
    )
    .await;
    let query = |counter: i64| {
        let version = DataVersion {
            counter,
            state_version: 0,
            timestamp: 1_700_000_000_000,
        };
        RemotingCommand::request(
            request::QUERY_DATA_VERSION,
            &BrokerIdentityHeader {
                broker_name: "a".into(),
                broker_addr: "10.0.0.1:1".into(),
                cluster_name: "C".into(),
                broker_id: 0,
            },
        )
        .with_body(version.to_json())
    };
    let resp = call(&client, &ns.addr, query(7)).await;
    assert_eq!(resp.code, response::SUCCESS);
    assert!(
        !resp
            .decode_header::<QueryDataVersionResponseHeader>()
            .unwrap()
            .changed
    );
    assert_eq!(DataVersion::from_json(&resp.body).unwrap().counter, 7);
    let resp = call(&client, &ns.addr, query(8)).await;
    assert!(
        resp.decode_header::<QueryDataVersionResponseHeader>()
            .unwrap()
            .changed
    );
}
