//! `ferromq bench consumer` (RocketMQ's `benchmark/consumer.sh`, pull flavour): one task per
//! readable queue pulls from the group's offset until the backlog that was there at the start is
//! drained (or, with --follow, for --duration with long polling), then commits the offsets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ferromq_proto::codes::response;

use super::meter::{spawn_reporter, Meter, ReportStyle};
use super::report::Summary;
use super::wire::{read_pull, read_queues, QueueTarget, Wire};
use super::{ConsumerArgs, StartFrom};

/// How long a long-polling pull may be held by the broker.
pub(crate) const SUSPEND_MS: i64 = 1000;

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
    /// with every message body and returns the offset reached.
    pub(crate) async fn run(
        &self,
        shard: usize,
        mut offset: i64,
        end: Option<i64>,
        meter: &Meter,
        mut each: impl FnMut(&[u8]),
    ) -> i64 {
        let (suspend, record_rt) = (self.suspend, self.record_rt);
        let conn = match self.wire.conn(&self.queue.addr).await {
            Ok(c) => c,
            Err(e) => {
                meter.failed(1, &format!("{e:#}"));
                return offset;
            }
        };
        let suspend_ms = suspend.then_some(SUSPEND_MS);
        let timeout = self.timeout + Duration::from_millis(SUSPEND_MS as u64);
        while !meter.stopped() && end.is_none_or(|e| offset < e) {
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
                    r.map(|p| (p, bytes))
                }
                Err(e) => Err(e.into()),
            };
            match pulled {
                Ok((p, bytes)) => {
                    if p.code == response::SUCCESS {
                        meter.ok(p.messages, bytes);
                        if record_rt {
                            meter.latency(shard, t0.elapsed());
                        }
                    } else if p.code == response::PULL_NOT_FOUND && !suspend {
                        // Nothing yet (the backlog is still being dispatched): poll again soon.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    offset = p.next_offset.max(offset);
                }
                Err(e) => {
                    meter.failed(1, &format!("{e:#}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        offset
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

/// Runs `ferromq bench consumer` and returns its summary.
pub async fn run(args: &ConsumerArgs) -> anyhow::Result<Summary> {
    let c = &args.common;
    let wire = Wire::new(&c.namesrv, c.header.serialize_type())?;
    let Some(route) = wire.route(&c.topic).await? else {
        bail!("topic {} does not exist", c.topic);
    };
    let queues = read_queues(&route);
    if queues.is_empty() {
        bail!("topic {} has no readable queue on a master broker", c.topic);
    }
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
            (reader, reached)
        }));
    }
    let mut reached = Vec::new();
    for t in tasks {
        if let Ok(r) = t.await {
            reached.push(r);
        }
    }
    let elapsed = started.elapsed();
    meter.stop();
    stopper.abort();
    ctrl_c.abort();
    let _ = reporter.await;
    for (reader, offset) in &reached {
        if let Err(e) = wire
            .commit_offset(&reader.queue, &c.topic, &args.group, *offset)
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
