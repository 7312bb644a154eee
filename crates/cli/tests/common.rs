//! Shared set-up for the process tests: a name server and brokers on free loopback ports in a
//! temporary directory, started from the built binaries.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use ferromq_testkit::{free_port, run_command, wait_for_port, Proc};

pub const START_TIMEOUT: Duration = Duration::from_secs(20);

pub fn bin(name: &str) -> PathBuf {
    match name {
        "mqnamesrv" => PathBuf::from(env!("CARGO_BIN_EXE_mqnamesrv")),
        "mqbroker" => PathBuf::from(env!("CARGO_BIN_EXE_mqbroker")),
        "mqadmin" => PathBuf::from(env!("CARGO_BIN_EXE_mqadmin")),
        "mqcontroller" => PathBuf::from(env!("CARGO_BIN_EXE_mqcontroller")),
        "ferromq" => PathBuf::from(env!("CARGO_BIN_EXE_ferromq")),
        other => panic!("unknown binary {other}"),
    }
}

pub struct Namesrv {
    pub proc: Proc,
    pub addr: String,
}

pub fn start_namesrv(dir: &Path) -> Namesrv {
    let port = free_port();
    let conf = dir.join("namesrv.conf");
    std::fs::write(
        &conf,
        format!(
            "listenPort={port}\nkvConfigPath={}\n",
            dir.join("namesrv-kv.json").display()
        ),
    )
    .unwrap();
    let proc = Proc::spawn(
        "namesrv",
        &bin("mqnamesrv"),
        &["-c", conf.to_str().unwrap()],
        &dir.join("logs"),
        &[],
    );
    let addr = format!("127.0.0.1:{port}");
    assert!(
        wait_for_port(&addr, START_TIMEOUT),
        "name server did not start:\n{}",
        proc.output()
    );
    Namesrv { proc, addr }
}

pub struct Broker {
    pub proc: Proc,
    pub addr: String,
    pub name: String,
    pub conf: PathBuf,
    pub namesrv: String,
    pub log_dir: PathBuf,
}

impl Broker {
    /// Starts the broker again with the same config and store (after `proc.kill()`).
    pub fn start_again(&mut self) {
        self.proc = Proc::spawn(
            &self.name,
            &bin("mqbroker"),
            &["-n", &self.namesrv, "-c", self.conf.to_str().unwrap()],
            &self.log_dir,
            &[],
        );
        assert!(
            wait_for_port(&self.addr, START_TIMEOUT),
            "broker did not start again:\n{}",
            self.proc.output()
        );
        self.wait_registered();
    }

    /// Waits until the name server lists this broker again: its port opens before its first
    /// registration arrives, and after a kill -9 the name server dropped its routes, so a
    /// client asking for a route at once would be told the topic has none. Gives up quietly
    /// when `mqadmin` cannot ask (e.g. a name server that only speaks TLS).
    pub fn wait_registered(&self) {
        wait_listed(&self.namesrv, &self.addr, &self.name, &self.proc);
    }

    pub fn restart(&mut self) {
        let code = self.proc.terminate(Duration::from_secs(15));
        assert_eq!(
            code,
            Some(0),
            "broker did not stop cleanly:\n{}",
            self.proc.output()
        );
        self.proc = Proc::spawn(
            &self.name,
            &bin("mqbroker"),
            &["-n", &self.namesrv, "-c", self.conf.to_str().unwrap()],
            &self.log_dir,
            &[],
        );
        assert!(
            wait_for_port(&self.addr, START_TIMEOUT),
            "broker did not restart:\n{}",
            self.proc.output()
        );
        self.wait_registered();
    }
}

/// Waits until the name server at `namesrv` lists the broker at `addr` (see
/// [`Broker::wait_registered`]); gives up quietly when `mqadmin` cannot ask.
fn wait_listed(namesrv: &str, addr: &str, name: &str, proc: &Proc) {
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    while std::time::Instant::now() < deadline {
        let (code, out, _) = mqadmin(&["clusterList", "-n", namesrv]);
        if code != 0 || out.contains(addr) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{name} never registered:\n{}", proc.output());
}

pub fn start_broker(dir: &Path, namesrv: &str, name: &str, extra_conf: &str) -> Broker {
    let port = free_port();
    let conf = dir.join(format!("{name}.conf"));
    std::fs::write(
        &conf,
        format!(
            "brokerClusterName=DefaultCluster\nbrokerName={name}\nbrokerId=0\nbrokerIP1=127.0.0.1\nlistenPort={port}\nstorePathRootDir={}\nmappedFileSizeCommitLog=16777216\n{extra_conf}\n",
            dir.join(name).display()
        ),
    )
    .unwrap();
    let log_dir = dir.join("logs");
    let proc = Proc::spawn(
        name,
        &bin("mqbroker"),
        &["-n", namesrv, "-c", conf.to_str().unwrap()],
        &log_dir,
        &[],
    );
    let addr = format!("127.0.0.1:{port}");
    assert!(
        wait_for_port(&addr, START_TIMEOUT),
        "broker did not start:\n{}",
        proc.output()
    );
    Broker {
        proc,
        addr,
        name: name.to_owned(),
        conf,
        namesrv: namesrv.to_owned(),
        log_dir,
    }
}

/// Creates `topic` with `queues` read and write queues on `broker` with `mqadmin updateTopic`.
pub fn create_topic(ns: &str, broker: &str, topic: &str, queues: u32) {
    let q = queues.to_string();
    let (code, out, err) = mqadmin(&[
        "updateTopic",
        "-n",
        ns,
        "-b",
        broker,
        "-t",
        topic,
        "-r",
        &q,
        "-w",
        &q,
    ]);
    assert_eq!(code, 0, "{out}{err}");
}

/// Runs mqadmin and returns (exit code, stdout, stderr).
pub fn mqadmin(args: &[&str]) -> (i32, String, String) {
    run_command(&bin("mqadmin"), args, &[], Duration::from_secs(30))
}

/// Runs mqadmin until `check(stdout)` holds or `timeout` passes; returns the last stdout.
pub fn mqadmin_until(args: &[&str], timeout: Duration, check: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let (code, out, err) = mqadmin(args);
        if code == 0 && check(&out) {
            return out;
        }
        if std::time::Instant::now() > deadline {
            panic!("mqadmin {args:?} never gave the expected output; last exit {code}\nstdout:\n{out}\nstderr:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A running `ferromq standalone` with its data under `dir/data`.
pub struct Standalone {
    pub proc: Proc,
    pub namesrv: String,
    pub broker: String,
    pub data: PathBuf,
}

pub fn start_standalone(dir: &Path) -> Standalone {
    let (ns_port, broker_port) = (free_port(), free_port());
    let data = dir.join("data");
    let proc = Proc::spawn(
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
        &dir.join("logs"),
        &[],
    );
    let namesrv = format!("127.0.0.1:{ns_port}");
    let broker = format!("127.0.0.1:{broker_port}");
    assert!(
        wait_for_port(&namesrv, START_TIMEOUT) && wait_for_port(&broker, START_TIMEOUT),
        "standalone did not start:\n{}",
        proc.output()
    );
    // Its broker's port opens before its first registration reaches the name server; a client
    // asking for a route at once would be told no broker has the topic.
    wait_listed(&namesrv, &broker, "standalone", &proc);
    Standalone {
        proc,
        namesrv,
        broker,
        data,
    }
}

/// Sends `sig` (`-STOP`, `-CONT`, ...) to process `pid` with `kill`.
pub fn signal(pid: u32, sig: &str) {
    let st = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success(), "kill {sig} {pid} failed");
}
