//! Segment preallocation (Java `AllocateMappedFileService`): the `ferromq-prealloc` thread keeps
//! the next commit-log segment created, reserved on disk, mapped and (with
//! `warmMapedFileEnable`) faulted in, so a put that rolls the log only takes it from
//! [`crate::segments::Segments`] instead of doing that file work under the append lock.
//!
//! While the log grows it also keeps the pages just ahead of the writer faulted in (8 MiB,
//! moved along every 50 ms), which takes the zeroing of fresh pages off the append path.
//!
//! The append path unparks the thread after every roll; it also looks every 50 ms. A failure
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
    let mut prefault = cfg!(target_os = "linux");
    let mut last_max = shared.commit_log.max_offset();
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
        // Only while the log grows: an idle broker keeps nothing extra resident.
        let max = shared.commit_log.max_offset();
        if prefault && max != last_max {
            last_max = max;
            if let Err(e) = prefault_ahead(&shared) {
                // Kernels before 5.14 lack MADV_POPULATE_WRITE: appends then fault as usual.
                tracing::info!(error = %e, "pre-faulting the commit log is not available");
                prefault = false;
            }
        }
        std::thread::park_timeout(PREFAULT_PERIOD);
    }
}

/// How far ahead of the writer the commit log is kept faulted in.
const PREFAULT_WINDOW: usize = 8 << 20;
/// How often the window is moved along.
const PREFAULT_PERIOD: Duration = Duration::from_millis(50);

/// Faults in the pages just ahead of the commit-log writer (see
/// [`crate::mapped_file::MappedFile::prefault_ahead`]).
fn prefault_ahead(shared: &Shared) -> std::io::Result<()> {
    let log = &shared.commit_log;
    match log.segments().find(log.max_offset()) {
        Some(file) => file.prefault_ahead(PREFAULT_WINDOW),
        None => Ok(()),
    }
}
