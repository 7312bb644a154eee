//! `ferromq bench`: the load tool (modelled on RocketMQ's `benchmark/producer.sh`,
//! `consumer.sh`) and the one-command benchmark suite.
//!
//! ```text
//! producer ─┐                                   ┌─ meter (atomics + HdrHistograms per worker)
//! consumer ─┼─ wire (net + proto, one conn/broker) ─┤
//! e2e ──────┘                                   └─ reporter: a line a second, progress bar
//! suite: probe (ping-pong, loopback, page cache) ─▶ child `ferromq standalone` ─▶ fixed matrix
//!        ─▶ table with ratios to the targets ─▶ bench-results.json
//! ```
//!
//! Requests are built with `ferromq_proto` and sent on `ferromq_net` connections directly, so a
//! run measures the broker and the transport rather than client-library policy.

pub mod consumer;
pub mod disk;
pub mod e2e;
pub mod floor;
pub mod meter;
pub mod probe;
pub mod procstat;
pub mod producer;
pub mod report;
pub mod suite;
pub mod table;
pub mod wire;

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use ferromq_proto::command::SerializeType;

/// `ferromq bench <what>`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Send messages and report send TPS, RT percentiles and failures.
    Producer(ProducerArgs),
    /// Drain a topic's backlog for a consumer group and report consume TPS.
    Consumer(ConsumerArgs),
    /// Produce at a steady rate while consuming, and report produce-to-consume latency.
    E2e(E2eArgs),
    /// Start FerroMQ standalone in a temp dir, probe this machine, run the fixed matrix and
    /// write the results table (see docs/benchmark.md).
    Suite(suite::SuiteArgs),
}

/// Header encoding of the requests (`serializeTypeCurrentRPC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum HeaderKind {
    /// JSON headers (what RocketMQ clients send by default).
    #[default]
    Json,
    /// RocketMQ's binary header layout (`ROCKETMQ`).
    Binary,
}

impl HeaderKind {
    /// The protocol value.
    pub fn serialize_type(self) -> SerializeType {
        match self {
            HeaderKind::Json => SerializeType::Json,
            HeaderKind::Binary => SerializeType::RocketMq,
        }
    }
}

/// Options every bench command takes.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Name server address list, e.g. `127.0.0.1:9876`.
    #[arg(
        short = 'n',
        long = "namesrvAddr",
        env = "NAMESRV_ADDR",
        default_value = "127.0.0.1:9876"
    )]
    pub namesrv: String,
    /// Topic (created with --queues queues on every master when missing).
    #[arg(short = 't', long = "topic", default_value = "BenchmarkTest")]
    pub topic: String,
    /// Worker tasks.
    #[arg(short = 'w', long = "workers", default_value_t = 1)]
    pub workers: usize,
    /// Run for this many seconds (default 10 when --count is not given either).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Stop after this many messages.
    #[arg(long)]
    pub count: Option<u64>,
    /// Queues of the topic when the tool creates it.
    #[arg(short = 'q', long = "queues", default_value_t = 8)]
    pub queues: i32,
    /// Header encoding of the requests.
    #[arg(long, value_enum, default_value_t = HeaderKind::Json)]
    pub header: HeaderKind,
    /// Deadline of one request, in milliseconds.
    #[arg(long = "timeout-ms", default_value_t = 3000)]
    pub timeout_ms: u64,
    /// Connect with TLS, without verifying certificates (a benchmark measures the cost of the
    /// encryption; use --tls-ca to verify against a CA)
    #[arg(long)]
    pub tls: bool,
    /// Connect with TLS, verifying servers against the PEM CA certificates in this file
    #[arg(long = "tls-ca", value_name = "file")]
    pub tls_ca: Option<std::path::PathBuf>,
    /// Print the summary as one JSON object on the last line too.
    #[arg(long)]
    pub json: bool,
    /// No per-second lines and no progress bar (the summary is still printed).
    #[arg(long)]
    pub quiet: bool,
    /// Threads of the tool's own runtime (1: single-threaded, which leaves more of a small
    /// machine to the broker); default one per core.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Access key (ACL 2.0: username) every request is signed with.
    #[arg(long = "ak", requires = "secret_key")]
    pub access_key: Option<String>,
    /// Secret key (ACL 2.0: password) of --ak.
    #[arg(long = "sk", requires = "access_key")]
    pub secret_key: Option<String>,
}

impl CommonArgs {
    /// The TLS side of `--tls` / `--tls-ca`; `None` for plaintext.
    pub fn tls_client(&self) -> anyhow::Result<Option<ferromq_net::TlsClient>> {
        let trust = match (&self.tls_ca, self.tls) {
            (Some(ca), _) => ferromq_net::ServerTrust::CaFile(ca.clone()),
            (None, true) => ferromq_net::ServerTrust::InsecureSkipVerify,
            (None, false) => return Ok(None),
        };
        Ok(Some(ferromq_net::TlsClient::new(&trust, None)?))
    }

    /// Defaults, for callers that build a run in code (the suite).
    pub fn new(namesrv: &str, topic: &str) -> Self {
        CommonArgs {
            namesrv: namesrv.to_owned(),
            topic: topic.to_owned(),
            workers: 1,
            duration: None,
            count: None,
            queues: 8,
            header: HeaderKind::Json,
            timeout_ms: 3000,
            tls: false,
            tls_ca: None,
            json: false,
            quiet: false,
            threads: None,
            access_key: None,
            secret_key: None,
        }
    }

    /// `--ak` / `--sk`, when given.
    pub fn credentials(&self) -> Option<wire::Credentials> {
        match (&self.access_key, &self.secret_key) {
            (Some(a), Some(s)) => Some(wire::Credentials {
                access_key: a.clone(),
                secret_key: s.clone(),
            }),
            _ => None,
        }
    }

    /// The run's time limit: --duration, or 10 s when neither --duration nor --count is given.
    pub fn time_limit(&self) -> Option<Duration> {
        match (self.duration, self.count) {
            (Some(d), _) => Some(Duration::from_secs_f64(d.max(0.0))),
            (None, Some(_)) => None,
            (None, None) => Some(Duration::from_secs(10)),
        }
    }

    /// The request deadline.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(1))
    }
}

/// How producers wait for the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum SendMode {
    /// One request at a time per worker.
    #[default]
    Sync,
    /// Up to --inflight requests per worker.
    Async,
    /// No response (flow-controlled by a synchronous send every --inflight messages).
    Oneway,
}

impl SendMode {
    /// The name used in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            SendMode::Sync => "sync",
            SendMode::Async => "async",
            SendMode::Oneway => "oneway",
        }
    }
}

/// `ferromq bench producer`.
#[derive(Debug, Clone, Args)]
pub struct ProducerArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Body size in bytes.
    #[arg(short = 's', long = "size", default_value_t = 128)]
    pub size: usize,
    /// How to wait for the broker.
    #[arg(long, value_enum, default_value_t = SendMode::Sync)]
    pub mode: SendMode,
    /// Messages per request (SEND_BATCH_MESSAGE when above 1).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Requests in flight per worker (async), or messages between flow-control round trips
    /// (oneway).
    #[arg(long, default_value_t = 256)]
    pub inflight: usize,
    /// Give every message a unique KEYS property (indexed by the broker).
    #[arg(short = 'k', long = "keys")]
    pub keys: bool,
    /// TAGS of every message.
    #[arg(long)]
    pub tags: Option<String>,
    /// Send at most this many messages per second in total.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Producer group.
    #[arg(short = 'g', long = "group", default_value = "benchmark_producer")]
    pub group: String,
    /// Give every message a property `bucket` = its sequence number modulo this (for filter
    /// benchmarks: `--bucket 10` and a consumer's `--sql "bucket = 0"` match 10%).
    #[arg(long)]
    pub bucket: Option<u64>,
}

impl ProducerArgs {
    /// Defaults, for callers that build a run in code.
    pub fn new(common: CommonArgs) -> Self {
        ProducerArgs {
            common,
            size: 128,
            mode: SendMode::Sync,
            batch: 1,
            inflight: 256,
            keys: false,
            tags: None,
            rate: None,
            group: "benchmark_producer".to_owned(),
            bucket: None,
        }
    }
}

/// Where a consumer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum StartFrom {
    /// The group's committed offset, else the first message.
    #[default]
    Committed,
    /// The first message still stored.
    First,
    /// Only messages that arrive after the start.
    Last,
}

/// `ferromq bench consumer`.
#[derive(Debug, Clone, Args)]
pub struct ConsumerArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Consumer group.
    #[arg(short = 'g', long = "group", default_value = "benchmark_consumer")]
    pub group: String,
    /// Where to start in each queue.
    #[arg(long, value_enum, default_value_t = StartFrom::Committed)]
    pub from: StartFrom,
    /// Messages asked for per pull (the broker sends at most 32 per pull by default).
    #[arg(long = "pull-batch", default_value_t = 32)]
    pub pull_batch: i32,
    /// Keep consuming (with long polling) for --duration instead of stopping when the backlog
    /// present at the start is drained.
    #[arg(long)]
    pub follow: bool,
    /// Pull with this SQL92 expression (the broker needs `enablePropertyFilter=true`); the
    /// messages it skips count as read, not consumed.
    #[arg(long)]
    pub sql: Option<String>,
}

impl ConsumerArgs {
    /// Defaults, for callers that build a run in code.
    pub fn new(common: CommonArgs, group: &str) -> Self {
        ConsumerArgs {
            common,
            group: group.to_owned(),
            from: StartFrom::Committed,
            pull_batch: 32,
            follow: false,
            sql: None,
        }
    }
}

/// `ferromq bench e2e`.
#[derive(Debug, Clone, Args)]
pub struct E2eArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Body size in bytes (at least 16: the send time travels in the body).
    #[arg(short = 's', long = "size", default_value_t = 1024)]
    pub size: usize,
    /// Messages per second produced.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Consumer group (a fresh one per run by default).
    #[arg(short = 'g', long = "group")]
    pub group: Option<String>,
}

impl E2eArgs {
    /// Defaults, for callers that build a run in code.
    pub fn new(common: CommonArgs) -> Self {
        E2eArgs {
            common,
            size: 1024,
            rate: 1000.0,
            group: None,
        }
    }
}

/// The bench's own runtime: `threads` workers (1: a single-threaded runtime), or one per core.
fn runtime(threads: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    match threads {
        Some(1) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n.max(1))
            .enable_all()
            .build(),
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    }
}

/// Runs `ferromq bench ...`; returns the exit code.
pub fn main(cmd: BenchCommand) -> i32 {
    let threads = match &cmd {
        BenchCommand::Producer(a) => a.common.threads,
        BenchCommand::Consumer(a) => a.common.threads,
        BenchCommand::E2e(a) => a.common.threads,
        BenchCommand::Suite(a) => a.threads,
    };
    let rt = match runtime(threads) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return 1;
        }
    };
    let result = rt.block_on(async move {
        match cmd {
            BenchCommand::Producer(a) => {
                let json = a.common.json;
                producer::run(&a).await.map(|s| s.print(json))
            }
            BenchCommand::Consumer(a) => {
                let json = a.common.json;
                consumer::run(&a).await.map(|s| s.print(json))
            }
            BenchCommand::E2e(a) => {
                let json = a.common.json;
                e2e::run(&a).await.map(|s| s.print(json))
            }
            BenchCommand::Suite(a) => suite::run(&a).await,
        }
    });
    rt.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// Stops `meter` on Ctrl-C, so an interrupted run still prints its summary.
pub(crate) fn stop_on_ctrl_c(meter: &std::sync::Arc<meter::Meter>) -> tokio::task::JoinHandle<()> {
    let m = std::sync::Arc::clone(meter);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            m.stop();
        }
    })
}
