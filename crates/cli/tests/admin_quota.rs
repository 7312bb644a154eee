//! mqadmin updateQuota / getQuota / deleteQuota against real processes: a quota set with
//! mqadmin refuses over-quota sends with SYSTEM_BUSY naming it, shows in getQuota with its
//! counters, survives a broker restart, and deleteQuota lifts it.

mod common;

use std::time::Duration;

use common::*;
use ferromq_client::{ClientError, Message, Producer};
use ferromq_proto::codes::response;

fn ok(args: &[&str]) -> String {
    let (code, out, err) = mqadmin(args);
    assert_eq!(code, 0, "mqadmin {args:?}\nstdout:\n{out}\nstderr:\n{err}");
    out
}

#[test]
fn quotas_are_set_shown_kept_across_a_restart_and_removed_with_mqadmin() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let mut broker = start_broker(dir.path(), &ns.addr, "broker-quota", "");
    let (n, b) = (ns.addr.clone(), broker.addr.clone());
    create_topic(&n, &b, "tp_quota", 1);

    let out = ok(&[
        "updateQuota",
        "-n",
        &n,
        "-b",
        &b,
        "-t",
        "tp_quota",
        "--produceMsgsPerSec",
        "5",
        "--produceBytesPerSec",
        "100000",
    ]);
    assert_eq!(
        out,
        format!("update quota of topic tp_quota to {b} success.\n")
    );
    let out = ok(&[
        "updateQuota",
        "-n",
        &n,
        "-c",
        "DefaultCluster",
        "-g",
        "cg_quota",
        "--consumeMsgsPerSec",
        "50",
    ]);
    assert_eq!(
        out,
        format!("update quota of group cg_quota to {b} success.\n")
    );

    // Refusals: no rate, a produce rate on a group, both -t and -g missing.
    let (code, _, err) = mqadmin(&["updateQuota", "-n", &n, "-b", &b, "-t", "tp_quota"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--produceMsgsPerSec"), "{err}");
    let (code, _, err) = mqadmin(&[
        "updateQuota",
        "-n",
        &n,
        "-b",
        &b,
        "-g",
        "cg_quota",
        "--produceMsgsPerSec",
        "1",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("limits consumption only"), "{err}");
    let (code, _, _) = mqadmin(&[
        "updateQuota",
        "-n",
        &n,
        "-b",
        &b,
        "--consumeMsgsPerSec",
        "1",
    ]);
    assert_ne!(code, 0);

    // Over the quota, sends are refused with SYSTEM_BUSY naming it (a single broker: the
    // client's retries end on the same quota).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let refused = rt.block_on(async {
        let p = Producer::builder("pg_quota")
            .namesrv_addr(n.clone())
            .build()
            .unwrap();
        let mut refused = None;
        for i in 0..50 {
            match p.send(Message::new("tp_quota", format!("m{i}"))).await {
                Ok(_) => {}
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        p.shutdown().await;
        refused
    });
    let err = refused.expect("50 sends at once passed a 5 msgs/s quota");
    match &err {
        ClientError::SendFailed { source, .. } => {
            assert_eq!(source.response_code(), Some(response::SYSTEM_BUSY));
            assert!(
                source
                    .to_string()
                    .contains("[QUOTA]produce quota of topic tp_quota exceeded (5 msgs/s)"),
                "{source}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }

    let out = ok(&["getQuota", "-n", &n, "-b", &b]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("#Broker"), "{out}");
    assert_eq!(lines.len(), 3, "{out}");
    // Topics first, then groups, each sorted by name.
    let topic: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        topic[..7],
        [b.as_str(), "TOPIC", "tp_quota", "5", "100000", "-", "-"],
        "{out}"
    );
    let group: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        group[..7],
        [b.as_str(), "GROUP", "cg_quota", "-", "-", "50", "-"],
        "{out}"
    );
    assert!(topic[7].parse::<u64>().unwrap() >= 1, "{out}");
    let only = ok(&["getQuota", "-n", &n, "-b", &b, "-t", "tp_quota"]);
    assert_eq!(only.lines().count(), 2, "{only}");

    // Kept across a restart.
    broker.restart();
    let out = mqadmin_until(
        &["getQuota", "-n", &n, "-b", &b],
        Duration::from_secs(30),
        |o| o.lines().count() == 3,
    );
    assert!(
        out.contains("tp_quota") && out.contains("cg_quota"),
        "{out}"
    );

    // Removed: sends pass again.
    let out = ok(&["deleteQuota", "-n", &n, "-b", &b, "-t", "tp_quota"]);
    assert_eq!(
        out,
        format!("delete quota of topic tp_quota from {b} success.\n")
    );
    let (code, _, err) = mqadmin(&["deleteQuota", "-n", &n, "-b", &b, "-t", "tp_quota"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("deleteQuota command failed") && err.contains("no quota for topic tp_quota"),
        "{err}"
    );
    ok(&[
        "deleteQuota",
        "-n",
        &n,
        "-c",
        "DefaultCluster",
        "-g",
        "cg_quota",
    ]);
    assert_eq!(ok(&["getQuota", "-n", &n, "-b", &b]).lines().count(), 1);
    rt.block_on(async {
        let p = Producer::builder("pg_quota2")
            .namesrv_addr(n.clone())
            .build()
            .unwrap();
        for i in 0..20 {
            p.send(Message::new("tp_quota", format!("after{i}")))
                .await
                .unwrap();
        }
        p.shutdown().await;
    });
}
