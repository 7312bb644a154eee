//! How cost grows with work (issue 15, "Scale"): one broker with 1,000 / 5,000 / 10,000 topics
//! of 8 queues and 1,000 subscription groups, and 5,000 client connections.
//!
//! Runs only with `FERROMQ_LONG_TESTS=1` (several minutes; build with `--release` for figures
//! worth reading): `FERROMQ_LONG_TESTS=1 cargo test --release -p ferromq-cli --test scale --
//! --nocapture`. `FERROMQ_SCALE_TOPICS=1000,10000` picks the sizes, `FERROMQ_SCALE_CONNS` the
//! number of connections (0: none). The broker holds no descriptor for its mapped files (it once
//! held one per consume-queue file, two per topic after the sends, and ran out at 10,000 topics
//! and 5,000 connections), so the connections are what need `ulimit -n`: above about 6,000.
//!
//! For each size the topics and groups are written as `topics.json` and
//! `subscriptionGroup.json` (RocketMQ's formats) before the broker starts. The test asserts
//! correctness only: the name server routes sampled topics to the broker with 8 queues, a send to
//! every topic succeeds, the groups are loaded, a body compressed the RocketMQ way and a split
//! registration are both accepted, and after a clean restart (with `compressedRegister` and
//! `enableSplitRegistration` on) and after a kill -9 every sampled topic routes again and keeps
//! its messages. Timings, sizes and RSS are printed as a table, never asserted.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{start_broker, start_namesrv, Broker, START_TIMEOUT};
use ferromq_client::{AdminClient, Message, Producer, SendStatus};
use ferromq_proto::body::{
    CreateTopicListRequestBody, DataVersion, JsonBody, RegisterBrokerBody, SubscriptionGroupConfig,
    SubscriptionGroupWrapper, TopicConfig, TopicConfigSerializeWrapper,
};
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::{BrokerIdentityHeader, RegisterBrokerRequestHeader};
use ferromq_proto::RemotingCommand;
use ferromq_testkit::wait_for_port;

const QUEUES: i32 = 8;
const GROUPS: usize = 1_000;
/// Topics whose route is timed and checked after each start.
const ROUTE_SAMPLES: usize = 1_000;
/// Sends in flight at once.
const SEND_CONCURRENCY: usize = 64;
/// Topics created one request each, and in one list request, on the full table.
const CREATE_ONE: usize = 20;
const CREATE_LIST: usize = 1_000;

fn long_tests() -> bool {
    std::env::var("FERROMQ_LONG_TESTS").is_ok_and(|v| v == "1")
}

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(name) {
        Ok(v) => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) => default.to_vec(),
    }
}

fn topic_name(i: usize) -> String {
    format!("scale-{i:05}")
}

/// One row of the figures table.
#[derive(Default)]
struct Figures {
    topics: usize,
    start_ms: u128,
    routable_ms: u128,
    rss_idle_mb: f64,
    rss_after_send_mb: f64,
    plain_bytes: usize,
    compressed_bytes: usize,
    plain_register_ms: f64,
    compressed_register_ms: f64,
    split_register_ms: f64,
    create_one_ms: f64,
    create_list_ms: f64,
    route_p50_us: u64,
    route_p99_us: u64,
    send_cold_per_s: f64,
    send_warm_per_s: f64,
    restart_ms: u128,
    restart_routable_ms: u128,
    kill9_recovery_ms: u128,
    kill9_routable_ms: u128,
    conns: Option<(usize, f64)>,
}

#[test]
fn ten_thousand_topics_register_route_send_and_recover() {
    if !long_tests() {
        eprintln!("skipped: set FERROMQ_LONG_TESTS=1 to run the scale test");
        return;
    }
    let sizes = env_list("FERROMQ_SCALE_TOPICS", &[1_000, 5_000, 10_000]);
    let conns = env_list("FERROMQ_SCALE_CONNS", &[5_000])
        .first()
        .copied()
        .unwrap_or(0);
    let largest = sizes.iter().copied().max().unwrap_or(0);
    let rows: Vec<Figures> = sizes
        .iter()
        .map(|&n| run(n, if n == largest { conns } else { 0 }))
        .collect();
    print_table(&rows);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn run(n: usize, conns: usize) -> Figures {
    let mut f = Figures {
        topics: n,
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let name = "broker-scale";
    let topics = topic_table(n);
    write_metadata(&dir.path().join(name).join("config"), &topics);

    let t = Instant::now();
    let mut broker = start_broker(dir.path(), &ns.addr, name, "");
    f.start_ms = t.elapsed().as_millis();
    let rt = runtime();
    let admin = AdminClient::connect(Some(&ns.addr))
        .unwrap()
        .with_timeout(Duration::from_secs(30));
    let samples: Vec<String> = (0..ROUTE_SAMPLES.min(n))
        .map(|k| topic_name(k * n / ROUTE_SAMPLES.min(n)))
        .chain([topic_name(n - 1)])
        .collect();
    rt.block_on(wait_routable(&admin, &broker.addr, &topic_name(n - 1)));
    f.routable_ms = t.elapsed().as_millis();
    f.rss_idle_mb = rss_mb(broker.proc.pid());

    // Every sampled topic routes to the broker with its 8 queues; the latency of each query.
    let mut lat = rt.block_on(check_routes(&admin, &broker.addr, &samples));
    lat.sort_unstable();
    f.route_p50_us = lat[lat.len() / 2];
    f.route_p99_us = lat[lat.len() * 99 / 100];

    // The groups were loaded.
    let groups = rt
        .block_on(admin.all_subscription_group(&broker.addr))
        .unwrap();
    let scale_groups = groups
        .subscription_group_table
        .keys()
        .filter(|g| g.starts_with("GID_scale_"))
        .count();
    assert_eq!(scale_groups, GROUPS);

    // Registration: the body this broker sends, plain and compressed, timed against the name
    // server from a probe broker of another cluster (so the real broker's routes stay intact).
    let wrapper = TopicConfigSerializeWrapper {
        data_version: DataVersion::new(1),
        topic_config_table: topics.clone(),
        ..Default::default()
    };
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: wrapper.clone(),
        ..Default::default()
    };
    let plain = body.encode(false);
    let compressed = body.encode(true);
    f.plain_bytes = plain.len();
    f.compressed_bytes = compressed.len();
    rt.block_on(async {
        f.plain_register_ms = register_probe(&admin, &ns.addr, &[plain], false).await;
        // Java brokers send a zlib body with `compressed=false`; FerroMQ says true. Both decode.
        f.compressed_register_ms =
            register_probe(&admin, &ns.addr, std::slice::from_ref(&compressed), true).await;
        register_probe(&admin, &ns.addr, &[compressed], false).await;
        let parts: Vec<Vec<u8>> = split(&wrapper, 800)
            .into_iter()
            .map(|w| {
                RegisterBrokerBody {
                    topic_config_serialize_wrapper: w,
                    ..Default::default()
                }
                .encode(true)
            })
            .collect();
        f.split_register_ms = register_probe(&admin, &ns.addr, &parts, true).await;
        let route = admin.topic_route(&topic_name(n - 1)).await.unwrap();
        assert!(
            route
                .queue_datas
                .iter()
                .any(|q| q.broker_name == PROBE_NAME),
            "the split, compressed registration did not reach the last topic"
        );
        unregister_probe(&admin, &ns.addr).await;
    });

    // Topic creation on a full table: one topic per UPDATE_AND_CREATE_TOPIC, then 1,000 in one
    // UPDATE_AND_CREATE_TOPIC_LIST; both reach the name server.
    rt.block_on(async {
        let t = Instant::now();
        for i in 0..CREATE_ONE {
            let config = TopicConfig {
                read_queue_nums: QUEUES,
                write_queue_nums: QUEUES,
                ..TopicConfig::new(format!("scale-one-{i:03}"))
            };
            admin.create_topic(&broker.addr, &config).await.unwrap();
        }
        f.create_one_ms = t.elapsed().as_secs_f64() * 1e3 / CREATE_ONE as f64;
        let list = CreateTopicListRequestBody {
            topic_config_list: (0..CREATE_LIST)
                .map(|i| TopicConfig {
                    read_queue_nums: QUEUES,
                    write_queue_nums: QUEUES,
                    ..TopicConfig::new(format!("scale-list-{i:04}"))
                })
                .collect(),
        };
        let cmd = RemotingCommand::bare_request(request::UPDATE_AND_CREATE_TOPIC_LIST)
            .with_body(bytes::Bytes::from(list.to_json()));
        let t = Instant::now();
        let resp = admin.rpc().call(&broker.addr, cmd).await.unwrap();
        f.create_list_ms = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
        let created = [
            format!("scale-one-{:03}", CREATE_ONE - 1),
            format!("scale-list-{:04}", CREATE_LIST - 1),
        ];
        for topic in &created {
            wait_routable(&admin, &broker.addr, topic).await;
        }
        check_routes(&admin, &broker.addr, &created).await;
    });

    // Sends spread over every topic: the first pass fetches each topic's route, the second has
    // them cached. Each send is the first to its queue (the producer moves to the next queue),
    // so both include creating that queue's consume-queue file.
    let producer = Producer::builder("PG_scale")
        .namesrv_addr(ns.addr.clone())
        .instance_name(format!("scale-{n}"))
        .build()
        .unwrap();
    f.send_cold_per_s = rt.block_on(send_to_all(&producer, n));
    f.send_warm_per_s = rt.block_on(send_to_all(&producer, n));
    f.rss_after_send_mb = rss_mb(broker.proc.pid());
    rt.block_on(producer.shutdown());

    if conns > 0 {
        f.conns = Some(rt.block_on(open_connections(&broker, conns)));
    }

    // The figures so far, in case a restart fails.
    println!("{n} topics, before the restarts:");
    print_table(std::slice::from_ref(&f));

    // Clean restart, now registering compressed and split.
    let code = broker.proc.terminate(Duration::from_secs(60));
    assert_eq!(code, Some(0), "broker did not stop cleanly");
    let mut conf = std::fs::read_to_string(&broker.conf).unwrap();
    conf.push_str("compressedRegister=true\nenableSplitRegistration=true\n");
    std::fs::write(&broker.conf, conf).unwrap();
    let (ms, routable) = restart(&mut broker, &rt, &admin, n);
    (f.restart_ms, f.restart_routable_ms) = (ms, routable);
    rt.block_on(check_routes(&admin, &broker.addr, &samples));
    rt.block_on(check_kept(&admin, &broker.addr, &samples));

    // kill -9 and recovery.
    broker.proc.kill();
    let (ms, routable) = restart(&mut broker, &rt, &admin, n);
    (f.kill9_recovery_ms, f.kill9_routable_ms) = (ms, routable);
    rt.block_on(check_routes(&admin, &broker.addr, &samples));
    rt.block_on(check_kept(&admin, &broker.addr, &samples));
    let code = broker.proc.terminate(Duration::from_secs(60));
    assert_eq!(code, Some(0), "broker did not stop cleanly after recovery");
    print_table(std::slice::from_ref(&f));
    f
}

fn topic_table(n: usize) -> BTreeMap<String, TopicConfig> {
    (0..n)
        .map(|i| {
            let name = topic_name(i);
            let config = TopicConfig {
                read_queue_nums: QUEUES,
                write_queue_nums: QUEUES,
                ..TopicConfig::new(name.clone())
            };
            (name, config)
        })
        .collect()
}

/// `topics.json` and `subscriptionGroup.json` in RocketMQ's formats.
fn write_metadata(config_dir: &Path, topics: &BTreeMap<String, TopicConfig>) {
    std::fs::create_dir_all(config_dir).unwrap();
    let wrapper = TopicConfigSerializeWrapper {
        data_version: DataVersion::new(1_700_000_000_000),
        topic_config_table: topics.clone(),
        ..Default::default()
    };
    std::fs::write(config_dir.join("topics.json"), wrapper.to_json()).unwrap();
    let groups = SubscriptionGroupWrapper {
        data_version: DataVersion::new(1_700_000_000_000),
        subscription_group_table: (0..GROUPS)
            .map(|i| {
                let g = format!("GID_scale_{i:04}");
                (g.clone(), SubscriptionGroupConfig::new(g))
            })
            .collect(),
        ..Default::default()
    };
    std::fs::write(config_dir.join("subscriptionGroup.json"), groups.to_json()).unwrap();
}

/// Waits until the name server routes `topic` to `addr`.
async fn wait_routable(admin: &AdminClient, addr: &str, topic: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(route) = admin.topic_route(topic).await {
            if route
                .broker_datas
                .iter()
                .any(|b| b.broker_addrs.values().any(|a| a == addr))
            {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{topic} never routed to {addr}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Queries each topic's route, checks it names `addr` with 8 queues; returns the latencies (µs).
async fn check_routes(admin: &AdminClient, addr: &str, topics: &[String]) -> Vec<u64> {
    let mut lat = Vec::with_capacity(topics.len());
    for topic in topics {
        let t = Instant::now();
        let route = admin.topic_route(topic).await.unwrap();
        lat.push(t.elapsed().as_micros() as u64);
        let q = route
            .queue_datas
            .iter()
            .find(|q| q.broker_name == "broker-scale")
            .unwrap_or_else(|| panic!("{topic} has no queues on the broker: {route:?}"));
        assert_eq!((q.read_queue_nums, q.write_queue_nums), (QUEUES, QUEUES));
        assert!(route
            .broker_datas
            .iter()
            .any(|b| b.broker_addrs.values().any(|a| a == addr)));
    }
    lat
}

/// Every sampled topic still holds the two messages sent to it.
async fn check_kept(admin: &AdminClient, addr: &str, topics: &[String]) {
    for topic in topics.iter().step_by(50) {
        let stats = admin.topic_stats(addr, topic).await.unwrap();
        let stored: i64 = stats.offset_table.values().map(|o| o.max_offset).sum();
        assert_eq!(stored, 2, "{topic}: {stats:?}");
    }
}

/// Sends one message to each of the `n` topics, `SEND_CONCURRENCY` at a time; returns messages
/// per second.
async fn send_to_all(producer: &Producer, n: usize) -> f64 {
    let t = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        if tasks.len() >= SEND_CONCURRENCY {
            check_sent(tasks.join_next().await);
        }
        let p = producer.clone();
        tasks.spawn(async move { p.send(Message::new(topic_name(i), "scale")).await });
    }
    while let Some(r) = tasks.join_next().await {
        check_sent(Some(r));
    }
    n as f64 / t.elapsed().as_secs_f64()
}

fn check_sent(
    r: Option<
        Result<
            Result<ferromq_client::SendResult, ferromq_client::ClientError>,
            tokio::task::JoinError,
        >,
    >,
) {
    let result = r.unwrap().unwrap().unwrap();
    assert_eq!(result.status, SendStatus::SendOk);
}

const PROBE_NAME: &str = "broker-probe";
const PROBE_CLUSTER: &str = "ProbeCluster";
const PROBE_ADDR: &str = "127.0.0.9:10911";

/// Sends `parts` as REGISTER_BROKER requests of a probe master, 3 times; returns the median
/// milliseconds of one whole registration.
async fn register_probe(
    admin: &AdminClient,
    namesrv: &str,
    parts: &[Vec<u8>],
    compressed_flag: bool,
) -> f64 {
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        for body in parts {
            let header = RegisterBrokerRequestHeader {
                broker_name: PROBE_NAME.into(),
                broker_addr: PROBE_ADDR.into(),
                cluster_name: PROBE_CLUSTER.into(),
                ha_server_addr: String::new(),
                broker_id: 0,
                heartbeat_timeout_millis: Some(120_000),
                enable_acting_master: Some(false),
                compressed: Some(compressed_flag),
                body_crc32: Some(ferromq_common::hash::crc32_masked(body)),
            };
            let cmd = RemotingCommand::request(request::REGISTER_BROKER, &header)
                .with_body(bytes::Bytes::from(body.clone()));
            let resp = admin.rpc().call(namesrv, cmd).await.unwrap();
            assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
        }
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    times[1]
}

async fn unregister_probe(admin: &AdminClient, namesrv: &str) {
    let header = BrokerIdentityHeader {
        broker_name: PROBE_NAME.into(),
        broker_addr: PROBE_ADDR.into(),
        cluster_name: PROBE_CLUSTER.into(),
        broker_id: 0,
    };
    let cmd = RemotingCommand::request(request::UNREGISTER_BROKER, &header);
    admin.rpc().call(namesrv, cmd).await.unwrap();
}

fn split(wrapper: &TopicConfigSerializeWrapper, size: usize) -> Vec<TopicConfigSerializeWrapper> {
    let entries: Vec<_> = wrapper.topic_config_table.iter().collect();
    entries
        .chunks(size)
        .map(|chunk| TopicConfigSerializeWrapper {
            data_version: wrapper.data_version,
            topic_config_table: chunk
                .iter()
                .map(|(k, v)| ((*k).clone(), (*v).clone()))
                .collect(),
            ..Default::default()
        })
        .collect()
}

/// Starts the stopped broker again; returns (ms until its port is bound, which `mqbroker` does
/// before opening the store, and ms until the name server routes its last topic: the real
/// start time).
fn restart(
    broker: &mut Broker,
    rt: &tokio::runtime::Runtime,
    admin: &AdminClient,
    n: usize,
) -> (u128, u128) {
    let t = Instant::now();
    broker.proc = ferromq_testkit::Proc::spawn(
        &broker.name,
        &common::bin("mqbroker"),
        &["-n", &broker.namesrv, "-c", broker.conf.to_str().unwrap()],
        &broker.log_dir,
        &[],
    );
    assert!(
        wait_for_port(&broker.addr, START_TIMEOUT * 3),
        "broker did not start again:\n{}",
        broker.proc.output()
    );
    let open = t.elapsed().as_millis();
    rt.block_on(wait_routable(admin, &broker.addr, &topic_name(n - 1)));
    (open, t.elapsed().as_millis())
}

/// Opens `count` client connections to the broker, each sending one GET_BROKER_RUNTIME_INFO and
/// reading the start of its answer (so the broker has served it), and returns (connections
/// answered, RSS growth per connection in KiB).
async fn open_connections(broker: &Broker, count: usize) -> (usize, f64) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let before = rss_mb(broker.proc.pid());
    let mut socks = Vec::with_capacity(count);
    let frame = RemotingCommand::bare_request(request::GET_BROKER_RUNTIME_INFO).to_bytes();
    for _ in 0..count {
        let mut s = tokio::net::TcpStream::connect(&broker.addr).await.unwrap();
        s.write_all(&frame).await.unwrap();
        socks.push(s);
    }
    let mut open = 0;
    // One deadline for all: a broker that stops accepting (out of descriptors, say) fails the
    // test in a minute, not in 10 s per connection.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    for s in &mut socks {
        let mut buf = [0u8; 4];
        // The answer's length prefix: the broker served this connection.
        if tokio::time::timeout_at(deadline, s.read_exact(&mut buf))
            .await
            .is_ok_and(|r| r.is_ok())
        {
            open += 1;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_mb(broker.proc.pid());
    drop(socks);
    assert_eq!(open, count, "the broker did not answer every connection");
    (open, (after - before) * 1024.0 / count as f64)
}

/// Resident set size of process `pid` in MiB (Linux `/proc`).
fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn print_table(rows: &[Figures]) {
    let mut out = String::from("\n| figure |");
    for r in rows {
        out.push_str(&format!(" {} topics |", r.topics));
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(rows.len()));
    let mut line = |name: &str, cell: &dyn Fn(&Figures) -> String| {
        out.push_str(&format!("\n| {name} |"));
        for r in rows {
            out.push_str(&format!(" {} |", cell(r)));
        }
    };
    line(
        "start, spawn to port bound (ms; the store opens after)",
        &|r| r.start_ms.to_string(),
    );
    line("start, spawn to last topic routable (ms)", &|r| {
        r.routable_ms.to_string()
    });
    line("RSS idle after start (MiB)", &|r| {
        format!("{:.1}", r.rss_idle_mb)
    });
    line("RSS after 2 sends per topic (MiB)", &|r| {
        format!("{:.1}", r.rss_after_send_mb)
    });
    line("registration body, JSON (KiB)", &|r| {
        format!("{:.0}", r.plain_bytes as f64 / 1024.0)
    });
    line("registration body, zlib (KiB)", &|r| {
        format!("{:.0}", r.compressed_bytes as f64 / 1024.0)
    });
    line("register JSON, one request (ms)", &|r| {
        format!("{:.1}", r.plain_register_ms)
    });
    line("register zlib, one request (ms)", &|r| {
        format!("{:.1}", r.compressed_register_ms)
    });
    line("register zlib, split by 800 (ms)", &|r| {
        format!("{:.1}", r.split_register_ms)
    });
    line("create 1 topic, UPDATE_AND_CREATE_TOPIC (ms each)", &|r| {
        format!("{:.1}", r.create_one_ms)
    });
    line(
        "create 1,000 topics, one UPDATE_AND_CREATE_TOPIC_LIST (ms)",
        &|r| format!("{:.1}", r.create_list_ms),
    );
    line("route query p50 (µs)", &|r| r.route_p50_us.to_string());
    line("route query p99 (µs)", &|r| r.route_p99_us.to_string());
    line(
        "send, one per topic, routes cold (msg/s; each to a new queue)",
        &|r| format!("{:.0}", r.send_cold_per_s),
    );
    line(
        "send, one per topic, routes cached (msg/s; each to a new queue)",
        &|r| format!("{:.0}", r.send_warm_per_s),
    );
    line("clean restart, spawn to port bound (ms)", &|r| {
        r.restart_ms.to_string()
    });
    line("clean restart, last topic routable (ms)", &|r| {
        r.restart_routable_ms.to_string()
    });
    line("kill -9 recovery, spawn to port bound (ms)", &|r| {
        r.kill9_recovery_ms.to_string()
    });
    line("kill -9 recovery, last topic routable (ms)", &|r| {
        r.kill9_routable_ms.to_string()
    });
    line("connections answered", &|r| {
        r.conns.map_or("-".into(), |c| c.0.to_string())
    });
    line("RSS per connection (KiB)", &|r| {
        r.conns.map_or("-".into(), |c| format!("{:.1}", c.1))
    });
    println!("{out}\n");
}
