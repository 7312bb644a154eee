//! The end-of-run summary: totals, rates and latency percentiles, as text and as one JSON line.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::meter::Meter;

/// What one bench run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// `sync`, `async`, `oneway` (producer), `consumer` or `e2e`.
    pub mode: String,
    /// Topic.
    pub topic: String,
    /// Body size in bytes.
    pub size: usize,
    /// Worker tasks.
    pub workers: usize,
    /// Messages per request (1 without batching).
    pub batch: usize,
    /// Requests in flight per worker (async).
    pub inflight: usize,
    /// Messages the broker acknowledged (producer and e2e), or 0.
    pub sent: u64,
    /// Messages received (consumer and e2e), or 0.
    pub received: u64,
    /// Failed messages.
    pub failed: u64,
    /// Payload bytes moved.
    pub bytes: u64,
    /// Run time in seconds.
    pub elapsed_s: f64,
    /// Messages per second (sent for producers, received for consumers and e2e).
    pub tps: f64,
    /// Payload MiB per second.
    pub mib_s: f64,
    /// What the latency figures measure: `send RT`, `pull RT` or `produce-to-consume`.
    pub latency: String,
    /// Latency samples.
    pub samples: u64,
    /// Mean latency, microseconds.
    pub avg_us: f64,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 90th percentile, microseconds.
    pub p90_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
    /// 99.9th percentile, microseconds.
    pub p999_us: f64,
    /// Largest latency, microseconds.
    pub max_us: f64,
    /// Failure reasons and how many messages each cost.
    pub errors: BTreeMap<String, u64>,
}

impl Summary {
    /// Fills the counts, rates and percentiles from `meter` after a run of `elapsed`.
    pub fn fill(&mut self, meter: &Meter, elapsed: Duration, latency: &str) {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let ok = meter.ok_count();
        self.failed = meter.failed_count();
        self.bytes = meter.bytes();
        self.elapsed_s = round3(secs);
        self.tps = (ok as f64 / secs).round();
        self.mib_s = round3(self.bytes as f64 / secs / (1024.0 * 1024.0));
        self.latency = latency.to_owned();
        let h = meter.histogram();
        let us = |ns: u64| round3(ns as f64 / 1000.0);
        self.samples = h.len();
        if !h.is_empty() {
            self.avg_us = round3(h.mean() / 1000.0);
            self.p50_us = us(h.value_at_quantile(0.50));
            self.p90_us = us(h.value_at_quantile(0.90));
            self.p99_us = us(h.value_at_quantile(0.99));
            self.p999_us = us(h.value_at_quantile(0.999));
            self.max_us = us(h.max());
        }
        self.errors = meter.errors();
    }

    /// The human summary printed at the end of a run.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let what = match self.mode.as_str() {
            "consumer" => "consume",
            "e2e" => "end-to-end",
            _ => "send",
        };
        s.push_str(&format!(
            "=== {what} summary: mode={} topic={} size={}B workers={} batch={} inflight={}\n",
            self.mode, self.topic, self.size, self.workers, self.batch, self.inflight
        ));
        s.push_str(&format!(
            "sent: {}  received: {}  failed: {}  elapsed: {:.3} s\n",
            self.sent, self.received, self.failed, self.elapsed_s
        ));
        s.push_str(&format!(
            "TPS: {:.0}  throughput: {:.2} MiB/s\n",
            self.tps, self.mib_s
        ));
        if self.samples > 0 {
            s.push_str(&format!(
                "{} (us): avg {:.1}  p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}  ({} samples)\n",
                self.latency,
                self.avg_us,
                self.p50_us,
                self.p90_us,
                self.p99_us,
                self.p999_us,
                self.max_us,
                self.samples
            ));
        } else {
            s.push_str(&format!("{}: no samples\n", self.latency));
        }
        if self.errors.is_empty() {
            s.push_str("errors: none\n");
        } else {
            s.push_str("errors:\n");
            for (reason, n) in &self.errors {
                s.push_str(&format!("  {n:>8}  {reason}\n"));
            }
        }
        s
    }

    /// The summary as one line of JSON.
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// Prints the text summary and, with `json`, the JSON line last.
    pub fn print(&self, json: bool) {
        print!("{}", self.text());
        if json {
            println!("{}", self.json());
        }
    }
}

/// Rounds to three decimals (keeps the JSON short).
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
