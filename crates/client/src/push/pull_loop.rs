//! The pull loop of one queue (Java `PullMessageService` + `DefaultMQPushConsumerImpl.pullMessage`):
//! flow control, a long-polling pull, and the hand-off to the consume service.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_proto::body::{MessageQueue, SubscriptionData};

use super::process_queue::ProcessQueue;
use super::{concurrent, orderly, sleep_or_cancel, PushInner};
use crate::broker_api::{self, PullArgs};
use crate::priority::{self, Lanes};
use crate::{ClientError, PullStatus};

/// How long the broker holds a pull with nothing to return (Java push default).
pub const LONG_POLL: Duration = Duration::from_secs(15);
/// Client deadline of a long poll (Java `consumerTimeoutMillisWhenSuspend`).
pub const LONG_POLL_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause while a queue is over a flow-control threshold (Java
/// `PULL_TIME_DELAY_MILLS_WHEN_FLOW_CONTROL`).
pub const FLOW_CONTROL_DELAY: Duration = Duration::from_millis(50);
/// Pause after a failed pull, or while an orderly queue is not locked (Java
/// `pullTimeDelayMillsWhenException`).
pub const EXCEPTION_DELAY: Duration = Duration::from_millis(3000);

/// Starts pulling `mq` from `offset`.
pub(crate) fn spawn(inner: &Arc<PushInner>, mq: MessageQueue, pq: Arc<ProcessQueue>, offset: i64) {
    let i = Arc::clone(inner);
    inner.background.spawn(run(i, mq, pq, offset));
}

/// A priority lane of the queue being pulled (see [`crate::priority`]).
struct Lane {
    mq: MessageQueue,
    pq: Arc<ProcessQueue>,
    offset: i64,
}

async fn run(inner: Arc<PushInner>, mq: MessageQueue, pq: Arc<ProcessQueue>, mut offset: i64) {
    let Some(sub) = inner.subs.get(&mq.topic).cloned() else {
        return;
    };
    let orderly = inner.orderly();
    let mut flow_controlled: u64 = 0;
    // Priority lanes: orderly consumption ignores them; otherwise the first pull tells.
    let mut lanes_state = if orderly { Lanes::Off } else { Lanes::Unknown };
    let gate = (!orderly).then(|| inner.gate.enter(&mq));
    let mut lanes: BTreeMap<i32, Lane> = BTreeMap::new();
    let mut swept_at: Option<Instant> = None;
    loop {
        if pq.dropped() || inner.cancel.is_cancelled() {
            return;
        }
        pq.touch_pull();
        let mut st = pq.stats();
        for lane in lanes.values() {
            let ls = lane.pq.stats();
            st.cached_count += ls.cached_count;
            st.cached_bytes += ls.cached_bytes;
        }
        let over = st.cached_count > inner.cfg.pull_threshold_for_queue
            || st.cached_bytes > inner.cfg.pull_threshold_size_for_queue
            || (!orderly && st.span > inner.cfg.consume_concurrently_max_span);
        if over {
            flow_controlled += 1;
            if flow_controlled % 1000 == 1 {
                tracing::debug!(queue = ?mq, count = st.cached_count, bytes = st.cached_bytes, span = st.span, "flow control: pull paused");
            }
            if !sleep_or_cancel(&inner.cancel, FLOW_CONTROL_DELAY).await {
                return;
            }
            continue;
        }
        if orderly && inner.clustering() && !pq.lock_valid() {
            if !sleep_or_cancel(&inner.cancel, EXCEPTION_DELAY).await {
                return;
            }
            continue;
        }
        if lanes_state == Lanes::On
            && swept_at.is_none_or(|t| t.elapsed() >= priority::SWEEP_INTERVAL)
        {
            match sweep(&inner, &mq, &sub, &mut lanes).await {
                Ok(found) => {
                    if let Some(g) = &gate {
                        g.set(found);
                    }
                    if found {
                        swept_at = None;
                        continue;
                    }
                    swept_at = Some(Instant::now());
                }
                Err(e) => {
                    tracing::debug!(queue = ?mq, error = %e, "pulling a priority lane failed, retrying later");
                    if !sleep_or_cancel(&inner.cancel, EXCEPTION_DELAY).await {
                        return;
                    }
                    continue;
                }
            }
        }
        if lanes_state != Lanes::Unknown && inner.gate.others_draining(&mq) && !orderly {
            // Another queue serves higher priorities first.
            if !sleep_or_cancel(&inner.cancel, priority::GATE_DELAY).await {
                return;
            }
            continue;
        }
        let args = PullArgs {
            group: inner.group(),
            mq: &mq,
            sub: &sub,
            offset,
            max: inner.cfg.pull_batch_size,
            // Until the broker said whether the queue has lanes, answer at once.
            suspend: (lanes_state != Lanes::Unknown).then_some(LONG_POLL),
            timeout: LONG_POLL_CALL_TIMEOUT,
            lite: false,
        };
        let began = std::time::Instant::now();
        let result = tokio::select! {
            _ = inner.cancel.cancelled() => return,
            r = broker_api::pull(inner.instance.rpc(), inner.instance.routes(), args) => r,
        };
        // As Java, only pulls that found messages count (a long poll's wait is not a pull RT).
        if let Ok(r) = &result {
            if matches!(r.status, PullStatus::Found) {
                inner
                    .stats
                    .pulled(&mq.topic, r.messages.len(), began.elapsed());
            }
        }
        let r = match result {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(queue = ?mq, offset, error = %e, "pull failed, retrying later");
                if !sleep_or_cancel(&inner.cancel, EXCEPTION_DELAY).await {
                    return;
                }
                continue;
            }
        };
        if pq.dropped() {
            return;
        }
        if !orderly && r.priority_lanes && lanes_state != Lanes::On {
            // Lanes first: this batch is pulled again after them.
            lanes_state = Lanes::On;
            swept_at = None;
            if let Some(g) = &gate {
                g.set(true);
            }
            continue;
        }
        if lanes_state == Lanes::Unknown {
            lanes_state = Lanes::Off;
            if let Some(g) = &gate {
                g.set(false);
            }
        }
        match r.status {
            PullStatus::Found => {
                offset = r.next_begin_offset;
                if r.messages.is_empty() {
                    continue;
                }
                if orderly {
                    if pq.put(&r.messages, true) {
                        orderly::spawn(&inner, Arc::clone(&pq), mq.clone(), None);
                    }
                } else {
                    pq.put(&r.messages, false);
                    concurrent::submit(&inner, &pq, &mq, r.messages, None);
                }
            }
            PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                offset = r.next_begin_offset;
                if !pq.has_messages() {
                    inner.offsets.update(&mq, offset, true);
                }
                // A long poll ended (maybe woken by a lane message): look at the lanes again.
                swept_at = None;
            }
            PullStatus::OffsetIllegal => {
                tracing::warn!(queue = ?mq, offset, next = r.next_begin_offset, "pull offset illegal, moving on");
                offset = r.next_begin_offset;
                pq.clear();
                inner.offsets.update(&mq, offset, false);
                if let Err(e) = inner.offsets.persist(std::slice::from_ref(&mq)).await {
                    tracing::debug!(queue = ?mq, error = %e, "committing the corrected offset failed");
                }
            }
        }
    }
}

/// Pulls the lanes of `mq`, highest first, without long polling; true when a batch was found
/// (and handed to the listener), false when every lane is drained.
async fn sweep(
    inner: &Arc<PushInner>,
    mq: &MessageQueue,
    sub: &SubscriptionData,
    lanes: &mut BTreeMap<i32, Lane>,
) -> Result<bool, ClientError> {
    for level in (1..=priority::MAX_PRIORITY).rev() {
        let lane = match lanes.entry(level) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => {
                let lane_mq = priority::lane(mq, level);
                inner.offsets.remove(&lane_mq);
                let offset = super::rebalance::compute_pull_from_where(inner, &lane_mq).await?;
                let pq = Arc::new(ProcessQueue::default());
                inner.lanes.lock().insert(lane_mq.clone(), Arc::clone(&pq));
                v.insert(Lane {
                    mq: lane_mq,
                    pq,
                    offset,
                })
            }
        };
        loop {
            let args = PullArgs {
                group: inner.group(),
                mq: &lane.mq,
                sub,
                offset: lane.offset,
                max: inner.cfg.pull_batch_size,
                suspend: None,
                timeout: LONG_POLL_CALL_TIMEOUT,
                lite: false,
            };
            let r = broker_api::pull(inner.instance.rpc(), inner.instance.routes(), args).await?;
            if lane.pq.dropped() {
                return Ok(false);
            }
            lane.offset = r.next_begin_offset;
            match r.status {
                PullStatus::Found if !r.messages.is_empty() => {
                    lane.pq.put(&r.messages, false);
                    concurrent::submit(inner, &lane.pq, &lane.mq, r.messages, None);
                    return Ok(true);
                }
                PullStatus::Found | PullStatus::NoMatchedMsg => continue,
                PullStatus::NoNewMsg => {
                    if !lane.pq.has_messages() {
                        inner.offsets.update(&lane.mq, lane.offset, true);
                    }
                    break;
                }
                PullStatus::OffsetIllegal => {
                    lane.pq.clear();
                    inner.offsets.update(&lane.mq, lane.offset, false);
                    break;
                }
            }
        }
    }
    Ok(false)
}
