//! Retention and full-disk protection (Java `CleanCommitLogService`, `CleanConsumeQueueService`,
//! `IndexService.deleteExpiredFile`), on the `ferromq-clean` thread.
//!
//! * Disk usage of the commit-log and store directories is checked every second (or every
//!   `cleanResourceInterval` when shorter). Above `diskSpaceWarningLevelRatio` (90 %) the store
//!   refuses puts (`SERVICE_NOT_AVAILABLE`) and takes them again as soon as usage drops below.
//! * Every `cleanResourceInterval` (10 s), commit-log segments are deleted, oldest first and
//!   never the one being written, when it is the hour of `deleteWhen` ("04"), or disk usage is
//!   above `diskMaxUsedSpaceRatio` (75 %), or an admin asked (`deleteExpiredCommitLog`: the
//!   next 20 rounds). A segment goes when its file is older than `fileReservedTime` (72 h), or
//!   whatever its age when usage is above `diskSpaceCleanForciblyRatio` (85 %); at most
//!   `deleteFileBatchMax` (10) per round.
//! * Then consume-queue files and index files whose entries all point below the new commit-log
//!   start are deleted and queue min offsets move up, so a pull below them is answered with
//!   the new minimum (`PULL_OFFSET_MOVED`).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::mapped_file::local_hour;
use crate::store::Shared;
use crate::StoreError;

/// Rounds of deletion an admin request buys (Java `MAX_MANUAL_DELETE_FILE_TIMES`).
pub(crate) const MANUAL_DELETE_ROUNDS: u32 = 20;

/// A disk-usage reader: the used share (0.0-1.0) of the file system holding a path.
pub type DiskUsageFn = dyn Fn(&Path) -> Option<f64> + Send + Sync;

/// Where disk usage comes from.
#[derive(Clone, Default)]
pub(crate) enum DiskUsageSource {
    /// `statvfs` of the directory, as Java's `getDiskPartitionSpaceUsedPercent`.
    #[default]
    FileSystem,
    /// A function set by the embedding program or a test.
    Custom(Arc<DiskUsageFn>),
}

/// Used share of the file system holding `path`: `(total - free) / total`.
fn file_system_usage(path: &Path) -> Option<f64> {
    let stats = fs4::statvfs(path).ok()?;
    let total = stats.total_space();
    if total == 0 {
        return None;
    }
    Some(total.saturating_sub(stats.free_space()) as f64 / total as f64)
}

/// The usage ratio for `path`: the test override file when configured and readable, else the
/// configured source.
pub(crate) fn disk_usage(shared: &Shared, path: &Path) -> Option<f64> {
    if let Some(file) = &shared.config.debug_disk_usage_file {
        if let Some(v) = std::fs::read_to_string(file)
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok())
        {
            return Some(if v > 1.0 { v / 100.0 } else { v });
        }
    }
    let source = shared.disk_usage.read().clone();
    match source {
        DiskUsageSource::FileSystem => file_system_usage(path),
        DiskUsageSource::Custom(f) => f(path),
    }
}

/// What one disk check found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DiskState {
    /// Highest usage of the store's directories (0.0-1.0); `None` when unknown.
    pub(crate) ratio: Option<f64>,
    /// Above `diskMaxUsedSpaceRatio`: delete expired files whatever the hour.
    pub(crate) over_max: bool,
    /// Above `diskSpaceCleanForciblyRatio`: delete files even before they expire.
    pub(crate) clean_at_once: bool,
}

/// Measures disk usage and raises or clears the disk-full flag (logged on change).
pub(crate) fn check_disk(shared: &Shared) -> DiskState {
    let c = &shared.config;
    let log_dir = c.commit_log_dir();
    let ratio = [log_dir.as_path(), c.store_path_root_dir.as_path()]
        .into_iter()
        .filter_map(|p| disk_usage(shared, p))
        .fold(None, |acc: Option<f64>, r| {
            Some(acc.map_or(r, |a| a.max(r)))
        });
    let pct = |v: u32| f64::from(v) / 100.0;
    let Some(r) = ratio else {
        return DiskState {
            ratio,
            over_max: false,
            clean_at_once: false,
        };
    };
    let full = r > pct(c.disk_space_warning_level_ratio);
    let was_full = shared.disk_full.swap(full, Ordering::AcqRel);
    if full && !was_full {
        tracing::error!(
            usage = r,
            limit = pct(c.disk_space_warning_level_ratio),
            "disk nearly full: the store refuses writes until space is freed"
        );
    } else if !full && was_full {
        tracing::info!(
            usage = r,
            "disk space is back: the store takes writes again"
        );
    }
    DiskState {
        ratio,
        over_max: r > pct(shared.tunables.disk_max_used_space_ratio()),
        clean_at_once: r > pct(c.disk_space_clean_forcibly_ratio),
    }
}

/// Java `UtilAll.isItTimeToDo`: the current local hour is one of `when` (`"04"`, `"04;16"`).
pub(crate) fn is_time_to_delete(when: &str, now_ms: i64) -> bool {
    let hour = local_hour(now_ms);
    when.split(';')
        .filter_map(|h| h.trim().parse::<u32>().ok())
        .any(|h| h == hour)
}

/// What one retention round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cleaned {
    pub(crate) segments: usize,
    pub(crate) queue_files: usize,
    pub(crate) index_files: usize,
}

/// One retention round: commit-log segments when due (or `asked`, by an admin), then the
/// consume-queue and index files behind the commit log's start.
pub(crate) fn clean_round(shared: &Shared, asked: bool) -> Result<Cleaned, StoreError> {
    let disk = check_disk(shared);
    let c = &shared.config;
    let time_up = is_time_to_delete(&shared.tunables.delete_when(), ferromq_common::now_millis());
    let manual = asked;
    let mut done = Cleaned::default();
    if time_up || disk.over_max || manual {
        let at_once = c.clean_file_forcibly_enable && disk.clean_at_once;
        let reserve_ms = shared
            .tunables
            .file_reserved_time_hours()
            .saturating_mul(3_600_000);
        let keep_from = shared
            .reput_offset
            .load(Ordering::Acquire)
            .min(shared.commit_log.flushed_offset());
        done.segments = shared.commit_log.delete_expired(
            reserve_ms,
            at_once,
            c.delete_file_batch_max.max(1),
            keep_from,
        )?;
        if done.segments == 0 && disk.over_max {
            tracing::warn!(usage = ?disk.ratio, "disk space will be full soon, but no file could be deleted");
        }
    }
    let (queue_files, index_files) = clean_derived(shared)?;
    done.queue_files = queue_files;
    done.index_files = index_files;
    if done != Cleaned::default() {
        tracing::info!(
            segments = done.segments,
            queue_files = done.queue_files,
            index_files = done.index_files,
            commit_log_min = shared.commit_log.min_offset(),
            time_up,
            manual,
            usage = ?disk.ratio,
            "retention deleted files"
        );
    }
    Ok(done)
}

/// Deletes consume-queue and index files behind the commit log's first offset and moves queue
/// min offsets up. Returns (queue files, index files) deleted.
pub(crate) fn clean_derived(shared: &Shared) -> Result<(usize, usize), StoreError> {
    let log_min = shared.commit_log.min_offset();
    let mut queue_files = 0;
    for cq in shared.queues.all() {
        queue_files += cq.delete_expired(log_min)?;
    }
    let index_files = shared.index.delete_expired(log_min)?;
    Ok((queue_files, index_files))
}

/// Body of the retention thread.
pub(crate) fn run(shared: Arc<Shared>) {
    let interval = Duration::from_millis(shared.config.clean_resource_interval_ms.max(10));
    let check_every = interval.min(Duration::from_secs(1));
    let mut last_round = Instant::now();
    while !shared.stopping.load(Ordering::Acquire) {
        std::thread::park_timeout(check_every);
        if shared.stopping.load(Ordering::Acquire) {
            break;
        }
        let requested = shared
            .manual_delete_rounds
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok();
        if last_round.elapsed() >= interval || requested {
            last_round = Instant::now();
            if let Err(e) = clean_round(&shared, requested) {
                tracing::error!(error = %e, "retention round failed");
            }
        } else {
            check_disk(&shared);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_when_lists_hours() {
        let now = ferromq_common::now_millis();
        let hour = local_hour(now);
        assert!(is_time_to_delete(&format!("{hour:02}"), now));
        assert!(is_time_to_delete(&format!("99;{hour}"), now));
        assert!(!is_time_to_delete(&format!("{:02}", (hour + 1) % 24), now));
        assert!(!is_time_to_delete("", now));
    }

    #[test]
    fn file_system_usage_is_a_ratio() {
        let r = file_system_usage(Path::new("/")).unwrap();
        assert!((0.0..=1.0).contains(&r), "{r}");
    }
}
