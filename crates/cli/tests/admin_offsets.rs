//! mqadmin's offset commands against real processes: resetOffsetByTime with a running Rust push
//! consumer (RESET_CONSUMER_CLIENT_OFFSET moves it) and without one, skipAccumulatedMessage,
//! cloneGroupOffset, brokerConsumeStats, updateOrderConf and allocateMQ.

mod client_util;
mod common;

use std::time::Duration;

use client_util::{runtime, Cluster, Collector};
use common::mqadmin;
use ferromq_client::{ConsumeFrom, ConsumeStatus, Message, Producer, PushConsumer};

const WAIT: Duration = Duration::from_secs(20);

fn ok(args: &[&str]) -> String {
    let (code, out, err) = mqadmin(args);
    assert_eq!(code, 0, "mqadmin {args:?}\nstdout:\n{out}\nstderr:\n{err}");
    out
}

async fn send_n(p: &Producer, topic: &str, n: usize, prefix: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let r = p
            .send(Message::new(topic, format!("{prefix}-{i}")))
            .await
            .unwrap();
        ids.push(r.msg_id);
    }
    ids
}

fn consumer(ns: &str, group: &str, topic: &str, got: &Collector) -> PushConsumer {
    let g = got.clone();
    PushConsumer::builder(group)
        .namesrv_addr(ns)
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
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
        .unwrap()
}

/// Sends `first` messages, notes the time, then sends `second` more; returns (first ids,
/// second ids, the time in between).
async fn two_batches(ns: &str, topic: &str, n: usize) -> (Vec<String>, Vec<String>, i64) {
    let p = Producer::builder("PG_offsets")
        .namesrv_addr(ns)
        .build()
        .unwrap();
    let first = send_n(&p, topic, n, "first").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let middle = ferromq_common::now_millis();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = send_n(&p, topic, n, "second").await;
    p.shutdown().await;
    (first, second, middle)
}

/// Rows of a `#brokerName #queueId #offset` table as (broker, queue, offset).
fn reset_rows(out: &str) -> Vec<(String, i32, i64)> {
    out.lines()
        .skip_while(|l| !l.starts_with("#brokerName"))
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[0].to_owned(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

/// `consumerProgress` rows of `topic` as (queue, broker offset, consumer offset).
fn progress_rows(out: &str, topic: &str) -> Vec<(i32, i64, i64)> {
    out.lines()
        .filter(|l| l.starts_with(topic))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn reset_by_time_moves_a_running_push_consumer_back() {
    let cluster = Cluster::start(&["broker-rst"]);
    cluster.create_topic("tp_reset_live", 2);
    let ns = cluster.ns.addr.clone();
    runtime().block_on(async {
        let (first, second, middle) = two_batches(&ns, "tp_reset_live", 10).await;
        let n_second = second.len();
        let got = Collector::default();
        let c = consumer(&ns, "CG_reset_live", "tp_reset_live", &got);
        c.start().await.unwrap();
        let all: Vec<String> = first.iter().chain(&second).cloned().collect();
        assert!(got.wait_for(&all, WAIT).await, "consumed {}", got.len());
        let before = got.len();

        let ts = middle.to_string();
        let out = ok(&[
            "resetOffsetByTime",
            "-n",
            &ns,
            "-g",
            "CG_reset_live",
            "-t",
            "tp_reset_live",
            "-s",
            &ts,
        ]);
        assert!(out.starts_with(&format!(
            "start reset consumer offset by specified, group[CG_reset_live], topic[tp_reset_live], force[true], timestamp(string)[{ts}], timestamp(long)[{ts}]\n"
        )), "{out}");
        let rows = reset_rows(&out);
        assert_eq!(rows.len(), 2, "{out}");
        assert_eq!(rows.iter().map(|r| r.2).sum::<i64>(), 10, "{out}");
        assert!(rows.iter().all(|r| r.0 == "broker-rst"), "{out}");

        // The later half arrives again, the earlier half does not.
        let again = client_util::wait_until(WAIT, || {
            let n = got.len();
            async move { n >= before + n_second }
        })
        .await;
        let redelivered: Vec<_> = got.snapshot()[before..].to_vec();
        assert!(again, "only {} redelivered", redelivered.len());
        for g in &redelivered {
            assert!(g.body.starts_with(b"second-"), "{:?}", String::from_utf8_lossy(&g.body));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(got.len(), before + second.len());
        c.shutdown().await;
    });
}

#[test]
fn offset_commands_without_live_consumers() {
    let cluster = Cluster::start(&["broker-off"]);
    cluster.create_topic("tp_reset_idle", 2);
    let ns = cluster.ns.addr.clone();
    let broker = cluster.brokers[0].addr.clone();
    let n = ns.as_str();
    let middle = runtime().block_on(async {
        let (first, second, middle) = two_batches(&ns, "tp_reset_idle", 10).await;
        let got = Collector::default();
        let c = consumer(&ns, "CG_reset_idle", "tp_reset_idle", &got);
        c.start().await.unwrap();
        let all: Vec<String> = first.iter().chain(&second).cloned().collect();
        assert!(got.wait_for(&all, WAIT).await);
        c.shutdown().await;
        middle
    });
    common::mqadmin_until(
        &["consumerProgress", "-n", n, "-g", "CG_reset_idle"],
        WAIT,
        |out| {
            progress_rows(out, "tp_reset_idle")
                .iter()
                .all(|r| r.2 == 10)
        },
    );

    // No consumer online: the broker still commits the offsets.
    let ts = ferromq_common::time::format_millis(middle)
        .replacen(' ', "#", 1)
        .replacen(',', ":", 1);
    let out = ok(&[
        "resetOffsetByTime",
        "-n",
        n,
        "-g",
        "CG_reset_idle",
        "-t",
        "tp_reset_idle",
        "-s",
        &ts,
    ]);
    assert!(out.contains(&format!("timestamp(long)[{middle}]")), "{out}");
    assert_eq!(
        reset_rows(&out).iter().map(|r| r.2).sum::<i64>(),
        10,
        "{out}"
    );
    let progress = ok(&["consumerProgress", "-n", n, "-g", "CG_reset_idle"]);
    let rows = progress_rows(&progress, "tp_reset_idle");
    assert_eq!(rows.len(), 2, "{progress}");
    assert_eq!(rows.iter().map(|r| r.2).sum::<i64>(), 10, "{progress}");
    assert!(rows.iter().all(|r| r.1 == 10), "{progress}");

    // brokerConsumeStats: every queue has a diff of 5 and a last time.
    let stats = ok(&["brokerConsumeStats", "-n", n, "-b", &broker]);
    assert!(stats.starts_with("#Topic"), "{stats}");
    let lines: Vec<&str> = stats
        .lines()
        .filter(|l| l.starts_with("tp_reset_idle"))
        .collect();
    assert_eq!(lines.len(), 2, "{stats}");
    assert!(
        lines
            .iter()
            .all(|l| l.split_whitespace().nth(6) == Some("5")),
        "{stats}"
    );
    assert!(stats.contains("\nDiff Total: 10\n"), "{stats}");
    let filtered = ok(&["brokerConsumeStats", "-n", n, "-b", &broker, "-l", "6"]);
    assert!(!filtered.contains("tp_reset_idle"), "{filtered}");

    // cloneGroupOffset copies the offsets to another group.
    let out = ok(&[
        "cloneGroupOffset",
        "-n",
        n,
        "-s",
        "CG_reset_idle",
        "-d",
        "CG_clone",
        "-t",
        "tp_reset_idle",
    ]);
    assert_eq!(
        out,
        "clone group offset success. srcGroup[CG_reset_idle], destGroup=[CG_clone], topic[tp_reset_idle]"
    );
    let progress = ok(&[
        "consumerProgress",
        "-n",
        n,
        "-g",
        "CG_clone",
        "-t",
        "tp_reset_idle",
    ]);
    let rows = progress_rows(&progress, "tp_reset_idle");
    assert_eq!(rows.iter().map(|r| r.2).sum::<i64>(), 10, "{progress}");

    // skipAccumulatedMessage: the max offsets.
    let out = ok(&[
        "skipAccumulatedMessage",
        "-n",
        n,
        "-g",
        "CG_reset_idle",
        "-t",
        "tp_reset_idle",
    ]);
    assert!(out.starts_with("#brokerName"), "{out}");
    assert_eq!(
        reset_rows(&out).iter().map(|r| r.2).sum::<i64>(),
        20,
        "{out}"
    );
    let progress = ok(&["consumerProgress", "-n", n, "-g", "CG_reset_idle"]);
    assert!(
        progress_rows(&progress, "tp_reset_idle")
            .iter()
            .all(|r| r.2 == 10),
        "{progress}"
    );

    // updateOrderConf: put, get, delete in the ORDER_TOPIC_CONFIG namespace.
    let out = ok(&[
        "updateOrderConf",
        "-n",
        n,
        "-t",
        "tp_reset_idle",
        "-m",
        "put",
        "-v",
        "broker-off:2",
    ]);
    assert_eq!(
        out,
        "update orderConf success. topic=[tp_reset_idle], orderConf=[broker-off:2]"
    );
    let out = ok(&[
        "updateOrderConf",
        "-n",
        n,
        "-t",
        "tp_reset_idle",
        "-m",
        "get",
    ]);
    assert_eq!(
        out,
        "get orderConf success. topic=[tp_reset_idle], orderConf=[broker-off:2] "
    );
    let out = ok(&[
        "updateOrderConf",
        "-n",
        n,
        "-t",
        "tp_reset_idle",
        "-m",
        "delete",
    ]);
    assert_eq!(out, "delete orderConf success. topic=[tp_reset_idle]");
    let (code, _, err) = mqadmin(&[
        "updateOrderConf",
        "-n",
        n,
        "-t",
        "tp_reset_idle",
        "-m",
        "get",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("UpdateOrderConfCommand command failed"),
        "{err}"
    );

    // allocateMQ: two ids share the two queues.
    let out = ok(&[
        "allocateMQ",
        "-n",
        n,
        "-t",
        "tp_reset_idle",
        "-i",
        "10.0.0.1,10.0.0.2",
    ]);
    let json: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    for ip in ["10.0.0.1", "10.0.0.2"] {
        let queues = json["result"][ip].as_array().unwrap();
        assert_eq!(queues.len(), 1, "{out}");
        assert_eq!(queues[0]["brokerName"], "broker-off");
    }
}
