//! `ferromq bench suite`: the one-command benchmark.
//!
//! 1. Probes this machine (ping-pong round trips, loopback bandwidth, page-cache writes).
//! 2. Starts `ferromq standalone` (this very binary) in a temp dir and times how long it takes
//!    to listen, to answer a request, and to register with its name server; reads idle RSS.
//! 3. Runs the fixed matrix against it: 1 KiB and 128 B bodies; sync with 1 and 16 tasks; async
//!    with 256 in flight; batches of 32; draining each backlog; e2e latency at 1,000 msg/s;
//!    sampling the broker's RSS and CPU time around every run.
//! 4. Prints a table with the ratios to the targets of issue 5, and the store's disk use (`du`)
//!    next to the commit-log bytes written, and writes it all as JSON.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use ferromq_net::RemotingClient;
use ferromq_proto::codes::{request, response};
use ferromq_proto::RemotingCommand;
use parking_lot::Mutex;

use super::floor::Floor;
use super::probe::{self, ProbeResult};
use super::procstat;
use super::report::round3;
use super::table::{machine, print_table, targets, Memory, RunResult, Startup, SuiteResult, Usage};
use super::wire::{read_queues, Wire};
use super::{
    consumer, e2e, producer, CommonArgs, ConsumerArgs, E2eArgs, HeaderKind, ProducerArgs, SendMode,
    StartFrom,
};

/// `ferromq bench suite`.
#[derive(Debug, Clone, Args)]
pub struct SuiteArgs {
    /// Where to write the results as JSON.
    #[arg(long, default_value = "bench-results.json")]
    pub out: PathBuf,
    /// Seconds of every throughput run.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// Seconds of the e2e latency run.
    #[arg(long = "e2e-duration", default_value_t = 10.0)]
    pub e2e_duration: f64,
    /// Seconds of every machine probe.
    #[arg(long = "probe-duration", default_value_t = 2.0)]
    pub probe_duration: f64,
    /// Header encoding of the requests.
    #[arg(long, value_enum, default_value_t = HeaderKind::Json)]
    pub header: HeaderKind,
    /// The `ferromq` binary to start (default: this one).
    #[arg(long)]
    pub ferromq: Option<PathBuf>,
    /// Keep the temp dir (store, logs) and print where it is.
    #[arg(long)]
    pub keep: bool,
    /// Print the per-second lines of every run.
    #[arg(long)]
    pub verbose: bool,
    /// Threads of the load generator's runtime (1: single-threaded); default one per core.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// The broker child process; killed when dropped.
struct Standalone {
    child: Option<Child>,
    namesrv: String,
    broker: String,
}

impl Standalone {
    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGTERM, then up to 15 s for a clean exit; SIGKILL after that.
    fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Starts `ferromq standalone` under `dir` and waits until it serves; returns it with its
/// start-up times.
async fn start_standalone(exe: &Path, dir: &Path) -> anyhow::Result<(Standalone, Startup)> {
    let (ns_port, broker_port) = (free_port()?, free_port()?);
    let log = std::fs::File::create(dir.join("standalone.log"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("standalone")
        .arg("--data")
        .arg(dir.join("data"))
        .arg("--namesrv-port")
        .arg(ns_port.to_string())
        .arg("--broker-port")
        .arg(broker_port.to_string())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let t0 = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let mut sa = Standalone {
        child: Some(child),
        namesrv: format!("127.0.0.1:{ns_port}"),
        broker: format!("127.0.0.1:{broker_port}"),
    };
    let mut startup = Startup::default();
    let deadline = t0 + Duration::from_secs(20);
    let exited = |sa: &mut Standalone| {
        sa.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))))
    };
    // Listening: a TCP connect succeeds.
    loop {
        if tokio::net::TcpStream::connect(&sa.broker).await.is_ok() {
            startup.listening_ms = ms(t0.elapsed());
            break;
        }
        if exited(&mut sa) || Instant::now() > deadline {
            bail!(
                "standalone did not start; see {}",
                dir.join("standalone.log").display()
            );
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    // Serving: a request is answered.
    let client = RemotingClient::default();
    loop {
        let cmd = RemotingCommand::bare_request(request::GET_BROKER_RUNTIME_INFO);
        let r = client
            .invoke(&sa.broker, cmd, Duration::from_millis(500))
            .await;
        if matches!(&r, Ok(resp) if resp.code == response::SUCCESS) {
            startup.serving_ms = ms(t0.elapsed());
            break;
        }
        if exited(&mut sa) || Instant::now() > deadline {
            bail!(
                "standalone never answered; see {}",
                dir.join("standalone.log").display()
            );
        }
        if r.is_err() {
            client.close(&sa.broker).await;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    // Registered: the name server lists the broker.
    loop {
        let cmd = RemotingCommand::bare_request(request::GET_BROKER_CLUSTER_INFO);
        if let Ok(resp) = client
            .invoke(&sa.namesrv, cmd, Duration::from_millis(500))
            .await
        {
            if resp.code == response::SUCCESS
                && std::str::from_utf8(&resp.body).is_ok_and(|b| b.contains(&sa.broker))
            {
                startup.registered_ms = ms(t0.elapsed());
                break;
            }
        }
        if Instant::now() > deadline {
            bail!("the broker never registered with the name server");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    client.close_all().await;
    Ok((sa, startup))
}

fn ms(d: Duration) -> f64 {
    round3(d.as_secs_f64() * 1000.0)
}

/// Samples the broker every 100 ms while a run goes, keeping the largest reading.
struct Sampler {
    peak: Arc<Mutex<Memory>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let peak = Arc::new(Mutex::new(Memory::default()));
        let p = Arc::clone(&peak);
        let task = tokio::spawn(async move {
            loop {
                if let Some(s) = procstat::sample(Some(pid)) {
                    let mut m = p.lock();
                    m.rss = m.rss.max(s.rss);
                    m.rss_anon = m.rss_anon.max(s.rss_anon);
                    m.rss_file = m.rss_file.max(s.rss_file);
                    m.threads = m.threads.max(s.threads);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Sampler { peak, task }
    }

    fn finish(self) -> Memory {
        self.task.abort();
        *self.peak.lock()
    }
}

/// What a matrix row runs.
enum Job {
    Produce(ProducerArgs),
    Consume(ConsumerArgs),
    E2e(E2eArgs),
}

async fn measure(name: &str, pid: u32, job: Job) -> anyhow::Result<RunResult> {
    let before = procstat::sample(Some(pid)).unwrap_or_default();
    let me_before = procstat::sample(None).unwrap_or_default();
    let sampler = Sampler::start(pid);
    let t0 = Instant::now();
    let summary = match &job {
        Job::Produce(a) => producer::run(a).await,
        Job::Consume(a) => consumer::run(a).await,
        Job::E2e(a) => e2e::run(a).await,
    }
    .with_context(|| format!("run `{name}` failed"))?;
    let wall = t0.elapsed().as_secs_f64().max(1e-9);
    let mut peak = sampler.finish();
    let after = procstat::sample(Some(pid)).unwrap_or_default();
    let me_after = procstat::sample(None).unwrap_or_default();
    peak.rss = peak.rss.max(after.rss);
    peak.rss_anon = peak.rss_anon.max(after.rss_anon);
    peak.rss_file = peak.rss_file.max(after.rss_file);
    let cpu = after.cpu.saturating_sub(before.cpu).as_secs_f64();
    let cpu_sys = after.cpu_sys.saturating_sub(before.cpu_sys).as_secs_f64();
    let msgs = summary.sent.max(summary.received).max(1);
    let usage = Usage {
        broker_cpu_s: round3(cpu),
        broker_cpu_pct: round3(cpu / wall * 100.0),
        broker_cpu_us_per_msg: round3(cpu * 1e6 / msgs as f64),
        broker_sys_us_per_msg: round3(cpu_sys * 1e6 / msgs as f64),
        client_cpu_pct: round3(
            me_after.cpu.saturating_sub(me_before.cpu).as_secs_f64() / wall * 100.0,
        ),
        broker_peak: peak,
    };
    Ok(RunResult {
        name: name.to_owned(),
        summary,
        usage,
    })
}

/// Waits until the consume queues of `topic` hold `expected` messages (dispatch caught up).
async fn wait_dispatched(wire: &Wire, topic: &str, expected: u64) -> anyhow::Result<()> {
    let Some(route) = wire.route(topic).await? else {
        return Ok(());
    };
    let queues = read_queues(&route);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut total = 0;
        for q in &queues {
            total += wire.queue_offset(q, topic, true).await?.max(0) as u64;
        }
        if total >= expected || Instant::now() > deadline {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs the suite.
pub async fn run(args: &SuiteArgs) -> anyhow::Result<()> {
    let exe = match &args.ferromq {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("cannot find this program's path")?,
    };
    let tmp = tempfile::Builder::new()
        .prefix("ferromq-bench-")
        .tempdir()
        .context("cannot create a temp dir")?;
    let dir = tmp.path().to_owned();
    let mut result = SuiteResult {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at_ms: ferromq_common::now_millis(),
        machine: machine(),
        ..SuiteResult::default()
    };
    let each = Duration::from_secs_f64(args.probe_duration.max(0.1));
    // The machine is measured before the broker starts and again after it stops; on a shared
    // machine the two differ, and the targets are held against the better of each figure.
    let (probe, floor) = measure_machine(&dir, each, args).await?;
    result.probe_runs.push(probe);
    result.floor_runs.push(floor);

    eprintln!(
        "starting {} standalone in {} ...",
        exe.display(),
        dir.display()
    );
    let (mut sa, startup) = start_standalone(&exe, &dir).await?;
    result.startup = startup;
    let pid = sa.pid();
    eprintln!(
        "standalone: listening after {:.1} ms, serving after {:.1} ms, registered after {:.1} ms",
        startup.listening_ms, startup.serving_ms, startup.registered_ms
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    result.idle = procstat::sample(Some(pid)).unwrap_or_default().into();

    let outcome = async {
        result.warmup_ms = warm_up(args, &sa).await?;
        run_matrix(args, &sa, pid, &mut result).await
    }
    .await;
    result.shutdown_exit_code = sa.stop();
    outcome?;
    // After the clean stop, which deletes the spare commit-log segment.
    result.store_disk.dirs = super::disk::measure(&dir.join("data").join("store"));
    let (probe, floor) = measure_machine(&dir, each, args).await?;
    result.probe_runs.push(probe);
    result.floor_runs.push(floor);
    result.probe = ProbeResult::best(&result.probe_runs);
    result.floor = Floor::best(&result.floor_runs);
    result.targets = targets(&result);
    print_table(&result);
    let json = serde_json::to_string_pretty(&result)?;
    std::fs::write(&args.out, json + "\n")
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!("results written to {}", args.out.display());
    if args.keep {
        let kept = tmp.keep();
        println!("store and logs kept in {}", kept.display());
    }
    Ok(())
}

/// Probes the machine and the transport floor.
async fn measure_machine(
    dir: &Path,
    each: Duration,
    args: &SuiteArgs,
) -> anyhow::Result<(ProbeResult, Floor)> {
    eprintln!(
        "probing this machine ({} s per probe) ...",
        each.as_secs_f64()
    );
    let probe_dir = dir.to_owned();
    let probe = tokio::task::spawn_blocking(move || probe::run(&probe_dir, 1024, each))
        .await
        .context("probe task failed")??;
    eprintln!(
        "probe: ping-pong {:.0} rt/s (p50 {:.1} us), loopback {:.0} MiB/s, page-cache write {:.0} MiB/s",
        probe.pingpong_rt_per_s,
        probe.pingpong_p50_us,
        probe.loopback_bytes_per_s / 1048576.0,
        probe.page_cache_write_bytes_per_s / 1048576.0
    );
    let floor = super::floor::measure(each, args.header.serialize_type())
        .await
        .context("transport floor")?;
    eprintln!(
        "transport floor (echo server): sync {:.0} rt/s (p50 {:.1} us), async-256 {:.0} msg/s",
        floor.sync_rt_per_s, floor.sync_p50_us, floor.async_msgs_per_s
    );
    Ok((probe, floor))
}

/// Sends a few thousand messages to a topic of its own, so that one-time work (creating the
/// first commit-log segment, connections, routes) is not billed to the first run; returns how
/// long it took.
async fn warm_up(args: &SuiteArgs, sa: &Standalone) -> anyhow::Result<f64> {
    let mut c = CommonArgs::new(&sa.namesrv, "bench_warmup");
    c.count = Some(2000);
    c.header = args.header;
    c.quiet = true;
    let mut p = ProducerArgs::new(c);
    p.mode = SendMode::Async;
    p.inflight = 32;
    let t0 = Instant::now();
    producer::run(&p).await.context("warm-up failed")?;
    let ms = round3(t0.elapsed().as_secs_f64() * 1000.0);
    eprintln!("warm-up: 2000 messages in {ms:.1} ms");
    Ok(ms)
}

async fn run_matrix(
    args: &SuiteArgs,
    sa: &Standalone,
    pid: u32,
    result: &mut SuiteResult,
) -> anyhow::Result<()> {
    let common = |topic: &str, workers: usize, duration: f64| {
        let mut c = CommonArgs::new(&sa.namesrv, topic);
        c.workers = workers;
        c.duration = Some(duration);
        c.header = args.header;
        c.quiet = !args.verbose;
        c
    };
    let wire = Wire::new(&sa.namesrv, args.header.serialize_type())?;
    for (size, label, topic) in [(1024, "1KiB", "bench_1k"), (128, "128B", "bench_128b")] {
        let shapes: [(&str, usize, SendMode, usize, usize); 4] = [
            ("sync-1", 1, SendMode::Sync, 1, 1),
            ("sync-16", 16, SendMode::Sync, 1, 1),
            ("async-256", 1, SendMode::Async, 256, 1),
            ("batch-32", 4, SendMode::Sync, 1, 32),
        ];
        let mut produced = 0;
        for (shape, workers, mode, inflight, batch) in shapes {
            let mut p = ProducerArgs::new(common(topic, workers, args.duration));
            p.size = size;
            p.mode = mode;
            p.inflight = inflight;
            p.batch = batch;
            let name = format!("{shape} {label}");
            let r = measure(&name, pid, Job::Produce(p)).await?;
            produced += r.summary.sent;
            report_row(&r);
            result.runs.push(r);
        }
        wait_dispatched(&wire, topic, produced).await?;
        let mut c = ConsumerArgs::new(
            common(topic, 1, args.duration),
            &format!("bench_suite_{label}"),
        );
        c.common.duration = None;
        c.from = StartFrom::First;
        let r = measure(&format!("consume {label}"), pid, Job::Consume(c)).await?;
        report_row(&r);
        result.runs.push(r);
    }
    let e = E2eArgs::new(common("bench_e2e", 1, args.e2e_duration));
    let r = measure("e2e 1KiB @1000/s", pid, Job::E2e(e)).await?;
    report_row(&r);
    result.runs.push(r);
    result.store_disk.log_bytes = log_bytes(&wire, &sa.broker).await;
    wire.close().await;
    Ok(())
}

/// Commit-log bytes the broker keeps (max − min offset), 0 when it does not say.
async fn log_bytes(wire: &Wire, broker: &str) -> u64 {
    let info = match wire.runtime_info(broker).await {
        Ok(info) => info,
        Err(e) => {
            eprintln!("warning: cannot read the broker's runtime info: {e:#}");
            return 0;
        }
    };
    let num = |key: &str| info.get(key).and_then(|v| v.parse::<i64>().ok());
    match (num("commitLogMaxOffset"), num("commitLogMinOffset")) {
        (Some(max), Some(min)) => (max - min).max(0) as u64,
        _ => 0,
    }
}

fn report_row(r: &RunResult) {
    let s = &r.summary;
    eprintln!(
        "{:<18} {:>9.0} msg/s  p50 {:>8.1} us  p99 {:>8.1} us  failed {}  broker cpu {:>5.1}%",
        r.name, s.tps, s.p50_us, s.p99_us, s.failed, r.usage.broker_cpu_pct
    );
}
