//! Delay levels (RocketMQ's `ScheduleMessageService`).
//!
//! ```text
//! SEND (DELAY=L) ─▶ SCHEDULE_TOPIC_XXXX queue L-1 (REAL_TOPIC, REAL_QID kept)
//!                          │  every 100 ms, per level, in queue order:
//!                          ▼  due = store time + delay(L)
//!                  re-stored in REAL_TOPIC / REAL_QID ─▶ offset of level L advanced
//!                                                       ─▶ config/delayOffset.json
//! ```
//!
//! A level's queue is delivered strictly in order (every message of a level has the same
//! delay, so store order is due order). Progress is written to `delayOffset.json` (RocketMQ's
//! format, also returned by GET_ALL_DELAY_OFFSET) after every round that delivered something.
//! A crash between a delivery and that write would deliver again; at start-up the service
//! therefore skips, per level, the messages whose delivered copy is already in the real queue
//! (found by UNIQ_KEY in the index, stored no earlier than the scheduled record), so the broker
//! delivers each delayed message exactly once.
//!
//! RocketMQ 5's arbitrary-delay timer messages (`TIMER_*` properties) live in [`timer`]; they
//! share this module's delivery ([`deliver_now`]) and crash check ([`already_delivered`]).

pub mod timer;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferromq_common::{names::SCHEDULE_TOPIC, now_millis};
use ferromq_proto::body::{DelayOffsetTable, JsonBody};
use ferromq_proto::message::properties::{self, DELAY, REAL_QID, REAL_TOPIC, UNIQ_KEY};
use ferromq_proto::message::record::RecordView;
use ferromq_proto::message::sys_flag;
use ferromq_store::{GetStatus, MessageStore, MessageToStore, PutStatus};
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::persist::JsonFile;
use crate::{BrokerConfig, BrokerError};

/// How often each level looks for due messages (Java `DELAY_FOR_A_WHILE`).
const TICK: Duration = Duration::from_millis(100);
/// Records read per look.
const BATCH: i32 = 32;

/// Where a delayed send goes instead of its topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    /// The level after clamping (1-based).
    pub level: i32,
    /// `SCHEDULE_TOPIC_XXXX` queue of the level.
    pub queue_id: i32,
    /// The properties to store: the originals plus `REAL_TOPIC` and `REAL_QID`.
    pub properties: String,
}

/// Decides whether a send is delayed (Java `CommitLog.asyncPutMessage`): `DELAY` > 0 on a
/// message that is not a prepared or rolled-back transaction half. Levels above `levels` are
/// clamped to the last one; `None` for no delay. A `DELAY` that is not a number, or negative,
/// is refused: a delay a client asked for must never be silently dropped.
pub fn schedule_for(
    properties: &str,
    topic: &str,
    queue_id: i32,
    msg_sys_flag: i32,
    levels: usize,
) -> Result<Option<Scheduled>, BrokerError> {
    // A dead letter waits for an operator: the DLQ copies RocketMQ makes carry DELAY 0 or -1.
    if ferromq_common::names::is_dlq_topic(topic) {
        return Ok(None);
    }
    let Some(raw) = properties::property_value(properties, DELAY) else {
        return Ok(None);
    };
    let tx = sys_flag::transaction_type(msg_sys_flag);
    if tx != sys_flag::TRANSACTION_NOT_TYPE && tx != sys_flag::TRANSACTION_COMMIT_TYPE {
        return Ok(None);
    }
    let level: i64 = raw
        .trim()
        .parse()
        .map_err(|_| BrokerError::MessageIllegal {
            reason: format!("the delay level `{raw}` is not a number"),
        })?;
    if level < 0 {
        return Err(BrokerError::MessageIllegal {
            reason: format!(
                "the delay level {level} is illegal: levels run 1..{levels} (0 or none: no delay)"
            ),
        });
    }
    if level == 0 || levels == 0 {
        return Ok(None);
    }
    let level = level.min(levels as i64) as i32;
    // REAL_TOPIC / REAL_QID replace stale ones (a retry of a message that was delayed before
    // must go to its retry topic, not back to the first topic); the level wins over a timer,
    // whose request properties RocketMQ clears (`HookUtils.checkIfTimerMessage`).
    let props = rewrite_properties(
        properties,
        &timer::TIMER_REQUEST_KEYS[..3],
        &[(REAL_TOPIC, topic), (REAL_QID, &queue_id.to_string())],
    );
    Ok(Some(Scheduled {
        level,
        queue_id: level - 1,
        properties: props,
    }))
}

/// `properties` without the pairs whose key is in `drop` or in `set`, then the `set` pairs:
/// Java's `putProperty`/`clearProperty` on the map, then `messageProperties2String`. Pairs
/// Java's parser would drop (empty key or value) are dropped.
pub(crate) fn rewrite_properties(properties: &str, drop: &[&str], set: &[(&str, &str)]) -> String {
    let extra: usize = set.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = String::with_capacity(properties.len() + extra);
    for (k, v) in properties::iter_properties(properties) {
        if !drop.contains(&k) && !set.iter().any(|(s, _)| *s == k) {
            push_pair(&mut out, k, v);
        }
    }
    for (k, v) in set {
        push_pair(&mut out, k, v);
    }
    out
}

fn push_pair(out: &mut String, key: &str, value: &str) {
    out.push_str(key);
    out.push(properties::NAME_VALUE_SEPARATOR);
    out.push_str(value);
    out.push(properties::PROPERTY_SEPARATOR);
}

/// The delivery service and its progress.
pub struct ScheduleService {
    file: JsonFile,
    /// Level (1-based) → next offset to deliver in its queue.
    offsets: Mutex<BTreeMap<i32, i64>>,
}

impl ScheduleService {
    /// Loads `config/delayOffset.json` when present.
    pub fn load(config: &BrokerConfig) -> Result<Self, BrokerError> {
        let file = JsonFile::new(config.config_dir().join("delayOffset.json"));
        let offsets = match file.load()? {
            Some(bytes) => {
                DelayOffsetTable::from_json(&bytes)
                    .map_err(|e| file.corrupt(e))?
                    .offset_table
            }
            None => BTreeMap::new(),
        };
        Ok(ScheduleService {
            file,
            offsets: Mutex::new(offsets),
        })
    }

    /// The progress table (GET_ALL_DELAY_OFFSET's body, `delayOffset.json`).
    pub fn table(&self) -> DelayOffsetTable {
        DelayOffsetTable {
            data_version: None,
            offset_table: self.offsets.lock().clone(),
        }
    }

    fn persist(&self) -> Result<(), BrokerError> {
        self.file.save(|| self.table().to_json())
    }

    /// A slave's copy of its master's progress (Java `syncDelayOffset`), saved to
    /// `delayOffset.json`, so that a slave made master would not deliver again what was
    /// delivered.
    pub fn replace_from_master(&self, body: &[u8]) -> Result<(), BrokerError> {
        let table = DelayOffsetTable::from_json(body)
            .map_err(|e| {
                BrokerError::system(format!("the master's delay offsets do not parse: {e}"))
            })?
            .offset_table;
        let changed = {
            let mut offsets = self.offsets.lock();
            let changed = *offsets != table;
            *offsets = table;
            changed
        };
        if changed {
            self.persist()?;
        }
        Ok(())
    }

    /// Delivers due messages every [`TICK`] until `stop`, then saves the progress.
    pub async fn run(self: Arc<Self>, store: Arc<MessageStore>, stop: CancellationToken) {
        let levels = store.delay_levels_ms().len() as i32;
        let skipped = self.skip_delivered(&store, levels);
        if skipped > 0 {
            tracing::warn!(
                skipped,
                "delayed messages delivered before the last stop were not delivered again"
            );
            self.save_logged();
        }
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let mut moved = false;
            for level in 1..=levels {
                moved |= self.deliver_level(&store, level).await;
            }
            if moved {
                self.save_logged();
            }
        }
        self.save_logged();
    }

    fn save_logged(&self) {
        if let Err(e) = self.persist() {
            tracing::error!(error = %e, "saving delayOffset.json failed");
        }
    }

    fn offset(&self, level: i32) -> i64 {
        self.offsets.lock().get(&level).copied().unwrap_or(0)
    }

    fn set_offset(&self, level: i32, offset: i64) {
        self.offsets.lock().insert(level, offset);
    }

    /// Delivers the due messages of one level; true when its offset moved.
    async fn deliver_level(&self, store: &MessageStore, level: i32) -> bool {
        let delay = store.delay_levels_ms()[level as usize - 1];
        let start = self.offset(level);
        let mut offset = start;
        'reading: loop {
            let got = store.get_message(SCHEDULE_TOPIC, level - 1, offset, BATCH, None);
            match got.status {
                GetStatus::Found => {}
                // Retention removed what the offset points at: go on with what is left.
                GetStatus::OffsetTooSmall if got.next_begin_offset > offset => {
                    offset = got.next_begin_offset;
                    continue;
                }
                _ => break,
            }
            for record in &got.messages {
                let view = match RecordView::parse(record) {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::error!(level, offset, error = %e, "unreadable delayed message skipped");
                        continue;
                    }
                };
                if now_millis() < view.store_timestamp + delay || !deliver(store, &view).await {
                    break 'reading;
                }
                offset = view.queue_offset + 1;
            }
            // Everything read was delivered (or unreadable): continue after the batch.
            offset = offset.max(got.next_begin_offset);
        }
        if offset != start {
            self.set_offset(level, offset);
        }
        offset != start
    }

    /// After a crash the saved offsets may be behind what was delivered: moves each level
    /// past the messages whose copy is already in their real queue. Returns how many.
    fn skip_delivered(&self, store: &MessageStore, levels: i32) -> u64 {
        let mut skipped = 0;
        for level in 1..=levels {
            let mut offset = self.offset(level);
            loop {
                let got = store.get_message(SCHEDULE_TOPIC, level - 1, offset, 1, None);
                let Some(record) = got
                    .messages
                    .first()
                    .filter(|_| got.status == GetStatus::Found)
                else {
                    break;
                };
                let Ok(view) = RecordView::parse(record) else {
                    break;
                };
                if !already_delivered(store, &view) {
                    break;
                }
                offset = view.queue_offset + 1;
                skipped += 1;
            }
            if offset != self.offset(level) {
                self.set_offset(level, offset);
            }
        }
        skipped
    }
}

/// True when the delayed record `view` has a delivered copy: same UNIQ_KEY, in its real topic
/// and queue, stored no earlier than the delayed record (earlier copies with the same key are
/// previous rounds of a retried message).
pub(crate) fn already_delivered(store: &MessageStore, view: &RecordView<'_>) -> bool {
    let (Some(uniq), Some(topic), Some(qid)) = (
        view.property(UNIQ_KEY),
        view.property(REAL_TOPIC),
        view.property(REAL_QID).and_then(|q| q.parse::<i32>().ok()),
    ) else {
        return false;
    };
    // The index keeps store times in whole seconds from its file's start (rounded down), so a
    // copy stored within a second of the held record would fall outside a range that starts
    // at the record's time: widen the range, then compare the exact times below.
    let begin = view.store_timestamp.saturating_sub(1000);
    let found = store.query_message(topic, uniq, 64, begin, i64::MAX, true);
    found.messages.iter().any(|b| {
        RecordView::parse(b).is_ok_and(|m| {
            m.queue_id == qid && m.store_timestamp >= view.store_timestamp && m.topic == topic
        })
    })
}

/// Re-stores a due message in its real topic and queue, keeping everything else (Java
/// `messageTimeup`). False when it could not be stored (retried at the next tick).
async fn deliver(store: &MessageStore, view: &RecordView<'_>) -> bool {
    let Some(msg) = real_queue_message(view) else {
        return true;
    };
    stored_or_logged(store.put_message(msg).await.status, msg.topic)
}

/// [`deliver`] for the timer thread: appends without waiting for the disk or the dispatch
/// (the timer makes the copies durable before it records them as delivered).
pub(crate) fn deliver_now(store: &MessageStore, view: &RecordView<'_>) -> bool {
    let Some(msg) = real_queue_message(view) else {
        return true;
    };
    stored_or_logged(store.put(msg).status, msg.topic)
}

/// The copy of a held record for its real topic and queue: same body, flag, sysFlag, born
/// time and host, reconsume times and properties. `None` (logged: the record is dropped) when
/// REAL_TOPIC / REAL_QID are missing.
fn real_queue_message<'a>(view: &RecordView<'a>) -> Option<MessageToStore<'a>> {
    let (Some(topic), Some(queue_id)) = (
        view.property(REAL_TOPIC),
        view.property(REAL_QID).and_then(|q| q.parse::<i32>().ok()),
    ) else {
        tracing::error!(
            offset = view.physical_offset,
            topic = view.topic,
            "held message without REAL_TOPIC/REAL_QID dropped"
        );
        return None;
    };
    Some(MessageToStore::copy_of(
        view,
        topic,
        queue_id,
        view.properties,
    ))
}

/// True when `status` means stored; otherwise logs (the caller retries later).
fn stored_or_logged(status: PutStatus, topic: &str) -> bool {
    if status.is_stored() {
        return true;
    }
    tracing::warn!(topic, ?status, "delivering a held message failed; retrying");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delayed_sends_keep_their_real_topic_and_queue() {
        let s = schedule_for("DELAY\u{1}3\u{2}", "T", 2, 0, 18)
            .unwrap()
            .unwrap();
        assert_eq!((s.level, s.queue_id), (3, 2));
        assert_eq!(
            s.properties,
            "DELAY\u{1}3\u{2}REAL_TOPIC\u{1}T\u{2}REAL_QID\u{1}2\u{2}"
        );
        // Clamped to the configured count.
        let s = schedule_for("DELAY\u{1}40\u{2}", "T", 0, 0, 18)
            .unwrap()
            .unwrap();
        assert_eq!((s.level, s.queue_id), (18, 17));
    }

    #[test]
    fn no_delay_zero_and_transaction_halves_pass_through() {
        assert_eq!(schedule_for("", "T", 0, 0, 18).unwrap(), None);
        assert_eq!(
            schedule_for("DELAY\u{1}0\u{2}", "T", 0, 0, 18).unwrap(),
            None
        );
        let prepared = sys_flag::TRANSACTION_PREPARED_TYPE;
        assert_eq!(
            schedule_for("DELAY\u{1}2\u{2}", "T", 0, prepared, 18).unwrap(),
            None
        );
    }

    #[test]
    fn a_level_replaces_stale_real_queue_and_clears_timer_requests() {
        let props = "REAL_TOPIC\u{1}Old\u{2}REAL_QID\u{1}7\u{2}TIMER_DELAY_MS\u{1}500\u{2}\
                     DELAY\u{1}2\u{2}__STARTDELIVERTIME\u{1}9\u{2}";
        let s = schedule_for(props, "%RETRY%G", 1, 0, 18).unwrap().unwrap();
        assert_eq!(
            s.properties,
            "DELAY\u{1}2\u{2}__STARTDELIVERTIME\u{1}9\u{2}REAL_TOPIC\u{1}%RETRY%G\u{2}\
             REAL_QID\u{1}1\u{2}"
        );
    }

    #[test]
    fn bad_levels_are_refused() {
        for bad in ["DELAY\u{1}-1\u{2}", "DELAY\u{1}soon\u{2}"] {
            assert!(matches!(
                schedule_for(bad, "T", 0, 0, 18),
                Err(BrokerError::MessageIllegal { .. })
            ));
        }
    }
}
