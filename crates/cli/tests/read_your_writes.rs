//! Read-your-writes: once a producer holds SEND_OK, the message is already in GET_MAX_OFFSET,
//! GET_EARLIEST_MSG_STORETIME, SEARCH_OFFSET_BY_TIMESTAMP, pulls from the offset the send
//! returned, QUERY_MESSAGE by unique key and VIEW_MESSAGE_BY_ID on that broker. Checked one
//! message at a time over rotating queues, under ASYNC_FLUSH and SYNC_FLUSH, on a quiet broker
//! and while `ferromq bench producer` loads it.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use ferromq_admin::message::query::{query_message, view_message};
use ferromq_client::{AdminClient, Message, Producer, PullConsumer, PullStatus, SendStatus};
use ferromq_testkit::Proc;

const TOPIC: &str = "tp_ryw";
const QUEUES: i32 = 8;
/// Messages checked per phase (quiet, then loaded).
const PER_PHASE: usize = 10_000;

/// `ferromq bench producer` sending asynchronously to another topic of the same broker until
/// it is killed.
fn start_load(dir: &Path, ns: &str) -> Proc {
    Proc::spawn(
        "bench-load",
        &bin("ferromq"),
        &[
            "bench",
            "producer",
            "-n",
            ns,
            "-t",
            "tp_ryw_load",
            "-s",
            "256",
            "--mode",
            "async",
            "--inflight",
            "64",
            "--duration",
            "600",
        ],
        &dir.join("logs"),
        &[],
    )
}

#[derive(Default, Debug)]
struct Misses {
    max_offset: usize,
    earliest: usize,
    search: usize,
    pull: usize,
    query: usize,
    view: usize,
}

impl Misses {
    fn total(&self) -> usize {
        self.max_offset + self.earliest + self.search + self.pull + self.query + self.view
    }
}

/// Sends `count` messages one at a time and, after each acknowledgement, reads them back every
/// way a client can. Unique-key queries and views are checked on every 10th message (they go
/// through the index and the commit log, which the same dispatch round fills).
async fn check_round(ns: &str, count: usize, tag: &str) -> Misses {
    let producer = Producer::builder(format!("PG_ryw_{tag}"))
        .namesrv_addr(ns.to_owned())
        .build()
        .unwrap();
    let consumer = PullConsumer::builder(format!("CG_ryw_{tag}"))
        .namesrv_addr(ns.to_owned())
        .build()
        .unwrap();
    let admin = AdminClient::connect(Some(ns)).unwrap();
    let mut misses = Misses::default();
    for i in 0..count {
        let body = format!("{tag}-{i}");
        let r = producer
            .send(Message::new(TOPIC, body.clone()))
            .await
            .unwrap();
        assert_eq!(r.status, SendStatus::SendOk, "send {i}: {r:?}");
        let mq = &r.queue;
        if consumer.max_offset(mq).await.unwrap() <= r.queue_offset {
            misses.max_offset += 1;
        }
        if consumer.earliest_msg_store_time(mq).await.unwrap() < 0 {
            misses.earliest += 1;
        }
        let pulled = consumer.pull(mq, r.queue_offset, 1).await.unwrap();
        let found = pulled.status == PullStatus::Found
            && pulled.messages.first().is_some_and(|m| {
                m.queue_offset == r.queue_offset && m.body.as_ref() == body.as_bytes()
            });
        if !found {
            misses.pull += 1;
        }
        if i % 10 == 0 {
            // Nothing in the queue is stored after this message, so a search from just past
            // its store time answers the max offset, which must already count it.
            let stored = pulled.messages.first().map_or(0, |m| m.store_timestamp);
            let at = consumer.search_offset(mq, stored + 1).await.unwrap();
            if !found || at != r.queue_offset + 1 {
                misses.search += 1;
            }
            let begin = stored - 1_000;
            let q = query_message(&admin, None, TOPIC, &r.msg_id, 4, begin, i64::MAX, true).await;
            if !q.is_ok_and(|v| v.iter().any(|m| m.body.as_ref() == body.as_bytes())) {
                misses.query += 1;
            }
            let v = view_message(&admin, TOPIC, &r.offset_msg_id).await;
            if !v.is_ok_and(|m| m.body.as_ref() == body.as_bytes()) {
                misses.view += 1;
            }
        }
    }
    producer.shutdown().await;
    consumer.shutdown().await;
    misses
}

fn run_mode(flush: &str) {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-ryw",
        &format!("flushDiskType={flush}\n"),
    );
    create_topic(&ns.addr, &broker.addr, TOPIC, QUEUES as u32);
    let rt = tokio::runtime::Runtime::new().unwrap();

    let quiet = rt.block_on(check_round(&ns.addr, PER_PHASE, "quiet"));
    assert_eq!(quiet.total(), 0, "{flush}, quiet broker: {quiet:?}");

    let mut load = start_load(dir.path(), &ns.addr);
    // Let the load reach its pace before measuring under it.
    std::thread::sleep(Duration::from_millis(500));
    let loaded = rt.block_on(check_round(&ns.addr, PER_PHASE, "loaded"));
    let still_running = load.wait_exit(Duration::from_millis(1)).is_none();
    load.kill();
    assert!(
        still_running,
        "the bench load stopped early:\n{}",
        load.output()
    );
    assert_eq!(loaded.total(), 0, "{flush}, loaded broker: {loaded:?}");
    drop(broker);
}

#[test]
fn every_acknowledged_send_is_visible_at_once_under_async_flush() {
    run_mode("ASYNC_FLUSH");
}

#[test]
fn every_acknowledged_send_is_visible_at_once_under_sync_flush() {
    run_mode("SYNC_FLUSH");
}
