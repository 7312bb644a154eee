//! Flusher threads (Java `FlushRealTimeService`, `GroupCommitService`,
//! `FlushConsumeQueueService`).
//!
//! * ASYNC_FLUSH: every `flush_interval_commit_log_ms`, sync the commit log when at least
//!   `flush_commit_log_least_pages` pages are dirty, and everything at least every
//!   `flush_commit_log_thorough_interval_ms`.
//! * SYNC_FLUSH (group commit): the append path unparks the flusher; each round syncs everything
//!   appended so far, so concurrent puts share one `msync`, then publishes the durable offset to
//!   the waiters.
//! * Consume queues and index: every `flush_interval_consume_queue_ms`, sync them and write the
//!   checkpoint (the dispatch offset read *before* the flush, so it never claims more).
//!
//! A failed flush stops writes for good (`fail_writes`): after an fsync error the kernel may
//! have dropped the dirty pages, and retrying would only pretend.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::checkpoint::Checkpoint;
use crate::store::Shared;
use crate::{FlushDiskType, StoreError};

const PAGE: i64 = 4096;

/// Flushes the commit log, publishes the durable offset to SYNC_FLUSH waiters and wakes the
/// dispatcher (which, under SYNC_FLUSH, waits for the flushed offset).
pub(crate) fn flush_commit_log(shared: &Shared) -> Result<i64, StoreError> {
    if shared.write_failed.load(Ordering::Acquire) {
        return Ok(shared.commit_log.flushed_offset());
    }
    if shared.config.debug_flush_delay_ms > 0 && shared.commit_log.dirty_bytes() > 0 {
        std::thread::sleep(Duration::from_millis(shared.config.debug_flush_delay_ms));
    }
    match shared.commit_log.flush() {
        Ok(flushed) => {
            shared.flushed_tx.send_if_modified(|v| {
                let changed = *v != flushed;
                *v = flushed;
                changed
            });
            shared.wake_dispatcher();
            Ok(flushed)
        }
        Err(e) => {
            shared.fail_writes(&e);
            Err(e)
        }
    }
}

/// Flushes every consume queue and the index, then records the progress in the checkpoint
/// file.
pub(crate) fn flush_consume_queues(shared: &Shared) -> Result<(), StoreError> {
    let dispatched = shared.reput_offset.load(Ordering::Acquire);
    let logics_ts = shared.commit_log.last_store_timestamp();
    for cq in shared.queues.all() {
        if let Err(e) = cq.flush() {
            shared.fail_writes(&e);
            return Err(e);
        }
    }
    if let Err(e) = shared.index.flush() {
        shared.fail_writes(&e);
        return Err(e);
    }
    let index_ts = shared.index.last_update().0;
    let mut last = shared.last_checkpoint.lock();
    let next = Checkpoint {
        physic_msg_timestamp: if shared.commit_log.dirty_bytes() == 0 {
            logics_ts
        } else {
            last.physic_msg_timestamp
        },
        logics_msg_timestamp: logics_ts,
        index_msg_timestamp: index_ts,
        commit_log_flushed: shared.commit_log.flushed_offset(),
        dispatched,
    };
    if next != *last {
        next.store(&shared.checkpoint_path)?;
        *last = next;
    }
    Ok(())
}

/// Body of the commit-log flusher thread.
pub(crate) fn run_commit_log_flusher(shared: Arc<Shared>) {
    let config = &shared.config;
    let interval = || Duration::from_millis(shared.tunables.flush_interval_commit_log_ms().max(1));
    let thorough = Duration::from_millis(config.flush_commit_log_thorough_interval_ms);
    let least = config.flush_commit_log_least_pages as i64 * PAGE;
    let mut last_thorough = Instant::now();
    while !shared.stopping.load(Ordering::Acquire) {
        match config.flush_disk_type {
            FlushDiskType::SyncFlush => {
                if shared.commit_log.dirty_bytes() > 0 {
                    let _ = flush_commit_log(&shared);
                } else {
                    std::thread::park_timeout(Duration::from_millis(10));
                }
            }
            FlushDiskType::AsyncFlush => {
                std::thread::park_timeout(interval());
                let dirty = shared.commit_log.dirty_bytes();
                let all = last_thorough.elapsed() >= thorough;
                if dirty > 0 && (all || dirty >= least) {
                    let _ = flush_commit_log(&shared);
                }
                if all {
                    last_thorough = Instant::now();
                }
            }
        }
        if shared.write_failed.load(Ordering::Acquire) {
            std::thread::park_timeout(interval());
        }
    }
}

/// Body of the consume-queue flusher thread.
pub(crate) fn run_consume_queue_flusher(shared: Arc<Shared>) {
    let interval = Duration::from_millis(shared.config.flush_interval_consume_queue_ms.max(1));
    while !shared.stopping.load(Ordering::Acquire) {
        std::thread::park_timeout(interval);
        if shared.stopping.load(Ordering::Acquire) || shared.write_failed.load(Ordering::Acquire) {
            continue;
        }
        if let Err(e) = flush_consume_queues(&shared) {
            tracing::error!(error = %e, "consume-queue flush failed");
        }
    }
}
