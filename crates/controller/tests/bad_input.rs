//! Malformed and unknown requests get error responses, never a panic or a closed connection.

mod support;

use std::time::Duration;

use bytes::Bytes;
use ferromq_controller::codes::{raft, request, response};
use ferromq_controller::headers::{
    AlterSyncStateSetRequestHeader, CleanControllerBrokerDataRequestHeader,
    ControllerHeartbeatRequestHeader, ElectMasterRequestHeader, GetReplicaInfoRequestHeader,
    RegisterBrokerToControllerRequestHeader,
};
use ferromq_net::RemotingClient;
use ferromq_proto::header::NoHeader;
use ferromq_proto::RemotingCommand;
use support::Cluster;

async fn call(client: &RemotingClient, addr: &str, cmd: RemotingCommand) -> RemotingCommand {
    client
        .invoke(addr, cmd, Duration::from_secs(5))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_error_codes() {
    let cluster = Cluster::start(1).await;
    let leader = cluster.wait_leader().await;
    let addr = cluster.addrs[leader].clone();
    let c = RemotingClient::default();

    let unknown_replica = RemotingCommand::request(
        request::CONTROLLER_GET_REPLICA_INFO,
        &GetReplicaInfoRequestHeader {
            broker_name: "nope".into(),
        },
    );
    let r = call(&c, &addr, unknown_replica).await;
    assert_eq!(r.code, response::CONTROLLER_BROKER_METADATA_NOT_EXIST);

    let missing_field = RemotingCommand::request(request::CONTROLLER_GET_REPLICA_INFO, &NoHeader);
    assert_eq!(
        call(&c, &addr, missing_field).await.code,
        response::SYSTEM_ERROR
    );

    let alter = |body: &'static [u8]| {
        RemotingCommand::request(
            request::CONTROLLER_ALTER_SYNC_STATE_SET,
            &AlterSyncStateSetRequestHeader {
                broker_name: "nope".into(),
                master_broker_id: 1,
                master_epoch: 1,
                invoke_time: None,
            },
        )
        .with_body(Bytes::from_static(body))
    };
    for body in [
        &b"{"[..],
        b"",
        b"[1,2]",
        b"{\"syncStateSet\":\"x\"}",
        b"\xff\xfe",
    ] {
        let r = call(&c, &addr, alter(body)).await;
        assert_eq!(r.code, response::SYSTEM_ERROR, "body {body:?}");
    }
    let r = call(
        &c,
        &addr,
        alter(br#"{"syncStateSet":[1],"syncStateSetEpoch":0}"#),
    )
    .await;
    assert_eq!(r.code, response::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED);

    let mut bad_number = alter(br#"{"syncStateSet":[1],"syncStateSetEpoch":0}"#);
    bad_number.ext_fields.insert("masterEpoch", "one");
    assert_eq!(
        call(&c, &addr, bad_number).await.code,
        response::SYSTEM_ERROR
    );

    let elect = RemotingCommand::request(
        request::CONTROLLER_ELECT_MASTER,
        &ElectMasterRequestHeader {
            broker_name: "nope".into(),
            broker_id: Some(1),
            ..Default::default()
        },
    );
    let r = call(&c, &addr, elect).await;
    assert_eq!(r.code, response::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED);

    let register = RemotingCommand::request(
        request::CONTROLLER_REGISTER_BROKER,
        &RegisterBrokerToControllerRequestHeader {
            cluster_name: "c".into(),
            broker_name: "nope".into(),
            broker_id: 1,
            broker_address: "127.0.0.1:1".into(),
            invoke_time: None,
        },
    );
    let r = call(&c, &addr, register).await;
    assert_eq!(r.code, response::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED);

    let no_id = RemotingCommand::request(
        request::BROKER_HEARTBEAT,
        &ControllerHeartbeatRequestHeader {
            cluster_name: "c".into(),
            broker_addr: "127.0.0.1:1".into(),
            broker_name: "b".into(),
            ..Default::default()
        },
    );
    assert_eq!(
        call(&c, &addr, no_id).await.code,
        response::CONTROLLER_INVALID_REQUEST
    );

    for body in [&b"[]"[..], b"not json", b""] {
        let cmd = RemotingCommand::bare_request(request::CONTROLLER_GET_SYNC_STATE_DATA)
            .with_body(Bytes::from_static(body));
        assert_eq!(
            call(&c, &addr, cmd).await.code,
            response::SYSTEM_ERROR,
            "{body:?}"
        );
    }

    for ids in [None, Some("1;x")] {
        let clean = RemotingCommand::request(
            request::CLEAN_BROKER_DATA,
            &CleanControllerBrokerDataRequestHeader {
                broker_name: "nope".into(),
                broker_controller_ids_to_clean: ids.map(str::to_owned),
                ..Default::default()
            },
        );
        let r = call(&c, &addr, clean).await;
        assert_eq!(
            r.code,
            response::CONTROLLER_INVALID_CLEAN_BROKER_METADATA,
            "{ids:?}"
        );
    }

    let unknown = RemotingCommand::bare_request(1999);
    assert_eq!(
        call(&c, &addr, unknown).await.code,
        response::REQUEST_CODE_NOT_SUPPORTED
    );

    for code in [raft::APPEND_ENTRIES, raft::VOTE, raft::INSTALL_SNAPSHOT] {
        let garbage =
            RemotingCommand::bare_request(code).with_body(Bytes::from_static(b"{\"x\":1}"));
        assert_eq!(call(&c, &addr, garbage).await.code, response::SYSTEM_ERROR);
    }
    let unused = RemotingCommand::bare_request(raft::LAST);
    assert_eq!(
        call(&c, &addr, unused).await.code,
        response::REQUEST_CODE_NOT_SUPPORTED
    );

    let update = RemotingCommand::bare_request(request::UPDATE_CONTROLLER_CONFIG)
        .with_body(Bytes::from_static(b"configStorePath=/x\n"));
    assert_eq!(
        call(&c, &addr, update).await.code,
        ferromq_proto::codes::response::NO_PERMISSION
    );
    let update = RemotingCommand::bare_request(request::UPDATE_CONTROLLER_CONFIG)
        .with_body(Bytes::from_static(b"scanNotActiveBrokerInterval=abc\n"));
    assert_eq!(
        call(&c, &addr, update).await.code,
        response::INVALID_PARAMETER
    );
    let update = RemotingCommand::bare_request(request::UPDATE_CONTROLLER_CONFIG)
        .with_body(Bytes::from_static(b"enableElectUncleanMaster=true\n"));
    assert_eq!(call(&c, &addr, update).await.code, response::SUCCESS);
    let get = call(
        &c,
        &addr,
        RemotingCommand::bare_request(request::GET_CONTROLLER_CONFIG),
    )
    .await;
    assert!(String::from_utf8_lossy(&get.body).contains("enableElectUncleanMaster=true"));

    // Still serving after all that.
    let meta = cluster.client().metadata(&addr).await.unwrap();
    assert!(meta.is_leader);
    assert_eq!(meta.group.as_deref(), Some("test-group"));
    assert_eq!(meta.peers, Some(format!("n0:{addr};")));
}
