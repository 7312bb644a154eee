//! A broker set on a 3-node controller group: registration, syncStateSet fencing, automatic
//! failover when the master stops heartbeating, and role-change notices.

mod support;

use std::time::Duration;

use ferromq_controller::body::SyncStateSet;
use ferromq_controller::codes::response;
use ferromq_controller::ClientError;
use support::{wait_for, Cluster, FakeBroker, CLUSTER};

fn code_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> i32 {
    match r {
        Err(ClientError::Refused { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn set(ids: &[i64], epoch: i32) -> SyncStateSet {
    SyncStateSet {
        sync_state_set: ids.iter().copied().collect(),
        sync_state_set_epoch: epoch,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_failover_elects_in_sync_slave_bumps_epoch_and_fences_stale_requests() {
    let cluster = Cluster::start(3).await;
    cluster.wait_leader().await;

    let mut b1 = FakeBroker::join(&cluster, "broker-a").await;
    let mut b2 = FakeBroker::join(&cluster, "broker-a").await;
    let mut b3 = FakeBroker::join(&cluster, "broker-a").await;
    assert_eq!((b1.id, b2.id, b3.id), (1, 2, 3));
    for b in [&mut b1, &mut b2, &mut b3] {
        b.start_heartbeats().await;
    }

    // The first broker to ask becomes master of a set that never had one.
    let e = b1
        .client
        .elect_master(CLUSTER, "broker-a", Some(1), false)
        .await
        .unwrap();
    assert!(e.changed);
    assert_eq!((e.master.broker_id, e.master.master_epoch), (1, 1));
    assert_eq!(e.master.address, b1.addr);
    // Asking again changes nothing.
    let again = b2
        .client
        .elect_master(CLUSTER, "broker-a", Some(2), false)
        .await
        .unwrap();
    assert!(!again.changed);
    assert_eq!(again.master.broker_id, 1);

    // The slaves register and learn the master.
    for b in [&b2, &b3] {
        let reg = b
            .client
            .register_broker(CLUSTER, "broker-a", b.id, &b.addr)
            .await
            .unwrap();
        let master = reg.master.expect("a live master");
        assert_eq!((master.broker_id, master.master_epoch), (1, 1));
    }

    // The master reports broker 2 in sync (3 is not).
    let altered = b1
        .client
        .alter_sync_state_set("broker-a", 1, 1, &set(&[1, 2], 1))
        .await
        .unwrap();
    assert_eq!(altered, set(&[1, 2], 2));
    // A stale syncStateSet epoch, a stale master epoch, and a request from a non-master.
    assert_eq!(
        code_of(
            b1.client
                .alter_sync_state_set("broker-a", 1, 1, &set(&[1, 2, 3], 1))
                .await
        ),
        response::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH
    );
    assert_eq!(
        code_of(
            b1.client
                .alter_sync_state_set("broker-a", 1, 0, &set(&[1, 2, 3], 2))
                .await
        ),
        response::CONTROLLER_FENCED_MASTER_EPOCH
    );
    assert_eq!(
        code_of(
            b2.client
                .alter_sync_state_set("broker-a", 2, 1, &set(&[1, 2, 3], 2))
                .await
        ),
        response::CONTROLLER_INVALID_MASTER
    );

    // The master goes silent: broker 2, the only live in-sync replica, takes over.
    b1.stop_heartbeats();
    let client = cluster.client();
    let info = wait_for(Duration::from_secs(10), "failover to broker 2", || async {
        let info = client.replica_info("broker-a").await.ok()?;
        (info.master_broker_id == Some(2)).then_some(info)
    })
    .await;
    assert_eq!(info.master_epoch, 2);
    assert_eq!(info.master_address.as_deref(), Some(b2.addr.as_str()));
    assert_eq!(info.sync_state, set(&[2], 3));

    // The live replicas are told (the first election told everybody about epoch 1); the silent
    // old master hears nothing of epoch 2.
    for b in [&b2, &b3] {
        let notice = wait_for(Duration::from_secs(5), "a role-change notice", || async {
            b.notices.lock().last().cloned()
        })
        .await;
        assert_eq!(notice.master_broker_id, Some(2));
        assert_eq!(notice.master_epoch, Some(2));
    }
    assert!(b1.notices.lock().iter().all(|n| n.master_epoch == Some(1)));

    // Fencing after the failover: the old master and the old epoch are refused.
    assert_eq!(
        code_of(
            b1.client
                .alter_sync_state_set("broker-a", 1, 1, &set(&[1, 2], 3))
                .await
        ),
        response::CONTROLLER_INVALID_MASTER
    );
    assert_eq!(
        code_of(
            b2.client
                .alter_sync_state_set("broker-a", 2, 1, &set(&[2, 3], 3))
                .await
        ),
        response::CONTROLLER_FENCED_MASTER_EPOCH
    );
    let grown = b2
        .client
        .alter_sync_state_set("broker-a", 2, 2, &set(&[2, 3], 3))
        .await
        .unwrap();
    assert_eq!(grown, set(&[2, 3], 4));

    // The admin view agrees.
    let data = client.sync_state_data(&["broker-a", "nope"]).await.unwrap();
    let a = &data.replicas_info_table["broker-a"];
    assert_eq!(data.replicas_info_table.len(), 1);
    assert_eq!(a.master_broker_id, Some(2));
    let in_sync: Vec<i64> = a.in_sync_replicas.iter().map(|r| r.broker_id).collect();
    assert_eq!(in_sync, vec![2, 3]);
    assert!(
        !a.not_in_sync_replicas[0].alive,
        "broker 1 stopped heartbeating"
    );
}
