//! Timer messages (RocketMQ 5's arbitrary delays) against real name-server and broker
//! processes: a message sent with `Message::with_delay` or `with_deliver_time_ms` is not in its
//! topic before its due time, arrives exactly once with its body, tags, keys and properties,
//! also across kill -9 and a lost timer checkpoint; bad requests are refused with RocketMQ's
//! codes. Lateness (store time of the delivered copy minus the due time the broker recorded in
//! `TIMER_OUT_MS`) is printed as p50/p99/max and only checked against a loose bound.
//!
//! Benchmark, ignored by default (use a release build):
//!
//! ```text
//! cargo test --release -p ferromq-cli --test timer_delay -- --ignored --nocapture
//! ```
//!
//! `one_million_pending_timer_messages_rss_and_lateness` sends 1 000 000 small timer messages
//! (many concurrent async sends) due over a 30 s window that opens after they are all sent,
//! prints the broker's RSS (VmRSS) before sending, while they are all pending and while they
//! are delivered, then pulls them all and prints lateness percentiles. `TIMER_BENCH_COUNT`
//! overrides the count. `ten_thousand_pending_accuracy` (10 000 due over 5 s) runs by default.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use ferromq_client::{Message, MessageExt, MessageQueue, Producer, PullConsumer, PullStatus};
use ferromq_net::RemotingClient;
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::SendMessageRequestHeaderV2;
use ferromq_proto::RemotingCommand;

/// Lateness above this fails a test: far above what the timer does, only catches a timer that
/// waits for something else (a tick of seconds, a restart).
const LATE_LIMIT_MS: i64 = 2_000;

fn now_ms() -> i64 {
    ferromq_common::now_millis()
}

/// A sent timer message: its id, the earliest due time it may have, and the exact one when
/// the client chose it (`with_deliver_time_ms`).
struct Sent {
    id: String,
    earliest_due: i64,
    exact_due: Option<i64>,
    queue_id: i32,
    body: String,
}

/// Sends `count` messages due 1 s .. 1 s + `spread_ms` after sending, every other one as an
/// absolute time; the delays are scattered, not in send order.
async fn send_scattered(ns: &str, topic: &str, count: usize, spread_ms: i64) -> Vec<Sent> {
    let producer = Producer::builder(format!("PG_{topic}"))
        .namesrv_addr(ns.to_owned())
        .build()
        .unwrap();
    let mut sent = Vec::with_capacity(count);
    for i in 0..count {
        let delay = 1_000 + (i as i64 * 7_919) % spread_ms;
        let body = format!("timer-{i}");
        let msg = Message::new(topic, body.clone())
            .with_tags("TagT")
            .with_key(format!("key-{i}"))
            .with_property("seq", i.to_string());
        let before = now_ms();
        let (msg, exact_due) = if i % 2 == 0 {
            (msg.with_delay(Duration::from_millis(delay as u64)), None)
        } else {
            (
                msg.with_deliver_time_ms(before + delay),
                Some(before + delay),
            )
        };
        let r = producer.send(msg).await.unwrap();
        sent.push(Sent {
            id: r.msg_id,
            earliest_due: before + delay,
            exact_due,
            queue_id: r.queue.queue_id,
            body,
        });
    }
    producer.shutdown().await;
    sent
}

/// Reads a topic incrementally with a pull consumer.
struct Reader {
    consumer: PullConsumer,
    queues: Vec<MessageQueue>,
    next: HashMap<i32, i64>,
    got: HashMap<String, Vec<MessageExt>>,
    count: usize,
}

impl Reader {
    async fn new(ns: &str, topic: &str) -> Reader {
        let consumer = PullConsumer::builder(format!("CG_{topic}"))
            .namesrv_addr(ns.to_owned())
            .build()
            .unwrap();
        // A broker just restarted registers with the name server shortly after it listens.
        let deadline = Instant::now() + Duration::from_secs(15);
        let queues = loop {
            match consumer.fetch_queues(topic).await {
                Ok(q) if !q.is_empty() => break q,
                other if Instant::now() > deadline => panic!("no route for {topic}: {other:?}"),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Reader {
            consumer,
            queues,
            next: HashMap::new(),
            got: HashMap::new(),
            count: 0,
        }
    }

    /// Pulls whatever arrived since the last poll; every message visible now must be due.
    async fn poll(&mut self) {
        for mq in &self.queues {
            let offset = self.next.entry(mq.queue_id).or_insert(0);
            loop {
                let r = match self.consumer.pull(mq, *offset, 32).await {
                    Ok(r) => r,
                    // The broker is being restarted: try again at the next poll.
                    Err(_) => break,
                };
                if r.status != PullStatus::Found {
                    break;
                }
                *offset = r.next_begin_offset;
                let seen_at = now_ms();
                for m in r.messages {
                    let due = due_of(&m);
                    assert!(
                        due <= seen_at,
                        "{} visible at {seen_at}, due {due}",
                        m.msg_id()
                    );
                    self.count += 1;
                    self.got.entry(m.msg_id()).or_default().push(m);
                }
            }
        }
    }

    /// Polls until `want` messages arrived or `within` passed.
    async fn poll_until(&mut self, want: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.count < want && Instant::now() < deadline {
            self.poll().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn shutdown(self) -> HashMap<String, Vec<MessageExt>> {
        self.consumer.shutdown().await;
        self.got
    }
}

/// The due time the broker recorded on the held record (kept on the delivered copy).
fn due_of(m: &MessageExt) -> i64 {
    m.properties
        .get("TIMER_OUT_MS")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{} has no TIMER_OUT_MS: {:?}", m.msg_id(), m.properties))
}

/// Checks that every sent message arrived once, not before due, unchanged and in the queue the
/// send reported; returns the lateness of each in ms.
fn check_exactly_once(sent: &[Sent], got: &HashMap<String, Vec<MessageExt>>) -> Vec<i64> {
    let copies: usize = got.values().map(Vec::len).sum();
    let missing = sent.iter().filter(|s| !got.contains_key(&s.id)).count();
    assert_eq!(
        missing,
        0,
        "{missing} of {} timer messages never arrived",
        sent.len()
    );
    assert_eq!(copies, sent.len(), "some timer messages arrived twice");
    let mut lateness = Vec::with_capacity(sent.len());
    for s in sent {
        let m = &got[&s.id][0];
        let due = due_of(m);
        match s.exact_due {
            Some(exact) => assert_eq!(due, exact, "{}: due time not kept exactly", s.id),
            None => assert!(due >= s.earliest_due, "{}: due {due} too early", s.id),
        }
        assert!(
            m.store_timestamp >= due,
            "{} delivered at {}, before its due time {due}",
            s.id,
            m.store_timestamp
        );
        assert_eq!(
            m.queue_id, s.queue_id,
            "{}: delivered to another queue",
            s.id
        );
        assert_eq!(&m.body[..], s.body.as_bytes());
        assert_eq!(m.tags(), Some("TagT"));
        assert!(m.keys().is_some_and(|k| k.starts_with("key-")));
        assert!(m.properties.get("seq").is_some());
        lateness.push(m.store_timestamp - due);
    }
    lateness
}

/// Prints p50/p99/max of `lateness` and returns the max.
fn report(what: &str, lateness: &mut [i64]) -> i64 {
    lateness.sort_unstable();
    let at = |q: f64| lateness[((lateness.len() - 1) as f64 * q).round() as usize];
    let max = *lateness.last().unwrap_or(&0);
    println!(
        "{what}: {} messages, lateness p50 {} ms, p99 {} ms, max {max} ms",
        lateness.len(),
        at(0.5),
        at(0.99)
    );
    max
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

#[test]
fn timer_messages_arrive_at_their_due_time_exactly_once() {
    const TOPIC: &str = "tp_timer";
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-timer", "");
    create_topic(&ns.addr, &broker.addr, TOPIC, 4);
    runtime().block_on(async {
        let mut reader = Reader::new(&ns.addr, TOPIC).await;
        let sent = send_scattered(&ns.addr, TOPIC, 200, 7_000).await;
        reader.poll().await;
        reader.poll_until(sent.len(), Duration::from_secs(30)).await;
        let got = reader.shutdown().await;
        let mut lateness = check_exactly_once(&sent, &got);
        let max = report("200 timer messages over 8 s", &mut lateness);
        assert!(max < LATE_LIMIT_MS, "a timer message was {max} ms late");
    });
}

#[test]
fn timer_messages_survive_kill_9_and_a_lost_checkpoint_without_duplicates() {
    const TOPIC: &str = "tp_timer_k";
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let mut broker = start_broker(dir.path(), &ns.addr, "broker-timer-k", "");
    create_topic(&ns.addr, &broker.addr, TOPIC, 2);
    let rt = runtime();
    let sent = rt.block_on(send_scattered(&ns.addr, TOPIC, 150, 6_000));
    // Killed with some delivered and most pending.
    std::thread::sleep(Duration::from_millis(2_500));
    let before_kill = rt.block_on(async {
        let mut reader = Reader::new(&ns.addr, TOPIC).await;
        reader.poll().await;
        reader.count
    });
    assert!(
        before_kill > 0 && before_kill < sent.len(),
        "{before_kill} delivered before the kill"
    );
    broker.proc.kill();
    broker.start_again();
    rt.block_on(async {
        let mut reader = Reader::new(&ns.addr, TOPIC).await;
        reader.poll_until(sent.len(), Duration::from_secs(30)).await;
        // Time for a second copy to show up.
        tokio::time::sleep(Duration::from_millis(500)).await;
        reader.poll().await;
        let got = reader.shutdown().await;
        let mut lateness = check_exactly_once(&sent, &got);
        // Those due while the broker was down are late by the restart: reported, not bounded.
        report("150 timer messages across kill -9", &mut lateness);
    });
    // The checkpoint lost after delivery (as if killed before the first save): the timer files
    // the whole queue again and must find the delivered copies instead of delivering again.
    broker.restart();
    broker.proc.kill();
    let checkpoint = dir
        .path()
        .join("broker-timer-k/config/timerCheckpoint.json");
    let saved = std::fs::read_to_string(&checkpoint).unwrap();
    assert!(
        saved.contains("\"enqueueOffset\": 150"),
        "unexpected timerCheckpoint.json: {saved}"
    );
    std::fs::remove_file(&checkpoint).unwrap();
    let noticed = |log: String| log.matches("were not delivered again").count();
    let noticed_before = noticed(broker.proc.output());
    broker.start_again();
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(
        noticed(broker.proc.output()) > noticed_before,
        "the restarted timer did not report finding the delivered copies:\n{}",
        broker.proc.output()
    );
    rt.block_on(async {
        let mut reader = Reader::new(&ns.addr, TOPIC).await;
        reader.poll().await;
        let got = reader.shutdown().await;
        check_exactly_once(&sent, &got);
    });
}

/// The issue's scenario: due times scattered over 30 s, the broker restarted (SIGTERM) midway.
/// Every message arrives once, not before its due time; those due after the restart are as
/// punctual as without one (the timer's state is read back, not rebuilt late).
#[test]
fn timer_messages_scattered_over_30_s_survive_a_restart_midway() {
    const TOPIC: &str = "tp_timer_30s";
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let mut broker = start_broker(dir.path(), &ns.addr, "broker-timer-30s", "");
    create_topic(&ns.addr, &broker.addr, TOPIC, 4);
    let rt = runtime();
    let sent = rt.block_on(send_scattered(&ns.addr, TOPIC, 300, 30_000));
    std::thread::sleep(Duration::from_secs(14));
    let down = now_ms();
    broker.restart();
    let up = now_ms();
    rt.block_on(async {
        let mut reader = Reader::new(&ns.addr, TOPIC).await;
        reader.poll_until(sent.len(), Duration::from_secs(40)).await;
        // Time for a second copy to show up.
        tokio::time::sleep(Duration::from_millis(500)).await;
        reader.poll().await;
        let got = reader.shutdown().await;
        let lateness = check_exactly_once(&sent, &got);
        let due: Vec<i64> = sent.iter().map(|s| due_of(&got[&s.id][0])).collect();
        let split = |keep: &dyn Fn(i64) -> bool| -> Vec<i64> {
            due.iter()
                .zip(&lateness)
                .filter(|(d, _)| keep(**d))
                .map(|(_, l)| *l)
                .collect()
        };
        let mut before = split(&|d| d < down);
        let mut during = split(&|d| (down..up).contains(&d));
        let mut after = split(&|d| d >= up);
        println!("restart took {} ms", up - down);
        report("due before the restart", &mut before);
        if !during.is_empty() {
            report(
                "due while the broker was down (late by the restart)",
                &mut during,
            );
        }
        let max = report("due after the restart", &mut after);
        assert!(
            before.len() > 50 && after.len() > 50,
            "the restart was not midway: {} due before, {} after",
            before.len(),
            after.len()
        );
        assert!(
            max < LATE_LIMIT_MS,
            "a timer message due after the restart was {max} ms late"
        );
    });
}

fn raw_send(topic: &str, properties: &str) -> RemotingCommand {
    let header = SendMessageRequestHeaderV2 {
        a: "PG_timer_raw".into(),
        b: topic.into(),
        c: "TBW102".into(),
        d: 4,
        e: 0,
        f: 0,
        g: now_ms(),
        h: 0,
        i: Some(properties.into()),
        ..Default::default()
    };
    RemotingCommand::request(request::SEND_MESSAGE_V2, &header).with_body("x")
}

#[test]
fn bad_timer_requests_are_refused_with_rocketmq_codes() {
    const TOPIC: &str = "tp_timer_bad";
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-timer-bad",
        "timerMaxDelaySec=60",
    );
    create_topic(&ns.addr, &broker.addr, TOPIC, 1);
    let off = start_broker(
        dir.path(),
        &ns.addr,
        "broker-timer-off",
        "timerWheelEnable=false",
    );
    let t = Duration::from_secs(5);
    runtime().block_on(async {
        let producer = Producer::builder("PG_timer_bad")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        // Beyond timerMaxDelaySec, as a delay and as an absolute time.
        for msg in [
            Message::new(TOPIC, "x").with_delay(Duration::from_secs(61)),
            Message::new(TOPIC, "x").with_deliver_time_ms(now_ms() + 3_600_000),
        ] {
            let err = producer.send(msg).await.unwrap_err();
            assert_eq!(err.response_code(), Some(13), "{err}");
            assert!(
                err.to_string().contains(
                    "timer message illegal, the delay time should not be bigger than the max \
                     delay 60000ms"
                ),
                "{err}"
            );
        }
        // Not a number: the remark names the property.
        let err = producer
            .send(Message::new(TOPIC, "x").with_property("TIMER_DELAY_SEC", "soon"))
            .await
            .unwrap_err();
        assert_eq!(err.response_code(), Some(13), "{err}");
        assert!(err.to_string().contains("TIMER_DELAY_SEC"), "{err}");
        // Batches may not carry a timer.
        let err = producer
            .send_batch(vec![
                Message::new(TOPIC, "a"),
                Message::new(TOPIC, "b").with_delay(Duration::from_secs(1)),
            ])
            .await
            .unwrap_err();
        assert_eq!(err.response_code(), Some(13), "{err}");
        // A due time already past is an ordinary send.
        let r = producer
            .send(Message::new(TOPIC, "past").with_deliver_time_ms(now_ms() - 1_000))
            .await
            .unwrap();
        assert_eq!(r.queue_offset, 0);
        producer.shutdown().await;

        let client = RemotingClient::default();
        // Straight into the timer topic: refused like SCHEDULE_TOPIC_XXXX.
        let props = format!("TIMER_OUT_MS\u{1}{}\u{2}", now_ms() + 1_000);
        let r = client
            .invoke(&broker.addr, raw_send("rmq_sys_wheel_timer", &props), t)
            .await
            .unwrap();
        assert_eq!(r.code, response::NO_PERMISSION, "{:?}", r.remark);
        assert!(r.remark.unwrap_or_default().contains("forbidden"));
        // A broker with the timer off refuses timer messages instead of delivering them at once.
        let r = client
            .invoke(&off.addr, raw_send(TOPIC, "TIMER_DELAY_MS\u{1}500\u{2}"), t)
            .await
            .unwrap();
        assert_eq!(r.code, response::MESSAGE_ILLEGAL, "{:?}", r.remark);
        assert!(r
            .remark
            .unwrap_or_default()
            .contains("timerWheelEnable=false"));
    });
}

/// A `/proc/<pid>/status` field in KiB (`VmRSS`, `RssAnon`, `RssFile`).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// "VmRSS n MiB (anonymous n MiB, file-backed n MiB)": the file-backed part is mapped
/// commit-log, consume-queue and index pages; the anonymous part is the heap.
fn rss(pid: u32) -> String {
    let mib = |f| status_kib(pid, f) / 1024;
    format!(
        "VmRSS {} MiB (anonymous {} MiB, file-backed {} MiB)",
        mib("VmRSS"),
        mib("RssAnon"),
        mib("RssFile")
    )
}

/// Sends `count` timer messages due evenly over `window` starting `lead` after the first send,
/// `in_flight` async sends at a time; returns the ids. Panics when the sends take longer than
/// `lead` (the window would open before everything is pending).
async fn send_many(
    ns: &str,
    topic: &str,
    count: usize,
    lead: Duration,
    window: Duration,
    in_flight: usize,
) -> Vec<String> {
    let producer = Producer::builder(format!("PG_{topic}"))
        .namesrv_addr(ns.to_owned())
        .send_timeout(Duration::from_secs(30))
        .async_max_in_flight(in_flight)
        .build()
        .unwrap();
    let start = now_ms() + lead.as_millis() as i64;
    let span = window.as_millis() as i64;
    let mut ids = Vec::with_capacity(count);
    let mut futs = std::collections::VecDeque::with_capacity(in_flight);
    for i in 0..count {
        let due = start + (i as i64 * span) / count as i64;
        let msg = Message::new(topic, format!("{i}")).with_deliver_time_ms(due);
        futs.push_back(producer.send_async(msg).await.unwrap());
        if futs.len() >= in_flight {
            ids.push(futs.pop_front().unwrap().await.unwrap().msg_id);
        }
    }
    for f in futs {
        ids.push(f.await.unwrap().msg_id);
    }
    producer.shutdown().await;
    assert!(
        now_ms() < start,
        "sending took longer than the {lead:?} lead; the window opened early"
    );
    ids
}

/// Pulls every message of `topic` and returns the lateness of each (and how many copies).
async fn pull_lateness(ns: &str, topic: &str, want: usize, within: Duration) -> Vec<i64> {
    let mut reader = Reader::new(ns, topic).await;
    reader.poll_until(want, within).await;
    let got = reader.shutdown().await;
    let copies: usize = got.values().map(Vec::len).sum();
    assert_eq!((got.len(), copies), (want, want), "lost or duplicated");
    got.values()
        .map(|c| c[0].store_timestamp - due_of(&c[0]))
        .collect()
}

#[test]
fn ten_thousand_pending_accuracy() {
    const TOPIC: &str = "tp_timer_10k";
    const COUNT: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-timer-10k", "");
    create_topic(&ns.addr, &broker.addr, TOPIC, 4);
    runtime().block_on(async {
        send_many(
            &ns.addr,
            TOPIC,
            COUNT,
            Duration::from_secs(12),
            Duration::from_secs(5),
            256,
        )
        .await;
        let pending = rss(broker.proc.pid());
        let mut lateness = pull_lateness(&ns.addr, TOPIC, COUNT, Duration::from_secs(40)).await;
        println!("broker with 10k pending: {pending}");
        let max = report("10k timer messages over 5 s", &mut lateness);
        assert!(lateness[0] >= 0, "delivered before due");
        assert!(max < LATE_LIMIT_MS, "a timer message was {max} ms late");
    });
}

#[test]
#[ignore = "benchmark: 1M timer messages; run with --release -- --ignored --nocapture"]
fn one_million_pending_timer_messages_rss_and_lateness() {
    const TOPIC: &str = "tp_timer_1m";
    let count: usize = std::env::var("TIMER_BENCH_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-timer-1m",
        "mappedFileSizeCommitLog=1073741824",
    );
    create_topic(&ns.addr, &broker.addr, TOPIC, 8);
    let pid = broker.proc.pid();
    println!("broker at start: {}", rss(pid));
    runtime().block_on(async {
        let sending = Instant::now();
        let lead = Duration::from_secs(120);
        let window = Duration::from_secs(30);
        send_many(&ns.addr, TOPIC, count, lead, window, 1024).await;
        let took = sending.elapsed();
        println!(
            "sent {count} timer messages in {:.1} s ({:.0}/s)",
            took.as_secs_f64(),
            count as f64 / took.as_secs_f64()
        );
        // Give the timer a moment to file the tail.
        tokio::time::sleep(Duration::from_secs(2)).await;
        println!("broker with {count} pending: {}", rss(pid));
        let until_window = lead.saturating_sub(sending.elapsed()) + window / 2;
        tokio::time::sleep(until_window).await;
        println!("broker half-way through delivery: {}", rss(pid));
        let mut lateness =
            pull_lateness(&ns.addr, TOPIC, count, window + Duration::from_secs(600)).await;
        println!("broker after delivery and reading: {}", rss(pid));
        report(&format!("{count} timer messages over 30 s"), &mut lateness);
    });
}
