//! The storage engine through real processes: the mqadmin query commands (also after a
//! kill -9 and recovery), retention commands and a consumer moved past deleted data, a full
//! disk refusing sends with a clear error, and FLUSH_DISK_TIMEOUT from a slow sync flush.

mod common;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use common::*;
use ferromq_client::{ClientError, Message, Producer, PullConsumer, PullStatus, SendStatus};

struct Sent {
    msg_id: String,
    offset_msg_id: String,
    queue_id: i32,
    queue_offset: i64,
    key: String,
    body: String,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

async fn send_keyed(
    ns: &str,
    topic: &str,
    range: std::ops::Range<usize>,
    body_len: usize,
) -> Vec<Sent> {
    let producer = Producer::builder("PG_store_query")
        .namesrv_addr(ns.to_owned())
        .build()
        .unwrap();
    let mut sent = Vec::new();
    for i in range {
        let key = format!("order-{i}");
        let body = format!("{i:06}-{}", "x".repeat(body_len));
        let deadline = Instant::now() + Duration::from_secs(20);
        let r = loop {
            let msg = Message::new(topic, body.clone())
                .with_tags("TagA")
                .with_key(format!("{key} shared"));
            match producer.send(msg).await {
                Ok(r) => break r,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("send {i} failed, retrying: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("send {i}: {e}"),
            }
        };
        assert_eq!(r.status, SendStatus::SendOk);
        sent.push(Sent {
            msg_id: r.msg_id,
            offset_msg_id: r.offset_msg_id,
            queue_id: r.queue.queue_id,
            queue_offset: r.queue_offset,
            key,
            body,
        });
    }
    producer.shutdown().await;
    sent
}

fn admin_ok(args: &[&str]) -> String {
    let (code, out, err) = mqadmin(args);
    assert_eq!(code, 0, "mqadmin {args:?} failed:\n{out}\n{err}");
    out
}

/// Runs every query command for `s` and checks it finds exactly that message.
fn check_queries(ns: &str, broker_name: &str, topic: &str, s: &Sent) {
    let out = admin_ok(&["queryMsgByKey", "-n", ns, "-t", topic, "-k", &s.key]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("{:<50} {:>4} {:>40}", "#Message ID", "#QID", "#Offset")
    );
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(
        lines[1],
        format!("{:<50} {:>4} {:>40}", s.msg_id, s.queue_id, s.queue_offset)
    );

    let out = admin_ok(&[
        "queryMsgByUniqueKey",
        "-n",
        ns,
        "-t",
        topic,
        "-i",
        &s.msg_id,
    ]);
    assert!(
        out.starts_with(&format!("{:<20} {topic}\n", "Topic:")),
        "{out}"
    );
    assert!(
        out.contains(&format!("{:<20} [{} shared]\n", "Keys:", s.key)),
        "{out}"
    );
    assert!(out.contains(&format!("{:<20} {}\n", "Queue Offset:", s.queue_offset)));
    assert!(out.ends_with("WARN: No Consumer"), "{out}");
    let body_path = format!("/tmp/rocketmq/msgbodys/{}", s.msg_id);
    assert_eq!(std::fs::read_to_string(&body_path).unwrap(), s.body);

    let out = admin_ok(&[
        "queryMsgById",
        "-n",
        ns,
        "-t",
        topic,
        "-i",
        &s.offset_msg_id,
        "-f",
        "UTF-8",
    ]);
    assert!(
        out.starts_with(&format!("{:<20} {}\n", "OffsetID:", s.offset_msg_id)),
        "{out}"
    );
    assert!(
        out.contains(&format!("{:<20} {}\n", "Message Body:", s.body)),
        "{out}"
    );
    // A client id (UNIQ_KEY) given to queryMsgById falls back to the unique-key lookup.
    let out = admin_ok(&["queryMsgById", "-n", ns, "-t", topic, "-i", &s.msg_id]);
    assert!(
        out.contains(&format!("{:<20} {}\n", "OffsetID:", s.offset_msg_id)),
        "{out}"
    );

    let q = s.queue_id.to_string();
    let o = s.queue_offset.to_string();
    let out = admin_ok(&[
        "queryMsgByOffset",
        "-n",
        ns,
        "-t",
        topic,
        "-b",
        broker_name,
        "-i",
        &q,
        "-o",
        &o,
    ]);
    assert!(
        out.starts_with(&format!("{:<20} {}\n", "OffsetID:", s.offset_msg_id)),
        "{out}"
    );
    assert!(out.contains("MIN_OFFSET=0"), "{out}");
}

#[test]
fn query_commands_find_messages_also_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    // A tiny index: entries spread over many index files.
    let mut broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-q",
        "maxHashSlotNum=16\nmaxIndexNum=40\nflushDiskType=SYNC_FLUSH\n",
    );
    create_topic(&ns.addr, &broker.addr, "tp_query", 2);
    let rt = runtime();
    let sent = rt.block_on(send_keyed(&ns.addr, "tp_query", 0..30, 10));
    for s in [&sent[0], &sent[17], &sent[29]] {
        check_queries(&ns.addr, "broker-q", "tp_query", s);
    }
    // The shared key finds all of them, newest first, limited by -m.
    let out = admin_ok(&[
        "queryMsgByKey",
        "-n",
        &ns.addr,
        "-t",
        "tp_query",
        "-k",
        "shared",
        "-m",
        "64",
    ]);
    assert_eq!(out.lines().count(), 31, "{out}");
    let out = admin_ok(&[
        "queryMsgByKey",
        "-n",
        &ns.addr,
        "-t",
        "tp_query",
        "-k",
        "shared",
        "-m",
        "5",
    ]);
    assert_eq!(out.lines().count(), 6, "{out}");
    // An unknown key is the tools' NO_MESSAGE failure.
    let (code, _, err) = mqadmin(&[
        "queryMsgByKey",
        "-n",
        &ns.addr,
        "-t",
        "tp_query",
        "-k",
        "nope",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("QueryMsgByKeySubCommand command failed"),
        "{err}"
    );
    assert!(err.contains("no message"), "{err}");

    // printMsg prints every message of every queue.
    let out = admin_ok(&["printMsg", "-n", &ns.addr, "-t", "tp_query", "-d", "false"]);
    assert_eq!(out.matches("MSGID: ").count(), 30, "{out}");
    assert_eq!(out.matches("BODY: NOT PRINT BODY").count(), 30);
    assert!(out.contains("minOffset=0, maxOffset=15, MessageQueue [topic=tp_query, brokerName=broker-q, queueId=0]"), "{out}");

    // kill -9 and restart on the same store: everything is found again.
    broker.proc.kill();
    broker.start_again();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, _, _) = mqadmin(&[
            "queryMsgByKey",
            "-n",
            &ns.addr,
            "-t",
            "tp_query",
            "-k",
            &sent[3].key,
        ]);
        if code == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "broker did not come back:\n{}",
            broker.proc.output()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    for s in [&sent[1], &sent[16], &sent[29]] {
        check_queries(&ns.addr, "broker-q", "tp_query", s);
    }
    let more = rt.block_on(send_keyed(&ns.addr, "tp_query", 100..102, 5));
    check_queries(&ns.addr, "broker-q", "tp_query", &more[1]);
    assert!(broker
        .proc
        .output()
        .contains("store recovered after an abnormal stop"));
}

fn local_hour() -> u32 {
    let out = std::process::Command::new("date")
        .arg("+%H")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn age_files(dir: &Path, hours: u64) {
    let then = SystemTime::now() - Duration::from_secs(hours * 3600);
    for e in std::fs::read_dir(dir).unwrap() {
        let f = std::fs::File::options()
            .write(true)
            .open(e.unwrap().path())
            .unwrap();
        f.set_modified(then).unwrap();
    }
}

#[test]
fn retention_commands_delete_old_data_and_move_consumers_forward() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let not_now = (local_hour() + 12) % 24;
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-ret",
        &format!(
            "mappedFileSizeCommitLog=65536\nmappedFileSizeConsumeQueue=400\nfileReservedTime=1\ndeleteWhen={not_now:02}\ncleanResourceInterval=200\nmaxIndexNum=100\n"
        ),
    );
    create_topic(&ns.addr, &broker.addr, "tp_ret", 1);
    let rt = runtime();
    let sent = rt.block_on(send_keyed(&ns.addr, "tp_ret", 0..300, 900));
    age_files(&dir.path().join("broker-ret/commitlog"), 2);

    let out = admin_ok(&["deleteExpiredCommitLog", "-n", &ns.addr, "-b", &broker.addr]);
    assert_eq!(out, "success");
    let consumer_ns = ns.addr.clone();
    rt.block_on(async move {
        let consumer = PullConsumer::builder("CG_ret")
            .namesrv_addr(consumer_ns)
            .build()
            .unwrap();
        let mq = consumer.fetch_queues("tp_ret").await.unwrap().remove(0);
        let deadline = Instant::now() + Duration::from_secs(20);
        let min = loop {
            let min = consumer.min_offset(&mq).await.unwrap();
            if min > 0 {
                break min;
            }
            assert!(Instant::now() < deadline, "min offset never moved");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // A consumer still at 0 is told where the queue starts now.
        let r = consumer.pull(&mq, 0, 32).await.unwrap();
        assert_eq!(r.status, PullStatus::OffsetIllegal);
        assert_eq!(r.next_begin_offset, min);
        let r = consumer.pull(&mq, min, 32).await.unwrap();
        assert_eq!(r.status, PullStatus::Found);
        consumer.shutdown().await;
    });
    // Deleted messages are no longer found; kept ones are.
    let (code, _, _) = mqadmin(&[
        "queryMsgByKey",
        "-n",
        &ns.addr,
        "-t",
        "tp_ret",
        "-k",
        &sent[0].key,
    ]);
    assert_eq!(code, 1, "a deleted message is still found");
    let out = admin_ok(&[
        "queryMsgByKey",
        "-n",
        &ns.addr,
        "-t",
        "tp_ret",
        "-k",
        &sent[299].key,
    ]);
    assert!(out.contains(&sent[299].msg_id));
    let cq_files = || {
        std::fs::read_dir(dir.path().join("broker-ret/consumequeue/tp_ret/0"))
            .unwrap()
            .count()
    };
    let before = cq_files();
    assert_eq!(
        admin_ok(&["cleanExpiredCQ", "-n", &ns.addr, "-c", "DefaultCluster"]),
        "success"
    );
    assert!(cq_files() <= before);
    assert!(
        cq_files() < 300 * 20 / 400,
        "old consume-queue files were deleted"
    );
}

#[test]
fn a_full_disk_refuses_sends_with_a_clear_error_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("disk-usage");
    let ns = start_namesrv(dir.path());
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-full",
        &format!(
            "cleanResourceInterval=100\ndebugDiskUsageFile={}\ndiskSpaceCleanForciblyRatio=99\n",
            usage.display()
        ),
    );
    create_topic(&ns.addr, &broker.addr, "tp_full", 1);
    let rt = runtime();
    let before = rt.block_on(send_keyed(&ns.addr, "tp_full", 0..5, 10));
    std::fs::write(&usage, "0.95").unwrap();
    let ns_addr = ns.addr.clone();
    rt.block_on(async move {
        let producer = Producer::builder("PG_full")
            .namesrv_addr(ns_addr.clone())
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let err = loop {
            match producer.send(Message::new("tp_full", "during")).await {
                Err(e) => break e,
                Ok(_) => {
                    assert!(Instant::now() < deadline, "sends never refused");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        assert_eq!(err.response_code(), Some(14), "{err}");
        assert!(err.to_string().contains("disk"), "{err}");
        std::fs::write(dir.path().join("disk-usage"), "0.40").unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match producer.send(Message::new("tp_full", "after")).await {
                Ok(r) => {
                    assert_eq!(r.status, SendStatus::SendOk);
                    break;
                }
                Err(ClientError::Broker { code: 14, .. }) | Err(_) => {
                    assert!(Instant::now() < deadline, "sends never resumed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        producer.shutdown().await;
    });
    // Nothing stored before was damaged.
    for s in &before {
        let out = admin_ok(&[
            "queryMsgById",
            "-n",
            &ns.addr,
            "-t",
            "tp_full",
            "-i",
            &s.offset_msg_id,
            "-f",
            "UTF-8",
        ]);
        assert!(out.contains(&s.body));
    }
}

#[test]
fn a_slow_sync_flush_answers_flush_disk_timeout_and_keeps_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-slow",
        "flushDiskType=SYNC_FLUSH\nsyncFlushTimeout=20\ndebugFlushDelayMs=1500\n",
    );
    create_topic(&ns.addr, &broker.addr, "tp_slow", 1);
    let ns_addr = ns.addr.clone();
    let r = runtime().block_on(async move {
        let producer = Producer::builder("PG_slow")
            .namesrv_addr(ns_addr)
            .send_timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let r = producer
            .send(Message::new("tp_slow", "slow-but-kept").with_key("slow"))
            .await
            .unwrap();
        producer.shutdown().await;
        r
    });
    assert_eq!(r.status, SendStatus::FlushDiskTimeout);
    // Once the flush is done, the message is there.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, out, _) = mqadmin(&[
            "queryMsgById",
            "-n",
            &ns.addr,
            "-t",
            "tp_slow",
            "-i",
            &r.offset_msg_id,
            "-f",
            "UTF-8",
        ]);
        if code == 0 {
            assert!(out.contains("slow-but-kept"), "{out}");
            break;
        }
        assert!(Instant::now() < deadline, "message never readable");
        std::thread::sleep(Duration::from_millis(200));
    }
}
