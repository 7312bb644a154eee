//! What a request needs under ACL 2.0: the resources it touches and the actions any one of
//! which grants it (Java `DefaultAuthorizationContextBuilder.build` and the `@RocketMQAction`
//! annotations of the request headers).
//!
//! | request | needs |
//! |---|---|
//! | SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) | Pub on the topic; to a `%RETRY%` topic: Sub on the group |
//! | RECALL_MESSAGE (370), END_TRANSACTION (37) | Pub on the topic |
//! | CONSUMER_SEND_MSG_BACK (36) | Sub on the group |
//! | PULL_MESSAGE (11), LITE_PULL_MESSAGE (361) | Sub on the topic (unless `%RETRY%`) and on the group |
//! | QUERY_MESSAGE (12) | Sub or Get on the topic |
//! | HEART_BEAT (34) | Sub on each consumer group and its subscribed topics |
//! | UNREGISTER_CLIENT (35) | Sub on the consumer group, when named |
//! | GET_CONSUMER_LIST_BY_GROUP (38) | Sub or Get on the group |
//! | QUERY_CONSUMER_OFFSET (14) | Sub or Get on the topic and the group |
//! | UPDATE_CONSUMER_OFFSET (15) | Sub or Update on the topic and the group |
//! | LOCK_BATCH_MQ (41), UNLOCK_BATCH_MQ (42) | Sub on the group and each queue's topic |
//! | UPDATE_AND_CREATE_TOPIC (17) | Create on the topic |
//! | UPDATE_AND_CREATE_TOPIC_LIST (18) | Create on every listed topic |
//! | DELETE_TOPIC_IN_BROKER (215) | Delete on the topic |
//! | UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200) | Create on the group (Update when it exists is not distinguished) |
//! | DELETE_SUBSCRIPTIONGROUP (207) | Delete on the group |
//! | UPDATE_BROKER_CONFIG (25), AUTH_CREATE/UPDATE/DELETE_* | Update on the cluster |
//! | AUTH_GET_* / AUTH_LIST_* | Get on the cluster |
//! | GET_ALL_TOPIC_CONFIG (21) | List on every topic (`Topic:*`) |
//! | anything else | authentication only |

use ferromq_proto::body::{
    CreateTopicListRequestBody, HeartbeatData, JsonBody, LockBatchRequestBody,
    SubscriptionGroupConfig,
};
use ferromq_proto::codes::request::*;
use ferromq_proto::RemotingCommand;

use super::model::{Action, Resource, ResourceType};
use ferromq_common::names::is_retry_topic;

/// `(resource, actions)` pairs; `Err` when a body the decision depends on does not decode
/// (Java refuses those too).
pub fn needed(
    req: &RemotingCommand,
    cluster: &str,
) -> Result<Vec<(Resource, Vec<Action>)>, String> {
    use Action::*;
    let ext = |k: &str| req.ext_fields.get(k).filter(|v| !v.is_empty());
    let topic = |k: &str| ext(k).map(|t| Resource::of(ResourceType::Topic, t));
    let group = |k: &str| ext(k).map(Resource::group);
    let cluster_res = || Resource::of(ResourceType::Cluster, cluster);
    let mut out: Vec<(Resource, Vec<Action>)> = Vec::new();
    let mut add = |r: Option<Resource>, a: &[Action]| {
        if let Some(r) = r {
            out.push((r, a.to_vec()));
        }
    };
    match req.code {
        SEND_MESSAGE | SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE => {
            let (t, g) = if req.code == SEND_MESSAGE {
                ("topic", "producerGroup")
            } else {
                ("b", "a")
            };
            match ext(t) {
                Some(to) if is_retry_topic(to) => add(group(g).or_else(|| group(t)), &[Sub]),
                _ => add(topic(t), &[Pub]),
            }
        }
        RECALL_MESSAGE | END_TRANSACTION => add(topic("topic"), &[Pub]),
        CONSUMER_SEND_MSG_BACK => add(group("group"), &[Sub]),
        PULL_MESSAGE | LITE_PULL_MESSAGE => {
            if !ext("topic").is_some_and(is_retry_topic) {
                add(topic("topic"), &[Sub]);
            }
            add(group("consumerGroup"), &[Sub]);
        }
        QUERY_MESSAGE => add(topic("topic"), &[Sub, Get]),
        HEART_BEAT => {
            let hb = HeartbeatData::from_json(&req.body)
                .map_err(|e| format!("the heartbeat body does not decode: {e}"))?;
            for c in &hb.consumer_data_set {
                add(Some(Resource::group(&c.group_name)), &[Sub]);
                for s in c
                    .subscription_data_set
                    .iter()
                    .filter(|s| !is_retry_topic(&s.topic))
                {
                    add(Some(Resource::of(ResourceType::Topic, &s.topic)), &[Sub]);
                }
            }
        }
        UNREGISTER_CLIENT => add(group("consumerGroup"), &[Sub]),
        GET_CONSUMER_LIST_BY_GROUP => add(group("consumerGroup"), &[Sub, Get]),
        QUERY_CONSUMER_OFFSET | UPDATE_CONSUMER_OFFSET => {
            let actions = if req.code == QUERY_CONSUMER_OFFSET {
                [Sub, Get]
            } else {
                [Sub, Update]
            };
            if !ext("topic").is_some_and(is_retry_topic) {
                add(topic("topic"), &actions);
            }
            add(group("consumerGroup"), &actions);
        }
        LOCK_BATCH_MQ | UNLOCK_BATCH_MQ => {
            // The unlock body has the same fields; the lock body's decoder reads both.
            let body = LockBatchRequestBody::from_json(&req.body)
                .map_err(|e| format!("the lock body does not decode: {e}"))?;
            add(Some(Resource::group(&body.consumer_group)), &[Sub]);
            for mq in body.mq_set.iter().filter(|m| !is_retry_topic(&m.topic)) {
                add(Some(Resource::of(ResourceType::Topic, &mq.topic)), &[Sub]);
            }
        }
        UPDATE_AND_CREATE_TOPIC => add(topic("topic"), &[Create]),
        UPDATE_AND_CREATE_TOPIC_LIST => {
            let body = CreateTopicListRequestBody::from_json(&req.body)
                .map_err(|e| format!("the topic list body does not decode: {e}"))?;
            for config in &body.topic_config_list {
                add(
                    Some(Resource::of(ResourceType::Topic, &config.topic_name)),
                    &[Create],
                );
            }
        }
        DELETE_TOPIC_IN_BROKER => add(topic("topic"), &[Delete]),
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
            // The group is in the body (`SubscriptionGroupConfig.groupName`).
            let g = SubscriptionGroupConfig::from_json(&req.body)
                .map_err(|e| format!("the group body does not decode: {e}"))?;
            add(Some(Resource::group(&g.group_name)), &[Create]);
        }
        DELETE_SUBSCRIPTIONGROUP => add(group("groupName"), &[Delete]),
        GET_ALL_TOPIC_CONFIG => add(Resource::parse("Topic:*").ok(), &[List]),
        UPDATE_BROKER_CONFIG | AUTH_CREATE_USER | AUTH_UPDATE_USER | AUTH_DELETE_USER
        | AUTH_CREATE_ACL | AUTH_UPDATE_ACL | AUTH_DELETE_ACL => {
            add(Some(cluster_res()), &[Update])
        }
        AUTH_GET_USER | AUTH_LIST_USER | AUTH_GET_ACL | AUTH_LIST_ACL => {
            add(Some(cluster_res()), &[Get])
        }
        _ => {}
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(code: i32, fields: &[(&str, &str)]) -> RemotingCommand {
        let mut r = RemotingCommand::bare_request(code);
        for (k, v) in fields {
            r.ext_fields.insert_str(k, v);
        }
        r
    }

    fn keys(r: &RemotingCommand) -> Vec<(String, Vec<Action>)> {
        needed(r, "C")
            .unwrap()
            .into_iter()
            .map(|(r, a)| (r.key(), a))
            .collect()
    }

    #[test]
    fn sends_pulls_and_offsets() {
        use Action::*;
        assert_eq!(
            keys(&req(SEND_MESSAGE_V2, &[("a", "PG"), ("b", "T")])),
            vec![("Topic:T".into(), vec![Pub])]
        );
        assert_eq!(
            keys(&req(SEND_MESSAGE_V2, &[("a", "CG"), ("b", "%RETRY%CG")])),
            vec![("Group:CG".into(), vec![Sub])]
        );
        assert_eq!(
            keys(&req(
                PULL_MESSAGE,
                &[("topic", "T"), ("consumerGroup", "CG")]
            )),
            vec![
                ("Topic:T".into(), vec![Sub]),
                ("Group:CG".into(), vec![Sub])
            ]
        );
        assert_eq!(
            keys(&req(
                UPDATE_CONSUMER_OFFSET,
                &[("topic", "%RETRY%CG"), ("consumerGroup", "CG")]
            )),
            vec![("Group:CG".into(), vec![Sub, Update])]
        );
        assert_eq!(
            keys(&req(AUTH_LIST_USER, &[])),
            vec![("Cluster:C".into(), vec![Get])]
        );
        assert!(keys(&req(GET_BROKER_RUNTIME_INFO, &[])).is_empty());
    }

    #[test]
    fn bodies_that_do_not_decode_are_errors() {
        let mut hb = req(HEART_BEAT, &[]);
        hb.body = bytes::Bytes::from_static(b"{nope");
        assert!(needed(&hb, "C").is_err());
        let mut lock = req(LOCK_BATCH_MQ, &[]);
        lock.body = bytes::Bytes::from_static(
            br#"{"consumerGroup":"CG","clientId":"c","mqSet":[{"topic":"T","brokerName":"b","queueId":0}]}"#,
        );
        assert_eq!(needed(&lock, "C").unwrap().len(), 2);
    }
}
