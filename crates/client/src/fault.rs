//! Latency fault tolerance of the producer (Java `MQFaultStrategy` and
//! `LatencyFaultToleranceImpl`, RocketMQ 5 tables): a broker whose last send was slow or failed
//! is avoided for a while, so retries and the next sends go to the others.
//!
//! | last latency ≥ (ms) | 50 | 100 | 550   | 1800  | 3000  | 5000   | 15000  |
//! |---------------------|----|-----|-------|-------|-------|--------|--------|
//! | avoided for (ms)    | 0  | 0   | 2000  | 5000  | 6000  | 10000  | 30000  |
//!
//! A failed send (transport error or broker error) counts as 10 000 ms of latency.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ferromq_proto::body::MessageQueue;
use parking_lot::Mutex;

use crate::route::PublishInfo;

const LATENCY_MAX_MS: [u64; 7] = [50, 100, 550, 1800, 3000, 5000, 15000];
const NOT_AVAILABLE_MS: [u64; 7] = [0, 0, 2000, 5000, 6000, 10000, 30000];
/// Latency charged for a failed attempt.
const ISOLATION_LATENCY_MS: u64 = 10_000;

/// How long a broker is avoided after a send that took `latency_ms`.
pub fn not_available_duration(latency_ms: u64) -> Duration {
    for i in (0..LATENCY_MAX_MS.len()).rev() {
        if latency_ms >= LATENCY_MAX_MS[i] {
            return Duration::from_millis(NOT_AVAILABLE_MS[i]);
        }
    }
    Duration::ZERO
}

#[derive(Debug, Clone, Copy)]
struct FaultItem {
    available_at: Instant,
}

/// Per-broker availability, updated after every send when enabled.
#[derive(Debug, Default)]
pub struct LatencyFaultTolerance {
    enabled: bool,
    items: Mutex<HashMap<String, FaultItem>>,
}

impl LatencyFaultTolerance {
    /// Tolerance that is on (`sendLatencyFaultEnable`) or off.
    pub fn new(enabled: bool) -> Self {
        LatencyFaultTolerance {
            enabled,
            items: Mutex::default(),
        }
    }

    /// Whether it is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Records a send to `broker` that took `latency`; `failed` charges the isolation latency.
    pub fn update(&self, broker: &str, latency: Duration, failed: bool) {
        if !self.enabled {
            return;
        }
        let ms = if failed {
            ISOLATION_LATENCY_MS
        } else {
            latency.as_millis() as u64
        };
        let item = FaultItem {
            available_at: Instant::now() + not_available_duration(ms),
        };
        self.items.lock().insert(broker.to_owned(), item);
    }

    /// True unless `broker` is being avoided.
    pub fn is_available(&self, broker: &str) -> bool {
        self.items
            .lock()
            .get(broker)
            .is_none_or(|i| Instant::now() >= i.available_at)
    }

    /// Picks the queue of the next send: round robin over queues of available brokers, other
    /// than `last_broker` when possible; when every broker is avoided, round robin avoiding
    /// `last_broker` as without tolerance.
    pub fn select(&self, info: &PublishInfo, last_broker: Option<&str>) -> Option<MessageQueue> {
        if self.enabled {
            let n = info.queues.len();
            for pass in 0..2 {
                for _ in 0..n {
                    let q = info.select(None)?;
                    let other_broker = pass == 1 || last_broker != Some(q.broker_name.as_str());
                    if other_broker && self.is_available(&q.broker_name) {
                        return Some(q.clone());
                    }
                }
            }
        }
        info.select(last_broker).cloned()
    }
}

#[cfg(test)]
mod tests {
    use ferromq_proto::body::{BrokerData, QueueData, TopicRouteData};

    use super::*;

    fn info() -> PublishInfo {
        let broker = |name: &str| BrokerData {
            broker_name: name.into(),
            broker_addrs: [(0, format!("{name}:1"))].into_iter().collect(),
            ..Default::default()
        };
        let queues = |name: &str| QueueData {
            broker_name: name.into(),
            perm: 6,
            read_queue_nums: 2,
            write_queue_nums: 2,
            topic_sys_flag: 0,
        };
        PublishInfo::from_route(
            "T",
            &TopicRouteData {
                broker_datas: vec![broker("a"), broker("b")],
                queue_datas: vec![queues("a"), queues("b")],
                ..Default::default()
            },
        )
    }

    #[test]
    fn durations_follow_the_table() {
        assert_eq!(not_available_duration(10), Duration::ZERO);
        assert_eq!(not_available_duration(100), Duration::ZERO);
        assert_eq!(not_available_duration(600), Duration::from_millis(2000));
        assert_eq!(not_available_duration(3000), Duration::from_millis(6000));
        assert_eq!(
            not_available_duration(10_000),
            Duration::from_millis(10_000)
        );
        assert_eq!(
            not_available_duration(60_000),
            Duration::from_millis(30_000)
        );
    }

    #[test]
    fn a_failed_broker_is_avoided() {
        let f = LatencyFaultTolerance::new(true);
        let info = info();
        f.update("a", Duration::from_millis(5), true);
        assert!(!f.is_available("a"));
        for _ in 0..10 {
            assert_eq!(f.select(&info, None).unwrap().broker_name, "b");
        }
        // Fast sends keep a broker available.
        f.update("b", Duration::from_millis(20), false);
        assert!(f.is_available("b"));
        // Both avoided: still a queue, not the last broker.
        f.update("b", Duration::from_millis(5), true);
        assert_eq!(f.select(&info, Some("b")).unwrap().broker_name, "a");
    }

    #[test]
    fn disabled_tolerance_is_plain_round_robin() {
        let f = LatencyFaultTolerance::new(false);
        let info = info();
        f.update("a", Duration::from_millis(5), true);
        assert!(f.is_available("a"));
        let picks: Vec<_> = (0..4)
            .map(|_| f.select(&info, None).unwrap().broker_name)
            .collect();
        assert!(picks.iter().any(|b| b == "a"));
        assert_eq!(f.select(&info, Some("a")).unwrap().broker_name, "b");
    }
}
