//! How long a crashed store takes to open again.
//!
//! ```text
//! cargo run --release -p ferromq-store --example recovery_bench -- [GiB] [dir]
//! ```
//!
//! Fills a store with `GiB` (default 1) of commit log in 1 KiB messages (each with a `UNIQ_KEY`
//! and a `KEYS` token, over 16 queues), stops it without a shutdown (the `abort` marker stays, as
//! after `kill -9`), then opens it again three ways and prints the time each took:
//!
//! * `crash, checkpoint`: a crash with the checkpoint the flusher writes every second, the
//!   common case: only the segment holding the checkpoint is scanned;
//! * `crash, no checkpoint`: the worst case, every record of every segment checked (magic,
//!   layout, body CRC) and re-dispatched;
//! * `clean`: after a clean shutdown.
//!
//! The page cache is warm (the data was just written); `echo 3 > /proc/sys/vm/drop_caches`
//! between the steps (as root) measures a cold disk instead.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ferromq_store::{MessageStore, MessageToStore, StoreConfig};

fn config(root: &std::path::Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: 256 * 1024 * 1024,
        ..StoreConfig::with_root(root)
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let gib: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1.0);
    let tmp;
    let root: PathBuf = match args.next() {
        Some(d) => PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir().expect("temp dir");
            tmp.path().to_path_buf()
        }
    };
    let target = (gib * (1u64 << 30) as f64) as i64;
    let host: SocketAddr = "127.0.0.1:10911".parse().expect("address");
    let body = vec![b'r'; 1024];

    let started = Instant::now();
    let store = MessageStore::open(config(&root)).expect("open");
    let mut i = 0u64;
    while store.commit_log_max_offset() < target {
        let props = format!("UNIQ_KEY\u{1}7F000001{i:024X}\u{2}KEYS\u{1}order-{i}\u{2}");
        store.put(MessageToStore {
            topic: "RecoveryBench",
            queue_id: (i % 16) as i32,
            flag: 0,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: host,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: &body,
            properties: &props,
        });
        i += 1;
    }
    assert!(store.wait_for_dispatch(Duration::from_secs(600)));
    let written = store.commit_log_max_offset();
    println!(
        "wrote {i} messages, {:.2} GiB of commit log, in {:.1} s",
        written as f64 / (1u64 << 30) as f64,
        started.elapsed().as_secs_f64()
    );
    // Let the flusher write a checkpoint, then crash.
    std::thread::sleep(Duration::from_millis(1500));
    drop(store);

    let open = |what: &str| {
        let t = Instant::now();
        let store = MessageStore::open(config(&root)).expect("reopen");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(store.commit_log_max_offset(), written, "{what}: data lost");
        println!(
            "{what:<22} {secs:>8.3} s   ({:.3} s per GiB)",
            secs / (written as f64 / (1u64 << 30) as f64)
        );
        store
    };
    drop(open("crash, checkpoint"));
    std::fs::remove_file(root.join("checkpoint")).expect("remove checkpoint");
    let store = open("crash, no checkpoint");
    store.shutdown().expect("shutdown");
    drop(store);
    let store = open("clean");
    store.shutdown().expect("shutdown");
}
