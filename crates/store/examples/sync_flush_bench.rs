//! SYNC_FLUSH puts per second inside one process (no network), with 1, 16 and 64 concurrent
//! producers, each waiting for its own put before the next (group commit shares the flushes).
//!
//! ```text
//! cargo run --release -p ferromq-store --example sync_flush_bench -- [seconds per run] [dir]
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_store::{FlushDiskType, MessageStore, MessageToStore, PutStatus, StoreConfig};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5.0);
    let tmp;
    let root: PathBuf = match args.next() {
        Some(d) => PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir().expect("temp dir");
            tmp.path().to_path_buf()
        }
    };
    for producers in [1usize, 16, 64] {
        let dir = root.join(format!("p{producers}"));
        let store = MessageStore::open(StoreConfig {
            flush_disk_type: FlushDiskType::SyncFlush,
            mapped_file_size_commit_log: 128 * 1024 * 1024,
            ..StoreConfig::with_root(&dir)
        })
        .expect("open");
        let done = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for p in 0..producers {
            let store = Arc::clone(&store);
            let done = Arc::clone(&done);
            let stop = Arc::clone(&stop);
            tasks.push(tokio::spawn(async move {
                let host: SocketAddr = "127.0.0.1:10911".parse().expect("address");
                let body = vec![b's'; 1024];
                while !stop.load(Ordering::Relaxed) {
                    let r = store
                        .put_message(MessageToStore {
                            topic: "SyncBench",
                            queue_id: (p % 8) as i32,
                            flag: 0,
                            sys_flag: 0,
                            born_timestamp: 0,
                            born_host: host,
                            store_host: host,
                            reconsume_times: 0,
                            prepared_transaction_offset: 0,
                            body: &body,
                            properties: "",
                        })
                        .await;
                    assert_eq!(r.status, PutStatus::PutOk);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.expect("task");
        }
        let n = done.load(Ordering::Relaxed);
        println!(
            "{producers:>3} producers: {:>9.0} SYNC_FLUSH puts/s (1 KiB)",
            n as f64 / started.elapsed().as_secs_f64()
        );
        store.shutdown().expect("shutdown");
    }
}
