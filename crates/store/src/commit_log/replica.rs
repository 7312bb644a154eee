//! The commit log as a replica sees it: shipping whole records out of a master's log, and
//! appending a master's bytes verbatim on a slave. The bytes, their offsets and the segment
//! boundaries are identical on both sides, so a slave's log is the master's log (its records
//! carry the master's physical offsets, store host and store times) and everything derived from
//! it (consume queues, index) is rebuilt by the slave's own dispatch.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use ferromq_proto::message::record::{peek_size_and_magic, MIN_RECORD_SIZE, POS_PHYSICAL_OFFSET};
use ferromq_proto::message::{MAGIC_BLANK, MAGIC_V1, MAGIC_V2};

use super::{CommitLog, END_FILE_MIN_BLANK_LENGTH};

/// Why bytes could not be shipped or appended; the text says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicaError {
    /// The offset asked for is not one a record starts at.
    #[error("offset {offset} is not the start of a record in this commit log ({reason})")]
    NotARecordStart { offset: i64, reason: String },
    /// The offset is before the first byte kept.
    #[error(
        "offset {offset} is before the first byte kept ({min}): the data was deleted by retention"
    )]
    Deleted { offset: i64, min: i64 },
    /// The offset is past the end of the log.
    #[error("offset {offset} is past the end of this commit log ({max})")]
    PastEnd { offset: i64, max: i64 },
    /// Appended bytes must continue the log exactly.
    #[error("replicated bytes start at {offset}, but this commit log ends at {max}")]
    Gap { offset: i64, max: i64 },
    /// The bytes shipped are not whole, well-formed records of one segment.
    #[error("replicated bytes at {offset} are malformed: {reason}")]
    Malformed { offset: i64, reason: String },
    /// Writing to the local disk failed.
    #[error("writing replicated bytes failed: {0}")]
    Write(String),
}

impl CommitLog {
    /// Whole records (and a segment's BLANK filler) starting at `offset`, at most `max_bytes`
    /// of them but always at least one record, all inside one segment; `Ok(None)` when
    /// `offset` is the end of the log. A zero-copy slice of the mapping.
    pub(crate) fn read_for_replica(
        &self,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Option<Bytes>, ReplicaError> {
        let max = self.max_offset();
        if offset == max {
            return Ok(None);
        }
        if offset > max {
            return Err(ReplicaError::PastEnd { offset, max });
        }
        let min = self.min_offset();
        if offset < min {
            return Err(ReplicaError::Deleted { offset, min });
        }
        let not_start = |reason: &str| ReplicaError::NotARecordStart {
            offset,
            reason: reason.to_owned(),
        };
        let Some(file) = self.segments().find(offset) else {
            return Err(not_start("no segment holds it"));
        };
        let published = (max.min(file.end()) - file.start()) as usize;
        let first = (offset - file.start()) as usize;
        let mut pos = first;
        while pos < published {
            let Some((size, magic)) = file.read(pos, 8).and_then(peek_size_and_magic) else {
                break;
            };
            let Ok(size) = usize::try_from(size) else {
                return Err(not_start("negative record size"));
            };
            let valid = match magic {
                MAGIC_BLANK => pos + size == file.size(),
                MAGIC_V1 | MAGIC_V2 => {
                    size >= MIN_RECORD_SIZE
                        && pos + size <= published
                        && record_offset(file.read(pos, POS_PHYSICAL_OFFSET + 8))
                            == Some(file.start() + pos as i64)
                }
                _ => false,
            };
            if !valid {
                if pos == first {
                    return Err(not_start("no record header there"));
                }
                break;
            }
            if pos > first && pos + size - first > max_bytes {
                break;
            }
            pos += size;
        }
        if pos == first {
            // Fewer than 8 bytes left in the segment: the zero tail a roll leaves.
            if file.size() - first < END_FILE_MIN_BLANK_LENGTH && max >= file.end() {
                return Err(not_start("inside a segment's tail"));
            }
            return Ok(None);
        }
        Ok(file.bytes(first, pos - first))
    }

    /// Appends `data`, shipped by a master from its offset `offset`, verbatim. `offset` must be
    /// this log's end; `data` must be whole records of one segment (the last may be the BLANK
    /// filler), each carrying its own physical offset. An empty log starts at `offset` (which
    /// must then be a segment start). Returns the new end of the log.
    pub(crate) fn append_replicated(&self, offset: i64, data: &[u8]) -> Result<i64, ReplicaError> {
        let mut st = self.append.lock();
        let max = self.max_offset();
        let file_size = self.segments().file_size() as i64;
        let empty = self.segments().last().is_none();
        if empty {
            if offset % file_size != 0 && offset != max {
                return Err(ReplicaError::Gap { offset, max });
            }
            if offset != max {
                self.max_offset.store(offset, Ordering::Release);
            }
        } else if offset != max {
            return Err(ReplicaError::Gap { offset, max });
        }
        let seg_pos = offset % file_size;
        check_records(offset, seg_pos as usize, file_size as usize, data)?;
        let needs_segment = st
            .writer
            .as_ref()
            .is_none_or(|w| w.remaining() == 0 || w.file().end() <= offset);
        if needs_segment {
            if seg_pos != 0 {
                return Err(ReplicaError::Malformed {
                    offset,
                    reason: "data for a new segment does not start at its beginning".into(),
                });
            }
            let file = self
                .segments()
                .create(offset)
                .map_err(|e| ReplicaError::Write(e.to_string()))?;
            st.writer = file.take_writer();
            self.rolled.store(true, Ordering::Release);
        }
        let w = st
            .writer
            .as_mut()
            .ok_or_else(|| ReplicaError::Write("no writable segment".into()))?;
        if w.file().start() + w.position() as i64 != offset {
            return Err(ReplicaError::Gap {
                offset,
                max: w.file().start() + w.position() as i64,
            });
        }
        w.append(data.len(), |dst| dst.copy_from_slice(data))
            .map_err(|e| ReplicaError::Write(e.to_string()))?;
        let end = offset + data.len() as i64;
        self.max_offset.store(end, Ordering::Release);
        Ok(end)
    }
}

/// The PHYSICALOFFSET field of a record header.
fn record_offset(head: Option<&[u8]>) -> Option<i64> {
    let b = head?.get(POS_PHYSICAL_OFFSET..POS_PHYSICAL_OFFSET + 8)?;
    Some(i64::from_be_bytes(b.try_into().ok()?))
}

/// Checks that `data` (starting at log offset `offset`, position `seg_pos` of its segment) is a
/// run of whole records, each knowing its own offset, optionally ending with the BLANK filler
/// that closes the segment.
fn check_records(
    offset: i64,
    seg_pos: usize,
    file_size: usize,
    data: &[u8],
) -> Result<(), ReplicaError> {
    let bad = |at: usize, reason: String| ReplicaError::Malformed {
        offset: offset + at as i64,
        reason,
    };
    if data.is_empty() {
        return Err(bad(0, "no bytes".into()));
    }
    if seg_pos + data.len() > file_size {
        return Err(bad(0, "the bytes run past the end of their segment".into()));
    }
    let mut at = 0;
    while at < data.len() {
        let Some((size, magic)) = data.get(at..).and_then(peek_size_and_magic) else {
            return Err(bad(at, "truncated record header".into()));
        };
        let size = usize::try_from(size).map_err(|_| bad(at, "negative size".into()))?;
        match magic {
            MAGIC_BLANK => {
                if seg_pos + at + size != file_size || at + size != data.len() {
                    return Err(bad(
                        at,
                        "a BLANK filler that does not end the segment".into(),
                    ));
                }
            }
            MAGIC_V1 | MAGIC_V2 => {
                if size < MIN_RECORD_SIZE || at + size > data.len() {
                    return Err(bad(at, format!("record size {size} does not fit")));
                }
                let want = offset + at as i64;
                if record_offset(data.get(at..)) != Some(want) {
                    return Err(bad(
                        at,
                        "the record's physical offset is not where it is placed".into(),
                    ));
                }
            }
            other => return Err(bad(at, format!("bad magic {other:#x}"))),
        }
        at += size;
    }
    Ok(())
}
