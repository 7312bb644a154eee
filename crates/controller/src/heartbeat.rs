//! Broker liveness, in memory on every controller node (RocketMQ's
//! `DefaultBrokerHeartbeatManager`). Brokers heartbeat every controller they can reach, so a
//! newly elected leader already knows who is alive.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::config::DEFAULT_BROKER_TIMEOUT_MS;
use crate::headers::ControllerHeartbeatRequestHeader;

/// One replica: cluster, broker set and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrokerKey {
    /// Cluster.
    pub cluster_name: String,
    /// Broker set.
    pub broker_name: String,
    /// Replica id.
    pub broker_id: i64,
}

/// What the last heartbeat of a replica said.
#[derive(Debug, Clone)]
pub struct LiveInfo {
    /// Address the broker serves on.
    pub addr: String,
    /// When the last heartbeat arrived.
    pub last: Instant,
    /// How long a heartbeat counts (`heartbeatTimeoutMills`, 10 s when absent).
    pub timeout: Duration,
    /// Highest master epoch the replica has seen (-1 unknown).
    pub epoch: i32,
    /// Its commit-log max offset (-1 unknown).
    pub max_offset: i64,
    /// Its confirmed offset (-1 unknown).
    pub confirm_offset: i64,
    /// `brokerElectionPriority`: lower wins ties (i32::MAX when absent).
    pub priority: i32,
    /// Connection the heartbeat came on.
    pub conn_id: u64,
}

impl LiveInfo {
    fn active(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last) <= self.timeout
    }
}

/// Heartbeats by replica.
#[derive(Debug, Default)]
pub struct HeartbeatTable {
    live: HashMap<BrokerKey, LiveInfo>,
    /// Every replica this node ever heard from (expiry does not remove it).
    seen: HashSet<BrokerKey>,
}

impl HeartbeatTable {
    /// Records a heartbeat with a known `broker_id`.
    pub fn on_heartbeat(
        &mut self,
        h: &ControllerHeartbeatRequestHeader,
        broker_id: i64,
        conn_id: u64,
        now: Instant,
    ) {
        let key = BrokerKey {
            cluster_name: h.cluster_name.clone(),
            broker_name: h.broker_name.clone(),
            broker_id,
        };
        let timeout = Duration::from_millis(
            h.heartbeat_timeout_mills
                .and_then(|t| u64::try_from(t).ok())
                .unwrap_or(DEFAULT_BROKER_TIMEOUT_MS),
        );
        let epoch = h.epoch.unwrap_or(-1);
        let max_offset = h.max_offset.unwrap_or(-1);
        let priority = h.election_priority.unwrap_or(i32::MAX);
        if !self.seen.contains(&key) {
            self.seen.insert(key.clone());
        }
        match self.live.get_mut(&key) {
            None => {
                tracing::info!(
                    cluster = %key.cluster_name, broker = %key.broker_name, id = broker_id,
                    addr = %h.broker_addr, "broker heartbeat: new replica"
                );
                self.live.insert(
                    key,
                    LiveInfo {
                        addr: h.broker_addr.clone(),
                        last: now,
                        timeout,
                        epoch,
                        max_offset,
                        confirm_offset: h.confirm_offset.unwrap_or(-1),
                        priority,
                        conn_id,
                    },
                );
            }
            Some(prev) => {
                prev.last = now;
                prev.timeout = timeout;
                prev.priority = priority;
                prev.conn_id = conn_id;
                prev.addr.clone_from(&h.broker_addr);
                // Only move forward, like RocketMQ: (epoch, offset) never goes back.
                if epoch > prev.epoch || (epoch == prev.epoch && max_offset > prev.max_offset) {
                    prev.epoch = epoch;
                    prev.max_offset = max_offset;
                    prev.confirm_offset = h.confirm_offset.unwrap_or(-1);
                }
            }
        }
    }

    /// True when the replica's last heartbeat is within its timeout.
    pub fn is_active(&self, cluster: &str, broker_name: &str, id: i64, now: Instant) -> bool {
        let key = BrokerKey {
            cluster_name: cluster.to_owned(),
            broker_name: broker_name.to_owned(),
            broker_id: id,
        };
        self.live.get(&key).is_some_and(|l| l.active(now))
    }

    /// True when this node ever received a heartbeat from the replica.
    pub fn ever_seen(&self, cluster: &str, broker_name: &str, id: i64) -> bool {
        self.seen.contains(&BrokerKey {
            cluster_name: cluster.to_owned(),
            broker_name: broker_name.to_owned(),
            broker_id: id,
        })
    }

    /// Ids of the live replicas of a set.
    pub fn alive_ids(&self, cluster: &str, broker_name: &str, now: Instant) -> BTreeSet<i64> {
        self.live
            .iter()
            .filter(|(k, l)| {
                k.cluster_name == cluster && k.broker_name == broker_name && l.active(now)
            })
            .map(|(k, _)| k.broker_id)
            .collect()
    }

    /// Live replicas of a set, best election candidate first: highest epoch, then highest
    /// max offset, then lowest priority value, then lowest id (RocketMQ's `DefaultElectPolicy`
    /// comparator, made total).
    pub fn ranked_alive(&self, cluster: &str, broker_name: &str, now: Instant) -> Vec<i64> {
        let mut alive: Vec<(&BrokerKey, &LiveInfo)> = self
            .live
            .iter()
            .filter(|(k, l)| {
                k.cluster_name == cluster && k.broker_name == broker_name && l.active(now)
            })
            .collect();
        alive.sort_by(|(ka, a), (kb, b)| {
            b.epoch
                .cmp(&a.epoch)
                .then(b.max_offset.cmp(&a.max_offset))
                .then(a.priority.cmp(&b.priority))
                .then(ka.broker_id.cmp(&kb.broker_id))
        });
        alive.into_iter().map(|(k, _)| k.broker_id).collect()
    }

    /// Drops replicas whose heartbeat timed out; returns them.
    pub fn expire(&mut self, now: Instant) -> Vec<BrokerKey> {
        let dead: Vec<BrokerKey> = self
            .live
            .iter()
            .filter(|(_, l)| !l.active(now))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &dead {
            self.live.remove(k);
        }
        dead
    }

    /// Drops replicas whose heartbeats came on connection `conn_id` (it closed); returns them.
    pub fn remove_connection(&mut self, conn_id: u64) -> Vec<BrokerKey> {
        let gone: Vec<BrokerKey> = self
            .live
            .iter()
            .filter(|(_, l)| l.conn_id == conn_id)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &gone {
            self.live.remove(k);
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(id: i64, epoch: i32, offset: i64, priority: i32) -> ControllerHeartbeatRequestHeader {
        ControllerHeartbeatRequestHeader {
            cluster_name: "c".into(),
            broker_addr: format!("10.0.0.{id}:10911"),
            broker_name: "b".into(),
            broker_id: Some(id),
            epoch: Some(epoch),
            max_offset: Some(offset),
            heartbeat_timeout_mills: Some(1_000),
            election_priority: Some(priority),
            ..Default::default()
        }
    }

    #[test]
    fn ranks_by_epoch_offset_priority_and_expires() {
        let mut t = HeartbeatTable::default();
        let now = Instant::now();
        t.on_heartbeat(&beat(1, 2, 100, 5), 1, 1, now);
        t.on_heartbeat(&beat(2, 2, 300, 5), 2, 1, now);
        t.on_heartbeat(&beat(3, 2, 300, 1), 3, 2, now);
        t.on_heartbeat(&beat(4, 1, 900, 0), 4, 2, now);
        assert_eq!(t.ranked_alive("c", "b", now), vec![3, 2, 1, 4]);
        let later = now + Duration::from_millis(1_500);
        t.on_heartbeat(&beat(2, 2, 300, 5), 2, 1, later);
        assert!(t.is_active("c", "b", 2, later) && !t.is_active("c", "b", 1, later));
        let mut dead: Vec<i64> = t.expire(later).into_iter().map(|k| k.broker_id).collect();
        dead.sort_unstable();
        assert_eq!(dead, vec![1, 3, 4]);
        assert_eq!(t.remove_connection(1).len(), 1);
        assert!(t.alive_ids("c", "b", later).is_empty());
    }
}
