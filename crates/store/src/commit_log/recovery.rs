//! Finding the end of valid data after a restart (Java `CommitLog.recoverNormally` /
//! `recoverAbnormally`).
//!
//! The scan walks records from the start of a chosen segment: a record is valid when its magic
//! is a record version, its fields add up to TOTALSIZE, its PHYSICALOFFSET equals its position
//! and (optionally) its body CRC matches. A BLANK filler ends a segment; zeros end the log.
//! Anything else is a torn tail: the log ends there, stale bytes after it are cleared and later
//! segments are deleted.

use std::sync::atomic::Ordering;

use ferromq_proto::message::record::{peek_size_and_magic, RecordView};
use ferromq_proto::message::MAGIC_BLANK;

use super::CommitLog;
use crate::StoreError;

/// What recovery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogRecovered {
    /// Start of the first segment scanned (earlier ones were taken as complete).
    pub(crate) scanned_from: i64,
    /// Offset just past the last valid record.
    pub(crate) end: i64,
    /// Where an invalid record was found, and why.
    pub(crate) torn: Option<(i64, String)>,
    /// Stale bytes cleared after the end.
    pub(crate) cleared_bytes: usize,
    /// Segments deleted after the end.
    pub(crate) removed_files: usize,
    /// Records checked.
    pub(crate) records: u64,
}

enum Step {
    Record { size: usize, store_timestamp: i64 },
    EndOfFile,
    EndOfData,
    Invalid(String),
}

/// Classifies the bytes at `pos` of a segment that starts at log offset `start`: the real record
/// check recovery uses, over the segment's bytes (`seg` is the whole mapped file).
fn step(seg: &[u8], start: i64, pos: usize, check_crc: bool) -> Step {
    let size = seg.len();
    if pos.saturating_add(8) > size {
        return Step::EndOfFile;
    }
    let rest = &seg[pos..];
    let Some((total, magic)) = peek_size_and_magic(rest) else {
        return Step::EndOfFile;
    };
    if magic == MAGIC_BLANK {
        return if usize::try_from(total).ok() == Some(size - pos) {
            Step::EndOfFile
        } else {
            Step::Invalid(format!(
                "BLANK filler of {total} bytes with {} left",
                size - pos
            ))
        };
    }
    if total == 0 && magic == 0 {
        return Step::EndOfData;
    }
    match RecordView::parse(rest) {
        Err(e) => Step::Invalid(e.to_string()),
        Ok(v) if v.physical_offset != start + pos as i64 => Step::Invalid(format!(
            "PHYSICALOFFSET {} at position {}",
            v.physical_offset,
            start + pos as i64
        )),
        Ok(v) if check_crc && !v.body_crc_matches() => {
            Step::Invalid("body CRC mismatch".to_owned())
        }
        // The store ends every non-empty properties string with U+0002 (`Prepared`): a record
        // whose tail was never written shows zeros there.
        Ok(v) if !v.properties.is_empty() && !v.properties.ends_with('\u{2}') => {
            Step::Invalid("properties do not end with U+0002 (torn tail)".to_owned())
        }
        Ok(v) => Step::Record {
            size: v.len(),
            store_timestamp: v.store_timestamp,
        },
    }
}

/// How a segment's bytes scan (see [`scan_segment`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentScan {
    /// Position just past the last valid record (the whole segment when it ended cleanly).
    pub end: usize,
    /// Valid records found.
    pub records: u64,
    /// Where an invalid record was found, and why.
    pub torn: Option<(usize, String)>,
}

/// Scans one segment's bytes as recovery does, the segment starting at log offset `start`.
/// Used by recovery through [`step`]; exposed for the fuzz target and its corpus replay.
pub fn scan_segment(seg: &[u8], start: i64, check_crc: bool) -> SegmentScan {
    let mut pos = 0;
    let mut records = 0;
    loop {
        match step(seg, start, pos, check_crc) {
            Step::Record { size, .. } => {
                pos += size;
                records += 1;
            }
            Step::EndOfFile => {
                return SegmentScan {
                    end: seg.len(),
                    records,
                    torn: None,
                }
            }
            Step::EndOfData => {
                return SegmentScan {
                    end: pos,
                    records,
                    torn: None,
                }
            }
            Step::Invalid(reason) => {
                return SegmentScan {
                    end: pos,
                    records,
                    torn: Some((pos, reason)),
                }
            }
        }
    }
}

impl CommitLog {
    /// Recovers the log, scanning from the start of the segment holding `scan_from` (earlier
    /// segments are taken as complete). After a crash (`crash`), scanned data is not assumed
    /// durable, so the first flush syncs it again.
    pub(crate) fn recover(
        &self,
        scan_from: i64,
        crash: bool,
        check_crc: bool,
    ) -> Result<LogRecovered, StoreError> {
        let files = self.segments.snapshot();
        let mut out = LogRecovered {
            scanned_from: 0,
            end: 0,
            torn: None,
            cleared_bytes: 0,
            removed_files: 0,
            records: 0,
        };
        let first = files
            .partition_point(|f| f.end() <= scan_from)
            .min(files.len().saturating_sub(1));
        let mut last_writer = None;
        let mut last_ts = 0;
        let mut flushed_from = None;
        'files: for (i, file) in files.iter().enumerate() {
            let mut w = file.take_writer().ok_or_else(|| StoreError::Corrupt {
                path: file.path().to_path_buf(),
                reason: "segment already has a writer".to_owned(),
            })?;
            if i < first {
                w.advance_to(file.size(), true);
                out.end = file.end();
                continue;
            }
            out.scanned_from = *flushed_from.get_or_insert(file.start());
            let seg = w.peek(0, file.size()).unwrap_or_default();
            let mut pos = 0;
            loop {
                match step(seg, file.start(), pos, check_crc) {
                    Step::Record {
                        size,
                        store_timestamp,
                    } => {
                        pos += size;
                        last_ts = store_timestamp;
                        out.records += 1;
                    }
                    Step::EndOfFile => {
                        w.advance_to(file.size(), !crash);
                        out.end = file.end();
                        last_writer = Some(w);
                        continue 'files;
                    }
                    Step::EndOfData => break,
                    Step::Invalid(reason) => {
                        out.torn = Some((file.start() + pos as i64, reason));
                        break;
                    }
                }
            }
            w.advance_to(pos, !crash);
            out.cleared_bytes = w.zero_stale_tail();
            out.end = file.start() + pos as i64;
            last_writer = Some(w);
            break;
        }
        // Segments after the end (`+ 1` keeps an empty segment that starts exactly there).
        let doomed: Vec<_> = files
            .iter()
            .filter(|f| f.start() > out.end)
            .map(|f| f.path().display().to_string())
            .collect();
        out.removed_files = self.segments.remove_from(out.end + 1)?;
        if let Some((at, reason)) = &out.torn {
            tracing::warn!(
                offset = at,
                reason = %reason,
                "commit log: invalid record; the log is truncated here and everything after it is dropped"
            );
        }
        if out.torn.is_some() || out.removed_files > 0 || out.cleared_bytes > 0 {
            tracing::warn!(
                end = out.end,
                torn = ?out.torn,
                cleared_bytes = out.cleared_bytes,
                removed_files = out.removed_files,
                removed = ?doomed,
                "commit log truncated during recovery"
            );
        }
        let mut st = self.append.lock();
        st.writer = last_writer;
        drop(st);
        self.max_offset.store(out.end, Ordering::Release);
        let durable = if crash {
            flushed_from.unwrap_or(out.end)
        } else {
            out.end
        };
        self.flushed.store(durable.min(out.end), Ordering::Release);
        self.last_store_timestamp.store(last_ts, Ordering::Relaxed);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use ferromq_proto::message::record::{encode_record_to, RecordInput};

    use super::*;

    fn record(out: &mut bytes::BytesMut, body: &[u8]) {
        let addr = "127.0.0.1:10911".parse().unwrap();
        let input = RecordInput {
            topic: "T",
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            physical_offset: out.len() as i64,
            sys_flag: 0,
            born_timestamp: 1,
            born_host: addr,
            store_timestamp: 2,
            store_host: addr,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body,
            properties: "TAGS\u{1}A\u{2}",
            body_crc: None,
        };
        encode_record_to(out, &input).unwrap();
    }

    #[test]
    fn scan_finds_the_end_a_torn_tail_and_a_bad_crc() {
        let mut seg = bytes::BytesMut::new();
        record(&mut seg, b"one");
        record(&mut seg, b"two");
        let end = seg.len();
        seg.resize(end + 64, 0);
        let clean = scan_segment(&seg, 0, true);
        assert_eq!((clean.end, clean.records, clean.torn), (end, 2, None));

        // The second record cut short: the log ends after the first.
        let first = end / 2;
        let mut torn = seg.clone();
        torn[end - 3..].fill(0);
        let scan = scan_segment(&torn, 0, true);
        assert_eq!((scan.end, scan.records), (first, 1));
        assert!(scan.torn.is_some());

        // A flipped body byte is caught only when CRCs are checked.
        let mut flipped = seg.clone();
        // The first body byte: before the tail are PROPERTIES (7), their length (2), TOPIC (1),
        // its length (1) and the 3-byte body.
        flipped[first - 7 - 2 - 1 - 1 - 3] ^= 1;
        assert_eq!(scan_segment(&flipped, 0, false).records, 2);
        let checked = scan_segment(&flipped, 0, true);
        assert_eq!((checked.end, checked.records), (0, 0));
        assert_eq!(
            checked.torn.map(|t| t.1).as_deref(),
            Some("body CRC mismatch")
        );

        // Records placed at another offset than they claim are refused.
        assert!(scan_segment(&seg, 4096, false).torn.is_some());
    }
}
