//! The commit log: every message of every topic, appended to mmap'd segments of
//! `mapped_file_size_commit_log` bytes named by their 20-digit start offset. It is the source of
//! truth; consume queues are derived from it.
//!
//! * [`append`]: the single writer (a mutex held around encode + memcpy) that assigns physical
//!   and queue offsets and rolls segments with the BLANK filler;
//! * [`recovery`]: finds the end of valid data after a restart;
//! * this file: reads, offsets and flushing.
//!
//! ```text
//! segment 00000000000000000000           segment 00000000001073741824
//! +--------+--------+-----+-------------+ +--------+----
//! | record | record | ... | BLANK filler| | record | ...
//! +--------+--------+-----+-------------+ +--------+----
//!                          TOTALSIZE = rest of file, MAGIC = 0xCBD43194
//! ```
//!
//! Segments are reserved on disk whole when they are created ([`Reserve::Whole`]), unlike the
//! consume queues: a put writes straight into the mapping under the append lock, and a send is
//! never acknowledged into space the disk does not have. With the preallocation thread that is
//! the active segment and the next one; a full disk shows up as `CreateMappedFileFailed` at the
//! roll, never as a SIGBUS in the middle of a record.

pub(crate) mod append;
pub(crate) mod recovery;
pub(crate) mod replica;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use ferromq_proto::message::record::{
    peek_size_and_magic, store_timestamp_pos, MIN_RECORD_SIZE, POS_SYS_FLAG,
};
use ferromq_proto::message::{MAGIC_V1, MAGIC_V2};
use parking_lot::Mutex;

use crate::mapped_file::{MappedFile, MappedFileWriter, Reserve};
use crate::segments::Segments;
use crate::{QueueOffsets, StoreError};

/// Every record leaves at least this many bytes in its segment, for the BLANK filler.
pub(crate) const END_FILE_MIN_BLANK_LENGTH: usize = 8;
/// Flushed log bytes that stay mapped in (the hot tail consumers read right after a send).
pub(crate) const RESIDENT_TAIL: usize = 4 << 20;

/// State of the append path, guarded by one mutex.
#[derive(Debug, Default)]
pub(crate) struct AppendState {
    /// Writer of the last segment; `None` before the first segment exists.
    pub(crate) writer: Option<MappedFileWriter>,
    /// Next queue offset per topic and queue id.
    pub(crate) queue_offsets: QueueOffsets,
}

/// The commit log.
#[derive(Debug)]
pub(crate) struct CommitLog {
    segments: Segments,
    append: Mutex<AppendState>,
    /// Offset just past the last published record.
    max_offset: AtomicI64,
    /// Offset up to which data is known to be on disk.
    flushed: AtomicI64,
    /// Store time of the last record appended.
    last_store_timestamp: AtomicI64,
    flush_lock: Mutex<()>,
    max_record_size: usize,
    /// Set when a put started a new segment: the preallocator should prepare the next one.
    rolled: AtomicBool,
    /// Flushed log bytes behind the head left in the page cache; 0 leaves it to the kernel
    /// (`commitLogPageCacheMb`, see [`Self::flush`]).
    page_cache_window: usize,
    /// Wall-clock ms at which the append in progress took the lock; 0 when none holds it
    /// (Java `CommitLog.beginTimeInLock`, read by the broker's page-cache busy check).
    pub(crate) lock_begin_ms: AtomicI64,
}

impl CommitLog {
    /// Maps the segments in `dir`; nothing is readable until [`Self::recover`] ran.
    pub(crate) fn open(
        dir: &std::path::Path,
        file_size: usize,
        max_record_size: usize,
        page_cache_window: usize,
    ) -> Result<Self, StoreError> {
        Ok(CommitLog {
            segments: Segments::load(dir, file_size, Reserve::Whole)?,
            append: Mutex::new(AppendState::default()),
            max_offset: AtomicI64::new(0),
            flushed: AtomicI64::new(0),
            last_store_timestamp: AtomicI64::new(0),
            flush_lock: Mutex::new(()),
            max_record_size,
            rolled: AtomicBool::new(false),
            page_cache_window,
            lock_begin_ms: AtomicI64::new(0),
        })
    }

    pub(crate) fn segments(&self) -> &Segments {
        &self.segments
    }

    /// Offset of the first byte kept.
    pub(crate) fn min_offset(&self) -> i64 {
        self.segments.min_offset()
    }

    /// Offset just past the last record (where the next one goes).
    pub(crate) fn max_offset(&self) -> i64 {
        self.max_offset.load(Ordering::Acquire)
    }

    /// Offset up to which data is on disk.
    pub(crate) fn flushed_offset(&self) -> i64 {
        self.flushed.load(Ordering::Acquire)
    }

    /// Store time of the last record appended (0 before any).
    pub(crate) fn last_store_timestamp(&self) -> i64 {
        self.last_store_timestamp.load(Ordering::Relaxed)
    }

    /// Start of the segment after the one holding `offset`.
    pub(crate) fn roll_next(&self, offset: i64) -> i64 {
        self.segments.roll_next(offset)
    }

    /// Replaces the next queue offsets (after recovery rebuilt the consume queues).
    pub(crate) fn set_queue_offsets(&self, offsets: QueueOffsets) {
        self.append.lock().queue_offsets = offsets;
    }

    /// Forgets the queue offsets of `topic` (its queues were deleted).
    pub(crate) fn remove_queue_offsets(&self, topic: &str) {
        self.append.lock().queue_offsets.remove(topic);
    }

    fn locate(&self, offset: i64) -> Option<(Arc<MappedFile>, usize)> {
        let file = self.segments.find(offset)?;
        let pos = (offset - file.start()) as usize;
        Some((file, pos))
    }

    /// A zero-copy slice of `size` published bytes at `offset`; `None` when they are not all in
    /// one segment that still exists.
    pub(crate) fn read(&self, offset: i64, size: i32) -> Option<Bytes> {
        let size = usize::try_from(size).ok()?;
        let (file, pos) = self.locate(offset)?;
        file.bytes(pos, size)
    }

    /// The whole record starting at `offset`, or `None` when no record starts there (a BLANK
    /// filler, a bad magic, or data not written or already deleted).
    pub(crate) fn read_record(&self, offset: i64) -> Option<Bytes> {
        let (file, pos) = self.locate(offset)?;
        let (size, magic) = peek_size_and_magic(file.read(pos, 8)?)?;
        if magic != MAGIC_V1 && magic != MAGIC_V2 {
            return None;
        }
        let size = usize::try_from(size)
            .ok()
            .filter(|&s| s >= MIN_RECORD_SIZE)?;
        file.bytes(pos, size)
    }

    /// STORETIMESTAMP of the record at `offset`, if one is there.
    pub(crate) fn store_timestamp_at(&self, offset: i64) -> Option<i64> {
        let (file, pos) = self.locate(offset)?;
        let head = file.read(pos, POS_SYS_FLAG + 4)?;
        let (_, magic) = peek_size_and_magic(head)?;
        if magic != MAGIC_V1 && magic != MAGIC_V2 {
            return None;
        }
        let sys_flag = i32::from_be_bytes(head[POS_SYS_FLAG..POS_SYS_FLAG + 4].try_into().ok()?);
        let at = pos + store_timestamp_pos(sys_flag);
        Some(i64::from_be_bytes(file.read(at, 8)?.try_into().ok()?))
    }

    /// Writes everything appended so far to disk; returns the durable offset. Concurrent callers
    /// are serialized. Flushed bytes except the newest [`RESIDENT_TAIL`] stop counting towards
    /// the process's RSS.
    ///
    /// With a page-cache window (`commitLogPageCacheMb`), flushed bytes further behind the head
    /// than the window are also dropped from the kernel's page cache
    /// ([`MappedFile::drop_cached`]), so the cache the log holds stays about the window's size
    /// and the pages of new segments are the memory the old ones just gave back.
    pub(crate) fn flush(&self) -> Result<i64, StoreError> {
        let _guard = self.flush_lock.lock();
        let target = self.max_offset();
        let from = self.flushed_offset();
        if target <= from {
            return Ok(from);
        }
        // Never into the tail kept mapped for consumers.
        let cached_from = (self.page_cache_window > 0).then(|| {
            let window = i64::try_from(self.page_cache_window.max(RESIDENT_TAIL));
            target.saturating_sub(window.unwrap_or(i64::MAX))
        });
        for file in self.segments.snapshot() {
            if file.end() > from && file.start() < target {
                let durable = file
                    .flush()
                    .map_err(|e| StoreError::io("flush", file.path(), e))?;
                // Keep a little of the hot tail mapped for consumers that follow closely.
                if let Err(e) = file.release_resident(durable.saturating_sub(RESIDENT_TAIL)) {
                    tracing::debug!(error = %e, path = %file.path().display(), "madvise failed");
                }
            }
            if let Some(cached_from) = cached_from.filter(|&c| file.start() < c) {
                let upto = (cached_from - file.start()).min(file.size() as i64) as usize;
                if let Err(e) = file.drop_cached(upto) {
                    tracing::debug!(error = %e, path = %file.path().display(), "dropping cached pages failed");
                }
            }
        }
        self.flushed.fetch_max(target, Ordering::AcqRel);
        Ok(target)
    }

    /// Flushed log bytes behind the head that stay in the page cache (0: all of them, as the
    /// kernel sees fit).
    pub(crate) fn page_cache_window(&self) -> usize {
        self.page_cache_window
    }

    /// Drops every flushed page of every segment, except the newest [`RESIDENT_TAIL`] of the
    /// log, from the process's page tables, including pages consumers faulted back in after
    /// [`Self::flush`] released them (`crate::resident`).
    pub(crate) fn release_read(&self) -> Result<(), StoreError> {
        let tail_from = self.flushed_offset() - RESIDENT_TAIL as i64;
        for file in self.segments.snapshot() {
            let upto = (tail_from - file.start()).clamp(0, file.size() as i64) as usize;
            file.release_read(upto)
                .map_err(|e| StoreError::io("madvise", file.path(), e))?;
        }
        Ok(())
    }

    /// True (once) after a put started a new segment.
    pub(crate) fn take_rolled(&self) -> bool {
        self.rolled.load(Ordering::Relaxed) && self.rolled.swap(false, Ordering::AcqRel)
    }

    /// Start of the segment the next roll will create.
    pub(crate) fn next_segment_start(&self) -> i64 {
        match self.segments.last() {
            Some(last) => last.end(),
            None => {
                let max = self.max_offset();
                let size = self.segments.file_size() as i64;
                if max % size == 0 {
                    max
                } else {
                    self.segments.roll_next(max)
                }
            }
        }
    }

    /// Deletes leading segments last modified more than `reserve_ms` ago (any, with
    /// `at_once`), at most `max`, never the last one and none ending past `keep_from` (Java
    /// `deleteExpiredFileByTime`). Returns how many; the min offset moves to the first segment
    /// kept.
    pub(crate) fn delete_expired(
        &self,
        reserve_ms: u64,
        at_once: bool,
        max: usize,
        keep_from: i64,
    ) -> Result<usize, StoreError> {
        let now = std::time::SystemTime::now();
        let removed = self.segments.remove_leading(max, |f| {
            // Never data not yet on disk or not yet in the consume queues and index: it would
            // be gone before anyone could read it.
            if f.end() > keep_from {
                return false;
            }
            if at_once {
                return true;
            }
            let modified = std::fs::metadata(f.path()).and_then(|m| m.modified());
            match modified {
                Ok(t) => now
                    .duration_since(t)
                    .is_ok_and(|age| age.as_millis() >= u128::from(reserve_ms)),
                Err(_) => false,
            }
        })?;
        for f in &removed {
            tracing::info!(path = %f.path().display(), at_once, "deleted commit-log segment");
        }
        Ok(removed.len())
    }

    /// Bytes appended but not yet flushed.
    pub(crate) fn dirty_bytes(&self) -> i64 {
        self.max_offset() - self.flushed_offset()
    }
}
