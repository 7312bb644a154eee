//! The pull task of one lite-pull queue: flow control, pause, seek, and the long-polling
//! LITE_PULL_MESSAGE whose batches feed the consumer's cache.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_proto::body::{MessageQueue, SubscriptionData};
use ferromq_proto::message::MessageExt;
use tokio::sync::Notify;

use super::LiteInner;
use crate::broker_api::{self, PullArgs};
use crate::priority::{self, Lanes};
use crate::push::ConsumeFrom;
use crate::{ClientError, PullStatus};

/// Long-poll hold time of a lite pull (Java `brokerSuspendMaxTimeMillis`).
const LONG_POLL: Duration = Duration::from_secs(20);
/// Client deadline of a lite pull (Java `consumerTimeoutMillisWhenSuspend`).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause while over a cache threshold.
const FLOW_CONTROL_DELAY: Duration = Duration::from_millis(50);
/// Pause of a paused queue (Java `PULL_TIME_DELAY_MILLS_WHEN_PAUSE`).
const PAUSE_DELAY: Duration = Duration::from_secs(1);
/// Pause after a failed pull.
const EXCEPTION_DELAY: Duration = Duration::from_secs(1);

/// One queue being pulled.
pub(super) struct LiteQueue {
    pub(super) mq: MessageQueue,
    /// Next offset to pull; -1 until known.
    pub(super) pull_offset: AtomicI64,
    /// Offset after the last message handed out by `poll`; -1 until then.
    pub(super) consume_offset: AtomicI64,
    /// Bumped by `seek`: batches pulled under an older generation are discarded.
    pub(super) generation: AtomicU64,
    pub(super) seeked: Notify,
    pub(super) paused: AtomicBool,
    pub(super) dropped: AtomicBool,
    pub(super) cached: AtomicUsize,
}

pub(super) struct Batch {
    pub(super) queue: Arc<LiteQueue>,
    pub(super) generation: u64,
    pub(super) msgs: Vec<MessageExt>,
}

pub(super) fn new_queue(mq: MessageQueue) -> Arc<LiteQueue> {
    Arc::new(LiteQueue {
        mq,
        pull_offset: AtomicI64::new(-1),
        consume_offset: AtomicI64::new(-1),
        generation: AtomicU64::new(0),
        seeked: Notify::new(),
        paused: AtomicBool::new(false),
        dropped: AtomicBool::new(false),
        cached: AtomicUsize::new(0),
    })
}

pub(super) fn spawn_pull(inner: &Arc<LiteInner>, q: Arc<LiteQueue>) {
    let i = Arc::clone(inner);
    inner.background.spawn(async move { pull_loop(i, q).await });
}

async fn sleep_or_stop(inner: &LiteInner, q: &LiteQueue, d: Duration) -> bool {
    tokio::select! {
        _ = inner.cancel.cancelled() => false,
        _ = q.seeked.notified() => !q.dropped.load(Ordering::Acquire),
        _ = tokio::time::sleep(d) => true,
    }
}

async fn start_offset(inner: &LiteInner, mq: &MessageQueue) -> Result<i64, ClientError> {
    if let Some(o) = inner.offsets.read_from_store(mq).await? {
        return Ok(o);
    }
    let (rpc, routes) = (inner.instance.rpc(), inner.instance.routes());
    match inner.cfg.consume_from {
        ConsumeFrom::LastOffset => broker_api::max_offset(rpc, routes, mq).await,
        ConsumeFrom::FirstOffset => broker_api::min_offset(rpc, routes, mq).await,
        ConsumeFrom::Timestamp(ts) => broker_api::search_offset(rpc, routes, mq, ts).await,
    }
}

async fn pull_loop(inner: Arc<LiteInner>, q: Arc<LiteQueue>) {
    // Priority lanes (see `crate::priority`): the first pull tells whether the queue has any.
    let mut lanes_state = Lanes::Unknown;
    let gate = inner.gate.enter(&q.mq);
    let mut lanes: BTreeMap<i32, Arc<LiteQueue>> = BTreeMap::new();
    let mut swept_at: Option<Instant> = None;
    loop {
        if q.dropped.load(Ordering::Acquire) || inner.cancel.is_cancelled() {
            return;
        }
        if q.paused.load(Ordering::Acquire) {
            if !sleep_or_stop(&inner, &q, PAUSE_DELAY).await && inner.cancel.is_cancelled() {
                return;
            }
            continue;
        }
        let cached = q.cached.load(Ordering::Acquire)
            + lanes
                .values()
                .map(|l| l.cached.load(Ordering::Acquire))
                .sum::<usize>();
        if cached > inner.cfg.pull_threshold_for_queue
            || inner.cached.load(Ordering::Acquire) > inner.cfg.pull_threshold_for_all
        {
            if !sleep_or_stop(&inner, &q, FLOW_CONTROL_DELAY).await && inner.cancel.is_cancelled() {
                return;
            }
            continue;
        }
        let Some(sub) = inner.subs.lock().get(&q.mq.topic).cloned() else {
            return;
        };
        if lanes_state == Lanes::On
            && swept_at.is_none_or(|t| t.elapsed() >= priority::SWEEP_INTERVAL)
        {
            match sweep(&inner, &q, &sub, &mut lanes).await {
                Ok(found) => {
                    gate.set(found);
                    if found {
                        swept_at = None;
                        continue;
                    }
                    swept_at = Some(Instant::now());
                }
                Err(e) => {
                    tracing::debug!(queue = ?q.mq, error = %e, "pulling a priority lane failed");
                    if !sleep_or_stop(&inner, &q, EXCEPTION_DELAY).await
                        && inner.cancel.is_cancelled()
                    {
                        return;
                    }
                    continue;
                }
            }
        }
        if lanes_state != Lanes::Unknown && inner.gate.others_draining(&q.mq) {
            if !sleep_or_stop(&inner, &q, priority::GATE_DELAY).await && inner.cancel.is_cancelled()
            {
                return;
            }
            continue;
        }
        let generation = q.generation.load(Ordering::Acquire);
        let mut offset = q.pull_offset.load(Ordering::Acquire);
        if offset < 0 {
            match start_offset(&inner, &q.mq).await {
                Ok(o) => {
                    let _ =
                        q.pull_offset
                            .compare_exchange(-1, o, Ordering::AcqRel, Ordering::Acquire);
                    offset = q.pull_offset.load(Ordering::Acquire);
                }
                Err(e) => {
                    tracing::debug!(queue = ?q.mq, error = %e, "cannot find where to start");
                    if !sleep_or_stop(&inner, &q, EXCEPTION_DELAY).await
                        && inner.cancel.is_cancelled()
                    {
                        return;
                    }
                    continue;
                }
            }
        }
        let args = PullArgs {
            group: &inner.cfg.group,
            mq: &q.mq,
            sub: &sub,
            offset,
            max: inner.cfg.pull_batch_size,
            // Until the broker said whether the queue has lanes, answer at once.
            suspend: (lanes_state != Lanes::Unknown).then_some(LONG_POLL),
            timeout: CALL_TIMEOUT,
            lite: true,
        };
        let result = tokio::select! {
            _ = inner.cancel.cancelled() => return,
            _ = q.seeked.notified() => continue,
            r = broker_api::pull(inner.instance.rpc(), inner.instance.routes(), args) => r,
        };
        if generation != q.generation.load(Ordering::Acquire) {
            continue;
        }
        match result {
            Ok(r) if r.priority_lanes && lanes_state != Lanes::On => {
                // Lanes first: this batch is pulled again after them.
                lanes_state = Lanes::On;
                swept_at = None;
                gate.set(true);
            }
            Ok(r) => {
                if lanes_state == Lanes::Unknown {
                    lanes_state = Lanes::Off;
                    gate.set(false);
                }
                let _ = q.pull_offset.compare_exchange(
                    offset,
                    r.next_begin_offset,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
                if r.status == PullStatus::Found && !r.messages.is_empty() {
                    deliver(&inner, &q, generation, r.messages);
                } else if r.status == PullStatus::OffsetIllegal {
                    tracing::warn!(queue = ?q.mq, offset, next = r.next_begin_offset, "pull offset illegal, moving on");
                } else {
                    // A long poll ended (maybe woken by a lane message): look at the lanes.
                    swept_at = None;
                }
            }
            Err(e) => {
                tracing::debug!(queue = ?q.mq, error = %e, "lite pull failed");
                if !sleep_or_stop(&inner, &q, EXCEPTION_DELAY).await && inner.cancel.is_cancelled()
                {
                    return;
                }
            }
        }
    }
}

/// Hands a pulled batch of `q` (a queue or one of its lanes) to `poll`.
fn deliver(inner: &LiteInner, q: &Arc<LiteQueue>, generation: u64, msgs: Vec<MessageExt>) {
    let n = msgs.len();
    q.cached.fetch_add(n, Ordering::AcqRel);
    inner.cached.fetch_add(n, Ordering::AcqRel);
    inner.cache.lock().push_back(Batch {
        queue: Arc::clone(q),
        generation,
        msgs,
    });
    inner.arrived.notify_one();
}

/// Pulls the lanes of `q`, highest first, without long polling; true when a batch was found
/// (and cached for `poll`), false when every lane is drained.
async fn sweep(
    inner: &Arc<LiteInner>,
    q: &Arc<LiteQueue>,
    sub: &SubscriptionData,
    lanes: &mut BTreeMap<i32, Arc<LiteQueue>>,
) -> Result<bool, ClientError> {
    for level in (1..=priority::MAX_PRIORITY).rev() {
        let lane = match lanes.get(&level) {
            Some(l) => Arc::clone(l),
            None => {
                let lane_mq = priority::lane(&q.mq, level);
                inner.offsets.remove(&lane_mq);
                let offset = start_offset(inner, &lane_mq).await?;
                let lane = new_queue(lane_mq.clone());
                lane.pull_offset.store(offset, Ordering::Release);
                inner.lanes.lock().insert(lane_mq, Arc::clone(&lane));
                lanes.insert(level, Arc::clone(&lane));
                lane
            }
        };
        loop {
            let offset = lane.pull_offset.load(Ordering::Acquire);
            let args = PullArgs {
                group: &inner.cfg.group,
                mq: &lane.mq,
                sub,
                offset,
                max: inner.cfg.pull_batch_size,
                suspend: None,
                timeout: CALL_TIMEOUT,
                lite: true,
            };
            let r = broker_api::pull(inner.instance.rpc(), inner.instance.routes(), args).await?;
            if lane.dropped.load(Ordering::Acquire) {
                return Ok(false);
            }
            lane.pull_offset
                .store(r.next_begin_offset, Ordering::Release);
            match r.status {
                PullStatus::Found if !r.messages.is_empty() => {
                    deliver(inner, &lane, 0, r.messages);
                    return Ok(true);
                }
                PullStatus::Found | PullStatus::NoMatchedMsg => continue,
                PullStatus::NoNewMsg | PullStatus::OffsetIllegal => break,
            }
        }
    }
    Ok(false)
}
