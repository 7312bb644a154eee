//! The dashboard's answers when things go wrong, on a real socket: a name server that does not
//! answer makes pages and API calls 502 with the reason (never 500), and a request with a
//! missing or malformed field is 400 with the reason before anything is asked of the cluster.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ferromq_dashboard::{ClusterTarget, Dashboard};
use ferromq_metrics::MetricsRegistry;
use ferromq_testkit::{free_port, http_get};
use tokio_util::sync::CancellationToken;

fn post(addr: &str, path: &str, content_type: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_cluster_is_502_and_bad_fields_are_400_with_reasons() {
    // Nobody listens on this port: every admin call fails to connect.
    let dead = format!("127.0.0.1:{}", free_port());
    let target = ClusterTarget {
        namesrv: dead.clone(),
        broker_addr: dead,
        broker_name: "broker-x".into(),
        cluster: "DefaultCluster".into(),
    };
    let dashboard = Dashboard::with_cluster(MetricsRegistry::new(), target).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stop = CancellationToken::new();
    let server = tokio::spawn(ferromq_dashboard::serve_dashboard(
        listener,
        dashboard,
        stop.clone(),
    ));

    let a = addr.clone();
    let (pages, posts) = tokio::task::spawn_blocking(move || {
        let pages = [
            "/",
            "/topics",
            "/api/topics",
            "/api/groups",
            "/dlq",
            "/metrics",
        ]
        .map(|p| (p, http_get(&a, p)));
        let posts = [
            ("/api/topics", "application/json", r#"{"perm":"6"}"#),
            (
                "/api/topics",
                "application/json",
                r#"{"topic":"T","perm":"9"}"#,
            ),
            (
                "/api/topics",
                "application/json",
                r#"{"topic":"T","perm":9}"#,
            ),
            (
                "/api/topics",
                "application/json",
                r#"{"topic":"T","perm":[6]}"#,
            ),
            (
                "/api/groups/reset",
                "application/json",
                r#"{"group":"G","topic":"T"}"#,
            ),
            ("/api/topics", "application/json", "{not json"),
            ("/api/topics", "text/plain", r#"{"topic":"T"}"#),
        ]
        .map(|(p, ct, b)| (p, b, post(&a, p, ct, b)));
        (pages, posts)
    })
    .await
    .unwrap();

    for (path, (status, body)) in &pages[..5] {
        assert_eq!(*status, 502, "{path}: {body}");
        assert!(body.contains("127.0.0.1"), "{path} gives no reason: {body}");
    }
    assert!(
        pages[0].1 .1.contains("<nav>"),
        "an error page keeps the navigation"
    );
    assert!(
        pages[2].1 .1.starts_with("{\"error\":"),
        "{}",
        pages[2].1 .1
    );
    assert_eq!(pages[5].1 .0, 200, "/metrics works without the cluster");

    let expect = [
        "topic is required",
        "perm must be a number from 0 to 7",
        // The body is JSON, so the quotes around the value come escaped.
        r#"perm must be a number from 0 to 7, not \"9\""#,
        "expected a string or a number",
        "timestamp is required",
        "",
        "",
    ];
    assert_eq!(posts.len(), expect.len());
    for ((path, sent, (status, body)), reason) in posts.iter().zip(expect) {
        assert!(
            (400..500).contains(status),
            "POST {path} {sent}: {status} {body}"
        );
        assert!(
            !body.is_empty() && body.contains(reason),
            "POST {path} {sent}: {body}"
        );
    }

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}
