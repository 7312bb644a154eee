//! The suite's results: what it records (written as JSON), the targets of issue 5 with the
//! ratios this run reached, and the table printed at the end.

use serde::Serialize;

use super::disk::StoreDisk;
use super::floor::Floor;
use super::probe::ProbeResult;
use super::procstat::ProcSample;
use super::report::{round3, Summary};

/// Start-up times of `ferromq standalone`, from just before the spawn.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Startup {
    /// Until the broker port accepted a TCP connection.
    pub listening_ms: f64,
    /// Until the broker answered a request (GET_BROKER_RUNTIME_INFO).
    pub serving_ms: f64,
    /// Until the name server listed the broker (GET_BROKER_CLUSTER_INFO).
    pub registered_ms: f64,
}

/// Broker memory at one moment.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Memory {
    /// VmRSS, bytes.
    pub rss: u64,
    /// RssAnon (heap, stacks), bytes.
    pub rss_anon: u64,
    /// RssFile (binary and mapped store segments), bytes.
    pub rss_file: u64,
    /// Threads.
    pub threads: u64,
}

impl From<ProcSample> for Memory {
    fn from(s: ProcSample) -> Self {
        Memory {
            rss: s.rss,
            rss_anon: s.rss_anon,
            rss_file: s.rss_file,
            threads: s.threads,
        }
    }
}

/// What the broker used during one run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Usage {
    /// Broker CPU seconds (user + system).
    pub broker_cpu_s: f64,
    /// Broker CPU as a percentage of one core.
    pub broker_cpu_pct: f64,
    /// Broker CPU microseconds per message.
    pub broker_cpu_us_per_msg: f64,
    /// The part of `broker_cpu_us_per_msg` spent in the kernel (system time): system calls,
    /// page faults, and on a VM the first touch of page-cache pages the host had not backed yet
    /// (docs/benchmark.md).
    pub broker_sys_us_per_msg: f64,
    /// The bench client's CPU as a percentage of one core (it shares the machine).
    pub client_cpu_pct: f64,
    /// Largest broker memory seen (sampled every 100 ms).
    pub broker_peak: Memory,
}

/// One row of the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// Short name, e.g. `async-256 1KiB`.
    pub name: String,
    /// The bench summary.
    pub summary: Summary,
    /// Resources used.
    pub usage: Usage,
}

/// One target of issue 5 and how this run compares.
#[derive(Debug, Clone, Serialize)]
pub struct TargetCheck {
    /// What is measured.
    pub name: String,
    /// The measured value, in `unit`.
    pub measured: f64,
    /// The bound it must meet, in `unit`.
    pub required: f64,
    /// `min` (measured must be at least required) or `max` (at most).
    pub kind: &'static str,
    /// Unit of both numbers.
    pub unit: &'static str,
    /// How far past the bound: measured/required for `min`, required/measured for `max`;
    /// at least 1 means met.
    pub ratio: f64,
    /// True when met.
    pub pass: bool,
    /// How the numbers were made.
    pub note: String,
}

impl TargetCheck {
    fn new(
        name: &str,
        measured: f64,
        required: f64,
        kind: &'static str,
        unit: &'static str,
        note: String,
    ) -> Self {
        let ratio = match kind {
            "min" if required > 0.0 => measured / required,
            _ if measured > 0.0 => required / measured,
            _ => f64::INFINITY,
        };
        TargetCheck {
            name: name.to_owned(),
            measured: round3(measured),
            required: round3(required),
            kind,
            unit,
            ratio: if ratio.is_finite() {
                round3(ratio)
            } else {
                999.0
            },
            pass: ratio >= 1.0,
            note,
        }
    }
}

/// The machine the suite ran on.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Machine {
    /// Logical CPUs.
    pub cpus: usize,
    /// Kernel release.
    pub kernel: String,
    /// MemTotal, bytes.
    pub mem_total: u64,
}

/// Everything the suite measured (written as JSON).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SuiteResult {
    /// FerroMQ version.
    pub version: String,
    /// When the suite started, ms since the epoch.
    pub started_at_ms: i64,
    /// The machine.
    pub machine: Machine,
    /// Its measured limits: the better of the runs below, figure by figure.
    pub probe: ProbeResult,
    /// The probe before the broker started and after it stopped.
    pub probe_runs: Vec<ProbeResult>,
    /// The transport floor (the bench's requests against an echo server): the better of the
    /// runs below.
    pub floor: Floor,
    /// The floor before the broker started and after it stopped.
    pub floor_runs: Vec<Floor>,
    /// Milliseconds the warm-up (2000 messages to `bench_warmup`) took.
    pub warmup_ms: f64,
    /// Standalone start-up.
    pub startup: Startup,
    /// Broker memory one second after start-up, before any traffic.
    pub idle: Memory,
    /// The matrix.
    pub runs: Vec<RunResult>,
    /// The targets.
    pub targets: Vec<TargetCheck>,
    /// Exit code of the broker's clean shutdown (0 expected).
    pub shutdown_exit_code: Option<i32>,
    /// The store on disk after the broker stopped.
    pub store_disk: StoreDisk,
}

pub(crate) fn machine() -> Machine {
    let mem_total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024);
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        mem_total,
    }
}

pub(crate) fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn find<'a>(result: &'a SuiteResult, name: &str) -> Option<&'a RunResult> {
    result.runs.iter().find(|r| r.name == name)
}

pub(crate) fn targets(r: &SuiteResult) -> Vec<TargetCheck> {
    let mut t = Vec::new();
    let p = &r.probe;
    let tps = |name: &str| find(r, name).map_or(0.0, |x| x.summary.tps);
    t.push(TargetCheck::new(
        "sync send, 1 task, 1 KiB >= 60% of ping-pong round trips/s",
        tps("sync-1 1KiB"),
        0.6 * p.pingpong_rt_per_s,
        "min",
        "msg/s",
        format!(
            "busy-polling ping-pong {:.0} rt/s with {} B requests (blocking reads: {:.0} rt/s); transport floor (echo, no broker work) {:.0} rt/s",
            p.pingpong_rt_per_s,
            p.pingpong_request_bytes,
            p.pingpong_blocking_rt_per_s,
            r.floor.sync_rt_per_s
        ),
    ));
    let async_tps = tps("async-256 1KiB");
    t.push(TargetCheck::new(
        "async send, 1 KiB >= 200,000 msg/s",
        async_tps,
        200_000.0,
        "min",
        "msg/s",
        format!(
            "one connection, 256 requests in flight; transport floor (echo, no broker work) {:.0} msg/s",
            r.floor.async_msgs_per_s
        ),
    ));
    let async_bytes = find(r, "async-256 1KiB").map_or(0.0, |x| x.summary.mib_s * 1048576.0);
    t.push(TargetCheck::new(
        "async send, 1 KiB >= 25% of page-cache write bandwidth",
        async_bytes / 1048576.0,
        0.25 * p.page_cache_write_bytes_per_s / 1048576.0,
        "min",
        "MiB/s",
        format!(
            "body bytes; page cache {:.0} MiB/s",
            p.page_cache_write_bytes_per_s / 1048576.0
        ),
    ));
    t.push(TargetCheck::new(
        "consumption of a 1 KiB backlog >= async send rate",
        tps("consume 1KiB"),
        async_tps,
        "min",
        "msg/s",
        "one pull loop per queue, 32 messages per pull".into(),
    ));
    let e2e = find(r, "e2e 1KiB @1000/s");
    t.push(TargetCheck::new(
        "e2e latency p99 at 1,000 msg/s < 5 ms",
        e2e.map_or(f64::INFINITY, |x| x.summary.p99_us / 1000.0),
        5.0,
        "max",
        "ms",
        format!(
            "send time in the body vs receive time, long polling; this machine's own ping-pong p99 {:.1} us, max {:.1} us",
            p.pingpong_p99_us, p.pingpong_max_us
        ),
    ));
    t.push(TargetCheck::new(
        "broker idle RSS < 30 MB",
        mib(r.idle.rss),
        30.0,
        "max",
        "MiB",
        format!(
            "anon {:.1} MiB, file {:.1} MiB",
            mib(r.idle.rss_anon),
            mib(r.idle.rss_file)
        ),
    ));
    let peak = find(r, "async-256 1KiB")
        .map(|x| x.usage.broker_peak)
        .unwrap_or_default();
    t.push(TargetCheck::new(
        "broker RSS during the async run < 300 MB",
        mib(peak.rss),
        300.0,
        "max",
        "MiB",
        format!(
            "peak VmRSS: anon (heap, stacks) {:.1} MiB + file-backed {:.1} MiB (mapped commit-log pages, i.e. page cache)",
            mib(peak.rss_anon),
            mib(peak.rss_file)
        ),
    ));
    t.push(TargetCheck::new(
        "standalone answering requests within 100 ms of start",
        r.startup.serving_ms,
        100.0,
        "max",
        "ms",
        format!(
            "listening after {:.1} ms, registered after {:.1} ms",
            r.startup.listening_ms, r.startup.registered_ms
        ),
    ));
    t
}

pub(crate) fn print_table(r: &SuiteResult) {
    let p = &r.probe;
    println!();
    println!(
        "machine: {} cpus, kernel {}, {:.1} GiB",
        r.machine.cpus,
        r.machine.kernel,
        r.machine.mem_total as f64 / (1u64 << 30) as f64
    );
    println!(
        "probe (best of the runs below): ping-pong {:.0} rt/s busy-polling (p50 {:.1} us, p99 {:.1} us, max {:.1} us, {} B requests), {:.0} rt/s with blocking reads (p50 {:.1} us) | loopback {:.0} MiB/s | page-cache write {:.0} MiB/s",
        p.pingpong_rt_per_s,
        p.pingpong_p50_us,
        p.pingpong_p99_us,
        p.pingpong_max_us,
        p.pingpong_request_bytes,
        p.pingpong_blocking_rt_per_s,
        p.pingpong_blocking_p50_us,
        p.loopback_bytes_per_s / 1048576.0,
        p.page_cache_write_bytes_per_s / 1048576.0
    );
    for (i, (pr, fl)) in r.probe_runs.iter().zip(&r.floor_runs).enumerate() {
        println!(
            "  {} the broker ran: ping-pong {:.0} rt/s (p50 {:.1} us), blocking {:.0} rt/s | page cache {:.0} MiB/s | floor sync {:.0} rt/s, async {:.0} msg/s",
            if i == 0 { "before" } else { "after " },
            pr.pingpong_rt_per_s,
            pr.pingpong_p50_us,
            pr.pingpong_blocking_rt_per_s,
            pr.page_cache_write_bytes_per_s / 1048576.0,
            fl.sync_rt_per_s,
            fl.async_msgs_per_s
        );
    }
    println!(
        "transport floor (echo server, same requests, no broker work): sync {:.0} rt/s (p50 {:.1} us) | async-256 {:.0} msg/s",
        r.floor.sync_rt_per_s, r.floor.sync_p50_us, r.floor.async_msgs_per_s
    );
    println!(
        "standalone: listening {:.1} ms, serving {:.1} ms, registered {:.1} ms | idle RSS {:.1} MiB (anon {:.1}, file {:.1}), {} threads",
        r.startup.listening_ms,
        r.startup.serving_ms,
        r.startup.registered_ms,
        mib(r.idle.rss),
        mib(r.idle.rss_anon),
        mib(r.idle.rss_file),
        r.idle.threads
    );
    println!(
        "warm-up (first segment, connections, routes): {:.1} ms",
        r.warmup_ms
    );
    println!();
    println!(
        "| {:<18} | {:>9} | {:>8} | {:>8} | {:>8} | {:>8} | {:>9} | {:>6} | {:>7} | {:>8} | {:>7} | {:>8} | {:>6} |",
        "run", "msg/s", "MiB/s", "p50 us", "p99 us", "p99.9 us", "max us", "failed", "brk cpu", "us/msg", "sys us", "anon MiB", "cli cpu"
    );
    println!("|{}|", "-".repeat(150));
    for run in &r.runs {
        let s = &run.summary;
        let u = &run.usage;
        println!(
            "| {:<18} | {:>9.0} | {:>8.1} | {:>8.1} | {:>8.1} | {:>8.1} | {:>9.1} | {:>6} | {:>6.0}% | {:>8.2} | {:>7.2} | {:>8.1} | {:>5.0}% |",
            run.name,
            s.tps,
            s.mib_s,
            s.p50_us,
            s.p99_us,
            s.p999_us,
            s.max_us,
            s.failed,
            u.broker_cpu_pct,
            u.broker_cpu_us_per_msg,
            u.broker_sys_us_per_msg,
            mib(u.broker_peak.rss_anon),
            u.client_cpu_pct
        );
    }
    println!();
    println!(
        "| {:<62} | {:>10} | {:>10} | {:>6} | {:>6} | {:<5} |",
        "target", "measured", "required", "unit", "ratio", "met"
    );
    println!("|{}|", "-".repeat(115));
    for c in &r.targets {
        println!(
            "| {:<62} | {:>10.1} | {:>10.1} | {:>6} | {:>6.2} | {:<5} |",
            c.name,
            c.measured,
            c.required,
            c.unit,
            c.ratio,
            if c.pass { "yes" } else { "NO" }
        );
    }
    println!();
    for c in &r.targets {
        println!("  {}: {}", c.name, c.note);
    }
    println!();
    println!("{}", r.store_disk.line());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_ratios_point_the_right_way() {
        let min = TargetCheck::new("m", 150.0, 100.0, "min", "x", String::new());
        assert!(min.pass && (min.ratio - 1.5).abs() < 1e-9);
        let max = TargetCheck::new("m", 10.0, 5.0, "max", "x", String::new());
        assert!(!max.pass && (max.ratio - 0.5).abs() < 1e-9);
        let none = TargetCheck::new("m", f64::INFINITY, 5.0, "max", "x", String::new());
        assert!(!none.pass);
    }
}
