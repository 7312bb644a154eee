//! TLS on the remoting and dashboard ports (`tls.server.mode`), against real processes. The
//! certificates are made here with rcgen (a CA and a server certificate for 127.0.0.1 and
//! localhost); nothing secret is committed.
//!
//! * enforcing: mqadmin and the Rust client work over TLS with the CA; plaintext requests get
//!   an error saying TLS is required; the broker registers over TLS with an enforcing name
//!   server (so `clusterList` lists it); the dashboard answers HTTPS only.
//! * permissive: plaintext and TLS both work on the same port.

mod client_util;
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use client_util::{runtime, wait_until, Collector};
use common::{bin, start_broker, START_TIMEOUT};
use ferromq_client::{
    AdminClient, ConsumeFrom, ConsumeStatus, Message, Producer, PushConsumer, SendStatus,
    ServerTrust, TlsClient,
};
use ferromq_testkit::{free_port, run_command, wait_for_port, Proc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// PEM files of a test CA and of a server certificate it signed.
struct Certs {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    /// A second CA that signed nothing the servers present.
    other_ca: PathBuf,
}

fn make_ca(name: &str) -> (rcgen::Certificate, rcgen::KeyPair) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert, key)
}

fn make_certs(dir: &Path) -> Certs {
    let (ca, ca_key) = make_ca("FerroMQ test CA");
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let (other, _) = make_ca("Some other CA");
    let certs = Certs {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
        other_ca: dir.join("other-ca.pem"),
    };
    std::fs::write(&certs.ca, ca.pem()).unwrap();
    std::fs::write(&certs.cert, cert.pem()).unwrap();
    std::fs::write(&certs.key, key.serialize_pem()).unwrap();
    std::fs::write(&certs.other_ca, other.pem()).unwrap();
    certs
}

fn server_tls_conf(mode: &str, certs: &Certs) -> String {
    format!(
        "tls.server.mode={mode}\ntls.test.mode.enable=false\ntls.server.certPath={}\ntls.server.keyPath={}\ntls.config.file={}\n",
        certs.cert.display(),
        certs.key.display(),
        "/nonexistent/tls.properties",
    )
}

fn start_namesrv_with(dir: &Path, extra: &str) -> (Proc, String) {
    let port = free_port();
    let conf = dir.join("namesrv.conf");
    std::fs::write(
        &conf,
        format!(
            "listenPort={port}\nkvConfigPath={}\n{extra}",
            dir.join("namesrv-kv.json").display()
        ),
    )
    .unwrap();
    let proc = Proc::spawn(
        "namesrv",
        &bin("mqnamesrv"),
        &["-c", conf.to_str().unwrap()],
        &dir.join("logs"),
        &[],
    );
    let addr = format!("127.0.0.1:{port}");
    assert!(
        wait_for_port(&addr, START_TIMEOUT),
        "name server did not start:\n{}",
        proc.output()
    );
    (proc, addr)
}

fn mqadmin(args: &[&str]) -> (i32, String) {
    let (code, out, err) = run_command(&bin("mqadmin"), args, &[], Duration::from_secs(30));
    (code, format!("{out}{err}"))
}

/// Runs mqadmin until it succeeds with `want` in its output, at most 30 s.
fn mqadmin_until(args: &[&str], want: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (code, out) = mqadmin(args);
        if code == 0 && out.contains(want) {
            return out;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "mqadmin {args:?} never printed {want:?}; last exit {code}:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// One HTTP GET over TLS; returns the raw response.
async fn https_get(addr: &str, tls: &TlsClient, path: &str) -> std::io::Result<String> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let mut s = tls.connect(addr, tcp).await?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.ok();
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn enforcing_serves_tls_only_and_says_why_to_plaintext_peers() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(dir.path());
    let (_ns, ns) = start_namesrv_with(dir.path(), &server_tls_conf("enforcing", &certs));
    let http = free_port();
    // The broker registers with the enforcing name server over TLS (tls.enable follows
    // enforcing), verifying its certificate against the CA.
    let broker = start_broker(
        dir.path(),
        &ns,
        "broker-tls",
        &format!(
            "{}tls.client.authServer=true\ntls.client.trustCertPath={}\ndashboardPort={http}\nbindAddress=127.0.0.1\n",
            server_tls_conf("enforcing", &certs),
            certs.ca.display()
        ),
    );
    let ca = certs.ca.to_str().unwrap();

    // Registered over TLS: the enforcing name server lists the broker.
    mqadmin_until(
        &["clusterList", "-n", &ns, "--tls", "--tls-ca", ca],
        "broker-tls",
    );

    // Plaintext mqadmin: refused with the reason.
    let (code, out) = mqadmin(&["clusterList", "-n", &ns]);
    assert_ne!(code, 0, "plaintext clusterList was served:\n{out}");
    assert!(out.contains("TLS required"), "{out}");
    // --tls alone asks how to check the certificate.
    let (code, out) = mqadmin(&["clusterList", "-n", &ns, "--tls"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("--tls-ca") && out.contains("--tls-insecure"),
        "{out}"
    );
    // A CA that did not sign the server's certificate: the handshake fails.
    let (code, out) = mqadmin(&[
        "clusterList",
        "-n",
        &ns,
        "--tls-ca",
        certs.other_ca.to_str().unwrap(),
    ]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("TLS handshake"), "{out}");

    let topic = "tp_tls";
    let (code, out) = mqadmin(&[
        "updateTopic",
        "-n",
        &ns,
        "-b",
        &broker.addr,
        "-t",
        topic,
        "-r",
        "2",
        "-w",
        "2",
        "--tls-ca",
        ca,
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = mqadmin(&[
        "updateTopic",
        "-n",
        &ns,
        "-b",
        &broker.addr,
        "-t",
        "tp_plain",
    ]);
    assert_ne!(code, 0, "plaintext updateTopic was served:\n{out}");

    runtime().block_on(async {
        let tls = TlsClient::new(&ServerTrust::CaFile(certs.ca.clone()), None).unwrap();
        let admin = AdminClient::connect(Some(&ns))
            .unwrap()
            .with_tls(tls.clone());
        let routed = wait_until(Duration::from_secs(20), || {
            let admin = admin.clone();
            async move { admin.topic_route(topic).await.is_ok() }
        })
        .await;
        assert!(routed, "{topic} never routed over TLS");

        let got = Collector::default();
        let g = got.clone();
        let consumer = PushConsumer::builder("CG_tls")
            .namesrv_addr(ns.clone())
            .tls(tls.clone())
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
        let producer = Producer::builder("PG_tls")
            .namesrv_addr(ns.clone())
            .instance_name("tls-producer")
            .tls(tls.clone())
            .build()
            .unwrap();
        let mut ids = Vec::new();
        for i in 0..3 {
            let r = producer
                .send(Message::new(topic, format!("over-tls-{i}")))
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

        // A plaintext producer is refused, and the error says why.
        let plain = Producer::builder("PG_plain")
            .namesrv_addr(ns.clone())
            .instance_name("plain-producer")
            .send_timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let e = plain
            .send(Message::new(topic, "plaintext"))
            .await
            .expect_err("a plaintext send was served");
        assert!(e.to_string().contains("TLS required"), "{e}");

        // The dashboard answers over HTTPS and refuses plain HTTP.
        let http_addr = format!("127.0.0.1:{http}");
        assert!(wait_for_port(&http_addr, START_TIMEOUT));
        let resp = https_get(&http_addr, &tls, "/metrics").await.unwrap();
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        let plain_http = tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(|| ferromq_testkit::http_get(&http_addr, "/metrics"))
        })
        .await
        .unwrap();
        assert!(
            plain_http.is_err() || plain_http.as_ref().is_ok_and(|(code, _)| *code != 200),
            "plain HTTP was served by an enforcing dashboard"
        );

        producer.shutdown().await;
        plain.shutdown().await;
        consumer.shutdown().await;
    });
}

#[test]
fn permissive_serves_plaintext_and_tls_on_one_port() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(dir.path());
    let (_ns, ns) = start_namesrv_with(dir.path(), &server_tls_conf("permissive", &certs));
    let broker = start_broker(
        dir.path(),
        &ns,
        "broker-both",
        &server_tls_conf("permissive", &certs),
    );
    let ca = certs.ca.to_str().unwrap();
    // The broker registers in plaintext (permissive does not turn outgoing TLS on).
    mqadmin_until(&["clusterList", "-n", &ns], "broker-both");
    mqadmin_until(&["clusterList", "-n", &ns, "--tls-ca", ca], "broker-both");
    mqadmin_until(&["clusterList", "-n", &ns, "--tls-insecure"], "broker-both");
    let (code, out) = mqadmin(&[
        "updateTopic",
        "-n",
        &ns,
        "-b",
        &broker.addr,
        "-t",
        "tp_both",
        "--tls-ca",
        ca,
    ]);
    assert_eq!(code, 0, "{out}");
    mqadmin_until(&["topicRoute", "-n", &ns, "-t", "tp_both"], "broker-both");

    runtime().block_on(async {
        for (name, tls) in [
            ("plain", None),
            (
                "tls",
                Some(TlsClient::new(&ServerTrust::CaFile(certs.ca.clone()), None).unwrap()),
            ),
        ] {
            let mut b = Producer::builder(format!("PG_{name}"))
                .namesrv_addr(ns.clone())
                .instance_name(format!("both-{name}"));
            if let Some(tls) = tls {
                b = b.tls(tls);
            }
            let producer = b.build().unwrap();
            let r = producer
                .send(Message::new("tp_both", format!("via {name}")))
                .await
                .unwrap_or_else(|e| panic!("{name} send failed: {e}"));
            assert_eq!(r.status, SendStatus::SendOk, "{name}");
            producer.shutdown().await;
        }
    });
}
