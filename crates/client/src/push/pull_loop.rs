//! The pull loop of one queue (Java `PullMessageService` + `DefaultMQPushConsumerImpl.pullMessage`):
//! flow control, a long-polling pull, and the hand-off to the consume service.

use std::sync::Arc;
use std::time::Duration;

use ferromq_proto::body::MessageQueue;

use super::process_queue::ProcessQueue;
use super::{concurrent, orderly, sleep_or_cancel, PushInner};
use crate::broker_api::{self, PullArgs};
use crate::PullStatus;

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

async fn run(inner: Arc<PushInner>, mq: MessageQueue, pq: Arc<ProcessQueue>, mut offset: i64) {
    let Some(sub) = inner.subs.get(&mq.topic).cloned() else {
        return;
    };
    let orderly = inner.orderly();
    let mut flow_controlled: u64 = 0;
    loop {
        if pq.dropped() || inner.cancel.is_cancelled() {
            return;
        }
        pq.touch_pull();
        let st = pq.stats();
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
        let args = PullArgs {
            group: inner.group(),
            mq: &mq,
            sub: &sub,
            offset,
            max: inner.cfg.pull_batch_size,
            suspend: Some(LONG_POLL),
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
