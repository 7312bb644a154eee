//! What clients send about themselves: `HeartbeatData` (HEART_BEAT), its consumer, producer and
//! subscription entries, `CheckClientRequestBody` (CHECK_CLIENT_CONFIG), and the enums they use.
//!
//! These bodies also come from the C++ client (jsoncpp: keys unordered, empty sets left out,
//! `subVersion` as a string) and the Go client (`codeSet` entries as strings, `null` for empty
//! slices, `Clustering` for `CLUSTERING`); the decoders accept all of it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::de::{lenient_i32_set, lenient_i64, nullable};
use super::JsonBody;

string_enum! {
    /// Push or pull consumer (Java `ConsumeType`). Absent means push.
    pub enum ConsumeType {
        /// Pull consumer.
        Actively = "CONSUME_ACTIVELY",
        /// Push consumer.
        Passively = "CONSUME_PASSIVELY",
        /// 5.x pop consumer.
        Pop = "CONSUME_POP",
    }
    default = Passively;
}

string_enum! {
    /// Clustering (each message to one member of the group) or broadcasting (Java `MessageModel`).
    pub enum MessageModel {
        Broadcasting = "BROADCASTING",
        Clustering = "CLUSTERING",
    }
    default = Clustering;
}

string_enum! {
    /// Where a group with no committed offset starts (Java `ConsumeFromWhere`).
    pub enum ConsumeFromWhere {
        LastOffset = "CONSUME_FROM_LAST_OFFSET",
        /// Deprecated in Java; behaves like `LastOffset`.
        LastOffsetAndFromMinWhenBootFirst = "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
        /// Deprecated in Java.
        MinOffset = "CONSUME_FROM_MIN_OFFSET",
        /// Deprecated in Java.
        MaxOffset = "CONSUME_FROM_MAX_OFFSET",
        FirstOffset = "CONSUME_FROM_FIRST_OFFSET",
        Timestamp = "CONSUME_FROM_TIMESTAMP",
    }
    default = LastOffset;
}

string_enum! {
    /// How `subString` is read (Java `ExpressionType`, string constants there). Absent means tags.
    pub enum ExpressionType {
        Tag = "TAG",
        Sql92 = "SQL92",
    }
    default = Tag;
}

/// One topic a consumer group subscribes to (Java `SubscriptionData`).
///
/// `subString` `*` or empty means every tag; otherwise `tagsSet` holds the tags split on `||` and
/// `codeSet` their Java `String.hashCode`s. For SQL92 `subString` is the expression.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    pub class_filter_mode: bool,
    #[serde(deserialize_with = "lenient_i32_set")]
    pub code_set: BTreeSet<i32>,
    pub expression_type: ExpressionType,
    #[serde(deserialize_with = "nullable")]
    pub sub_string: String,
    #[serde(deserialize_with = "lenient_i64")]
    pub sub_version: i64,
    #[serde(deserialize_with = "nullable")]
    pub tags_set: BTreeSet<String>,
    #[serde(deserialize_with = "nullable")]
    pub topic: String,
}

impl JsonBody for SubscriptionData {}

/// A consumer group the client runs (Java `ConsumerData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    pub consume_from_where: ConsumeFromWhere,
    pub consume_type: ConsumeType,
    #[serde(deserialize_with = "nullable")]
    pub group_name: String,
    pub message_model: MessageModel,
    #[serde(deserialize_with = "nullable")]
    pub subscription_data_set: Vec<SubscriptionData>,
    pub unit_mode: bool,
}

/// A producer group the client runs (Java `ProducerData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    #[serde(deserialize_with = "nullable")]
    pub group_name: String,
}

/// The HEART_BEAT body (Java `HeartbeatData`).
///
/// A non-zero `heartbeatFingerprint` marks the 5.x V2 heartbeat; with `withoutSub` the consumer
/// entries carry no subscriptions because they did not change since the last heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    /// `clientIP@instanceName[@unitName]`.
    #[serde(rename = "clientID", deserialize_with = "nullable")]
    pub client_id: String,
    #[serde(deserialize_with = "nullable")]
    pub consumer_data_set: Vec<ConsumerData>,
    #[serde(deserialize_with = "lenient_i64")]
    pub heartbeat_fingerprint: i64,
    #[serde(deserialize_with = "nullable")]
    pub producer_data_set: Vec<ProducerData>,
    pub without_sub: bool,
}

impl JsonBody for HeartbeatData {}

/// The CHECK_CLIENT_CONFIG body (Java `CheckClientRequestBody`): a subscription to validate,
/// typically an SQL92 expression, before the client uses it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckClientRequestBody {
    #[serde(deserialize_with = "nullable")]
    pub client_id: String,
    #[serde(deserialize_with = "nullable")]
    pub group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub subscription_data: SubscriptionData,
}

impl JsonBody for CheckClientRequestBody {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::test_support::{every_prefix_fails, one_line, round_trip};

    /// The example of wire-protocol.md 4.7.
    const JAVA: &str = r#"{"clientID":"192.168.1.20@12345#1700000000000",
 "consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY",
   "groupName":"group1","messageModel":"CLUSTERING",
   "subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG",
      "subString":"TagA","subVersion":1700000000000,"tagsSet":["TagA"],"topic":"TopicTest"},
     {"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*",
      "subVersion":1700000000000,"tagsSet":[],"topic":"%RETRY%group1"}],
   "unitMode":false}],
 "heartbeatFingerprint":0,
 "producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"},{"groupName":"pg1"}],
 "withoutSub":false}"#;

    #[test]
    fn java_heartbeat_pinned_bytes() {
        let heartbeat = HeartbeatData::from_json(JAVA.as_bytes()).unwrap();
        assert_eq!(heartbeat.client_id, "192.168.1.20@12345#1700000000000");
        let consumer = &heartbeat.consumer_data_set[0];
        assert_eq!(consumer.consume_type, ConsumeType::Passively);
        assert_eq!(consumer.message_model, MessageModel::Clustering);
        assert_eq!(consumer.consume_from_where, ConsumeFromWhere::LastOffset);
        let sub = &consumer.subscription_data_set[0];
        assert_eq!(sub.code_set, BTreeSet::from([2_598_919]));
        assert_eq!(sub.expression_type, ExpressionType::Tag);
        assert_eq!(sub.sub_version, 1_700_000_000_000);
        assert_eq!(heartbeat.producer_data_set.len(), 2);
        assert_eq!(
            String::from_utf8(heartbeat.to_json()).unwrap(),
            one_line(JAVA)
        );
        round_trip(&heartbeat);
    }

    #[test]
    fn java_heartbeat_every_prefix_fails() {
        every_prefix_fails::<HeartbeatData>(one_line(JAVA).as_bytes());
    }

    #[test]
    fn cpp_heartbeat_parses() {
        // jsoncpp FastWriter output of the C++ client: no unitMode/fingerprint/withoutSub, no
        // classFilterMode/expressionType, subVersion as a string, a trailing newline.
        let cpp = concat!(
            r#"{"clientID":"10.0.0.5@4242","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","#,
            r#""consumeType":"CONSUME_ACTIVELY","groupName":"g","messageModel":"BROADCASTING","#,
            r#""subscriptionDataSet":[{"codeSet":[65,66],"subString":"A || B","subVersion":"1700000000123","#,
            r#""tagsSet":["A","B"],"topic":"T"}]}],"producerDataSet":[{"groupName":"p"}]}"#,
            "\n"
        );
        let heartbeat = HeartbeatData::from_json(cpp.as_bytes()).unwrap();
        let consumer = &heartbeat.consumer_data_set[0];
        assert_eq!(consumer.consume_type, ConsumeType::Actively);
        assert_eq!(consumer.message_model, MessageModel::Broadcasting);
        assert_eq!(consumer.consume_from_where, ConsumeFromWhere::FirstOffset);
        let sub = &consumer.subscription_data_set[0];
        assert_eq!(sub.sub_version, 1_700_000_000_123);
        assert_eq!(sub.expression_type, ExpressionType::Tag);
        assert_eq!(sub.code_set, BTreeSet::from([65, 66]));
        assert!(!heartbeat.without_sub);

        let producer_only = HeartbeatData::from_json(
            b"{\"clientID\":\"x\",\"producerDataSet\":[{\"groupName\":\"p\"}]}\n",
        )
        .unwrap();
        assert!(producer_only.consumer_data_set.is_empty());
    }

    #[test]
    fn go_heartbeat_parses() {
        let go = r#"{"clientID":"10.0.0.6@77","producerDataSet":[],"consumerDataSet":[{"groupName":"g",
            "consumeType":"CONSUME_PASSIVELY","messageModel":"Clustering","consumeFromWhere":"CONSUME_FROM_TIMESTAMP",
            "subscriptionDataSet":[{"classFilterMode":false,"topic":"T","subString":"TagA","tagsSet":["TagA"],
            "codeSet":["2598919"],"subVersion":1700000000000,"expressionType":"TAG"}],"unitMode":false},
            {"groupName":"h","consumeType":"CONSUME_ACTIVELY","messageModel":"BroadCasting",
            "consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":null,"unitMode":false}]}"#;
        let heartbeat = HeartbeatData::from_json(go.as_bytes()).unwrap();
        let first = &heartbeat.consumer_data_set[0];
        assert_eq!(first.message_model, MessageModel::Clustering);
        assert_eq!(first.consume_from_where, ConsumeFromWhere::Timestamp);
        assert_eq!(
            first.subscription_data_set[0].code_set,
            BTreeSet::from([2_598_919])
        );
        let second = &heartbeat.consumer_data_set[1];
        assert_eq!(second.message_model, MessageModel::Broadcasting);
        assert!(second.subscription_data_set.is_empty());
        // Written back with Java's spelling.
        assert!(String::from_utf8(heartbeat.to_json())
            .unwrap()
            .contains(r#""messageModel":"BROADCASTING""#));
    }

    #[test]
    fn unknown_enum_names_and_keys_survive() {
        let text = r#"{"clientID":"c","consumerDataSet":[{"consumeType":"CONSUME_LATER","groupName":"g",
            "messageModel":"SHARDED","consumeFromWhere":"CONSUME_FROM_NOWHERE","future":{"a":[1]},
            "subscriptionDataSet":[{"expressionType":"REGEX","subString":"a.*","topic":"T"}]}],
            "heartbeatFingerprint":12345,"withoutSub":true,"v3":1}"#;
        let heartbeat = HeartbeatData::from_json(text.as_bytes()).unwrap();
        let consumer = &heartbeat.consumer_data_set[0];
        assert_eq!(
            consumer.consume_type,
            ConsumeType::Other("CONSUME_LATER".into())
        );
        assert_eq!(consumer.message_model.as_str(), "SHARDED");
        assert_eq!(
            consumer.subscription_data_set[0].expression_type,
            ExpressionType::Other("REGEX".into())
        );
        assert_eq!(heartbeat.heartbeat_fingerprint, 12345);
        assert!(heartbeat.without_sub);
        round_trip(&heartbeat);
    }

    #[test]
    fn enums_match_java_names_ignoring_case() {
        assert_eq!(ConsumeType::from_name("consume_pop"), ConsumeType::Pop);
        assert_eq!(ExpressionType::from_name("sql92"), ExpressionType::Sql92);
        assert_eq!(ExpressionType::Sql92.to_string(), "SQL92");
        assert_eq!(
            ConsumeFromWhere::from_name("CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST"),
            ConsumeFromWhere::LastOffsetAndFromMinWhenBootFirst
        );
    }

    #[test]
    fn check_client_body() {
        let text = r#"{"clientId":"c1","group":"g1","subscriptionData":{"classFilterMode":false,"codeSet":[],"expressionType":"SQL92","subString":"a > 1","subVersion":5,"tagsSet":[],"topic":"T"}}"#;
        let body = CheckClientRequestBody::from_json(text.as_bytes()).unwrap();
        assert_eq!(
            body.subscription_data.expression_type,
            ExpressionType::Sql92
        );
        assert_eq!(body.namespace, None);
        assert_eq!(body.to_json(), text.as_bytes());
        every_prefix_fails::<CheckClientRequestBody>(text.as_bytes());
        let with_ns = CheckClientRequestBody {
            namespace: Some("ns".into()),
            ..body
        };
        round_trip(&with_ns);
    }
}
