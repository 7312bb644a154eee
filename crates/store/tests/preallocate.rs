//! Segment preallocation: the next commit-log segment is created off the append path and the
//! roll takes that very file; a spare never becomes part of the log by itself.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use ferromq_store::{MessageStore, PutStatus, StoreConfig};

const SEG: i64 = 64 * 1024;

fn seg_path(root: &Path, start: i64) -> PathBuf {
    root.join("commitlog").join(format!("{start:020}"))
}

fn wait_for(path: &Path) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(m) = std::fs::metadata(path) {
            return m.ino();
        }
        assert!(Instant::now() < deadline, "{path:?} never prepared");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Puts messages until the log reaches `offset`.
fn fill_past(store: &MessageStore, offset: i64) -> usize {
    let mut i = 0;
    while store.commit_log_max_offset() <= offset {
        assert_eq!(
            store.put(msg("P", 0, &body(i), "")).status,
            PutStatus::PutOk
        );
        i += 1;
    }
    i
}

#[test]
fn rolls_take_the_prepared_segment() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // The first segment itself is prepared at open.
    let first = wait_for(&seg_path(dir.path(), 0));
    fill_past(&store, 10);
    assert_eq!(
        std::fs::metadata(seg_path(dir.path(), 0)).unwrap().ino(),
        first
    );
    for k in 1..4 {
        let spare = wait_for(&seg_path(dir.path(), k * SEG));
        fill_past(&store, k * SEG + 10);
        let used = std::fs::metadata(seg_path(dir.path(), k * SEG))
            .unwrap()
            .ino();
        assert_eq!(used, spare, "segment {k} is the file prepared for it");
    }
    // A clean shutdown removes the spare; the log is unchanged after a restart.
    wait_for(&seg_path(dir.path(), 4 * SEG));
    let max = store.commit_log_max_offset();
    store.shutdown().unwrap();
    drop(store);
    assert!(!seg_path(dir.path(), 4 * SEG).exists());
    let store = open(dir.path());
    assert_eq!(store.commit_log_max_offset(), max);
    store.shutdown().unwrap();
}

#[test]
fn a_spare_left_by_a_crash_is_not_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill_past(&store, SEG + 10);
    wait_for(&seg_path(dir.path(), 2 * SEG));
    let max = store.commit_log_max_offset();
    settle(&store);
    drop(store); // crash: the spare stays on disk
    assert!(seg_path(dir.path(), 2 * SEG).exists());
    let store = open(dir.path());
    assert_eq!(store.commit_log_max_offset(), max);
    let r = store.put(msg("P", 0, b"next", ""));
    assert_eq!(r.physical_offset, max);
    store.shutdown().unwrap();
}

#[test]
fn without_preallocation_rolls_create_segments_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(StoreConfig {
        preallocate_commit_log: false,
        ..small_config(dir.path())
    })
    .unwrap();
    fill_past(&store, 2 * SEG + 10);
    assert!(!seg_path(dir.path(), 3 * SEG).exists());
    store.shutdown().unwrap();
}
