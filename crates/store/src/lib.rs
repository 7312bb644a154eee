//! FerroMQ's storage engine: RocketMQ's on-disk formats, owned by one [`MessageStore`].
//!
//! ```text
//!  put ──► commit_log (append: one writer, mmap'd segments) ──► flush threads (async / group commit)
//!                │
//!                ▼  dispatch thread ("reput") tails the log
//!          consume_queue/<topic>/<queue> (20-byte units) ──► ArrivalListener (wakes long polls)
//!                │
//!  get ◄─────────┘  units → zero-copy slices of the mapped commit log
//! ```
//!
//! On disk, under `store_path_root_dir`:
//!
//! ```text
//! commitlog/00000000000000000000        segments named by their start offset (3.5 records)
//! consumequeue/<topic>/<qid>/<offset>   20-byte units (3.10)
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
//! Later: the index file (keys / UNIQ_KEY), retention (`file_reserved_time_hours`,
//! `delete_when`), segment preallocation off the append path, timer/delay delivery, HA.

mod checkpoint;
mod commit_log;
mod config;
mod consume_queue;
mod dispatch;
mod error;
mod flush;
mod mapped_file;
mod read;
mod segments;
mod stats;
mod store;
mod types;

pub use config::{FlushDiskType, StoreConfig};
pub use consume_queue::UNIT_SIZE as CONSUME_QUEUE_UNIT_SIZE;
pub use error::StoreError;
pub use stats::StoreStatsSnapshot;
pub use store::MessageStore;
pub use types::{
    Arrival, ArrivalListener, GetResult, GetStatus, MessageToStore, PutResult, PutStatus,
};
