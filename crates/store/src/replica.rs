//! [`MessageStore`]'s side of master/slave replication; the byte handling is in
//! `commit_log/replica.rs`, the network in the `ferromq-ha` crate.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::{dispatch, FlushDiskType, MessageStore, ReplicaError};

impl MessageStore {
    /// Turns replica mode on (a slave: puts are refused, [`Self::append_replicated`] takes a
    /// master's bytes) or off (a master again: queue offsets continue from the consume queues,
    /// which are first brought up to the end of the log).
    pub fn set_replica(&self, replica: bool) {
        let s = &*self.shared;
        if !replica && s.replica.load(Ordering::Acquire) {
            dispatch::dispatch_locked(s, true, None);
            s.commit_log.set_queue_offsets(s.queues.max_offsets());
        }
        s.replica.store(replica, Ordering::Release);
    }

    /// True while the store is a slave's replica.
    pub fn is_replica(&self) -> bool {
        self.shared.replica.load(Ordering::Acquire)
    }

    /// Whole records from commit-log offset `offset` for a slave: at most `max_bytes` (but at
    /// least one record), all in one segment, zero-copy. `Ok(None)` when the slave is at the
    /// end of the log; an error when `offset` was deleted, is past the end or is not where a
    /// record starts.
    pub fn read_for_replica(
        &self,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Option<Bytes>, ReplicaError> {
        self.shared.commit_log.read_for_replica(offset, max_bytes)
    }

    /// Appends bytes a master shipped from its offset `offset` (see [`Self::read_for_replica`])
    /// verbatim, and lets the dispatch thread build consume queues and index from them. Only in
    /// replica mode. Returns the new end of the log. An empty store starts at `offset` (a
    /// segment start: a slave started empty copies whatever its master still keeps).
    pub fn append_replicated(&self, offset: i64, data: &[u8]) -> Result<i64, ReplicaError> {
        let s = &*self.shared;
        if !s.replica.load(Ordering::Acquire) {
            return Err(ReplicaError::Write(
                "the store is not in replica mode (it belongs to a master)".into(),
            ));
        }
        if s.write_failed.load(Ordering::Acquire) {
            return Err(ReplicaError::Write(
                "a disk write of the message store failed; restart the slave".into(),
            ));
        }
        let end = s.commit_log.append_replicated(offset, data)?;
        if s.commit_log.take_rolled() {
            if let Some(t) = s.allocator.get() {
                t.unpark();
            }
        }
        if s.config.flush_disk_type == FlushDiskType::SyncFlush {
            if let Some(t) = s.flusher.get() {
                t.unpark();
            }
        } else {
            s.wake_dispatcher();
        }
        Ok(end)
    }
}

impl MessageStore {
    /// Follows how far the log is dispatched (read-your-writes watermark): it moves after every
    /// put, which is when a master has new bytes to ship.
    pub fn watch_dispatched(&self) -> tokio::sync::watch::Receiver<i64> {
        self.shared.dispatched_tx.subscribe()
    }
}
