//! mqadmin's configuration and permission commands against real processes: getBrokerConfig,
//! topicClusterList, producerConnection, getNamesrvConfig, updateKvConfig, deleteKvConfig,
//! updateTopicPerm, getConsumerConfig, wipeWritePerm, addWritePerm.

mod common;

use std::time::Duration;

use common::*;
use ferromq_client::{AdminClient, Message, Producer};

const WAIT: Duration = Duration::from_secs(10);

fn ok(args: &[&str]) -> String {
    let (code, out, err) = mqadmin(args);
    assert_eq!(code, 0, "mqadmin {args:?}\nstdout:\n{out}\nstderr:\n{err}");
    out
}

#[test]
fn config_and_permission_commands_as_a_user_runs_them() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-more", "");
    let (n, b) = (ns.addr.as_str(), broker.addr.as_str());
    create_topic(n, b, "tp_more", 2);

    // getBrokerConfig -b: the address between rules, then `%-50s=  %s` lines and a blank line.
    let out = ok(&["getBrokerConfig", "-n", n, "-b", b]);
    assert!(
        out.starts_with(&format!("============{b}============\n")),
        "{out}"
    );
    assert!(
        out.contains(&format!("\n{:<50}=  broker-more\n", "brokerName")),
        "{out}"
    );
    assert!(out.ends_with("\n\n"), "{out}");
    // -c: the master's block.
    let out = ok(&["getBrokerConfig", "-n", n, "-c", "DefaultCluster"]);
    assert!(
        out.starts_with(&format!("============Master: {b}============\n")),
        "{out}"
    );
    let out = ok(&["getBrokerConfig", "-n", n, "-c", "NoSuchCluster"]);
    assert!(out.starts_with("[error] Make sure"), "{out}");

    // topicClusterList: one cluster name per line; an unknown topic fails.
    assert_eq!(
        ok(&["topicClusterList", "-n", n, "-t", "tp_more"]),
        "DefaultCluster\n"
    );
    let (code, _, err) = mqadmin(&["topicClusterList", "-n", n, "-t", "tp_nowhere"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("TopicClusterSubCommand command failed"),
        "{err}"
    );

    // producerConnection: a producer that has sent shows up once it heartbeats.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let producer = rt.block_on(async {
        let producer = Producer::builder("PG_more")
            .namesrv_addr(n.to_owned())
            .build()
            .unwrap();
        producer
            .send(Message::new("tp_more", "hello"))
            .await
            .unwrap();
        producer
    });
    let out = mqadmin_until(
        &[
            "producerConnection",
            "-n",
            n,
            "-g",
            "PG_more",
            "-t",
            "tp_more",
        ],
        WAIT,
        |o| o.starts_with("0001  "),
    );
    let row = out.lines().next().unwrap();
    assert!(row.contains("127.0.0.1") && row.contains("RUST"), "{out}");
    let (code, _, err) = mqadmin(&[
        "producerConnection",
        "-n",
        n,
        "-g",
        "PG_none",
        "-t",
        "tp_more",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("ProducerConnectionSubCommand command failed"),
        "{err}"
    );

    // getNamesrvConfig: the name server's settings under its address.
    let out = ok(&["getNamesrvConfig", "-n", n]);
    assert!(
        out.starts_with(&format!("============{n}============\n")),
        "{out}"
    );
    let port = n.rsplit(':').next().unwrap();
    assert!(
        out.contains(&format!("\n{:<50}=  {port}\n", "listenPort")),
        "{out}"
    );

    // updateKvConfig / deleteKvConfig, checked through GET_KV_CONFIG.
    assert_eq!(
        ok(&[
            "updateKvConfig",
            "-n",
            n,
            "-s",
            "NS_more",
            "-k",
            "k1",
            "-v",
            "v1"
        ]),
        "create or update kv config to namespace success.\n"
    );
    let admin = AdminClient::connect(Some(n)).unwrap();
    assert_eq!(
        rt.block_on(admin.get_kv_config("NS_more", "k1")).unwrap(),
        Some("v1".to_owned())
    );
    assert_eq!(
        ok(&["deleteKvConfig", "-n", n, "-s", "NS_more", "-k", "k1"]),
        "delete kv config from namespace success.\n"
    );
    assert_eq!(
        rt.block_on(admin.get_kv_config("NS_more", "k1")).unwrap(),
        None
    );

    // updateTopicPerm -b: the change and the config sent; the route follows.
    let out = ok(&[
        "updateTopicPerm",
        "-n",
        n,
        "-b",
        b,
        "-t",
        "tp_more",
        "-p",
        "4",
    ]);
    assert_eq!(
        out,
        format!(
            "update topic perm from 6 to 4 in {b} success.\n\
             TopicConfig [topicName=tp_more, readQueueNums=2, writeQueueNums=2, perm=R--, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false, attributes={{}}].\n"
        )
    );
    mqadmin_until(&["topicRoute", "-n", n, "-t", "tp_more"], WAIT, |o| {
        o.contains("\"perm\":4")
    });
    assert_eq!(
        ok(&[
            "updateTopicPerm",
            "-n",
            n,
            "-b",
            b,
            "-t",
            "tp_more",
            "-p",
            "4"
        ]),
        "new perm equals to the old one!\n"
    );
    assert_eq!(
        ok(&[
            "updateTopicPerm",
            "-n",
            n,
            "-b",
            "127.0.0.1:1",
            "-t",
            "tp_more",
            "-p",
            "6"
        ]),
        "updateTopicPerm error broker not exit or broker is not master!.\n"
    );
    // -c: one line per master, back to read-write.
    assert_eq!(
        ok(&[
            "updateTopicPerm",
            "-n",
            n,
            "-c",
            "DefaultCluster",
            "-t",
            "tp_more",
            "-p",
            "6"
        ]),
        format!("update topic perm from 4 to 6 in {b} success.\n")
    );
    mqadmin_until(&["topicRoute", "-n", n, "-t", "tp_more"], WAIT, |o| {
        o.contains("\"perm\":6")
    });

    // getConsumerConfig: the group's fields per broker that has it; nothing for an unknown group.
    ok(&[
        "updateSubGroup",
        "-n",
        n,
        "-b",
        b,
        "-g",
        "CG_more",
        "-r",
        "3",
    ]);
    let out = ok(&["getConsumerConfig", "-n", n, "-g", "CG_more"]);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(
            "=============================DefaultCluster:broker-more============================="
        )
    );
    assert_eq!(
        lines.next(),
        Some(format!("{:<40}=  CG_more", "groupName").as_str())
    );
    assert!(
        out.contains(&format!("\n{:<40}=  3\n", "retryMaxTimes")),
        "{out}"
    );
    assert_eq!(ok(&["getConsumerConfig", "-n", n, "-g", "CG_none"]), "");

    // wipeWritePerm / addWritePerm: one line per name server with the topic count.
    let out = ok(&["wipeWritePerm", "-n", n, "-b", "broker-more"]);
    let prefix = format!("wipe write perm of broker[broker-more] in name server[{n}] OK, ");
    let count: i32 = out
        .strip_prefix(&prefix)
        .and_then(|rest| rest.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(count >= 1, "{out}");
    let route = ok(&["topicRoute", "-n", n, "-t", "tp_more"]);
    assert!(route.contains("\"perm\":4"), "{route}");
    let out = ok(&["addWritePerm", "-n", n, "-b", "broker-more"]);
    assert_eq!(
        out,
        format!("add write perm of broker[broker-more] in name server[{n}] OK, {count}\n")
    );
    let route = ok(&["topicRoute", "-n", n, "-t", "tp_more"]);
    assert!(route.contains("\"perm\":6"), "{route}");

    rt.block_on(producer.shutdown());
}

/// `updateNamesrvConfig`: RocketMQ's success text, the change visible in `getNamesrvConfig`,
/// and refusals (a black-listed key, a bad value) with RocketMQ's error lines.
#[test]
fn update_namesrv_config_as_a_user_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let n = ns.addr.as_str();
    let out = ok(&[
        "updateNamesrvConfig",
        "-n",
        n,
        "-k",
        "orderMessageEnable",
        "-v",
        "true",
    ]);
    assert_eq!(
        out,
        format!("update name server config success![{n}]\norderMessageEnable : true\n")
    );
    let out = ok(&["getNamesrvConfig", "-n", n]);
    assert!(
        out.contains(&format!("{:<50}=  true\n", "orderMessageEnable")),
        "{out}"
    );
    let (code, _, err) = mqadmin(&[
        "updateNamesrvConfig",
        "-n",
        n,
        "-k",
        "kvConfigPath",
        "-v",
        "/tmp/x",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Can not update config in black list."),
        "{err}"
    );
    let (code, _, err) = mqadmin(&[
        "updateNamesrvConfig",
        "-n",
        n,
        "-k",
        "scanNotActiveBrokerInterval",
        "-v",
        "abc",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("UpdateNamesrvConfigCommand command failed"),
        "{err}"
    );
    let out = ok(&["getNamesrvConfig", "-n", n]);
    assert!(!out.contains("/tmp/x"), "{out}");
}
