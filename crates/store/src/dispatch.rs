//! The dispatch ("reput") loop: tails the commit log behind the append point, writes a
//! consume-queue unit for every dispatchable record and index entries for its keys, and tells
//! the arrival listener (Java `ReputMessageService`). The append path unparks the thread after
//! each put (the flusher after each flush); it also wakes every 10 ms on its own.
//!
//! Under SYNC_FLUSH dispatch stops at the flushed offset, not at the end of the log: a record
//! becomes visible to consumers (and queries) only once it is on disk, so a consumer can never
//! act on a message that a crash could still take back.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ferromq_common::names::SCHEDULE_TOPIC;
use ferromq_proto::message::record::{peek_size_and_magic, RecordView};
use ferromq_proto::message::{properties, sys_flag, tags_code, MAGIC_BLANK};

use crate::consume_queue::Unit;
use crate::index::IndexedKeys;
use crate::mapped_file::MappedFile;
use crate::stats::StoreStats;
use crate::store::Shared;
use crate::{Arrival, FlushDiskType};

/// Tags code written in the consume queue: the hash of `tags` (the record's `TAGS`), or for a
/// delayed message in `SCHEDULE_TOPIC_XXXX` its delivery time (store time + delay of its
/// level).
pub(crate) fn unit_tags_code(
    view: &RecordView<'_>,
    tags: Option<&str>,
    delay_levels: &[i64],
) -> i64 {
    if view.topic == SCHEDULE_TOPIC {
        let level = view
            .property(properties::DELAY)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(0)
            .min(delay_levels.len() as i64);
        if level > 0 {
            let delay = delay_levels.get(level as usize - 1).copied().unwrap_or(0);
            return view.store_timestamp + delay;
        }
    }
    tags_code(tags)
}

/// How far records may be dispatched now: the flushed offset under SYNC_FLUSH, else the end of
/// the log.
pub(crate) fn visible_end(shared: &Shared) -> i64 {
    match shared.config.flush_disk_type {
        FlushDiskType::SyncFlush => shared
            .commit_log
            .flushed_offset()
            .min(shared.commit_log.max_offset()),
        FlushDiskType::AsyncFlush => shared.commit_log.max_offset(),
    }
}

/// Records dispatched between two publications of the dispatched offset inside one long round
/// (a backlog after recovery or a burst): waiting puts are answered while the round goes on.
pub(crate) const PUBLISH_EVERY: u64 = 128;

/// Tells puts waiting for visibility how far dispatch has come.
fn publish(shared: &Shared, reput: i64) {
    shared.dispatched_tx.send_if_modified(|v| {
        let changed = *v < reput;
        if changed {
            *v = reput;
        }
        changed
    });
}

/// [`dispatch_available`] under the dispatch lock, waiting for it: one dispatcher at a time.
pub(crate) fn dispatch_locked(shared: &Shared, notify: bool, limit: Option<i64>) -> u64 {
    let _one = shared.dispatch_lock.lock();
    dispatch_available(shared, notify, limit)
}

/// Most records of one put the putting thread dispatches itself (see [`dispatch_inline`]): a
/// batch of up to this many costs tens of microseconds there; larger ones go to the dispatch
/// thread so that a runtime worker is never held for long.
pub(crate) const INLINE_DISPATCH_MAX_RECORDS: u32 = 64;

/// Read-your-writes on the put path: when no one else is dispatching, the caller dispatches up
/// to the end of its own records (`end`) on its own thread, which saves the two thread
/// hand-offs (to the dispatch thread and back) the put would otherwise wait for. When someone
/// is, or when the caller passes `None` (large batches, better dispatched in parallel with the
/// next request), it wakes the dispatch thread instead, so that records appended after a
/// running round's last look still get a round.
pub(crate) fn dispatch_inline(shared: &Shared, end: Option<i64>) {
    let own = end.and_then(|end| shared.dispatch_lock.try_lock().map(|one| (end, one)));
    match own {
        Some((end, _one)) => {
            dispatch_available(shared, true, Some(end.min(visible_end(shared))));
        }
        None => shared.wake_dispatcher(),
    }
}

/// Dispatches every record between the reput offset and [`visible_end`] (or `limit`, when
/// given); returns how many records were dispatched. With `notify`, calls the arrival listener
/// for each.
pub(crate) fn dispatch_available(shared: &Shared, notify: bool, limit: Option<i64>) -> u64 {
    let log = &shared.commit_log;
    let listener = if notify {
        shared.listener.read().clone()
    } else {
        None
    };
    let mut reput = shared.reput_offset.load(Ordering::Acquire);
    let mut count = 0;
    let mut records = 0u64;
    let mut current: Option<Arc<MappedFile>> = None;
    loop {
        let max = limit.unwrap_or_else(|| visible_end(shared));
        if reput >= max {
            break;
        }
        let cached = current
            .take()
            .filter(|f| f.start() <= reput && reput < f.end());
        let Some(file) = cached.or_else(|| log.segments().find(reput)) else {
            // The segment is gone (deleted under us): continue at the next one.
            reput = log.roll_next(reput);
            continue;
        };
        let pos = (reput - file.start()) as usize;
        let head = if pos + 8 <= file.size() {
            file.read(pos, 8)
        } else {
            None
        };
        let Some((size, magic)) = head.and_then(peek_size_and_magic) else {
            if pos + 8 > file.size() {
                reput = file.end();
                continue;
            }
            break; // not published yet
        };
        if magic == MAGIC_BLANK {
            reput = file.end();
            continue;
        }
        let record = usize::try_from(size).ok().and_then(|n| file.read(pos, n));
        let view = match record.map(RecordView::parse) {
            Some(Ok(v)) => v,
            other => {
                tracing::error!(offset = reput, size, error = ?other.map(|r| r.err()), "unreadable commit-log record, skipping to the next segment");
                reput = file.end();
                continue;
            }
        };
        // One pass over the properties for everything dispatch reads of them.
        let [uniq, keys, tags] = properties::property_values(
            view.properties,
            [properties::UNIQ_KEY, properties::KEYS, properties::TAGS],
        );
        if shared.config.message_index_enable {
            if let Err(e) = shared.index.build(&view, IndexedKeys { uniq, keys }, reput) {
                // The message stays readable by queue and id; only key lookups miss it.
                tracing::error!(offset = reput, error = %e, "indexing a message failed");
            }
        }
        if sys_flag::is_dispatchable(view.sys_flag) {
            let unit = Unit {
                offset: reput,
                size,
                tags_code: unit_tags_code(&view, tags, &shared.delay_levels),
            };
            let added = shared
                .queues
                .get_or_create(view.topic, view.queue_id)
                .and_then(|cq| cq.append(unit, view.queue_offset));
            match added {
                Ok(true) => {
                    count += 1;
                    if let Some(l) = &listener {
                        let arrival = Arrival {
                            topic: view.topic,
                            queue_id: view.queue_id,
                            queue_offset: view.queue_offset,
                            max_offset: view.queue_offset + 1,
                            tags_code: unit.tags_code,
                            store_timestamp: view.store_timestamp,
                            properties: view.properties,
                        };
                        // A panicking listener must not stop dispatch for every queue.
                        let call = AssertUnwindSafe(|| l.on_arrival(&arrival));
                        if std::panic::catch_unwind(call).is_err() {
                            tracing::error!(
                                topic = view.topic,
                                queue_id = view.queue_id,
                                "arrival listener panicked"
                            );
                        }
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    // Without its unit the message is unreachable; keep going so other queues
                    // are not held up, and stop writes like any other disk failure.
                    shared.fail_writes(&e);
                }
            }
        }
        reput += i64::from(size);
        shared.reput_offset.store(reput, Ordering::Release);
        records += 1;
        if records.is_multiple_of(PUBLISH_EVERY) {
            publish(shared, reput);
        }
        current = Some(file);
    }
    shared.reput_offset.store(reput, Ordering::Release);
    publish(shared, reput);
    StoreStats::add(&shared.stats.dispatched, count);
    count
}

/// Body of the dispatch thread: runs until the store stops, then drains what is left.
pub(crate) fn run(shared: Arc<Shared>) {
    loop {
        let stopping = shared.stopping.load(Ordering::Acquire);
        let n = dispatch_locked(&shared, true, None);
        if stopping {
            break;
        }
        if n == 0 {
            // Announce the park, then look once more: an append that missed the flag is seen
            // here, and one after it sees the flag and unparks us (both sides fence).
            shared.dispatcher_idle.store(true, Ordering::SeqCst);
            std::sync::atomic::fence(Ordering::SeqCst);
            if visible_end(&shared) <= shared.reput_offset.load(Ordering::Acquire) {
                std::thread::park_timeout(Duration::from_millis(10));
            }
            shared.dispatcher_idle.store(false, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use ferromq_proto::message::record::{encode_record_to, RecordInput};

    fn view_bytes(topic: &str, props: &str) -> bytes::Bytes {
        let input = RecordInput {
            topic,
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: "127.0.0.1:1".parse().unwrap(),
            store_timestamp: 1_000,
            store_host: "127.0.0.1:2".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: b"",
            properties: props,
            body_crc: None,
        };
        let mut b = BytesMut::new();
        encode_record_to(&mut b, &input).unwrap();
        b.freeze()
    }

    fn tags_of(record: &[u8], levels: &[i64]) -> i64 {
        let view = RecordView::parse(record).unwrap();
        unit_tags_code(&view, view.property(properties::TAGS), levels)
    }

    #[test]
    fn tags_code_from_tags_or_delivery_time() {
        let levels = [1000, 5000];
        let b = view_bytes("T", "TAGS\u{1}TagA\u{2}");
        assert_eq!(tags_of(&b, &levels), 2_598_919);
        let b = view_bytes("T", "");
        assert_eq!(tags_of(&b, &levels), 0);
        let b = view_bytes(SCHEDULE_TOPIC, "DELAY\u{1}2\u{2}TAGS\u{1}TagA\u{2}");
        assert_eq!(tags_of(&b, &levels), 6_000);
        // Levels above the table are clamped to the last one.
        let b = view_bytes(SCHEDULE_TOPIC, "DELAY\u{1}99\u{2}");
        assert_eq!(tags_of(&b, &levels), 6_000);
    }
}
