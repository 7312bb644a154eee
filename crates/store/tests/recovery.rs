//! Restart and crash scenarios: clean restarts, crashes (drop without shutdown), torn tails and
//! rebuilding consume queues from the commit log.

mod common;

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use common::*;
use ferromq_store::{GetStatus, MessageStore, PutResult, PutStatus};

const QUEUES: i32 = 3;

/// Puts `n` messages round robin over `QUEUES` queues of topic R.
fn fill(store: &MessageStore, from: usize, n: usize) -> Vec<PutResult> {
    (from..from + n)
        .map(|i| {
            let r = store.put(msg(
                "R",
                (i % QUEUES as usize) as i32,
                &body(i),
                "TAGS\u{1}t\u{2}",
            ));
            assert_eq!(r.status, PutStatus::PutOk);
            r
        })
        .collect()
}

/// Asserts that every message 0..n is readable with its original offsets.
fn check_all(store: &MessageStore, results: &[PutResult]) {
    settle(store);
    for q in 0..QUEUES {
        let expected: Vec<_> = results
            .iter()
            .enumerate()
            .filter(|(i, _)| (*i % QUEUES as usize) as i32 == q)
            .collect();
        assert_eq!(
            store.max_offset_in_queue("R", q),
            expected.len() as i64,
            "queue {q}"
        );
        let mut next = 0;
        let mut got = Vec::new();
        while next < expected.len() as i64 {
            let g = store.get_message("R", q, next, 32, None);
            assert_eq!(g.status, GetStatus::Found, "queue {q} at {next}");
            got.extend(decode_all(&g.messages));
            next = g.next_begin_offset;
        }
        for ((i, r), m) in expected.iter().zip(&got) {
            assert_eq!(&m.body[..], &body(*i)[..]);
            assert_eq!(m.commit_log_offset, r.physical_offset);
            assert_eq!(m.queue_offset, r.queue_offset);
        }
    }
}

/// The segment holding commit-log offset `offset` (the newest file may be an empty spare
/// prepared ahead of need, so "the last file" is not it).
fn segment_of(root: &Path, offset: i64) -> std::path::PathBuf {
    let seg = small_config(root).mapped_file_size_commit_log as i64;
    root.join("commitlog")
        .join(format!("{:020}", offset - offset % seg))
}

#[test]
fn clean_restart_keeps_everything_and_continues_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut results = fill(&store, 0, 200);
    let max = store.commit_log_max_offset();
    store.shutdown().unwrap();
    drop(store);
    assert!(!dir.path().join("abort").exists());
    assert!(dir.path().join("checkpoint").exists());

    let store = open(dir.path());
    assert!(dir.path().join("abort").exists());
    assert_eq!(store.commit_log_max_offset(), max);
    check_all(&store, &results);
    let more = fill(&store, 200, 10);
    assert_eq!(more[0].physical_offset, max);
    let earlier_in_queue = (0..200).filter(|i| i % QUEUES == 200 % QUEUES).count();
    assert_eq!(more[0].queue_offset, earlier_in_queue as i64);
    results.extend(more);
    check_all(&store, &results);
    store.shutdown().unwrap();
}

#[test]
fn crash_without_shutdown_recovers_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut results = fill(&store, 0, 150);
    drop(store); // no shutdown: abort marker stays, no final checkpoint
    assert!(dir.path().join("abort").exists());

    let store = open(dir.path());
    check_all(&store, &results);
    results.extend(fill(&store, 150, 30));
    drop(store);
    let store = open(dir.path());
    check_all(&store, &results);
    store.shutdown().unwrap();
}

#[test]
fn torn_tail_is_truncated_and_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut results = fill(&store, 0, 60);
    settle(&store);
    drop(store);

    // Corrupt the body of the last record: its CRC no longer matches.
    let last = results.pop().unwrap();
    let seg = small_config(dir.path()).mapped_file_size_commit_log as i64;
    let path = segment_of(dir.path(), last.physical_offset);
    let mut f = OpenOptions::new().write(true).open(&path).unwrap();
    f.seek(SeekFrom::Start((last.physical_offset % seg) as u64 + 100))
        .unwrap();
    f.write_all(b"garbage").unwrap();
    drop(f);

    let store = open(dir.path());
    assert_eq!(store.commit_log_max_offset(), last.physical_offset);
    check_all(&store, &results);
    let again = store.put(msg("R", 59 % QUEUES, b"replacement", ""));
    assert_eq!(again.physical_offset, last.physical_offset);
    assert_eq!(again.queue_offset, last.queue_offset);
    settle(&store);
    let m = store.look_message_decoded(last.physical_offset).unwrap();
    assert_eq!(&m.body[..], b"replacement");
    drop(store);

    // A half-written record header after the end is dropped too, and cleared.
    let end = {
        let store = open(dir.path());
        let end = store.commit_log_max_offset();
        drop(store);
        end
    };
    let path = segment_of(dir.path(), end);
    let mut f = OpenOptions::new().write(true).open(&path).unwrap();
    f.seek(SeekFrom::Start((end % seg) as u64)).unwrap();
    let mut header = 500i32.to_be_bytes().to_vec();
    header.extend_from_slice(&0xDAA3_20A7_u32.to_be_bytes());
    header.extend_from_slice(&[0xAB; 40]);
    f.write_all(&header).unwrap();
    drop(f);
    let store = open(dir.path());
    assert_eq!(store.commit_log_max_offset(), end);
    let raw = std::fs::read(&path).unwrap();
    let pos = (end % seg) as usize;
    assert!(
        raw[pos..pos + 48].iter().all(|&b| b == 0),
        "stale bytes cleared"
    );
    store.shutdown().unwrap();
}

#[test]
fn consume_queues_are_rebuilt_from_the_commit_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let results = fill(&store, 0, 120);
    store.shutdown().unwrap();
    drop(store);
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    std::fs::remove_file(dir.path().join("checkpoint")).unwrap();

    let store = open(dir.path());
    check_all(&store, &results);
    assert_eq!(store.put(msg("R", 0, b"x", "")).queue_offset, 40);
    store.shutdown().unwrap();
}

#[test]
fn units_pointing_past_a_truncated_log_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut results = fill(&store, 0, 30);
    store.shutdown().unwrap();
    drop(store);
    // Cut the last three records off the log by zeroing them, as if they were never written.
    let cut = &results[27];
    let seg = small_config(dir.path()).mapped_file_size_commit_log as i64;
    let path = segment_of(dir.path(), cut.physical_offset);
    let mut raw = std::fs::read(&path).unwrap();
    let pos = (cut.physical_offset % seg) as usize;
    raw[pos..].iter_mut().for_each(|b| *b = 0);
    std::fs::write(&path, &raw).unwrap();
    std::fs::write(dir.path().join("abort"), b"").unwrap();

    let store = open(dir.path());
    results.truncate(27);
    check_all(&store, &results);
    store.shutdown().unwrap();
}
