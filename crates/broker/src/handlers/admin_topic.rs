//! Topic and group administration: UPDATE_AND_CREATE_TOPIC, DELETE_TOPIC_IN_BROKER,
//! GET_ALL_TOPIC_CONFIG and the subscription-group codes.

use std::sync::Arc;

use ferromq_common::names;
use ferromq_proto::body::{
    CreateTopicListRequestBody, JsonBody, SubscriptionGroupConfig, TopicConfig, TopicFilterType,
};
use ferromq_proto::header::required;
use ferromq_proto::headers::{CreateTopicRequestHeader, TopicHeader};
use ferromq_proto::RemotingCommand;

use crate::{Broker, BrokerError};

fn check_user_topic(b: &Broker, topic: &str) -> Result<(), BrokerError> {
    names::validate_topic(topic).map_err(|e| BrokerError::invalid(e.to_string()))?;
    if names::is_system_topic(topic) {
        return Err(BrokerError::invalid(format!(
            "The topic[{topic}] is conflict with system topic."
        )));
    }
    if topic == b.config.broker_cluster_name {
        return Err(BrokerError::invalid(format!(
            "The topic[{topic}] is conflict with the cluster name."
        )));
    }
    Ok(())
}

fn check_queue_nums(read: i32, write: i32) -> Result<(), BrokerError> {
    if read <= 0 || write <= 0 {
        return Err(BrokerError::invalid(format!(
            "readQueueNums {read} and writeQueueNums {write} must be greater than 0"
        )));
    }
    if read > 1024 || write > 1024 {
        return Err(BrokerError::invalid(
            "readQueueNums and writeQueueNums must not exceed 1024",
        ));
    }
    Ok(())
}

/// UPDATE_AND_CREATE_TOPIC_LIST (18): creates or replaces many topics with one write of
/// `topics.json` and one incremental registration (RocketMQ's
/// `AdminBrokerProcessor.updateAndCreateTopicList`). Every topic is checked before any is
/// applied. Unlike Java, which answers success without applying the rest as soon as one listed
/// topic is unchanged, unchanged topics are skipped and the others applied.
pub fn create_topic_list(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let body = CreateTopicListRequestBody::from_json(&req.body)
        .map_err(|e| BrokerError::invalid(format!("bad CreateTopicListRequestBody: {e}")))?;
    let mut list = body.topic_config_list;
    for config in &mut list {
        check_user_topic(b, &config.topic_name)?;
        check_queue_nums(config.read_queue_nums, config.write_queue_nums)?;
        // As UPDATE_AND_CREATE_TOPIC: `+key` adds an attribute, `-key` (a removal) keeps none.
        config.attributes = std::mem::take(&mut config.attributes)
            .into_iter()
            .filter(|(k, _)| !k.starts_with('-'))
            .map(|(k, v)| (k.trim_start_matches('+').to_owned(), v))
            .collect();
    }
    let listed = list.len();
    let changed = b.topics.upsert_many(list)?;
    tracing::info!(
        listed,
        changed = changed.len(),
        "topics created or updated by list"
    );
    if !changed.is_empty() {
        b.topics_changed(changed);
    }
    Ok(req.success_to())
}

/// UPDATE_AND_CREATE_TOPIC: creates or replaces a topic and registers it at once.
pub fn create_topic(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: CreateTopicRequestHeader = req.decode_header()?;
    check_user_topic(b, &h.topic)?;
    check_queue_nums(h.read_queue_nums, h.write_queue_nums)?;
    let mut attributes = std::collections::BTreeMap::new();
    if let Some(attrs) = h.attributes.as_deref().filter(|a| !a.is_empty()) {
        for item in attrs.split(',') {
            let item = item.trim_start_matches(['+', '-']);
            if let Some((k, v)) = item.split_once('=') {
                attributes.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    let config = TopicConfig {
        read_queue_nums: h.read_queue_nums,
        write_queue_nums: h.write_queue_nums,
        perm: h.perm,
        topic_filter_type: TopicFilterType::from_name(&h.topic_filter_type),
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        order: h.order,
        attributes,
        ..TopicConfig::new(h.topic.clone())
    };
    b.topics.upsert(config)?;
    tracing::info!(topic = %h.topic, read = h.read_queue_nums, write = h.write_queue_nums, "topic created or updated");
    b.topics_changed(vec![h.topic]);
    Ok(req.success_to())
}

/// DELETE_TOPIC_IN_BROKER: removes the topic, its queues and its offsets.
pub fn delete_topic(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: TopicHeader = req.decode_header()?;
    check_user_topic(b, &h.topic)?;
    b.topics.remove(&h.topic)?;
    b.offsets.remove_topic(&h.topic);
    b.traffic.remove_topic(&h.topic);
    b.dlq_tombstones.drop_topic(&h.topic)?;
    b.store.delete_topics(&[h.topic.as_str()]).map_err(|e| {
        BrokerError::system(format!("deleting the queues of {} failed: {e}", h.topic))
    })?;
    tracing::info!(topic = %h.topic, "topic deleted");
    Ok(req.success_to())
}

/// GET_ALL_TOPIC_CONFIG.
pub fn all_topic_config(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    Ok(req.success_to().with_body(b.topics.snapshot().to_json()))
}

/// GET_TOPIC_CONFIG (351): one topic's config; Java's `mqadmin topicStatus` asks for it.
pub fn topic_config(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: TopicHeader = req.decode_header()?;
    let config = b
        .topics
        .get(&h.topic)
        .ok_or(BrokerError::TopicNotExist { topic: h.topic })?;
    Ok(req.success_to().with_body(config.to_json()))
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP.
pub fn create_group(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let config =
        SubscriptionGroupConfig::from_json(&req.body).map_err(|e| BrokerError::BadBody {
            what: "SubscriptionGroupConfig",
            reason: e.to_string(),
        })?;
    names::validate_group(&config.group_name).map_err(|e| BrokerError::invalid(e.to_string()))?;
    b.groups.upsert(config)?;
    Ok(req.success_to())
}

/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG.
pub fn all_group_config(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    Ok(req.success_to().with_body(b.groups.snapshot().to_json()))
}

/// DELETE_SUBSCRIPTIONGROUP; with `cleanOffset=true` the group's committed offsets go too.
pub fn delete_group(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let group: String = required(&req.ext_fields, "groupName")?;
    b.groups.remove(&group)?;
    if req
        .ext_fields
        .get("cleanOffset")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    {
        b.offsets.remove_group(&group);
    }
    Ok(req.success_to())
}
