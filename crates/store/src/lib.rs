//! FerroMQ's storage engine: RocketMQ's on-disk formats, owned by one [`MessageStore`].
//!
//! ```text
//!  put ──► commit_log (append: one writer, mmap'd segments) ──► flush threads (async / group commit)
//!                │         ▲ next segment prepared by the preallocator thread
//!                ▼  dispatch thread ("reput") tails the log (under SYNC_FLUSH: the flushed part)
//!          consume_queue/<topic>/<queue> (20-byte units) ──► ArrivalListener (wakes long polls)
//!          index/<time> (hash slots → entry chains of KEYS and UNIQ_KEY)
//!                │
//!  get ◄─────────┘  units → zero-copy slices of the mapped commit log
//!  query ◄─ index → records (checked against topic and key)
//!  retention thread: disk usage (refuse writes when full), expired segments and what follows them
//!  resident thread: above `mappedResidentLimitMb` of file-backed RSS, drops mapped pages read
//!                   or written from the page tables (they stay in the page cache)
//! ```
//!
//! On disk, under `store_path_root_dir`:
//!
//! ```text
//! commitlog/00000000000000000000        segments named by their start offset (3.5 records)
//! consumequeue/<topic>/<qid>/<offset>   20-byte units (3.10)
//! index/<yyyyMMddHHmmssSSS>             index files (3.11), newest last
//! checkpoint                            durable offsets, written atomically
//! abort                                 present while running: its presence at open = crash
//! lock                                  flock'd while open
//! ```
//!
//! The commit log is the source of truth: consume queues are derived from it and rebuilt past
//! the checkpoint at open. Records are stored in exactly the bytes a PULL response carries, so a
//! pull hands out [`bytes::Bytes`] slices of the mapping without copying. All `unsafe` lives in
//! `mapped_file.rs`.
//!
//! Read-your-writes: `put_message` / `put_messages` answer only once their records are
//! dispatched, so a producer holding SEND_OK can read its message back at once (offsets, pulls,
//! time search, key queries). A single-message put dispatches inline when no one else is
//! dispatching; otherwise (and for batches) it waits for the dispatch thread's published offset.
//!
//! Recovery (`commit_log/recovery.rs`, `store.rs`): after a crash (the `abort` marker is
//! present) every record from the checkpoint's segment on is checked (magic, layout, physical
//! offset, body CRC, properties ending in U+0002); the log ends at the first bad one, consume
//! queues and index drop what points past it and are rebuilt past what they hold, the tail is
//! flushed and a checkpoint written before the store opens.
//!
//! Replication (`replica.rs`, `commit_log/replica.rs`): a master ships whole records out of its
//! log ([`MessageStore::read_for_replica`]); a slave's store, switched to replica mode, refuses
//! puts and appends those bytes verbatim at the same offsets ([`MessageStore::append_replicated`]),
//! so its consume queues and index are rebuilt by its own dispatch. The network side lives in
//! the `ferromq-ha` crate.
//!
//! Delay-level delivery and the 5.x timer live in the broker (`schedule`).

mod admin_ops;
mod checkpoint;
mod commit_log;
mod config;
mod consume_queue;
mod dispatch;
mod error;
mod flush;
#[doc(hidden)]
pub mod fuzzing;
mod index;
mod mapped_file;
mod preallocate;
mod read;
mod replica;
mod resident;
mod retention;
mod segments;
mod stats;
mod store;
mod truncate;
mod tunables;
mod types;

pub use admin_ops::{ConsumeQueueUnit, ConsumeQueueUnits};
pub use commit_log::replica::ReplicaError;
pub use config::{FlushDiskType, StoreConfig};
pub use consume_queue::UNIT_SIZE as CONSUME_QUEUE_UNIT_SIZE;
pub use error::StoreError;
pub use retention::DiskUsageFn;
pub use stats::StoreStatsSnapshot;
pub use store::MessageStore;
pub use truncate::TruncateReport;
pub use tunables::LIVE_STORE_KEYS;
pub use types::{
    Arrival, ArrivalListener, GetResult, GetStatus, MessageToStore, PutResult, PutStatus,
    QueryResult, RetentionReport,
};

/// The hash map of the store's per-message lookups (queues by topic and id): foldhash instead
/// of std's SipHash, which cost a send about 1,000 instructions over its four lookups. The
/// keys are names of topics that exist; the per-process random seed is kept.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Next (or max) queue offset by topic and queue id.
pub(crate) type QueueOffsets = FastMap<String, FastMap<i32, i64>>;
