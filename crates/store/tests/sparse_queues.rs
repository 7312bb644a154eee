//! Consume-queue files are full-sized but sparse: disk blocks are reserved just ahead of each
//! queue's writer, so a topic with many lightly used queues costs pages, not gigabytes.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::*;
use ferromq_store::{GetStatus, MessageStore, PutStatus, StoreConfig};

const QUEUES: i32 = 512;
/// RocketMQ's default consume-queue file: 300,000 units of 20 bytes.
const CQ_FILE: u64 = 6_000_000;

fn config(root: &Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_consume_queue: CQ_FILE as usize,
        ..small_config(root)
    }
}

/// (files, apparent bytes of the files, bytes allocated on disk for files and directories) under
/// `dir`, as `du` counts them (`st_blocks` × 512).
fn usage(dir: &Path) -> (usize, u64, u64) {
    let (mut files, mut apparent, mut disk) = (0, 0, 0);
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        disk += std::fs::metadata(&d).unwrap().blocks() * 512;
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                todo.push(entry.path());
            } else {
                files += 1;
                apparent += meta.len();
                disk += meta.blocks() * 512;
            }
        }
    }
    (files, apparent, disk)
}

fn body_of(queue: i32, n: usize) -> Vec<u8> {
    format!("queue-{queue}-message-{n}").into_bytes()
}

/// Reads queue `q` from offset 0 and checks it holds exactly `n` messages, in order.
fn check_queue(store: &MessageStore, q: i32, n: usize) {
    let mut got = Vec::new();
    let mut next = 0;
    while got.len() < n {
        let r = store.get_message("S", q, next, 32, None);
        assert_eq!(r.status, GetStatus::Found, "queue {q} at {next}");
        got.extend(decode_all(&r.messages));
        next = r.next_begin_offset;
    }
    assert_eq!(store.max_offset_in_queue("S", q), n as i64, "queue {q}");
    for (i, m) in got.iter().enumerate() {
        assert_eq!(&m.body[..], &body_of(q, i)[..], "queue {q} message {i}");
        assert_eq!(m.queue_offset, i as i64);
    }
}

#[test]
fn many_queues_with_one_message_stay_sparse_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    let cq_dir = dir.path().join("consumequeue");
    let store = MessageStore::open(config(dir.path())).unwrap();
    for q in 0..QUEUES {
        let r = store.put(msg("S", q, &body_of(q, 0), ""));
        assert_eq!(r.status, PutStatus::PutOk);
    }
    settle(&store);
    store.flush().unwrap();

    let (files, apparent, disk) = usage(&cq_dir);
    assert_eq!(files, QUEUES as usize);
    assert_eq!(
        apparent,
        QUEUES as u64 * CQ_FILE,
        "files keep their full size"
    );
    // One page reserved per queue, plus the directories: well under 64 KiB a queue, where the
    // whole file (6 MB a queue, 3 GB in all) used to be reserved.
    let bound = QUEUES as u64 * 64 * 1024;
    assert!(
        disk < bound,
        "{disk} bytes on disk for {QUEUES} one-message queues (bound {bound})"
    );

    // Recovery after a clean stop, then after a crash: every message reads back and appends
    // continue where each queue ended.
    store.shutdown().unwrap();
    drop(store);
    let store = MessageStore::open(config(dir.path())).unwrap();
    for q in 0..QUEUES {
        check_queue(&store, q, 1);
    }
    for q in 0..QUEUES {
        let r = store.put(msg("S", q, &body_of(q, 1), ""));
        assert_eq!((r.status, r.queue_offset), (PutStatus::PutOk, 1));
    }
    // One busy queue grows its reservation step by step as it is written.
    let busy = 3000;
    for n in 2..busy {
        let r = store.put(msg("S", 7, &body_of(7, n), ""));
        assert_eq!(r.status, PutStatus::PutOk);
    }
    settle(&store);
    drop(store); // a crash: no shutdown, no checkpoint
    let store = MessageStore::open(config(dir.path())).unwrap();
    for q in 0..QUEUES {
        check_queue(&store, q, if q == 7 { busy } else { 2 });
    }
    let r = store.put(msg("S", 7, &body_of(7, busy), ""));
    assert_eq!(r.queue_offset, busy as i64);
    settle(&store);
    check_queue(&store, 7, busy + 1);

    let (files, apparent, disk) = usage(&cq_dir);
    assert_eq!(files, QUEUES as usize);
    assert_eq!(apparent, QUEUES as u64 * CQ_FILE);
    assert!(
        disk < bound,
        "{disk} bytes on disk after recovery (bound {bound})"
    );
    let busy_file = cq_dir.join("S").join("7").join(format!("{:020}", 0));
    let busy_disk = std::fs::metadata(&busy_file).unwrap().blocks() * 512;
    let written = (busy as u64 + 1) * 20;
    assert!(
        (written..=2 * written + 8192).contains(&busy_disk),
        "{busy_disk} bytes reserved for {written} bytes of units"
    );
    store.shutdown().unwrap();
}
