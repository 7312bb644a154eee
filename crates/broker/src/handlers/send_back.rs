//! CONSUMER_SEND_MSG_BACK (36) and the retry rules of sends to `%RETRY%` topics (RocketMQ's
//! `AbstractSendMessageProcessor.consumerSendMsgBack` and `handleRetryAndDLQ`).
//!
//! ```text
//! consumer fails M ─▶ SEND_MSG_BACK(offset of M, group, delayLevel)
//!     reconsumeTimes(M) < max and delayLevel ≥ 0:
//!         copy ─▶ DELAY = delayLevel or 3 + reconsumeTimes(M) ─▶ SCHEDULE_TOPIC_XXXX
//!              ─▶ (after the level's delay) %RETRY%<group> ─▶ consumed again
//!     otherwise:
//!         copy ─▶ %DLQ%<group> queue 0 (waits for an operator)
//! ```
//!
//! The copy keeps body, flag, properties, sysFlag, born time and born host; its reconsume count
//! is M's plus one, `RETRY_TOPIC` holds the topic M was first sent to and `ORIGIN_MESSAGE_ID`
//! the id of the first stored copy. `max` is the group's `retryMaxTimes`, or the request's
//! `maxReconsumeTimes` when the client is 3.4.9 or newer and sends one that is not negative.

use std::sync::Arc;

use ferromq_common::{names, perm};
use ferromq_proto::body::{SubscriptionGroupConfig, TopicConfig};
use ferromq_proto::headers::{ConsumerSendMsgBackRequestHeader, SendMessageRequestHeader};
use ferromq_proto::message::msg_id::encode_offset_msg_id;
use ferromq_proto::message::properties::{
    decode_properties, property_value, DELAY, MAX_RECONSUME_TIMES, ORIGIN_MESSAGE_ID,
    RECONSUME_TIME, RETRY_TOPIC,
};
use ferromq_proto::message::record::RecordView;
use ferromq_proto::RemotingCommand;
use ferromq_store::MessageToStore;

use crate::{schedule, Broker, BrokerError};

/// Request version from which the header's `maxReconsumeTimes` counts (Java `V3_4_9`).
pub const VERSION_WITH_MAX_RECONSUME_TIMES: i32 = 121;
/// Queues of a dead-letter topic (Java `DLQ_NUMS_PER_GROUP`).
pub const DLQ_QUEUE_NUMS: i32 = 1;

/// Serves CONSUMER_SEND_MSG_BACK.
pub async fn handle(
    b: &Arc<Broker>,
    peer: std::net::SocketAddr,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let started = std::time::Instant::now();
    let arrived_ms = ferromq_common::now_millis();
    let h: ConsumerSendMsgBackRequestHeader = req.decode_header()?;
    super::send::check_role(b)?;
    let group = b
        .groups
        .find_or_create(&h.group)?
        .ok_or_else(|| BrokerError::GroupNotExist {
            group: h.group.clone(),
        })?;
    if !perm::is_writeable(b.live.broker_permission()) {
        return Err(BrokerError::NoPermission {
            reason: format!(
                "the broker[{}] sending message is forbidden",
                b.config.broker_ip1
            ),
        });
    }
    if group.retry_queue_nums <= 0 {
        // RocketMQ's answer for a group that wants no retries: the message is dropped.
        b.stats.add_send_back_dropped();
        return Ok(req.success_to());
    }
    let retry_topic = names::retry_topic(&h.group);
    let retry_config = ensure_writable(b, &retry_topic, group.retry_queue_nums)?;
    let record = b.store.look_message_by_offset(h.offset).ok_or_else(|| {
        BrokerError::system(format!("look message by offset failed, {}", h.offset))
    })?;
    let view = RecordView::parse(&record).map_err(|e| {
        BrokerError::system(format!("look message by offset failed, {}: {e}", h.offset))
    })?;

    let max = max_reconsume_times(&group, req.version, h.max_reconsume_times);
    let dead = view.reconsume_times >= max || h.delay_level < 0;
    let mut props = decode_properties(view.properties);
    if !props.contains_key(RETRY_TOPIC) {
        props.insert(RETRY_TOPIC, view.topic);
    }
    if props
        .get(ORIGIN_MESSAGE_ID)
        .is_none_or(|id| id.trim().is_empty())
    {
        props.insert(
            ORIGIN_MESSAGE_ID,
            encode_offset_msg_id(view.store_host, view.physical_offset),
        );
    }
    let (topic, queue_id) = if dead {
        let dlq = names::dlq_topic(&h.group);
        ensure_writable(b, &dlq, DLQ_QUEUE_NUMS)?;
        props.insert(DELAY, "0");
        (dlq, 0)
    } else {
        let level = if h.delay_level == 0 {
            3 + view.reconsume_times
        } else {
            h.delay_level
        };
        props.insert(DELAY, level.to_string());
        let queue_id = rand::random_range(
            0..group
                .retry_queue_nums
                .min(retry_config.write_queue_nums)
                .max(1),
        );
        // A message of a priority topic is retried in the retry topic's lane of its level.
        let queue_id = crate::priority::retry_queue(
            b,
            props.get(RETRY_TOPIC).unwrap_or(view.topic),
            props.get(crate::priority::PROPERTY_PRIORITY),
            queue_id,
        );
        (retry_topic, queue_id)
    };
    let properties = props.encode();
    let levels = b.store.delay_levels_ms().len();
    let scheduled = if dead {
        None
    } else {
        schedule::schedule_for(&properties, &topic, queue_id, view.sys_flag, levels)?
    };
    let (store_topic, store_queue, store_props) = match &scheduled {
        Some(s) => (names::SCHEDULE_TOPIC, s.queue_id, s.properties.as_str()),
        None => (topic.as_str(), queue_id, properties.as_str()),
    };
    let result = b
        .store
        .put_message(MessageToStore {
            store_host: b.store_host,
            reconsume_times: view.reconsume_times + 1,
            prepared_transaction_offset: 0,
            ..MessageToStore::copy_of(&view, store_topic, store_queue, store_props)
        })
        .await;
    match result.status {
        // A timed-out flush still stored the message: answering an error would make the client
        // consume it again locally on top of the redelivery.
        status if status.is_stored() => {
            if b.tracer.on() {
                b.tracer.sent_back(peer, &h.group, &view, arrived_ms);
                let sent = crate::trace::Sent {
                    group: &h.group,
                    topic: &topic,
                    properties: &properties,
                    body_len: view.body.len(),
                    msg_type: ferromq_proto::message::trace::msg_type::NORMAL,
                    started,
                };
                b.tracer
                    .stored(peer, sent, result.store_timestamp, &result.msg_id);
            }
            if dead {
                b.stats.add_dead_lettered();
                tracing::info!(
                    group = %h.group,
                    msg_id = %props.get(ORIGIN_MESSAGE_ID).unwrap_or_default(),
                    reconsume_times = view.reconsume_times,
                    "message moved to the dead-letter queue"
                );
            } else {
                b.stats.add_send_back();
            }
            Ok(req.success_to())
        }
        status => Err(BrokerError::system(status.as_str())),
    }
}

/// The limit that sends a message to the DLQ: the header's when the client is new enough and
/// gives one that is not negative, else the group's `retryMaxTimes`.
fn max_reconsume_times(
    group: &SubscriptionGroupConfig,
    version: i32,
    from_header: Option<i32>,
) -> i32 {
    match from_header {
        Some(n) if version >= VERSION_WITH_MAX_RECONSUME_TIMES && n >= 0 => n,
        _ => group.retry_max_times,
    }
}

/// Creates `topic` (a retry or DLQ topic, perm read+write) when missing and checks that it
/// takes writes; returns its config.
fn ensure_writable(b: &Broker, topic: &str, queues: i32) -> Result<TopicConfig, BrokerError> {
    let (config, created) = b.topics.ensure_internal(topic, queues, perm::READ_WRITE)?;
    if created {
        b.topics_changed(vec![topic.to_owned()]);
    }
    if !perm::is_writeable(config.perm) {
        return Err(BrokerError::NoPermission {
            reason: format!("the topic[{topic}] sending message is forbidden"),
        });
    }
    Ok(config)
}

/// A retry send from a client that left the counts in the properties (`RECONSUME_TIME`,
/// `MAX_RECONSUME_TIMES`) instead of moving them into the header as Java's producer does:
/// the header takes them, so the stored record and the DLQ rule see the real count.
pub(super) fn counts_from_properties(h: &mut SendMessageRequestHeader) {
    let props = h.properties.as_deref().unwrap_or("");
    let read = |key| property_value(props, key).and_then(|v| v.trim().parse::<i32>().ok());
    if h.reconsume_times.is_none() {
        h.reconsume_times = read(RECONSUME_TIME);
    }
    if h.max_reconsume_times.is_none() {
        h.max_reconsume_times = read(MAX_RECONSUME_TIMES);
    }
}

/// Where a producer's send to `%RETRY%<group>` goes (the client's fallback when its send-back
/// failed): the retry topic, or the group's DLQ (queue 0, `DELAY` = -1) when the header's
/// reconsume count is over the limit, or when the group consumes in order and holds queue
/// locks (an ordered consumer's retry would break the order). `None` keeps the retry topic.
pub(super) fn retry_send_redirect(
    b: &Broker,
    req: &RemotingCommand,
    h: &SendMessageRequestHeader,
) -> Result<Option<String>, BrokerError> {
    let name = h.topic.trim_start_matches(names::RETRY_GROUP_TOPIC_PREFIX);
    let group = b
        .groups
        .get(name)
        .ok_or_else(|| BrokerError::GroupNotExist {
            group: name.to_owned(),
        })?;
    let reconsume = h.reconsume_times.unwrap_or(0);
    let max = max_reconsume_times(&group, req.version, h.max_reconsume_times);
    if reconsume <= max && !b.locks.group_holds_locks(name) {
        return Ok(None);
    }
    let dlq = names::dlq_topic(name);
    ensure_writable(b, &dlq, DLQ_QUEUE_NUMS)?;
    b.stats.add_dead_lettered();
    Ok(Some(dlq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_limit_counts_only_from_3_4_9_and_when_not_negative() {
        let mut group = SubscriptionGroupConfig::new("G");
        group.retry_max_times = 5;
        assert_eq!(max_reconsume_times(&group, 63, Some(2)), 5);
        assert_eq!(max_reconsume_times(&group, 121, Some(2)), 2);
        assert_eq!(max_reconsume_times(&group, 479, Some(-1)), 5);
        assert_eq!(max_reconsume_times(&group, 479, None), 5);
    }
}
