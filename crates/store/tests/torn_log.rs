//! Torn and corrupt commit logs: the last record cut at every byte, a flipped body byte, a
//! zeroed range. Recovery keeps every record before the first damaged one, drops the rest with
//! their consume-queue units and index entries, writes a checkpoint, and the store continues
//! at the cut.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use ferromq_proto::message::encode_properties;
use ferromq_store::{GetStatus, MessageStore, PutResult, PutStatus};

const QUEUES: i32 = 2;

fn props(i: usize) -> String {
    encode_properties(&[
        ("TAGS", "t".to_owned()),
        ("KEYS", format!("key{i} all")),
        ("UNIQ_KEY", format!("UNIQ{i:04}")),
    ])
}

/// Puts `n` messages round robin over the queues of topic C and crashes (drops the store
/// without shutdown). Returns the put results.
fn crashed_store(root: &Path, n: usize) -> Vec<PutResult> {
    let store = open(root);
    let results: Vec<_> = (0..n)
        .map(|i| {
            let r = store.put(msg("C", (i % QUEUES as usize) as i32, &body(i), &props(i)));
            assert_eq!(r.status, PutStatus::PutOk);
            r
        })
        .collect();
    settle(&store);
    drop(store);
    assert!(root.join("abort").exists());
    results
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "lock" {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The segment file holding commit-log offset `offset`, and the position in it.
fn locate(root: &Path, offset: i64) -> (PathBuf, usize) {
    let seg = small_config(root).mapped_file_size_commit_log as i64;
    let start = offset - offset % seg;
    (
        root.join("commitlog").join(format!("{start:020}")),
        (offset - start) as usize,
    )
}

fn edit(root: &Path, offset: i64, f: impl FnOnce(&mut [u8])) {
    let (path, pos) = locate(root, offset);
    let mut raw = fs::read(&path).unwrap();
    f(&mut raw[pos..]);
    fs::write(&path, &raw).unwrap();
}

/// Checks that exactly `results[..kept]` are in the store, readable and findable by key, and
/// that the store continues where the kept records end.
fn check_kept(store: &MessageStore, results: &[PutResult], kept: usize) {
    settle(store);
    let end = results
        .get(kept)
        .map_or(store.commit_log_max_offset(), |r| r.physical_offset);
    assert_eq!(store.commit_log_max_offset(), end, "kept {kept}");
    for q in 0..QUEUES {
        let expected: Vec<usize> = (0..kept).filter(|i| (*i as i32) % QUEUES == q).collect();
        assert_eq!(
            store.max_offset_in_queue("C", q),
            expected.len() as i64,
            "queue {q}, kept {kept}"
        );
        let mut got = Vec::new();
        let mut next = 0;
        while next < expected.len() as i64 {
            let g = store.get_message("C", q, next, 32, None);
            assert_eq!(g.status, GetStatus::Found);
            got.extend(decode_all(&g.messages));
            next = g.next_begin_offset;
        }
        for (i, m) in expected.iter().zip(&got) {
            assert_eq!(&m.body[..], &body(*i)[..]);
            assert_eq!(m.commit_log_offset, results[*i].physical_offset);
        }
    }
    for (i, r) in results.iter().enumerate() {
        let by_uniq = store.query_message("C", &format!("UNIQ{i:04}"), 32, 0, i64::MAX, true);
        let by_key = store.query_message("C", &format!("key{i}"), 32, 0, i64::MAX, false);
        if i < kept {
            assert_eq!(by_uniq.messages.len(), 1, "message {i} by unique key");
            assert_eq!(by_key.messages.len(), 1, "message {i} by key");
            assert!(store.look_message_by_offset(r.physical_offset).is_some());
        } else {
            assert!(
                by_uniq.messages.is_empty(),
                "dropped message {i} still indexed"
            );
            assert!(by_key.messages.is_empty());
        }
    }
    assert_eq!(
        store
            .query_message("C", "all", 64, 0, i64::MAX, false)
            .messages
            .len(),
        kept.min(64)
    );
}

/// After recovery the store takes new messages at the cut, and a clean restart keeps them.
fn continue_after(
    root: &Path,
    store: std::sync::Arc<MessageStore>,
    results: &[PutResult],
    kept: usize,
) {
    let q = (kept as i32) % QUEUES;
    let r = store.put(msg("C", q, b"after-recovery", &props(9999)));
    assert_eq!(r.status, PutStatus::PutOk);
    if let Some(lost) = results.get(kept) {
        assert_eq!(r.physical_offset, lost.physical_offset);
        assert_eq!(r.queue_offset, lost.queue_offset);
    }
    store.shutdown().unwrap();
    drop(store);
    let store = open(root);
    settle(&store);
    let m = store.look_message_decoded(r.physical_offset).unwrap();
    assert_eq!(&m.body[..], b"after-recovery");
    assert_eq!(
        store
            .query_message("C", "UNIQ9999", 32, 0, i64::MAX, true)
            .messages
            .len(),
        1
    );
    store.shutdown().unwrap();
}

#[test]
fn last_record_cut_at_every_byte_boundary() {
    let base = tempfile::tempdir().unwrap();
    let results = crashed_store(base.path(), 12);
    let last = results.last().unwrap().clone();
    let size = last.size as usize;
    for cut in 0..size {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(base.path(), dir.path());
        // Everything from `cut` on never reached the file: zeros, as in a fresh segment.
        edit(dir.path(), last.physical_offset, |b| b[cut..size].fill(0));
        let store = open(dir.path());
        check_kept(&store, &results, results.len() - 1);
        if cut % 37 == 0 {
            continue_after(dir.path(), store, &results, results.len() - 1);
        }
    }
    // The uncut copy keeps everything.
    let store = open(base.path());
    check_kept(&store, &results, results.len());
    store.shutdown().unwrap();
}

#[test]
fn last_record_cut_and_followed_by_garbage() {
    // A torn write can also leave stale bytes (a previous, longer record) after the cut.
    let base = tempfile::tempdir().unwrap();
    let results = crashed_store(base.path(), 6);
    let last = results.last().unwrap().clone();
    for cut in [1usize, 4, 8, 30, last.size as usize - 1] {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(base.path(), dir.path());
        edit(dir.path(), last.physical_offset, |b| {
            b[cut..cut + 200].iter_mut().for_each(|x| *x = 0xA5)
        });
        let store = open(dir.path());
        check_kept(&store, &results, results.len() - 1);
        continue_after(dir.path(), store, &results, results.len() - 1);
    }
}

#[test]
fn a_flipped_body_byte_truncates_at_that_record() {
    let dir = tempfile::tempdir().unwrap();
    // Enough to fill several 64 KiB segments.
    let results = crashed_store(dir.path(), 1500);
    let segments = fs::read_dir(dir.path().join("commitlog")).unwrap().count();
    assert!(segments >= 3, "{segments}");
    let victim = 700;
    let r = &results[victim];
    // The body starts 88 bytes in (IPv4 hosts): flip a bit in its middle.
    let at = 88 + body(victim).len() / 2;
    edit(dir.path(), r.physical_offset, |b| b[at] ^= 0x10);
    // Without a checkpoint the scan covers the whole log (the flipped record is in an older
    // segment than a checkpoint would point at).
    fs::remove_file(dir.path().join("checkpoint")).ok();
    let store = open(dir.path());
    check_kept(&store, &results, victim);
    // Later segments were deleted (the next one may exist again, empty, as the spare the
    // store prepares ahead of need).
    let (victim_seg, _) = locate(dir.path(), r.physical_offset);
    for e in fs::read_dir(dir.path().join("commitlog")).unwrap() {
        let path = e.unwrap().path();
        if path > victim_seg {
            assert!(fs::read(&path).unwrap().iter().all(|&b| b == 0), "{path:?}");
        }
    }
    // Recovery wrote a checkpoint: durable up to the end it found.
    let ck = fs::read(dir.path().join("checkpoint")).unwrap();
    let flushed = i64::from_be_bytes(ck[32..40].try_into().unwrap());
    let dispatched = i64::from_be_bytes(ck[40..48].try_into().unwrap());
    assert_eq!(
        (flushed, dispatched),
        (r.physical_offset, r.physical_offset)
    );
    continue_after(dir.path(), store, &results, victim);
}

#[test]
fn a_zeroed_range_truncates_at_the_first_damaged_record() {
    let dir = tempfile::tempdir().unwrap();
    let results = crashed_store(dir.path(), 40);
    let (a, b) = (&results[20], &results[21]);
    // From the middle of record 20 into record 21.
    let from = a.physical_offset + i64::from(a.size) / 2;
    let to = b.physical_offset + 10;
    edit(dir.path(), from, |buf| buf[..(to - from) as usize].fill(0));
    let store = open(dir.path());
    check_kept(&store, &results, 20);
    continue_after(dir.path(), store, &results, 20);
}

#[test]
fn a_zeroed_record_start_ends_the_log_there() {
    let dir = tempfile::tempdir().unwrap();
    let results = crashed_store(dir.path(), 40);
    let r = &results[30];
    edit(dir.path(), r.physical_offset, |buf| buf[..8].fill(0));
    let store = open(dir.path());
    check_kept(&store, &results, 30);
    store.shutdown().unwrap();
}

#[test]
fn a_crash_right_after_recovery_does_not_lose_or_repeat_anything() {
    let dir = tempfile::tempdir().unwrap();
    let results = crashed_store(dir.path(), 30);
    edit(dir.path(), results[29].physical_offset, |b| b[90] ^= 1);
    fs::remove_file(dir.path().join("checkpoint")).ok();
    let store = open(dir.path());
    assert!(
        dir.path().join("checkpoint").exists(),
        "recovery writes a checkpoint"
    );
    drop(store); // crash again at once
    let store = open(dir.path());
    check_kept(&store, &results, 29);
    drop(store);
    // And with the index gone, it is rebuilt from the log.
    fs::remove_dir_all(dir.path().join("index")).unwrap();
    let store = open(dir.path());
    check_kept(&store, &results, 29);
    store.shutdown().unwrap();
}
