//! Acceptance 1 of flow control: a broker whose disk cannot keep up (a 100 ms fsync injected
//! with `debugFlushDelayMs`, SYNC_FLUSH) under many concurrent large sends sheds some of them
//! with SYSTEM_BUSY `[TIMEOUT_CLEAN_QUEUE]`, keeps answering admin requests and pulls, loses
//! nothing it acknowledged, and takes sends again once the load drops. Figures (shed count,
//! admin and pull p99, peak RSS of the test process) are printed with `--nocapture`.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_broker::config::FlushDiskType;
use ferromq_net::RemotingClient;
use ferromq_proto::codes::{request, response};
use ferromq_proto::header::NoHeader;
use ferromq_proto::headers::{pull_flag, PullMessageRequestHeader, SendMessageRequestHeaderV2};
use ferromq_proto::RemotingCommand;
use parking_lot::Mutex;
use support::{start, TestBroker};

const TOPIC: &str = "TFlow";
const CONNECTIONS: usize = 8;
const SENDERS_PER_CONNECTION: usize = 32;
const BODY: usize = 64 * 1024;
const LOAD: Duration = Duration::from_secs(4);
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Outcome {
    acked: HashSet<String>,
    shed: u64,
    shed_remarks: Vec<String>,
    other_codes: Vec<i32>,
}

fn send_cmd(id: &str) -> RemotingCommand {
    let header = SendMessageRequestHeaderV2 {
        a: "PG_flow".into(),
        b: TOPIC.into(),
        c: "TBW102".into(),
        d: 4,
        e: 0,
        f: 0,
        g: ferromq_common::now_millis(),
        h: 0,
        i: Some(String::new()),
        j: None,
        k: Some(false),
        l: None,
        m: Some(false),
        n: None,
    };
    let mut body = id.as_bytes().to_vec();
    body.push(b'|');
    body.resize(BODY, b'x');
    RemotingCommand::request(request::SEND_MESSAGE_V2, &header).with_body(body)
}

fn pull_cmd(offset: i64) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: "G_flow".into(),
        topic: TOPIC.into(),
        queue_id: 0,
        queue_offset: offset,
        max_msg_nums: 4,
        sys_flag: pull_flag::SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
    };
    RemotingCommand::request(request::PULL_MESSAGE, &header)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn p99(mut v: Vec<Duration>) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    v[(v.len() * 99 / 100).min(v.len() - 1)]
}

struct Report {
    outcome: Outcome,
    admin: Vec<Duration>,
    pulls: Vec<Duration>,
    peak_rss_kib: u64,
    elapsed: Duration,
}

async fn overload(t: &TestBroker) -> Report {
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let started = Instant::now();
    let mut senders = Vec::new();
    for c in 0..CONNECTIONS {
        // One client per connection: each is its own socket to the broker.
        let client = RemotingClient::default();
        for s in 0..SENDERS_PER_CONNECTION {
            let client = client.clone();
            let addr = t.addr.clone();
            let outcome = Arc::clone(&outcome);
            senders.push(tokio::spawn(async move {
                let mut n = 0u64;
                while started.elapsed() < LOAD {
                    let id = format!("c{c}-s{s}-{n}");
                    n += 1;
                    let resp = client.invoke(&addr, send_cmd(&id), CALL_TIMEOUT).await;
                    let mut o = outcome.lock();
                    match resp {
                        Ok(r) if r.code == response::SUCCESS => {
                            o.acked.insert(id);
                        }
                        Ok(r) if r.code == response::SYSTEM_BUSY => {
                            o.shed += 1;
                            if o.shed_remarks.len() < 4 {
                                o.shed_remarks.push(r.remark.unwrap_or_default());
                            }
                        }
                        Ok(r) => o.other_codes.push(r.code),
                        Err(e) => panic!("send {id} failed at the transport: {e}"),
                    }
                }
            }));
        }
    }
    // While the senders run: admin calls and pulls on their own connections, and RSS.
    let probe = RemotingClient::default();
    let (mut admin, mut pulls, mut peak_rss_kib) = (Vec::new(), Vec::new(), rss_kib());
    while started.elapsed() < LOAD {
        let at = Instant::now();
        let r = probe
            .invoke(
                &t.addr,
                RemotingCommand::request(request::GET_BROKER_RUNTIME_INFO, &NoHeader),
                CALL_TIMEOUT,
            )
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS);
        admin.push(at.elapsed());
        let at = Instant::now();
        let r = probe
            .invoke(&t.addr, pull_cmd(0), CALL_TIMEOUT)
            .await
            .unwrap();
        assert!(
            [
                response::SUCCESS,
                response::PULL_NOT_FOUND,
                response::PULL_OFFSET_MOVED
            ]
            .contains(&r.code),
            "pull answered {} {:?}",
            r.code,
            r.remark
        );
        pulls.push(at.elapsed());
        peak_rss_kib = peak_rss_kib.max(rss_kib());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for s in senders {
        s.await.unwrap();
    }
    let elapsed = started.elapsed();
    let outcome = Arc::try_unwrap(outcome)
        .ok()
        .expect("senders are done")
        .into_inner();
    Report {
        outcome,
        admin,
        pulls,
        peak_rss_kib: peak_rss_kib.max(rss_kib()),
        elapsed,
    }
}

/// Every acknowledged id must be in the topic's queue.
fn assert_nothing_acked_lost(t: &TestBroker, acked: &HashSet<String>) {
    let mut stored = HashSet::new();
    let mut offset = 0;
    loop {
        let batch = t.read(TOPIC, 0, offset);
        if batch.is_empty() {
            break;
        }
        offset += batch.len() as i64;
        for m in batch {
            let id = m.body.split(|&b| b == b'|').next().unwrap_or_default();
            stored.insert(String::from_utf8_lossy(id).into_owned());
        }
    }
    let lost: Vec<_> = acked.difference(&stored).take(5).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
}

fn print(label: &str, r: &Report) {
    println!(
        "{label}: {} acked ({:.0}/s), {} shed SYSTEM_BUSY, admin p99 {:?} over {} calls, pull p99 {:?} over {} calls, peak RSS {} MiB (test process: broker + {} senders)",
        r.outcome.acked.len(),
        r.outcome.acked.len() as f64 / r.elapsed.as_secs_f64(),
        r.outcome.shed,
        p99(r.admin.clone()),
        r.admin.len(),
        p99(r.pulls.clone()),
        r.pulls.len(),
        r.peak_rss_kib / 1024,
        CONNECTIONS * SENDERS_PER_CONNECTION
    );
    for remark in &r.outcome.shed_remarks {
        println!("  remark: {remark}");
    }
}

async fn slow_disk_broker(fast_failure: bool) -> TestBroker {
    start(|c| {
        c.flush_disk_type = FlushDiskType::SyncFlush;
        c.sync_flush_timeout = 60_000;
        c.flow.send_slots = 8;
        c.flow.fast_failure_enable = fast_failure;
        c.mapped_file_size_commit_log = 256 * 1024 * 1024;
        c.store_settings
            .push(("debugFlushDelayMs".into(), "100".into()));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overloaded_broker_sheds_sends_and_keeps_serving_admin_and_pulls() {
    let t = slow_disk_broker(true).await;
    let r = overload(&t).await;
    print("fast failure on", &r);
    assert!(
        r.outcome.other_codes.is_empty(),
        "{:?}",
        r.outcome.other_codes
    );
    assert!(r.outcome.shed > 0, "no send was shed");
    assert!(!r.outcome.acked.is_empty(), "no send was stored");
    for remark in &r.outcome.shed_remarks {
        assert!(
            remark.starts_with(
                "[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: "
            ),
            "{remark}"
        );
    }
    assert_nothing_acked_lost(&t, &r.outcome.acked);

    // The load is gone: a send is taken again.
    let resp = t
        .client
        .invoke(&t.addr, send_cmd("after"), CALL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let info = t
        .call(RemotingCommand::request(
            request::GET_BROKER_RUNTIME_INFO,
            &NoHeader,
        ))
        .await;
    let table = String::from_utf8_lossy(&info.body).into_owned();
    assert!(table.contains("\"sendShedTimeoutTotal\":\""), "{table}");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_fast_failure_sends_wait_instead_of_being_shed() {
    let t = slow_disk_broker(false).await;
    let r = overload(&t).await;
    print("fast failure off", &r);
    assert!(
        r.outcome.other_codes.is_empty(),
        "{:?}",
        r.outcome.other_codes
    );
    assert_eq!(r.outcome.shed, 0);
    assert_nothing_acked_lost(&t, &r.outcome.acked);
    t.stop().await;
}
