//! Keeps the mapped store files from piling up in the process's RSS: the `ferromq-resident`
//! thread.
//!
//! Every store file is mapped, and a page stays in the process's page tables (its file-backed
//! RSS, `RssFile`) from the first access until the mapping goes away. The commit-log writer
//! already drops what it flushed ([`crate::commit_log::CommitLog::flush`]), but three kinds of
//! access are nobody's to release:
//!
//! * consumers draining a backlog fault the old commit-log segments back in, page by page (a
//!   1 GB backlog left 1.24 GB of RSS);
//! * consume-queue files, written and read in 20-byte units;
//! * index files, whose hash slots are written at random: over a long run every page of the
//!   slot table, and every entry page written, is touched (426 MB after 9 million messages).
//!
//! The thread reads the process's file-backed RSS (`/proc/self/statm`) every [`PERIOD`]; when it is above
//! `mappedResidentLimitMb` it drops *every* page of those mappings that is not at a write tail
//! from the page tables (`MADV_DONTNEED`, see [`crate::mapped_file::release_pages`]): commit-log
//! segments up to their flushed position (less the hot tail of the last one), consume-queue
//! files up to theirs, index files whole. The data stays in the page cache, so a later read is
//! a minor fault, not disk I/O; the store's RSS then falls to a few MiB and grows again as pages
//! are read. Nothing is tracked on the put and get paths: the cost is one `pread` of
//! `/proc/self/statm` per period, and a pass of `madvise` calls (about one per file) when over the limit.
//!
//! After a pass that left the RSS above the limit (pages that are not the store's: the binary,
//! other mappings), the next one waits until it grew by a quarter of the limit more, so a limit
//! set below what cannot be released does not make the thread spin.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::mapped_file::page_size;
use crate::store::Shared;
use crate::StoreError;

/// How often the file-backed RSS is read. Consumers can fault in a few hundred MB/s, so the
/// RSS may pass the limit by about that much per second times the period.
pub(crate) const PERIOD: Duration = Duration::from_millis(100);

/// Reads the process's file-backed resident memory: the third field of `/proc/self/statm`
/// (`RssFile` + `RssShmem`, in pages), from a descriptor kept open and read at offset 0 into a
/// buffer on the stack, so a look costs one system call and no allocation.
pub(crate) struct RssReader {
    statm: File,
    page: u64,
}

impl RssReader {
    /// `None` where there is no `/proc/self/statm` (not Linux).
    pub(crate) fn open() -> Option<RssReader> {
        let statm = File::open("/proc/self/statm").ok()?;
        Some(RssReader {
            statm,
            page: page_size() as u64,
        })
    }

    /// File-backed (and shared-memory) RSS in bytes; `None` when the file cannot be read.
    pub(crate) fn file_backed(&self) -> Option<u64> {
        let mut buf = [0u8; 128];
        let n = self.statm.read_at(&mut buf, 0).ok()?;
        statm_shared_pages(buf.get(..n)?).map(|pages| pages * self.page)
    }
}

/// The third field (resident shared pages) of the text of a `statm` file.
fn statm_shared_pages(statm: &[u8]) -> Option<u64> {
    let field = statm.split(|&b| b == b' ').nth(2)?;
    std::str::from_utf8(field).ok()?.trim().parse().ok()
}

/// Drops the pages of every store mapping that are not at a write tail from the process's page
/// tables (module docs). Errors (a failed `madvise`) leave the rest of the pass undone.
pub(crate) fn release_all(shared: &Shared) -> Result<(), StoreError> {
    shared.commit_log.release_read()?;
    for cq in shared.queues.all() {
        cq.release_resident()?;
    }
    shared.index.release_resident()
}

/// When a pass is due: above the limit, and, after a pass that could not get below it, a
/// quarter of the limit above what that pass left.
fn over(rss: u64, limit: u64, left: u64) -> bool {
    rss > limit && rss > left.saturating_add(limit / 4)
}

/// Decides, reading after reading, when a pass is due ([`over`]), with what the last pass left
/// as the floor. The floor follows the RSS down between passes: a pass that ran while the
/// writer's pages were not yet flushed leaves a high floor, the writer then releases them
/// itself, and a consumer reading the log back in must start a pass again once it grew past the
/// lower level (with a floor kept high, a whole backlog read back in could stay resident).
struct Pacer {
    limit: u64,
    floor: u64,
}

impl Pacer {
    fn new(limit: u64) -> Pacer {
        Pacer { limit, floor: 0 }
    }

    fn due(&mut self, rss: u64) -> bool {
        self.floor = self.floor.min(rss);
        over(rss, self.limit, self.floor)
    }

    fn passed(&mut self, left: u64) {
        self.floor = left;
    }
}

/// Body of the `ferromq-resident` thread (started when `mappedResidentLimitMb` is not 0).
pub(crate) fn run(shared: Arc<Shared>) {
    let limit = shared
        .config
        .mapped_resident_limit_mb
        .saturating_mul(1 << 20);
    let mut pacer = Pacer::new(limit);
    let mut warned = false;
    let Some(reader) = RssReader::open() else {
        tracing::info!("no /proc/self/statm: mapped store pages read back in are not released");
        return;
    };
    while !shared.stopping.load(Ordering::Acquire) {
        std::thread::park_timeout(PERIOD);
        let Some(rss) = reader.file_backed() else {
            continue;
        };
        if !pacer.due(rss) {
            continue;
        }
        let started = Instant::now();
        if let Err(e) = release_all(&shared) {
            if !warned {
                tracing::warn!(error = %e, "releasing mapped store pages failed");
                warned = true;
            }
        }
        let left = reader.file_backed().unwrap_or(0);
        pacer.passed(left);
        tracing::debug!(
            before_mib = rss >> 20,
            after_mib = left >> 20,
            elapsed_us = started.elapsed().as_micros() as u64,
            "released mapped store pages"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_shared_pages_from_statm() {
        assert_eq!(
            statm_shared_pages(b"61441 2856 1536 1209 0 10770 0\n"),
            Some(1536)
        );
        assert_eq!(statm_shared_pages(b"61441 2856"), None);
        assert_eq!(statm_shared_pages(b""), None);
        if cfg!(target_os = "linux") {
            let r = RssReader::open().unwrap();
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            let kib = |f: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(f))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                    .unwrap()
            };
            let want = (kib("RssFile:") + kib("RssShmem:")) * 1024;
            let got = r.file_backed().unwrap();
            // Read twice through the same descriptor; the test binary's pages barely move.
            assert!(got > 0 && got.abs_diff(want) < 8 << 20, "{got} vs {want}");
            assert!(r.file_backed().is_some());
        }
    }

    #[test]
    fn passes_wait_for_growth_past_what_the_last_one_left() {
        let mib = 1 << 20;
        assert!(!over(100 * mib, 128 * mib, 0));
        assert!(over(129 * mib, 128 * mib, 0));
        // The last pass got down to 20 MiB: any excess over the limit starts the next one.
        assert!(over(129 * mib, 128 * mib, 20 * mib));
        // It only got down to 150 MiB: wait for 150 + 32.
        assert!(!over(170 * mib, 128 * mib, 150 * mib));
        assert!(over(183 * mib, 128 * mib, 150 * mib));
    }

    #[test]
    fn the_floor_follows_the_rss_down_between_passes() {
        let mib = 1 << 20;
        let mut p = Pacer::new(mib);
        // A pass while 12 MiB were written and not yet flushed: it could release none of them.
        assert!(p.due(30 * mib));
        p.passed(30 * mib);
        assert!(!p.due(30 * mib));
        // The writer flushes and releases them itself; then a consumer reads 12 MiB back in.
        assert!(!p.due(18 * mib));
        assert!(p.due(30 * mib), "reads past the lower floor start a pass");
    }
}
