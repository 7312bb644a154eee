//! Consume queues (`wire-protocol.md` 3.10): per (topic, queue id) a run of files of fixed
//! 20-byte units, derived from the commit log by the dispatcher. Unit number = queue offset.
//!
//! ```text
//! +--------------------------+-----------+------------------+
//! | commit-log offset: i64   | size: i32 | tags code: i64   |
//! +--------------------------+-----------+------------------+
//! ```
//! Files: `consumequeue/<topic>/<queueId>/<20-digit start byte offset>`. A queue that must start
//! past offset 0 (or has a hole) is padded with filler units `(0, i32::MAX, 0)`, as Java's
//! `fillPreBlank` does; readers skip them.
//!
//! Queue files are sparse: disk blocks are reserved (`fallocate`) in steps just ahead of the
//! writer, never the whole file up front ([`RESERVE_MAX_STEP`]). On a full disk the reservation
//! fails and [`ConsumeQueue::append`] returns the error with nothing written; the dispatcher then
//! stops writes as for any other disk failure. Recovery reserves one step past the position
//! it finds.

mod table;

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::mapped_file::{AppendError, MappedFile, MappedFileWriter, Reserve};
use crate::segments::Segments;
use crate::StoreError;

pub(crate) use table::ConsumeQueueTable;

/// Size of one unit.
pub const UNIT_SIZE: usize = 20;
const UNIT: i64 = UNIT_SIZE as i64;
/// Size field of a filler unit.
const FILLER_SIZE: i32 = i32::MAX;
/// Largest step in which a queue file's disk blocks are reserved ahead of its writer (see
/// [`Reserve::Steps`]): steps start at a page and double up to this, so a queue with a few
/// messages costs a page on disk instead of the whole file (6,000,000 bytes by default; a
/// 1,024-queue topic would reserve 6 GB), and a busy one calls `fallocate` once per 52,428
/// units.
pub(crate) const RESERVE_MAX_STEP: usize = 1 << 20;

/// One consume-queue unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unit {
    /// Commit-log offset of the message.
    pub(crate) offset: i64,
    /// Record size.
    pub(crate) size: i32,
    /// Tags code (or delivery time for delayed messages).
    pub(crate) tags_code: i64,
}

impl Unit {
    const FILLER: Unit = Unit {
        offset: 0,
        size: FILLER_SIZE,
        tags_code: 0,
    };

    /// Reads the unit at the start of `b` (which must hold 20 bytes; shorter gives a zero unit).
    pub(crate) fn read(b: &[u8]) -> Unit {
        let mut raw = [0u8; UNIT_SIZE];
        if let Some(src) = b.get(..UNIT_SIZE) {
            raw.copy_from_slice(src);
        }
        let (o, rest) = raw.split_at(8);
        let (s, t) = rest.split_at(4);
        Unit {
            offset: i64::from_be_bytes(o.try_into().unwrap_or_default()),
            size: i32::from_be_bytes(s.try_into().unwrap_or_default()),
            tags_code: i64::from_be_bytes(t.try_into().unwrap_or_default()),
        }
    }

    fn write(&self, dst: &mut [u8]) {
        dst[..8].copy_from_slice(&self.offset.to_be_bytes());
        dst[8..12].copy_from_slice(&self.size.to_be_bytes());
        dst[12..20].copy_from_slice(&self.tags_code.to_be_bytes());
    }

    /// True for a written unit (Java: `offset >= 0 && size > 0`); fillers included.
    pub(crate) fn is_written(&self) -> bool {
        self.offset >= 0 && self.size > 0
    }

    /// True for a padding unit that points at no message.
    pub(crate) fn is_filler(&self) -> bool {
        self.size == FILLER_SIZE
    }

    fn end(&self) -> i64 {
        self.offset + i64::from(self.size)
    }
}

/// One consume queue.
#[derive(Debug)]
pub(crate) struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    segments: Segments,
    /// Held only by the dispatcher (and recovery), so never contended.
    writer: Mutex<Option<MappedFileWriter>>,
    /// First valid byte offset.
    min_logical: AtomicI64,
    /// End (offset + size) of the last message unit: how far into the log this queue reaches.
    max_physical_end: AtomicI64,
}

impl ConsumeQueue {
    /// Maps the queue's files in `dir` (created if missing). Positions are set by [`Self::recover`].
    pub(crate) fn open(
        dir: &Path,
        topic: &str,
        queue_id: i32,
        file_size: usize,
    ) -> Result<Self, StoreError> {
        Ok(ConsumeQueue {
            topic: topic.to_owned(),
            queue_id,
            segments: Segments::load(dir, file_size, Reserve::Steps(RESERVE_MAX_STEP))?,
            writer: Mutex::new(None),
            min_logical: AtomicI64::new(0),
            max_physical_end: AtomicI64::new(-1),
        })
    }

    /// Finds the end of the written units in the last files, dropping units that point past
    /// `log_end` (the recovered commit-log end) and stale bytes after them, then sets the min
    /// offset from `log_min`. Returns the number of units dropped past `log_end`.
    pub(crate) fn recover(&self, log_min: i64, log_end: i64) -> Result<u64, StoreError> {
        let files = self.segments.snapshot();
        // The last three files, and further back while a file's first unit already points past
        // the log end (the log lost more than those files cover).
        let mut scan_from = files.len().saturating_sub(3);
        while scan_from > 0 {
            let first = files[scan_from]
                .take_writer()
                .and_then(|w| w.peek(0, UNIT_SIZE).map(Unit::read));
            match first {
                Some(u) if u.is_written() && !u.is_filler() && u.end() > log_end => scan_from -= 1,
                _ => break,
            }
        }
        let mut end = None;
        let mut dropped = 0u64;
        let mut last_writer = None;
        for (i, file) in files.iter().enumerate() {
            let mut w = file.take_writer().ok_or_else(|| busy(file))?;
            if i < scan_from {
                w.advance_to(file.size(), true);
                continue;
            }
            let mut pos = 0;
            while pos + UNIT_SIZE <= file.size() {
                let unit = w
                    .peek(pos, UNIT_SIZE)
                    .map(Unit::read)
                    .unwrap_or(Unit::FILLER);
                if !unit.is_written() {
                    break;
                }
                if !unit.is_filler() && unit.end() > log_end {
                    dropped += count_written(&w, pos, file.size());
                    break;
                }
                if !unit.is_filler() {
                    self.max_physical_end.store(unit.end(), Ordering::Relaxed);
                }
                pos += UNIT_SIZE;
            }
            w.advance_to(pos, true);
            w.zero_stale_tail();
            last_writer = Some(w);
            if pos < file.size() {
                end = Some(file.start() + pos as i64);
                break;
            }
        }
        if let Some(end) = end {
            for file in files.iter().filter(|f| f.start() > end) {
                if let Some(w) = file.take_writer() {
                    dropped += count_written(&w, 0, file.size());
                }
            }
            let removed = self.segments.remove_from(end + 1)?;
            if removed > 0 {
                tracing::warn!(topic = %self.topic, queue_id = self.queue_id, removed, "removed consume-queue files past the recovered end");
            }
        }
        if let Some(w) = last_writer.as_mut() {
            // Failing here is not fatal (a full disk must not keep the broker from starting to
            // serve reads): the next append reserves again and reports the error then.
            if let Err(e) = w.reserve_ahead() {
                tracing::warn!(path = %w.file().path().display(), error = %e, "cannot reserve disk space ahead of the consume-queue writer");
            }
        }
        *self.writer.lock() = last_writer;
        self.correct_min_offset(log_min);
        Ok(dropped)
    }

    /// Topic of the queue.
    pub(crate) fn topic(&self) -> &str {
        &self.topic
    }

    /// Queue id.
    pub(crate) fn queue_id(&self) -> i32 {
        self.queue_id
    }

    /// Deletes leading files (never the last) whose units all point below `log_min` (Java
    /// `ConsumeQueue.deleteExpiredFile`), then moves the min offset to the first unit whose
    /// message is still in the log. Returns how many files were deleted.
    pub(crate) fn delete_expired(&self, log_min: i64) -> Result<usize, StoreError> {
        let removed = self.segments.remove_leading(usize::MAX, |f| {
            let last = f
                .size()
                .checked_sub(UNIT_SIZE)
                .and_then(|at| f.read(at, UNIT_SIZE))
                .map(Unit::read);
            // A file whose last unit is a filler (or unreadable) is checked by its last real
            // unit; an all-filler file holds nothing worth keeping.
            match last {
                Some(u) if !u.is_filler() => u.end() <= log_min,
                _ => self.last_message_end(f).is_none_or(|end| end <= log_min),
            }
        })?;
        self.correct_min_offset(log_min);
        Ok(removed.len())
    }

    /// End of the last message unit in `file`, if any.
    fn last_message_end(&self, file: &MappedFile) -> Option<i64> {
        let written = file.wrote_position() / UNIT_SIZE;
        (0..written)
            .rev()
            .filter_map(|i| file.read(i * UNIT_SIZE, UNIT_SIZE).map(Unit::read))
            .find(|u| u.is_written() && !u.is_filler())
            .map(|u| u.end())
    }

    /// Sets the min offset to the first message unit whose data is still in the log.
    pub(crate) fn correct_min_offset(&self, log_min: i64) {
        let start = self.segments.min_offset();
        let max = self.segments.max_offset();
        let mut pos = start.max(self.min_logical.load(Ordering::Relaxed));
        while pos < max {
            match self.unit_at_byte(pos) {
                Some(u) if !u.is_filler() && u.offset >= log_min => break,
                Some(_) => pos += UNIT,
                None => pos = self.segments.roll_next(pos),
            }
        }
        self.min_logical.store(pos.min(max), Ordering::Release);
    }

    /// Queue offset of the first unit kept.
    pub(crate) fn min_offset(&self) -> i64 {
        self.min_logical.load(Ordering::Acquire) / UNIT
    }

    /// Next queue offset to be written (number of units, counting from 0).
    pub(crate) fn max_offset(&self) -> i64 {
        self.segments.max_offset() / UNIT
    }

    /// End of the log data the last unit points at, or -1 when empty.
    pub(crate) fn max_physical_end(&self) -> i64 {
        self.max_physical_end.load(Ordering::Acquire)
    }

    fn unit_at_byte(&self, pos: i64) -> Option<Unit> {
        let file = self.segments.find(pos)?;
        file.read((pos - file.start()) as usize, UNIT_SIZE)
            .map(Unit::read)
    }

    /// The unit at queue offset `offset`, if written.
    pub(crate) fn unit(&self, offset: i64) -> Option<Unit> {
        self.unit_at_byte(offset.checked_mul(UNIT)?)
    }

    /// The written units from queue offset `offset` to the end of its file: `None` when that file
    /// is missing.
    pub(crate) fn units_from(&self, offset: i64) -> Option<Bytes> {
        let pos = offset.checked_mul(UNIT)?;
        let file = self.segments.find(pos)?;
        let at = (pos - file.start()) as usize;
        file.bytes(at, file.wrote_position().checked_sub(at)?)
    }

    /// First queue offset of the file after the one holding `offset`.
    pub(crate) fn roll_next_file(&self, offset: i64) -> i64 {
        let per_file = (self.segments.file_size() / UNIT_SIZE) as i64;
        offset + per_file - offset.rem_euclid(per_file)
    }

    /// Appends the unit of the message at `queue_offset`. A unit already present (re-dispatch
    /// after recovery) is skipped, returning false; a gap is padded with filler units.
    pub(crate) fn append(&self, unit: Unit, queue_offset: i64) -> Result<bool, StoreError> {
        let expected = queue_offset.saturating_mul(UNIT);
        let mut guard = self.writer.lock();
        if guard.is_none() && self.segments.len() == 0 {
            let start = expected - expected.rem_euclid(self.segments.file_size() as i64);
            let file = self.segments.create(start)?;
            *guard = Some(file.take_writer().ok_or_else(|| busy(&file))?);
            self.min_logical.store(expected, Ordering::Release);
        }
        // The writer knows the end without touching the segment list.
        let mut current = match guard.as_ref() {
            Some(w) => w.file().start() + w.position() as i64,
            None => self.segments.max_offset(),
        };
        if expected < current {
            return Ok(false);
        }
        if expected > current {
            if self.max_physical_end() >= 0 {
                tracing::error!(topic = %self.topic, queue_id = self.queue_id, expected = queue_offset, current = current / UNIT, "consume queue gap, padding with filler units");
            }
            while current < expected {
                self.write_unit(&mut guard, Unit::FILLER)?;
                current += UNIT;
            }
        }
        self.write_unit(&mut guard, unit)?;
        self.max_physical_end.store(unit.end(), Ordering::Release);
        Ok(true)
    }

    fn write_unit(
        &self,
        guard: &mut Option<MappedFileWriter>,
        unit: Unit,
    ) -> Result<(), StoreError> {
        let needs_roll = guard.as_ref().is_none_or(|w| w.remaining() < UNIT_SIZE);
        if needs_roll {
            let start = match self.segments.last() {
                Some(last) if last.is_full() => last.end(),
                Some(last) => {
                    // A writer was dropped (not expected); take the last file's writer again.
                    *guard = None;
                    *guard = Some(last.take_writer().ok_or_else(|| busy(&last))?);
                    return self.write_unit(guard, unit);
                }
                None => 0,
            };
            let file = self.segments.create(start)?;
            *guard = Some(file.take_writer().ok_or_else(|| busy(&file))?);
        }
        let w = guard.as_mut().ok_or_else(|| StoreError::Corrupt {
            path: self.segments.dir().to_path_buf(),
            reason: "consume queue has no writable file".to_owned(),
        })?;
        w.append(UNIT_SIZE, |dst| unit.write(dst))
            .map_err(|e| match e {
                AppendError::Reserve(source) => {
                    StoreError::io("reserve disk space in", w.file().path(), source)
                }
                AppendError::NoRoom => StoreError::Corrupt {
                    path: w.file().path().to_path_buf(),
                    reason: "consume-queue file full after a roll".to_owned(),
                },
            })
    }

    /// Flushes dirty files.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        for file in self.segments.snapshot() {
            if file.dirty_bytes() > 0 {
                file.flush()
                    .map_err(|e| StoreError::io("flush", file.path(), e))?;
            }
        }
        Ok(())
    }

    /// Drops the flushed pages of every file of the queue from the process's page tables
    /// (`crate::resident`); the page the writer is filling stays.
    pub(crate) fn release_resident(&self) -> Result<(), StoreError> {
        for file in self.segments.snapshot() {
            file.release_read(file.flushed_position())
                .map_err(|e| StoreError::io("madvise", file.path(), e))?;
        }
        Ok(())
    }

    /// Deletes all files of the queue.
    pub(crate) fn destroy(&self) -> Result<(), StoreError> {
        *self.writer.lock() = None;
        self.segments.remove_all()
    }
}

fn busy(file: &MappedFile) -> StoreError {
    StoreError::Corrupt {
        path: file.path().to_path_buf(),
        reason: "file already has a writer".to_owned(),
    }
}

fn count_written(w: &MappedFileWriter, from: usize, size: usize) -> u64 {
    (from..size)
        .step_by(UNIT_SIZE)
        .take_while(|&p| {
            w.peek(p, UNIT_SIZE)
                .map(Unit::read)
                .is_some_and(|u| u.is_written())
        })
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(offset: i64) -> Unit {
        Unit {
            offset,
            size: 100,
            tags_code: 7,
        }
    }

    #[test]
    fn appends_span_files_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::open(dir.path(), "T", 0, 4 * UNIT_SIZE).unwrap();
        for i in 0..10 {
            assert!(cq.append(unit(i * 100), i).unwrap());
        }
        assert!(!cq.append(unit(0), 3).unwrap(), "re-dispatch is skipped");
        assert_eq!((cq.min_offset(), cq.max_offset()), (0, 10));
        assert_eq!(cq.segments.len(), 3);
        assert_eq!(cq.unit(9), Some(unit(900)));
        assert_eq!(cq.unit(10), None);
        assert_eq!(cq.units_from(5).unwrap().len(), 3 * UNIT_SIZE);
        assert_eq!(cq.units_from(8).unwrap().len(), 2 * UNIT_SIZE);
        assert_eq!(cq.roll_next_file(5), 8);
        assert_eq!(cq.max_physical_end(), 1000);
    }

    #[test]
    fn late_start_and_gaps_are_padded() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::open(dir.path(), "T", 0, 4 * UNIT_SIZE).unwrap();
        cq.append(unit(500), 6).unwrap();
        assert_eq!((cq.min_offset(), cq.max_offset()), (6, 7));
        assert!(
            cq.units_from(0).is_none(),
            "file of offsets 0..4 does not exist"
        );
        assert!(cq.unit(4).unwrap().is_filler());
        cq.append(unit(900), 9).unwrap();
        assert!(cq.unit(8).unwrap().is_filler());
        assert_eq!(cq.unit(9), Some(unit(900)));
    }

    #[test]
    fn recovery_finds_the_end_and_drops_units_past_the_log() {
        let dir = tempfile::tempdir().unwrap();
        {
            let cq = ConsumeQueue::open(dir.path(), "T", 1, 4 * UNIT_SIZE).unwrap();
            for i in 0..10 {
                cq.append(unit(i * 100), i).unwrap();
            }
        }
        let cq = ConsumeQueue::open(dir.path(), "T", 1, 4 * UNIT_SIZE).unwrap();
        assert_eq!(cq.recover(0, 10_000).unwrap(), 0);
        assert_eq!(cq.max_offset(), 10);
        drop(cq);
        let cq = ConsumeQueue::open(dir.path(), "T", 1, 4 * UNIT_SIZE).unwrap();
        // The log now ends at 750: units 7.. (ending at 800 and beyond) go.
        assert_eq!(cq.recover(200, 750).unwrap(), 3);
        assert_eq!((cq.min_offset(), cq.max_offset()), (2, 7));
        assert_eq!(cq.max_physical_end(), 700);
        assert!(cq.unit(7).is_none());
        // Appending continues at 7 and a later recovery does not resurrect old units.
        cq.append(unit(700), 7).unwrap();
        drop(cq);
        let cq = ConsumeQueue::open(dir.path(), "T", 1, 4 * UNIT_SIZE).unwrap();
        cq.recover(0, 10_000).unwrap();
        assert_eq!(cq.max_offset(), 8);
        assert_eq!(cq.segments.len(), 2);
    }
}
