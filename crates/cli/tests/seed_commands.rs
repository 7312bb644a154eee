//! The seed's commands, as written, against real mqnamesrv and mqbroker processes.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn seed_update_topic_then_topic_list_and_topic_status() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-a", "");

    // mqadmin updateTopic -n localhost:9876 -b localhost:10911 -t tp_demo_06 -w 6
    let (code, out, err) = mqadmin(&[
        "updateTopic",
        "-n",
        &ns.addr,
        "-b",
        &broker.addr,
        "-t",
        "tp_demo_06",
        "-w",
        "6",
    ]);
    assert_eq!(code, 0, "updateTopic failed:\n{out}\n{err}");
    assert!(out.contains("create topic to"), "{out}");

    // mqadmin topicList -n localhost:9876 lists it (registration is immediate, but allow a moment).
    mqadmin_until(
        &["topicList", "-n", &ns.addr],
        Duration::from_secs(10),
        |o| o.lines().any(|l| l.trim() == "tp_demo_06"),
    );

    // mqadmin updateTopic -b localhost:10911 -n localhost:9876 -r 8 -t tp_demo_11 -w 8
    let (code, out, err) = mqadmin(&[
        "updateTopic",
        "-b",
        &broker.addr,
        "-n",
        &ns.addr,
        "-r",
        "8",
        "-t",
        "tp_demo_11",
        "-w",
        "8",
    ]);
    assert_eq!(code, 0, "updateTopic failed:\n{out}\n{err}");

    // mqadmin topicStatus -n localhost:9876 -t tp_demo_11: 8 rows with broker, queue, min, max, time.
    let out = mqadmin_until(
        &["topicStatus", "-n", &ns.addr, "-t", "tp_demo_11"],
        Duration::from_secs(10),
        |o| o.lines().filter(|l| l.starts_with("broker-a")).count() == 8,
    );
    let header = out.lines().next().unwrap_or_default();
    for col in [
        "#Broker Name",
        "#QID",
        "#Min Offset",
        "#Max Offset",
        "#Last Updated",
    ] {
        assert!(header.contains(col), "missing column {col} in:\n{out}");
    }
    let qids: Vec<i32> = out
        .lines()
        .filter(|l| l.starts_with("broker-a"))
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(qids, (0..8).collect::<Vec<_>>(), "{out}");
}

#[test]
fn namesrv_addr_env_works_when_n_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let _broker = start_broker(dir.path(), &ns.addr, "broker-env", "");
    // The broker's port opens before its first registration reaches the name server, so the
    // listing is retried for a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let out = ferromq_testkit::run_command(
            &bin("mqadmin"),
            &["clusterList"],
            &[("NAMESRV_ADDR", ns.addr.as_str())],
            Duration::from_secs(20),
        );
        assert_eq!(out.0, 0, "{out:?}");
        if out.1.contains("broker-env") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the broker never showed up:\n{}",
            out.1
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
