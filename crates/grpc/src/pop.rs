//! Pop consumption state (RocketMQ 5's `PopMessageProcessor` model) for SimpleConsumer and
//! PushConsumer clients of the gRPC API.
//!
//! ```text
//! per topic@group, per queue:   committed ≤ [in flight offsets …] < next
//!   receive ─▶ in-flight entries whose invisible time passed (attempt + 1), then new ones from `next`
//!   ack     ─▶ entry removed; committed = lowest in-flight offset (or `next`) → consumer offsets
//!   change  ─▶ entry visible again at now + duration, under a new receipt handle
//! ```
//!
//! Every change is written to `config/popState.json` (beside `consumerOffset.json`) before it
//! is answered: an acked message never comes back after a restart or a kill -9, and a received
//! but unacked one comes back once its invisible time has passed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One message received and not yet acked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inflight {
    /// When it becomes visible again (ms since the epoch).
    pub visible_at: i64,
    /// Deliveries so far (1 for the first).
    pub attempt: i32,
    /// Receipt handle generation: a handle carries it, and only the current one is valid.
    pub seq: u64,
}

/// The pop state of one queue for one group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueState {
    /// The next offset never delivered.
    pub next: i64,
    /// Received, not acked.
    pub inflight: BTreeMap<i64, Inflight>,
}

impl QueueState {
    /// The offset below which everything is acked (or filtered out).
    pub fn committed(&self) -> i64 {
        self.inflight.keys().next().copied().unwrap_or(self.next)
    }

    /// True when a message of this queue is in flight and still invisible: a FIFO group gets
    /// nothing newer from the queue until it is acked or comes back.
    pub fn blocks_fifo(&self, now: i64) -> bool {
        self.inflight.values().any(|e| e.visible_at > now)
    }
}

/// The whole table, as persisted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopTable {
    /// Last receipt handle generation handed out.
    pub seq: u64,
    /// `topic@group` → queue id → state.
    pub queues: BTreeMap<String, BTreeMap<i32, QueueState>>,
}

/// Key of a topic and group (the consumer offsets' form).
pub fn key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

/// What a receipt handle names. Its text form: `<queue> <offset> <seq> <broker>`, read back by
/// [`ReceiptHandle::parse`] only (clients treat handles as opaque).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptHandle {
    /// Queue id.
    pub queue_id: i32,
    /// Queue offset of the message.
    pub offset: i64,
    /// Generation.
    pub seq: u64,
    /// The broker that issued it.
    pub broker: String,
}

impl ReceiptHandle {
    /// The text form.
    pub fn encode(&self) -> String {
        format!(
            "fmq1 {} {} {} {}",
            self.queue_id, self.offset, self.seq, self.broker
        )
    }

    /// Reads the text form; `None` when it is not one.
    pub fn parse(text: &str) -> Option<ReceiptHandle> {
        let mut parts = text.split(' ');
        if parts.next()? != "fmq1" {
            return None;
        }
        let queue_id = parts.next()?.parse().ok()?;
        let offset = parts.next()?.parse().ok()?;
        let seq = parts.next()?.parse().ok()?;
        let broker = parts.next()?.to_owned();
        if parts.next().is_some() || queue_id < 0 || offset < 0 {
            return None;
        }
        Some(ReceiptHandle {
            queue_id,
            offset,
            seq,
            broker,
        })
    }
}

/// Why a receipt handle was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleError {
    /// Not in flight: acked already, or never delivered.
    NotInFlight,
    /// In flight under a newer handle (it came back after its invisible time, or its invisible
    /// duration was changed).
    Expired,
}

impl PopTable {
    /// The state of one queue, created at `start` when new.
    pub fn queue(
        &mut self,
        key: &str,
        queue_id: i32,
        start: impl FnOnce() -> i64,
    ) -> &mut QueueState {
        self.queues
            .entry(key.to_owned())
            .or_default()
            .entry(queue_id)
            .or_insert_with(|| QueueState {
                next: start(),
                inflight: BTreeMap::new(),
            })
    }

    /// A new receipt handle generation.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Checks that `handle` is the current one of an in-flight message.
    pub fn check(&self, key: &str, h: &ReceiptHandle) -> Result<Inflight, HandleError> {
        let entry = self
            .queues
            .get(key)
            .and_then(|q| q.get(&h.queue_id))
            .and_then(|q| q.inflight.get(&h.offset))
            .ok_or(HandleError::NotInFlight)?;
        if entry.seq != h.seq {
            return Err(HandleError::Expired);
        }
        Ok(*entry)
    }

    /// Acks the message `h` names; returns the queue's committed offset afterwards.
    pub fn ack(&mut self, key: &str, h: &ReceiptHandle) -> Result<i64, HandleError> {
        self.check(key, h)?;
        let q = self
            .queues
            .get_mut(key)
            .and_then(|q| q.get_mut(&h.queue_id))
            .ok_or(HandleError::NotInFlight)?;
        q.inflight.remove(&h.offset);
        Ok(q.committed())
    }

    /// Makes the message `h` names visible again at `visible_at`, under a new handle
    /// generation (returned).
    pub fn change(
        &mut self,
        key: &str,
        h: &ReceiptHandle,
        visible_at: i64,
    ) -> Result<(u64, Inflight), HandleError> {
        self.check(key, h)?;
        let seq = self.next_seq();
        let entry = self
            .queues
            .get_mut(key)
            .and_then(|q| q.get_mut(&h.queue_id))
            .and_then(|q| q.inflight.get_mut(&h.offset))
            .ok_or(HandleError::NotInFlight)?;
        entry.seq = seq;
        entry.visible_at = visible_at;
        Ok((seq, *entry))
    }

    /// Serialized form.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Reads the serialized form.
    pub fn from_json(bytes: &[u8]) -> Result<PopTable, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(offset: i64, seq: u64) -> ReceiptHandle {
        ReceiptHandle {
            queue_id: 1,
            offset,
            seq,
            broker: "broker-a".into(),
        }
    }

    #[test]
    fn receipt_handles_round_trip_and_junk_is_refused() {
        let h = handle(42, 7);
        assert_eq!(ReceiptHandle::parse(&h.encode()), Some(h));
        for junk in [
            "",
            "fmq1",
            "fmq1 1 2",
            "x 1 2 3 b",
            "fmq1 -1 2 3 b",
            "fmq1 1 2 3 b extra",
        ] {
            assert_eq!(ReceiptHandle::parse(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn ack_commits_up_to_the_lowest_message_in_flight_and_stale_handles_are_refused() {
        let mut t = PopTable::default();
        let k = key("T", "G");
        let q = t.queue(&k, 1, || 10);
        for off in 10..13 {
            q.inflight.insert(
                off,
                Inflight {
                    visible_at: 100,
                    attempt: 1,
                    seq: off as u64,
                },
            );
        }
        q.next = 13;
        assert_eq!(t.ack(&k, &handle(11, 11)), Ok(10));
        assert_eq!(t.ack(&k, &handle(11, 11)), Err(HandleError::NotInFlight));
        let (seq, e) = t.change(&k, &handle(10, 10), 500).unwrap();
        assert_eq!(e.visible_at, 500);
        assert_eq!(t.ack(&k, &handle(10, 10)), Err(HandleError::Expired));
        assert_eq!(t.ack(&k, &handle(10, seq)), Ok(12));
        assert_eq!(t.ack(&k, &handle(12, 12)), Ok(13));
        let back = PopTable::from_json(&t.to_json()).unwrap();
        assert_eq!(back, t);
    }
}
