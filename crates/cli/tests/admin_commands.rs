//! The rest of mqadmin's commands against real processes: topicRoute, brokerStatus,
//! consumerProgress, consumerConnection, deleteTopic.

mod common;

use std::time::Duration;

use common::*;
use ferromq_client::{Message, Producer, PullConsumer};

#[test]
fn consumer_and_topic_admin_commands() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-adm", "");
    let (code, out, err) = mqadmin(&[
        "updateTopic",
        "-n",
        &ns.addr,
        "-b",
        &broker.addr,
        "-t",
        "tp_adm",
        "-r",
        "2",
        "-w",
        "2",
    ]);
    assert_eq!(code, 0, "{out}{err}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let consumer = rt.block_on(async {
        let producer = Producer::builder("PG_adm")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        for i in 0..10 {
            producer
                .send(Message::new("tp_adm", format!("m{i}")))
                .await
                .unwrap();
        }
        let consumer = PullConsumer::builder("CG_adm")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        consumer.subscribe("tp_adm", "*").unwrap();
        assert!(consumer.heartbeat().await.unwrap() >= 1);
        for mq in consumer.fetch_queues("tp_adm").await.unwrap() {
            consumer.update_offset("CG_adm", &mq, 1).await.unwrap();
        }
        consumer
    });

    // topicRoute prints the route JSON with this broker.
    let (code, out, err) = mqadmin(&["topicRoute", "-n", &ns.addr, "-t", "tp_adm"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\"brokerName\":\"broker-adm\"") && out.contains(&broker.addr),
        "{out}"
    );

    // brokerStatus prints key : value lines from the runtime info.
    let (code, out, err) = mqadmin(&["brokerStatus", "-n", &ns.addr, "-b", &broker.addr]);
    assert_eq!(code, 0, "{err}");
    let put_line = out
        .lines()
        .find(|l| l.starts_with("msgPutTotalTodayNow"))
        .unwrap_or_default();
    assert!(put_line.trim_end().ends_with(": 10"), "{out}");

    // consumerProgress shows both queues with broker offset, consumer offset and the diff.
    let out = mqadmin_until(
        &["consumerProgress", "-n", &ns.addr, "-g", "CG_adm"],
        Duration::from_secs(10),
        |o| o.lines().filter(|l| l.starts_with("tp_adm")).count() == 2,
    );
    assert!(out.contains("Diff Total: 8"), "{out}");

    // consumerConnection lists the live client.
    let (code, out, err) = mqadmin(&["consumerConnection", "-n", &ns.addr, "-g", "CG_adm"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("tp_adm") && out.contains("CLUSTERING"),
        "{out}"
    );

    // deleteTopic removes it from the broker and the name server.
    let (code, out, err) = mqadmin(&[
        "deleteTopic",
        "-n",
        &ns.addr,
        "-c",
        "DefaultCluster",
        "-t",
        "tp_adm",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (_, list, _) = mqadmin(&["topicList", "-n", &ns.addr]);
    assert!(!list.lines().any(|l| l.trim() == "tp_adm"), "{list}");
    drop(consumer);
}

#[test]
fn a_mistyped_command_gets_a_suggestion() {
    let (code, out, _) = mqadmin(&["updateTopik", "-n", "127.0.0.1:1"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("The sub command updateTopik not exist."),
        "{out}"
    );
    assert!(out.contains("Did you mean `updateTopic`?"), "{out}");
    let (_, out, _) = mqadmin(&["nothingLikeIt"]);
    assert!(!out.contains("Did you mean"), "{out}");
}
