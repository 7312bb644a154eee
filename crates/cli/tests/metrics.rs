//! `/metrics` against real processes: a broker's counters move by exactly the messages sent and
//! consumed (parsed with a Prometheus text parser), the name server's exporter port, and
//! `dashboardPort=0` leaving no HTTP listener.

mod client_util;
mod common;

use std::collections::HashSet;
use std::time::Duration;

use client_util::{runtime, wait_until, Collector};
use common::{bin, create_topic, start_broker, start_namesrv, START_TIMEOUT};
use ferromq_client::{ConsumeFrom, ConsumeStatus, Message, Producer, PushConsumer};
use ferromq_testkit::{free_port, http_get, http_get_accept, wait_for_port, Proc};

/// What Prometheus 2.x and 3.x send.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

fn parse(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .unwrap_or_else(|e| panic!("{e}: not Prometheus text:\n{text}"))
}

/// `/metrics` as Prometheus asks for it (OpenMetrics), parsed.
fn scrape(addr: &str) -> (prometheus_parse::Scrape, String) {
    let (status, body) = http_get_accept(addr, "/metrics", PROMETHEUS_ACCEPT);
    assert_eq!(status, 200, "{body}");
    assert!(body.ends_with("# EOF\n"), "{body}");
    (parse(&body), body)
}

/// The value of the one sample named `metric` whose labels include `labels`, if any.
fn value(s: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = s
        .samples
        .iter()
        .filter(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)));
    let sample = found.next()?;
    assert!(found.next().is_none(), "several {metric} {labels:?}");
    Some(match sample.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => v,
        ref other => panic!("{metric}: unexpected {other:?}"),
    })
}

#[test]
fn counters_move_by_exactly_the_messages_sent_and_consumed() {
    const N: usize = 37;
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let http_port = free_port();
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-metrics",
        &format!(
            "dashboardPort={http_port}\nbindAddress=127.0.0.1\nmetricsLabel=instance_id:test-1"
        ),
    );
    let http = format!("127.0.0.1:{http_port}");
    assert!(
        wait_for_port(&http, START_TIMEOUT),
        "{}",
        broker.proc.output()
    );
    let topic = "tp_metrics";
    let group = "CG_metrics";
    create_topic(&ns.addr, &broker.addr, topic, 4);

    let (before, _) = scrape(&http);
    let topic_labels = [("topic", topic), ("cluster", "DefaultCluster")];
    assert_eq!(
        value(&before, "rocketmq_messages_in_total", &topic_labels),
        None
    );

    let ns_addr = ns.addr.clone();
    runtime().block_on(async {
        let producer = Producer::builder("PG_metrics")
            .namesrv_addr(ns_addr.clone())
            .build()
            .unwrap();
        for i in 0..N {
            producer
                .send(Message::new(topic, format!("body-{i:04}")))
                .await
                .unwrap();
        }
        producer.shutdown().await;

        let got = Collector::default();
        let g = got.clone();
        let consumer = PushConsumer::builder(group)
            .namesrv_addr(ns_addr.clone())
            .consume_from(ConsumeFrom::FirstOffset)
            .subscribe(topic, "*")
            .listener_concurrently(move |msgs, _ctx| {
                let g = g.clone();
                async move {
                    for m in &msgs {
                        g.push(m, 0);
                    }
                    ConsumeStatus::Success
                }
            })
            .build()
            .unwrap();
        consumer.start().await.unwrap();
        assert!(
            wait_until(Duration::from_secs(30), || {
                let n = got.distinct().len();
                async move { n == N }
            })
            .await,
            "consumed {} of {N}",
            got.distinct().len()
        );
        // Shutting down commits the consumed offsets, so the lag reads 0 below.
        consumer.shutdown().await;
        let bodies: HashSet<Vec<u8>> = got.snapshot().into_iter().map(|m| m.body).collect();
        assert_eq!(bodies.len(), N);
    });

    let (after, body) = scrape(&http);
    let n = N as f64;
    let node = [("node_type", "broker"), ("node_id", "broker-metrics")];
    let in_labels = [
        topic_labels[0],
        topic_labels[1],
        node[0],
        node[1],
        ("message_type", "normal"),
        ("is_system", "false"),
        ("instance_id", "test-1"),
    ];
    assert_eq!(
        value(&after, "rocketmq_messages_in_total", &in_labels),
        Some(n),
        "{body}"
    );
    let out_labels = [
        ("topic", topic),
        ("consumer_group", group),
        ("is_retry", "false"),
    ];
    assert_eq!(
        value(&after, "rocketmq_messages_out_total", &out_labels),
        Some(n),
        "{body}"
    );
    let bytes_in = value(&after, "rocketmq_throughput_in_total", &in_labels).unwrap();
    let bytes_out = value(&after, "rocketmq_throughput_out_total", &out_labels).unwrap();
    // Whole stored records: more than the bodies, the same bytes going out as coming in.
    assert!(bytes_in > n * 9.0, "{bytes_in}");
    assert_eq!(bytes_in, bytes_out);
    // The request latency of the sends, by RocketMQ's request-code name.
    let sends = value(
        &after,
        "rocketmq_rpc_latency_count",
        &[
            ("request_code", "send_message_v2"),
            ("response_code", "success"),
        ],
    );
    assert!(sends.is_some_and(|c| c >= n), "{sends:?}\n{body}");
    for gauge in [
        "rocketmq_storage_size",
        "rocketmq_storage_flush_behind_bytes",
        "rocketmq_storage_dispatch_behind_bytes",
        "process_resident_memory_bytes",
    ] {
        assert!(
            after.samples.iter().any(|s| s.metric == gauge),
            "no {gauge}:\n{body}"
        );
    }
    let lag = [("topic", topic), ("consumer_group", group)];
    assert_eq!(
        value(&after, "rocketmq_consumer_lag_messages", &lag),
        Some(0.0),
        "{body}"
    );

    // A scraper that does not ask for OpenMetrics gets text format 0.0.4 with the same values,
    // the counters typed by their `_total` names.
    let (status, text) = http_get(&http, "/metrics");
    assert_eq!(status, 200);
    assert!(!text.contains("# EOF"), "{text}");
    assert!(
        text.contains("# TYPE rocketmq_messages_in_total counter\n"),
        "{text}"
    );
    let classic = parse(&text);
    let sample = classic
        .samples
        .iter()
        .find(|x| x.metric == "rocketmq_messages_out_total" && x.labels.get("topic") == Some(topic))
        .unwrap();
    assert_eq!(sample.value, prometheus_parse::Value::Counter(n));

    let (status, reason) = http_get(&http, "/favicon.ico");
    assert_eq!(status, 404);
    assert!(reason.contains("no page at /favicon.ico"), "{reason}");
}

/// TCP ports `pid` listens on, from its socket inodes and `/proc/net/tcp{,6}`.
fn listening_ports(pid: u32) -> HashSet<u16> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut ports = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address, ..., st (0A = LISTEN), ..., inode (field 9)
            if f.len() > 9 && f[3] == "0A" && inodes.contains(f[9]) {
                let port = f[1].rsplit(':').next().unwrap();
                ports.insert(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports
}

#[test]
fn with_dashboard_and_grpc_ports_zero_only_the_broker_and_ha_ports_listen() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    // The gRPC API (grpcListenPort, 8081 by default) is another listener: off here too.
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-nodash",
        "dashboardPort=0\ngrpcListenPort=0",
    );
    assert!(
        broker
            .proc
            .output()
            .contains("dashboard off (dashboardPort=0)"),
        "{}",
        broker.proc.output()
    );
    let port: u16 = broker.addr.rsplit(':').next().unwrap().parse().unwrap();
    // A master also takes its slaves on haListenPort (listenPort + 1), bound a moment after
    // the client port: wait (bounded) for it before comparing.
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    let mut ports = listening_ports(broker.proc.pid());
    while !ports.contains(&(port + 1)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        ports = listening_ports(broker.proc.pid());
    }
    assert_eq!(ports, HashSet::from([port, port + 1]));
}

#[test]
fn name_server_serves_metrics_on_the_prometheus_exporter_port() {
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (free_port(), free_port());
    let conf = dir.path().join("namesrv.conf");
    std::fs::write(
        &conf,
        format!(
            "listenPort={port}\nbindAddress=127.0.0.1\nkvConfigPath={}\nmetricsExporterType=PROM\nmetricsPromExporterPort={metrics_port}\n",
            dir.path().join("kv.json").display()
        ),
    )
    .unwrap();
    let proc = Proc::spawn(
        "namesrv-metrics",
        &bin("mqnamesrv"),
        &["-c", conf.to_str().unwrap()],
        &dir.path().join("logs"),
        &[],
    );
    let addr = format!("127.0.0.1:{port}");
    let http = format!("127.0.0.1:{metrics_port}");
    assert!(
        wait_for_port(&addr, START_TIMEOUT) && wait_for_port(&http, START_TIMEOUT),
        "{}",
        proc.output()
    );
    // A broker registering is a request the name server times.
    let broker = start_broker(dir.path(), &addr, "broker-ns-metrics", "dashboardPort=0");
    let registered = || {
        let (s, _) = scrape(&http);
        value(
            &s,
            "ferromq_namesrv_brokers",
            &[("cluster", "DefaultCluster")],
        ) == Some(1.0)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !registered() {
        assert!(std::time::Instant::now() < deadline, "broker never counted");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (s, body) = scrape(&http);
    let register = value(
        &s,
        "rocketmq_rpc_latency_count",
        &[
            ("node_type", "namesrv"),
            ("request_code", "register_broker"),
        ],
    );
    assert!(register.is_some_and(|c| c >= 1.0), "{body}");
    assert!(
        value(&s, "ferromq_namesrv_topics", &[]).is_some_and(|t| t > 0.0),
        "{body}"
    );
    drop(broker);
}

#[test]
fn standalone_serves_broker_and_name_server_series_on_one_page() {
    let dir = tempfile::tempdir().unwrap();
    let (ns_port, broker_port, http_port) = (free_port(), free_port(), free_port());
    let conf = dir.path().join("broker.conf");
    std::fs::write(&conf, format!("dashboardPort={http_port}\n")).unwrap();
    let data = dir.path().join("data");
    let proc = Proc::spawn(
        "standalone-metrics",
        &bin("ferromq"),
        &[
            "standalone",
            "--data",
            data.to_str().unwrap(),
            "--namesrv-port",
            &ns_port.to_string(),
            "--broker-port",
            &broker_port.to_string(),
            "-c",
            conf.to_str().unwrap(),
        ],
        &dir.path().join("logs"),
        &[],
    );
    let http = format!("127.0.0.1:{http_port}");
    assert!(wait_for_port(&http, START_TIMEOUT), "{}", proc.output());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (s, body) = scrape(&http);
        let registered = value(&s, "ferromq_namesrv_brokers", &[("node_type", "namesrv")]);
        if registered == Some(1.0) {
            assert!(
                value(&s, "rocketmq_broker_permission", &[("node_type", "broker")]) == Some(6.0),
                "{body}"
            );
            // One family per name, whichever process part reports it.
            let mut types: Vec<&str> = body.lines().filter(|l| l.starts_with("# TYPE ")).collect();
            let all = types.len();
            types.sort();
            types.dedup();
            assert_eq!(types.len(), all, "{body}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
