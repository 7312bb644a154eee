//! The dashboard on a real socket: `/metrics` parses as Prometheus text, unknown paths answer
//! 404 with the reason, and shutdown stops the server.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferromq_metrics::{MetricsRegistry, Scrape, Source};
use ferromq_testkit::{http_get, http_get_accept};
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Sends(AtomicU64);

impl Source for Sends {
    fn collect(&self, out: &mut Scrape) {
        out.counter(
            "rocketmq_messages_in_total",
            "Total number of incoming messages",
            vec![(Cow::Borrowed("topic"), "T1".to_owned())],
            self.0.load(Ordering::Relaxed),
        );
    }
}

fn parse(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .unwrap_or_else(|e| panic!("{e}: not Prometheus text:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_follow_the_sources_and_unknown_paths_are_404() {
    let sends = Arc::new(Sends::default());
    let registry = MetricsRegistry::new();
    registry.register(Arc::clone(&sends) as Arc<dyn Source>);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stop = CancellationToken::new();
    let server = tokio::spawn(ferromq_dashboard::serve(listener, registry, stop.clone()));

    let get = |path: &'static str| {
        let addr = addr.clone();
        tokio::task::spawn_blocking(move || http_get(&addr, path))
    };
    sends.0.store(41, Ordering::Relaxed);
    let (status, body) = get("/metrics").await.unwrap();
    assert_eq!(status, 200, "{body}");
    let scrape = parse(&body);
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == "rocketmq_messages_in_total" && s.labels.get("topic") == Some("T1"))
        .unwrap_or_else(|| panic!("no sample in\n{body}"));
    assert!(
        matches!(sample.value, prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) if v == 41.0),
        "{:?}",
        sample.value
    );
    assert!(
        body.contains("# TYPE rocketmq_messages_in_total counter\n"),
        "{body}"
    );
    sends.0.store(42, Ordering::Relaxed);
    let a = addr.clone();
    let (_, body) = tokio::task::spawn_blocking(move || {
        http_get_accept(
            &a,
            "/metrics",
            "application/openmetrics-text; version=1.0.0",
        )
    })
    .await
    .unwrap();
    assert!(
        body.contains("# TYPE rocketmq_messages_in counter\n"),
        "{body}"
    );
    assert!(
        body.contains("rocketmq_messages_in_total{topic=\"T1\"} 42\n"),
        "{body}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");

    let (status, body) = get("/no/such/page").await.unwrap();
    assert_eq!(status, 404);
    assert!(body.contains("no page at /no/such/page"), "{body}");

    stop.cancel();
    let ended = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(matches!(ended, Ok(Ok(Ok(())))), "{ended:?}");
    assert!(std::net::TcpStream::connect(&addr).is_err());
}
