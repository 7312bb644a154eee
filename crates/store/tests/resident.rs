//! The `ferromq-resident` thread: pages of the store's mappings that consumers read back in
//! and the index touched are dropped from the process once its file-backed RSS passes
//! `mappedResidentLimitMb`, and every read afterwards (and a slice held across the release)
//! still sees the stored bytes.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use ferromq_proto::message::{decode_record, encode_properties};
use ferromq_store::{MessageStore, PutStatus, StoreConfig};

/// Resident bytes of every mapping of a file under `dir` (`Rss:` lines of `/proc/self/smaps`).
fn resident_under(dir: &Path) -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let dir = dir.to_str().unwrap();
    let mut total = 0;
    let mut ours = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or_default();
        if first.contains('-') && first.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            ours = line.contains(dir);
        } else if let Some(v) = line.strip_prefix("Rss:") {
            if ours {
                total += v
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .unwrap()
                    * 1024;
            }
        }
    }
    total
}

const QUEUES: i32 = 4;
const COUNT: usize = 12_000;

fn big_body(i: usize) -> Vec<u8> {
    let mut b = format!("message-{i:06}-").into_bytes();
    b.resize(1000, (i % 251) as u8);
    b
}

#[test]
fn pages_read_back_by_consumers_are_released_and_read_the_same_afterwards() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(StoreConfig {
        mapped_file_size_commit_log: 4 << 20,
        mapped_file_size_consume_queue: 1000 * 20,
        max_hash_slot_num: 50_000,
        max_index_num: 100_000,
        // Anything above the limit starts a pass: the test binary itself is file-backed RSS.
        mapped_resident_limit_mb: 1,
        // No pages faulted in ahead of the writer: what stays resident is the log's hot tail.
        preallocate_commit_log: false,
        ..small_config(dir.path())
    })
    .unwrap();
    for i in 0..COUNT {
        let props = encode_properties(&[("KEYS", format!("key-{i}"))]);
        let r = store.put(msg("T", (i as i32) % QUEUES, &big_body(i), &props));
        assert_eq!(r.status, PutStatus::PutOk);
    }
    settle(&store);
    store.flush().unwrap();

    // Drain every queue, as a consumer does, holding the first pull's zero-copy slices.
    let mut held = Vec::new();
    let seen = drain_round_robin(&store, "T", QUEUES, |i, rec| {
        assert_eq!(&decode_record(rec).unwrap().0.body[..], &big_body(i)[..]);
        // The first pull: queue 0's first 32 records.
        if i % QUEUES as usize == 0 && i / (QUEUES as usize) < 32 {
            held.push(rec.clone());
        }
    });
    assert_eq!(seen, COUNT);
    // 12 MB of log were read back in; the thread drops them again within a few periods.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut resident = resident_under(dir.path());
    while resident > (6 << 20) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        resident = resident_under(dir.path());
    }
    assert!(
        resident <= 6 << 20,
        "{} KiB of store files still resident",
        resident >> 10
    );

    // The slices held across the release, new reads and index queries see the same bytes.
    for (k, rec) in held.iter().enumerate() {
        assert_eq!(
            &decode_record(rec).unwrap().0.body[..],
            &big_body(k * QUEUES as usize)[..]
        );
    }
    for i in (0..COUNT).step_by(997) {
        let q = (i as i32) % QUEUES;
        let got = store.get_message("T", q, (i / QUEUES as usize) as i64, 1, None);
        assert_eq!(&decode_all(&got.messages)[0].body[..], &big_body(i)[..]);
        let found = store.query_message("T", &format!("key-{i}"), 4, 0, i64::MAX, false);
        assert_eq!(found.messages.len(), 1, "key-{i}");
    }
    // Writes after a release land and are read back.
    let r = store.put(msg(
        "T",
        0,
        b"after",
        &encode_properties(&[("KEYS", "late")]),
    ));
    assert_eq!(r.status, PutStatus::PutOk);
    settle(&store);
    let found = store.query_message("T", "late", 4, 0, i64::MAX, false);
    assert_eq!(
        &decode_record(&found.messages[0]).unwrap().0.body[..],
        b"after"
    );
}
