//! `ferromq bench producer` (RocketMQ's `benchmark/producer.sh`): workers send SEND_MESSAGE_V2
//! (or SEND_BATCH_MESSAGE with --batch) round robin over the topic's writable queues, one
//! request at a time (sync), up to --inflight at a time (async), or without responses (oneway).

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use bytes::{BufMut, Bytes, BytesMut};
use ferromq_net::{ConnectionHandle, NetError};
use ferromq_proto::codes::response;
use ferromq_proto::message::{encode_batch_item, UniqKeyGenerator};
use ferromq_proto::RemotingCommand;
use tokio::sync::Semaphore;

use super::meter::{spawn_reporter, Meter, ReportStyle};
use super::report::Summary;
use super::wire::{describe, write_queues, QueueTarget, SendTemplate, Wire};
use super::{ProducerArgs, SendMode};

/// The first bytes of a body that carries its send time (`ferromq bench e2e`).
pub const STAMP_MAGIC: &[u8; 4] = b"FMQt";
/// Bytes of the stamp: magic and microseconds since the epoch.
pub const STAMP_LEN: usize = 12;

/// Microseconds since the Unix epoch (comparable between processes on one machine).
pub fn epoch_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The send time a stamped body carries.
pub fn read_stamp(body: &[u8]) -> Option<u64> {
    if body.len() < STAMP_LEN || &body[..4] != STAMP_MAGIC {
        return None;
    }
    let mut t = [0u8; 8];
    t.copy_from_slice(&body[4..12]);
    Some(u64::from_be_bytes(t))
}

/// Which messages a worker may send next: a count limit, a deadline and a rate shared by all.
struct Plan {
    limit: Option<u64>,
    claimed: AtomicU64,
    deadline: Option<Instant>,
    rate: Option<f64>,
    start: Instant,
}

impl Plan {
    /// Claims up to `want` messages; returns the index of the first and how many (0: stop).
    fn claim(&self, want: u64, meter: &Meter) -> (u64, u64) {
        if meter.stopped() || self.deadline.is_some_and(|d| Instant::now() >= d) {
            return (0, 0);
        }
        match self.limit {
            None => (self.claimed.fetch_add(want, Ordering::Relaxed), want),
            Some(limit) => {
                let mut cur = self.claimed.load(Ordering::Relaxed);
                loop {
                    if cur >= limit {
                        return (0, 0);
                    }
                    let n = want.min(limit - cur);
                    match self.claimed.compare_exchange_weak(
                        cur,
                        cur + n,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => return (cur, n),
                        Err(now) => cur = now,
                    }
                }
            }
        }
    }

    /// With a rate, waits until message `index` is due.
    async fn pace(&self, index: u64) {
        if let Some(rate) = self.rate.filter(|r| *r > 0.0) {
            let due = self.start + Duration::from_secs_f64(index as f64 / rate);
            if due > Instant::now() {
                tokio::time::sleep_until(due.into()).await;
            }
        }
    }
}

/// Everything the workers share.
pub(crate) struct Ctx {
    args: ProducerArgs,
    template: SendTemplate,
    queues: Vec<(QueueTarget, ConnectionHandle)>,
    next_queue: AtomicUsize,
    body: Bytes,
    uniq: UniqKeyGenerator,
    key_seq: AtomicU64,
    bucket_seq: AtomicU64,
    plan: Plan,
    stamp: bool,
    meter: Arc<Meter>,
}

impl Ctx {
    fn next_queue(&self) -> &(QueueTarget, ConnectionHandle) {
        let i = self.next_queue.fetch_add(1, Ordering::Relaxed);
        &self.queues[i % self.queues.len()]
    }

    fn body(&self) -> Bytes {
        if !self.stamp {
            return self.body.clone();
        }
        let mut b = BytesMut::with_capacity(self.body.len());
        b.put_slice(STAMP_MAGIC);
        b.put_u64(epoch_micros());
        b.put_slice(&self.body[STAMP_LEN..]);
        b.freeze()
    }

    /// The properties string of one message (what a RocketMQ client sends: UNIQ_KEY, WAIT, and
    /// KEYS/TAGS when set).
    fn properties(&self, out: &mut String) {
        let _ = write!(out, "UNIQ_KEY\u{1}{}\u{2}", self.uniq.next_id());
        if self.args.keys {
            let k = self.key_seq.fetch_add(1, Ordering::Relaxed);
            let _ = write!(out, "KEYS\u{1}bench-{k}\u{2}");
        }
        if let Some(t) = &self.args.tags {
            let _ = write!(out, "TAGS\u{1}{t}\u{2}");
        }
        if let Some(n) = self.args.bucket.filter(|n| *n > 0) {
            let k = self.bucket_seq.fetch_add(1, Ordering::Relaxed);
            let _ = write!(out, "bucket\u{1}{}\u{2}", k % n);
        }
        out.push_str("WAIT\u{1}true\u{2}");
    }

    /// A request with `n` messages for `q`.
    fn request(&self, q: &QueueTarget, n: u64) -> RemotingCommand {
        if self.args.batch <= 1 {
            let mut props = String::with_capacity(96);
            self.properties(&mut props);
            return self.template.request(q, self.body(), props, false);
        }
        let mut body = BytesMut::with_capacity(n as usize * (self.body.len() + 96));
        let mut props = String::with_capacity(96);
        for _ in 0..n {
            props.clear();
            self.properties(&mut props);
            // Sizes were checked when the run started, so encoding cannot fail.
            let _ = encode_batch_item(&mut body, 0, &self.body(), &props);
        }
        let outer = format!(
            "WAIT\u{1}true\u{2}UNIQ_KEY\u{1}{}\u{2}",
            self.uniq.next_id()
        );
        self.template.request(q, body.freeze(), outer, true)
    }

    fn settle(&self, shard: usize, n: u64, t0: Instant, r: Result<RemotingCommand, NetError>) {
        let rt = t0.elapsed();
        match r {
            Ok(resp) if resp.code == response::SUCCESS => {
                self.meter.ok(n, n * self.args.size as u64);
                self.meter.latency(shard, rt);
            }
            Ok(resp) => self.meter.failed(n, &describe(resp.code, &resp)),
            Err(e) => self.meter.failed(n, &e.to_string()),
        }
    }
}

/// Resolves the topic (creating it when missing) and connects to its brokers.
pub(crate) async fn prepare(
    args: &ProducerArgs,
    stamp: bool,
    meter: Arc<Meter>,
) -> anyhow::Result<Arc<Ctx>> {
    let c = &args.common;
    if args.batch == 0 || args.inflight == 0 || c.workers == 0 {
        bail!("--batch, --inflight and --workers must be at least 1");
    }
    if stamp && args.size < STAMP_LEN {
        bail!("the body must have at least {STAMP_LEN} bytes to carry its send time");
    }
    let wire = Wire::new(&c.namesrv, c.header.serialize_type())?
        .with_credentials(c.credentials())
        .with_tls(c.tls_client()?);
    let route = wire
        .ensure_topic(&c.topic, c.queues)
        .await
        .with_context(|| format!("cannot find or create topic {}", c.topic))?;
    let targets = write_queues(&route);
    if targets.is_empty() {
        bail!("topic {} has no writable queue on a master broker", c.topic);
    }
    let mut queues = Vec::with_capacity(targets.len());
    for q in targets {
        let conn = wire.conn(&q.addr).await?;
        queues.push((q, conn));
    }
    let body: Vec<u8> = (0..args.size).map(|i| b'a' + (i % 26) as u8).collect();
    let time_limit = c.time_limit();
    Ok(Arc::new(Ctx {
        template: SendTemplate {
            group: args.group.clone(),
            topic: c.topic.clone(),
            serialize: c.header.serialize_type(),
            credentials: c.credentials(),
        },
        queues,
        next_queue: AtomicUsize::new(0),
        body: Bytes::from(body),
        uniq: UniqKeyGenerator::new(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        key_seq: AtomicU64::new(0),
        bucket_seq: AtomicU64::new(0),
        plan: Plan {
            limit: c.count,
            claimed: AtomicU64::new(0),
            deadline: time_limit.map(|d| Instant::now() + d),
            rate: args.rate,
            start: Instant::now(),
        },
        stamp,
        meter,
        args: args.clone(),
    }))
}

/// Runs the workers until the plan is used up; returns when every response is in.
pub(crate) async fn drive(ctx: Arc<Ctx>) {
    let mut tasks = Vec::new();
    for id in 0..ctx.args.common.workers {
        let ctx = Arc::clone(&ctx);
        tasks.push(tokio::spawn(async move {
            match ctx.args.mode {
                SendMode::Sync => sync_worker(id, ctx).await,
                SendMode::Async => async_worker(id, ctx).await,
                SendMode::Oneway => oneway_worker(id, ctx).await,
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn sync_worker(id: usize, ctx: Arc<Ctx>) {
    let timeout = ctx.args.common.timeout();
    loop {
        let (index, n) = ctx.plan.claim(ctx.args.batch as u64, &ctx.meter);
        if n == 0 {
            return;
        }
        ctx.plan.pace(index).await;
        let (q, conn) = ctx.next_queue();
        let cmd = ctx.request(q, n);
        let t0 = Instant::now();
        let r = conn.invoke(cmd, timeout).await;
        ctx.settle(id, n, t0, r);
    }
}

async fn async_worker(id: usize, ctx: Arc<Ctx>) {
    let timeout = ctx.args.common.timeout();
    let window = ctx.args.inflight;
    let budget = Arc::new(Semaphore::new(window));
    loop {
        let Ok(permit) = Arc::clone(&budget).acquire_owned().await else {
            return;
        };
        let (index, n) = ctx.plan.claim(ctx.args.batch as u64, &ctx.meter);
        if n == 0 {
            break;
        }
        ctx.plan.pace(index).await;
        let (q, conn) = ctx.next_queue();
        let cmd = ctx.request(q, n);
        let conn = conn.clone();
        let c = Arc::clone(&ctx);
        tokio::spawn(async move {
            let t0 = Instant::now();
            let r = conn.invoke(cmd, timeout).await;
            c.settle(id, n, t0, r);
            drop(permit);
        });
    }
    // Wait for the requests still in flight.
    let _ = budget.acquire_many(window as u32).await;
}

async fn oneway_worker(id: usize, ctx: Arc<Ctx>) {
    let timeout = ctx.args.common.timeout();
    let every = ctx.args.inflight as u64;
    let mut since_sync = 0u64;
    loop {
        let (index, n) = ctx.plan.claim(ctx.args.batch as u64, &ctx.meter);
        if n == 0 {
            break;
        }
        ctx.plan.pace(index).await;
        let (q, conn) = ctx.next_queue();
        let cmd = ctx.request(q, n);
        since_sync += n;
        let last = ctx.plan.limit.is_some_and(|l| index + n >= l);
        if since_sync >= every || last {
            // A round trip now and then keeps the broker from falling arbitrarily far behind,
            // and the last one makes sure everything before it was read.
            since_sync = 0;
            let t0 = Instant::now();
            let r = conn.invoke(cmd, timeout).await;
            ctx.settle(id, n, t0, r);
        } else {
            match conn.send_oneway(cmd) {
                Ok(()) => ctx.meter.ok(n, n * ctx.args.size as u64),
                Err(e) => ctx.meter.failed(n, &e.to_string()),
            }
        }
    }
    // A run cut by time ends on a one-way send: one round trip on every connection makes sure
    // the broker has read it before the process goes away.
    for (q, conn) in &ctx.queues {
        let barrier = RemotingCommand::request(
            ferromq_proto::codes::request::GET_MAX_OFFSET,
            &ferromq_proto::headers::GetMaxOffsetRequestHeader {
                topic: ctx.template.topic.clone(),
                queue_id: q.queue_id,
                committed: None,
            },
        );
        let _ = conn.invoke(barrier, timeout).await;
    }
}

/// Runs `ferromq bench producer` and returns its summary.
pub async fn run(args: &ProducerArgs) -> anyhow::Result<Summary> {
    let meter = Meter::new(args.common.workers);
    let ctx = prepare(args, false, Arc::clone(&meter)).await?;
    let started = Instant::now();
    let ctrl_c = super::stop_on_ctrl_c(&meter);
    let reporter = spawn_reporter(
        Arc::clone(&meter),
        ReportStyle {
            verb: "Send",
            latency_is_e2e: false,
        },
        args.common.count,
        args.common.time_limit(),
        args.common.quiet,
    );
    drive(Arc::clone(&ctx)).await;
    let elapsed = started.elapsed();
    meter.stop();
    ctrl_c.abort();
    let _ = reporter.await;
    let mut s = summary_base(args);
    s.fill(&meter, elapsed, "send RT");
    s.sent = meter.ok_count();
    Ok(s)
}

fn summary_base(args: &ProducerArgs) -> Summary {
    Summary {
        mode: args.mode.as_str().to_owned(),
        topic: args.common.topic.clone(),
        size: args.size,
        workers: args.common.workers,
        batch: args.batch,
        inflight: if args.mode == SendMode::Async {
            args.inflight
        } else {
            1
        },
        ..Summary::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip() {
        let mut b = BytesMut::new();
        b.put_slice(STAMP_MAGIC);
        b.put_u64(1234);
        b.put_slice(b"rest");
        assert_eq!(read_stamp(&b), Some(1234));
        assert_eq!(read_stamp(b"FMQx00000000"), None);
        assert_eq!(read_stamp(b"FMQt"), None);
    }

    #[test]
    fn plan_hands_out_exactly_the_limit() {
        let meter = Meter::new(1);
        let plan = Plan {
            limit: Some(100),
            claimed: AtomicU64::new(0),
            deadline: None,
            rate: None,
            start: Instant::now(),
        };
        let mut total = 0;
        loop {
            let (_, n) = plan.claim(32, &meter);
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, 100);
    }
}
