//! `commitLogPageCacheMb`: flushed commit-log bytes further behind the head than the window are
//! dropped from the kernel's page cache, every message still reads back the same (from disk),
//! and data behind the window counts as on disk for the pull limits. Residency is read with
//! `mincore`, the kernel's own answer; a store without a window is the control that shows the
//! measurement can see cached pages at all.
#![allow(unsafe_code)]

mod common;

use std::path::Path;

use common::*;
use ferromq_proto::message::{decode_record, encode_properties};
use ferromq_store::{MessageStore, PutStatus, StoreConfig};

/// Bytes of the files in `dir` that are in the page cache.
fn cached_bytes(dir: &Path) -> u64 {
    let page = 4096u64;
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let file = std::fs::File::open(entry.unwrap().path()).unwrap();
        let len = file.metadata().unwrap().len() as usize;
        if len == 0 {
            continue;
        }
        // SAFETY: a private read-only mapping of a file nobody truncates during the test; only
        // its address is used (by mincore), its bytes are never read.
        let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
        let mut vec = vec![0u8; len.div_ceil(page as usize)];
        // SAFETY: `map` covers `len` bytes and `vec` has one byte per page of them.
        let rc = unsafe { libc::mincore(map.as_ptr() as *mut _, len, vec.as_mut_ptr()) };
        assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
        total += vec.iter().filter(|&&v| v & 1 == 1).count() as u64 * page;
    }
    total
}

/// True when `dir` is on tmpfs, whose pages are the files themselves and cannot be dropped.
fn on_tmpfs(dir: &Path) -> bool {
    let path = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
    // SAFETY: `st` is plain data statfs fills in; both pointers are valid for the call.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        libc::statfs(path.as_ptr(), &mut st) == 0 && st.f_type == libc::TMPFS_MAGIC
    }
}

const SEGMENT: usize = 4 << 20;
const COUNT: usize = 40_000;
const QUEUES: i32 = 4;

fn body(i: usize) -> Vec<u8> {
    let mut b = format!("message-{i:06}-").into_bytes();
    b.resize(1000, (i % 251) as u8);
    b
}

/// Opens a store with 4 MiB segments and the given window, puts COUNT messages of 1 KB
/// (about 42 MB of log), flushing as the flush thread would, and returns it.
fn fill(root: &Path, window_mb: u64) -> std::sync::Arc<MessageStore> {
    let store = MessageStore::open(StoreConfig {
        mapped_file_size_commit_log: SEGMENT,
        mapped_file_size_consume_queue: 2000 * 20,
        max_hash_slot_num: 50_000,
        max_index_num: 100_000,
        preallocate_commit_log: false,
        commit_log_page_cache_mb: Some(window_mb),
        ..small_config(root)
    })
    .unwrap();
    let props = encode_properties(&[("TAGS", "t".to_owned())]);
    for i in 0..COUNT {
        let r = store.put(msg("T", (i as i32) % QUEUES, &body(i), &props));
        assert_eq!(r.status, PutStatus::PutOk);
        if i % 1000 == 999 {
            store.flush().unwrap();
        }
    }
    settle(&store);
    store.flush().unwrap();
    store
}

#[test]
fn the_log_keeps_only_its_window_in_the_page_cache_and_reads_the_rest_from_disk() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    if on_tmpfs(dir.path()) {
        eprintln!("skipped: the temp dir is on tmpfs, whose pages cannot be dropped");
        return;
    }
    let written = COUNT as u64 * 1000;

    // Controls: with no window, and with one larger than any log (an "unlimited" value), the
    // kernel keeps what was written (this machine has the memory).
    for (window_mb, what) in [
        (0, "without a window"),
        (u64::MAX, "with an unlimited window"),
    ] {
        let control_dir = tempfile::tempdir().unwrap();
        let control = fill(control_dir.path(), window_mb);
        let control_cached = cached_bytes(&control_dir.path().join("commitlog"));
        assert!(
            control_cached >= written * 9 / 10,
            "{what} {} KiB of {} KiB written stayed cached",
            control_cached >> 10,
            written >> 10
        );
        assert!(
            !control.check_in_disk_by_consume_offset("T", 0, 0),
            "{what}"
        );
    }

    // An 8 MiB window: what stays is the window, the segment it starts in, and less than one
    // 4 MiB drop step.
    let store = fill(dir.path(), 8);
    let cached = cached_bytes(&dir.path().join("commitlog"));
    assert!(
        cached <= (8 << 20) + SEGMENT as u64 + (4 << 20),
        "{} KiB of the log still cached with an 8 MiB window ({} KiB written)",
        cached >> 10,
        written >> 10
    );
    // The oldest messages are behind the window: on disk for the pull limits; the newest are not.
    assert!(store.check_in_disk_by_consume_offset("T", 0, 0));
    let last = (COUNT / QUEUES as usize - 1) as i64;
    assert!(!store.check_in_disk_by_consume_offset("T", 0, last));

    // Every message reads back the same, most of them from disk.
    let seen = drain_round_robin(&store, "T", QUEUES, |i, rec| {
        let (m, _) = decode_record(rec).unwrap();
        assert_eq!(&m.body[..], &body(i)[..], "message {i}");
    });
    assert_eq!(seen, COUNT);
}
