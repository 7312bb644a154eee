//! Segment preallocation (Java `AllocateMappedFileService`): the `ferromq-prealloc` thread keeps
//! the next commit-log segment created, reserved on disk, mapped and (with
//! `warmMapedFileEnable`) faulted in, so a put that rolls the log only takes it from
//! [`crate::segments::Segments`] instead of doing that file work under the append lock.
//!
//! The append path unparks the thread after every roll; it also looks every second. A failure
//! (a full disk) is logged and retried later; the append path then creates the segment itself
//! and reports `CreateMappedFileFailed` if that fails too.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::store::Shared;
use crate::StoreError;

/// Prepares the spare segment for the next roll if it is missing; returns true when one was
/// created.
pub(crate) fn prepare_next(shared: &Shared) -> Result<bool, StoreError> {
    let log = &shared.commit_log;
    log.segments().prepare_spare(
        log.next_segment_start(),
        shared.config.warm_mapped_file_enable,
    )
}

/// Body of the preallocation thread.
pub(crate) fn run(shared: Arc<Shared>) {
    let mut last_failure: Option<Instant> = None;
    while !shared.stopping.load(Ordering::Acquire) {
        // Not while writes are refused for a full disk: a spare would take the last space.
        if !shared.disk_full.load(Ordering::Acquire)
            && last_failure.is_none_or(|t| t.elapsed() > Duration::from_secs(5))
        {
            let started = Instant::now();
            match prepare_next(&shared) {
                Ok(true) => {
                    tracing::debug!(
                        elapsed_us = started.elapsed().as_micros() as u64,
                        "prepared the next commit-log segment"
                    );
                    last_failure = None;
                }
                Ok(false) => last_failure = None,
                Err(e) => {
                    tracing::warn!(error = %e, "preparing the next commit-log segment failed; retrying in 5 s");
                    last_failure = Some(Instant::now());
                }
            }
        }
        std::thread::park_timeout(Duration::from_secs(1));
    }
}
