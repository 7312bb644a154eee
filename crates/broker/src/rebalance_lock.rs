//! Queue locks of ordered consumption (RocketMQ's `RebalanceLockManager`).
//!
//! A table per consumer group maps each [`MessageQueue`] to the client id that holds it and the
//! time of its last renewal. A lock is granted when the queue is free, expired, or already held
//! by the caller (which renews it); an entry expires [`LOCK_MAX_LIVE_TIME`] after its last
//! renewal (Java's `rocketmq.broker.rebalance.lockMaxLiveTime`). Orderly consumers renew every
//! 20 s, so a live holder never loses its queues, and a dead one frees them after a minute.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use ferromq_proto::body::MessageQueue;
use parking_lot::Mutex;

/// How long a lock lives after its last renewal.
pub const LOCK_MAX_LIVE_TIME: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
struct LockEntry {
    client_id: String,
    last_update: Instant,
}

impl LockEntry {
    fn expired(&self, now: Instant, ttl: Duration) -> bool {
        now.saturating_duration_since(self.last_update) > ttl
    }
}

/// Every group's queue locks.
pub struct RebalanceLockManager {
    ttl: Duration,
    groups: Mutex<HashMap<String, HashMap<MessageQueue, LockEntry>>>,
}

impl Default for RebalanceLockManager {
    fn default() -> Self {
        Self::with_ttl(LOCK_MAX_LIVE_TIME)
    }
}

impl RebalanceLockManager {
    /// A table whose entries live `ttl` after their last renewal.
    pub fn with_ttl(ttl: Duration) -> Self {
        RebalanceLockManager {
            ttl,
            groups: Mutex::default(),
        }
    }

    /// LOCK_BATCH_MQ: grants (or renews) each queue of `mqs` that is free, expired or already
    /// held by `client_id`; returns the queues the client holds afterwards.
    pub fn try_lock_batch(
        &self,
        group: &str,
        mqs: &BTreeSet<MessageQueue>,
        client_id: &str,
    ) -> BTreeSet<MessageQueue> {
        self.try_lock_batch_at(group, mqs, client_id, Instant::now())
    }

    /// [`RebalanceLockManager::try_lock_batch`] at a given time (for tests).
    pub fn try_lock_batch_at(
        &self,
        group: &str,
        mqs: &BTreeSet<MessageQueue>,
        client_id: &str,
        now: Instant,
    ) -> BTreeSet<MessageQueue> {
        let mut groups = self.groups.lock();
        let table = groups.entry(group.to_owned()).or_default();
        let mut granted = BTreeSet::new();
        for mq in mqs {
            match table.get_mut(mq) {
                Some(e) if e.client_id == client_id => {
                    e.last_update = now;
                    granted.insert(mq.clone());
                }
                Some(e) if e.expired(now, self.ttl) => {
                    tracing::info!(group, queue = ?mq, old = %e.client_id, new = client_id, "queue lock expired, granted to another client");
                    e.client_id = client_id.to_owned();
                    e.last_update = now;
                    granted.insert(mq.clone());
                }
                Some(_) => {}
                None => {
                    table.insert(
                        mq.clone(),
                        LockEntry {
                            client_id: client_id.to_owned(),
                            last_update: now,
                        },
                    );
                    granted.insert(mq.clone());
                }
            }
        }
        granted
    }

    /// UNLOCK_BATCH_MQ: releases the queues of `mqs` that `client_id` holds; others are left.
    pub fn unlock_batch(&self, group: &str, mqs: &BTreeSet<MessageQueue>, client_id: &str) {
        let mut groups = self.groups.lock();
        let Some(table) = groups.get_mut(group) else {
            return;
        };
        for mq in mqs {
            if table.get(mq).is_some_and(|e| e.client_id == client_id) {
                table.remove(mq);
            }
        }
        if table.is_empty() {
            groups.remove(group);
        }
    }

    /// True while any queue of `group` has an unexpired lock (the broker sends such a group's
    /// retries straight to its DLQ).
    pub fn group_holds_locks(&self, group: &str) -> bool {
        let now = Instant::now();
        self.groups
            .lock()
            .get(group)
            .is_some_and(|t| t.values().any(|e| !e.expired(now, self.ttl)))
    }

    /// The client holding `mq` for `group`, if the lock is live.
    pub fn holder(&self, group: &str, mq: &MessageQueue) -> Option<String> {
        let now = Instant::now();
        self.groups
            .lock()
            .get(group)
            .and_then(|t| t.get(mq))
            .filter(|e| !e.expired(now, self.ttl))
            .map(|e| e.client_id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qs(ids: &[i32]) -> BTreeSet<MessageQueue> {
        ids.iter()
            .map(|i| MessageQueue::new("T", "broker-a", *i))
            .collect()
    }

    #[test]
    fn free_queues_are_granted_and_held_ones_refused() {
        let m = RebalanceLockManager::default();
        assert_eq!(m.try_lock_batch("g", &qs(&[0, 1]), "c1"), qs(&[0, 1]));
        assert_eq!(m.try_lock_batch("g", &qs(&[1, 2]), "c2"), qs(&[2]));
        // The holder renews.
        assert_eq!(m.try_lock_batch("g", &qs(&[0, 1, 2]), "c1"), qs(&[0, 1]));
        // Another group is independent.
        assert_eq!(m.try_lock_batch("g2", &qs(&[0]), "c2"), qs(&[0]));
        assert_eq!(
            m.holder("g", &MessageQueue::new("T", "broker-a", 2))
                .as_deref(),
            Some("c2")
        );
        assert!(m.group_holds_locks("g"));
    }

    #[test]
    fn unlock_releases_only_the_callers_queues() {
        let m = RebalanceLockManager::default();
        m.try_lock_batch("g", &qs(&[0, 1]), "c1");
        m.try_lock_batch("g", &qs(&[2]), "c2");
        m.unlock_batch("g", &qs(&[0, 2]), "c1");
        assert_eq!(m.try_lock_batch("g", &qs(&[0, 1, 2]), "c3"), qs(&[0]));
        m.unlock_batch("g", &qs(&[1]), "c1");
        m.unlock_batch("g", &qs(&[0]), "c3");
        m.unlock_batch("g", &qs(&[2]), "c2");
        assert!(!m.group_holds_locks("g"));
    }

    #[test]
    fn an_expired_lock_goes_to_the_next_caller() {
        let m = RebalanceLockManager::with_ttl(Duration::from_secs(60));
        let t0 = Instant::now();
        m.try_lock_batch_at("g", &qs(&[0]), "c1", t0);
        let just_before = t0 + Duration::from_secs(60);
        assert!(m
            .try_lock_batch_at("g", &qs(&[0]), "c2", just_before)
            .is_empty());
        let after = t0 + Duration::from_secs(61);
        assert_eq!(m.try_lock_batch_at("g", &qs(&[0]), "c2", after), qs(&[0]));
        // The old holder has lost it.
        assert!(m.try_lock_batch_at("g", &qs(&[0]), "c1", after).is_empty());
    }
}
