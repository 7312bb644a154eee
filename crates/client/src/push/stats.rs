//! Pull and consume counters per topic, for GET_CONSUMER_RUNNING_INFO's status table (Java
//! `ConsumerStatsManager`).
//!
//! Java reports the last minute's rates (and the last hour's failures) from sampled
//! `StatsItemSet`s. This client keeps plain counters instead, so every figure is an average over
//! the consumer's life: TPS = count / seconds since the consumer started, RT = total time /
//! calls, and `consumeFailedMsgs` counts every failed message since the start.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ferromq_proto::body::ConsumeStatus;
use parking_lot::Mutex;

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    pulls: u64,
    pulled_msgs: u64,
    pull_time: Duration,
    consume_calls: u64,
    consume_time: Duration,
    ok_msgs: u64,
    failed_msgs: u64,
}

/// The counters of one push consumer.
#[derive(Debug)]
pub(crate) struct ConsumerStats {
    since: Instant,
    topics: Mutex<HashMap<String, Counters>>,
}

impl Default for ConsumerStats {
    fn default() -> Self {
        ConsumerStats {
            since: Instant::now(),
            topics: Mutex::default(),
        }
    }
}

impl ConsumerStats {
    /// A pull of `topic` that found `msgs` messages and took `rt`.
    pub(crate) fn pulled(&self, topic: &str, msgs: usize, rt: Duration) {
        let mut t = self.topics.lock();
        let c = entry(&mut t, topic);
        c.pulls += 1;
        c.pulled_msgs += msgs as u64;
        c.pull_time += rt;
    }

    /// A listener call over `msgs` messages of `topic` that took `rt`.
    pub(crate) fn consumed(&self, topic: &str, msgs: usize, rt: Duration, ok: bool) {
        let mut t = self.topics.lock();
        let c = entry(&mut t, topic);
        c.consume_calls += 1;
        c.consume_time += rt;
        if ok {
            c.ok_msgs += msgs as u64;
        } else {
            c.failed_msgs += msgs as u64;
        }
    }

    /// The status of `topic` (zeros when nothing happened yet).
    pub(crate) fn status(&self, topic: &str) -> ConsumeStatus {
        let c = self.topics.lock().get(topic).copied().unwrap_or_default();
        let secs = self.since.elapsed().as_secs_f64().max(1.0);
        let avg_ms = |total: Duration, n: u64| {
            if n == 0 {
                0.0
            } else {
                total.as_secs_f64() * 1000.0 / n as f64
            }
        };
        ConsumeStatus {
            pull_rt: avg_ms(c.pull_time, c.pulls),
            pull_tps: c.pulled_msgs as f64 / secs,
            consume_rt: avg_ms(c.consume_time, c.consume_calls),
            consume_ok_tps: c.ok_msgs as f64 / secs,
            consume_failed_tps: c.failed_msgs as f64 / secs,
            consume_failed_msgs: c.failed_msgs as i64,
        }
    }
}

fn entry<'a>(t: &'a mut HashMap<String, Counters>, topic: &str) -> &'a mut Counters {
    t.entry(topic.to_owned()).or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_per_call_and_counts_failures() {
        let s = ConsumerStats::default();
        assert_eq!(s.status("T"), ConsumeStatus::default());
        s.pulled("T", 4, Duration::from_millis(10));
        s.pulled("T", 0, Duration::from_millis(30));
        s.consumed("T", 2, Duration::from_millis(6), true);
        s.consumed("T", 1, Duration::from_millis(2), false);
        let st = s.status("T");
        assert_eq!(st.pull_rt, 20.0);
        assert_eq!(st.consume_rt, 4.0);
        assert_eq!(st.consume_failed_msgs, 1);
        assert!(st.pull_tps > 0.0 && st.pull_tps <= 4.0);
        assert_eq!(s.status("other"), ConsumeStatus::default());
    }
}
