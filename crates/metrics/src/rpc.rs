//! [`RpcLatency`]: `rocketmq_rpc_latency`, a histogram per request code and response code kept
//! in plain atomics, so that observing costs a read lock, a small-map lookup and two atomic adds.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use crate::names::*;
use crate::Scrape;

/// Upper bounds of the buckets, in ms: RocketMQ's view of `rocketmq_rpc_latency`
/// (`RemotingMetricsManager.getMetricsView`).
pub const RPC_LATENCY_BUCKETS_MS: [u64; 9] = [1, 3, 5, 7, 10, 100, 1_000, 2_000, 3_000];

const BUCKETS: usize = RPC_LATENCY_BUCKETS_MS.len() + 1;

/// Which series a request falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    request: i32,
    response: i32,
    oneway: bool,
    long_polling: bool,
}

#[derive(Debug, Default)]
struct Series {
    /// Observations per bucket (not cumulative); the last is `+Inf`.
    counts: [AtomicU64; BUCKETS],
    /// Sum of the latencies, µs.
    sum_us: AtomicU64,
}

/// Latency of served requests by request code and response code.
#[derive(Debug, Default)]
pub struct RpcLatency {
    series: RwLock<HashMap<Key, Arc<Series>, BuildHasherDefault<KeyHasher>>>,
}

/// A multiply-rotate hash (FxHash's) for the few small integer keys of the table: SipHash's
/// protection against chosen keys buys nothing for request codes and costs most of a lookup.
#[derive(Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_i32(&mut self, n: i32) {
        self.write_u64(u64::from(n as u32));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl RpcLatency {
    /// Counts one request of `request` code answered with `response` code after `elapsed`.
    /// `oneway` requests get `result="oneway"`; `long_polling` marks a pull that was parked.
    pub fn observe(
        &self,
        request: i32,
        response: i32,
        oneway: bool,
        long_polling: bool,
        elapsed: Duration,
    ) {
        let key = Key {
            request,
            response,
            oneway,
            long_polling,
        };
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let ms = us / 1000;
        let bucket = RPC_LATENCY_BUCKETS_MS
            .iter()
            .position(|bound| ms < *bound || (ms == *bound && us % 1000 == 0))
            .unwrap_or(BUCKETS - 1);
        let found = self.series.read().get(&key).cloned();
        let series = match found {
            Some(s) => s,
            None => Arc::clone(self.series.write().entry(key).or_default()),
        };
        series.counts[bucket].fetch_add(1, Ordering::Relaxed);
        series.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// Adds every series to `out`; `request_name` and `response_name` give RocketMQ's names of
    /// the codes (upper case, as in `RequestCode`), written in lower case as RocketMQ's
    /// `RemotingHelper` does, or the number when unknown.
    pub fn collect(
        &self,
        out: &mut Scrape,
        request_name: impl Fn(i32) -> Option<&'static str>,
        response_name: impl Fn(i32) -> Option<&'static str>,
    ) {
        let mut all: Vec<(Key, Arc<Series>)> = self
            .series
            .read()
            .iter()
            .map(|(k, s)| (*k, Arc::clone(s)))
            .collect();
        all.sort_by_key(|(k, _)| *k);
        for (key, series) in all {
            let counts: Vec<u64> = series
                .counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect();
            let count = counts.iter().sum();
            let sum_ms = series.sum_us.load(Ordering::Relaxed) as f64 / 1000.0;
            let buckets = RPC_LATENCY_BUCKETS_MS
                .iter()
                .map(|b| *b as f64)
                .chain([f64::MAX])
                .zip(counts)
                .collect();
            let code_name = |name: Option<&'static str>, code: i32| {
                name.map_or_else(|| code.to_string(), str::to_ascii_lowercase)
            };
            let labels = vec![
                (
                    Cow::Borrowed(LABEL_PROTOCOL_TYPE),
                    PROTOCOL_TYPE_REMOTING.to_owned(),
                ),
                (
                    Cow::Borrowed(LABEL_REQUEST_CODE),
                    code_name(request_name(key.request), key.request),
                ),
                (
                    Cow::Borrowed(LABEL_RESPONSE_CODE),
                    code_name(response_name(key.response), key.response),
                ),
                (
                    Cow::Borrowed(LABEL_IS_LONG_POLLING),
                    key.long_polling.to_string(),
                ),
                (
                    Cow::Borrowed(LABEL_RESULT),
                    if key.oneway { "oneway" } else { "success" }.to_owned(),
                ),
            ];
            out.histogram(
                RPC_LATENCY,
                "Rpc latency (milliseconds)",
                labels,
                sum_ms,
                count,
                buckets,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_rocketmq_buckets_with_code_names() {
        let rpc = RpcLatency::default();
        for ms in [0, 1, 2, 50, 5000] {
            rpc.observe(10, 0, false, false, Duration::from_millis(ms));
        }
        rpc.observe(999, 1, true, false, Duration::from_micros(1500));
        let mut out = Scrape::default();
        rpc.collect(
            &mut out,
            |c| (c == 10).then_some("SEND_MESSAGE"),
            |c| (c == 0).then_some("SUCCESS"),
        );
        let text = out.encode();
        let series = r#"protocol_type="remoting",request_code="send_message",response_code="success",is_long_polling="false",result="success""#;
        for (le, n) in [
            ("1.0", 2),
            ("3.0", 3),
            ("100.0", 4),
            ("3000.0", 4),
            ("+Inf", 5),
        ] {
            let line = format!("rocketmq_rpc_latency_bucket{{le=\"{le}\",{series}}} {n}\n");
            assert!(text.contains(&line), "{line} in\n{text}");
        }
        assert!(text.contains(&format!("rocketmq_rpc_latency_sum{{{series}}} 5053.0\n")));
        assert!(text.contains(r#"le="3.0",protocol_type="remoting",request_code="999",response_code="1",is_long_polling="false",result="oneway"} 1"#), "{text}");
    }
}
