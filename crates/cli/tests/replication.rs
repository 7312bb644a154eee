//! A SYNC_MASTER and its SLAVE as separate `mqbroker` processes, run as a user would:
//! `clusterList` shows both, `haStatus` reports the link from both ends, the Rust client sees
//! SEND_OK, SLAVE_NOT_AVAILABLE and FLUSH_SLAVE_TIMEOUT, and a push consumer keeps consuming
//! from the slave when the master is killed, losing nothing (duplicates are counted).

mod client_util;
mod common;

use std::time::{Duration, Instant};

use client_util::{runtime, Collector};
use common::*;
use ferromq_client::{ConsumeFrom, ConsumeStatus, Message, Producer, PushConsumer, SendStatus};

const WAIT: Duration = Duration::from_secs(30);

fn ok(args: &[&str]) -> String {
    let (code, out, err) = mqadmin(args);
    assert_eq!(code, 0, "mqadmin {args:?}\nstdout:\n{out}\nstderr:\n{err}");
    out
}

/// Polls `check` every 100 ms (the client's tasks run on the runtime's own threads).
fn poll(timeout: Duration, check: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !check() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    true
}

#[test]
fn master_and_slave_processes_as_a_user_runs_them() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let ha_port = ferromq_testkit::free_port();
    let mut master = start_broker(
        dir.path(),
        &ns.addr,
        "broker-ha",
        &format!("brokerRole=SYNC_MASTER\nhaListenPort={ha_port}\nhaSendHeartbeatInterval=500\nhaHousekeepingInterval=4000\nsyncFlushTimeout=1500\n"),
    );
    let n = ns.addr.clone();
    create_topic(&n, &master.addr, "tp_ha", 4);
    let rt = runtime();
    let producer = Producer::builder("PG_ha")
        .namesrv_addr(&n)
        .retry_times(0)
        .build()
        .unwrap();
    let send = |body: &str| {
        rt.block_on(producer.send(Message::new("tp_ha", body.to_owned())))
            .unwrap()
    };
    // No slave: stored, SLAVE_NOT_AVAILABLE.
    assert_eq!(send("alone").status, SendStatus::SlaveNotAvailable);

    let slave = start_broker(
        dir.path(),
        &n,
        "broker-ha-s",
        "brokerName=broker-ha\nbrokerId=1\nbrokerRole=SLAVE\nslaveReadEnable=true\nhaSendHeartbeatInterval=500\nhaHousekeepingInterval=4000\n",
    );
    // clusterList: the master (BID 0) and the slave (BID 1) of broker-ha.
    let out = mqadmin_until(&["clusterList", "-n", &n], WAIT, |o| {
        o.contains(&master.addr) && o.contains(&slave.addr)
    });
    let line_of = |addr: &str| out.lines().find(|l| l.contains(addr)).unwrap().to_owned();
    assert!(
        line_of(&master.addr).contains("broker-ha") && line_of(&master.addr).contains(" 0 "),
        "{out}"
    );
    assert!(line_of(&slave.addr).contains(" 1 "), "{out}");

    // The slave learns the master's HA address from the name server: sends become SEND_OK.
    let deadline = Instant::now() + WAIT;
    while send("joined").status != SendStatus::SendOk {
        assert!(Instant::now() < deadline, "never SEND_OK with the slave in");
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = ok(&["haStatus", "-n", &n, "-b", &master.addr]);
    assert!(out.contains("#SlaveNum\t1\n#InSyncSlaveNum\t1"), "{out}");
    assert!(out.contains(" OK "), "{out}");
    let out = ok(&["haStatus", "-n", &n, "-b", &slave.addr]);
    assert!(
        out.contains(&format!("#MasterAddr\t127.0.0.1:{ha_port}\n")),
        "{out}"
    );
    let out = ok(&["haStatus", "-n", &n, "-c", "DefaultCluster"]);
    assert!(
        out.contains(&format!("#MasterAddr\t{}", master.addr)),
        "{out}"
    );

    // A frozen slave: FLUSH_SLAVE_TIMEOUT after syncFlushTimeout.
    signal(slave.proc.pid(), "-STOP");
    let status = send("frozen").status;
    signal(slave.proc.pid(), "-CONT");
    assert_eq!(status, SendStatus::FlushSlaveTimeout);
    let deadline = Instant::now() + WAIT;
    while send("thawed").status != SendStatus::SendOk {
        assert!(
            Instant::now() < deadline,
            "never SEND_OK after the slave thawed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // 300 acknowledged messages, a slow consumer, and the master killed mid-way: the consumer
    // finishes from the slave.
    let mut sent = std::collections::HashSet::new();
    for i in 0..300 {
        let r = send(&format!("fo-{i}"));
        assert_eq!(r.status, SendStatus::SendOk);
        sent.insert(r.msg_id);
    }
    let got = Collector::default();
    let g = got.clone();
    let consumer = PushConsumer::builder("CG_ha")
        .namesrv_addr(&n)
        .subscribe("tp_ha", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .consume_thread_count(1)
        .pull_batch_size(4)
        .listener_concurrently(move |msgs, _ctx| {
            let g = g.clone();
            async move {
                for m in &msgs {
                    g.push(m, 0);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                ConsumeStatus::Success
            }
        })
        .build()
        .unwrap();
    rt.block_on(consumer.start()).unwrap();
    assert!(poll(WAIT, || got.len() >= 40), "the consumer got nothing");
    master.proc.kill();
    let consumed_before_kill = got.len();
    let all = poll(Duration::from_secs(120), || {
        let d = got.distinct();
        sent.iter().all(|id| d.contains(id))
    });
    let distinct = got.distinct();
    let missing = sent.iter().filter(|id| !distinct.contains(*id)).count();
    assert!(
        all,
        "{missing} of 300 acknowledged messages never consumed after the master died"
    );
    let ours = got
        .snapshot()
        .into_iter()
        .filter(|m| sent.contains(&m.msg_id))
        .count();
    println!(
        "failover: consumed {consumed_before_kill} before the kill, all 300 after; {} duplicates",
        ours - 300
    );
    rt.block_on(consumer.shutdown());
    rt.block_on(producer.shutdown());
}

/// `ferromq standalone --replicas 2`: one command, a SYNC_MASTER and its slave; SEND_OK means
/// the slave holds the message, and both stop cleanly.
#[test]
fn standalone_with_replicas_keeps_two_copies() {
    let dir = tempfile::tempdir().unwrap();
    let (ns_port, broker_port) = (ferromq_testkit::free_port(), ferromq_testkit::free_port());
    let data = dir.path().join("data");
    let mut proc = ferromq_testkit::Proc::spawn(
        "standalone",
        &bin("ferromq"),
        &[
            "standalone",
            "--replicas",
            "2",
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
    let n = format!("127.0.0.1:{ns_port}");
    let slave = format!("127.0.0.1:{}", broker_port + 10);
    assert!(
        ferromq_testkit::wait_for_port(&slave, WAIT),
        "{}",
        proc.output()
    );
    mqadmin_until(&["clusterList", "-n", &n], WAIT, |o| o.contains(&slave));
    let rt = runtime();
    let producer = Producer::builder("PG_sa")
        .namesrv_addr(&n)
        .retry_times(0)
        .build()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let id = loop {
        let r = rt
            .block_on(producer.send(Message::new("tp_sa", "two copies")))
            .unwrap();
        if r.status == SendStatus::SendOk {
            break r.msg_id;
        }
        assert!(Instant::now() < deadline, "never SEND_OK: {:?}", r.status);
        std::thread::sleep(Duration::from_millis(200));
    };
    rt.block_on(producer.shutdown());
    let out = mqadmin_until(
        &["queryMsgById", "-n", &n, "-t", "tp_sa", "-i", &id],
        WAIT,
        |o| o.contains("tp_sa"),
    );
    assert!(out.contains("Queue Offset:"), "{out}");
    // The slave holds it too (once it copied the topic from the master, it shows its queues).
    let admin = ferromq_client::AdminClient::connect(Some(&n)).unwrap();
    let held = poll(WAIT, || {
        rt.block_on(admin.topic_stats(&slave, "tp_sa"))
            .is_ok_and(|t| t.offset_table.values().map(|o| o.max_offset).sum::<i64>() >= 1)
    });
    assert!(held, "the slave does not hold the message");
    assert_eq!(proc.terminate(WAIT), Some(0), "{}", proc.output());
}

/// The fourth SendStatus, as the Rust client sees it: SYNC_FLUSH with a 1 ms flush timeout
/// answers FLUSH_DISK_TIMEOUT. One large message alone may reach a fast disk within 1 ms, so
/// bursts of 8 async sends of 2 MB each put 16 MB behind one group commit.
#[test]
fn the_rust_client_sees_flush_disk_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-fdt",
        "flushDiskType=SYNC_FLUSH\nsyncFlushTimeout=1\nmappedFileSizeCommitLog=268435456\n",
    );
    create_topic(&ns.addr, &broker.addr, "tp_fdt", 1);
    let rt = runtime();
    let producer = Producer::builder("PG_fdt")
        .namesrv_addr(&ns.addr)
        .retry_times(0)
        .build()
        .unwrap();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    // Bodies that do not compress: xorshift letters.
    let bodies: Vec<String> = (0..8)
        .map(|_| {
            (0..2_000_000)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (b'a' + (state % 26) as u8) as char
                })
                .collect()
        })
        .collect();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let statuses = rt.block_on(async {
            let mut pending = Vec::new();
            for body in &bodies {
                pending.push(
                    producer
                        .send_async(Message::new("tp_fdt", body.clone()))
                        .await
                        .unwrap(),
                );
            }
            let mut out = Vec::new();
            for f in pending {
                out.push(f.await.unwrap().status);
            }
            out
        });
        seen.extend(statuses);
        if seen.contains(&SendStatus::FlushDiskTimeout) {
            break;
        }
    }
    assert!(seen.contains(&SendStatus::FlushDiskTimeout), "{seen:?}");
    rt.block_on(producer.shutdown());
}
