//! Rates and windowed totals of the broker's counters (RocketMQ's `StatsItem` /
//! `BrokerStatsManager` and `StoreStatsService` sampling), read by VIEW_BROKER_STATS_DATA (315,
//! `mqadmin statsAll`) and by GET_BROKER_RUNTIME_INFO's `putTps` / `getTransferredTps` (the
//! InTPS / OutTPS columns of `mqadmin clusterList`).
//!
//! ```text
//! counters (since start, never reset) ──sampler, every 1 s──▶ broker totals: 601 samples (10 min)
//!                                      └─every 10 s────────▶ per item: 10 s samples for 10 min,
//!                                                             10 min samples for 25 h
//! a window [now - w, now] = the value now − the newest sample at or before now − w
//! ```
//!
//! Counting costs nothing extra on the send and pull paths: the sampler reads the counters the
//! broker keeps anyway ([`crate::metrics::Traffic`], [`crate::stats::BrokerStats`]). A window is
//! measured against the value now, so a total includes messages of the last second.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ferromq_proto::body::{BrokerStatsData, BrokerStatsItem};
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::Broker;

/// RocketMQ's stats names (`BrokerStatsManager`).
pub const TOPIC_PUT_NUMS: &str = "TOPIC_PUT_NUMS";
/// Bytes stored per topic.
pub const TOPIC_PUT_SIZE: &str = "TOPIC_PUT_SIZE";
/// Messages pulled per `topic@group`.
pub const GROUP_GET_NUMS: &str = "GROUP_GET_NUMS";
/// Bytes pulled per `topic@group`.
pub const GROUP_GET_SIZE: &str = "GROUP_GET_SIZE";
/// Messages stored by the broker (key: the cluster name).
pub const BROKER_PUT_NUMS: &str = "BROKER_PUT_NUMS";
/// Messages pulled from the broker (key: the cluster name).
pub const BROKER_GET_NUMS: &str = "BROKER_GET_NUMS";

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const FINE_EVERY_MS: i64 = 10_000;
const FINE_KEEP: usize = 61;
const COARSE_EVERY_MS: i64 = 600_000;
const COARSE_KEEP: usize = 151;
const SECOND_KEEP: usize = 601;

/// `(time ms, counter value)` samples of one counter.
#[derive(Debug, Default)]
struct Series {
    fine: VecDeque<(i64, u64)>,
    coarse: VecDeque<(i64, u64)>,
}

impl Series {
    fn record(&mut self, now: i64, value: u64) {
        self.fine.push_back((now, value));
        while self.fine.len() > FINE_KEEP {
            self.fine.pop_front();
        }
        if self
            .coarse
            .back()
            .is_none_or(|(t, _)| now - t >= COARSE_EVERY_MS)
        {
            self.coarse.push_back((now, value));
            while self.coarse.len() > COARSE_KEEP {
                self.coarse.pop_front();
            }
        }
    }

    /// The newest sample at or before `at`.
    fn base(&self, at: i64) -> Option<(i64, u64)> {
        let newest_before =
            |q: &VecDeque<(i64, u64)>| q.iter().rev().find(|(t, _)| *t <= at).copied();
        newest_before(&self.fine).or_else(|| newest_before(&self.coarse))
    }
}

/// Sum and rate of a counter over the window ending now.
fn window(
    series: Option<&Series>,
    since: i64,
    now: i64,
    current: u64,
    window_ms: i64,
) -> BrokerStatsItem {
    // Without a sample that old, the window starts when the counter started (at 0).
    let (t0, v0) = series
        .and_then(|s| s.base(now - window_ms))
        .unwrap_or(((now - window_ms).max(since), 0));
    let sum = current.saturating_sub(v0);
    let elapsed_ms = (now - t0).max(1);
    BrokerStatsItem {
        sum: i64::try_from(sum).unwrap_or(i64::MAX),
        tps: sum as f64 * 1000.0 / elapsed_ms as f64,
        avgpt: 0.0,
    }
}

/// The sampled counters of a broker.
#[derive(Debug)]
pub struct StatsItems {
    /// `(stats name, stats key)` → samples.
    items: Mutex<HashMap<(&'static str, String), Series>>,
    /// Per-second samples of the broker's totals: put, get transferred, get found, get miss.
    seconds: Mutex<VecDeque<(i64, [u64; 4])>>,
    since: i64,
}

impl Default for StatsItems {
    fn default() -> Self {
        StatsItems {
            items: Mutex::new(HashMap::new()),
            seconds: Mutex::new(VecDeque::new()),
            since: ferromq_common::now_millis(),
        }
    }
}

/// The current value of every item.
fn current_values(b: &Broker) -> Vec<((&'static str, String), u64)> {
    let mut out = Vec::new();
    for t in b.traffic.snapshot() {
        for (group, m, bytes) in &t.outgoing {
            let key = format!("{}@{group}", t.topic);
            out.push(((GROUP_GET_NUMS, key.clone()), *m));
            out.push(((GROUP_GET_SIZE, key), *bytes));
        }
        out.push(((TOPIC_PUT_NUMS, t.topic.clone()), t.messages_in));
        out.push(((TOPIC_PUT_SIZE, t.topic), t.bytes_in));
    }
    let cluster = b.config.broker_cluster_name.clone();
    out.push((
        (BROKER_PUT_NUMS, cluster.clone()),
        b.stats.put_total.load(Ordering::Relaxed).max(0) as u64,
    ));
    out.push((
        (BROKER_GET_NUMS, cluster),
        b.stats.get_total.load(Ordering::Relaxed).max(0) as u64,
    ));
    out
}

fn totals(b: &Broker) -> [u64; 4] {
    let store = b.store.stats();
    [
        b.stats.put_total.load(Ordering::Relaxed).max(0) as u64,
        store.get_message_transferred_msg_count,
        store.get_message_times_total_found,
        store.get_message_times_total_miss,
    ]
}

impl StatsItems {
    /// Samples every second until `stop`: the broker's totals each time, every item every 10 s.
    pub fn spawn_sampler(b: &Arc<Broker>, stop: &CancellationToken) {
        let weak = Arc::downgrade(b);
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut last_items = 0_i64;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let Some(b) = weak.upgrade() else { return };
                let now = ferromq_common::now_millis();
                b.stats_items.sample_totals(now, totals(&b));
                if now - last_items >= FINE_EVERY_MS {
                    last_items = now;
                    b.stats_items.sample_items(now, current_values(&b));
                }
            }
        });
    }

    fn sample_totals(&self, now: i64, values: [u64; 4]) {
        let mut s = self.seconds.lock();
        s.push_back((now, values));
        while s.len() > SECOND_KEEP {
            s.pop_front();
        }
    }

    fn sample_items(&self, now: i64, values: Vec<((&'static str, String), u64)>) {
        let mut items = self.items.lock();
        let mut seen = std::collections::HashSet::with_capacity(values.len());
        for (key, v) in values {
            items.entry(key.clone()).or_default().record(now, v);
            seen.insert(key);
        }
        // Items whose counters are gone (a deleted topic) go too.
        items.retain(|k, _| seen.contains(k));
    }

    /// VIEW_BROKER_STATS_DATA: the item's last minute, hour and day, or `None` when the broker
    /// has no such item.
    pub fn view(&self, b: &Broker, name: &str, key: &str) -> Option<BrokerStatsData> {
        let current = current_values(b)
            .into_iter()
            .find(|((n, k), _)| *n == name && k == key)
            .map(|(_, v)| v)?;
        let now = ferromq_common::now_millis();
        let items = self.items.lock();
        let series = items.get(&(
            match name {
                TOPIC_PUT_NUMS => TOPIC_PUT_NUMS,
                TOPIC_PUT_SIZE => TOPIC_PUT_SIZE,
                GROUP_GET_NUMS => GROUP_GET_NUMS,
                GROUP_GET_SIZE => GROUP_GET_SIZE,
                BROKER_PUT_NUMS => BROKER_PUT_NUMS,
                _ => BROKER_GET_NUMS,
            },
            key.to_owned(),
        ));
        Some(BrokerStatsData {
            stats_minute: window(series, self.since, now, current, MINUTE_MS),
            stats_hour: window(series, self.since, now, current, HOUR_MS),
            stats_day: window(series, self.since, now, current, DAY_MS),
        })
    }

    /// RocketMQ's `putTps`, `getTransferredTps`, `getFoundTps` and `getMissTps` values: the
    /// rates over the last 10 s, 60 s and 600 s as `"%.2f %.2f %.2f"`.
    pub fn runtime_tps(&self, b: &Broker) -> [String; 4] {
        let now_values = totals(b);
        let now = ferromq_common::now_millis();
        let seconds = self.seconds.lock();
        let rate = |i: usize, secs: i64| {
            let at = now - secs * 1000;
            let (t0, v0) = seconds
                .iter()
                .rev()
                .find(|(t, _)| *t <= at)
                .or(seconds.front())
                .map_or((self.since, 0), |(t, v)| (*t, v[i]));
            let elapsed = (now - t0).max(1);
            now_values[i].saturating_sub(v0) as f64 * 1000.0 / elapsed as f64
        };
        std::array::from_fn(|i| {
            format!("{:.2} {:.2} {:.2}", rate(i, 10), rate(i, 60), rate(i, 600))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_measure_from_the_newest_older_sample() {
        let mut s = Series::default();
        // 100 messages before t=0, then 10 per 10 s.
        for i in 0..=30 {
            s.record(i * 10_000, 100 + (i as u64) * 10);
        }
        let now = 300_000;
        let minute = window(Some(&s), -1_000_000, now, 400, MINUTE_MS);
        assert_eq!(minute.sum, 60);
        assert!((minute.tps - 1.0).abs() < 1e-9, "{minute:?}");
        // The hour reaches back past the first sample: it counts from the start, at 0.
        let hour = window(Some(&s), -1_000_000, now, 400, HOUR_MS);
        assert_eq!(hour.sum, 400);
    }

    #[test]
    fn a_young_counter_counts_from_zero() {
        // First seen at 95 s with 5 messages already counted.
        let mut s = Series::default();
        s.record(95_000, 5);
        assert_eq!(s.base(90_000), None);
        let item = window(Some(&s), 0, 100_000, 7, DAY_MS);
        assert_eq!(item.sum, 7);
        let none = window(None, 0, 100_000, 3, MINUTE_MS);
        assert_eq!(none.sum, 3);
    }
}
