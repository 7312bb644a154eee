//! What a push consumer answers to the admin calls the broker passes on: its running info
//! (GET_CONSUMER_RUNNING_INFO, Java `DefaultMQPushConsumerImpl.consumerRunningInfo`) and a
//! direct consumption of one message (CONSUME_MESSAGE_DIRECTLY, Java
//! `ConsumeMessageConcurrentlyService` / `ConsumeMessageOrderlyService.consumeMessageDirectly`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use ferromq_net::BoxFuture;
use ferromq_proto::body::running::{
    PROP_CONSUMER_START_TIMESTAMP, PROP_CONSUME_ORDERLY, PROP_CONSUME_TYPE,
    PROP_THREADPOOL_CORE_SIZE,
};
use ferromq_proto::body::{
    CMResult, ConsumeMessageDirectlyResult, ConsumerRunningInfo, MessageQueue, ProcessQueueInfo,
};
use ferromq_proto::message::properties::RETRY_TOPIC;
use ferromq_proto::message::MessageExt;

use super::{ConsumeFrom, PushInner};
use crate::listener::{catch_panic, ConsumeContext, ConsumeStatus, Listener, OrderlyStatus};

/// The consumer's settings (Java puts every field of `DefaultMQPushConsumer`), the `PROP_*`
/// facts, its subscriptions, each owned queue's state and the per-topic rates.
pub(super) fn running_info(inner: &PushInner) -> ConsumerRunningInfo {
    let cfg = &inner.cfg;
    let mut info = ConsumerRunningInfo::default();
    let p = &mut info.properties;
    let mut put = |k: &str, v: String| {
        p.insert(k.to_owned(), v);
    };
    put("consumerGroup", cfg.group.clone());
    put("messageModel", cfg.message_model.to_string());
    let (from, ts) = match cfg.consume_from {
        ConsumeFrom::LastOffset => ("CONSUME_FROM_LAST_OFFSET", None),
        ConsumeFrom::FirstOffset => ("CONSUME_FROM_FIRST_OFFSET", None),
        ConsumeFrom::Timestamp(t) => ("CONSUME_FROM_TIMESTAMP", Some(t)),
    };
    put("consumeFromWhere", from.to_owned());
    if let Some(t) = ts {
        put("consumeTimestamp", t.to_string());
    }
    put("instanceName", inner.instance.client_id().to_owned());
    put("consumeThreadMin", cfg.consume_thread_count.to_string());
    put("consumeThreadMax", cfg.consume_thread_count.to_string());
    put(
        "consumeMessageBatchMaxSize",
        cfg.consume_batch_max_size.to_string(),
    );
    put("pullBatchSize", cfg.pull_batch_size.to_string());
    put(
        "pullThresholdForQueue",
        cfg.pull_threshold_for_queue.to_string(),
    );
    put(
        "pullThresholdSizeForQueue",
        (cfg.pull_threshold_size_for_queue / (1024 * 1024)).to_string(),
    );
    put(
        "consumeConcurrentlyMaxSpan",
        cfg.consume_concurrently_max_span.to_string(),
    );
    put(
        "maxReconsumeTimes",
        cfg.max_reconsume_times.unwrap_or(-1).to_string(),
    );
    put(
        "suspendCurrentQueueTimeMillis",
        cfg.suspend_current_queue_time.as_millis().to_string(),
    );
    put(
        "awaitTerminationMillisWhenShutdown",
        cfg.await_termination.as_millis().to_string(),
    );
    put("enableMsgTrace", cfg.msg_trace.to_string());
    put("unitMode", "false".to_owned());
    put(PROP_CONSUME_ORDERLY, inner.orderly().to_string());
    put(
        PROP_THREADPOOL_CORE_SIZE,
        cfg.consume_thread_count.to_string(),
    );
    put(
        PROP_CONSUMER_START_TIMESTAMP,
        inner.started_at.load(Ordering::Acquire).to_string(),
    );
    put(PROP_CONSUME_TYPE, "CONSUME_PASSIVELY".to_owned());

    info.subscription_set = inner.subs.values().cloned().collect();
    let queues: Vec<(MessageQueue, Arc<super::ProcessQueue>)> = inner
        .table
        .lock()
        .iter()
        .map(|(mq, pq)| (mq.clone(), Arc::clone(pq)))
        .collect();
    for (mq, pq) in queues {
        let mut pqi = ProcessQueueInfo {
            commit_offset: inner.offsets.read_memory(&mq).unwrap_or(-1),
            ..Default::default()
        };
        pq.fill_info(&mut pqi);
        info.mq_table.insert(mq, pqi);
    }
    for topic in inner.subs.keys() {
        info.status_table
            .insert(topic.clone(), inner.stats.status(topic));
    }
    info
}

/// Runs the listener on `msg` outside the normal flow: no offset moves, nothing is sent back.
pub(super) fn consume_directly(
    inner: Arc<PushInner>,
    mut msg: MessageExt,
    broker_name: String,
) -> BoxFuture<'static, ConsumeMessageDirectlyResult> {
    Box::pin(async move {
        // A retried message is shown to the listener under its real topic, as in normal flow.
        if let Some(topic) = msg.properties.get(RETRY_TOPIC).map(str::to_owned) {
            msg.topic = topic;
        }
        let ctx = ConsumeContext {
            queue: MessageQueue::new(msg.topic.clone(), broker_name, msg.queue_id),
        };
        let began = Instant::now();
        let (order, consume_result, remark) = match &inner.listener {
            Listener::Concurrent(f) => {
                let fut = f(vec![msg], ctx);
                let out = catch_panic(Box::pin(async move { Some(fut.await) }), None).await;
                match out {
                    Some(ConsumeStatus::Success) => (false, CMResult::Success, None),
                    Some(ConsumeStatus::ReconsumeLater) => (false, CMResult::Later, None),
                    None => (false, CMResult::ThrowException, Some(panicked())),
                }
            }
            Listener::Orderly(f) => {
                let fut = f(vec![msg], ctx);
                let out = catch_panic(Box::pin(async move { Some(fut.await) }), None).await;
                match out {
                    Some(OrderlyStatus::Success) => (true, CMResult::Success, None),
                    Some(OrderlyStatus::SuspendCurrentQueueAMoment) => {
                        (true, CMResult::Later, None)
                    }
                    None => (true, CMResult::ThrowException, Some(panicked())),
                }
            }
        };
        ConsumeMessageDirectlyResult {
            order,
            auto_commit: true,
            consume_result,
            remark,
            spent_time_mills: i64::try_from(began.elapsed().as_millis()).unwrap_or(i64::MAX),
        }
    })
}

fn panicked() -> String {
    "the listener panicked".to_owned()
}
