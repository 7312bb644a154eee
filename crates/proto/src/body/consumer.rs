//! Bodies about consumer and producer groups: connections (203, 204), group and client lists
//! (300, 38), ordered-consumption locks (41, 42) and offset resets (220, 222).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::de::nullable;
use super::fastjson::write_object_key_map;
use super::queue::key_map;
use super::{
    ConsumeFromWhere, ConsumeType, JsonBody, MessageModel, MessageQueue, SubscriptionData,
};

/// One client connection of a group (Java `Connection`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    /// The peer's `ip:port` as the broker sees it.
    pub client_addr: String,
    pub client_id: String,
    /// Java `LanguageCode` name: `JAVA`, `CPP`, `GO`, ...
    pub language: String,
    /// The client's `MQVersion` ordinal.
    pub version: i32,
}

/// The online members of a consumer group (Java `ConsumerConnection`,
/// GET_CONSUMER_CONNECTION_LIST).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerConnection {
    pub connection_set: Vec<Connection>,
    pub consume_from_where: ConsumeFromWhere,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    /// Topic → subscription.
    pub subscription_table: BTreeMap<String, SubscriptionData>,
}

impl JsonBody for ConsumerConnection {}

/// The online members of a producer group (Java `ProducerConnection`,
/// GET_PRODUCER_CONNECTION_LIST).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    pub connection_set: Vec<Connection>,
}

impl JsonBody for ProducerConnection {}

/// Consumer groups of a topic (Java `GroupList`, QUERY_TOPIC_CONSUME_BY_WHO).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupList {
    pub group_list: BTreeSet<String>,
}

impl JsonBody for GroupList {}

/// Client ids of a consumer group's live members (GET_CONSUMER_LIST_BY_GROUP); clients sort
/// them before rebalancing, so the order here does not matter.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GetConsumerListByGroupResponseBody {
    #[serde(deserialize_with = "nullable")]
    pub consumer_id_list: Vec<String>,
}

impl JsonBody for GetConsumerListByGroupResponseBody {}

/// LOCK_BATCH_MQ request: the queues a client wants to consume orderly.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchRequestBody {
    #[serde(deserialize_with = "nullable")]
    pub client_id: String,
    #[serde(deserialize_with = "nullable")]
    pub consumer_group: String,
    #[serde(deserialize_with = "nullable")]
    pub mq_set: BTreeSet<MessageQueue>,
    /// Matters only in strict multi-replica mode.
    pub only_this_broker: bool,
}

impl JsonBody for LockBatchRequestBody {}

/// UNLOCK_BATCH_MQ request: queues a client gives up.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UnlockBatchRequestBody {
    #[serde(deserialize_with = "nullable")]
    pub client_id: String,
    #[serde(deserialize_with = "nullable")]
    pub consumer_group: String,
    #[serde(deserialize_with = "nullable")]
    pub mq_set: BTreeSet<MessageQueue>,
    pub only_this_broker: bool,
}

impl JsonBody for UnlockBatchRequestBody {}

/// LOCK_BATCH_MQ response: the requested queues the client now holds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LockBatchResponseBody {
    #[serde(rename = "lockOKMQSet", deserialize_with = "nullable")]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

impl JsonBody for LockBatchResponseBody {}

/// New offsets per queue (Java `ResetOffsetBody`): the INVOKE_BROKER_TO_RESET_OFFSET response
/// and the RESET_CONSUMER_CLIENT_OFFSET request the broker pushes to consumers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResetOffsetBody {
    #[serde(with = "key_map")]
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

impl JsonBody for ResetOffsetBody {
    /// `{"offsetTable":{{mq}:123,..}}`, the object-key form.
    fn to_json(&self) -> Vec<u8> {
        let mut out = b"{\"offsetTable\":".to_vec();
        write_object_key_map(&mut out, &self.offset_table);
        out.push(b'}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::test_support::{every_prefix_fails, round_trip};

    const MQ: &str = r#"{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}"#;

    #[test]
    fn consumer_connection_pinned_bytes() {
        let sub = r#"{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000000,"tagsSet":[],"topic":"TopicTest"}"#;
        let text = format!(
            r#"{{"connectionSet":[{{"clientAddr":"192.168.1.20:53421","clientId":"192.168.1.20@12345","language":"JAVA","version":479}}],"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","subscriptionTable":{{"TopicTest":{sub}}}}}"#
        );
        let connection = ConsumerConnection::from_json(text.as_bytes()).unwrap();
        assert_eq!(connection.connection_set[0].version, 479);
        assert_eq!(connection.subscription_table["TopicTest"].sub_string, "*");
        assert_eq!(String::from_utf8(connection.to_json()).unwrap(), text);
        every_prefix_fails::<ConsumerConnection>(text.as_bytes());
    }

    #[test]
    fn producer_connection_round_trip() {
        let text = br#"{"connectionSet":[{"clientAddr":"a:1","clientId":"c","language":"CPP","version":63}]}"#;
        let producers = ProducerConnection::from_json(text).unwrap();
        assert_eq!(producers.connection_set[0].language, "CPP");
        assert_eq!(producers.to_json(), text);
        every_prefix_fails::<ProducerConnection>(text);
    }

    #[test]
    fn group_list_and_consumer_list_pinned_bytes() {
        let groups = br#"{"groupList":["g1","g2"]}"#;
        assert_eq!(GroupList::from_json(groups).unwrap().to_json(), groups);
        every_prefix_fails::<GroupList>(groups);

        let ids = br#"{"consumerIdList":["192.168.1.20@12345#1700000000000"]}"#;
        let list = GetConsumerListByGroupResponseBody::from_json(ids).unwrap();
        assert_eq!(list.consumer_id_list.len(), 1);
        assert_eq!(list.to_json(), ids);
        every_prefix_fails::<GetConsumerListByGroupResponseBody>(ids);
    }

    #[test]
    fn lock_bodies_pinned_bytes() {
        let request = format!(
            r#"{{"clientId":"c1","consumerGroup":"g1","mqSet":[{MQ}],"onlyThisBroker":false}}"#
        );
        let body = LockBatchRequestBody::from_json(request.as_bytes()).unwrap();
        assert!(body
            .mq_set
            .contains(&MessageQueue::new("TopicTest", "broker-a", 0)));
        assert_eq!(String::from_utf8(body.to_json()).unwrap(), request);
        every_prefix_fails::<LockBatchRequestBody>(request.as_bytes());

        let unlock = UnlockBatchRequestBody::from_json(request.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(unlock.to_json()).unwrap(), request);

        let response = format!(r#"{{"lockOKMQSet":[{MQ}]}}"#);
        let granted = LockBatchResponseBody::from_json(response.as_bytes()).unwrap();
        assert_eq!(granted.lock_ok_mq_set.len(), 1);
        assert_eq!(String::from_utf8(granted.to_json()).unwrap(), response);
        every_prefix_fails::<LockBatchResponseBody>(response.as_bytes());
    }

    #[test]
    fn cpp_lock_request_parses() {
        // jsoncpp: no onlyThisBroker, keys in its own order, trailing newline.
        let cpp = "{\"clientId\":\"c\",\"consumerGroup\":\"g\",\"mqSet\":[{\"brokerName\":\"b\",\"queueId\":3,\"topic\":\"T\"}]}\n";
        let body = LockBatchRequestBody::from_json(cpp.as_bytes()).unwrap();
        assert!(!body.only_this_broker);
        assert_eq!(body.mq_set.first().map(|q| q.queue_id), Some(3));
        let empty = LockBatchRequestBody::from_json(br#"{"clientId":"c","mqSet":null}"#).unwrap();
        assert!(empty.mq_set.is_empty());
    }

    #[test]
    fn reset_offset_body_pinned_bytes() {
        let text = format!(r#"{{"offsetTable":{{{MQ}:123}}}}"#);
        let body = ResetOffsetBody::from_json(text.as_bytes()).unwrap();
        assert_eq!(
            body.offset_table[&MessageQueue::new("TopicTest", "broker-a", 0)],
            123
        );
        assert_eq!(String::from_utf8(body.to_json()).unwrap(), text);
        round_trip(&body);
        every_prefix_fails::<ResetOffsetBody>(text.as_bytes());
        let standard = serde_json::to_vec(&body).unwrap();
        assert_eq!(ResetOffsetBody::from_json(&standard).unwrap(), body);
    }
}
