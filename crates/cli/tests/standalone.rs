//! `ferromq standalone` and `ferromq --help`, as a user runs them.

mod common;

use std::time::Duration;

use common::*;
use ferromq_testkit::{free_port, run_command, wait_for_port, Proc};

#[test]
fn help_lists_the_subcommands() {
    let (code, out, err) = run_command(&bin("ferromq"), &["--help"], &[], Duration::from_secs(10));
    assert_eq!(code, 0, "{err}");
    for sub in ["standalone", "namesrv", "broker", "admin"] {
        assert!(out.contains(sub), "`{sub}` missing from:\n{out}");
    }
}

#[test]
fn standalone_serves_admin_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (ns_port, broker_port) = (free_port(), free_port());
    let data = dir.path().join("data");
    let mut proc = Proc::spawn(
        "standalone",
        &bin("ferromq"),
        &[
            "standalone",
            "--data",
            data.to_str().unwrap(),
            "--namesrv-port",
            &ns_port.to_string(),
            "--broker-port",
            &broker_port.to_string(),
        ],
        &dir.path().join("logs"),
        &[],
    );
    let ns = format!("127.0.0.1:{ns_port}");
    let broker = format!("127.0.0.1:{broker_port}");
    assert!(
        wait_for_port(&ns, START_TIMEOUT) && wait_for_port(&broker, START_TIMEOUT),
        "{}",
        proc.output()
    );
    let (code, out, err) = mqadmin(&[
        "updateTopic",
        "-n",
        &ns,
        "-b",
        &broker,
        "-t",
        "tp_sa",
        "-w",
        "2",
        "-r",
        "2",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let out = mqadmin_until(&["clusterList", "-n", &ns], Duration::from_secs(10), |o| {
        o.contains("broker-a")
    });
    assert!(out.contains(&broker), "{out}");
    assert_eq!(
        proc.terminate(Duration::from_secs(15)),
        Some(0),
        "{}",
        proc.output()
    );
    assert!(data
        .join("store")
        .join("config")
        .join("topics.json")
        .exists());
    assert!(
        !data.join("store").join("abort").exists(),
        "a clean stop removes the abort marker"
    );
}

#[test]
fn bad_broker_conf_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(&conf, "brokerName=b\nlistenPort=notaport\n").unwrap();
    let (code, out, err) = run_command(
        &bin("mqbroker"),
        &["-c", conf.to_str().unwrap()],
        &[],
        Duration::from_secs(10),
    );
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("listenPort"), "{err}");
}
