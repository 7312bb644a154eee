//! The broker's memory through a backlog of more than 1 GiB, produced and then consumed
//! (`FERROMQ_LONG_TESTS=1`; skipped otherwise): `ferromq bench producer` fills a topic with
//! 1 KiB messages with keys (so the index is written too), `ferromq bench consumer` drains it,
//! and the standalone's `/proc/<pid>/status` is sampled every 200 ms throughout (a release
//! build drains 1 GiB in about two seconds). The test prints a sample per second as a table (anonymous, file-backed and shared-memory RSS apart) and
//! asserts only a memory bound: the whole RSS stays under 300 MiB, as the pages the consumer
//! reads back in and the index touches are released (`mappedResidentLimitMb`).
//!
//! `FERROMQ_BIN_DIR` runs another build's `ferromq` (to compare a branch with main);
//! `FERROMQ_BACKLOG_MESSAGES` changes the backlog (1,100,000 messages: 1.05 GiB of bodies).
//!
//! ```sh
//! FERROMQ_LONG_TESTS=1 cargo test --release -p ferromq-cli --test memory_backlog -- --nocapture
//! ```

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use ferromq_testkit::{free_port, run_command, wait_for_port, Proc};

/// What the whole RSS must stay under.
const BOUND_MIB: u64 = 300;

/// One sample of `/proc/<pid>/status`, in KiB.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    ms: u64,
    anon: u64,
    file: u64,
    shmem: u64,
}

impl Sample {
    fn total(&self) -> u64 {
        self.anon + self.file + self.shmem
    }
}

fn status_kib(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn ferromq() -> PathBuf {
    match std::env::var_os("FERROMQ_BIN_DIR") {
        Some(dir) => PathBuf::from(dir).join("ferromq"),
        None => bin("ferromq"),
    }
}

fn run_bench(args: &[&str]) -> String {
    let (code, out, err) = run_command(&ferromq(), args, &[], Duration::from_secs(3600));
    assert_eq!(code, 0, "ferromq {args:?} failed\n{out}\n{err}");
    out.lines().last().unwrap_or_default().to_owned()
}

#[test]
fn rss_stays_bounded_through_a_1_gib_backlog() {
    if !std::env::var("FERROMQ_LONG_TESTS").is_ok_and(|v| v == "1") {
        eprintln!("skipped: set FERROMQ_LONG_TESTS=1");
        return;
    }
    let count: u64 = std::env::var("FERROMQ_BACKLOG_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_100_000);
    let dir = tempfile::tempdir().unwrap();
    let (ns_port, broker_port) = (free_port(), free_port());
    let standalone = Proc::spawn(
        "standalone",
        &ferromq(),
        &[
            "standalone",
            "--data",
            dir.path().join("data").to_str().unwrap(),
            "--namesrv-port",
            &ns_port.to_string(),
            "--broker-port",
            &broker_port.to_string(),
        ],
        &dir.path().join("logs"),
        &[],
    );
    let ns = format!("127.0.0.1:{ns_port}");
    assert!(
        wait_for_port(&ns, START_TIMEOUT)
            && wait_for_port(&format!("127.0.0.1:{broker_port}"), START_TIMEOUT),
        "standalone did not start:\n{}",
        standalone.output()
    );

    // Sample every second until told to stop, with the phase it was taken in.
    let pid = standalone.pid();
    let samples: Arc<Mutex<Vec<(&'static str, Sample)>>> = Arc::default();
    let phase: Arc<Mutex<&'static str>> = Arc::new(Mutex::new("idle"));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (samples, phase, stop) = (samples.clone(), phase.clone(), stop.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            while !stop.load(Ordering::Acquire) {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let s = Sample {
                    ms: started.elapsed().as_millis() as u64,
                    anon: status_kib(&status, "RssAnon"),
                    file: status_kib(&status, "RssFile"),
                    shmem: status_kib(&status, "RssShmem"),
                };
                let p = *phase.lock().unwrap();
                samples.lock().unwrap().push((p, s));
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    let count_s = count.to_string();
    *phase.lock().unwrap() = "produce";
    let produced = run_bench(&[
        "bench",
        "producer",
        "-n",
        &ns,
        "-t",
        "RssBacklog",
        "-s",
        "1024",
        "--mode",
        "async",
        "--keys",
        "--count",
        &count_s,
        "--quiet",
        "--json",
    ]);
    *phase.lock().unwrap() = "consume";
    let consumed = run_bench(&[
        "bench",
        "consumer",
        "-n",
        &ns,
        "-t",
        "RssBacklog",
        "--from",
        "first",
        "--quiet",
        "--json",
    ]);
    *phase.lock().unwrap() = "after";
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Release);
    sampler.join().unwrap();

    let samples = samples.lock().unwrap().clone();
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("backlog: {count} messages of 1 KiB with keys");
    println!("producer: {produced}\nconsumer: {consumed}");
    println!("|   s | phase   | anon MiB | file MiB | shmem MiB | total MiB |");
    for (p, s) in samples.iter().step_by(5) {
        println!(
            "| {:>3} | {:<7} | {:>8.1} | {:>8.1} | {:>9.1} | {:>9.1} |",
            s.ms / 1000,
            p,
            mib(s.anon),
            mib(s.file),
            mib(s.shmem),
            mib(s.total())
        );
    }
    println!("peaks and ends over every 200 ms sample:");
    for p in ["idle", "produce", "consume", "after"] {
        let of: Vec<Sample> = samples
            .iter()
            .filter(|(q, _)| *q == p)
            .map(|(_, s)| *s)
            .collect();
        let peak = |f: fn(&Sample) -> u64| of.iter().map(f).max().unwrap_or(0);
        if let Some(end) = of.last() {
            println!(
                "{p:<8} peak anon {:.1} MiB, file {:.1} MiB, total {:.1} MiB; end anon {:.1} MiB, file {:.1} MiB",
                mib(peak(|s| s.anon)),
                mib(peak(|s| s.file)),
                mib(peak(Sample::total)),
                mib(end.anon),
                mib(end.file)
            );
        }
    }
    let peak = samples.iter().map(|(_, s)| s.total()).max().unwrap_or(0);
    assert!(
        peak < BOUND_MIB * 1024,
        "the broker's RSS reached {:.1} MiB (bound {BOUND_MIB} MiB)",
        mib(peak)
    );
}
