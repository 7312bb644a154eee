//! Bytes per second over the last whole second, for `haStatus`.

use std::time::{Duration, Instant};

/// Counts bytes and reports the rate of the last completed one-second window.
#[derive(Debug, Clone)]
pub(crate) struct Rate {
    window_start: Instant,
    window_bytes: u64,
    last: u64,
}

impl Default for Rate {
    fn default() -> Self {
        Rate {
            window_start: Instant::now(),
            window_bytes: 0,
            last: 0,
        }
    }
}

impl Rate {
    pub(crate) fn add(&mut self, bytes: u64) {
        self.roll();
        self.window_bytes += bytes;
    }

    /// Bytes per second in the last completed window (0 once idle for a whole window).
    pub(crate) fn per_second(&mut self) -> u64 {
        self.roll();
        self.last
    }

    fn roll(&mut self) {
        let elapsed = self.window_start.elapsed();
        if elapsed >= Duration::from_secs(1) {
            self.last = if elapsed >= Duration::from_secs(2) {
                // Nothing was counted in the window that just ended.
                0
            } else {
                (self.window_bytes as f64 / elapsed.as_secs_f64()) as u64
            };
            self.window_start = Instant::now();
            self.window_bytes = 0;
        }
    }
}
