//! `ferromq bench consumer` (RocketMQ's `benchmark/consumer.sh`, pull flavour): one task per
//! readable queue pulls from the group's offset until the backlog that was there at the start is
//! drained (or, with --follow, for --duration with long polling), then commits the offsets.
//!
//! The backlog is what the brokers had *stored* at the start. GET_MAX_OFFSET counts only what a
//! broker has dispatched to its consume queues, which can lag the commit log by seconds (a slow
//! flush under SYNC_FLUSH, a burst of new queues), so the drain first waits until every broker's
//! dispatch has reached the commit-log end it reported at the start, then reads the ends. A
//! queue that cannot be drained to its end (no progress for [`GIVE_UP_AFTER`], offsets skipped
//! by the broker, the time limit, Ctrl-C) is counted as failed with the reason: a summary with
//! `errors: none` means the whole backlog was read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ferromq_proto::codes::{self, response};

use super::meter::{spawn_reporter, Meter, ReportStyle};
use super::report::Summary;
use super::wire::{read_pull, read_queues, QueueTarget, Wire};
use super::{ConsumerArgs, StartFrom};

/// How long a long-polling pull may be held by the broker.
pub(crate) const SUSPEND_MS: i64 = 1000;
/// A drain gives a queue up after this long without moving its offset (pull errors, or a
/// broker answering that nothing is there below the backlog end).
pub(crate) const GIVE_UP_AFTER: Duration = Duration::from_secs(10);
/// How long a drain waits at the start for the brokers' dispatch to catch up.
const DISPATCH_WAIT: Duration = Duration::from_secs(30);

/// The last answer a reader got, for the reason it gives up.
enum Answer {
    Nothing,
    Code(i32, Option<String>),
    Error(String),
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Nothing => f.write_str("none"),
            Answer::Code(code, remark) => write!(
                f,
                "{} ({})",
                codes::response_name(*code),
                remark.as_deref().unwrap_or("no remark")
            ),
            Answer::Error(e) => f.write_str(e),
        }
    }
}

/// Where a [`QueueReader`] stopped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reached {
    /// The next offset to read (what gets committed).
    pub(crate) offset: i64,
    /// True when the reader gave up before its end; the shortfall is already counted as
    /// failed in the meter.
    pub(crate) gave_up: bool,
}

/// One queue's pull loop.
pub(crate) struct QueueReader {
    pub(crate) wire: Wire,
    pub(crate) topic: String,
    pub(crate) group: String,
    pub(crate) queue: QueueTarget,
    pub(crate) pull_batch: i32,
    pub(crate) timeout: Duration,
    /// Let the broker hold empty pulls (long polling).
    pub(crate) suspend: bool,
    /// Record pull RTs in the meter.
    pub(crate) record_rt: bool,
    /// SQL92 expression to pull with.
    pub(crate) sql: Option<String>,
}

impl QueueReader {
    /// Pulls from `offset` until `end` (when given) is reached or `meter` stops; calls `each`
    /// with every message body and returns where it stopped. Offsets the broker skips without
    /// a message (its PULL_OFFSET_MOVED, or units it could not read) are counted as failed,
    /// except those a SQL92 filter leaves out; with an `end`, so is what is left when the
    /// offset has not moved for [`GIVE_UP_AFTER`].
    pub(crate) async fn run(
        &self,
        shard: usize,
        mut offset: i64,
        end: Option<i64>,
        meter: &Meter,
        mut each: impl FnMut(&[u8]),
    ) -> Reached {
        let (suspend, record_rt) = (self.suspend, self.record_rt);
        let qid = self.queue.queue_id;
        let give_up = |offset: i64, end: i64, why: &str| {
            let left = (end - offset).max(0) as u64;
            eprintln!(
                "queue {qid}: gave up at offset {offset}, {left} messages before the backlog end {end}: {why}"
            );
            meter.failed(left, &format!("gave up before the backlog end: {why}"));
            Reached {
                offset,
                gave_up: true,
            }
        };
        let conn = match self.wire.conn(&self.queue.addr).await {
            Ok(c) => c,
            Err(e) => {
                let why = format!("{e:#}");
                return match end {
                    Some(end) => give_up(offset, end, &why),
                    None => {
                        meter.failed(1, &why);
                        Reached {
                            offset,
                            gave_up: true,
                        }
                    }
                };
            }
        };
        let suspend_ms = suspend.then_some(SUSPEND_MS);
        let timeout = self.timeout + Duration::from_millis(SUSPEND_MS as u64);
        let mut moved_at = Instant::now();
        let mut last = Answer::Nothing;
        while !meter.stopped() && end.is_none_or(|e| offset < e) {
            if let Some(end) = end.filter(|_| moved_at.elapsed() >= GIVE_UP_AFTER) {
                let why = format!(
                    "no progress for {} s (last answer: {last})",
                    GIVE_UP_AFTER.as_secs()
                );
                return give_up(offset, end, &why);
            }
            let cmd = self.wire.pull_request(
                &self.queue,
                &self.topic,
                &self.group,
                offset,
                self.pull_batch,
                suspend_ms,
                self.sql.as_deref(),
            );
            let t0 = Instant::now();
            let pulled = match conn.invoke(cmd, timeout).await {
                Ok(resp) => {
                    let mut bytes = 0u64;
                    let r = read_pull(&resp, |body| {
                        bytes += body.len() as u64;
                        each(body);
                    });
                    r.map(|p| (p, bytes, resp.remark))
                }
                Err(e) => Err(e.into()),
            };
            let (p, bytes) = match pulled {
                Ok((p, bytes, remark)) => {
                    last = Answer::Code(p.code, remark);
                    (p, bytes)
                }
                Err(e) => {
                    let text = format!("{e:#}");
                    meter.failed(1, &text);
                    last = Answer::Error(text);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            if p.code == response::SUCCESS {
                meter.ok(p.messages, bytes);
                if record_rt {
                    meter.latency(shard, t0.elapsed());
                }
            }
            if p.code == response::PULL_OFFSET_MOVED && p.next_offset <= offset {
                // The queue ends (or is gone) below the offset the broker itself reported as
                // the backlog end: what is left cannot be read.
                if let Some(end) = end {
                    let why = format!("PULL_OFFSET_MOVED to {}", p.next_offset);
                    return give_up(offset, end, &why);
                }
            }
            // Offsets passed without a message: fillers, messages deleted or moved past. What
            // a SQL92 filter leaves out is read, not lost.
            let passed = (p.next_offset - offset).max(0) as u64;
            let skipped = passed.saturating_sub(p.messages);
            if skipped > 0 && (self.sql.is_none() || p.code == response::PULL_OFFSET_MOVED) {
                let why = format!(
                    "offsets skipped by the broker without a message ({})",
                    codes::response_name(p.code)
                );
                meter.failed(skipped, &why);
            }
            if p.next_offset > offset {
                offset = p.next_offset;
                moved_at = Instant::now();
            } else if !(suspend && p.code == response::PULL_NOT_FOUND) {
                // Nothing there yet (or an answer that does not move on): poll again soon.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        Reached {
            offset,
            gave_up: false,
        }
    }
}

/// The start offset of `q` for `from`.
pub(crate) async fn start_offset(
    wire: &Wire,
    q: &QueueTarget,
    topic: &str,
    group: &str,
    from: StartFrom,
) -> anyhow::Result<i64> {
    match from {
        StartFrom::First => wire.queue_offset(q, topic, false).await,
        StartFrom::Last => wire.queue_offset(q, topic, true).await,
        StartFrom::Committed => match wire.committed_offset(q, topic, group).await? {
            Some(o) => Ok(o),
            None => wire.queue_offset(q, topic, false).await,
        },
    }
}

/// A broker's commit-log end and how far it has dispatched, from its runtime info; `None` when
/// it does not report them.
async fn dispatch_progress(wire: &Wire, addr: &str) -> anyhow::Result<Option<(i64, i64)>> {
    let info = wire.runtime_info(addr).await?;
    let num = |key: &str| info.get(key).and_then(|v| v.trim().parse::<i64>().ok());
    Ok(
        match (num("commitLogMaxOffset"), num("dispatchBehindBytes")) {
            (Some(max), Some(behind)) => Some((max, max - behind)),
            _ => None,
        },
    )
}

/// Waits until every broker serving `queues` has dispatched its commit log up to the end it
/// reports now, so that GET_MAX_OFFSET covers every message stored before the start. Returns,
/// for each broker that did not get there within [`DISPATCH_WAIT`] or could not tell, why.
/// Brokers that do not report their dispatch progress are not waited for.
async fn wait_for_dispatch(wire: &Wire, queues: &[QueueTarget]) -> Vec<String> {
    let mut addrs: Vec<&str> = queues.iter().map(|q| q.addr.as_str()).collect();
    addrs.sort_unstable();
    addrs.dedup();
    let unknown = |addr: &str, e: anyhow::Error| {
        format!("cannot tell whether broker {addr} has dispatched all it stored: {e:#}")
    };
    let mut late = Vec::new();
    let mut targets = Vec::new();
    for addr in addrs {
        match dispatch_progress(wire, addr).await {
            Ok(Some((log_end, _))) => targets.push((addr, log_end)),
            Ok(None) => {}
            Err(e) => late.push(unknown(addr, e)),
        }
    }
    let deadline = Instant::now() + DISPATCH_WAIT;
    for (addr, target) in targets {
        loop {
            let dispatched = match dispatch_progress(wire, addr).await {
                Ok(Some((_, dispatched))) => dispatched,
                Ok(None) => break,
                Err(e) => {
                    late.push(unknown(addr, e));
                    break;
                }
            };
            if dispatched >= target {
                break;
            }
            if Instant::now() >= deadline {
                late.push(format!(
                    "broker {addr} had dispatched {dispatched} of the {target} commit-log bytes it held at the start after {} s; what it had not dispatched is not in the backlog",
                    DISPATCH_WAIT.as_secs()
                ));
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    late
}

/// Runs `ferromq bench consumer` and returns its summary.
pub async fn run(args: &ConsumerArgs) -> anyhow::Result<Summary> {
    let c = &args.common;
    let wire = Wire::new(&c.namesrv, c.header.serialize_type())?
        .with_credentials(c.credentials())
        .with_tls(c.tls_client()?);
    let Some(route) = wire.route(&c.topic).await? else {
        bail!("topic {} does not exist", c.topic);
    };
    let queues = read_queues(&route);
    if queues.is_empty() {
        bail!("topic {} has no readable queue on a master broker", c.topic);
    }
    // The backlog is everything stored now, dispatched to the consume queues or not yet.
    let late = if args.follow {
        Vec::new()
    } else {
        wait_for_dispatch(&wire, &queues).await
    };
    let mut plan = Vec::with_capacity(queues.len());
    let mut backlog = 0;
    for q in &queues {
        let start = start_offset(&wire, q, &c.topic, &args.group, args.from)
            .await
            .with_context(|| format!("start offset of queue {}", q.queue_id))?;
        let end = if args.follow {
            None
        } else {
            let max = wire.queue_offset(q, &c.topic, true).await?;
            backlog += (max - start).max(0) as u64;
            Some(max)
        };
        plan.push((q.clone(), start, end));
    }
    // Draining stops at the backlog's end; following runs for the time limit.
    let limit = if args.follow {
        c.time_limit()
    } else {
        c.duration.map(Duration::from_secs_f64)
    };
    let total = c.count.or((!args.follow).then_some(backlog));
    let meter = Meter::new(queues.len());
    for why in &late {
        eprintln!("warning: {why}");
        // How many messages that may hide is unknown: one failure per broker.
        meter.failed(1, why);
    }
    let started = Instant::now();
    let ctrl_c = super::stop_on_ctrl_c(&meter);
    let reporter = spawn_reporter(
        Arc::clone(&meter),
        ReportStyle {
            verb: "Consume",
            latency_is_e2e: false,
        },
        total,
        limit,
        c.quiet,
    );
    let stopper = {
        let m = Arc::clone(&meter);
        let count = c.count;
        tokio::spawn(async move {
            loop {
                if limit.is_some_and(|l| started.elapsed() >= l)
                    || count.is_some_and(|n| m.ok_count() >= n)
                {
                    m.stop();
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut tasks = Vec::new();
    for (shard, (q, start, end)) in plan.into_iter().enumerate() {
        let reader = QueueReader {
            wire: wire.clone(),
            topic: c.topic.clone(),
            group: args.group.clone(),
            queue: q,
            pull_batch: args.pull_batch.max(1),
            timeout: c.timeout(),
            suspend: args.follow,
            record_rt: true,
            sql: args.sql.clone(),
        };
        let m = Arc::clone(&meter);
        tasks.push(tokio::spawn(async move {
            let reached = reader.run(shard, start, end, &m, |_| {}).await;
            (reader, reached, end)
        }));
    }
    let mut reached = Vec::new();
    for t in tasks {
        match t.await {
            Ok(r) => reached.push(r),
            Err(e) => meter.failed(1, &format!("a queue reader failed: {e}")),
        }
    }
    let elapsed = started.elapsed();
    meter.stop();
    stopper.abort();
    ctrl_c.abort();
    let _ = reporter.await;
    // Queues stopped short of their end by the run itself (readers that gave up have counted
    // their shortfall already); reaching --count is what was asked for.
    let short: u64 = reached
        .iter()
        .filter(|(_, r, _)| !r.gave_up)
        .filter_map(|(_, r, end)| end.map(|e| (e - r.offset).max(0) as u64))
        .sum();
    if short > 0 && c.count.is_none_or(|n| meter.ok_count() < n) {
        let why = if limit.is_some_and(|l| elapsed >= l) {
            "stopped by --duration before the backlog end"
        } else {
            "interrupted before the backlog end"
        };
        meter.failed(short, why);
    }
    for (reader, r, _) in &reached {
        if let Err(e) = wire
            .commit_offset(&reader.queue, &c.topic, &args.group, r.offset)
            .await
        {
            eprintln!(
                "warning: committing the offset of queue {} failed: {e:#}",
                reader.queue.queue_id
            );
        }
    }
    wire.close().await;
    let mut s = Summary {
        mode: "consumer".to_owned(),
        topic: c.topic.clone(),
        workers: queues.len(),
        batch: args.pull_batch as usize,
        inflight: 1,
        ..Summary::default()
    };
    s.fill(&meter, elapsed, "pull RT");
    s.received = meter.ok_count();
    s.size = s.bytes.checked_div(s.received).unwrap_or(0) as usize;
    Ok(s)
}
