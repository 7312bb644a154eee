//! Master/slave replication of the commit log (RocketMQ's HA service, its own small protocol).
//!
//! A master runs [`HaMaster`] on `haListenPort` (listenPort + 1 by default); each slave runs
//! [`HaSlave`], which connects there, says where its log ends, and from then on receives the
//! master's commit log as a byte stream and appends it verbatim at the same offsets (the store's
//! replica mode, `ferromq_store::MessageStore::append_replicated`). The slave's own dispatch
//! builds its consume queues and index from those bytes, so the slave serves pulls and queries
//! of everything it holds. A SYNC_MASTER answers a send only once a slave reported holding the
//! bytes ([`HaMaster::wait_for_slaves`]).
//!
//! # The stream
//!
//! One TCP connection per slave, all integers big-endian:
//!
//! ```text
//! slave  → master  hello   "FMHA" | version u16 (1) | flags u16 (0)
//!                          | brokerName (u16 length + UTF-8) | brokerId i64
//!                          | mappedFileSizeCommitLog i64 | log end i64 | log start i64
//! master → slave   reply   0 | start offset i64 | master's log end i64        (accepted)
//!                          1 | reason (u16 length + UTF-8), then the master closes  (refused)
//! master → slave   data    offset i64 | length u32 | master's log end i64 | bytes
//!                          (length 0: a heartbeat, every haSendHeartbeatInterval when idle)
//! slave  → master  ack     the slave's log end i64, after every data frame
//! ```
//!
//! The master refuses a slave with another brokerName, brokerId 0, a different segment size, a
//! log that ends past the master's (it holds data the master does not: an old master), a log
//! that ends before what retention left on the master, or an end that is not a record boundary
//! of the master's log. An empty slave starts at the master's first kept byte, so it copies all
//! the master still has. Data frames hold whole records of one segment (the segment's BLANK
//! filler included), never more than `haTransferBatchSize` bytes unless one record is bigger;
//! the slave checks every record's length, magic and physical offset before appending, and on
//! any mismatch closes the connection and starts again with a new hello rather than write bytes
//! it cannot place. Either side closes a connection that is silent for
//! `haHousekeepingInterval`; the slave reconnects every few seconds.

pub mod epoch;
mod master;
pub mod protocol;
mod rate;
mod slave;

use std::time::Duration;

pub use epoch::{Epoch, EpochCache};
pub use master::{HaMaster, SlaveInfo, SlaveWait};
pub use slave::{HaSlave, SlaveStatus};

/// Settings of both sides (RocketMQ's `MessageStoreConfig` HA keys).
#[derive(Debug, Clone)]
pub struct HaConfig {
    /// `brokerName`: a master takes only slaves of its own name.
    pub broker_name: String,
    /// `haTransferBatchSize` (32 KiB): bytes per data frame.
    pub transfer_batch_size: usize,
    /// `haSendHeartbeatInterval` (5 s): idle time before a heartbeat frame.
    pub heartbeat_interval: Duration,
    /// `haHousekeepingInterval` (20 s): silence after which a connection is closed.
    pub housekeeping_interval: Duration,
    /// `haMaxGapNotInSync` (256 MiB): a slave further behind does not count for SYNC_MASTER.
    pub max_gap_not_in_sync: i64,
}

impl HaConfig {
    /// RocketMQ's defaults for `broker_name`.
    pub fn new(broker_name: impl Into<String>) -> Self {
        HaConfig {
            broker_name: broker_name.into(),
            transfer_batch_size: 32 * 1024,
            heartbeat_interval: Duration::from_millis(5000),
            housekeeping_interval: Duration::from_millis(20_000),
            max_gap_not_in_sync: 256 * 1024 * 1024,
        }
    }
}
