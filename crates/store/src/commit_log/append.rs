//! The append path: one writer, a mutex held around offset assignment, encode and memcpy
//! (Java `CommitLog.asyncPutMessage` + `DefaultAppendMessageCallback`).
//!
//! Validation and the body CRC happen before the lock ([`Prepared`]); under the lock the record
//! is encoded straight into the mapped segment, so the body is copied exactly once.

use std::borrow::Cow;
use std::sync::atomic::Ordering;

use ferromq_proto::message::record::{body_crc, encode_record, record_size, RecordInput};
use ferromq_proto::message::{sys_flag, MAGIC_BLANK};

use super::{AppendState, CommitLog, END_FILE_MIN_BLANK_LENGTH};
use crate::{MessageToStore, PutStatus};

/// A message checked and sized outside the lock.
#[derive(Debug, Clone)]
pub(crate) struct Prepared<'a> {
    pub(crate) msg: MessageToStore<'a>,
    /// The properties as stored: a non-empty string always ends with U+0002 (as Java writes
    /// them), which recovery relies on to spot a record whose tail was never written.
    pub(crate) properties: Cow<'a, str>,
    pub(crate) size: usize,
    pub(crate) body_crc: i32,
}

/// Where one record went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Appended {
    pub(crate) physical_offset: i64,
    pub(crate) queue_offset: i64,
    pub(crate) size: usize,
    pub(crate) store_timestamp: i64,
}

/// True for topic names that are unsafe as a directory name.
fn bad_topic(topic: &str) -> bool {
    topic.is_empty()
        || topic == "."
        || topic == ".."
        || topic.bytes().any(|b| b == b'/' || b == b'\\' || b == 0)
}

impl CommitLog {
    /// Checks `msg` against the store limits and computes its size and CRC (no lock held).
    pub(crate) fn prepare<'a>(
        &self,
        msg: MessageToStore<'a>,
        max_body: usize,
    ) -> Result<Prepared<'a>, PutStatus> {
        if bad_topic(msg.topic) || msg.topic.len() > i16::MAX as usize || msg.queue_id < 0 {
            return Err(PutStatus::MessageIllegal);
        }
        let properties = if msg.properties.is_empty() || msg.properties.ends_with('\u{2}') {
            Cow::Borrowed(msg.properties)
        } else {
            Cow::Owned(format!("{}\u{2}", msg.properties))
        };
        if properties.len() > i16::MAX as usize {
            return Err(PutStatus::PropertiesSizeExceeded);
        }
        if msg.body.len() > max_body {
            return Err(PutStatus::MessageIllegal);
        }
        let size = record_size(
            msg.body.len(),
            msg.topic.len(),
            properties.len(),
            msg.born_host.ip().to_canonical().is_ipv6(),
            msg.store_host.ip().to_canonical().is_ipv6(),
        );
        if size > self.max_record_size
            || size + END_FILE_MIN_BLANK_LENGTH > self.segments.file_size()
        {
            return Err(PutStatus::MessageIllegal);
        }
        Ok(Prepared {
            msg,
            properties,
            size,
            body_crc: body_crc(msg.body),
        })
    }

    /// Appends `batch` in order under one lock hold, calling `each` with where every record
    /// went. Records of the same queue get consecutive queue offsets. On error the records
    /// already appended stay.
    pub(crate) fn append(
        &self,
        batch: &[Prepared<'_>],
        mut each: impl FnMut(Appended),
    ) -> Result<(), PutStatus> {
        let mut st = self.append.lock();
        let locked_at = ferromq_common::now_millis();
        self.lock_begin_ms.store(locked_at, Ordering::Release);
        // Cleared however the append ends, so the busy check never sees a stale start.
        let _held = LockTimer(&self.lock_begin_ms);
        let now = locked_at.max(self.last_store_timestamp());
        for p in batch {
            let fits = st
                .writer
                .as_ref()
                .is_some_and(|w| w.remaining() >= p.size + END_FILE_MIN_BLANK_LENGTH);
            if !fits {
                self.roll(&mut st)?;
            }
            let dispatchable = sys_flag::is_dispatchable(p.msg.sys_flag);
            let queue_offset = if dispatchable {
                next_queue_offset(&mut st, &p.msg)
            } else {
                0
            };
            let w = st.writer.as_mut().ok_or(PutStatus::UnknownError)?;
            let physical_offset = w.file().start() + w.position() as i64;
            let input = RecordInput {
                topic: p.msg.topic,
                queue_id: p.msg.queue_id,
                flag: p.msg.flag,
                queue_offset,
                physical_offset,
                sys_flag: p.msg.sys_flag,
                born_timestamp: p.msg.born_timestamp,
                born_host: p.msg.born_host,
                store_timestamp: now,
                store_host: p.msg.store_host,
                reconsume_times: p.msg.reconsume_times,
                prepared_transaction_offset: p.msg.prepared_transaction_offset,
                body: p.msg.body,
                properties: &p.properties,
                body_crc: Some(p.body_crc),
            };
            match w.try_append(p.size, |dst| encode_record(dst, &input)) {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "record encoding failed after validation");
                    return Err(PutStatus::UnknownError);
                }
                // No room was checked above and segments are reserved whole: not expected.
                Err(e) => {
                    tracing::error!(error = %e, "commit-log append refused");
                    return Err(PutStatus::UnknownError);
                }
            }
            if dispatchable {
                if let Some(q) = st
                    .queue_offsets
                    .get_mut(p.msg.topic)
                    .and_then(|m| m.get_mut(&p.msg.queue_id))
                {
                    *q += 1;
                }
            }
            self.max_offset
                .store(physical_offset + p.size as i64, Ordering::Release);
            each(Appended {
                physical_offset,
                queue_offset,
                size: p.size,
                store_timestamp: now,
            });
        }
        self.last_store_timestamp.store(now, Ordering::Relaxed);
        Ok(())
    }

    /// Ends the current segment with the BLANK filler and starts the next one.
    fn roll(&self, st: &mut AppendState) -> Result<(), PutStatus> {
        let file_size = self.segments.file_size() as i64;
        let next_start = match st.writer.take() {
            Some(mut w) => {
                let rest = w.remaining();
                // Exactly the rest of a wholly reserved segment: these appends cannot fail.
                let sealed = if rest >= END_FILE_MIN_BLANK_LENGTH {
                    w.append(rest, |dst| {
                        dst[..4].copy_from_slice(&(rest as i32).to_be_bytes());
                        dst[4..8].copy_from_slice(&MAGIC_BLANK.to_be_bytes());
                    })
                } else if rest > 0 {
                    w.append(rest, |dst| dst.fill(0))
                } else {
                    Ok(())
                };
                if let Err(e) = sealed {
                    tracing::error!(error = %e, path = %w.file().path().display(), "cannot end the commit-log segment");
                }
                w.file().end()
            }
            None => match self.segments.last() {
                Some(last) => last.end(),
                None => {
                    let max = self.max_offset();
                    if max % file_size == 0 {
                        max
                    } else {
                        self.segments.roll_next(max)
                    }
                }
            },
        };
        self.max_offset.fetch_max(next_start, Ordering::AcqRel);
        let file = self.segments.create(next_start).map_err(|e| {
            tracing::error!(error = %e, offset = next_start, "cannot create commit-log segment");
            PutStatus::CreateMappedFileFailed
        })?;
        st.writer = file.take_writer();
        self.rolled.store(true, Ordering::Release);
        Ok(())
    }
}

/// The queue offset for `msg` (the entry is created at 0 on a queue's first message).
fn next_queue_offset(st: &mut AppendState, msg: &MessageToStore<'_>) -> i64 {
    // Look up by &str first so the common case allocates nothing.
    if let Some(&q) = st
        .queue_offsets
        .get(msg.topic)
        .and_then(|m| m.get(&msg.queue_id))
    {
        return q;
    }
    *st.queue_offsets
        .entry(msg.topic.to_owned())
        .or_default()
        .entry(msg.queue_id)
        .or_insert(0)
}

/// Clears the commit log's lock-start time when an append releases the lock.
struct LockTimer<'a>(&'a std::sync::atomic::AtomicI64);

impl Drop for LockTimer<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Release);
    }
}
