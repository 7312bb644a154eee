//! ACL 2.0 (RocketMQ 5.3 users and ACLs) end to end with broker processes: the first super user
//! from `initAuthenticationUser`, users and ACLs managed with mqadmin, the Rust client allowed
//! or refused (NO_PERMISSION with a remark naming what was refused), persistence across a
//! restart, and a slave that receives the master's users and ACLs.

mod client_util;
mod common;

use std::time::{Duration, Instant};

use client_util::{runtime, wait_until, Collector};
use common::{bin, start_broker, start_namesrv};
use ferromq_client::{
    AdminClient, ClientError, ConsumeFrom, ConsumeStatus, Message, Producer, PushConsumer,
    SendResult, SendStatus,
};
use ferromq_testkit::run_command;

const ROOT: (&str, &str) = ("root", "rootSecret1");
const ALICE: (&str, &str) = ("alice", "aliceSecret1");

fn auth_conf(extra: &str) -> String {
    format!(
        "authenticationEnabled=true\nauthorizationEnabled=true\n\
         initAuthenticationUser={{\"username\":\"root\",\"password\":\"rootSecret1\"}}\n\
         innerClientAuthenticationCredentials={{\"accessKey\":\"inner\",\"secretKey\":\"innerSecret1\"}}\n{extra}"
    )
}

fn mqadmin_as(account: Option<(&str, &str)>, args: &[&str]) -> (i32, String) {
    let env: Vec<(&str, &str)> = match account {
        Some((ak, sk)) => vec![("FERROMQ_ACCESS_KEY", ak), ("FERROMQ_SECRET_KEY", sk)],
        None => vec![("FERROMQ_ACCESS_KEY", ""), ("FERROMQ_SECRET_KEY", "")],
    };
    let (code, out, err) = run_command(&bin("mqadmin"), args, &env, Duration::from_secs(30));
    (code, format!("{out}{err}"))
}

fn ok_as(account: (&str, &str), args: &[&str]) -> String {
    let (code, out) = mqadmin_as(Some(account), args);
    assert_eq!(code, 0, "mqadmin {args:?} failed: {out}");
    out
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

fn producer(ns: &str, name: &str, user: Option<(&str, &str)>) -> Producer {
    let mut b = Producer::builder("PG_acl2")
        .namesrv_addr(ns.to_owned())
        .instance_name(name)
        .retry_times(0);
    if let Some((u, p)) = user {
        b = b.credentials(u, p);
    }
    b.build().unwrap()
}

#[test]
fn users_and_acls_from_mqadmin_gate_the_rust_client_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let ha_port = ferromq_testkit::free_port();
    let mut master = start_broker(
        dir.path(),
        &ns.addr,
        "broker-auth",
        &auth_conf(&format!(
            "brokerRole=ASYNC_MASTER\nhaListenPort={ha_port}\nhaSendHeartbeatInterval=500\n"
        )),
    );
    let (n, b) = (ns.addr.clone(), master.addr.clone());

    // Unsigned admin requests are refused; the initial super user may do everything.
    let create_alice = [
        "createUser",
        "-n",
        &n,
        "-b",
        &b,
        "-u",
        ALICE.0,
        "-p",
        ALICE.1,
    ];
    let (code, out) = mqadmin_as(None, &create_alice);
    assert_ne!(code, 0, "an unsigned createUser was served: {out}");
    assert!(out.contains("username cannot be null"), "{out}");
    let out = ok_as(ROOT, &create_alice);
    assert_eq!(out.trim(), format!("create user to {b} success."));
    // A normal user may not make super users (and has no right on the cluster at all).
    let (code, out) = mqadmin_as(
        Some(ALICE),
        &[
            "createUser",
            "-n",
            &n,
            "-b",
            &b,
            "-u",
            "eve",
            "-p",
            "eveSecret1",
            "-t",
            "Super",
        ],
    );
    assert_ne!(code, 0, "{out}");
    let out = ok_as(ROOT, &["getUser", "-n", &n, "-b", &b, "-u", ALICE.0]);
    assert!(out.starts_with("#UserName"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["alice", ALICE.1, "Normal", "enable"]),
        "{out}"
    );
    let out = ok_as(ROOT, &["listUser", "-n", &n, "-b", &b]);
    for name in ["root", "inner", "alice"] {
        assert!(out.contains(name), "{out}");
    }

    for topic in ["tp_acl2", "tp_other"] {
        ok_as(
            ROOT,
            &[
                "updateTopic",
                "-n",
                &n,
                "-b",
                &b,
                "-t",
                topic,
                "-r",
                "2",
                "-w",
                "2",
            ],
        );
    }
    let out = ok_as(
        ROOT,
        &[
            "createAcl",
            "-n",
            &n,
            "-b",
            &b,
            "-s",
            "User:alice",
            "-r",
            "Topic:tp_acl2,Group:CG_acl2",
            "-a",
            "Pub,Sub",
            "-d",
            "Allow",
        ],
    );
    assert_eq!(out.trim(), format!("create acl to {b} success."));
    let out = ok_as(ROOT, &["getAcl", "-n", &n, "-b", &b, "-s", "User:alice"]);
    assert!(out.starts_with("#Subject"), "{out}");
    assert!(
        out.contains("User:alice        Custom      Topic:tp_acl2           [Pub, Sub]"),
        "{out}"
    );
    let out = ok_as(ROOT, &["listAcl", "-n", &n, "-b", &b, "-r", "Group:CG"]);
    assert!(out.contains("Group:CG_acl2"), "{out}");

    let rt = runtime();
    rt.block_on(async {
        let admin = AdminClient::connect(Some(&n)).unwrap();
        let routed = wait_until(Duration::from_secs(20), || {
            let admin = admin.clone();
            async move {
                admin.topic_route("tp_acl2").await.is_ok()
                    && admin.topic_route("tp_other").await.is_ok()
            }
        })
        .await;
        assert!(routed, "topics never routed");

        let got = Collector::default();
        let g = got.clone();
        let consumer = PushConsumer::builder("CG_acl2")
            .namesrv_addr(n.clone())
            .credentials(ALICE.0, ALICE.1)
            .consume_from(ConsumeFrom::FirstOffset)
            .subscribe("tp_acl2", "*")
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

        let alice = producer(&n, "acl2-alice", Some(ALICE));
        let mut ids = Vec::new();
        for i in 0..3 {
            let r = alice
                .send(Message::new("tp_acl2", format!("allowed-{i}")))
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
        // No ACL entry for the other topic.
        refused(
            alice.send(Message::new("tp_other", "x")).await,
            "User:alice has no permission to access Topic:tp_other",
        );
        let mallory = producer(&n, "acl2-mallory", Some(("mallory", "whatever1")));
        refused(
            mallory.send(Message::new("tp_acl2", "x")).await,
            "User:mallory is not found",
        );
        let wrong = producer(&n, "acl2-wrong", Some((ALICE.0, "notTheSecret")));
        refused(
            wrong.send(Message::new("tp_acl2", "x")).await,
            "check signature failed",
        );
        let unsigned = producer(&n, "acl2-unsigned", None);
        refused(
            unsigned.send(Message::new("tp_acl2", "x")).await,
            "username cannot be null",
        );
        for p in [&alice, &mallory, &wrong, &unsigned] {
            p.shutdown().await;
        }
        consumer.shutdown().await;
        assert_eq!(got.distinct().len(), 3, "a refused send was delivered");
    });

    // Deny on the same resource replaces the allow: sends are refused from now on.
    ok_as(
        ROOT,
        &[
            "updateAcl",
            "-n",
            &n,
            "-b",
            &b,
            "-s",
            "User:alice",
            "-r",
            "Topic:tp_acl2",
            "-a",
            "Pub",
            "-d",
            "Deny",
        ],
    );
    let alice_send = |rt: &tokio::runtime::Runtime, name: &str| {
        let p = producer(&n, name, Some(ALICE));
        let r = rt.block_on(p.send(Message::new("tp_acl2", "after-deny")));
        rt.block_on(p.shutdown());
        r
    };
    refused(alice_send(&rt, "acl2-deny"), "the decision is deny");

    // Users and ACLs are on disk: after a restart alice exists and is still denied.
    master.restart();
    let out = ok_as(ROOT, &["getUser", "-n", &n, "-b", &b, "-u", ALICE.0]);
    assert!(out.contains("alice"), "{out}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match alice_send(&rt, "acl2-after-restart") {
            Err(e) if format!("{e:?}").contains("the decision is deny") => break,
            other => assert!(Instant::now() < deadline, "after the restart: {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    // A slave copies the master's users and ACLs.
    let slave = start_broker(
        dir.path(),
        &n,
        "broker-auth-s",
        &auth_conf(
            "brokerName=broker-auth\nbrokerId=1\nbrokerRole=SLAVE\nhaSendHeartbeatInterval=500\n",
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (code, out) = mqadmin_as(
            Some(ROOT),
            &["getAcl", "-n", &n, "-b", &slave.addr, "-s", "User:alice"],
        );
        if code == 0 && out.contains("Topic:tp_acl2") && out.contains("Deny") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slave never received alice's ACL: {out}\n{}",
            slave.proc.output()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // Deleting the ACL entry, then the user.
    let out = ok_as(
        ROOT,
        &[
            "deleteAcl",
            "-n",
            &n,
            "-b",
            &b,
            "-s",
            "User:alice",
            "-r",
            "Topic:tp_acl2",
        ],
    );
    assert_eq!(out.trim(), format!("delete acl to {b} success."));
    let out = ok_as(ROOT, &["listAcl", "-n", &n, "-b", &b, "-s", "alice"]);
    assert!(!out.contains("Topic:tp_acl2"), "{out}");
    assert!(out.contains("Group:CG_acl2"), "{out}");
    ok_as(ROOT, &["deleteUser", "-n", &n, "-b", &b, "-u", ALICE.0]);
    let out = ok_as(ROOT, &["listUser", "-n", &n, "-b", &b]);
    assert!(!out.contains("alice"), "{out}");
    let out = ok_as(ROOT, &["getUser", "-n", &n, "-b", &b, "-u", ALICE.0]);
    assert_eq!(out, "", "a deleted user was printed");
}

/// `ferromq bench producer --ak/--sk` signs its sends: an allowed user's are all stored, an
/// unsigned run stores nothing.
#[test]
fn bench_signs_with_ak_and_sk() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-bench-auth", &auth_conf(""));
    let (n, b) = (ns.addr.clone(), broker.addr.clone());
    ok_as(
        ROOT,
        &[
            "updateTopic",
            "-n",
            &n,
            "-b",
            &b,
            "-t",
            "tp_bench_auth",
            "-r",
            "2",
            "-w",
            "2",
        ],
    );
    ok_as(
        ROOT,
        &[
            "createUser",
            "-n",
            &n,
            "-b",
            &b,
            "-u",
            ALICE.0,
            "-p",
            ALICE.1,
        ],
    );
    ok_as(
        ROOT,
        &[
            "createAcl",
            "-n",
            &n,
            "-b",
            &b,
            "-s",
            "User:alice",
            "-r",
            "Topic:tp_bench_auth",
            "-a",
            "Pub",
            "-d",
            "Allow",
        ],
    );
    let bench = |extra: &[&str]| {
        let mut args = vec![
            "bench",
            "producer",
            "-n",
            &n,
            "-t",
            "tp_bench_auth",
            "-q",
            "2",
            "--count",
            "50",
            "--quiet",
            "--json",
        ];
        args.extend_from_slice(extra);
        run_command(&bin("ferromq"), &args, &[], Duration::from_secs(60))
    };
    let (code, out, err) = bench(&["--ak", ALICE.0, "--sk", ALICE.1]);
    assert_eq!(code, 0, "{out}{err}");
    let last: serde_json::Value =
        serde_json::from_str(out.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(last["sent"], 50, "{out}");
    let (code, out, err) = bench(&[]);
    let sent = serde_json::from_str::<serde_json::Value>(out.lines().last().unwrap_or_default())
        .map(|j| j["sent"].as_u64().unwrap_or(0))
        .unwrap_or(0);
    assert!(
        code != 0 || sent == 0,
        "an unsigned bench was served ({code}): {out}{err}"
    );
}
