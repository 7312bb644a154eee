//! Orderly consumption (Java `ConsumeMessageOrderlyService`): one task per queue takes messages
//! in offset order while this client holds the queue's broker lock, and holds the queue's
//! consume lock around each listener call so a rebalance can wait for it before unlocking.
//!
//! A failure (SUSPEND_CURRENT_QUEUE_A_MOMENT, an error, a panic) puts the same messages back and
//! suspends the queue for `suspend_current_queue_time` (1 s); they are retried locally, in order.

use std::sync::Arc;
use std::time::Duration;

use ferromq_proto::body::MessageQueue;

use super::process_queue::ProcessQueue;
use super::{rebalance, sleep_or_cancel, PushInner};
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
        let status = catch_panic(
            listener(msgs, ctx),
            OrderlyStatus::SuspendCurrentQueueAMoment,
        )
        .await;
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
