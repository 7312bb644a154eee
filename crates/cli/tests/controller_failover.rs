//! Controller mode end to end: three controller nodes (openraft), one broker group of three
//! `mqbroker` processes (SYNC_MASTER, `allAckInSyncStateSet`), a Rust producer sending all the
//! time. The master is killed with SIGKILL (3 times; 20 with `FERROMQ_LONG_TESTS=1`) and frozen
//! with SIGSTOP once, and a controller node is stopped midway; each time a new master takes
//! writes, and at the end every message acknowledged SEND_OK is read from the cluster exactly
//! once. Failover times are printed.

mod client_util;
mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_util::runtime;
use common::*;
use ferromq_client::{AdminClient, Message, Producer, PullConsumer, SendStatus};
use ferromq_controller::{start_on, ControllerConfig, ControllerHandle, Peer};

const GROUP: &str = "broker-c";
const TOPIC: &str = "tp_failover";

async fn controllers(dir: &std::path::Path) -> (Vec<Option<ControllerHandle>>, String) {
    let mut listeners = Vec::new();
    for _ in 0..3 {
        listeners.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    }
    let addrs: Vec<String> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect();
    let peers: Vec<Peer> = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| Peer {
            name: format!("n{i}"),
            addr: a.clone(),
        })
        .collect();
    let mut nodes = Vec::new();
    for (i, l) in listeners.into_iter().enumerate() {
        let config = ControllerConfig {
            group: "failover".into(),
            peers: peers.clone(),
            self_id: format!("n{i}"),
            store_path: dir.join(format!("ctrl-n{i}")),
            scan_not_active_broker_interval_ms: 300,
            scan_inactive_master_interval_ms: 300,
            raft_heartbeat_interval_ms: 100,
            raft_election_timeout_min_ms: 400,
            raft_election_timeout_max_ms: 800,
            ..Default::default()
        };
        nodes.push(Some(start_on(l, config).await.unwrap()));
    }
    (nodes, addrs.join(";"))
}

struct Group {
    brokers: Vec<Broker>,
}

impl Group {
    /// The broker the name server routes as master, if any.
    fn master(&self, rt: &tokio::runtime::Runtime, admin: &AdminClient) -> Option<usize> {
        let info = rt.block_on(admin.cluster_info()).ok()?;
        let addr = info.broker_addr_table.get(GROUP)?.master_addr()?.to_owned();
        self.brokers.iter().position(|b| b.addr == addr)
    }
}

#[test]
fn a_new_master_takes_writes_after_each_failure_and_nothing_acknowledged_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let (mut ctrl, ctrl_addrs) = rt.block_on(controllers(dir.path()));
    let ns = start_namesrv(dir.path());
    let n = ns.addr.clone();
    let mut brokers = Vec::new();
    for i in 0..3 {
        let ha = ferromq_testkit::free_port();
        brokers.push(start_broker(
            dir.path(),
            &n,
            &format!("bc{i}"),
            &format!(
                "brokerName={GROUP}\nenableControllerMode=true\ncontrollerAddr={ctrl_addrs}\nbrokerRole=SYNC_MASTER\nallAckInSyncStateSet=true\nhaListenPort={ha}\nbrokerHeartbeatInterval=300\ncontrollerHeartBeatTimeoutMills=2000\nsyncBrokerMetadataPeriod=500\ncheckSyncStateSetPeriod=500\nhaSendHeartbeatInterval=500\nhaHousekeepingInterval=3000\nsyncFlushTimeout=1500\nslaveReadEnable=true\n"
            ),
        ));
    }
    let mut group = Group { brokers };
    let admin = AdminClient::connect(Some(&n)).unwrap();
    let wait_master = |group: &Group, limit: Duration| -> (usize, Duration) {
        let t = Instant::now();
        loop {
            if let Some(m) = group.master(&rt, &admin) {
                return (m, t.elapsed());
            }
            assert!(t.elapsed() < limit, "no master after {limit:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let (first, _) = wait_master(&group, Duration::from_secs(30));
    let master_addr = group.brokers[first].addr.clone();
    create_topic(&n, &master_addr, TOPIC, 4);

    // A producer that never stops: every SEND_OK id is kept.
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let producer = Arc::new(
        Producer::builder("PG_failover")
            .namesrv_addr(&n)
            .retry_times(0)
            .send_timeout(Duration::from_secs(3))
            .build()
            .unwrap(),
    );
    let send_task = {
        let (acked, stop, producer) =
            (Arc::clone(&acked), Arc::clone(&stop), Arc::clone(&producer));
        rt.spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                match producer.send(Message::new(TOPIC, format!("m{i}"))).await {
                    Ok(r) if r.status == SendStatus::SendOk => acked.lock().unwrap().push(r.msg_id),
                    _ => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        })
    };
    let acked_now = || acked.lock().unwrap().len();
    let wait_more = |group: &Group, from: usize, what: &str| {
        let t = Instant::now();
        while acked_now() < from + 20 {
            if t.elapsed() > Duration::from_secs(60) {
                for b in &group.brokers {
                    eprintln!("----- {} ({})\n{}", b.name, b.addr, b.proc.output());
                }
                panic!("no new SEND_OK for 60 s {what} (acked {})", acked_now());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        t.elapsed()
    };
    wait_more(&group, 0, "at the start");

    let kills = if std::env::var("FERROMQ_LONG_TESTS").is_ok_and(|v| v == "1") {
        20
    } else {
        3
    };
    let mut failovers = Vec::new();
    let controller = ferromq_controller::ControllerClient::new(
        ctrl_addrs.split(';').map(str::to_owned).collect(),
    );
    // A kill is only fair once every replica is in sync (the controller elects among those).
    let wait_in_sync = |want: usize| {
        let t = Instant::now();
        loop {
            let n = rt
                .block_on(controller.replica_info(GROUP))
                .map_or(0, |i| i.sync_state.sync_state_set.len());
            if n >= want {
                return;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "only {n} of {want} replicas in sync after 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    for round in 0..kills + 1 {
        wait_in_sync(3);
        let (m, _) = wait_master(&group, Duration::from_secs(60));
        let old_master = loop {
            match rt.block_on(controller.replica_info(GROUP)) {
                Ok(i) if i.master_broker_id.is_some() => break i.master_broker_id,
                other => eprintln!("replica info: {other:?}"),
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let frozen = round == kills;
        if frozen {
            signal(group.brokers[m].proc.pid(), "-STOP");
        } else {
            group.brokers[m].proc.kill();
        }
        if round == 1 {
            // One controller node goes away for good: 2 of 3 still elect.
            let leader = ctrl
                .iter()
                .position(|c| c.as_ref().is_some_and(|c| c.is_leader()))
                .unwrap_or(0);
            if let Some(c) = ctrl[leader].take() {
                rt.block_on(c.stop());
            }
        }
        let killed_at = Instant::now();
        // Sends already answered by the old master may still be arriving.
        std::thread::sleep(Duration::from_millis(200));
        let before = acked_now();
        let elected = loop {
            let now = rt
                .block_on(controller.replica_info(GROUP))
                .ok()
                .and_then(|i| i.master_broker_id);
            if now.is_some() && now != old_master {
                break killed_at.elapsed();
            }
            assert!(
                killed_at.elapsed() < Duration::from_secs(60),
                "no new master elected"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let first_ok = loop {
            if acked_now() > before {
                break killed_at.elapsed();
            }
            assert!(
                killed_at.elapsed() < Duration::from_secs(90),
                "no SEND_OK after the failure"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = wait_more(
            &group,
            before,
            &format!("after losing master {m} (round {round})"),
        );
        eprintln!(
            "round {round}: new master elected after {elected:?}, first SEND_OK after {first_ok:?}"
        );
        failovers.push((elected, first_ok, took));
        if frozen {
            // The frozen master comes back and must not take writes as a second master.
            signal(group.brokers[m].proc.pid(), "-CONT");
            std::thread::sleep(Duration::from_secs(3));
        } else {
            group.brokers[m].start_again();
        }
    }
    // Everyone back, a little more traffic, then stop.
    let before = acked_now();
    wait_more(&group, before, "at the end");
    stop.store(true, Ordering::Relaxed);
    rt.block_on(send_task).unwrap();

    // Every acknowledged message is in the cluster exactly once (read from the master).
    wait_master(&group, Duration::from_secs(60));
    let acked = acked.lock().unwrap().clone();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let consumer = PullConsumer::builder("CG_failover_check")
        .namesrv_addr(n.clone())
        .build()
        .unwrap();
    consumer.subscribe(TOPIC, "*").unwrap();
    rt.block_on(async {
        for mq in consumer.fetch_queues(TOPIC).await.unwrap() {
            let mut offset = 0;
            loop {
                let r = consumer.pull(&mq, offset, 32).await.unwrap();
                if r.messages.is_empty() && r.next_begin_offset >= r.max_offset {
                    break;
                }
                for msg in &r.messages {
                    *seen.entry(msg.msg_id()).or_default() += 1;
                }
                offset = r.next_begin_offset;
            }
        }
    });
    let missing = acked.iter().filter(|id| !seen.contains_key(*id)).count();
    let twice = acked
        .iter()
        .filter(|id| seen.get(*id).is_some_and(|c| *c > 1))
        .count();
    let stat = |f: fn(&(Duration, Duration, Duration)) -> Duration| {
        let mut t: Vec<u128> = failovers.iter().map(|x| f(x).as_millis()).collect();
        t.sort();
        (t[t.len() / 2], t[t.len() - 1])
    };
    let (e50, emax) = stat(|x| x.0);
    let (w50, wmax) = stat(|x| x.1);
    println!(
        "controller failover: {} acknowledged, {} failures (kill -9 x{kills}, SIGSTOP x1, one controller node stopped); new master elected p50 {e50} ms max {emax} ms; first SEND_OK at the client p50 {w50} ms max {wmax} ms",
        acked.len(),
        failovers.len(),
    );
    let cuts: usize = group
        .brokers
        .iter()
        .map(|b| {
            b.proc
                .output()
                .matches("opened again after cutting its log back")
                .count()
        })
        .sum();
    println!("returning masters that cut their log back: {cuts}");
    assert_eq!(missing, 0, "{missing} acknowledged messages lost");
    assert_eq!(twice, 0, "{twice} acknowledged messages stored twice");
    for b in &mut group.brokers {
        let _ = b.proc.terminate(Duration::from_secs(15));
    }
    for c in ctrl.into_iter().flatten() {
        rt.block_on(c.stop());
    }
    drop(ns);
}
