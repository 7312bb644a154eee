//! HEART_BEAT, UNREGISTER_CLIENT, GET_CONSUMER_LIST_BY_GROUP, CHECK_CLIENT_CONFIG.

use std::sync::Arc;
use std::time::Instant;

use ferromq_common::{names, perm};
use ferromq_net::ConnectionHandle;
use ferromq_proto::body::{
    CheckClientRequestBody, ExpressionType, GetConsumerListByGroupResponseBody, HeartbeatData,
    JsonBody,
};
use ferromq_proto::codes::response;
use ferromq_proto::headers::{ConsumerGroupHeader, UnregisterClientRequestHeader};
use ferromq_proto::RemotingCommand;

use crate::clients::ClientChannel;
use crate::{Broker, BrokerError};

/// HEART_BEAT: records producers and consumers; creates each group's retry topic.
pub fn heartbeat(
    b: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let data = HeartbeatData::from_json(&req.body).map_err(|e| BrokerError::BadBody {
        what: "HeartbeatData",
        reason: e.to_string(),
    })?;
    let channel = |client_id: &str| ClientChannel {
        conn: conn.clone(),
        client_id: client_id.to_owned(),
        language: req.language,
        version: req.version,
        last_update: Instant::now(),
    };
    let mut new_topics = Vec::new();
    for consumer in &data.consumer_data_set {
        if names::validate_group(&consumer.group_name).is_err() {
            continue;
        }
        let Some(group) = b.groups.find_or_create(&consumer.group_name)? else {
            continue;
        };
        let retry = names::retry_topic(&consumer.group_name);
        let (_, created) =
            b.topics
                .ensure_internal(&retry, group.retry_queue_nums.max(1), perm::READ_WRITE)?;
        if created {
            new_topics.push(retry);
        }
        let notify =
            b.config.notify_consumer_ids_changed_enable && group.notify_consumer_ids_changed_enable;
        b.clients
            .register_consumer(channel(&data.client_id), consumer, notify);
    }
    for producer in &data.producer_data_set {
        b.clients
            .register_producer(&producer.group_name, channel(&data.client_id));
    }
    if !new_topics.is_empty() {
        b.topics_changed(new_topics);
    }
    let mut resp = req.success_to();
    resp.ext_fields.insert("IS_SUPPORT_HEART_BEAT_V2", "true");
    resp.ext_fields.insert("IS_SUB_CHANGE", "true");
    Ok(resp)
}

/// UNREGISTER_CLIENT.
pub fn unregister(
    b: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: UnregisterClientRequestHeader = req.decode_header()?;
    b.clients.unregister(
        conn,
        h.producer_group.as_deref(),
        h.consumer_group.as_deref(),
    );
    Ok(req.success_to())
}

/// GET_CONSUMER_LIST_BY_GROUP: every live client id of the group.
pub fn consumer_list(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: ConsumerGroupHeader = req.decode_header()?;
    let ids = b
        .clients
        .consumer_group(&h.consumer_group)
        .map(|g| g.client_ids())
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(BrokerError::Code {
            code: response::SYSTEM_ERROR,
            remark: format!("no consumer for this group, {}", h.consumer_group),
        });
    }
    Ok(req.success_to().with_body(
        GetConsumerListByGroupResponseBody {
            consumer_id_list: ids,
        }
        .to_json(),
    ))
}

/// CHECK_CLIENT_CONFIG: tag subscriptions are always fine; SQL92 needs `enablePropertyFilter`
/// and an expression that compiles (SUBSCRIPTION_PARSE_FAILED with the parse error otherwise).
pub fn check_client_config(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let body = CheckClientRequestBody::from_json(&req.body).map_err(|e| BrokerError::BadBody {
        what: "CheckClientRequestBody",
        reason: e.to_string(),
    })?;
    let sub = &body.subscription_data;
    if sub.expression_type == ExpressionType::Sql92 {
        if !b.config.enable_property_filter {
            return Err(BrokerError::system(
                "The broker does not support consumer to filter message by SQL92",
            ));
        }
        if let Err(e) = ferromq_filter::Filter::compile(&sub.sub_string) {
            return Err(BrokerError::Code {
                code: response::SUBSCRIPTION_PARSE_FAILED,
                remark: e.to_string(),
            });
        }
    }
    Ok(req.success_to())
}
