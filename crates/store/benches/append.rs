//! Appending 1 KiB records to the commit log, against a plain sequential file write of the same
//! bytes on the same disk.
//!
//! ```text
//! cargo bench -p ferromq-store --bench append
//! ```
//!
//! * `store_put_1k`: `MessageStore::put` (ASYNC_FLUSH, as a broker runs by default): validation,
//!   CRC, encoding into the mapped segment, consume-queue and index dispatch on the background
//!   thread, segment rolls (64 MiB segments, prepared ahead).
//! * `file_write_1k`: `write(2)` of 1 KiB buffers to a plain file (page cache only, no fsync).
//! * `file_write_1k_buffered`: the same through a 64 KiB `BufWriter`: the floor for copying bytes
//!   into the page cache.
//!
//! Each iteration is one 1 KiB record; throughput is reported in bytes of body.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferromq_store::{MessageStore, MessageToStore, StoreConfig};

const BODY: usize = 1024;
const SEGMENT: usize = 64 * 1024 * 1024;

fn message<'a>(body: &'a [u8], props: &'a str) -> MessageToStore<'a> {
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap_or_else(|_| unreachable!());
    MessageToStore {
        topic: "BenchTopic",
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: host,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body,
        properties: props,
    }
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_1k");
    group.throughput(Throughput::Bytes(BODY as u64));
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    let body = vec![b'x'; BODY];
    let props = "TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}7F0000010001000000000000000000AB\u{2}";

    let dir = tempfile::tempdir().expect("temp dir");
    let store = MessageStore::open(StoreConfig {
        mapped_file_size_commit_log: SEGMENT,
        ..StoreConfig::with_root(dir.path())
    })
    .expect("open store");
    group.bench_function("store_put_1k", |b| {
        b.iter(|| store.put(message(&body, props)))
    });
    store.shutdown().expect("shutdown");
    drop(store);

    let path = dir.path().join("plain");
    let mut file = File::create(&path).expect("create");
    let mut written = 0usize;
    group.bench_function("file_write_1k", |b| {
        b.iter(|| {
            // Start over now and then so the file does not grow without bound.
            if written >= 1 << 30 {
                file = File::create(&path).expect("create");
                written = 0;
            }
            file.write_all(&body).expect("write");
            written += BODY;
        })
    });
    let mut buffered = BufWriter::with_capacity(64 * 1024, File::create(&path).expect("create"));
    written = 0;
    group.bench_function("file_write_1k_buffered", |b| {
        b.iter(|| {
            if written >= 1 << 30 {
                buffered =
                    BufWriter::with_capacity(64 * 1024, File::create(&path).expect("create"));
                written = 0;
            }
            buffered.write_all(&body).expect("write");
            written += BODY;
        })
    });
    group.finish();
}

criterion_group!(benches, append);
criterion_main!(benches);
