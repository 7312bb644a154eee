//! Acceptance 3 of flow control: a topic limited to N msgs/s takes about N per second from
//! several producers (within 10 % over the window; 3 s by default, 30 s with
//! `FERROMQ_LONG_TESTS=1`) while another topic on the same broker is unaffected; a consume
//! quota paces a group's pulls without refusing them; quotas survive a restart and are removed.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_net::RemotingClient;
use ferromq_proto::body::quota::{QuotaEntry, QuotaLimits, QuotaTable, QuotaTarget};
use ferromq_proto::body::JsonBody;
use ferromq_proto::codes::{request, response};
use ferromq_proto::header::NoHeader;
use ferromq_proto::headers::{pull_flag, PullMessageRequestHeader, SendMessageRequestHeaderV2};
use ferromq_proto::RemotingCommand;
use support::{start, start_in, TestBroker};

const PRODUCE_QUOTA: u64 = 200;
const CONSUME_QUOTA: u64 = 100;
const PRODUCERS: usize = 4;
const CALL: Duration = Duration::from_secs(30);

fn window() -> Duration {
    if std::env::var("FERROMQ_LONG_TESTS").is_ok_and(|v| v == "1") {
        Duration::from_secs(30)
    } else {
        Duration::from_secs(3)
    }
}

fn send_cmd(topic: &str, body: &str) -> RemotingCommand {
    let header = SendMessageRequestHeaderV2 {
        a: "PG_quota".into(),
        b: topic.into(),
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
    RemotingCommand::request(request::SEND_MESSAGE_V2, &header).with_body(body.as_bytes().to_vec())
}

fn pull_cmd(group: &str, topic: &str, offset: i64) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id: 0,
        queue_offset: offset,
        max_msg_nums: 32,
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

fn update_quota(target: QuotaTarget, name: &str, limits: QuotaLimits) -> RemotingCommand {
    let entry = QuotaEntry {
        target,
        name: name.into(),
        limits,
        produce_rejected: None,
        consume_paced_ms: None,
    };
    RemotingCommand::request(request::UPDATE_QUOTA, &NoHeader).with_body(entry.to_json())
}

async fn quotas(t: &TestBroker) -> QuotaTable {
    let resp = t
        .call(RemotingCommand::request(request::GET_QUOTA, &NoHeader))
        .await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    QuotaTable::from_json(&resp.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_produce_quota_holds_its_rate_and_spares_other_topics() {
    let t = start(|_| {}).await;
    let limits = QuotaLimits {
        produce_msgs_per_sec: Some(PRODUCE_QUOTA),
        ..Default::default()
    };
    let resp = t.call(update_quota(QuotaTarget::Topic, "TQ", limits)).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    // Both topics exist before the window opens.
    for topic in ["TQ", "TFree"] {
        let r = t.call(send_cmd(topic, "warm-up")).await;
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let window = window();
    let (ok, busy) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..PRODUCERS {
        let (client, addr) = (RemotingClient::default(), t.addr.clone());
        let (ok, busy) = (Arc::clone(&ok), Arc::clone(&busy));
        tasks.push(tokio::spawn(async move {
            while started.elapsed() < window {
                let r = client
                    .invoke(&addr, send_cmd("TQ", "q"), CALL)
                    .await
                    .unwrap();
                match r.code {
                    response::SUCCESS => ok.fetch_add(1, Ordering::Relaxed),
                    response::SYSTEM_BUSY => {
                        let remark = r.remark.unwrap_or_default();
                        assert!(
                            remark.starts_with(
                                "[QUOTA]produce quota of topic TQ exceeded (200 msgs/s)"
                            ),
                            "{remark}"
                        );
                        busy.fetch_add(1, Ordering::Relaxed)
                    }
                    other => panic!("send answered {other} {:?}", r.remark),
                };
            }
        }));
    }
    // The other topic, meanwhile, takes every send.
    let free_client = RemotingClient::default();
    let mut free_ok = 0u64;
    while started.elapsed() < window {
        let r = free_client
            .invoke(&t.addr, send_cmd("TFree", "f"), CALL)
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
        free_ok += 1;
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (ok, busy) = (ok.load(Ordering::Relaxed), busy.load(Ordering::Relaxed));
    let rate = ok as f64 / elapsed;
    println!(
        "produce quota {PRODUCE_QUOTA} msgs/s over {elapsed:.1} s from {PRODUCERS} producers: {ok} accepted ({rate:.1}/s, {:+.1}%), {busy} refused SYSTEM_BUSY; unlimited topic: {free_ok} accepted ({:.0}/s)",
        (rate / PRODUCE_QUOTA as f64 - 1.0) * 100.0,
        free_ok as f64 / elapsed
    );
    assert!(busy > 0, "the producers never went over the quota");
    assert!(
        (rate - PRODUCE_QUOTA as f64).abs() <= PRODUCE_QUOTA as f64 * 0.1,
        "accepted {rate:.1}/s for a quota of {PRODUCE_QUOTA}/s"
    );
    assert!(free_ok > 0);
    let listed = quotas(&t).await;
    assert_eq!(listed.quotas[0].produce_rejected, Some(busy));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consume_quota_paces_pulls_survives_a_restart_and_is_removed() {
    const BACKLOG: i64 = 300;
    let t = start(|_| {}).await;
    for i in 0..BACKLOG {
        let r = t.call(send_cmd("TC", &format!("m{i}"))).await;
        assert_eq!(r.code, response::SUCCESS);
    }
    let limits = QuotaLimits {
        consume_msgs_per_sec: Some(CONSUME_QUOTA),
        ..Default::default()
    };
    let resp = t
        .call(update_quota(QuotaTarget::Group, "G_paced", limits.clone()))
        .await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    // Refused: a produce rate on a group, a zero rate, an unknown type.
    let bad = QuotaLimits {
        produce_msgs_per_sec: Some(5),
        ..Default::default()
    };
    let resp = t
        .call(update_quota(QuotaTarget::Group, "G_paced", bad))
        .await;
    assert_eq!(resp.code, response::INVALID_PARAMETER);
    let mut raw = RemotingCommand::request(request::UPDATE_QUOTA, &NoHeader);
    raw.body = b"{\"type\":\"QUEUE\",\"name\":\"x\",\"consumeMsgsPerSec\":1}"
        .to_vec()
        .into();
    assert_ne!(t.call(raw).await.code, response::SUCCESS);

    // Survives a restart.
    let dir = t.stop_keep_store().await;
    let t = start_in(dir, |_| {}).await;
    let listed = quotas(&t).await;
    assert_eq!(listed.quotas.len(), 1);
    assert_eq!(listed.quotas[0].target, QuotaTarget::Group);
    assert_eq!(listed.quotas[0].limits, limits);

    // Paced, never refused: every pull is answered with messages until the backlog is read.
    let started = Instant::now();
    let (mut offset, mut pulls) = (0i64, 0);
    while offset < BACKLOG {
        let r = t.call(pull_cmd("G_paced", "TC", offset)).await;
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
        let next: i64 = r
            .ext_fields
            .get("nextBeginOffset")
            .unwrap()
            .parse()
            .unwrap();
        assert!(next > offset);
        offset = next;
        pulls += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rate = BACKLOG as f64 / elapsed;
    let paced = quotas(&t).await.quotas[0].consume_paced_ms.unwrap();
    println!(
        "consume quota {CONSUME_QUOTA} msgs/s: {BACKLOG} messages in {elapsed:.2} s ({rate:.1}/s) over {pulls} pulls, {paced} ms of pacing"
    );
    // The first tenth of a second's worth may go at once; after that the quota holds.
    assert!(
        rate <= CONSUME_QUOTA as f64 * 1.1 + 10.0 / elapsed,
        "read {rate:.1}/s under a quota of {CONSUME_QUOTA}/s"
    );
    assert!(paced > 0);
    // An unlimited group reads the same backlog without pacing.
    let r = t.call(pull_cmd("G_free", "TC", 0)).await;
    assert_eq!(r.code, response::SUCCESS);

    // Removed: gone from the table and from disk.
    let mut del = RemotingCommand::request(request::DELETE_QUOTA, &NoHeader);
    del.ext_fields.insert("type", "GROUP".to_owned());
    del.ext_fields.insert("name", "G_paced".to_owned());
    assert_eq!(t.call(del.clone()).await.code, response::SUCCESS);
    assert_eq!(t.call(del).await.code, response::INVALID_PARAMETER);
    assert!(quotas(&t).await.quotas.is_empty());
    let dir = t.stop_keep_store().await;
    let t = start_in(dir, |_| {}).await;
    assert!(quotas(&t).await.quotas.is_empty());
    t.stop().await;
}
