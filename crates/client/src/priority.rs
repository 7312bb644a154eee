//! Priority messages: `_SYS_MSG_PRIORITY_` (0-9, higher first; set with
//! [`crate::Message::with_priority`]) served through the broker's priority lanes.
//!
//! A topic with the attribute `priority=true` (`mqadmin updateTopic -t T -a +priority=true`)
//! and without the order flag keeps a message of priority `p` > 0 sent to queue `q` in a hidden
//! lane queue `p × 1024 + q` of the same topic (see [`ferromq_proto::priority`]). The push and
//! lite pull consumers serve lanes first:
//!
//! ```text
//! queue q of a consumer ── first pull answers `priorityLanes` ──▶ lanes on for q
//!   sweep: lanes 9, 8, ..., 1 of q, pulled without long polling; a batch found ─▶ consumed,
//!          q marked "draining" and swept again (highest lane first)
//!   normal pull of q (long poll) only while no queue of this consumer is draining; a message
//!          landing in a lane of q wakes that long poll, and q is swept again at least every
//!          100 ms while its normal backlog flows
//! ```
//!
//! So, within a broker, a consumer's whole backlog of higher priority (over all its queues,
//! its retry topic included) is pulled before any more normal messages; messages of one
//! priority keep their queue order (one lane per queue and level), and listener calls start in
//! the order batches were pulled. Lane offsets are committed per group like any queue's.
//! Retried messages keep their priority: the broker stores the `%RETRY%` copy of a lane message
//! in the retry topic's lane of the same level. Orderly consumers ignore lanes (ordered topics
//! keep every message in its queue), and so do consumers that do not know lanes (the C++
//! client, [`crate::PullConsumer`]): only lane-aware consumers should consume a priority topic.
//! Trade-offs: a normal message pulled just before a lane filled is still consumed (at most one
//! pull batch per queue comes before later high-priority ones), and each sweep of an empty lane
//! set costs nine quick pulls.

use std::collections::HashSet;
use std::time::Duration;

use ferromq_proto::body::MessageQueue;
use ferromq_proto::message::MessageExt;
use parking_lot::Mutex;

pub use ferromq_proto::priority::{
    is_lane_of, lane, level_of, split, LANE_STRIDE, MAX_PRIORITY, PROPERTY_PRIORITY,
    TOPIC_ATTRIBUTE,
};

/// A queue whose lanes looked empty sweeps them again this often while normal messages flow.
pub(crate) const SWEEP_INTERVAL: Duration = Duration::from_millis(100);
/// Pause of a normal pull while another queue drains its lanes.
pub(crate) const GATE_DELAY: Duration = Duration::from_millis(10);

/// The priority of a received message (0 when it has none).
pub fn priority_of(m: &MessageExt) -> u8 {
    level_of(m.properties.get(PROPERTY_PRIORITY)) as u8
}

/// Whether a queue has lanes, as its pulls told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lanes {
    /// Not pulled yet: the first pull does not long-poll, so the answer comes at once.
    Unknown,
    Off,
    On,
}

/// The queues of one consumer whose lanes have (or may have) a backlog: while any has, normal
/// pulls of the other queues wait.
#[derive(Default)]
pub(crate) struct Gate {
    draining: Mutex<HashSet<MessageQueue>>,
}

impl Gate {
    /// Marks `mq` draining until told otherwise; the guard forgets it when its pull loop ends.
    pub(crate) fn enter(&self, mq: &MessageQueue) -> GateGuard<'_> {
        self.draining.lock().insert(mq.clone());
        GateGuard {
            gate: self,
            mq: mq.clone(),
        }
    }

    fn set(&self, mq: &MessageQueue, draining: bool) {
        let mut d = self.draining.lock();
        if draining {
            if !d.contains(mq) {
                d.insert(mq.clone());
            }
        } else {
            d.remove(mq);
        }
    }

    /// True when a queue other than `mq` is draining its lanes.
    pub(crate) fn others_draining(&self, mq: &MessageQueue) -> bool {
        self.draining.lock().iter().any(|m| m != mq)
    }
}

/// A queue's membership in a [`Gate`].
pub(crate) struct GateGuard<'a> {
    gate: &'a Gate,
    mq: MessageQueue,
}

impl GateGuard<'_> {
    /// Marks the queue draining (lanes had messages or are not known yet) or done.
    pub(crate) fn set(&self, draining: bool) {
        self.gate.set(&self.mq, draining);
    }
}

impl Drop for GateGuard<'_> {
    fn drop(&mut self) {
        self.gate.set(&self.mq, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draining_queue_holds_the_others_until_done_or_gone() {
        let gate = Gate::default();
        let a = MessageQueue::new("T", "b", 0);
        let b = MessageQueue::new("T", "b", 1);
        let ga = gate.enter(&a);
        assert!(gate.others_draining(&b));
        assert!(!gate.others_draining(&a));
        ga.set(false);
        assert!(!gate.others_draining(&b));
        ga.set(true);
        assert!(gate.others_draining(&b));
        drop(ga);
        assert!(!gate.others_draining(&b));
    }
}
