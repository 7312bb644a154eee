//! SYNC_FLUSH guarantees with a slow "disk" (the `debug_flush_delay_ms` knob): consumers never
//! see a record before it is flushed, and a put whose flush takes longer than
//! `sync_flush_timeout_ms` answers FLUSH_DISK_TIMEOUT while the message stays stored.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use ferromq_proto::message::{decode_record, encode_properties};
use ferromq_store::{FlushDiskType, GetStatus, MessageStore, PutStatus, StoreConfig};

fn slow_sync_store(root: &std::path::Path, delay_ms: u64, timeout_ms: u64) -> Arc<MessageStore> {
    MessageStore::open(StoreConfig {
        flush_disk_type: FlushDiskType::SyncFlush,
        debug_flush_delay_ms: delay_ms,
        sync_flush_timeout_ms: timeout_ms,
        ..small_config(root)
    })
    .unwrap()
}

/// Watches the store from another thread: every record a pull, a lookup by offset or a key
/// query returns must already be on disk. The flushed offset is read *after* the record was
/// seen, and only grows, so a correct store can never trip this.
fn spawn_visibility_checker(
    store: Arc<MessageStore>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(Vec<String>, usize)> {
    std::thread::spawn(move || {
        let mut violations = Vec::new();
        let mut observed = 0;
        while !stop.load(Ordering::Acquire) {
            let mut seen = Vec::new();
            for q in 0..2 {
                let g = store.get_message("S", q, 0, 64, None);
                if g.status == GetStatus::Found {
                    seen.extend(g.messages);
                }
            }
            let q = store.query_message("S", "k", 64, 0, i64::MAX, false);
            seen.extend(q.messages);
            let max = store.commit_log_max_offset();
            let mut probe = 0;
            while probe < max {
                match store.look_message_by_offset(probe) {
                    Some(r) => {
                        probe += r.len() as i64;
                        seen.push(r);
                    }
                    None => break,
                }
            }
            let flushed = store.commit_log_flushed_offset();
            for r in &seen {
                let (m, len) = decode_record(r).unwrap();
                let end = m.commit_log_offset + len as i64;
                if end > flushed {
                    violations.push(format!(
                        "record at {} (end {end}) visible with flushed offset {flushed}",
                        m.commit_log_offset
                    ));
                }
            }
            observed = observed.max(seen.len());
            std::thread::sleep(Duration::from_micros(200));
        }
        (violations, observed)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_flush_times_out_but_keeps_the_message_and_hides_it_until_flushed() {
    let dir = tempfile::tempdir().unwrap();
    // Each flush takes a second; a put waits at most 10 ms.
    let store = slow_sync_store(dir.path(), 1000, 10);
    let stop = Arc::new(AtomicBool::new(false));
    let checker = spawn_visibility_checker(Arc::clone(&store), Arc::clone(&stop));

    let props = encode_properties(&[("KEYS", "k"), ("UNIQ_KEY", "U0")]);
    let first = store.put_message(msg("S", 0, b"first", &props)).await;
    // The flusher could not have finished: it only started sleeping after this put.
    assert_eq!(first.status, PutStatus::FlushDiskTimeout);
    assert!(first.status.is_stored());
    let end = first.physical_offset + i64::from(first.size);

    // More concurrent puts: each either makes a group commit in time or times out, and all
    // are stored.
    let results = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for t in 0..8 {
        let store = Arc::clone(&store);
        let results = Arc::clone(&results);
        tasks.push(tokio::spawn(async move {
            let b = body(t);
            let r = store
                .put_message(msg("S", (t % 2) as i32, &b, &props_of(t)))
                .await;
            results.lock().unwrap().push((t, r));
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let results = results.lock().unwrap().clone();
    for (_, r) in &results {
        assert!(
            matches!(r.status, PutStatus::PutOk | PutStatus::FlushDiskTimeout),
            "{r:?}"
        );
    }

    // Eventually the slow flushes finish and everything is readable, bodies intact.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let total: i64 = (0..2).map(|q| store.max_offset_in_queue("S", q)).sum();
        if total == 9 {
            break;
        }
        assert!(Instant::now() < deadline, "messages never became visible");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(store.commit_log_flushed_offset() >= end);
    let g = store.get_message("S", 0, 0, 64, None);
    let msgs = decode_all(&g.messages);
    assert_eq!(&msgs[0].body[..], b"first");
    for (t, r) in &results {
        let m = store.look_message_decoded(r.physical_offset).unwrap();
        assert_eq!(&m.body[..], &body(*t)[..]);
    }
    let q = store.query_message("S", "k", 64, 0, i64::MAX, false);
    assert_eq!(q.messages.len(), 1);

    stop.store(true, Ordering::Release);
    let (violations, observed) = checker.join().unwrap();
    assert!(violations.is_empty(), "{violations:#?}");
    assert!(observed >= 9, "the checker saw the messages at the end");
    store.shutdown().unwrap();
}

fn props_of(t: usize) -> String {
    encode_properties(&[("UNIQ_KEY", format!("U{}", t + 1))])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_flush_restart_dispatches_everything_it_recovered() {
    // Under SYNC_FLUSH dispatch follows the flushed offset; after a crash the recovered tail
    // is flushed again before queues are rebuilt, so queue offsets continue correctly.
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        flush_disk_type: FlushDiskType::SyncFlush,
        ..small_config(dir.path())
    };
    let store = MessageStore::open(config.clone()).unwrap();
    for i in 0..50 {
        let r = store
            .put_message(msg("S", 0, &body(i), "WAIT\u{1}false\u{2}"))
            .await;
        assert_eq!(r.status, PutStatus::PutOk);
    }
    drop(store); // crash
    let store = MessageStore::open(config).unwrap();
    assert_eq!(store.max_offset_in_queue("S", 0), 50);
    let r = store.put_message(msg("S", 0, b"next", "")).await;
    assert_eq!((r.status, r.queue_offset), (PutStatus::PutOk, 50));
    store.shutdown().unwrap();
}
