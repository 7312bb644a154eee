//! Counting while a run goes: totals and the current one-second window in atomics (read by the
//! reporter once a second), latencies in HdrHistograms sharded by worker so that workers do not
//! contend on one lock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use parking_lot::Mutex;

/// Largest latency the histograms track: one minute, in nanoseconds.
const MAX_TRACKED_NS: u64 = 60_000_000_000;

fn new_histogram() -> Histogram<u64> {
    // Bounds are constants that satisfy hdrhistogram's rules (low >= 1, high >= 2 * low).
    Histogram::new_with_bounds(1, MAX_TRACKED_NS, 3).unwrap_or_else(|_| {
        Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant figures are valid"))
    })
}

/// Counters of one run, shared by its workers and its reporter.
pub struct Meter {
    ok: AtomicU64,
    failed: AtomicU64,
    bytes: AtomicU64,
    // The current window; the reporter swaps these to zero once a second.
    win_rt_sum_ns: AtomicU64,
    win_rt_count: AtomicU64,
    win_rt_max_ns: AtomicU64,
    shards: Vec<Mutex<Histogram<u64>>>,
    errors: Mutex<BTreeMap<String, u64>>,
    stop: AtomicBool,
    started: Instant,
}

impl Meter {
    /// A meter with `shards` latency histograms (one per worker is best).
    pub fn new(shards: usize) -> Arc<Self> {
        Arc::new(Meter {
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            win_rt_sum_ns: AtomicU64::new(0),
            win_rt_count: AtomicU64::new(0),
            win_rt_max_ns: AtomicU64::new(0),
            shards: (0..shards.max(1))
                .map(|_| Mutex::new(new_histogram()))
                .collect(),
            errors: Mutex::new(BTreeMap::new()),
            stop: AtomicBool::new(false),
            started: Instant::now(),
        })
    }

    /// Counts `messages` that succeeded with `bytes` of payload.
    pub fn ok(&self, messages: u64, bytes: u64) {
        self.ok.fetch_add(messages, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Records one latency sample in shard `shard`.
    pub fn latency(&self, shard: usize, rt: Duration) {
        let ns = (rt.as_nanos() as u64).clamp(1, MAX_TRACKED_NS);
        self.win_rt_sum_ns.fetch_add(ns, Ordering::Relaxed);
        self.win_rt_count.fetch_add(1, Ordering::Relaxed);
        self.win_rt_max_ns.fetch_max(ns, Ordering::Relaxed);
        let _ = self.shards[shard % self.shards.len()].lock().record(ns);
    }

    /// Counts `messages` that failed, with the reason (grouped for the summary).
    pub fn failed(&self, messages: u64, reason: &str) {
        self.failed.fetch_add(messages, Ordering::Relaxed);
        let mut errors = self.errors.lock();
        // Keep the table small when every error text differs (they carry offsets and ids).
        if errors.len() < 20 || errors.contains_key(reason) {
            *errors.entry(reason.to_owned()).or_default() += messages;
        } else {
            *errors.entry("(other errors)".to_owned()).or_default() += messages;
        }
    }

    /// Messages that succeeded so far.
    pub fn ok_count(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    /// Messages that failed so far.
    pub fn failed_count(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Payload bytes of the messages that succeeded so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Asks the workers to stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// True once [`Meter::stop`] was called.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Time since the meter was made.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// All shards merged.
    pub fn histogram(&self) -> Histogram<u64> {
        let mut all = new_histogram();
        for s in &self.shards {
            let _ = all.add(&*s.lock());
        }
        all
    }

    /// The error table.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors.lock().clone()
    }

    fn take_window(&self) -> (u64, u64, u64) {
        (
            self.win_rt_sum_ns.swap(0, Ordering::Relaxed),
            self.win_rt_count.swap(0, Ordering::Relaxed),
            self.win_rt_max_ns.swap(0, Ordering::Relaxed),
        )
    }
}

/// How the once-a-second lines read.
#[derive(Debug, Clone, Copy)]
pub struct ReportStyle {
    /// "Send", "Consume" or "E2E".
    pub verb: &'static str,
    /// True when RT means produce-to-consume latency.
    pub latency_is_e2e: bool,
}

/// Prints one line a second (TPS, average and max RT, failures, bytes/s), and one for the last
/// part-second when anything happened in it, and drives a progress bar on stderr (hidden when
/// stderr is not a terminal) until the meter stops.
pub fn spawn_reporter(
    meter: Arc<Meter>,
    style: ReportStyle,
    total: Option<u64>,
    duration: Option<Duration>,
    quiet: bool,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let bar = progress_bar(total, duration, quiet);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        let mut last = Window::default();
        let mut last_at = Instant::now();
        loop {
            let stopped = tokio::select! {
                _ = tick.tick() => false,
                _ = wait_stopped(&meter) => true,
            };
            let now = Instant::now();
            let secs = now.duration_since(last_at).as_secs_f64().max(1e-9);
            last_at = now;
            let current = Window {
                ok: meter.ok_count(),
                failed: meter.failed_count(),
                bytes: meter.bytes(),
            };
            let (sum, count, max) = meter.take_window();
            let idle = current.ok == last.ok && current.failed == last.failed && count == 0;
            let skip = quiet || (stopped && idle);
            if !skip {
                let line = format_line(
                    style,
                    meter.elapsed().as_secs_f64(),
                    secs,
                    &last,
                    &current,
                    (sum, count, max),
                );
                bar.suspend(|| println!("{line}"));
            }
            last = current;
            match (total, duration) {
                (Some(_), _) => bar.set_position(current.ok + current.failed),
                (None, Some(_)) => bar.set_position(meter.elapsed().as_secs()),
                _ => {}
            }
            if stopped {
                break;
            }
        }
        bar.finish_and_clear();
    })
}

/// The running totals at the previous line.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    ok: u64,
    failed: u64,
    bytes: u64,
}

fn format_line(
    style: ReportStyle,
    at: f64,
    secs: f64,
    last: &Window,
    now: &Window,
    (sum, count, max): (u64, u64, u64),
) -> String {
    let avg_ms = if count > 0 {
        sum as f64 / count as f64 / 1e6
    } else {
        0.0
    };
    format!(
        "[{at:>6.1}s] {} TPS: {:>9.0} | {} avg: {:>8.3} ms | max: {:>8.3} ms | failed: {:>6} | {:>8.2} MiB/s",
        style.verb,
        (now.ok - last.ok) as f64 / secs,
        if style.latency_is_e2e { "E2E latency" } else { "RT" },
        avg_ms,
        max as f64 / 1e6,
        now.failed - last.failed,
        (now.bytes - last.bytes) as f64 / secs / (1024.0 * 1024.0),
    )
}

async fn wait_stopped(meter: &Meter) {
    while !meter.stopped() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn progress_bar(total: Option<u64>, duration: Option<Duration>, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let (len, unit) = match (total, duration) {
        (Some(n), _) => (n, "msgs"),
        (None, Some(d)) => (d.as_secs().max(1), "s"),
        (None, None) => (0, "msgs"),
    };
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let template = format!("{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {unit}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
