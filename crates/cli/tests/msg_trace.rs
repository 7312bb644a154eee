//! Message trace against real processes: the broker's own records (`brokerTraceEnable`) and
//! the Rust client's (`enable_msg_trace`), read back with `mqadmin queryMsgTraceById` and on the
//! dashboard's message page.

mod client_util;
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use client_util::runtime;
use common::{create_topic, mqadmin, mqadmin_until, start_broker, start_namesrv};
use ferromq_client::{ConsumeFrom, ConsumeStatus, Message, Producer, PushConsumer};

const WAIT: Duration = Duration::from_secs(60);

/// Creates `topic` on `broker` and waits until the name server routes it.
fn routed_topic(ns: &str, broker: &common::Broker, topic: &str, queues: u32) {
    create_topic(ns, &broker.addr, topic, queues);
    mqadmin_until(&["topicRoute", "-n", ns, "-t", topic], WAIT, |out| {
        out.contains(&broker.name)
    });
}

/// The trace table of the dashboard's page for message `msg_id` of `topic`, as rows of cells
/// (header excluded).
fn dashboard_trace(dashboard: &str, topic: &str, msg_id: &str) -> Vec<Vec<String>> {
    let (status, page) = ferromq_testkit::http_get(
        dashboard,
        &format!("/messages/view?topic={topic}&id={msg_id}"),
    );
    assert_eq!(status, 200, "{page}");
    let table = page
        .split("<table id=\"message-trace\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_else(|| panic!("no trace table on the message page:\n{page}"));
    let body = table.split("<tbody>").nth(1).unwrap_or_default();
    body.split("<tr>")
        .filter(|r| !r.is_empty())
        .map(|r| {
            r.split("<td>")
                .skip(1)
                .map(|c| c.split("</td>").next().unwrap_or_default().to_owned())
                .collect()
        })
        .collect()
}

/// The lines of the "life" part of a queryMsgTraceById report.
fn life(out: &str) -> Vec<&str> {
    out.lines()
        .skip_while(|l| !l.starts_with("Life of the message"))
        .skip(2)
        .collect()
}

#[test]
fn broker_trace_shows_a_message_stored_delivered_failed_and_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let dashboard = format!("127.0.0.1:{}", ferromq_testkit::free_port());
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-tr",
        &format!(
            "brokerTraceEnable=true\ndashboardPort={}",
            dashboard.rsplit(':').next().unwrap()
        ),
    );
    routed_topic(&ns.addr, &broker, "tp_trace", 2);
    let msg_id = runtime().block_on(async {
        let p = Producer::builder("PG_trace")
            .namesrv_addr(&ns.addr)
            .build()
            .unwrap();
        let m = Message::new("tp_trace", "traced body")
            .with_key("order-1")
            .with_tags("TagT");
        let id = p.send(m).await.unwrap().msg_id;
        // The consumer fails the message once; with no retries allowed it goes to the DLQ.
        let calls = Arc::new(AtomicUsize::new(0));
        let c2 = Arc::clone(&calls);
        let c = PushConsumer::builder("CG_trace")
            .namesrv_addr(&ns.addr)
            .subscribe("tp_trace", "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .max_reconsume_times(0)
            .listener_concurrently(move |_msgs, _ctx| {
                c2.fetch_add(1, Ordering::SeqCst);
                async { ConsumeStatus::ReconsumeLater }
            })
            .build()
            .unwrap();
        c.start().await.unwrap();
        let ok = client_util::wait_until(WAIT, || {
            let n = calls.load(Ordering::SeqCst);
            async move { n >= 1 }
        })
        .await;
        assert!(ok, "the consumer never got the message");
        // Give the send-back time to happen before stopping.
        tokio::time::sleep(Duration::from_secs(2)).await;
        c.shutdown().await;
        p.shutdown().await;
        id
    });
    let out = mqadmin_until(
        &["queryMsgTraceById", "-n", &ns.addr, "-i", &msg_id],
        WAIT,
        |out| out.contains("moved to the dead-letter queue") && out.contains("delivered"),
    );
    // RocketMQ's table: the Pub row with the producer group and the producer's host.
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("#Type      #ProducerGroup"), "{out}");
    assert!(lines[1].starts_with("Pub        PG_trace "), "{out}");
    assert!(lines[1].contains("127.0.0.1"), "{out}");
    assert!(lines[1].trim_end().ends_with("success"), "{out}");
    // The life: sent, delivered to the group, consumed with failure, moved to the DLQ.
    let life = life(&out);
    let find = |what: &str| {
        life.iter()
            .position(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no `{what}` in the life:\n{out}"))
    };
    let sent = find("sent, success");
    let delivered = find("delivered (retry 0)");
    let failed = find("consumed, failed");
    let dlq = find("moved to the dead-letter queue");
    assert!(life[delivered].contains("CG_trace"), "{out}");
    assert!(life[dlq].contains("%DLQ%CG_trace"), "{out}");
    assert!(
        sent <= delivered && delivered <= failed && failed <= dlq,
        "{out}"
    );

    // The dashboard's message page shows the same life in its trace table.
    let (status, page) = ferromq_testkit::http_get(
        &dashboard,
        &format!("/messages/view?topic=tp_trace&id={msg_id}"),
    );
    assert_eq!(status, 200, "{page}");
    let trace = page
        .split("id=\"message-trace\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no trace table on the message page:\n{page}"));
    for want in ["Pub", "SubBefore", "SubAfter", "CG_trace", "%DLQ%CG_trace"] {
        assert!(
            trace.contains(want),
            "no {want} in the page's trace:\n{trace}"
        );
    }

    // A message id nobody traced: RocketMQ's failure, exit 1.
    let (code, _, err) = mqadmin(&["queryMsgTraceById", "-n", &ns.addr, "-i", "NO_SUCH_ID"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("QueryMsgTraceByIdSubCommand command failed"),
        "{err}"
    );
    // Options are checked before anything is asked.
    let (code, _, err) = mqadmin(&["queryMsgTraceById", "-n", &ns.addr]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = mqadmin(&[
        "queryMsgTraceById",
        "-n",
        &ns.addr,
        "-i",
        &msg_id,
        "-num",
        "many",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("For input string: \"many\""), "{err}");
}

#[test]
fn without_the_switch_the_broker_records_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-notr", "");
    routed_topic(&ns.addr, &broker, "tp_notrace", 1);
    let msg_id = runtime().block_on(async {
        let p = Producer::builder("PG_notrace")
            .namesrv_addr(&ns.addr)
            .build()
            .unwrap();
        let id = p
            .send(Message::new("tp_notrace", "b"))
            .await
            .unwrap()
            .msg_id;
        p.shutdown().await;
        id
    });
    std::thread::sleep(Duration::from_secs(2));
    let (code, out, err) = mqadmin(&["queryMsgTraceById", "-n", &ns.addr, "-i", &msg_id]);
    assert_eq!(
        code, 1,
        "a trace appeared without brokerTraceEnable:\n{out}{err}"
    );
}

#[test]
fn rust_client_trace_shows_the_send_and_the_consumption() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    // No broker trace: every record here comes from the client.
    let dashboard = format!("127.0.0.1:{}", ferromq_testkit::free_port());
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-ctr",
        &format!("dashboardPort={}", dashboard.rsplit(':').next().unwrap()),
    );
    routed_topic(&ns.addr, &broker, "tp_ctrace", 2);
    let msg_id = runtime().block_on(async {
        let p = Producer::builder("PG_ctrace")
            .namesrv_addr(&ns.addr)
            .enable_msg_trace(true)
            .build()
            .unwrap();
        let id = p
            .send(Message::new("tp_ctrace", "b").with_key("k-ctrace"))
            .await
            .unwrap()
            .msg_id;
        let calls = Arc::new(AtomicUsize::new(0));
        let c2 = Arc::clone(&calls);
        let c = PushConsumer::builder("CG_ctrace")
            .namesrv_addr(&ns.addr)
            .subscribe("tp_ctrace", "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .enable_msg_trace(true)
            .listener_concurrently(move |_msgs, _ctx| {
                c2.fetch_add(1, Ordering::SeqCst);
                async { ConsumeStatus::Success }
            })
            .build()
            .unwrap();
        c.start().await.unwrap();
        let ok = client_util::wait_until(WAIT, || {
            let n = calls.load(Ordering::SeqCst);
            async move { n >= 1 }
        })
        .await;
        assert!(ok, "the consumer never got the message");
        // Shutting down sends what the tracers hold.
        c.shutdown().await;
        p.shutdown().await;
        id
    });
    let out = mqadmin_until(
        &["queryMsgTraceById", "-n", &ns.addr, "-i", &msg_id],
        WAIT,
        |out| out.contains("Sub        CG_ctrace") && out.contains("Pub        PG_ctrace"),
    );
    let sub = out
        .lines()
        .find(|l| l.starts_with("Sub        CG_ctrace"))
        .unwrap();
    assert!(sub.trim_end().ends_with("success"), "{out}");
    assert!(sub.contains("127.0.0.1"), "{out}");
    let life = life(&out);
    assert!(
        life.iter().any(|l| l.contains("delivered (retry 0)")),
        "{out}"
    );
    // The dashboard's message page shows the client's three records: the producer's Pub and
    // the consumer's SubBefore and SubAfter, each with its group and outcome.
    // Columns: Time, Type, Topic, Group, Client, Status, Cost, Retries.
    let rows = dashboard_trace(&dashboard, "tp_ctrace", &msg_id);
    let row = |kind: &str| {
        rows.iter()
            .find(|r| r[1] == kind)
            .unwrap_or_else(|| panic!("no {kind} row in the page's trace: {rows:?}"))
    };
    let (publ, before, after) = (row("Pub"), row("SubBefore"), row("SubAfter"));
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        (&publ[2][..], &publ[3][..], &publ[5][..]),
        ("tp_ctrace", "PG_ctrace", "success"),
        "{rows:?}"
    );
    assert_eq!(
        (&before[3][..], &before[7][..]),
        ("CG_ctrace", "0"),
        "{rows:?}"
    );
    assert_eq!(
        (&after[3][..], &after[5][..]),
        ("CG_ctrace", "success"),
        "{rows:?}"
    );
    for r in &rows {
        assert_eq!(r[4], "127.0.0.1", "{rows:?}");
    }

    // The trace is also found under the message's key, as Java indexes it.
    let (code, keyed, err) = mqadmin(&[
        "queryMsgByKey",
        "-n",
        &ns.addr,
        "-t",
        "RMQ_SYS_TRACE_TOPIC",
        "-k",
        &msg_id,
    ]);
    assert_eq!(code, 0, "{keyed}{err}");
}

#[test]
fn broker_trace_records_commits_and_rollbacks() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-txtr",
        "brokerTraceEnable=true",
    );
    routed_topic(&ns.addr, &broker, "tp_txtrace", 1);
    let (committed, rolled_back) = runtime().block_on(async {
        let p = ferromq_client::TransactionProducer::new(
            Producer::builder("PG_txtrace").namesrv_addr(&ns.addr),
            |_msg| async { ferromq_client::LocalTransactionState::RollbackMessage },
        )
        .unwrap();
        let mut ids = Vec::new();
        for state in [
            ferromq_client::LocalTransactionState::CommitMessage,
            ferromq_client::LocalTransactionState::RollbackMessage,
        ] {
            let r = p
                .send_in_transaction(Message::new("tp_txtrace", "tx"), move |_m, _| async move {
                    state
                })
                .await
                .unwrap();
            ids.push(r.send.msg_id);
        }
        p.shutdown().await;
        (ids[0].clone(), ids[1].clone())
    });
    let out = mqadmin_until(
        &["queryMsgTraceById", "-n", &ns.addr, "-i", &committed],
        WAIT,
        |out| out.contains("transaction COMMIT_MESSAGE"),
    );
    assert!(out.contains("Pub        PG_txtrace"), "{out}");
    let out = mqadmin_until(
        &["queryMsgTraceById", "-n", &ns.addr, "-i", &rolled_back],
        WAIT,
        |out| out.contains("transaction ROLLBACK_MESSAGE"),
    );
    assert!(!out.contains("COMMIT_MESSAGE"), "{out}");
}
