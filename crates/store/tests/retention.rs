//! Retention and full disks: expired segments go (on admin request, by age, or forcibly when the
//! disk is nearly full), consume-queue and index files behind them follow, min offsets move,
//! and writes are refused while the disk is full and resume once space returns.

mod common;

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use common::*;
use ferromq_proto::message::encode_properties;
use ferromq_store::{GetStatus, MessageStore, PutResult, PutStatus, StoreConfig};

fn retention_config(root: &Path) -> StoreConfig {
    StoreConfig {
        file_reserved_time_hours: 1,
        // Never the hour of deletion unless asked: the hour "24" does not exist.
        delete_when: "24".to_owned(),
        clean_resource_interval_ms: 50,
        max_index_num: 400,
        disk_max_used_space_ratio: 75,
        disk_space_clean_forcibly_ratio: 85,
        disk_space_warning_level_ratio: 90,
        ..small_config(root)
    }
}

/// Opens with a fake disk that is half full, whatever this machine's disk is like.
fn open_retention(config: StoreConfig) -> Arc<MessageStore> {
    let store = MessageStore::open(config).unwrap();
    store.set_disk_usage_source(Arc::new(|_: &Path| Some(0.5)));
    store
}

fn fill(store: &MessageStore, n: usize) -> Vec<PutResult> {
    (0..n)
        .map(|i| {
            let props =
                encode_properties(&[("KEYS", format!("k{i}")), ("UNIQ_KEY", format!("U{i:06}"))]);
            let r = store.put(msg("R", (i % 2) as i32, &body(i), &props));
            assert_eq!(r.status, PutStatus::PutOk);
            r
        })
        .collect()
}

fn segment_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = fs::read_dir(root.join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Makes every commit-log file look `hours` old.
fn age_segments(root: &Path, hours: u64) {
    let then = SystemTime::now() - Duration::from_secs(hours * 3600);
    for p in segment_files(root) {
        fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(then)
            .unwrap();
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn expired_segments_go_and_everything_behind_them_follows() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_retention(retention_config(dir.path()));
    let results = fill(&store, 1200);
    settle(&store);
    store.flush().unwrap();
    let cq_files_before = fs::read_dir(dir.path().join("consumequeue/R/0"))
        .unwrap()
        .count();
    assert!(cq_files_before > 2, "{cq_files_before}");

    // Fresh files are kept even on request.
    let done = store.clean_expired_files_now().unwrap();
    assert_eq!(done.commit_log_files, 0);
    assert_eq!(store.commit_log_min_offset(), 0);

    age_segments(dir.path(), 2);
    let segments_before = store.stats().commit_log_max_offset / (64 * 1024) + 1;
    let index_files = || fs::read_dir(dir.path().join("index")).unwrap().count();
    let index_before = index_files();
    let done = store.clean_expired_files_now().unwrap();
    // All but the segment being written (at most 10 per round).
    assert_eq!(done.commit_log_files as i64, (segments_before - 1).min(10));
    let log_min = store.commit_log_min_offset();
    assert!(log_min > 0);
    // Queue and index files behind the new start went too (in this call or in the background
    // thread's round, which may come first).
    assert!(index_files() < index_before);

    // The first message still in the log decides the new min offsets.
    for q in 0..2 {
        let first_kept = results
            .iter()
            .enumerate()
            .filter(|(i, r)| (*i % 2) as i32 == q && r.physical_offset >= log_min)
            .map(|(_, r)| r.queue_offset)
            .min()
            .unwrap();
        assert_eq!(store.min_offset_in_queue("R", q), first_kept);
        // A consumer behind the new minimum is moved to it.
        let g = store.get_message("R", q, 0, 32, None);
        assert_eq!(
            (g.status, g.next_begin_offset),
            (GetStatus::OffsetTooSmall, first_kept)
        );
        let g = store.get_message("R", q, first_kept, 32, None);
        assert_eq!(g.status, GetStatus::Found);
    }
    // Deleted messages are gone from queries, kept ones are found.
    for (i, r) in results.iter().enumerate() {
        let q = store.query_message("R", &format!("U{i:06}"), 32, 0, i64::MAX, true);
        assert_eq!(
            q.messages.len(),
            usize::from(r.physical_offset >= log_min),
            "message {i}"
        );
        assert_eq!(
            store.look_message_by_offset(r.physical_offset).is_some(),
            r.physical_offset >= log_min
        );
    }
    let cq_files_after = fs::read_dir(dir.path().join("consumequeue/R/0"))
        .unwrap()
        .count();
    assert!(cq_files_after < cq_files_before);

    // The state survives a restart.
    store.shutdown().unwrap();
    drop(store);
    let store = open_retention(retention_config(dir.path()));
    assert_eq!(store.commit_log_min_offset(), log_min);
    let g = store.get_message("R", 0, 0, 32, None);
    assert_eq!(g.status, GetStatus::OffsetTooSmall);
    let more = store.put(msg("R", 0, b"after", ""));
    assert_eq!(more.status, PutStatus::PutOk);
    store.shutdown().unwrap();
}

#[test]
fn an_admin_request_deletes_on_the_background_thread() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_retention(retention_config(dir.path()));
    fill(&store, 600);
    settle(&store);
    store.flush().unwrap();
    age_segments(dir.path(), 2);
    store.delete_expired_files_manually();
    wait_until("segments deleted", || store.commit_log_min_offset() > 0);
    wait_until("queue min moved", || store.min_offset_in_queue("R", 0) > 0);
    store.shutdown().unwrap();
}

#[test]
fn a_nearly_full_disk_forces_deletion_of_young_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_retention(retention_config(dir.path()));
    fill(&store, 600);
    settle(&store);
    store.flush().unwrap();
    // Above diskMaxUsedSpaceRatio (75) only expired files go: none here.
    store.set_disk_usage_source(Arc::new(|_: &Path| Some(0.80)));
    assert_eq!(store.clean_expired_files_now().unwrap().commit_log_files, 0);
    assert_eq!(store.commit_log_min_offset(), 0);
    // Above diskSpaceCleanForciblyRatio (85) young files go too (here, or on the background
    // thread that sees the same usage).
    store.set_disk_usage_source(Arc::new(|_: &Path| Some(0.87)));
    store.clean_expired_files_now().unwrap();
    assert!(store.commit_log_min_offset() > 0);
    // Still below the warning level: writes go on.
    assert_eq!(store.put(msg("R", 0, b"x", "")).status, PutStatus::PutOk);
    store.shutdown().unwrap();
}

#[test]
fn a_full_disk_refuses_writes_until_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        // Keep the files: this test is about refusing writes.
        clean_file_forcibly_enable: false,
        ..retention_config(dir.path())
    };
    let store = open_retention(config);
    let before = fill(&store, 50);
    let usage = Arc::new(AtomicU64::new(50));
    let source = Arc::clone(&usage);
    store.set_disk_usage_source(Arc::new(move |_: &Path| {
        Some(source.load(Ordering::Relaxed) as f64 / 100.0)
    }));

    usage.store(95, Ordering::Relaxed);
    // The background check notices within its period.
    wait_until("writes refused", || store.refusal().is_some());
    let r = store.put(msg("R", 0, b"refused", ""));
    assert_eq!(r.status, PutStatus::ServiceNotAvailable);
    assert!(store.refusal().unwrap().contains("disk"));
    // Nothing stored is damaged; reads go on.
    settle(&store);
    for r in &before {
        assert!(store.look_message_by_offset(r.physical_offset).is_some());
    }
    let g = store.get_message("R", 0, 0, 64, None);
    assert_eq!(g.messages.len(), 25);

    usage.store(60, Ordering::Relaxed);
    wait_until("writes resumed", || store.refusal().is_none());
    let r = store.put(msg("R", 0, b"accepted", ""));
    assert_eq!(r.status, PutStatus::PutOk);
    settle(&store);
    let m = store.look_message_decoded(r.physical_offset).unwrap();
    assert_eq!(&m.body[..], b"accepted");
    store.shutdown().unwrap();
}

#[test]
fn disk_usage_can_come_from_a_file() {
    // The broker-level knob process tests use (`debugDiskUsageFile`).
    let dir = tempfile::tempdir().unwrap();
    let usage_file = dir.path().join("usage");
    let store = MessageStore::open(StoreConfig {
        debug_disk_usage_file: Some(usage_file.clone()),
        ..retention_config(&dir.path().join("store"))
    })
    .unwrap();
    assert!(store.check_disk_now().is_some(), "real usage when no file");
    fs::write(&usage_file, "93").unwrap();
    assert_eq!(store.check_disk_now(), Some(0.93));
    assert!(store.refusal().is_some());
    fs::write(&usage_file, "0.5").unwrap();
    assert_eq!(store.check_disk_now(), Some(0.5));
    assert!(store.refusal().is_none());
    store.shutdown().unwrap();
}

#[test]
fn data_not_yet_flushed_is_never_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_retention(StoreConfig {
        // The flusher never runs on its own during the test.
        flush_interval_commit_log_ms: 3_600_000,
        flush_commit_log_thorough_interval_ms: 3_600_000,
        ..retention_config(dir.path())
    });
    fill(&store, 600);
    settle(&store);
    assert_eq!(store.commit_log_flushed_offset(), 0);
    store.set_disk_usage_source(Arc::new(|_: &Path| Some(0.87)));
    store.clean_expired_files_now().unwrap();
    assert_eq!(
        store.commit_log_min_offset(),
        0,
        "unflushed segments deleted"
    );
    store.flush().unwrap();
    store.clean_expired_files_now().unwrap();
    assert!(store.commit_log_min_offset() > 0);
    store.shutdown().unwrap();
}

#[test]
fn clean_expired_cq_destroys_queues_of_gone_topics_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_retention(retention_config(dir.path()));
    store.put(msg("Gone", 0, b"old", ""));
    store.put(msg("Kept", 0, b"old", ""));
    fill(&store, 800);
    settle(&store);
    store.flush().unwrap();
    age_segments(dir.path(), 2);
    store.clean_expired_files_now().unwrap();
    assert!(store.commit_log_min_offset() > 0);
    let removed = store
        .clean_expired_consume_queues(&|topic: &str| topic != "Gone")
        .unwrap();
    assert_eq!(removed, 1);
    assert!(!dir.path().join("consumequeue/Gone").exists());
    assert!(dir.path().join("consumequeue/Kept").exists());
    // The kept queue's offsets continue.
    assert_eq!(store.put(msg("Kept", 0, b"new", "")).queue_offset, 1);
    store.shutdown().unwrap();
}
