//! Configuration honesty: a broker starts with a full RocketMQ 5 broker.conf (the
//! distribution's file plus every key of BrokerConfig, NettyServerConfig, NettyClientConfig and
//! MessageStoreConfig with its default; see the fixture's header for its origin), and every key
//! in it is either read by the broker or named in a start-up warning. `--print-config` / `-p`
//! print the effective configuration and exit.

mod common;

use std::time::Duration;

use common::{bin, start_namesrv, START_TIMEOUT};
use ferromq_broker::config_keys::{key_effect, KeyEffect};
use ferromq_testkit::{free_port, run_command, wait_for_port, Proc};

const FIXTURE: &str = include_str!("fixtures/rocketmq5-full-broker.conf");

/// The fixture's keys, in file order.
fn fixture_keys() -> Vec<String> {
    FIXTURE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
        .collect()
}

/// The fixture with the values a test on a shared machine must change (ports, paths, the name
/// server); every other line as RocketMQ ships or prints it.
fn fixture_for(dir: &std::path::Path, ns: &str, port: u16, ha_port: u16) -> String {
    let mut out = String::new();
    for line in FIXTURE.lines() {
        let key = line.split_once('=').map(|(k, _)| k.trim());
        let replaced = match key {
            Some("listenPort") => format!("listenPort={port}"),
            Some("haListenPort") => format!("haListenPort={ha_port}"),
            Some("storePathRootDir") => format!("storePathRootDir={}", dir.join("store").display()),
            Some("namesrvAddr") => format!("namesrvAddr={ns}"),
            Some("mappedFileSizeCommitLog") => "mappedFileSizeCommitLog=16777216".to_owned(),
            _ => line.to_owned(),
        };
        out.push_str(&replaced);
        out.push('\n');
    }
    // FerroMQ's own key: no dashboard on a shared machine's port 8080.
    out.push_str("dashboardPort=0\n");
    out
}

/// True when a WARN line of `log` names `key` as a whole word.
fn warned(log: &str, key: &str) -> bool {
    log.lines().filter(|l| l.contains("WARN")).any(|l| {
        l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
            .any(|w| w == key)
    })
}

#[test]
fn a_full_rocketmq5_broker_conf_starts_and_every_key_is_used_or_warned_about() {
    let keys = fixture_keys();
    assert!(keys.len() > 400, "the fixture has {} keys", keys.len());
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let (port, ha_port) = (free_port(), free_port());
    let conf = dir.path().join("broker.conf");
    std::fs::write(&conf, fixture_for(dir.path(), &ns.addr, port, ha_port)).unwrap();
    let broker = Proc::spawn(
        "broker-a",
        &bin("mqbroker"),
        &["-c", conf.to_str().unwrap()],
        &dir.path().join("logs"),
        &[],
    );
    let addr = format!("127.0.0.1:{port}");
    assert!(
        wait_for_port(&addr, START_TIMEOUT),
        "the broker did not start with the full RocketMQ broker.conf:\n{}",
        broker.output()
    );
    // It serves: it registered with the name server under the fixture's name.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (code, out, _) = run_command(
            &bin("mqadmin"),
            &["clusterList", "-n", &ns.addr],
            &[],
            Duration::from_secs(30),
        );
        if code == 0 && out.contains("broker-a") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never registered:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    let log = broker.output();
    let mut silent = Vec::new();
    let (mut used, mut warned_about) = (0, 0);
    for key in &keys {
        match key_effect(key) {
            Some(KeyEffect::Acted) => used += 1,
            Some(KeyEffect::CheckedOnly) | Some(KeyEffect::Inert) | None => {
                if warned(&log, key) {
                    warned_about += 1;
                } else if key_effect(key) == Some(KeyEffect::CheckedOnly) {
                    // Read and range-checked (documented as such), not acted on.
                    used += 1;
                } else {
                    silent.push(key.clone());
                }
            }
        }
    }
    assert!(
        silent.is_empty(),
        "keys neither used nor warned about: {silent:?}\nlog:\n{log}"
    );
    assert!(
        used > 50 && warned_about > 100,
        "used {used}, warned {warned_about}"
    );
    // A key FerroMQ does not read is not called unknown: it is a RocketMQ key.
    assert!(
        !log.contains("unknown broker configuration key"),
        "a RocketMQ key was reported as unknown:\n{log}"
    );
}

#[test]
fn print_config_prints_the_effective_configuration_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        "brokerName=printed-broker\nlistenPort=19911\ntls.server.mode=enforcing\nsendMessageThreadPoolNums=4\n",
    )
    .unwrap();
    for args in [
        vec!["-p", "-c", conf.to_str().unwrap()],
        vec!["--print-config", "-c", conf.to_str().unwrap()],
    ] {
        let (code, out, err) = run_command(&bin("mqbroker"), &args, &[], Duration::from_secs(30));
        assert_eq!(code, 0, "{out}{err}");
        for line in [
            "brokerName=printed-broker",
            "listenPort=19911",
            "tls.server.mode=enforcing",
            "tls.enable=true",
            "brokerRole=ASYNC_MASTER",
            "maxMessageSize=4194304",
        ] {
            assert!(out.lines().any(|l| l == line), "no `{line}` in:\n{out}");
        }
        assert!(out.contains("sendMessageThreadPoolNums"), "{out}");
    }
    let (code, out, err) = run_command(
        &bin("ferromq"),
        &["broker", "--print-config", "-c", conf.to_str().unwrap()],
        &[],
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.lines().any(|l| l == "brokerName=printed-broker"),
        "{out}"
    );
}
