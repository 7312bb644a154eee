//! Read-your-writes at the store: when `put_message` / `put_messages` return a stored status,
//! the records are already in their consume queue (max offset, pull, time search) and the key
//! index, with many puts racing each other, single and batched, under both flush modes.

mod common;

use std::sync::Arc;

use common::*;
use ferromq_proto::message::encode_properties;
use ferromq_store::{FlushDiskType, GetStatus, MessageStore, PutStatus, StoreConfig};

const TASKS: usize = 8;
const PER_TASK: usize = 300;

/// One task's puts: alternately single and batches of 4, each checked as soon as it returns.
async fn put_and_check(store: Arc<MessageStore>, task: usize) -> Vec<String> {
    let mut misses = Vec::new();
    let queue = (task % 4) as i32;
    for i in 0..PER_TASK {
        let key = format!("k-{task}-{i}");
        let props = encode_properties(&[("KEYS", key.as_str()), ("UNIQ_KEY", key.as_str())]);
        let b = body(i);
        let (r, count) = if i % 2 == 0 {
            (store.put_message(msg("RYW", queue, &b, &props)).await, 1)
        } else {
            let batch: Vec<_> = (0..4).map(|_| msg("RYW", queue, &b, &props)).collect();
            (store.put_messages(&batch).await, 4)
        };
        assert_eq!(r.status, PutStatus::PutOk, "task {task} put {i}");
        let last = r.queue_offset + count - 1;
        if store.max_offset_in_queue("RYW", queue) <= last {
            misses.push(format!("{key}: max offset misses offset {last}"));
        }
        let got = store.get_message("RYW", queue, last, 1, None);
        if got.status != GetStatus::Found {
            misses.push(format!("{key}: pull at {last} gave {:?}", got.status));
        }
        if store.earliest_message_time("RYW", queue).is_none() {
            misses.push(format!("{key}: no earliest store time"));
        }
        let found = store.query_message("RYW", &key, 8, 0, i64::MAX, false);
        if found.messages.is_empty() {
            misses.push(format!("{key}: not in the index"));
        }
    }
    misses
}

fn run(flush: FlushDiskType) {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(StoreConfig {
        flush_disk_type: flush,
        ..small_config(dir.path())
    })
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let misses: Vec<String> = rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| tokio::spawn(put_and_check(Arc::clone(&store), t)))
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    assert!(
        misses.is_empty(),
        "{flush:?}: {} misses: {misses:?}",
        misses.len()
    );
    store.shutdown().unwrap();
}

#[test]
fn racing_puts_are_visible_when_they_return_under_async_flush() {
    run(FlushDiskType::AsyncFlush);
}

#[test]
fn racing_puts_are_visible_when_they_return_under_sync_flush() {
    run(FlushDiskType::SyncFlush);
}
