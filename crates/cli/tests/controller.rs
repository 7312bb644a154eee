//! `ferromq controller` / `mqcontroller` processes and mqadmin's controller commands: three
//! controller nodes from generated confs on free loopback ports elect a leader, answer the
//! commands as RocketMQ's tools print them, refuse bad input with RocketMQ-style messages, and
//! stop cleanly on SIGTERM. Replicas are registered by the test itself through
//! `ControllerClient` (brokers do not use the controller yet).

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use ferromq_controller::body::SyncStateSet;
use ferromq_controller::headers::ControllerHeartbeatRequestHeader;
use ferromq_controller::ControllerClient;
use ferromq_testkit::{free_port, wait_for_port, Proc};

struct Group {
    procs: Vec<Proc>,
    addrs: Vec<String>,
    confs: Vec<String>,
}

impl Group {
    fn all(&self) -> String {
        self.addrs.join(";")
    }
}

/// Writes three controller confs (`controllerDLegerGroup` g1, nodes n0..n2) and starts node 0
/// as `mqcontroller`, the others as `ferromq controller`.
fn start_group(dir: &Path) -> Group {
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let peers: Vec<String> = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| format!("n{i}-{a}"))
        .collect();
    let mut procs = Vec::new();
    let mut confs = Vec::new();
    for i in 0..3 {
        let conf = dir.join(format!("controller-n{i}.conf"));
        std::fs::write(
            &conf,
            format!(
                "controllerDLegerGroup=g1\ncontrollerDLegerPeers={}\ncontrollerDLegerSelfId=n{i}\ncontrollerStorePath={}\nscanNotActiveBrokerInterval=1000\n",
                peers.join(";"),
                dir.join(format!("n{i}")).display()
            ),
        )
        .unwrap();
        let c = conf.to_str().unwrap().to_owned();
        let proc = if i == 0 {
            Proc::spawn(
                "n0",
                &bin("mqcontroller"),
                &["-c", &c],
                &dir.join("logs"),
                &[],
            )
        } else {
            Proc::spawn(
                &format!("n{i}"),
                &bin("ferromq"),
                &["controller", "-c", &c],
                &dir.join("logs"),
                &[],
            )
        };
        confs.push(c);
        procs.push(proc);
    }
    for (p, a) in procs.iter().zip(&addrs) {
        assert!(
            wait_for_port(a, START_TIMEOUT),
            "controller did not start:\n{}",
            p.output()
        );
    }
    Group {
        procs,
        addrs,
        confs,
    }
}

/// Waits until `addr` names a leader; returns its id line's value.
fn leader_of(addr: &str) -> String {
    let out = mqadmin_until(
        &["getControllerMetaData", "-a", addr],
        Duration::from_secs(20),
        |o| o.contains("#ControllerLeaderAddress\t127.0.0.1:"),
    );
    out.lines()
        .find_map(|l| l.strip_prefix("#ControllerLeaderId\t"))
        .unwrap()
        .to_owned()
}

#[test]
fn three_controller_processes_elect_a_leader_and_stop_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = start_group(dir.path());
    for (i, p) in g.procs.iter().enumerate() {
        // The start line follows the bind by a moment.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !p.output().contains("boot success") && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = p.output();
        assert!(
            out.contains(&format!(
                "The Controller Server boot success. serializeType=JSON, node n{i} of group g1 listening on {}",
                g.addrs[i]
            )) && out.contains(&format!("peers n0-{};n1-{};n2-{}", g.addrs[0], g.addrs[1], g.addrs[2])),
            "{out}"
        );
    }
    // Every node names the same leader, and the peers as RocketMQ prints them.
    let leaders: Vec<String> = g.addrs.iter().map(|a| leader_of(a)).collect();
    assert!(leaders.iter().all(|l| l == &leaders[0]), "{leaders:?}");
    let (code, out, err) = mqadmin(&["getControllerMetaData", "-a", &g.addrs[1]]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("\n#ControllerGroup\tg1\n#ControllerLeaderId\tn"),
        "{out}"
    );
    assert!(
        out.contains(&format!("\n#Peer:\tn2:{}", g.addrs[2])),
        "{out}"
    );

    // -p prints the effective settings and exits.
    let (code, out, err) = run_command_bin("mqcontroller", &["-c", &g.confs[1], "-p"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("controllerDLegerSelfId=n1\n")
            && out.contains("scanNotActiveBrokerInterval=1000\n"),
        "{out}"
    );
    // Without -c, or with a bad file, it refuses to start.
    let (code, _, err) = run_command_bin("mqcontroller", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("controllerDLegerPeers"), "{err}");
    let bad = dir.path().join("bad.conf");
    std::fs::write(
        &bad,
        "controllerDLegerPeers=n0-127.0.0.1:1\ncontrollerDLegerSelfId=n7\n",
    )
    .unwrap();
    let (code, _, err) = run_command_bin("ferromq", &["controller", "-c", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("controllerDLegerSelfId"), "{err}");
    // Its own peer address taken (by a running node): a one-line error, exit 1.
    let busy = dir.path().join("busy.conf");
    std::fs::write(
        &busy,
        format!(
            "controllerDLegerPeers=n0-{}\ncontrollerDLegerSelfId=n0\ncontrollerStorePath={}\n",
            g.addrs[0],
            dir.path().join("busy").display()
        ),
    )
    .unwrap();
    let (code, _, err) = run_command_bin("mqcontroller", &["-c", busy.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "error: controller failed to start: cannot listen on {}",
            g.addrs[0]
        )),
        "{err}"
    );

    // Stopping the leader: the other two elect another.
    let li: usize = leaders[0][1..].parse().unwrap();
    assert_eq!(
        g.procs[li].terminate(Duration::from_secs(15)),
        Some(0),
        "{}",
        g.procs[li].output()
    );
    assert!(g.procs[li].output().contains("controller stopped"));
    let other = (li + 1) % 3;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let l = leader_of(&g.addrs[other]);
        if l != leaders[0] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no new leader after n{li} stopped"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for p in g.procs.iter_mut() {
        if p.pid() != 0 {
            assert_eq!(
                p.terminate(Duration::from_secs(15)),
                Some(0),
                "{}",
                p.output()
            );
        }
    }
}

fn run_command_bin(name: &str, args: &[&str]) -> (i32, String, String) {
    ferromq_testkit::run_command(&bin(name), args, &[], Duration::from_secs(30))
}

fn beat(name: &str, id: i64, addr: &str) -> ControllerHeartbeatRequestHeader {
    ControllerHeartbeatRequestHeader {
        cluster_name: "C".into(),
        broker_addr: addr.into(),
        broker_name: name.into(),
        broker_id: Some(id),
        epoch: Some(0),
        max_offset: Some(0),
        confirm_offset: Some(0),
        heartbeat_timeout_mills: Some(60_000),
        election_priority: Some(0),
    }
}

#[test]
fn mqadmin_controller_commands_against_three_processes() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = start_group(dir.path());
    leader_of(&g.addrs[0]);
    let all = g.all();

    // Two replicas of broker-a register as a RocketMQ 5.2 broker would, keep beating, the first
    // becomes master and reports the second in sync.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let replica_addrs = [
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    ];
    let client = ControllerClient::new(g.addrs.clone());
    rt.block_on(async {
        let (id1, _) = client
            .join("C", "broker-a", &replica_addrs[0])
            .await
            .unwrap();
        let (id2, _) = client
            .join("C", "broker-a", &replica_addrs[1])
            .await
            .unwrap();
        assert_eq!((id1, id2), (1, 2));
        client
            .heartbeat(&beat("broker-a", 1, &replica_addrs[0]))
            .await
            .unwrap();
        client
            .heartbeat(&beat("broker-a", 2, &replica_addrs[1]))
            .await
            .unwrap();
        let e = client
            .elect_master("C", "broker-a", Some(1), false)
            .await
            .unwrap();
        assert_eq!(e.master.broker_id, 1);
        let set = SyncStateSet {
            sync_state_set: [1, 2].into_iter().collect(),
            sync_state_set_epoch: e.master.sync_state_set_epoch,
        };
        client
            .alter_sync_state_set("broker-a", 1, e.master.master_epoch, &set)
            .await
            .unwrap();
    });
    let beats = {
        let client = client.clone();
        let addrs = replica_addrs.clone();
        rt.spawn(async move {
            loop {
                for (i, a) in addrs.iter().enumerate() {
                    let _ = client.heartbeat(&beat("broker-a", i as i64 + 1, a)).await;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };

    // getSyncStateSet: master 1, both in sync and alive.
    let (code, out, err) = mqadmin(&["getSyncStateSet", "-a", &all, "-b", "broker-a"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("\n#brokerName\tbroker-a\n#MasterBrokerId\t1\n#MasterAddr\t{}\n#MasterEpoch\t1\n#SyncStateSetEpoch\t", replica_addrs[0])),
        "{out}"
    );
    assert!(out.contains("#SyncStateSetNums\t2\n"), "{out}");
    assert!(
        out.contains(&format!("\nInSyncReplica:\tReplicaIdentity{{brokerName='broker-a', brokerId=2, brokerAddress='{}', alive=true}}\n", replica_addrs[1])),
        "{out}"
    );

    // electMaster: replica 2 takes over (Java's -bn for the broker name, -b for its id).
    let (code, out, err) = mqadmin(&[
        "electMaster",
        "-a",
        &all,
        "-c",
        "C",
        "-bn",
        "broker-a",
        "-b",
        "2",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "\n#ClusterName\tC\n#BrokerName\tbroker-a\n#BrokerMasterAddr\t{}\n#MasterEpoch\t2\n#SyncStateSetEpoch\t3\n\t#Broker\t1\t{}\n\t#Broker\t2\t{}\n",
            replica_addrs[1], replica_addrs[0], replica_addrs[1]
        )
    );
    let (code, out, _) = mqadmin(&["getSyncStateSet", "-a", &g.addrs[2], "-b", "broker-a"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("#MasterBrokerId\t2\n#MasterAddr") && out.contains("#SyncStateSetNums\t1\n"),
        "{out}"
    );
    assert!(
        out.contains("\nNotInSyncReplica:\tReplicaIdentity{brokerName='broker-a', brokerId=1"),
        "{out}"
    );
    // Electing the master again is refused, as RocketMQ does.
    let (code, _, err) = mqadmin(&[
        "electMaster",
        "-a",
        &all,
        "-c",
        "C",
        "-bn",
        "broker-a",
        "-b",
        "2",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("ReElectMasterSubCommand command failed")
            && err.contains("CODE: 2011 (CONTROLLER_MASTER_STILL_EXIST)"),
        "{err}"
    );

    // getControllerConfig / updateControllerConfig, node by node.
    let two = format!("{};{}", g.addrs[0], g.addrs[1]);
    let (code, out, err) = mqadmin(&["getControllerConfig", "-a", &two]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("============{}============\n", g.addrs[0])),
        "{out}"
    );
    assert!(
        out.contains(&format!("============{}============\n", g.addrs[1])),
        "{out}"
    );
    assert!(
        out.contains(&format!("{:<50}=  n1\n", "controllerDLegerSelfId")),
        "{out}"
    );
    assert!(
        out.contains(&format!("{:<50}=  false\n", "enableElectUncleanMaster")),
        "{out}"
    );
    let (code, out, err) = mqadmin(&[
        "updateControllerConfig",
        "-a",
        &two,
        "-k",
        "enableElectUncleanMaster",
        "-v",
        "true",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "update controller config success![{}, {}]\nenableElectUncleanMaster : true\n",
            g.addrs[0], g.addrs[1]
        )
    );
    let (_, out, _) = mqadmin(&["getControllerConfig", "-a", &g.addrs[1]]);
    assert!(
        out.contains(&format!("{:<50}=  true\n", "enableElectUncleanMaster")),
        "{out}"
    );
    let (_, out, _) = mqadmin(&["getControllerConfig", "-a", &g.addrs[2]]);
    assert!(
        out.contains(&format!("{:<50}=  false\n", "enableElectUncleanMaster")),
        "{out}"
    );
    let (code, _, err) = mqadmin(&[
        "updateControllerConfig",
        "-a",
        &all,
        "-k",
        "controllerDLegerPeers",
        "-v",
        "x",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("UpdateControllerConfigSubCommand command failed")
            && err.contains("cannot be changed while the controller runs"),
        "{err}"
    );

    // Bad input: unknown broker names, unreachable or malformed addresses, missing options.
    let (code, out, err) = mqadmin(&["getSyncStateSet", "-a", &all, "-b", "broker-nope"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.contains("GetSyncStateSetSubCommand command failed")
            && err.contains("CODE: 2008 (CONTROLLER_BROKER_METADATA_NOT_EXIST)")
            && err.contains("broker-nope"),
        "{err}"
    );
    let (code, _, err) = mqadmin(&[
        "electMaster",
        "-a",
        &all,
        "-c",
        "C",
        "-bn",
        "broker-nope",
        "-b",
        "1",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("CODE: 2010 (CONTROLLER_BROKER_NEED_TO_BE_REGISTERED)"),
        "{err}"
    );
    let (code, _, err) = mqadmin(&[
        "electMaster",
        "-a",
        &all,
        "-c",
        "C",
        "-bn",
        "broker-a",
        "-b",
        "7",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("CODE: 2012 (CONTROLLER_ELECT_MASTER_FAILED)"),
        "{err}"
    );
    let (code, _, err) = mqadmin(&[
        "cleanBrokerMetadata",
        "-a",
        &all,
        "-c",
        "C",
        "-bn",
        "broker-nope",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("CleanControllerBrokerMetaSubCommand command failed")
            && err.contains("Broker broker-nope is not existed"),
        "{err}"
    );
    let (code, _, err) = mqadmin(&["cleanBrokerMetadata", "-a", &all, "-bn", "broker-a"]);
    assert_eq!(code, 1);
    assert!(err.contains("clusterName option can not be empty"), "{err}");
    let dead = format!("127.0.0.1:{}", free_port());
    for args in [
        vec!["getControllerMetaData", "-a", dead.as_str()],
        vec!["getSyncStateSet", "-a", dead.as_str(), "-b", "broker-a"],
        vec!["getControllerConfig", "-a", dead.as_str()],
        vec![
            "electMaster",
            "-a",
            dead.as_str(),
            "-c",
            "C",
            "-bn",
            "broker-a",
            "-b",
            "1",
        ],
    ] {
        let (code, out, err) = mqadmin(&args);
        assert_eq!((code, out.as_str()), (1, ""), "{args:?}");
        assert!(
            err.contains("command failed") && err.contains(&format!("connect to {dead} failed")),
            "{args:?}: {err}"
        );
    }
    let (code, _, err) = mqadmin(&["getControllerMetaData", "-a", "nohost"]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid address `nohost`"), "{err}");
    let (code, _, _) = mqadmin(&["getSyncStateSet", "-a", &all]);
    assert_eq!(code, 1);
    // A dead address first in -a: the next one answers.
    let (code, out, err) = mqadmin(&[
        "getSyncStateSet",
        "-a",
        &format!("{dead};{all}"),
        "-b",
        "broker-a",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("#MasterBrokerId\t2\n"), "{out}");

    // -c takes the broker names of a cluster from the name server (-n): broker-a of
    // DefaultCluster, registered there by a real broker, plus broker-b the controller does
    // not know and leaves out; an unknown cluster fails as RocketMQ's CommandUtil does.
    let ns = start_namesrv(dir.path());
    let _broker_a = start_broker(dir.path(), &ns.addr, "broker-a", "");
    let _broker_b = start_broker(dir.path(), &ns.addr, "broker-b", "");
    let out = mqadmin_until(
        &[
            "getSyncStateSet",
            "-a",
            &all,
            "-c",
            "DefaultCluster",
            "-n",
            &ns.addr,
        ],
        Duration::from_secs(20),
        |o| o.contains("#brokerName\tbroker-a\n#MasterBrokerId\t2\n"),
    );
    assert!(!out.contains("broker-b"), "{out}");
    let (code, _, err) = mqadmin(&[
        "getSyncStateSet",
        "-a",
        &all,
        "-c",
        "NoCluster",
        "-n",
        &ns.addr,
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Make sure the specified clusterName exists"),
        "{err}"
    );

    // cleanBrokerMetadata: forget replica 1 (alive, hence -l).
    let (code, out, err) = mqadmin(&[
        "cleanBrokerMetadata",
        "-a",
        &all,
        "-c",
        "C",
        "-bn",
        "broker-a",
        "-b",
        "1",
        "-l",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "clear broker broker-a metadata from controller success! \n"
    );
    let (_, out, _) = mqadmin(&["getSyncStateSet", "-a", &all, "-b", "broker-a"]);
    assert!(!out.contains("brokerId=1,"), "{out}");

    beats.abort();
    rt.block_on(client.close());
    drop(rt);
    for p in g.procs.iter_mut() {
        assert_eq!(
            p.terminate(Duration::from_secs(15)),
            Some(0),
            "{}",
            p.output()
        );
    }
}
