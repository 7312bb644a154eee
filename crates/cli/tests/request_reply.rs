//! Request-reply through a real broker: a Rust-client requester here and the `reply_responder`
//! example as the responder in another process; requests nobody answers time out; replies to
//! a requester that stopped waiting or left are refused with an error code.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use ferromq_client::{ClientError, Message, Producer, PullConsumer, PullStatus};
use ferromq_testkit::Proc;

const PAIRS: usize = 1_000;
/// Requests kept outstanding at once by the requester.
const CONCURRENCY: usize = 16;

/// The `reply_responder` example, built by `cargo build --examples` (as `scripts/test.sh`
/// does) next to this test's directory.
fn responder_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = profile_dir.join("examples").join("reply_responder");
    assert!(
        bin.exists(),
        "{} is missing: build the examples first (cargo build --workspace --examples)",
        bin.display()
    );
    bin
}

#[test]
fn a_thousand_requests_get_their_own_replies_from_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-rr", "");
    create_topic(&ns.addr, &broker.addr, "tp_rr", 4);
    let mut responder = Proc::spawn(
        "responder",
        &responder_bin(),
        &["tp_rr"],
        &dir.path().join("logs"),
        &[("NAMESRV_ADDR", ns.addr.as_str())],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let producer = Producer::builder("PG_rr_requester")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        // The responder needs a moment to subscribe; the first request waits for it.
        let first = producer
            .request(Message::new("tp_rr", "warm-up"), Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("no reply to the first request: {e}\n{}", responder.output()));
        assert_eq!(&first.body[..], b"reply:warm-up");

        let began = Instant::now();
        let mut latencies = Vec::with_capacity(PAIRS);
        let mut next = 0;
        while next < PAIRS {
            let batch: Vec<usize> = (next..PAIRS.min(next + CONCURRENCY)).collect();
            next += batch.len();
            let mut waiting = Vec::new();
            for i in batch {
                let sent = Instant::now();
                let body = format!("request-{i}-{}", i * 7919);
                let fut = producer
                    .request_async(Message::new("tp_rr", body.clone()), Duration::from_secs(10))
                    .await
                    .unwrap();
                waiting.push((body, sent, fut));
            }
            for (body, sent, fut) in waiting {
                let reply = fut.await.unwrap_or_else(|e| panic!("{body}: {e}"));
                assert_eq!(
                    String::from_utf8_lossy(&reply.body),
                    format!("reply:{body}"),
                    "a reply came back to the wrong request"
                );
                assert_eq!(reply.topic, "DefaultCluster_REPLY_TOPIC");
                latencies.push(sent.elapsed());
            }
        }
        let elapsed = began.elapsed();
        latencies.sort();
        println!(
            "{PAIRS} request/reply pairs, {CONCURRENCY} outstanding: {:.0} pairs/s, p50 {:?}, p99 {:?}",
            PAIRS as f64 / elapsed.as_secs_f64(),
            latencies[PAIRS / 2],
            latencies[PAIRS * 99 / 100]
        );
        assert_eq!(producer.requests_waiting(), 0);
        producer.shutdown().await;
    });
    responder.kill();
}

#[test]
fn unanswered_requests_time_out_and_late_replies_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-rr2", "");
    create_topic(&ns.addr, &broker.addr, "tp_noreply", 4);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let requester = Producer::builder("PG_rr_late")
            .namesrv_addr(ns.addr.clone())
            .instance_name("requester")
            .build()
            .unwrap();
        let began = Instant::now();
        let err = requester
            .request(
                Message::new("tp_noreply", "anyone?"),
                Duration::from_millis(800),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, ClientError::RequestTimeout { .. }),
            "expected a request timeout, got {err}"
        );
        assert!(began.elapsed() < Duration::from_secs(5));
        assert_eq!(requester.requests_waiting(), 0);

        // A responder picks the request up too late.
        let consumer = PullConsumer::builder("CG_rr_late")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        let mut request = None;
        for mq in consumer.fetch_queues("tp_noreply").await.unwrap() {
            let r = consumer.pull(&mq, 0, 8).await.unwrap();
            if r.status == PullStatus::Found {
                request = r.messages.into_iter().next();
            }
        }
        let request = request.expect("the request was stored");
        let responder = Producer::builder("PG_rr_responder")
            .namesrv_addr(ns.addr.clone())
            .instance_name("responder")
            .build()
            .unwrap();

        // The requester is still connected but stopped waiting: it refuses the reply.
        let err = responder.reply(&request, "late").await.unwrap_err();
        assert_eq!(err.response_code(), Some(1), "{err}");
        assert!(err.to_string().contains("no request is waiting"), "{err}");

        // The requester has left: the broker has no connection to push to.
        requester.shutdown().await;
        let err = responder.reply(&request, "later").await.unwrap_err();
        assert_eq!(err.response_code(), Some(1), "{err}");
        assert!(err.to_string().contains("not found"), "{err}");

        // A reply without a correlation id is malformed.
        let bad = Message::new("DefaultCluster_REPLY_TOPIC", "x")
            .with_property("MSG_TYPE", "reply")
            .with_property("REPLY_TO_CLIENT", "127.0.0.1@nobody");
        let err = responder.send(bad).await.unwrap_err();
        assert_eq!(err.response_code(), Some(13), "{err}");

        // A message that is not a request cannot be replied to.
        let mut plain = request.clone();
        plain.properties = Default::default();
        assert!(responder.reply(&plain, "x").await.is_err());
        responder.shutdown().await;
        consumer.shutdown().await;
    });
    // The broker counted the dropped replies.
    let (code, out, err) = mqadmin(&["brokerStatus", "-n", &ns.addr, "-b", &broker.addr]);
    assert_eq!(code, 0, "{out}{err}");
    let dropped = out
        .lines()
        .find(|l| l.starts_with("replyMessageDroppedTotal"))
        .unwrap_or_else(|| panic!("no replyMessageDroppedTotal in\n{out}"));
    assert!(dropped.trim_end().ends_with(": 2"), "{dropped}");
}
