//! The client-side state of one assigned queue (Java `ProcessQueue`): the pulled messages not
//! yet consumed (what flow control counts), the lock state of orderly consumption, and the
//! "dropped" flag that stops everything working on a queue that was taken away.
//!
//! ```text
//! pull ─▶ put() ─▶ msgs (offset → size, and the message when orderly)
//!                   │ concurrent: consume tasks ─▶ remove(offsets) ─▶ offset to commit = first
//!                   │             offset still cached, or max + 1 when none is
//!                   │ orderly: take(n) ─▶ consuming ─▶ commit() ─▶ last taken + 1
//!                   ▼                               └▶ make_again() on failure (same order)
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ferromq_proto::message::MessageExt;
use parking_lot::Mutex;

/// A lock is trusted this long after its last successful renewal (Java
/// `rocketmq.client.rebalance.lockMaxLiveTime`).
pub const LOCK_VALIDITY: Duration = Duration::from_secs(30);
/// A queue not pulled for this long is dropped by the next rebalance (Java
/// `pullMaxIdleTime`).
pub const PULL_MAX_IDLE: Duration = Duration::from_secs(120);

#[derive(Debug, Default)]
struct State {
    /// Cached messages: offset → (body size, the message when kept for orderly consumption).
    msgs: BTreeMap<i64, (usize, Option<MessageExt>)>,
    /// Orderly: messages taken for the listener, not yet committed.
    consuming: BTreeMap<i64, (usize, MessageExt)>,
    count: usize,
    bytes: usize,
    max_offset: i64,
    /// Orderly: a consume task is running for this queue.
    consume_running: bool,
    last_lock: Option<Instant>,
    last_pull: Option<Instant>,
    /// When the listener last finished with messages of this queue.
    last_consume: Option<Instant>,
}

/// Flow-control figures of a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Messages cached (pulled, not yet consumed).
    pub cached_count: usize,
    /// Their body bytes.
    pub cached_bytes: usize,
    /// Highest minus lowest cached offset.
    pub span: i64,
}

/// One assigned queue.
#[derive(Debug)]
pub struct ProcessQueue {
    state: Mutex<State>,
    dropped: AtomicBool,
    locked: AtomicBool,
    /// Held while an orderly listener runs, so a rebalance can wait for it before unlocking.
    pub(crate) consume_lock: tokio::sync::Mutex<()>,
}

impl Default for ProcessQueue {
    fn default() -> Self {
        ProcessQueue {
            state: Mutex::new(State {
                max_offset: -1,
                ..Default::default()
            }),
            dropped: AtomicBool::new(false),
            locked: AtomicBool::new(false),
            consume_lock: tokio::sync::Mutex::const_new(()),
        }
    }
}

impl ProcessQueue {
    /// True once the queue was taken away or the consumer stopped.
    pub fn dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }

    pub(crate) fn set_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
    }

    /// Orderly: the broker lock is held and was renewed within [`LOCK_VALIDITY`].
    pub fn lock_valid(&self) -> bool {
        self.locked.load(Ordering::Acquire)
            && self
                .state
                .lock()
                .last_lock
                .is_some_and(|t| t.elapsed() <= LOCK_VALIDITY)
    }

    pub(crate) fn set_locked(&self, locked: bool) {
        self.locked.store(locked, Ordering::Release);
        if locked {
            self.state.lock().last_lock = Some(Instant::now());
        }
    }

    pub(crate) fn touch_pull(&self) {
        self.state.lock().last_pull = Some(Instant::now());
    }

    /// True when nothing was pulled for [`PULL_MAX_IDLE`].
    pub(crate) fn pull_expired(&self) -> bool {
        self.state
            .lock()
            .last_pull
            .is_some_and(|t| t.elapsed() > PULL_MAX_IDLE)
    }

    /// Flow-control figures.
    pub fn stats(&self) -> QueueStats {
        let s = self.state.lock();
        let span = match (s.msgs.keys().next(), s.msgs.keys().next_back()) {
            (Some(a), Some(b)) => b - a,
            _ => 0,
        };
        QueueStats {
            cached_count: s.count,
            cached_bytes: s.bytes,
            span,
        }
    }

    /// Caches pulled messages; `keep` stores the messages themselves (orderly). Returns true
    /// when an orderly consume task should be started (Java `putMessage`'s `dispatchToConsume`).
    pub(crate) fn put(&self, msgs: &[MessageExt], keep: bool) -> bool {
        let mut s = self.state.lock();
        for m in msgs {
            let size = m.body.len();
            let slot = (size, keep.then(|| m.clone()));
            if s.msgs.insert(m.queue_offset, slot).is_none() {
                s.count += 1;
                s.bytes += size;
            }
            s.max_offset = s.max_offset.max(m.queue_offset);
        }
        if keep && !s.msgs.is_empty() && !s.consume_running {
            s.consume_running = true;
            return true;
        }
        false
    }

    /// Concurrent: forgets consumed messages; returns the offset to commit (the first offset
    /// still cached, or the highest pulled + 1), or `None` when nothing was cached.
    pub(crate) fn remove(&self, offsets: &[i64]) -> Option<i64> {
        let mut s = self.state.lock();
        if s.msgs.is_empty() {
            return None;
        }
        s.last_consume = Some(Instant::now());
        for o in offsets {
            if let Some((size, _)) = s.msgs.remove(o) {
                s.count -= 1;
                s.bytes -= size;
            }
        }
        Some(match s.msgs.keys().next() {
            Some(first) => *first,
            None => s.max_offset + 1,
        })
    }

    /// Orderly: takes up to `n` messages in offset order for the listener. Empty means the
    /// consume task should stop (and it is marked stopped).
    pub(crate) fn take(&self, n: usize) -> Vec<MessageExt> {
        let mut s = self.state.lock();
        let mut out = Vec::new();
        while out.len() < n {
            let Some((offset, (size, msg))) = s.msgs.pop_first() else {
                break;
            };
            match msg {
                Some(m) => {
                    out.push(m.clone());
                    s.consuming.insert(offset, (size, m));
                }
                None => {
                    s.count -= 1;
                    s.bytes -= size;
                }
            }
        }
        if out.is_empty() {
            s.consume_running = false;
        }
        out
    }

    /// Orderly: the taken messages were consumed; returns the offset to commit.
    pub(crate) fn commit(&self) -> Option<i64> {
        let mut s = self.state.lock();
        let last = s.consuming.keys().next_back().copied()?;
        s.last_consume = Some(Instant::now());
        let consuming = std::mem::take(&mut s.consuming);
        for (size, _) in consuming.values() {
            s.count -= 1;
            s.bytes -= size;
        }
        Some(last + 1)
    }

    /// Orderly: the taken messages were not consumed; put them back to be taken again first,
    /// with the reconsume count + 1 when `failed`.
    pub(crate) fn make_again(&self, failed: bool) {
        let mut s = self.state.lock();
        let consuming = std::mem::take(&mut s.consuming);
        for (offset, (size, mut m)) in consuming {
            if failed {
                m.reconsume_times += 1;
            }
            s.msgs.insert(offset, (size, Some(m)));
        }
    }

    /// True while messages are cached or being consumed.
    pub(crate) fn has_messages(&self) -> bool {
        let s = self.state.lock();
        !s.msgs.is_empty() || !s.consuming.is_empty()
    }

    /// Java `ProcessQueue.fillProcessQueueInfo`: everything but the commit offset, times as
    /// epoch milliseconds (0 for never).
    pub fn fill_info(&self, info: &mut ferromq_proto::body::ProcessQueueInfo) {
        let now = ferromq_common::now_millis();
        let epoch = |t: Option<Instant>| {
            t.map_or(0, |t| {
                now - i64::try_from(t.elapsed().as_millis()).unwrap_or(now)
            })
        };
        let s = self.state.lock();
        let first = [s.msgs.keys().next(), s.consuming.keys().next()]
            .into_iter()
            .flatten()
            .min()
            .copied();
        let last = [s.msgs.keys().next_back(), s.consuming.keys().next_back()]
            .into_iter()
            .flatten()
            .max()
            .copied();
        info.cached_msg_min_offset = first.unwrap_or(0);
        info.cached_msg_max_offset = last.unwrap_or(0);
        info.cached_msg_count = s.count as i64;
        info.cached_msg_size_in_mib = (s.bytes / (1024 * 1024)) as i64;
        info.locked = self.locked.load(Ordering::Acquire);
        info.last_lock_timestamp = epoch(s.last_lock);
        info.dropped = self.dropped();
        info.last_pull_timestamp = epoch(s.last_pull);
        info.last_consume_timestamp = epoch(s.last_consume);
    }

    /// Forgets every cached message (the queue is dropped or reset).
    pub(crate) fn clear(&self) {
        let mut s = self.state.lock();
        s.msgs.clear();
        s.consuming.clear();
        s.count = 0;
        s.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn msg(offset: i64, size: usize) -> MessageExt {
        MessageExt {
            store_size: 0,
            magic: 0,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset: offset,
            commit_log_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: "127.0.0.1:1".parse().unwrap(),
            store_timestamp: 0,
            store_host: "127.0.0.1:2".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from(vec![0u8; size]),
            topic: "T".into(),
            properties: Default::default(),
        }
    }

    #[test]
    fn concurrent_commit_offset_is_the_first_unconsumed() {
        let pq = ProcessQueue::default();
        assert_eq!(pq.remove(&[1]), None);
        assert!(!pq.put(&[msg(5, 10), msg(6, 20), msg(7, 30)], false));
        assert_eq!(
            pq.stats(),
            QueueStats {
                cached_count: 3,
                cached_bytes: 60,
                span: 2
            }
        );
        assert_eq!(pq.remove(&[6]), Some(5), "5 is still being consumed");
        assert_eq!(pq.remove(&[5]), Some(7));
        assert_eq!(pq.remove(&[7]), Some(8));
        assert_eq!(pq.stats().cached_count, 0);
        assert_eq!(pq.stats().cached_bytes, 0);
    }

    #[test]
    fn orderly_take_commit_and_retry_keep_the_order() {
        let pq = ProcessQueue::default();
        assert!(pq.put(&[msg(0, 1), msg(1, 1), msg(2, 1)], true));
        assert!(!pq.put(&[msg(3, 1)], true), "a task runs already");
        let first = pq.take(2);
        assert_eq!(
            first.iter().map(|m| m.queue_offset).collect::<Vec<_>>(),
            [0, 1]
        );
        pq.make_again(true);
        let again = pq.take(2);
        assert_eq!(
            again.iter().map(|m| m.queue_offset).collect::<Vec<_>>(),
            [0, 1]
        );
        assert_eq!(again[0].reconsume_times, 1);
        assert_eq!(pq.commit(), Some(2));
        assert_eq!(pq.stats().cached_count, 2);
        assert_eq!(pq.take(10).len(), 2);
        assert_eq!(pq.commit(), Some(4));
        assert!(pq.take(10).is_empty());
        assert!(!pq.has_messages());
        assert!(
            pq.put(&[msg(4, 1)], true),
            "a new task starts after draining"
        );
    }

    #[test]
    fn locks_expire_locally() {
        let pq = ProcessQueue::default();
        assert!(!pq.lock_valid());
        pq.set_locked(true);
        assert!(pq.lock_valid());
        pq.set_locked(false);
        assert!(!pq.lock_valid());
    }
}
