//! `ferromq bench e2e`: a producer sends at a steady rate, each body carrying its send time
//! (microseconds since the epoch, see [`super::producer::STAMP_MAGIC`]); long-polling pullers
//! on every queue take the messages and record receive time minus send time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::consumer::QueueReader;
use super::meter::{spawn_reporter, Meter, ReportStyle};
use super::producer::{self, epoch_micros, read_stamp};
use super::report::Summary;
use super::wire::{read_queues, Wire};
use super::{E2eArgs, ProducerArgs, SendMode};

/// How long the consumers may lag behind the last send before the run ends anyway.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// Runs `ferromq bench e2e` and returns its summary.
pub async fn run(args: &E2eArgs) -> anyhow::Result<Summary> {
    let c = &args.common;
    if args.rate.is_nan() || args.rate <= 0.0 {
        bail!("--rate must be positive");
    }
    let group = args.group.clone().unwrap_or_else(|| {
        format!(
            "bench_e2e_{}_{}",
            std::process::id(),
            ferromq_common::now_millis()
        )
    });
    let mut pargs = ProducerArgs::new(c.clone());
    pargs.size = args.size;
    pargs.mode = SendMode::Sync;
    pargs.rate = Some(args.rate);
    pargs.group = "benchmark_e2e_producer".to_owned();
    let send_meter = Meter::new(c.workers);
    // Resolves (or creates) the topic before the consumers look at it.
    let ctx = producer::prepare(&pargs, true, Arc::clone(&send_meter)).await?;

    let wire = Wire::new(&c.namesrv, c.header.serialize_type())?
        .with_credentials(c.credentials())
        .with_tls(c.tls_client()?);
    let Some(route) = wire.route(&c.topic).await? else {
        bail!("topic {} has no route", c.topic);
    };
    let queues = read_queues(&route);
    // `meter` counts this run's messages (stamped after it began) and their latency; the
    // readers' own counts, which include anything older they meet, go to `pulls`.
    let meter = Meter::new(queues.len());
    let pulls = Meter::new(queues.len());
    let run_start_us = epoch_micros();
    let mut readers = Vec::new();
    for (shard, q) in queues.into_iter().enumerate() {
        let start = wire.queue_offset(&q, &c.topic, true).await?;
        let reader = QueueReader {
            wire: wire.clone(),
            topic: c.topic.clone(),
            group: group.clone(),
            queue: q,
            pull_batch: 32,
            timeout: c.timeout(),
            suspend: true,
            record_rt: false,
            sql: None,
        };
        let m = Arc::clone(&meter);
        let p = Arc::clone(&pulls);
        readers.push(tokio::spawn(async move {
            reader
                .run(shard, start, None, &p, |body| {
                    if let Some(sent) = read_stamp(body).filter(|t| *t >= run_start_us) {
                        let lag = epoch_micros().saturating_sub(sent);
                        m.ok(1, body.len() as u64);
                        m.latency(shard, Duration::from_micros(lag));
                    }
                })
                .await
        }));
    }

    let started = Instant::now();
    let ctrl_c = super::stop_on_ctrl_c(&send_meter);
    let reporter = spawn_reporter(
        Arc::clone(&meter),
        ReportStyle {
            verb: "E2E",
            latency_is_e2e: true,
        },
        c.count,
        c.time_limit(),
        c.quiet,
    );
    producer::drive(ctx).await;
    let sent = send_meter.ok_count();
    let deadline = Instant::now() + DRAIN_GRACE;
    while meter.ok_count() < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    meter.stop();
    pulls.stop();
    ctrl_c.abort();
    for r in readers {
        r.abort();
    }
    let _ = reporter.await;
    wire.close().await;

    let mut s = Summary {
        mode: "e2e".to_owned(),
        topic: c.topic.clone(),
        size: args.size,
        workers: c.workers,
        batch: 1,
        inflight: 1,
        ..Summary::default()
    };
    s.fill(&meter, elapsed, "produce-to-consume");
    s.sent = sent;
    s.received = meter.ok_count();
    s.failed += send_meter.failed_count() + pulls.failed_count();
    for (reason, n) in send_meter.errors() {
        *s.errors.entry(format!("send: {reason}")).or_default() += n;
    }
    for (reason, n) in pulls.errors() {
        *s.errors.entry(format!("pull: {reason}")).or_default() += n;
    }
    if s.received < sent {
        *s.errors
            .entry("sent but not received within the grace period".to_owned())
            .or_default() += sent - s.received;
    }
    Ok(s)
}
