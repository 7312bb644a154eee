//! mqadmin's everyday broker, stats and queue commands against real processes:
//! updateBrokerConfig, statsAll (and the runtime TPS), cleanUnusedTopic, sendMsgStatus,
//! clusterRT, consumeMessage, printMsgByQueue, queryCq, and the grouped command list.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use ferromq_client::{AdminClient, ConsumeFrom, ConsumeStatus, Message, Producer, PushConsumer};

const WAIT: Duration = Duration::from_secs(15);

fn ok(args: &[&str]) -> String {
    let (code, out, err) = mqadmin(args);
    assert_eq!(code, 0, "mqadmin {args:?}\nstdout:\n{out}\nstderr:\n{err}");
    out
}

/// Runs a command that must fail: exit code 1, returns stdout + stderr.
fn fails(args: &[&str]) -> String {
    let (code, out, err) = mqadmin(args);
    assert_eq!(
        code, 1,
        "mqadmin {args:?} should fail\nstdout:\n{out}\nstderr:\n{err}"
    );
    format!("{out}{err}")
}

fn send_all(ns: &str, topic: &str, msgs: Vec<Message>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let p = Producer::builder(format!("PG_{topic}"))
            .namesrv_addr(ns.to_owned())
            .build()
            .unwrap();
        for m in msgs {
            p.send(m).await.unwrap();
        }
        p.shutdown().await;
    });
}

/// `name=value` of getBrokerConfig's `%-50s=  %s` line.
fn config_line(key: &str, value: &str) -> String {
    format!("\n{key:<50}=  {value}\n")
}

#[test]
fn update_broker_config_applies_live_keys_persists_them_and_refuses_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let mut broker = start_broker(dir.path(), &ns.addr, "broker-ubc", "fileReservedTime=48");
    let (n, b) = (ns.addr.clone(), broker.addr.clone());
    let (n, b) = (n.as_str(), b.as_str());
    create_topic(n, b, "tp_ubc", 1);

    assert_eq!(
        ok(&[
            "updateBrokerConfig",
            "-n",
            n,
            "-b",
            b,
            "-k",
            "fileReservedTime",
            "-v",
            "96"
        ]),
        format!("update broker config success, {b}\n")
    );
    let out = ok(&["getBrokerConfig", "-n", n, "-b", b]);
    assert!(
        out.contains(&config_line("fileReservedTime", "96")),
        "{out}"
    );
    // The key's line is rewritten in place; the rest of the file stays.
    let conf = std::fs::read_to_string(&broker.conf).unwrap();
    assert!(conf.contains("\nfileReservedTime=96\n"), "{conf}");
    assert!(!conf.contains("fileReservedTime=48"), "{conf}");
    assert!(conf.contains("brokerName=broker-ubc\n"), "{conf}");

    // brokerPermission through -c: a read-only broker refuses sends at once.
    assert_eq!(
        ok(&[
            "updateBrokerConfig",
            "-n",
            n,
            "-c",
            "DefaultCluster",
            "-k",
            "brokerPermission",
            "-v",
            "4"
        ]),
        format!("update broker config success, {b}\n")
    );
    let out = ok(&["getBrokerConfig", "-n", n, "-b", b]);
    assert!(out.contains(&config_line("brokerPermission", "4")), "{out}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let refused = rt.block_on(async {
        let p = Producer::builder("PG_ubc")
            .namesrv_addr(n.to_owned())
            .retry_times(0)
            .build()
            .unwrap();
        let r = p.send(Message::new("tp_ubc", "while read-only")).await;
        p.shutdown().await;
        r
    });
    assert!(
        refused.is_err(),
        "a send to a read-only broker succeeded: {refused:?}"
    );
    ok(&[
        "updateBrokerConfig",
        "-n",
        n,
        "-b",
        b,
        "-k",
        "brokerPermission",
        "-v",
        "6",
    ]);
    send_all(n, "tp_ubc", vec![Message::new("tp_ubc", "writable again")]);

    // Refusals: unknown key, a key that needs a restart, a bad value, a missing option.
    let err = fails(&[
        "updateBrokerConfig",
        "-n",
        n,
        "-b",
        b,
        "-k",
        "fileReservedTme",
        "-v",
        "1",
    ]);
    assert!(
        err.contains("unknown broker config key `fileReservedTme`"),
        "{err}"
    );
    assert!(err.contains("did you mean `fileReservedTime`"), "{err}");
    let err = fails(&[
        "updateBrokerConfig",
        "-n",
        n,
        "-b",
        b,
        "-k",
        "listenPort",
        "-v",
        "1",
    ]);
    assert!(
        err.contains("`listenPort` cannot change while the broker runs"),
        "{err}"
    );
    let err = fails(&[
        "updateBrokerConfig",
        "-n",
        n,
        "-b",
        b,
        "-k",
        "fileReservedTime",
        "-v",
        "soon",
    ]);
    assert!(err.contains("fileReservedTime"), "{err}");
    let err = fails(&[
        "updateBrokerConfig",
        "-n",
        n,
        "-b",
        b,
        "-k",
        "fileReservedTime",
    ]);
    assert!(err.contains("--value"), "{err}");
    // Nothing refused was applied or written.
    let conf = std::fs::read_to_string(&broker.conf).unwrap();
    assert!(
        !conf.contains("listenPort=1\n") && !conf.contains("soon"),
        "{conf}"
    );

    // The change survives a restart.
    broker.restart();
    let out = mqadmin_until(&["getBrokerConfig", "-n", n, "-b", b], WAIT, |o| {
        o.contains("fileReservedTime")
    });
    assert!(
        out.contains(&config_line("fileReservedTime", "96")),
        "{out}"
    );
    assert!(out.contains(&config_line("brokerPermission", "6")), "{out}");
}

/// A push consumer counting what it receives.
fn counting_consumer(
    ns: &str,
    group: &str,
    topic: &str,
    expr: &str,
) -> (PushConsumer, Arc<AtomicUsize>) {
    let got = Arc::new(AtomicUsize::new(0));
    let g = Arc::clone(&got);
    let c = PushConsumer::builder(group)
        .namesrv_addr(ns)
        .subscribe(topic, expr)
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_concurrently(move |msgs, _ctx| {
            let g = Arc::clone(&g);
            async move {
                g.fetch_add(msgs.len(), Ordering::SeqCst);
                ConsumeStatus::Success
            }
        })
        .build()
        .unwrap();
    (c, got)
}

#[test]
fn stats_all_counts_the_messages_sent_and_consumed() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-stats", "");
    let (n, b) = (ns.addr.as_str(), broker.addr.as_str());
    create_topic(n, b, "tp_stats", 2);
    create_topic(n, b, "tp_stats_alone", 1);
    create_topic(n, b, "tp_stats_idle", 1);

    send_all(
        n,
        "tp_stats",
        (0..7)
            .map(|i| Message::new("tp_stats", format!("m{i}")))
            .collect(),
    );
    send_all(
        n,
        "tp_stats_alone",
        (0..3)
            .map(|i| Message::new("tp_stats_alone", format!("a{i}")))
            .collect(),
    );

    // InTPS of clusterList / brokerStatus: the put rate over the last 10 s is no longer 0.
    let out = ok(&["brokerStatus", "-n", n, "-b", b]);
    let put_tps = out
        .lines()
        .find(|l| l.starts_with("putTps"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no putTps in\n{out}"));
    assert!(put_tps > 0.0, "putTps is 0 after 10 sends:\n{out}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (consumer, got) = counting_consumer(n, "CG_stats", "tp_stats", "*");
    rt.block_on(async {
        consumer.start().await.unwrap();
        let deadline = std::time::Instant::now() + WAIT;
        while got.load(Ordering::SeqCst) < 7 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    assert_eq!(got.load(Ordering::SeqCst), 7);

    // The row of the consumed topic: 7 in, 7 out, nothing left once the offsets are committed.
    let row_of = |out: &str, topic: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(topic))
            .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
    };
    let out = mqadmin_until(&["statsAll", "-n", n, "-t", "tp_stats"], WAIT, |o| {
        row_of(o, "tp_stats").is_some_and(|r| r.len() == 7 && r[2] == "0")
    });
    assert!(out.starts_with("#Topic"), "{out}");
    let row = row_of(&out, "tp_stats").unwrap();
    assert_eq!(row[1], "CG_stats", "{out}");
    assert_eq!((row[5].as_str(), row[6].as_str()), ("7", "7"), "{out}");
    let in_tps: f64 = row[3].parse().unwrap();
    assert!(in_tps > 0.0, "{out}");

    // A topic nobody consumes; -a leaves out topics with no traffic.
    let out = ok(&["statsAll", "-n", n, "-a"]);
    let alone = row_of(&out, "tp_stats_alone").unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        alone.last().map(String::as_str),
        Some("NO_CONSUMER"),
        "{out}"
    );
    assert_eq!(alone[alone.len() - 2], "3", "{out}");
    assert!(row_of(&out, "tp_stats_idle").is_none(), "{out}");
    let out = ok(&["statsAll", "-n", n]);
    assert!(row_of(&out, "tp_stats_idle").is_some(), "{out}");

    // The broker answers VIEW_BROKER_STATS_DATA for an unknown item with RocketMQ's remark.
    let admin = AdminClient::connect(Some(n)).unwrap();
    let err = rt
        .block_on(ferromq_admin::broker_ops::view_broker_stats_data(
            &admin,
            b,
            "TOPIC_PUT_NUMS",
            "tp_nowhere",
        ))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("The stats <TOPIC_PUT_NUMS> <tp_nowhere> not exist"),
        "{err}"
    );
    rt.block_on(consumer.shutdown());
}

#[test]
fn clean_unused_topic_removes_queues_of_topics_the_broker_no_longer_has() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let mut broker = start_broker(dir.path(), &ns.addr, "broker-clean", "");
    let (n, b) = (ns.addr.clone(), broker.addr.clone());
    let (n, b) = (n.as_str(), b.as_str());
    create_topic(n, b, "tp_gone", 1);
    create_topic(n, b, "tp_kept", 1);
    send_all(
        n,
        "tp_gone",
        vec![Message::new("tp_gone", "x"), Message::new("tp_gone", "y")],
    );
    send_all(n, "tp_kept", vec![Message::new("tp_kept", "z")]);

    // The topic leaves the broker's topic table while it is down; its queue files stay.
    let cq = dir.path().join("broker-clean").join("consumequeue");
    let topics_json = dir
        .path()
        .join("broker-clean")
        .join("config")
        .join("topics.json");
    let code = broker.proc.terminate(Duration::from_secs(15));
    assert_eq!(code, Some(0));
    let text = std::fs::read_to_string(&topics_json).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["topicConfigTable"]
        .as_object_mut()
        .unwrap()
        .remove("tp_gone")
        .expect("tp_gone in topics.json");
    std::fs::write(&topics_json, serde_json::to_string(&v).unwrap()).unwrap();
    broker.start_again();
    assert!(cq.join("tp_gone").exists());

    assert_eq!(ok(&["cleanUnusedTopic", "-n", n, "-b", b]), "success");
    assert!(
        !cq.join("tp_gone").exists(),
        "tp_gone's consume queue is still there"
    );
    assert!(
        cq.join("tp_kept").exists(),
        "tp_kept's consume queue was removed"
    );
    // The kept topic still reads.
    let out = ok(&[
        "queryCq", "-n", n, "-b", b, "-t", "tp_kept", "-q", "0", "-i", "0",
    ]);
    assert!(out.contains("max: 1, min: 0"), "{out}");
    // By cluster too; an unknown broker address fails.
    assert_eq!(
        ok(&["cleanUnusedTopic", "-n", n, "-c", "DefaultCluster"]),
        "success"
    );
    fails(&["cleanUnusedTopic", "-n", n, "-b", "127.0.0.1:1"]);
}

#[test]
fn send_msg_status_and_cluster_rt_send_real_messages() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-rt", "");
    let (n, b) = (ns.addr.as_str(), broker.addr.as_str());
    let admin = AdminClient::connect(Some(n)).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stored = |topic: &str| -> i64 {
        rt.block_on(admin.topic_stats(b, topic))
            .map(|t| t.offset_table.values().map(|o| o.max_offset).sum())
            .unwrap_or(0)
    };
    // The broker's own topic must be routable first.
    mqadmin_until(&["topicRoute", "-n", n, "-t", "broker-rt"], WAIT, |o| {
        o.contains("broker-rt")
    });

    let before = stored("broker-rt");
    let out = ok(&[
        "sendMsgStatus",
        "-n",
        n,
        "-b",
        "broker-rt",
        "-c",
        "3",
        "-s",
        "32",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for l in &lines {
        assert!(
            l.starts_with("rt:") && l.contains("ms, SendResult=SendResult [sendStatus=SEND_OK"),
            "{out}"
        );
        assert!(l.contains("brokerName=broker-rt"), "{out}");
    }
    // One warm-up message, then the three timed ones.
    assert_eq!(stored("broker-rt") - before, 4);

    let out = ok(&[
        "clusterRT",
        "-n",
        n,
        "-a",
        "3",
        "-s",
        "16",
        "-c",
        "DefaultCluster",
        "--rounds",
        "1",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("#Cluster Name"), "{out}");
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        (row[0], row[1], row[3], row[4]),
        ("DefaultCluster", "broker-rt", "3", "0"),
        "{out}"
    );
    assert!(row[2].parse::<f64>().is_ok(), "{out}");
    assert_eq!(stored("broker-rt") - before, 7);
    let out = ok(&[
        "clusterRT",
        "-n",
        n,
        "-a",
        "2",
        "-p",
        "true",
        "-m",
        "room1",
        "--rounds",
        "1",
    ]);
    assert!(out.contains("|room1|DefaultCluster|broker-rt|"), "{out}");
    let out = ok(&[
        "clusterRT",
        "-n",
        n,
        "-a",
        "2",
        "-c",
        "NoCluster",
        "--rounds",
        "1",
    ]);
    assert!(out.contains("cluster [NoCluster] not exist"), "{out}");
    let err = fails(&["sendMsgStatus", "-n", n, "-c", "3"]);
    assert!(err.contains("--brokerName"), "{err}");
}

#[test]
fn consume_message_and_print_msg_by_queue_read_a_queue() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-read", "");
    let (n, b) = (ns.addr.as_str(), broker.addr.as_str());
    create_topic(n, b, "tp_read", 1);
    let tags = ["TagA", "TagB", "TagA", "TagB", "TagA"];
    send_all(
        n,
        "tp_read",
        tags.iter()
            .enumerate()
            .map(|(i, t)| Message::new("tp_read", format!("body-{i}")).with_tags(*t))
            .collect(),
    );

    // One queue from offset 2.
    let out = ok(&[
        "consumeMessage",
        "-n",
        n,
        "-t",
        "tp_read",
        "-b",
        "broker-read",
        "-i",
        "0",
        "-o",
        "2",
    ]);
    assert!(out.starts_with("Consume ok\n"), "{out}");
    for i in 2..5 {
        assert!(out.contains(&format!("BODY: body-{i}\n")), "{out}");
    }
    assert!(!out.contains("body-0") && !out.contains("body-1"), "{out}");
    assert!(
        out.contains("print msg finished. status=NO_NEW_MSG, offset=5"),
        "{out}"
    );
    // The whole topic, at most two messages.
    let out = ok(&["consumeMessage", "-n", n, "-t", "tp_read", "-c", "2"]);
    assert!(
        out.starts_with("The older 2 message of the 0 queue will be provided\n"),
        "{out}"
    );
    assert_eq!(out.matches("MSGID: ").count(), 2, "{out}");
    assert!(
        out.contains("BODY: body-0\n") && out.contains("BODY: body-1\n"),
        "{out}"
    );
    let err = fails(&["consumeMessage", "-n", n, "-t", "tp_read", "-i", "0"]);
    assert!(
        err.contains("Please set the brokerName before queueId!"),
        "{err}"
    );
    let err = fails(&["consumeMessage", "-n", n, "-t", "tp_read", "-c", "0"]);
    assert!(
        err.contains("please input a positive messageNumber!"),
        "{err}"
    );

    // printMsgByQueue: every message with its body, and counts per tag.
    let out = ok(&[
        "printMsgByQueue",
        "-n",
        n,
        "-t",
        "tp_read",
        "-a",
        "broker-read",
        "-i",
        "0",
        "-p",
        "true",
        "-d",
        "true",
        "-f",
        "true",
    ]);
    assert_eq!(out.matches("MSGID: ").count(), 5, "{out}");
    assert!(out.contains("BODY: body-4\n"), "{out}");
    assert!(
        out.contains(&format!("Tag: {:<30} Count: 3\n", "TagA")),
        "{out}"
    );
    assert!(
        out.contains(&format!("Tag: {:<30} Count: 2\n", "TagB")),
        "{out}"
    );
    // Only TagB, counted but not printed.
    let out = ok(&[
        "printMsgByQueue",
        "-n",
        n,
        "-t",
        "tp_read",
        "-a",
        "broker-read",
        "-i",
        "0",
        "-s",
        "TagB",
        "-f",
        "true",
    ]);
    assert_eq!(out, format!("Tag: {:<30} Count: 2\n", "TagB"));
    let err = fails(&[
        "printMsgByQueue",
        "-n",
        n,
        "-t",
        "tp_read",
        "-a",
        "broker-read",
    ]);
    assert!(err.contains("--queueId"), "{err}");
    let err = fails(&[
        "printMsgByQueue",
        "-n",
        n,
        "-t",
        "tp_read",
        "-a",
        "no-broker",
        "-i",
        "0",
    ]);
    assert!(err.contains("The broker[no-broker] not exist"), "{err}");
}

#[test]
fn query_cq_shows_the_consume_queue_units() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-cq", "");
    let (n, b) = (ns.addr.as_str(), broker.addr.as_str());
    create_topic(n, b, "tp_cq", 1);
    send_all(
        n,
        "tp_cq",
        vec![
            Message::new("tp_cq", "a").with_tags("TagA"),
            Message::new("tp_cq", "bb").with_tags("TagB"),
            Message::new("tp_cq", "ccc").with_tags("TagA"),
        ],
    );
    let out = ok(&[
        "queryCq", "-n", n, "-t", "tp_cq", "-q", "0", "-i", "1", "-c", "10",
    ]);
    assert!(
        out.starts_with("Queue data: \nmax: 3, min: 0\n======================================\n"),
        "{out}"
    );
    assert_eq!(out.matches("idx: ").count(), 2, "{out}");
    assert!(
        out.contains("idx: 1\nConsumeQueueData{physicOffset="),
        "{out}"
    );
    assert!(out.contains("idx: 2\n"), "{out}");
    // Units point at increasing commit-log offsets; tags codes are the tags' Java hash codes.
    let offsets: Vec<i64> = out
        .match_indices("physicOffset=")
        .map(|(i, _)| out[i + 13..].split(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(offsets[0] < offsets[1], "{out}");
    let tag_a = ferromq_common::java_string_hash("TagA");
    assert!(out.contains(&format!("tagsCode={tag_a},")), "{out}");

    // With a live group subscribed to TagA: its subscription, and which units it accepts.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (consumer, got) = counting_consumer(n, "CG_cq", "tp_cq", "TagA");
    rt.block_on(consumer.start()).unwrap();
    let out = mqadmin_until(
        &[
            "queryCq", "-n", n, "-t", "tp_cq", "-q", "0", "-i", "0", "-g", "CG_cq", "-b", b,
        ],
        WAIT,
        |o| o.starts_with("Subscription data: "),
    );
    assert!(out.contains("\"subString\": \"TagA\""), "{out}");
    let evals: Vec<&str> = out
        .match_indices("eval=")
        .map(|(i, _)| out[i + 5..].split(',').next().unwrap())
        .collect();
    assert_eq!(evals, ["true", "false", "true"], "{out}");
    let _ = got;
    rt.block_on(consumer.shutdown());

    // Bad input: an unknown queue, a non-numeric index.
    let err = fails(&[
        "queryCq", "-n", n, "-t", "tp_cq", "-q", "7", "-i", "0", "-b", b,
    ]);
    assert!(err.contains("7@tp_cq is not exist!"), "{err}");
    let err = fails(&["queryCq", "-n", n, "-t", "tp_cq", "-q", "0", "-i", "first"]);
    assert!(err.contains("--index"), "{err}");
}

#[test]
fn mqadmin_lists_commands_by_group_and_helps_each() {
    let (code, out, _) = mqadmin(&[]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("The most commonly used mqadmin commands are:\n"),
        "{out}"
    );
    for title in [
        "Topic:",
        "Cluster:",
        "Broker:",
        "Message:",
        "Consumer:",
        "NameServer:",
        "ACL:",
    ] {
        assert!(
            out.contains(&format!("\n{title}\n")),
            "{title} missing:\n{out}"
        );
    }
    let broker = out
        .split("\nBroker:\n")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap();
    assert!(broker.contains("   updateBrokerConfig "), "{out}");
    let help = ok(&["help", "queryCq"]);
    for opt in [
        "-t, --topic",
        "-q, --queue",
        "-i, --index",
        "-c, --count",
        "-g, --consumer",
    ] {
        assert!(help.contains(opt), "{opt} missing:\n{help}");
    }
}
