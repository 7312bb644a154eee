//! Concurrent consumption (Java `ConsumeMessageConcurrentlyService`): each pulled batch becomes
//! tasks of `consume_batch_max_size` messages, run by at most `consume_thread_count` listener
//! calls at once.
//!
//! A failed batch (RECONSUME_LATER, an error, a panic) is sent back with CONSUMER_SEND_MSG_BACK
//! (or, when that fails, sent to `%RETRY%group` as a copy) so the broker redelivers it through
//! `%RETRY%group` after a back-off, or moves it to `%DLQ%group` past the retry limit; messages
//! the broker took neither way are kept in the process queue and offered again here 5 s later,
//! reconsume count + 1 (Java `submitConsumeRequestLater`). Broadcasting consumers drop failed messages, as Java does.

use std::sync::Arc;
use std::time::Duration;

use ferromq_proto::body::MessageQueue;
use ferromq_proto::message::MessageExt;

use super::process_queue::ProcessQueue;
use super::{sleep_or_cancel, PushInner};
use crate::broker_api;
use crate::listener::{catch_panic, ConsumeContext, ConsumeStatus, Listener};
use crate::rate_limit::Pace;
use crate::trace::Tracer;
use ferromq_proto::message::trace::{context_code, TraceRecord, TraceType};

/// Delay of a local redelivery (Java: 5000 ms).
pub const LOCAL_RETRY_DELAY: Duration = Duration::from_secs(5);

/// Queues `msgs` for the listener, in batches, after `delay` if given.
pub(crate) fn submit(
    inner: &Arc<PushInner>,
    pq: &Arc<ProcessQueue>,
    mq: &MessageQueue,
    msgs: Vec<MessageExt>,
    delay: Option<Duration>,
) {
    let batch = inner.cfg.consume_batch_max_size;
    let mut it = msgs.into_iter().peekable();
    while it.peek().is_some() {
        let chunk: Vec<MessageExt> = it.by_ref().take(batch).collect();
        let task = run_batch(Arc::clone(inner), Arc::clone(pq), mq.clone(), chunk, delay);
        inner.tasks.spawn(task);
    }
}

async fn run_batch(
    inner: Arc<PushInner>,
    pq: Arc<ProcessQueue>,
    mq: MessageQueue,
    msgs: Vec<MessageExt>,
    delay: Option<Duration>,
) {
    if let Some(d) = delay {
        if !sleep_or_cancel(&inner.cancel, d).await {
            return;
        }
    }
    let permit = tokio::select! {
        _ = inner.cancel.cancelled() => return,
        p = Arc::clone(&inner.permits).acquire_owned() => match p { Ok(p) => p, Err(_) => return },
    };
    if pq.dropped() || inner.stopping() {
        return;
    }
    if let Some(pacer) = inner.pacers.get(&mq.topic) {
        match pacer.acquire(msgs.len() as u32) {
            Pace::Wait(d) if !d.is_zero() => {
                if !sleep_or_cancel(&inner.cancel, d).await {
                    return;
                }
            }
            Pace::Wait(_) => {}
            Pace::Reject => {
                // Handed back: offered again once the queueing time has passed.
                drop(permit);
                let later = inner.pacer_retry_delay(&mq.topic);
                submit(&inner, &pq, &mq, msgs, Some(later));
                return;
            }
        }
    }
    let Listener::Concurrent(listener) = &inner.listener else {
        return;
    };
    let ctx = ConsumeContext { queue: mq.clone() };
    let traced = inner
        .tracer
        .as_ref()
        .map(|t| trace_before(t, inner.group(), &msgs));
    let began = std::time::Instant::now();
    let status = catch_panic(listener(msgs.clone(), ctx), ConsumeStatus::ReconsumeLater).await;
    inner.stats.consumed(
        &mq.topic,
        msgs.len(),
        began.elapsed(),
        status == ConsumeStatus::Success,
    );
    if let (Some(tracer), Some(request_id)) = (&inner.tracer, traced) {
        trace_after(tracer, inner.group(), &msgs, &request_id, began, status);
    }
    drop(permit);
    if pq.dropped() {
        return;
    }
    let mut done: Vec<i64> = Vec::with_capacity(msgs.len());
    let mut again = Vec::new();
    match status {
        ConsumeStatus::Success => done.extend(msgs.iter().map(|m| m.queue_offset)),
        ConsumeStatus::ReconsumeLater if !inner.clustering() => {
            for m in &msgs {
                tracing::warn!(msg_id = %m.msg_id(), "broadcasting consumption failed; the message is dropped");
            }
            done.extend(msgs.iter().map(|m| m.queue_offset));
        }
        ConsumeStatus::ReconsumeLater => {
            for mut m in msgs {
                let sent = broker_api::give_back(
                    inner.instance.rpc(),
                    inner.instance.routes(),
                    inner.group(),
                    &m,
                    0,
                    inner.cfg.max_reconsume_times,
                )
                .await;
                match sent {
                    Ok(()) => done.push(m.queue_offset),
                    Err(e) => {
                        tracing::warn!(msg_id = %m.msg_id(), error = %e, "the broker took neither the send-back nor the retry copy; consuming again locally");
                        m.reconsume_times += 1;
                        again.push(m);
                    }
                }
            }
        }
    }
    if !again.is_empty() {
        submit(&inner, &pq, &mq, again, Some(LOCAL_RETRY_DELAY));
    }
    if let Some(offset) = pq.remove(&done) {
        if !pq.dropped() {
            inner.offsets.update(&mq, offset, true);
        }
    }
}

/// Java `ConsumeMessageTraceHookImpl.consumeMessageBefore`: one SubBefore per message; returns
/// the request id that ties them to their SubAfter records.
fn trace_before(tracer: &Tracer, group: &str, msgs: &[MessageExt]) -> String {
    let now = ferromq_common::now_millis();
    let request_id = format!("{group}-{now}-{}", rand::random::<u32>());
    for m in msgs {
        tracer.record(TraceRecord {
            trace_type: TraceType::SubBefore,
            timestamp: now,
            group: group.to_owned(),
            request_id: request_id.clone(),
            topic: m.topic.clone(),
            msg_id: m.msg_id(),
            retry_times: m.reconsume_times,
            keys: m.keys().unwrap_or_default().to_owned(),
            ..TraceRecord::default()
        });
    }
    request_id
}

/// Java `consumeMessageAfter`: one SubAfter per message with the listener's outcome; the cost
/// is the batch's, divided among its messages as Java does.
fn trace_after(
    tracer: &Tracer,
    group: &str,
    msgs: &[MessageExt],
    request_id: &str,
    began: std::time::Instant,
    status: ConsumeStatus,
) {
    let n = msgs.len().max(1) as u128;
    let cost = i32::try_from(began.elapsed().as_millis() / n).unwrap_or(i32::MAX);
    let success = status == ConsumeStatus::Success;
    let code = if success {
        context_code::SUCCESS
    } else {
        context_code::FAILED
    };
    let now = ferromq_common::now_millis();
    for m in msgs {
        tracer.record(TraceRecord {
            trace_type: TraceType::SubAfter,
            timestamp: now,
            group: group.to_owned(),
            request_id: request_id.to_owned(),
            topic: m.topic.clone(),
            msg_id: m.msg_id(),
            keys: m.keys().unwrap_or_default().to_owned(),
            cost_time: cost,
            success,
            context_code: code,
            ..TraceRecord::default()
        });
    }
}
