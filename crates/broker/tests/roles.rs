//! `brokerRole` on a broker alone: a SLAVE refuses sends with RocketMQ's SERVICE_NOT_AVAILABLE,
//! a SYNC_MASTER with no slave stores but answers SLAVE_NOT_AVAILABLE, and keys FerroMQ accepts
//! without acting on are named in the start-up warnings. Master and slave together:
//! `replication.rs`.

mod support;

use ferromq_broker::config::BrokerRole;
use ferromq_broker::BrokerConfig;
use ferromq_common::config::Properties;
use ferromq_proto::codes::response;
use ferromq_proto::headers::SendMessageResponseHeader;
use support::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_refuses_sends() {
    let t = start(|c| {
        c.broker_role = BrokerRole::Slave;
        c.broker_id = 1;
    })
    .await;
    let resp = t.send("TR", 0, "x", "", None).await;
    assert_eq!(resp.code, response::SERVICE_NOT_AVAILABLE);
    assert!(resp
        .remark
        .unwrap()
        .contains("messages are put to the slave"));
    assert!(t.read("TR", 0, 0).is_empty());
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_master_without_a_slave_says_so() {
    let t = start(|c| c.broker_role = BrokerRole::SyncMaster).await;
    let resp = t.send("TR", 0, "x", "", None).await;
    assert_eq!(
        resp.code,
        response::SLAVE_NOT_AVAILABLE,
        "{:?}",
        resp.remark
    );
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(
        t.read("TR", 0, h.queue_offset).len(),
        1,
        "stored all the same"
    );
    t.stop().await;
}

#[test]
fn inert_keys_and_roles_are_named_at_start_up() {
    let c = BrokerConfig::from_properties(&Properties::parse(
        "aclEnable=true\nsendMessageThreadPoolNums=16\nbrokerRole=SLAVE\nbrokerId=1\nflushDiskType=SYNC_FLUSH\n",
    ))
    .unwrap();
    let w = c.warnings().join("\n");
    assert!(w.contains("`aclEnable`"), "{w}");
    assert!(w.contains("ACL is NOT implemented"), "{w}");
    assert!(w.contains("`sendMessageThreadPoolNums`"), "{w}");
    assert!(
        w.contains("brokerRole=SLAVE with slaveReadEnable=false"),
        "{w}"
    );
    assert!(!w.contains("flushDiskType"), "{w}");
    assert!(BrokerConfig::default().warnings().is_empty());
}

#[test]
fn broker_ids_follow_the_role() {
    let e = BrokerConfig::from_properties(&Properties::parse("brokerRole=SLAVE\n")).unwrap_err();
    assert_eq!(e.key, "brokerId");
    assert!(e.to_string().contains("must be > 0"), "{e}");
    let c =
        BrokerConfig::from_properties(&Properties::parse("brokerRole=SYNC_MASTER\nbrokerId=3\n"))
            .unwrap();
    assert_eq!(c.broker_id, 0);
    assert!(c.warnings().join("\n").contains("brokerId=3 ignored"));
}
