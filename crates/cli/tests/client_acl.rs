//! The Rust client and mqadmin against a broker process with `aclEnable=true`: with credentials
//! they send, consume and create topics; without them (or with a non-admin account for admin
//! requests) the broker answers NO_PERMISSION and the error says why.

mod client_util;
mod common;

use std::time::Duration;

use client_util::{runtime, wait_until, Collector};
use common::{bin, start_broker, start_namesrv};
use ferromq_client::{
    AdminClient, ClientError, ConsumeFrom, ConsumeStatus, LitePullConsumer, Message, Producer,
    PushConsumer, SendResult, SendStatus,
};
use ferromq_testkit::run_command;

const ACL: &str = "
accounts:
  - accessKey: adminKey1
    secretKey: adminSecret
    admin: true
  - accessKey: appUser01
    secretKey: appSecret01
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - tp_acl=PUB|SUB
";

fn mqadmin_as(account: Option<(&str, &str)>, args: &[&str]) -> (i32, String) {
    let env: Vec<(&str, &str)> = match account {
        Some((ak, sk)) => vec![("FERROMQ_ACCESS_KEY", ak), ("FERROMQ_SECRET_KEY", sk)],
        None => vec![("FERROMQ_ACCESS_KEY", ""), ("FERROMQ_SECRET_KEY", "")],
    };
    let (code, out, err) = run_command(&bin("mqadmin"), args, &env, Duration::from_secs(30));
    (code, format!("{out}{err}"))
}

/// The send failed because the broker answered NO_PERMISSION (16) with `why` in the remark.
fn refused(r: Result<SendResult, ClientError>, why: &str) {
    let e = r.expect_err("the send was served");
    let broker = match &e {
        ClientError::SendFailed { source, .. } => source.as_ref(),
        other => other,
    };
    match broker {
        ClientError::Broker { code: 16, remark } => assert!(remark.contains(why), "{remark}"),
        other => panic!("not refused with NO_PERMISSION: {other:?}"),
    }
}

#[test]
fn signed_clients_send_and_consume_and_unsigned_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let acl = dir.path().join("plain_acl.yml");
    std::fs::write(&acl, ACL).unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-acl",
        &format!("aclEnable=true\nplainAclFile={}\n", acl.display()),
    );
    let topic = "tp_acl";
    let create = [
        "updateTopic",
        "-n",
        &ns.addr,
        "-b",
        &broker.addr,
        "-t",
        topic,
        "-r",
        "2",
        "-w",
        "2",
    ];
    let (code, out) = mqadmin_as(None, &create);
    assert_ne!(code, 0, "an unsigned updateTopic was served: {out}");
    assert!(out.contains("No accessKey"), "{out}");
    let (code, out) = mqadmin_as(Some(("appUser01", "appSecret01")), &create);
    assert_ne!(code, 0, "a non-admin updateTopic was served: {out}");
    assert!(out.contains("Need admin permission"), "{out}");
    let (code, out) = mqadmin_as(Some(("adminKey1", "adminSecret")), &create);
    assert_eq!(code, 0, "{out}");

    runtime().block_on(async {
        let admin = AdminClient::connect(Some(&ns.addr)).unwrap();
        let routed = wait_until(Duration::from_secs(20), || {
            let admin = admin.clone();
            async move { admin.topic_route(topic).await.is_ok() }
        })
        .await;
        assert!(routed, "{topic} never routed");

        let got = Collector::default();
        let g = got.clone();
        let consumer = PushConsumer::builder("CG_acl")
            .namesrv_addr(ns.addr.clone())
            .credentials("appUser01", "appSecret01")
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

        let producer = Producer::builder("PG_acl")
            .namesrv_addr(ns.addr.clone())
            .instance_name("acl-signed")
            .credentials("appUser01", "appSecret01")
            .build()
            .unwrap();
        let mut ids = Vec::new();
        for i in 0..3 {
            let r = producer
                .send(Message::new(topic, format!("signed-{i}")))
                .await
                .unwrap();
            assert_eq!(r.status, SendStatus::SendOk);
            ids.push(r.msg_id);
        }
        assert!(
            got.wait_for(&ids, Duration::from_secs(30)).await,
            "consumed {:?}",
            got.snapshot()
        );

        // A lite pull consumer with the same account reads them too (its pulls, heartbeats and
        // offset commits are signed).
        let lite = LitePullConsumer::builder("CG_acl_lite")
            .namesrv_addr(ns.addr.clone())
            .credentials("appUser01", "appSecret01")
            .consume_from(ConsumeFrom::FirstOffset)
            .build()
            .unwrap();
        lite.subscribe(topic, "*").unwrap();
        lite.start().await.unwrap();
        let mut polled = std::collections::BTreeSet::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while polled.len() < ids.len() && std::time::Instant::now() < deadline {
            for m in lite.poll(Duration::from_millis(500)).await {
                polled.insert(m.msg_id());
            }
        }
        assert!(
            ids.iter().all(|i| polled.contains(i)),
            "lite polled {polled:?}"
        );
        lite.shutdown().await;

        let unsigned = Producer::builder("PG_acl")
            .namesrv_addr(ns.addr.clone())
            .instance_name("acl-unsigned")
            .retry_times(0)
            .build()
            .unwrap();
        refused(
            unsigned.send(Message::new(topic, "unsigned")).await,
            "No accessKey",
        );
        let wrong = Producer::builder("PG_acl")
            .namesrv_addr(ns.addr.clone())
            .instance_name("acl-wrong")
            .credentials("appUser01", "not-the-secret")
            .retry_times(0)
            .build()
            .unwrap();
        refused(
            wrong.send(Message::new(topic, "wrong")).await,
            "Check signature failed",
        );
        unsigned.shutdown().await;
        wrong.shutdown().await;
        producer.shutdown().await;
        consumer.shutdown().await;
        // Only the three signed messages were consumed.
        assert_eq!(got.distinct().len(), 3);
    });
}
