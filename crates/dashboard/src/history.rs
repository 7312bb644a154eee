//! What the charts draw: a sampler that asks the cluster every few seconds for its message
//! totals and each consumer group's backlog, keeping the last half hour in memory.
//!
//! ```text
//! every SAMPLE_EVERY: clusterList (msgPutTotalTodayNow, msgGetTotalTodayNow per broker)
//!                     + group list (diff total per group)  ──▶ ring of samples
//! /api/charts/rates ─▶ rates between consecutive samples (messages/s in and out)
//! /api/charts/lag   ─▶ each group's backlog per sample
//! ```
//!
//! The broker's runtime info carries totals, not rates, so rates are differences of totals over
//! the time between samples; a total that went down (broker restarted) gives no point.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use ferromq_admin::AdminClient;
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

/// Time between samples.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// Samples kept: half an hour at [`SAMPLE_EVERY`].
const KEEP: usize = 360;

#[derive(Debug, Clone, Default)]
struct Sample {
    at_ms: i64,
    put_total: Option<i64>,
    get_total: Option<i64>,
    lag: BTreeMap<String, i64>,
}

/// The samples, shared by the sampler and the chart endpoints.
#[derive(Debug, Clone, Default)]
pub struct History {
    samples: Arc<Mutex<VecDeque<Sample>>>,
}

impl History {
    /// Takes a sample every [`SAMPLE_EVERY`] until `stop` is cancelled.
    pub async fn run(self, admin: AdminClient, stop: CancellationToken) {
        loop {
            let sample = sample(&admin).await;
            {
                let mut s = self.samples.lock();
                if s.len() == KEEP {
                    s.pop_front();
                }
                s.push_back(sample);
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(SAMPLE_EVERY) => {}
            }
        }
    }

    /// `{"series": [in, out]}`: messages per second between consecutive samples.
    pub fn rates(&self) -> Value {
        let s = self.samples.lock();
        let mut put = Vec::new();
        let mut get = Vec::new();
        for (a, b) in s.iter().zip(s.iter().skip(1)) {
            let secs = (b.at_ms - a.at_ms) as f64 / 1000.0;
            if secs <= 0.0 {
                continue;
            }
            let rate = |x: Option<i64>, y: Option<i64>| match (x, y) {
                (Some(x), Some(y)) if y >= x => Some((y - x) as f64 / secs),
                _ => None,
            };
            if let Some(r) = rate(a.put_total, b.put_total) {
                put.push(json!([b.at_ms, round(r)]));
            }
            if let Some(r) = rate(a.get_total, b.get_total) {
                get.push(json!([b.at_ms, round(r)]));
            }
        }
        json!({"series": [
            {"name": "sent (msg/s)", "points": put},
            {"name": "consumed (msg/s)", "points": get},
        ]})
    }

    /// `{"series": [...]}`: one series per group (or only `group`), its backlog per sample.
    pub fn lag(&self, group: Option<&str>) -> Value {
        let s = self.samples.lock();
        let mut series: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for sample in s.iter() {
            for (g, lag) in &sample.lag {
                if group.is_none_or(|want| want == g) {
                    series
                        .entry(g.as_str())
                        .or_default()
                        .push(json!([sample.at_ms, lag]));
                }
            }
        }
        let series: Vec<Value> = series
            .into_iter()
            .map(|(name, points)| json!({"name": name, "points": points}))
            .collect();
        json!({ "series": series })
    }
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

async fn sample(admin: &AdminClient) -> Sample {
    let mut out = Sample {
        at_ms: ferromq_common::now_millis(),
        ..Sample::default()
    };
    if let Ok(list) = ferromq_admin::cluster::cluster_list(admin, None, false).await {
        let total = |key: &str| -> Option<i64> {
            list.rows
                .iter()
                .filter_map(|r| r.runtime.as_ref().ok())
                .map(|kv| kv.table.get(key).and_then(|v| v.parse::<i64>().ok()))
                .sum()
        };
        out.put_total = total("msgPutTotalTodayNow");
        out.get_total = total("msgGetTotalTodayNow");
    }
    if let Ok(groups) = ferromq_admin::consumer::group_list(admin).await {
        for g in groups.groups {
            out.lag.insert(g.group, g.diff_total);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_differences_over_time_and_a_restart_gives_no_point() {
        let h = History::default();
        for (at, put) in [(0, 10), (2000, 30), (4000, 5)] {
            h.samples.lock().push_back(Sample {
                at_ms: at,
                put_total: Some(put),
                get_total: None,
                lag: BTreeMap::from([("g".to_owned(), put)]),
            });
        }
        let r = h.rates();
        assert_eq!(r["series"][0]["points"], json!([[2000, 10.0]]));
        assert_eq!(r["series"][1]["points"], json!([]));
        let l = h.lag(Some("g"));
        assert_eq!(
            l["series"][0]["points"],
            json!([[0, 10], [2000, 30], [4000, 5]])
        );
        assert_eq!(h.lag(Some("other"))["series"], json!([]));
    }
}
