//! `ferromq standalone` and `ferromq --help`, as a user runs them.

mod common;

use std::time::Duration;

use common::*;
use ferromq_testkit::run_command;

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
    let Standalone {
        mut proc,
        namesrv: ns,
        broker,
        data,
    } = start_standalone(dir.path());
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
