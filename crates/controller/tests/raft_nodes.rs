//! Losing controller nodes: elections go on with 2 of 3, a follower redirects to the leader,
//! and a restarted node catches up (through a snapshot when the leader purged its log).

mod support;

use std::time::Duration;

use ferromq_controller::body::SyncStateSet;
use ferromq_controller::codes::{request, response};
use ferromq_controller::headers::GetReplicaInfoRequestHeader;
use ferromq_net::RemotingClient;
use ferromq_proto::RemotingCommand;
use support::{wait_for, Cluster, FakeBroker, CLUSTER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elections_go_on_with_two_of_three_and_a_restarted_node_catches_up() {
    let mut cluster = Cluster::start(3).await;
    let first_leader = cluster.wait_leader().await;

    let mut b1 = FakeBroker::join(&cluster, "broker-a").await;
    let mut b2 = FakeBroker::join(&cluster, "broker-a").await;
    b1.start_heartbeats().await;
    b2.start_heartbeats().await;
    b1.client
        .elect_master(CLUSTER, "broker-a", Some(b1.id), false)
        .await
        .unwrap();

    // A follower answers CONTROLLER_NOT_LEADER and names the leader.
    let follower = (first_leader + 1) % 3;
    let raw = RemotingClient::default();
    let ask = RemotingCommand::request(
        request::CONTROLLER_GET_REPLICA_INFO,
        &GetReplicaInfoRequestHeader {
            broker_name: "broker-a".into(),
        },
    );
    let resp = raw
        .invoke(
            &cluster.addrs[follower],
            ask.clone(),
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::CONTROLLER_NOT_LEADER);
    assert_eq!(
        resp.ext_fields.get("controllerLeaderAddress"),
        Some(cluster.addrs[first_leader].as_str())
    );
    let meta = b1.client.metadata(&cluster.addrs[follower]).await.unwrap();
    assert!(!meta.is_leader);
    assert_eq!(meta.controller_leader_id, Some(format!("n{first_leader}")));

    // Stop the leader: the two others elect a new one and keep serving.
    cluster.stop(first_leader).await;
    let second_leader = cluster.wait_leader().await;
    assert_ne!(second_leader, first_leader);
    let set = SyncStateSet {
        sync_state_set: [b1.id, b2.id].into_iter().collect(),
        sync_state_set_epoch: 1,
    };
    b1.client
        .alter_sync_state_set("broker-a", b1.id, 1, &set)
        .await
        .unwrap();

    // Enough writes for the leader to snapshot and purge past the stopped node's log.
    for i in 0..30 {
        let b = FakeBroker::join(&cluster, &format!("filler-{i}")).await;
        assert_eq!(b.id, 1);
    }

    // Broker failover still works with 2 of 3 controllers.
    b1.stop_heartbeats();
    let client = cluster.client();
    wait_for(Duration::from_secs(10), "failover to broker 2", || async {
        let info = client.replica_info("broker-a").await.ok()?;
        (info.master_broker_id == Some(b2.id) && info.master_epoch == 2).then_some(())
    })
    .await;

    // The old leader comes back and catches up with everything it missed.
    cluster.restart(first_leader).await;
    let leader = cluster.wait_leader().await;
    let want = cluster.node(leader).broker_set("broker-a").unwrap();
    wait_for(
        Duration::from_secs(15),
        "the restarted node to catch up",
        || async {
            let node = cluster.node(first_leader);
            (node.broker_set("broker-a").as_ref() == Some(&want)
                && node.broker_set("filler-29").is_some())
            .then_some(())
        },
    )
    .await;
    // It missed more entries than the leader keeps after a snapshot, so it was sent one.
    let m = cluster.node(first_leader).raft().metrics().borrow().clone();
    assert!(m.snapshot.is_some() && m.purged.is_some(), "{m:?}");
    let caught_up = cluster.node(first_leader).broker_set("broker-a").unwrap();
    assert_eq!(caught_up.master_broker_id, Some(b2.id));
    assert_eq!(caught_up.master_epoch, 2);

    // Stop the current leader too: the restarted node is part of the new majority.
    cluster.stop(leader).await;
    let third = cluster.wait_leader().await;
    assert_ne!(third, leader);
    let e = client
        .elect_master(CLUSTER, "broker-a", Some(b2.id), false)
        .await
        .unwrap();
    assert!(!e.changed, "broker 2 is alive and stays master");
    assert_eq!(e.master.master_epoch, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_group_restart_keeps_the_state() {
    let mut cluster = Cluster::start(3).await;
    cluster.wait_leader().await;
    let b1 = FakeBroker::join(&cluster, "broker-a").await;
    b1.client.heartbeat(&b1.beat()).await.unwrap();
    b1.client
        .elect_master(CLUSTER, "broker-a", Some(1), false)
        .await
        .unwrap();
    let before = cluster
        .node(cluster.wait_leader().await)
        .broker_set("broker-a")
        .unwrap();
    drop(b1);
    for i in 0..3 {
        cluster.stop(i).await;
    }
    for i in 0..3 {
        cluster.restart(i).await;
    }
    let leader = cluster.wait_leader().await;
    let client = cluster.client();
    let info = client.replica_info("broker-a").await.unwrap();
    assert_eq!(info.master_broker_id, Some(1));
    assert_eq!(info.master_epoch, before.master_epoch);
    assert_eq!(cluster.node(leader).broker_set("broker-a"), Some(before));
    assert_eq!(client.next_broker_id(CLUSTER, "broker-a").await.unwrap(), 2);
}
