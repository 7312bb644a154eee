//! Orderly consumption (Java `ConsumeMessageOrderlyService`): one task per queue takes messages
//! in offset order while this client holds the queue's broker lock, and holds the queue's
//! consume lock around each listener call so a rebalance can wait for it before unlocking.
//!
//! A failure (SUSPEND_CURRENT_QUEUE_A_MOMENT, an error, a panic) puts the same messages back and
//! suspends the queue for `suspend_current_queue_time` (1 s); they are retried locally, in order,
//! until they have failed `max_reconsume_times` times (default 16): then they go to the group's
//! dead-letter queue and the messages behind them are consumed (Java `checkReconsumeTimes`).

use std::sync::Arc;
use std::time::Duration;

use ferromq_proto::body::MessageQueue;
use ferromq_proto::message::MessageExt;

use super::process_queue::ProcessQueue;
use super::{rebalance, sleep_or_cancel, PushInner};
use crate::broker_api;
use crate::listener::{catch_panic, ConsumeContext, Listener, OrderlyStatus};
use crate::rate_limit::Pace;

/// Retry delay when the queue's lock could not be taken (Java: 3000 ms).
const LOCK_RETRY_DELAY: Duration = Duration::from_secs(3);

/// Starts the consume task of a queue (the caller has marked it running), after `delay`.
pub(crate) fn spawn(
    inner: &Arc<PushInner>,
    pq: Arc<ProcessQueue>,
    mq: MessageQueue,
    delay: Option<Duration>,
) {
    let i = Arc::clone(inner);
    // `take` clears the running mark under the same lock `put` sets it with, so no message is
    // left without a task.
    inner
        .tasks
        .spawn(async move { run(&i, &pq, &mq, delay).await });
}

async fn run(
    inner: &Arc<PushInner>,
    pq: &Arc<ProcessQueue>,
    mq: &MessageQueue,
    delay: Option<Duration>,
) {
    if let Some(d) = delay {
        if !sleep_or_cancel(&inner.cancel, d).await {
            return;
        }
    }
    let Listener::Orderly(listener) = &inner.listener else {
        return;
    };
    loop {
        if pq.dropped() || inner.stopping() {
            return;
        }
        if inner.clustering() && !pq.lock_valid() && !rebalance::lock_queue(inner, mq).await {
            if !sleep_or_cancel(&inner.cancel, LOCK_RETRY_DELAY).await {
                return;
            }
            continue;
        }
        let permit = tokio::select! {
            _ = inner.cancel.cancelled() => return,
            p = Arc::clone(&inner.permits).acquire_owned() => match p { Ok(p) => p, Err(_) => return },
        };
        let guard = pq.consume_lock.lock().await;
        if pq.dropped() || inner.stopping() {
            return;
        }
        let msgs = pq.take(inner.cfg.consume_batch_max_size);
        if msgs.is_empty() {
            return;
        }
        if let Some(pacer) = inner.pacers.get(&mq.topic) {
            match pacer.acquire(msgs.len() as u32) {
                Pace::Wait(d) => {
                    if !d.is_zero() && !sleep_or_cancel(&inner.cancel, d).await {
                        pq.make_again(false);
                        return;
                    }
                }
                Pace::Reject => {
                    pq.make_again(false);
                    drop(guard);
                    drop(permit);
                    if !sleep_or_cancel(&inner.cancel, inner.pacer_retry_delay(&mq.topic)).await {
                        return;
                    }
                    continue;
                }
            }
        }
        let ctx = ConsumeContext { queue: mq.clone() };
        let began = std::time::Instant::now();
        let status = catch_panic(
            listener(msgs.clone(), ctx),
            OrderlyStatus::SuspendCurrentQueueAMoment,
        )
        .await;
        inner.stats.consumed(
            &mq.topic,
            msgs.len(),
            began.elapsed(),
            status == OrderlyStatus::Success,
        );
        let status = match status {
            OrderlyStatus::SuspendCurrentQueueAMoment if dead_lettered(inner, &msgs).await => {
                OrderlyStatus::Success
            }
            other => other,
        };
        match status {
            OrderlyStatus::Success => {
                if let Some(offset) = pq.commit() {
                    if !pq.dropped() {
                        inner.offsets.update(mq, offset, true);
                    }
                }
                drop(guard);
                drop(permit);
            }
            OrderlyStatus::SuspendCurrentQueueAMoment => {
                pq.make_again(true);
                drop(guard);
                drop(permit);
                if !sleep_or_cancel(&inner.cancel, inner.cfg.suspend_current_queue_time).await {
                    return;
                }
            }
        }
    }
}

/// Retries of an orderly consumer without `max_reconsume_times` (the group default).
pub const DEFAULT_MAX_RECONSUME_TIMES: i32 = 16;

/// After a failure: when every message of the batch has been retried `max_reconsume_times`
/// times, hands them to the group's dead-letter queue so the queue can move on; true when the
/// broker took them all (the batch then counts as consumed). Broadcasting consumers have no
/// dead-letter queue and keep retrying.
async fn dead_lettered(inner: &Arc<PushInner>, msgs: &[MessageExt]) -> bool {
    let limit = inner
        .cfg
        .max_reconsume_times
        .unwrap_or(DEFAULT_MAX_RECONSUME_TIMES);
    if !inner.clustering() || msgs.iter().any(|m| m.reconsume_times < limit) {
        return false;
    }
    for m in msgs {
        let given = broker_api::give_back(
            inner.instance.rpc(),
            inner.instance.routes(),
            inner.group(),
            m,
            -1,
            Some(limit),
        )
        .await;
        if let Err(e) = given {
            tracing::warn!(msg_id = %m.msg_id(), error = %e, "moving a message past its retry limit to the DLQ failed; retrying it");
            return false;
        }
        tracing::warn!(msg_id = %m.msg_id(), reconsume_times = m.reconsume_times, "orderly message moved to the DLQ after its retry limit");
    }
    true
}
