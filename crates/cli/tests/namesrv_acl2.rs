//! ACL 2.0 on the name server: a name server with `authenticationEnabled` and
//! `authorizationEnabled` reads the users and ACLs a broker keeps (`authConfigPath` pointing at
//! the broker's `config/auth.json`), accepts the broker's registration signed with its inner
//! credentials, and refuses unsigned, unknown-user, wrongly signed and under-privileged
//! requests from mqadmin and the Rust client with NO_PERMISSION.

mod client_util;
mod common;

use std::time::Duration;

use client_util::{runtime, wait_until};
use common::{bin, start_broker};
use ferromq_client::{AdminClient, ClientError, Message, Producer, SendStatus};
use ferromq_testkit::{free_port, run_command, wait_for_port, Proc};

const ROOT: (&str, &str) = ("root", "rootSecret1");
const ALICE: (&str, &str) = ("alice", "aliceSecret1");
const CREDS: &str = "initAuthenticationUser={\"username\":\"root\",\"password\":\"rootSecret1\"}\n\
     innerClientAuthenticationCredentials={\"accessKey\":\"inner\",\"secretKey\":\"innerSecret1\"}\n";

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

/// The call failed with NO_PERMISSION (16) and a remark containing `why`.
fn no_permission<T: std::fmt::Debug>(r: Result<T, ClientError>, why: &str) {
    match r {
        Err(ClientError::Broker { code: 16, remark }) => {
            assert!(remark.contains(why), "{remark}")
        }
        other => panic!("not refused with NO_PERMISSION ({why}): {other:?}"),
    }
}

#[test]
fn name_server_checks_signatures_and_acls_from_the_brokers_users() {
    let dir = tempfile::tempdir().unwrap();
    let broker_name = "broker-nsauth";
    let users = dir
        .path()
        .join(broker_name)
        .join("config")
        .join("auth.json");
    let ns_port = free_port();
    let ns_conf = dir.path().join("namesrv.conf");
    std::fs::write(
        &ns_conf,
        format!(
            "listenPort={ns_port}\nkvConfigPath={}\nauthenticationEnabled=true\nauthorizationEnabled=true\nauthConfigPath={}\n{CREDS}",
            dir.path().join("namesrv-kv.json").display(),
            users.display()
        ),
    )
    .unwrap();
    let ns_proc = Proc::spawn(
        "namesrv",
        &bin("mqnamesrv"),
        &["-c", ns_conf.to_str().unwrap()],
        &dir.path().join("logs"),
        &[],
    );
    let n = format!("127.0.0.1:{ns_port}");
    assert!(
        wait_for_port(&n, Duration::from_secs(20)),
        "name server did not start:\n{}",
        ns_proc.output()
    );
    let broker = start_broker(
        dir.path(),
        &n,
        broker_name,
        &format!(
            "authenticationEnabled=true\nauthorizationEnabled=true\ngrpcListenPort=0\n{CREDS}"
        ),
    );
    let b = broker.addr.clone();

    // Unsigned and wrongly signed requests to the name server are refused.
    let (code, out) = mqadmin_as(None, &["clusterList", "-n", &n]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("username cannot be null"), "{out}");
    let (code, out) = mqadmin_as(Some(("root", "wrong")), &["clusterList", "-n", &n]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("check signature failed"), "{out}");
    // The broker registered with its inner credentials; the super user sees it.
    let out = mqadmin_until_as(ROOT, &["clusterList", "-n", &n], |o| {
        o.contains(broker_name)
    });
    assert!(out.contains(broker_name), "{out}");

    // alice is made on the broker; the name server reads the broker's users file.
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
    for topic in ["tp_nsauth", "tp_nsother"] {
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
            "Topic:tp_nsauth",
            "-a",
            "Pub",
            "-d",
            "Allow",
        ],
    );

    let rt = runtime();
    rt.block_on(async {
        let alice = AdminClient::connect(Some(&n))
            .unwrap()
            .with_credentials(ALICE.0, ALICE.1);
        let routed = wait_until(Duration::from_secs(20), || {
            let a = alice.clone();
            async move { a.topic_route("tp_nsauth").await.is_ok() }
        })
        .await;
        assert!(routed, "alice never got the route of tp_nsauth");
        // Authorization: no right on the other topic, nor on name-server-wide changes.
        no_permission(
            alice.topic_route("tp_nsother").await,
            "User:alice has no permission to access Topic:tp_nsother (Pub|Sub|Get)",
        );
        no_permission(
            alice.put_kv_config("NS_ACL", "k", "v").await,
            "Cluster:DefaultCluster (Update)",
        );
        // Authentication: unsigned, unknown user, wrong secret.
        let unsigned = AdminClient::connect(Some(&n)).unwrap();
        no_permission(unsigned.topic_route("tp_nsauth").await, "not signed");
        let bob = AdminClient::connect(Some(&n))
            .unwrap()
            .with_credentials("bob", "bobSecret1");
        no_permission(bob.topic_route("tp_nsauth").await, "User:bob is not found");
        let wrong = AdminClient::connect(Some(&n))
            .unwrap()
            .with_credentials(ALICE.0, "wrongSecret");
        no_permission(
            wrong.topic_route("tp_nsauth").await,
            "check signature failed for User:alice",
        );
        let root = AdminClient::connect(Some(&n))
            .unwrap()
            .with_credentials(ROOT.0, ROOT.1);
        root.put_kv_config("NS_ACL", "k", "v").await.unwrap();

        // alice's producer: route from the name server, send to the broker, both signed.
        let p = Producer::builder("PG_nsauth")
            .namesrv_addr(n.clone())
            .instance_name("nsauth")
            .retry_times(0)
            .credentials(ALICE.0, ALICE.1)
            .build()
            .unwrap();
        let r = p
            .send(Message::new("tp_nsauth", b"hello".to_vec()))
            .await
            .unwrap();
        assert_eq!(r.status, SendStatus::SendOk);
        p.shutdown().await;
        // The same producer without credentials does not even get a route.
        let anon = Producer::builder("PG_nsauth")
            .namesrv_addr(n.clone())
            .instance_name("nsauth-anon")
            .retry_times(0)
            .build()
            .unwrap();
        assert!(anon
            .send(Message::new("tp_nsauth", b"x".to_vec()))
            .await
            .is_err());
        anon.shutdown().await;
    });
    // getNamesrvConfig (root) shows the keys, passwords masked.
    let out = ok_as(ROOT, &["getNamesrvConfig", "-n", &n]);
    assert!(
        out.contains("authenticationEnabled") && out.contains("true"),
        "{out}"
    );
    assert!(
        !out.contains("rootSecret1") && !out.contains("innerSecret1"),
        "{out}"
    );
    drop(broker);
    drop(ns_proc);
}

fn mqadmin_until_as(account: (&str, &str), args: &[&str], check: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (code, out) = mqadmin_as(Some(account), args);
        if code == 0 && check(&out) {
            return out;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "mqadmin {args:?} never matched: {out}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}
