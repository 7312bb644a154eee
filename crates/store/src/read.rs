//! Reads: the pull path (`get_message`, Java `DefaultMessageStore.getMessage`), time-based
//! offset lookups and lookups by commit-log offset. Every returned record is a zero-copy slice
//! of a mapped segment.

use bytes::Bytes;
use ferromq_proto::message::record::RecordView;
use ferromq_proto::message::{decode_record, properties, MessageExt};

use crate::consume_queue::{Unit, UNIT_SIZE};
use crate::stats::StoreStats;
use crate::{GetResult, GetStatus, MessageStore, QueryResult};

/// Lowest number of consume-queue bytes one pull may scan (`maxFilterMessageSize`).
const MIN_FILTER_SCAN_BYTES: usize = 16_000;

/// Pull batch limits (Java `isTheBatchFull`).
struct Limits {
    max_msgs: usize,
    mem_bytes: usize,
    mem_count: usize,
    disk_bytes: usize,
    disk_count: usize,
}

impl Limits {
    /// True when adding a record of `size` would overflow the batch. The first record always
    /// goes in.
    fn full(&self, size: usize, total_bytes: usize, count: usize, in_disk: bool) -> bool {
        if total_bytes == 0 || count == 0 {
            return false;
        }
        if self.max_msgs <= count {
            return true;
        }
        let (bytes, msgs) = if in_disk {
            (self.disk_bytes, self.disk_count)
        } else {
            (self.mem_bytes, self.mem_count)
        };
        total_bytes + size > bytes || count > msgs.saturating_sub(1)
    }
}

impl MessageStore {
    /// Reads up to `max_msgs` records of a queue from queue offset `offset`, skipping units whose
    /// tags code `filter` rejects. Status and `next_begin_offset` follow `wire-protocol.md` 6.3:
    /// the first message is always returned, then the batch stops at 256 KiB / 32 messages
    /// (64 KiB / 8 for data far behind the head), and at most max(16 000, max_msgs × 20) bytes of
    /// units are scanned. A pull never crosses a consume-queue file.
    pub fn get_message(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msgs: i32,
        filter: Option<&dyn Fn(i64) -> bool>,
    ) -> GetResult {
        let result = self.get_message_inner(topic, queue_id, offset, max_msgs, filter);
        let stats = &self.shared.stats;
        if result.status == GetStatus::Found {
            StoreStats::add(&stats.get_found, 1);
            StoreStats::add(&stats.get_transferred, result.messages.len() as u64);
        } else {
            StoreStats::add(&stats.get_miss, 1);
        }
        result
    }

    fn get_message_inner(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msgs: i32,
        filter: Option<&dyn Fn(i64) -> bool>,
    ) -> GetResult {
        let s = &*self.shared;
        let Some(cq) = s.queues.get(topic, queue_id) else {
            return GetResult::empty(GetStatus::NoMatchedLogicQueue, 0, 0, 0);
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        let empty = |status, next| GetResult::empty(status, next, min, max);
        if max == 0 {
            return empty(GetStatus::NoMessageInQueue, 0);
        }
        if offset < min {
            return empty(GetStatus::OffsetTooSmall, min);
        }
        if offset == max {
            return empty(GetStatus::OffsetOverflowOne, offset);
        }
        if offset > max {
            return empty(GetStatus::OffsetOverflowBadly, max);
        }
        let Some(units) = cq.units_from(offset) else {
            return empty(GetStatus::OffsetFoundNull, cq.roll_next_file(offset));
        };

        let c = &s.config;
        let max_msgs_usize = usize::try_from(max_msgs).unwrap_or(0);
        let limits = Limits {
            max_msgs: max_msgs_usize,
            mem_bytes: c.max_transfer_bytes_on_message_in_memory,
            mem_count: c.max_transfer_count_on_message_in_memory,
            disk_bytes: c.max_transfer_bytes_on_message_in_disk,
            disk_count: c.max_transfer_count_on_message_in_disk,
        };
        let scan_limit = MIN_FILTER_SCAN_BYTES.max(max_msgs_usize.saturating_mul(UNIT_SIZE));
        let max_phy = s.commit_log.max_offset();
        let mut result = empty(GetStatus::NoMatchedMessage, offset);
        let mut next_file_start = i64::MIN;
        let mut max_phy_pulling = 0;
        let mut i = 0;
        while i + UNIT_SIZE <= units.len() && i < scan_limit {
            let unit = Unit::read(&units[i..]);
            if unit.is_filler() {
                i += UNIT_SIZE;
                continue;
            }
            max_phy_pulling = unit.offset;
            if next_file_start != i64::MIN && unit.offset < next_file_start {
                i += UNIT_SIZE;
                continue;
            }
            let size = usize::try_from(unit.size).unwrap_or(0);
            let in_disk = max_phy - unit.offset > s.memory_budget;
            if limits.full(
                size,
                result.buffer_total_size,
                result.messages.len(),
                in_disk,
            ) {
                break;
            }
            if filter.is_some_and(|f| !f(unit.tags_code)) {
                i += UNIT_SIZE;
                continue;
            }
            match s.commit_log.read(unit.offset, unit.size) {
                Some(record) => {
                    result.buffer_total_size += record.len();
                    result.messages.push(record);
                    result.status = GetStatus::Found;
                    next_file_start = i64::MIN;
                }
                None => {
                    if result.buffer_total_size == 0 {
                        result.status = GetStatus::MessageWasRemoving;
                    }
                    next_file_start = s.commit_log.roll_next(unit.offset);
                }
            }
            i += UNIT_SIZE;
        }
        result.next_begin_offset = offset + (i / UNIT_SIZE) as i64;
        result.suggest_pulling_from_slave = max_phy - max_phy_pulling > s.memory_budget;
        result
    }

    /// The first queue offset whose message was stored at or after `timestamp` (ms); the max
    /// offset when all are older, the min offset when all are newer, 0 for an unknown queue.
    /// Binary search over store times read from the commit log.
    pub fn offset_by_timestamp(&self, topic: &str, queue_id: i32, timestamp: i64) -> i64 {
        let Some(cq) = self.shared.queues.get(topic, queue_id) else {
            return 0;
        };
        let (mut lo, mut hi) = (cq.min_offset(), cq.max_offset());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let time = cq
                .unit(mid)
                .filter(|u| !u.is_filler())
                .and_then(|u| self.shared.commit_log.store_timestamp_at(u.offset));
            match time {
                Some(t) if t >= timestamp => hi = mid,
                // Older, or no longer readable (treated as older).
                _ => lo = mid + 1,
            }
        }
        lo
    }

    /// Store time of the message at queue `offset`, if it is still readable.
    pub fn message_store_timestamp(&self, topic: &str, queue_id: i32, offset: i64) -> Option<i64> {
        let unit = self.shared.queues.get(topic, queue_id)?.unit(offset)?;
        if unit.is_filler() {
            return None;
        }
        self.shared.commit_log.store_timestamp_at(unit.offset)
    }

    /// True when the message at queue `offset` lies further behind the commit-log head than the
    /// share of memory that counts as cached (`accessMessageInMemoryMaxRatio`), i.e. reading it
    /// would go to disk (Java `checkInDiskByConsumeOffset`). False when there is no such unit.
    pub fn check_in_disk_by_consume_offset(&self, topic: &str, queue_id: i32, offset: i64) -> bool {
        let Some(unit) = self
            .shared
            .queues
            .get(topic, queue_id)
            .and_then(|cq| cq.unit(offset))
        else {
            return false;
        };
        !unit.is_filler()
            && self.shared.commit_log.max_offset() - unit.offset > self.shared.memory_budget
    }

    /// Store time of the oldest readable message in the queue.
    pub fn earliest_message_time(&self, topic: &str, queue_id: i32) -> Option<i64> {
        let min = self.shared.queues.get(topic, queue_id)?.min_offset();
        self.message_store_timestamp(topic, queue_id, min)
    }

    /// The stored record at commit-log offset `physical_offset` (zero-copy), or `None` when no
    /// record starts there or it is not visible yet (under SYNC_FLUSH: not yet on disk).
    pub fn look_message_by_offset(&self, physical_offset: i64) -> Option<Bytes> {
        let record = self.shared.commit_log.read_record(physical_offset)?;
        let end = physical_offset + record.len() as i64;
        (end <= crate::dispatch::visible_end(&self.shared)).then_some(record)
    }

    /// Records of `topic` whose key is `key` and whose store time is within `[begin, end]`,
    /// newest first, at most `max_num` (capped by `maxMsgsNumBatch`), from the index (Java
    /// `DefaultMessageStore.queryMessage`). With `unique`, `key` is matched against the
    /// `UNIQ_KEY` property, else against the `KEYS` tokens; index hash collisions and records
    /// no longer in the log are left out.
    pub fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
        unique: bool,
    ) -> QueryResult {
        let s = &*self.shared;
        let (ts, phy) = s.index.last_update();
        let mut result = QueryResult {
            messages: Vec::new(),
            index_last_update_timestamp: ts,
            index_last_update_phyoffset: phy,
        };
        let max = max_num.min(s.config.max_msgs_num_batch);
        if max == 0 || !s.config.message_index_enable {
            return result;
        }
        let mut seen = Vec::new();
        for offset in s.index.query(topic, key, max, begin, end) {
            if seen.contains(&offset) {
                continue;
            }
            seen.push(offset);
            let Some(record) = self.look_message_by_offset(offset) else {
                continue;
            };
            let Ok(view) = RecordView::parse(&record) else {
                continue;
            };
            let matched = view.topic == topic
                && if unique {
                    view.property(properties::UNIQ_KEY) == Some(key)
                } else {
                    view.property(properties::KEYS)
                        .is_some_and(|k| k.split(properties::KEY_SEPARATOR).any(|t| t == key))
                };
            if matched {
                result.messages.push(record);
            }
        }
        result
    }

    /// [`Self::look_message_by_offset`], decoded.
    pub fn look_message_decoded(&self, physical_offset: i64) -> Option<MessageExt> {
        let bytes = self.look_message_by_offset(physical_offset)?;
        decode_record(&bytes).ok().map(|(m, _)| m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MessageToStore, StoreConfig};

    fn put(store: &MessageStore, topic: &str, body: &[u8]) -> crate::PutResult {
        store.put(MessageToStore {
            topic,
            queue_id: 0,
            flag: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: "127.0.0.1:1".parse().unwrap(),
            store_host: "127.0.0.1:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body,
            properties: "",
        })
    }

    #[test]
    fn statuses_of_late_empty_and_removed_queues_and_zero_copy() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            mapped_file_size_commit_log: 64 * 1024,
            mapped_file_size_consume_queue: 100 * UNIT_SIZE,
            ..StoreConfig::with_root(dir.path())
        };
        let store = MessageStore::open(config).unwrap();
        let a = put(&store, "T", b"a");
        put(&store, "T", b"b");
        assert!(store.wait_for_dispatch(std::time::Duration::from_secs(5)));
        let queues = &store.shared.queues;
        let t = queues.get("T", 0).unwrap();

        // A queue whose first unit is at offset 5 (as after its older files were removed).
        let late = queues.get_or_create("Late", 0).unwrap();
        late.append(t.unit(0).unwrap(), 5).unwrap();
        late.append(t.unit(1).unwrap(), 6).unwrap();
        let g = store.get_message("Late", 0, 2, 32, None);
        assert_eq!(
            (g.status, g.next_begin_offset, g.min_offset),
            (GetStatus::OffsetTooSmall, 5, 5)
        );
        let g = store.get_message("Late", 0, 5, 32, None);
        assert_eq!(
            (g.status, g.next_begin_offset, g.messages.len()),
            (GetStatus::Found, 7, 2)
        );

        // Every returned record lies inside the mapped segment: no copies.
        let segment = store
            .shared
            .commit_log
            .segments()
            .find(a.physical_offset)
            .unwrap();
        for m in &g.messages {
            assert!(segment.address_range().contains(&(m.as_ptr() as usize)));
            assert!(segment
                .address_range()
                .contains(&(m.as_ptr() as usize + m.len() - 1)));
        }

        queues.get_or_create("Empty", 0).unwrap();
        let g = store.get_message("Empty", 0, 3, 32, None);
        assert_eq!(
            (g.status, g.next_begin_offset),
            (GetStatus::NoMessageInQueue, 0)
        );

        // Units pointing at commit-log data that no longer exists.
        let gone = queues.get_or_create("Gone", 0).unwrap();
        for i in 0..2 {
            gone.append(
                Unit {
                    offset: (1 << 40) + i * 100,
                    size: 100,
                    tags_code: 0,
                },
                i,
            )
            .unwrap();
        }
        let g = store.get_message("Gone", 0, 0, 32, None);
        assert_eq!(
            (g.status, g.next_begin_offset),
            (GetStatus::MessageWasRemoving, 2)
        );
        assert_eq!(store.earliest_message_time("Gone", 0), None);
        store.shutdown().unwrap();
    }

    #[test]
    fn batch_limits_follow_java() {
        let l = Limits {
            max_msgs: 3,
            mem_bytes: 1000,
            mem_count: 2,
            disk_bytes: 100,
            disk_count: 1,
        };
        assert!(!l.full(5000, 0, 0, false), "the first message always fits");
        assert!(!l.full(100, 100, 1, false));
        assert!(l.full(901, 100, 1, false), "byte limit");
        assert!(l.full(10, 100, 2, false), "count limit");
        assert!(l.full(10, 50, 1, true), "disk count limit");
        let l = Limits { max_msgs: 1, ..l };
        assert!(l.full(1, 1, 1, false), "max_msgs");
    }
}
