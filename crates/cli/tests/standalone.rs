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

/// `ferromq standalone -c broker.conf --namesrv-conf namesrv.conf` applies the files: a small
/// `maxMessageSize` refuses a larger body, `flushDiskType=SYNC_FLUSH` shows in the broker's
/// config, `bindAddress` is where both listen (and what the start line says), and the store is
/// where `storePathRootDir` puts it.
#[test]
fn standalone_applies_its_config_files() {
    let dir = tempfile::tempdir().unwrap();
    let (ns_port, broker_port) = (free_port(), free_port());
    let store = dir.path().join("elsewhere");
    let broker_conf = dir.path().join("broker.conf");
    std::fs::write(
        &broker_conf,
        format!(
            "brokerName=broker-conf\nlistenPort={broker_port}\nbindAddress=127.0.0.1\nflushDiskType=SYNC_FLUSH\nmaxMessageSize=1024\nstorePathRootDir={}\nnamesrvAddr=10.0.0.1:9876\n",
            store.display()
        ),
    )
    .unwrap();
    let ns_conf = dir.path().join("namesrv.conf");
    std::fs::write(
        &ns_conf,
        format!("listenPort={ns_port}\nbindAddress=127.0.0.1\n"),
    )
    .unwrap();
    let mut proc = Proc::spawn(
        "standalone-conf",
        &bin("ferromq"),
        &[
            "standalone",
            "-c",
            broker_conf.to_str().unwrap(),
            "--namesrv-conf",
            ns_conf.to_str().unwrap(),
        ],
        &dir.path().join("logs"),
        &[],
    );
    let ns = format!("127.0.0.1:{ns_port}");
    let broker = format!("127.0.0.1:{broker_port}");
    assert!(
        wait_for_port(&ns, START_TIMEOUT) && wait_for_port(&broker, START_TIMEOUT),
        "standalone did not start:\n{}",
        proc.output()
    );
    let out = mqadmin_until(&["clusterList", "-n", &ns], Duration::from_secs(10), |o| {
        o.contains("broker-conf")
    });
    assert!(out.contains(&broker), "{out}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let p = ferromq_client::Producer::builder("PG_conf")
            .namesrv_addr(ns.clone())
            .max_message_size(8 * 1024)
            .build()
            .unwrap();
        let big = ferromq_client::Message::new("tp_conf", vec![b'x'; 2048]);
        let err = p.send(big).await.unwrap_err();
        assert_eq!(err.response_code(), Some(13), "{err}");
        p.send(ferromq_client::Message::new("tp_conf", "small"))
            .await
            .unwrap();
        p.shutdown().await;
        let client = ferromq_net::RemotingClient::default();
        let resp = client
            .invoke(
                &broker,
                ferromq_proto::RemotingCommand::request(
                    ferromq_proto::codes::request::GET_BROKER_CONFIG,
                    &ferromq_proto::header::NoHeader,
                ),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&resp.body).into_owned();
        assert!(text.contains("flushDiskType=SYNC_FLUSH"), "{text}");
    });
    assert!(store.join("config").join("topics.json").exists());
    assert_eq!(proc.terminate(Duration::from_secs(15)), Some(0));
    let output = proc.output();
    assert!(
        output.contains(&format!("name server listening on 127.0.0.1:{ns_port}"))
            && output.contains(&format!("listening on 127.0.0.1:{broker_port}")),
        "{output}"
    );
    assert!(output.contains("not namesrvAddr"), "{output}");
    assert!(
        !output.contains('\u{1b}'),
        "colour codes in a log that is not a terminal"
    );
}

#[test]
fn a_mistyped_broker_conf_key_gets_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        "flushDiskTyp=SYNC_FLUSH\nbrokerRole=SLAVE\nbrokerId=1\n",
    )
    .unwrap();
    let (code, out, err) = run_command(
        &bin("mqbroker"),
        &["-c", conf.to_str().unwrap(), "-p"],
        &[],
        Duration::from_secs(10),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("did you mean `flushDiskType`?"), "{err}");
    assert!(
        err.contains("brokerRole=SLAVE with slaveReadEnable=false"),
        "{err}"
    );
}

#[test]
fn a_mistyped_namesrv_conf_key_gets_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("namesrv.conf");
    std::fs::write(&conf, "listenPrt=9876\n").unwrap();
    let (code, out, err) = run_command(
        &bin("mqnamesrv"),
        &["-c", conf.to_str().unwrap(), "-p"],
        &[],
        Duration::from_secs(10),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("did you mean `listenPort`?"), "{err}");
}

/// `mqadmin ... | head` closes the pipe early: mqadmin stops quietly, with no panic or backtrace.
#[test]
fn mqadmin_into_a_closed_pipe_exits_quietly() {
    use std::process::{Command, Stdio};
    for _ in 0..3 {
        let mut child = Command::new(bin("mqadmin"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            out.status.success() || out.status.code() == Some(141),
            "{:?} {err}",
            out.status
        );
    }
}
