//! A Sentinel-style uniform pacer (Sentinel's `RateLimiterController`, the "queueing" control
//! behaviour RocketMQ's rate-limiting guide configures per `group:topic`).
//!
//! Requests pass at evenly spaced instants, `1 / rate` apart. A request that arrives early waits
//! for its slot if that is at most `max_queueing` away; otherwise it is refused and the caller
//! hands the message back for later. Producers use the same pacer for their send rate
//! ([`crate::ProducerBuilder::send_rate_limit`]). Every pacer counts what it decided
//! ([`Pacer::stats`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// What the pacer decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Go after waiting this long (zero: at once).
    Wait(Duration),
    /// The queue is full: try again later.
    Reject,
}

/// What a pacer decided since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacerStats {
    /// Requests let through at once.
    pub passed: u64,
    /// Requests let through after a wait.
    pub delayed: u64,
    /// Milliseconds of those waits, summed.
    pub delayed_ms: u64,
    /// Requests refused (the wait would have been longer than the queueing time).
    pub rejected: u64,
}

/// A uniform rate limiter.
#[derive(Debug)]
pub struct Pacer {
    /// Time per permit.
    cost: Duration,
    max_queueing: Duration,
    /// When the latest admitted request passes (or passed).
    latest: Mutex<Option<Instant>>,
    passed: AtomicU64,
    delayed: AtomicU64,
    delayed_ms: AtomicU64,
    rejected: AtomicU64,
}

impl Pacer {
    /// `permits_per_sec` requests per second, each waiting at most `max_queueing`.
    pub fn new(permits_per_sec: f64, max_queueing: Duration) -> Self {
        let cost = if permits_per_sec > 0.0 {
            Duration::from_secs_f64(1.0 / permits_per_sec)
        } else {
            Duration::MAX
        };
        Pacer {
            cost,
            max_queueing,
            latest: Mutex::new(None),
            passed: AtomicU64::new(0),
            delayed: AtomicU64::new(0),
            delayed_ms: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    /// The permits per second this pacer lets through.
    pub fn rate(&self) -> f64 {
        if self.cost == Duration::MAX {
            0.0
        } else {
            1.0 / self.cost.as_secs_f64()
        }
    }

    /// What it decided so far.
    pub fn stats(&self) -> PacerStats {
        PacerStats {
            passed: self.passed.load(Ordering::Relaxed),
            delayed: self.delayed.load(Ordering::Relaxed),
            delayed_ms: self.delayed_ms.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
        }
    }

    /// Asks for `permits` (a batch of messages) now.
    pub fn acquire(&self, permits: u32) -> Pace {
        self.acquire_at(permits, Instant::now())
    }

    /// [`Pacer::acquire`] at a given time (for tests).
    pub fn acquire_at(&self, permits: u32, now: Instant) -> Pace {
        let pace = self.decide(permits, now);
        match pace {
            Pace::Wait(d) if d.is_zero() => self.passed.fetch_add(1, Ordering::Relaxed),
            Pace::Wait(d) => {
                self.delayed_ms
                    .fetch_add(d.as_millis() as u64, Ordering::Relaxed);
                self.delayed.fetch_add(1, Ordering::Relaxed)
            }
            Pace::Reject => self.rejected.fetch_add(1, Ordering::Relaxed),
        };
        pace
    }

    fn decide(&self, permits: u32, now: Instant) -> Pace {
        if self.cost == Duration::MAX {
            return Pace::Reject;
        }
        let cost = self.cost.saturating_mul(permits.max(1));
        let mut latest = self.latest.lock();
        let expected = latest.map_or(now, |l| l + cost);
        if expected <= now {
            *latest = Some(now);
            return Pace::Wait(Duration::ZERO);
        }
        let wait = expected - now;
        if wait > self.max_queueing {
            return Pace::Reject;
        }
        *latest = Some(expected);
        Pace::Wait(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_spaced_evenly_and_refused_past_the_queueing_time() {
        let p = Pacer::new(100.0, Duration::from_millis(25));
        let t = Instant::now();
        assert_eq!(p.acquire_at(1, t), Pace::Wait(Duration::ZERO));
        assert_eq!(p.acquire_at(1, t), Pace::Wait(Duration::from_millis(10)));
        assert_eq!(p.acquire_at(1, t), Pace::Wait(Duration::from_millis(20)));
        assert_eq!(p.acquire_at(1, t), Pace::Reject, "30 ms > 25 ms");
        // Later the slots free up again.
        let later = t + Duration::from_millis(100);
        assert_eq!(p.acquire_at(1, later), Pace::Wait(Duration::ZERO));
        // A batch costs one slot per message.
        assert_eq!(
            p.acquire_at(2, later),
            Pace::Wait(Duration::from_millis(20))
        );
        assert_eq!(
            p.stats(),
            PacerStats {
                passed: 2,
                delayed: 3,
                delayed_ms: 50,
                rejected: 1
            }
        );
    }

    #[test]
    fn a_zero_rate_refuses_everything() {
        let p = Pacer::new(0.0, Duration::from_secs(1));
        assert_eq!(p.acquire(1), Pace::Reject);
    }
}
