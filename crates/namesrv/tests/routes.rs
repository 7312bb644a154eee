//! Registration and route lookups against a real name server over TCP.

mod support;

use std::io::Write;

use bytes::{BufMut, Bytes, BytesMut};
use ferromq_common::hash::crc32_masked;
use ferromq_net::RemotingClient;
use ferromq_proto::body::{ClusterInfo, JsonBody, QueueData, TopicList, TopicRouteData};
use ferromq_proto::codes::{request, response};
use ferromq_proto::command::DEFAULT_MAX_FRAME;
use ferromq_proto::headers::{
    BrokerIdentityHeader, BrokerNameHeader, DeleteTopicFromNamesrvRequestHeader,
    GetTopicsByClusterRequestHeader, RegisterBrokerResponseHeader, TopicHeader,
};
use ferromq_proto::RemotingCommand;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn brokers_of(route: &TopicRouteData) -> Vec<String> {
    let mut names: Vec<String> = route
        .broker_datas
        .iter()
        .map(|b| b.broker_name.clone())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn two_brokers_of_one_cluster_share_a_topic() {
    let ns = start(|_| {}).await;
    let client = RemotingClient::default();
    for (name, addr, topics) in [
        (
            "broker-a",
            "10.0.0.1:10911",
            &[("TopicTest", 8), ("OnlyA", 4)][..],
        ),
        (
            "broker-b",
            "10.0.0.2:10911",
            &[("TopicTest", 4), ("OnlyB", 2)][..],
        ),
    ] {
        let resp = call(
            &client,
            &ns.addr,
            register_request("DefaultCluster", name, 0, addr, 1, topics),
        )
        .await;
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
        assert_eq!(resp.version, 479);
        assert_eq!(resp.language.name(), "JAVA");
        let header: RegisterBrokerResponseHeader = resp.decode_header().unwrap();
        assert_eq!(header.master_addr, None);
        assert!(
            resp.body.is_empty(),
            "no order config without orderMessageEnable"
        );
    }

    let resp = call(&client, &ns.addr, route_request("TopicTest")).await;
    assert_eq!(resp.code, response::SUCCESS);
    let text = std::str::from_utf8(&resp.body).unwrap();
    assert!(
        text.contains(r#""brokerAddrs":{"0":"10.0.0.1:10911"}"#),
        "standard JSON keys: {text}"
    );
    let route = TopicRouteData::from_json(&resp.body).unwrap();
    assert_eq!(brokers_of(&route), ["broker-a", "broker-b"]);
    let a = route
        .queue_datas
        .iter()
        .find(|q| q.broker_name == "broker-a")
        .unwrap();
    assert_eq!((a.read_queue_nums, a.write_queue_nums, a.perm), (8, 8, 6));
    assert_eq!(route.order_topic_conf, None);

    let only_a = route_of(&client, &ns.addr, "OnlyA").await;
    assert_eq!(brokers_of(&only_a), ["broker-a"]);
}

async fn route_of(client: &RemotingClient, addr: &str, topic: &str) -> TopicRouteData {
    route(client, addr, topic)
        .await
        .unwrap_or_else(|| panic!("no route for {topic}"))
}

#[tokio::test]
async fn incremental_registration_merges_topics() {
    let ns = start(|_| {}).await;
    let client = RemotingClient::default();
    let full = register_request(
        "C",
        "broker-a",
        0,
        "10.0.0.1:10911",
        1,
        &[("T1", 4), ("T2", 4), ("T3", 4)],
    );
    assert_eq!(call(&client, &ns.addr, full).await.code, response::SUCCESS);
    // The broker created T4 and changed T1: it sends only those two with a new data version.
    let incremental = register_request(
        "C",
        "broker-a",
        0,
        "10.0.0.1:10911",
        2,
        &[("T4", 2), ("T1", 16)],
    );
    assert_eq!(
        call(&client, &ns.addr, incremental).await.code,
        response::SUCCESS
    );

    for topic in ["T2", "T3", "T4"] {
        assert!(
            route(&client, &ns.addr, topic).await.is_some(),
            "{topic} lost"
        );
    }
    assert_eq!(
        route_of(&client, &ns.addr, "T1").await.queue_datas[0].write_queue_nums,
        16
    );
    assert_eq!(
        route_of(&client, &ns.addr, "T4").await.queue_datas[0].write_queue_nums,
        2
    );
}

#[tokio::test]
async fn unknown_topic_is_17_and_unknown_code_is_3() {
    let ns = start(|_| {}).await;
    let client = RemotingClient::default();
    let resp = call(&client, &ns.addr, route_request("Nope")).await;
    assert_eq!(resp.code, response::TOPIC_NOT_EXIST);
    assert!(resp.body.is_empty());
    assert!(resp.remark.unwrap().contains("Nope"));

    let resp = call(&client, &ns.addr, RemotingCommand::bare_request(12345)).await;
    assert_eq!(resp.code, response::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(
        resp.remark.as_deref(),
        Some(" request type 12345 not supported")
    );

    // A broken header is an error response, not a closed connection.
    let resp = call(
        &client,
        &ns.addr,
        RemotingCommand::bare_request(request::REGISTER_BROKER),
    )
    .await;
    assert_eq!(resp.code, response::SYSTEM_ERROR);
    assert_eq!(
        call(&client, &ns.addr, route_request("Nope")).await.code,
        response::TOPIC_NOT_EXIST
    );
}

/// A broker request sent to a name server (a client given the name server's address as a
/// broker's, e.g. `mqadmin updateTopic -b <name server>`) keeps RocketMQ's code and remark and
/// adds a hint that the addresses may be swapped.
#[tokio::test]
async fn broker_requests_get_a_hint() {
    let ns = start(|_| {}).await;
    let client = RemotingClient::default();
    for (code, name) in ferromq_proto::codes::BROKER_REQUESTS {
        let resp = call(&client, &ns.addr, RemotingCommand::bare_request(*code)).await;
        assert_eq!(resp.code, response::REQUEST_CODE_NOT_SUPPORTED, "{name}");
        let remark = resp.remark.unwrap_or_default();
        assert!(
            remark.starts_with(&format!(
                " request type {code} not supported; {name} is a broker request, but this address is a name server"
            )),
            "{remark}"
        );
        assert!(remark.contains("-n and -b"), "{remark}");
    }
}

#[tokio::test]
async fn cluster_info_and_topic_lists() {
    let ns = start(|_| {}).await;
    let client = RemotingClient::default();
    call(
        &client,
        &ns.addr,
        register_request("C1", "a", 0, "10.0.0.1:1", 1, &[("T", 1), ("A", 1)]),
    )
    .await;
    call(
        &client,
        &ns.addr,
        register_request("C1", "a", 1, "10.0.0.9:1", 1, &[("T", 1), ("A", 1)]),
    )
    .await;
    call(
        &client,
        &ns.addr,
        register_request("C2", "b", 0, "10.0.0.2:1", 1, &[("B", 1)]),
    )
    .await;

    let resp = call(
        &client,
        &ns.addr,
        RemotingCommand::bare_request(request::GET_BROKER_CLUSTER_INFO),
    )
    .await;
    assert_eq!(resp.code, response::SUCCESS);
    let info = ClusterInfo::from_json(&resp.body).unwrap();
    assert_eq!(
        info.cluster_addr_table["C1"].iter().collect::<Vec<_>>(),
        ["a"]
    );
    assert_eq!(
        info.cluster_addr_table["C2"].iter().collect::<Vec<_>>(),
        ["b"]
    );
    let a = &info.broker_addr_table["a"];
    assert_eq!(a.broker_addrs.len(), 2);
    assert_eq!(a.master_addr(), Some("10.0.0.1:1"));

    let list = |resp: RemotingCommand| {
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
        TopicList::from_json(&resp.body)
            .unwrap()
            .topic_list
            .into_iter()
            .collect::<Vec<_>>()
    };
    let all = call(
        &client,
        &ns.addr,
        RemotingCommand::bare_request(request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
    )
    .await;
    assert_eq!(list(all), ["A", "B", "T"]);
    let by_cluster = RemotingCommand::request(
        request::GET_TOPICS_BY_CLUSTER,
        &GetTopicsByClusterRequestHeader {
            cluster: "C1".into(),
        },
    );
    assert_eq!(list(call(&client, &ns.addr, by_cluster).await), ["A", "T"]);
    let system = call(
        &client,
        &ns.addr,
        RemotingCommand::bare_request(request::GET_SYSTEM_TOPIC_LIST_FROM_NS),
    )
    .await;
    assert_eq!(list(system), ["C1", "C2", "a", "b"]);
    let unit = call(
        &client,
        &ns.addr,
        RemotingCommand::bare_request(request::GET_UNIT_TOPIC_LIST),
    )
    .await;
    assert!(list(unit).is_empty());
}

#[tokio::test]
async fn slave_registration_learns_its_master() {
    let ns = start(|_| {}).await;
    let client = RemotingClient::default();
    call(
        &client,
        &ns.addr,
        register_request("C", "a", 0, "10.0.0.1:10911", 1, &[("T", 4)]),
    )
    .await;
    let resp = call(
        &client,
        &ns.addr,
        register_request("C", "a", 1, "10.0.0.2:10911", 1, &[("T", 4)]),
    )
    .await;
    let header: RegisterBrokerResponseHeader = resp.decode_header().unwrap();
    assert_eq!(header.master_addr.as_deref(), Some("10.0.0.1:10911"));
    assert_eq!(header.ha_server_addr.as_deref(), Some("10.0.0.1:10911-ha"));
    let route = route_of(&client, &ns.addr, "T").await;
    assert_eq!(
        route.broker_datas[0]
            .broker_addrs
            .get(&1)
            .map(String::as_str),
        Some("10.0.0.2:10911")
    );
}

#[tokio::test]
async fn unregister_removes_the_broker() {
    let ns = start(|_| {}).await;
    let client = RemotingClient::default();
    call(
        &client,
        &ns.addr,
        register_request("C", "a", 0, "10.0.0.1:1", 1, &[("T", 4)]),
    )
    .await;
    call(
        &client,
        &ns.addr,
        register_request("C", "b", 0, "10.0.0.2:1", 1, &[("T", 4), ("U", 4)]),
    )
    .await;
    let unregister = RemotingCommand::request(
        request::UNREGISTER_BROKER,
        &BrokerIdentityHeader {
            broker_name: "b".into(),
            broker_addr: "10.0.0.2:1".into(),
            cluster_name: "C".into(),
            broker_id: 0,
        },
    );
    assert_eq!(
        call(&client, &ns.addr, unregister).await.code,
        response::SUCCESS
    );
    assert!(route(&client, &ns.addr, "U").await.is_none());
    assert_eq!(brokers_of(&route_of(&client, &ns.addr, "T").await), ["a"]);
    assert!(!ns
        .namesrv
        .cluster_info()
        .broker_addr_table
        .contains_key("b"));
}

#[tokio::test]
async fn delete_topic_everywhere_or_in_one_cluster() {
    let ns = start(|_| {}).await;
    let client = RemotingClient::default();
    call(
        &client,
        &ns.addr,
        register_request("C1", "a", 0, "10.0.0.1:1", 1, &[("T", 4), ("S", 1)]),
    )
    .await;
    call(
        &client,
        &ns.addr,
        register_request("C2", "b", 0, "10.0.0.2:1", 1, &[("T", 4)]),
    )
    .await;
    let delete = |topic: &str, cluster: Option<&str>| {
        RemotingCommand::request(
            request::DELETE_TOPIC_IN_NAMESRV,
            &DeleteTopicFromNamesrvRequestHeader {
                topic: topic.into(),
                cluster_name: cluster.map(Into::into),
            },
        )
    };
    assert_eq!(
        call(&client, &ns.addr, delete("T", Some("C1"))).await.code,
        response::SUCCESS
    );
    assert_eq!(brokers_of(&route_of(&client, &ns.addr, "T").await), ["b"]);
    assert_eq!(
        call(&client, &ns.addr, delete("T", None)).await.code,
        response::SUCCESS
    );
    assert!(route(&client, &ns.addr, "T").await.is_none());
    assert!(route(&client, &ns.addr, "S").await.is_some());
}

#[tokio::test]
async fn register_topic_and_write_permissions() {
    let ns = start(|_| {}).await;
    let client = RemotingClient::default();
    call(
        &client,
        &ns.addr,
        register_request("C", "a", 0, "10.0.0.1:1", 1, &[("T", 4), ("U", 4)]),
    )
    .await;
    let route = TopicRouteData {
        queue_datas: vec![QueueData {
            broker_name: "a".into(),
            perm: 6,
            read_queue_nums: 3,
            write_queue_nums: 3,
            topic_sys_flag: 0,
        }],
        ..Default::default()
    };
    let register = RemotingCommand::request(
        request::REGISTER_TOPIC_IN_NAMESRV,
        &TopicHeader {
            topic: "New".into(),
        },
    )
    .with_body(route.to_json());
    assert_eq!(
        call(&client, &ns.addr, register).await.code,
        response::SUCCESS
    );
    assert_eq!(
        route_of(&client, &ns.addr, "New").await.queue_datas[0].read_queue_nums,
        3
    );

    let wipe = RemotingCommand::request(
        request::WIPE_WRITE_PERM_OF_BROKER,
        &BrokerNameHeader {
            broker_name: "a".into(),
        },
    );
    let resp = call(&client, &ns.addr, wipe).await;
    assert_eq!(resp.ext_fields.get("wipeTopicCount"), Some("3"));
    assert_eq!(
        route_of(&client, &ns.addr, "T").await.queue_datas[0].perm,
        4
    );
    let add = RemotingCommand::request(
        request::ADD_WRITE_PERM_OF_BROKER,
        &BrokerNameHeader {
            broker_name: "a".into(),
        },
    );
    let resp = call(&client, &ns.addr, add).await;
    assert_eq!(resp.ext_fields.get("addTopicCount"), Some("3"));
    assert_eq!(
        route_of(&client, &ns.addr, "T").await.queue_datas[0].perm,
        6
    );
}

#[tokio::test]
async fn crc_mismatch_is_refused_and_compressed_bodies_register() {
    let ns = start(|_| {}).await;
    let client = RemotingClient::default();
    let mut bad = register_request("C", "a", 0, "10.0.0.1:1", 1, &[("T", 4)]);
    bad.ext_fields.insert("bodyCrc32", "12345");
    let resp = call(&client, &ns.addr, bad).await;
    assert_eq!(resp.code, response::SYSTEM_ERROR);
    assert_eq!(resp.remark.as_deref(), Some("crc32 not match"));
    assert!(route(&client, &ns.addr, "T").await.is_none());

    // The compressed form: zlib of length-prefixed sections (wire-protocol 4.1).
    let mut plain = BytesMut::new();
    let mut chunk = |b: &[u8]| {
        plain.put_i32(b.len() as i32);
        plain.put_slice(b);
    };
    chunk(br#"{"counter":1,"stateVersion":0,"timestamp":1700000000000}"#);
    let mut sections = BytesMut::new();
    sections.put_i32(2);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&plain).unwrap();
    let mut rest = BytesMut::new();
    for line in ["Zipped 4 4 6 SINGLE_TAG {}", "Zipped2 2 2 6 SINGLE_TAG"] {
        rest.put_i32(line.len() as i32);
        rest.put_slice(line.as_bytes());
    }
    rest.put_i32(2);
    rest.put_slice(b"[]");
    z.write_all(&sections).unwrap();
    z.write_all(&rest).unwrap();
    let body = Bytes::from(z.finish().unwrap());
    let req = register_with_body("C", "a", 0, "10.0.0.1:1", body, true, None);
    let resp = call(&client, &ns.addr, req).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert_eq!(
        route_of(&client, &ns.addr, "Zipped").await.queue_datas[0].write_queue_nums,
        4
    );
    assert!(route(&client, &ns.addr, "Zipped2").await.is_some());

    let mut garbage = register_with_body(
        "C",
        "a",
        0,
        "10.0.0.1:1",
        Bytes::from_static(b"{not json"),
        false,
        None,
    );
    garbage
        .ext_fields
        .insert("bodyCrc32", crc32_masked(b"{not json").to_string());
    assert_eq!(
        call(&client, &ns.addr, garbage).await.code,
        response::SYSTEM_ERROR
    );
}

/// The official C++ client (rocketmq 0.4.4) sends JSON headers with language CPP, version 63 and
/// ACL ext fields; it must get standard JSON with quoted keys back.
#[tokio::test]
async fn cpp_client_route_request_gets_standard_json() {
    let ns = start(|_| {}).await;
    let client = RemotingClient::default();
    call(
        &client,
        &ns.addr,
        register_request(
            "DefaultCluster",
            "broker-a",
            0,
            "10.0.0.1:10911",
            1,
            &[("T", 4)],
        ),
    )
    .await;

    let json = br#"{"code":105,"extFields":{"AccessKey":"","OnsChannel":"ALIYUN","Signature":"x","topic":"T"},"flag":0,"language":"CPP","opaque":7,"remark":"","version":63}"#;
    let mut stream = tokio::net::TcpStream::connect(&ns.addr).await.unwrap();
    let mut frame = BytesMut::new();
    frame.put_u32(4 + json.len() as u32);
    frame.put_u32(json.len() as u32);
    frame.put_slice(json);
    stream.write_all(&frame).await.unwrap();
    let mut buf = BytesMut::new();
    let resp = loop {
        if let Some(resp) = RemotingCommand::decode(&mut buf, DEFAULT_MAX_FRAME).unwrap() {
            break resp;
        }
        assert!(
            stream.read_buf(&mut buf).await.unwrap() > 0,
            "connection closed"
        );
    };
    assert_eq!(resp.code, response::SUCCESS);
    assert_eq!(resp.opaque, 7);
    assert!(resp.is_response());
    let text = std::str::from_utf8(&resp.body).unwrap();
    assert!(text.contains(r#"{"0":"10.0.0.1:10911"}"#), "{text}");
}
