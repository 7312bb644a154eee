//! mqadmin commands a live client answers through the broker, against real processes and a
//! running Rust push consumer: `consumerStatus` (GET_CONSUMER_RUNNING_INFO, 307) and
//! `queryMsgById -g -d` (CONSUME_MESSAGE_DIRECTLY, 309), and their errors.

mod client_util;
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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

fn fails(args: &[&str]) -> (String, String) {
    let (code, out, err) = mqadmin(args);
    assert_eq!(code, 1, "mqadmin {args:?}\nstdout:\n{out}\nstderr:\n{err}");
    (out, err)
}

/// A push consumer of `topic` that records what it consumes and answers RECONSUME_LATER while
/// `fail` is set.
fn consumer(
    ns: &str,
    group: &str,
    topic: &str,
    got: &Collector,
    fail: &Arc<AtomicBool>,
) -> PushConsumer {
    let g = got.clone();
    let fail = Arc::clone(fail);
    PushConsumer::builder(group)
        .namesrv_addr(ns)
        .subscribe(topic, "TagA || TagB")
        .consume_from(ConsumeFrom::FirstOffset)
        .listener_concurrently(move |msgs, _ctx| {
            let g = g.clone();
            let fail = fail.load(Ordering::SeqCst);
            async move {
                for m in &msgs {
                    g.push(m, 0);
                }
                if fail {
                    ConsumeStatus::ReconsumeLater
                } else {
                    ConsumeStatus::Success
                }
            }
        })
        .build()
        .unwrap()
}

async fn send(ns: &str, topic: &str, bodies: &[&str]) -> Vec<String> {
    let p = Producer::builder("PG_admin_clients")
        .namesrv_addr(ns)
        .build()
        .unwrap();
    let mut ids = Vec::new();
    for b in bodies {
        let r = p
            .send(Message::new(topic, b.to_string()).with_tags("TagA"))
            .await
            .unwrap();
        ids.push(r.msg_id);
    }
    p.shutdown().await;
    ids
}

/// The `#Consumer Offset#` rows of `topic`: (queue id, commit offset).
fn offset_rows(out: &str, topic: &str) -> Vec<(i32, i64)> {
    out.lines()
        .skip_while(|l| !l.starts_with("#Consumer Offset#"))
        .skip(2)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.split_whitespace().next() == Some(topic))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[2].parse().unwrap(), f[3].parse().unwrap())
        })
        .collect()
}

/// The `#Consumer RT&TPS#` row of `topic`, its six figures.
fn rate_row(out: &str, topic: &str) -> Vec<f64> {
    let line = out
        .lines()
        .skip_while(|l| !l.starts_with("#Consumer RT&TPS#"))
        .skip(2)
        .find(|l| l.split_whitespace().next() == Some(topic))
        .unwrap_or_else(|| panic!("no rate row of {topic}:\n{out}"));
    line.split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect()
}

#[test]
fn consumer_status_shows_a_live_push_consumers_subscription_and_queues() {
    let cluster = Cluster::start(&["broker-cs"]);
    cluster.create_topic("tp_status", 2);
    let ns = cluster.ns.addr.clone();
    runtime().block_on(async {
        let got = Collector::default();
        let fail = Arc::new(AtomicBool::new(false));
        let c = consumer(&ns, "CG_status", "tp_status", &got, &fail);
        c.start().await.unwrap();
        let ids = send(&ns, "tp_status", &["a", "b", "c", "d", "e"]).await;
        assert!(got.wait_for(&ids, WAIT).await, "consumed {}", got.len());
        let client = c.client_id().to_owned();

        // One client: its running info, as Java's formatString prints it. The commit offsets
        // are the client's in-memory ones, so they reach 5 as soon as the listener is done.
        let out = common::mqadmin_until(
            &[
                "consumerStatus",
                "-n",
                &ns,
                "-g",
                "CG_status",
                "-i",
                &client,
            ],
            WAIT,
            |o| offset_rows(o, "tp_status").iter().map(|r| r.1).sum::<i64>() == 5,
        );
        assert!(out.starts_with("#Consumer Properties#\n"), "{out}");
        let prop = |k: &str| {
            out.lines()
                .find(|l| l.split(':').next().map(str::trim) == Some(k))
                .and_then(|l| l.split_once(": "))
                .map(|(_, v)| v.to_owned())
                .unwrap_or_else(|| panic!("no property {k}:\n{out}"))
        };
        assert_eq!(prop("PROP_CONSUME_TYPE"), "CONSUME_PASSIVELY");
        assert_eq!(prop("PROP_CONSUMEORDERLY"), "false");
        assert_eq!(prop("PROP_NAMESERVER_ADDR"), ns);
        assert_eq!(prop("consumerGroup"), "CG_status");
        assert_eq!(prop("messageModel"), "CLUSTERING");
        assert!(prop("PROP_CLIENT_VERSION").starts_with('V'), "{out}");
        let started: i64 = prop("PROP_CONSUMER_START_TIMESTAMP").parse().unwrap();
        assert!(
            started > 0 && started <= ferromq_common::now_millis(),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "Topic: {:<40} ClassFilter: false    SubExpression: TagA || TagB\n",
                "tp_status"
            )),
            "{out}"
        );
        assert!(out.contains("Topic: %RETRY%CG_status"), "{out}");
        let rows = offset_rows(&out, "tp_status");
        assert_eq!(
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            vec![0, 1],
            "{out}"
        );
        assert!(
            out.lines()
                .filter(|l| l.starts_with("tp_status") && l.contains("ProcessQueueInfo ["))
                .count()
                == 2,
            "{out}"
        );
        assert!(out.contains("dropped=false"), "{out}");
        let rates = rate_row(&out, "tp_status");
        assert_eq!(rates.len(), 6, "{out}");
        assert!(rates[3] > 0.0, "consume OK TPS after 5 messages: {out}");
        assert_eq!(rates[5], 0.0, "no failed messages: {out}");

        // Every client of the group: the list, the analysis, then each one's running info.
        let all = ok(&["consumerStatus", "-n", &ns, "-g", "CG_status"]);
        let first = all.lines().next().unwrap_or_default();
        assert!(first.starts_with(&format!("001  {client}")), "{all}");
        assert!(
            all.contains("Same subscription in the same group of consumer"),
            "{all}"
        );
        assert!(all.contains("Rebalance OK"), "{all}");
        assert!(
            all.contains(&format!("#ClientId: {client}\n#Consumer Properties#")),
            "{all}"
        );

        // -s is accepted; a Rust client sends no thread dump, and the tool says so.
        let (code, out, err) = mqadmin(&[
            "consumerStatus",
            "-n",
            &ns,
            "-g",
            "CG_status",
            "-i",
            &client,
            "-s",
        ]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(err.contains("JVM thread dump"), "{err}");
        assert!(!out.contains("#Consumer jstack#"), "{out}");

        // A client id the group does not have: the broker's SYSTEM_ERROR.
        let (_, err) = fails(&[
            "consumerStatus",
            "-n",
            &ns,
            "-g",
            "CG_status",
            "-i",
            "127.0.0.1@nobody",
        ]);
        assert!(
            err.contains("ConsumerStatusSubCommand command failed"),
            "{err}"
        );
        assert!(
            err.contains("The Consumer <CG_status> <127.0.0.1@nobody> not online"),
            "{err}"
        );
        assert!(err.contains("CODE: 1 "), "{err}");

        // A group nobody consumes.
        let (_, err) = fails(&["consumerStatus", "-n", &ns, "-g", "CG_nobody"]);
        assert!(
            err.contains("ConsumerStatusSubCommand command failed"),
            "{err}"
        );

        c.shutdown().await;
    });
}

#[test]
fn query_msg_by_id_with_group_and_client_makes_the_listener_consume_it() {
    let cluster = Cluster::start(&["broker-cd"]);
    cluster.create_topic("tp_direct", 2);
    let ns = cluster.ns.addr.clone();
    runtime().block_on(async {
        let got = Collector::default();
        let fail = Arc::new(AtomicBool::new(false));
        let c = consumer(&ns, "CG_direct", "tp_direct", &got, &fail);
        c.start().await.unwrap();
        let ids = send(&ns, "tp_direct", &["direct-body"]).await;
        assert!(got.wait_for(&ids, WAIT).await, "consumed {}", got.len());
        assert_eq!(got.len(), 1);
        let client = c.client_id().to_owned();
        let id = &ids[0];

        let out = ok(&[
            "queryMsgById",
            "-n",
            &ns,
            "-t",
            "tp_direct",
            "-i",
            id,
            "-g",
            "CG_direct",
            "-d",
            &client,
        ]);
        assert!(
            out.starts_with("ConsumeMessageDirectlyResult [order=false, autoCommit=true, consumeResult=CR_SUCCESS, remark=null, spentTimeMills="),
            "{out}"
        );
        // The listener saw the stored message a second time, under its topic and queue.
        let seen = got.snapshot();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[1].msg_id, *id);
        assert_eq!(seen[1].body, b"direct-body");
        assert_eq!(seen[1].topic, "tp_direct");
        assert_eq!(seen[1].queue_id, seen[0].queue_id);

        // A listener that asks for a later retry is reported as CR_LATER; nothing is sent back.
        fail.store(true, Ordering::SeqCst);
        let out = ok(&[
            "queryMsgById",
            "-n",
            &ns,
            "-t",
            "tp_direct",
            "-i",
            id,
            "-g",
            "CG_direct",
            "-d",
            &client,
        ]);
        assert!(out.contains("consumeResult=CR_LATER"), "{out}");
        fail.store(false, Ordering::SeqCst);
        assert_eq!(got.len(), 3);

        // Errors: a client that is not connected, a group with no such client.
        for (group, who) in [
            ("CG_direct", "127.0.0.1@ghost"),
            ("CG_other", client.as_str()),
        ] {
            let (_, err) = fails(&[
                "queryMsgById",
                "-n",
                &ns,
                "-t",
                "tp_direct",
                "-i",
                id,
                "-g",
                group,
                "-d",
                who,
            ]);
            assert!(err.contains("QueryMsgByIdSubCommand command failed"), "{err}");
            assert!(
                err.contains(&format!("The Consumer <{group}> <{who}> not online")),
                "{err}"
            );
        }
        // An id that names no message.
        let (_, err) = fails(&[
            "queryMsgById",
            "-n",
            &ns,
            "-t",
            "tp_direct",
            "-i",
            "00000000000000000000000000000000",
            "-g",
            "CG_direct",
            "-d",
            &client,
        ]);
        assert!(err.contains("QueryMsgByIdSubCommand command failed"), "{err}");
        c.shutdown().await;
        // Settled: the direct consumptions did not produce retries.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(got.len(), 3, "{:?}", got.snapshot());
    });
}
