//! Flush modes: SYNC_FLUSH waits for the disk (group commit), ASYNC_FLUSH answers at once and
//! the flusher catches up.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use ferromq_store::{FlushDiskType, MessageStore, PutStatus, StoreConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_flush_answers_after_the_disk_confirms() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        flush_disk_type: FlushDiskType::SyncFlush,
        ..small_config(dir.path())
    };
    let store = MessageStore::open(config).unwrap();
    let r = store.put_message(msg("S", 0, b"durable", "")).await;
    assert_eq!(r.status, PutStatus::PutOk);
    assert!(store.commit_log_flushed_offset() >= r.physical_offset + i64::from(r.size));

    // Concurrent puts share flushes and all come back PutOk.
    let mut tasks = Vec::new();
    for t in 0..4 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let b = body(t * 100 + i);
                let r = store.put_message(msg("S", t as i32, &b, "")).await;
                assert_eq!(r.status, PutStatus::PutOk);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        store.commit_log_flushed_offset(),
        store.commit_log_max_offset()
    );

    // WAIT=false answers without waiting (the flusher still runs).
    let r = store
        .put_message(msg("S", 0, b"no-wait", "WAIT\u{1}false\u{2}"))
        .await;
    assert_eq!(r.status, PutStatus::PutOk);
    let batch = [msg("S", 1, b"a", ""), msg("S", 1, b"b", "")];
    let r = store.put_messages(&batch).await;
    assert_eq!((r.status, r.message_count), (PutStatus::PutOk, 2));
    assert!(store.commit_log_flushed_offset() >= r.physical_offset + i64::from(r.size));
    store.shutdown().unwrap();
}

#[tokio::test]
async fn async_flush_answers_at_once_and_flushes_soon() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        flush_commit_log_least_pages: 0,
        ..small_config(dir.path())
    };
    let store = MessageStore::open(config).unwrap();
    let r = store.put_message(msg("A", 0, b"lazy", "")).await;
    assert_eq!(r.status, PutStatus::PutOk);
    let end = r.physical_offset + i64::from(r.size);
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.commit_log_flushed_offset() < end {
        assert!(Instant::now() < deadline, "async flusher did not run");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The consume-queue flusher writes the checkpoint periodically.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !dir.path().join("checkpoint").exists() {
        assert!(Instant::now() < deadline, "checkpoint not written");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    store.shutdown().unwrap();
}
