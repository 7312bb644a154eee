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
        "traceTopicEnable=true\npullMessageThreadPoolNums=16\nbrokerRole=SLAVE\nbrokerId=1\nflushDiskType=SYNC_FLUSH\n",
    ))
    .unwrap();
    let w = c.warnings().join("\n");
    assert!(w.contains("`traceTopicEnable`"), "{w}");
    assert!(w.contains("`pullMessageThreadPoolNums`"), "{w}");
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

/// Every broker configuration shipped in `conf/` (including the replication examples) parses
/// with no unknown key and a consistent role.
#[test]
fn shipped_broker_configs_parse() {
    let conf = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conf");
    let mut seen = 0;
    let mut dirs = vec![conf];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            // plain_acl.yml is the ACL sample, checked by the broker's acl::rules tests.
            if name.starts_with("namesrv")
                || name.starts_with("controller")
                || name.ends_with(".yml")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let c = BrokerConfig::from_properties(&Properties::parse(&text))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                c.unknown_keys.is_empty(),
                "{}: {:?}",
                path.display(),
                c.unknown_keys
            );
            if name.ends_with("-s.properties") {
                assert_eq!(c.broker_role, BrokerRole::Slave, "{}", path.display());
                assert!(c.broker_id > 0);
            }
            seen += 1;
        }
    }
    assert!(seen >= 9, "only {seen} broker configs found");
}
