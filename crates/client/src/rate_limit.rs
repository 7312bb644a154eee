//! A Sentinel-style uniform pacer (Sentinel's `RateLimiterController`, the "queueing" control
//! behaviour RocketMQ's rate-limiting guide configures per `group:topic`).
//!
//! Requests pass at evenly spaced instants, `1 / rate` apart. A request that arrives early waits
//! for its slot if that is at most `max_queueing` away; otherwise it is refused and the caller
//! hands the message back for later.

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

/// A uniform rate limiter.
#[derive(Debug)]
pub struct Pacer {
    /// Time per permit.
    cost: Duration,
    max_queueing: Duration,
    /// When the latest admitted request passes (or passed).
    latest: Mutex<Option<Instant>>,
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
        }
    }

    /// Asks for `permits` (a batch of messages) now.
    pub fn acquire(&self, permits: u32) -> Pace {
        self.acquire_at(permits, Instant::now())
    }

    /// [`Pacer::acquire`] at a given time (for tests).
    pub fn acquire_at(&self, permits: u32, now: Instant) -> Pace {
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
    }

    #[test]
    fn a_zero_rate_refuses_everything() {
        let p = Pacer::new(0.0, Duration::from_secs(1));
        assert_eq!(p.acquire(1), Pace::Reject);
    }
}
