//! Choosing the queue of an ordered send (Java `MessageQueueSelector` and its
//! `SelectMessageQueueByHash` / `SelectMessageQueueByRandom`).
//!
//! All messages with the same sharding key go to the same queue as long as the topic's queue
//! list does not change, which is what partially ordered consumption relies on.

use ferromq_common::java_string_hash;
use ferromq_proto::body::MessageQueue;

use crate::Message;

/// Picks one of `queues` (the topic's writable queues, sorted by broker then id) for `msg`,
/// given the caller's `arg` (usually a sharding key). Returns an index into `queues`.
pub trait QueueSelector: Send + Sync {
    /// The index of the chosen queue; out-of-range answers fail the send.
    fn select(&self, queues: &[MessageQueue], msg: &Message, arg: &str) -> usize;
}

impl<F> QueueSelector for F
where
    F: Fn(&[MessageQueue], &Message, &str) -> usize + Send + Sync,
{
    fn select(&self, queues: &[MessageQueue], msg: &Message, arg: &str) -> usize {
        self(queues, msg, arg)
    }
}

/// `abs(arg.hashCode() % n)` with Java's `String.hashCode` (Java `SelectMessageQueueByHash`), so
/// Rust and Java producers put a key on the same queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectByHash;

impl QueueSelector for SelectByHash {
    fn select(&self, queues: &[MessageQueue], _msg: &Message, arg: &str) -> usize {
        let n = queues.len().max(1) as i32;
        (java_string_hash(arg) % n).unsigned_abs() as usize
    }
}

/// A random queue (Java `SelectMessageQueueByRandom`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectByRandom;

impl QueueSelector for SelectByRandom {
    fn select(&self, queues: &[MessageQueue], _msg: &Message, _arg: &str) -> usize {
        rand::random_range(0..queues.len().max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_selection_matches_java() {
        let qs: Vec<_> = (0..8).map(|i| MessageQueue::new("T", "b", i)).collect();
        let m = Message::new("T", "x");
        // "order-1".hashCode() = -1207111310 (Java); % 8 = -6 -> abs = 6.
        assert_eq!(java_string_hash("order-1"), -1_207_111_310);
        assert_eq!(SelectByHash.select(&qs, &m, "order-1"), 6);
        assert_eq!(SelectByHash.select(&qs, &m, "a"), 97 % 8);
        let same: Vec<_> = (0..5).map(|_| SelectByHash.select(&qs, &m, "k")).collect();
        assert!(same.windows(2).all(|w| w[0] == w[1]));
        assert!(SelectByRandom.select(&qs, &m, "") < 8);
        let custom = |q: &[MessageQueue], _: &Message, _: &str| q.len() - 1;
        assert_eq!(custom.select(&qs, &m, ""), 7);
    }
}
