//! More admin requests (RocketMQ's `AdminBrokerProcessor`): UPDATE_BROKER_CONFIG (25),
//! VIEW_BROKER_STATS_DATA (315), CLEAN_UNUSED_TOPIC (316) and QUERY_CONSUME_QUEUE (321).

use std::sync::Arc;

use ferromq_common::names;
use ferromq_proto::body::broker_stats::{
    QueryConsumeQueueRequestHeader, ViewBrokerStatsDataRequestHeader,
};
use ferromq_proto::body::{
    ConsumeQueueData, ExpressionType, JsonBody, QueryConsumeQueueResponseBody,
};
use ferromq_proto::codes::response;
use ferromq_proto::RemotingCommand;

use crate::{Broker, BrokerError};

/// Most units one QUERY_CONSUME_QUEUE returns.
const MAX_UNITS: usize = 1000;

/// UPDATE_BROKER_CONFIG: see [`crate::live_config`].
pub fn update_broker_config(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    crate::live_config::update(b, &req.body)?;
    Ok(req.success_to())
}

/// VIEW_BROKER_STATS_DATA: a stats item over the last minute, hour and day.
pub fn view_broker_stats_data(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: ViewBrokerStatsDataRequestHeader = req.decode_header()?;
    match b.stats_items.view(b, &h.stats_name, &h.stats_key) {
        Some(data) => Ok(req.success_to().with_body(data.to_json())),
        None => Err(BrokerError::Code {
            code: response::SYSTEM_ERROR,
            remark: format!("The stats <{}> <{}> not exist", h.stats_name, h.stats_key),
        }),
    }
}

/// Topics whose queues the store keeps whatever the topic table says: system, retry and
/// dead-letter topics (their queues are created on use).
fn always_kept(topic: &str) -> bool {
    names::is_system_topic(topic)
        || names::is_retry_topic(topic)
        || names::is_dlq_topic(topic)
        || topic == names::SCHEDULE_TOPIC
        || topic.starts_with(names::SYSTEM_TOPIC_PREFIX)
}

/// CLEAN_UNUSED_TOPIC: deletes the consume queues of topics no longer in the topic table.
pub async fn clean_unused_topic(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let broker = Arc::clone(b);
    let removed = tokio::task::spawn_blocking(move || {
        broker
            .store
            .clean_unused_topics(&|t: &str| always_kept(t) || broker.topics.get(t).is_some())
    })
    .await
    .map_err(|e| BrokerError::system(format!("cleanUnusedTopic task failed: {e}")))?
    .map_err(|e| BrokerError::system(e.to_string()))?;
    tracing::info!(topics = ?removed, "cleanUnusedTopic done");
    Ok(req.success_to())
}

/// QUERY_CONSUME_QUEUE: `count` units of a consume queue from `index`, and with a group, its
/// subscription and whether its filter accepts each unit.
pub fn query_consume_queue(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: QueryConsumeQueueRequestHeader = req.decode_header()?;
    let count = usize::try_from(h.count).unwrap_or(0).min(MAX_UNITS);
    let Some(read) = b
        .store
        .consume_queue_units(&h.topic, h.queue_id, h.index, count)
    else {
        return Err(BrokerError::Code {
            code: response::SYSTEM_ERROR,
            remark: format!("{}@{} is not exist!", h.queue_id, h.topic),
        });
    };
    let mut body = QueryConsumeQueueResponseBody {
        max_queue_index: read.max_offset,
        min_queue_index: read.min_offset,
        ..Default::default()
    };
    let group = h.consumer_group.filter(|g| !g.trim().is_empty());
    let subscription = group.as_ref().and_then(|g| {
        b.clients
            .consumer_group(g)
            .and_then(|live| live.subscriptions.get(&h.topic).cloned())
    });
    if let Some(g) = &group {
        match &subscription {
            None => body.filter_data = Some(format!("{g}@{} is not online!", h.topic)),
            Some(s) if s.expression_type == ExpressionType::Sql92 => {
                body.filter_data = Some(format!(
                    "{{\"consumerGroup\":\"{g}\",\"expression\":{:?},\"expressionType\":\"SQL92\",\"topic\":\"{}\"}}",
                    s.sub_string, h.topic
                ));
            }
            Some(_) => {}
        }
    }
    if h.index < read.min_offset || h.index >= read.max_offset {
        let mut resp = req.success_to().with_body(body.to_json());
        resp.remark = Some(format!(
            "Index {} of {}@{} is not exist!",
            h.index, h.queue_id, h.topic
        ));
        return Ok(resp);
    }
    for u in &read.units {
        let eval = match &subscription {
            None => false,
            // The tags filter of the pull path; SQL needs the message itself, so it passes here.
            Some(s) => {
                s.expression_type == ExpressionType::Sql92
                    || s.sub_string.trim().is_empty()
                    || s.sub_string.trim() == "*"
                    || s.code_set.iter().any(|c| i64::from(*c) == u.tags_code)
            }
        };
        body.queue_data.push(ConsumeQueueData {
            physic_offset: u.physical_offset,
            physic_size: u.size,
            tags_code: u.tags_code,
            eval,
            msg: b
                .store
                .look_message_decoded(u.physical_offset)
                .is_none()
                .then(|| "the message is no longer in the commit log".to_owned()),
            ..Default::default()
        });
    }
    body.subscription_data = subscription;
    Ok(req.success_to().with_body(body.to_json()))
}
