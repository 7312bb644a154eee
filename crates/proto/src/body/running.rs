//! Calls an admin tool makes to a live consumer through the broker: GET_CONSUMER_RUNNING_INFO
//! (307) and CONSUME_MESSAGE_DIRECTLY (309), their headers and their answers.
//!
//! ```text
//! mqadmin ──307/309 (consumerGroup, clientId)──▶ broker ──same code, same fields──▶ client
//! mqadmin ◀── ConsumerRunningInfo / ConsumeMessageDirectlyResult ◀── broker ◀──────┘
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::de::{lenient_i64, nullable};
use super::queue::key_map;
use super::{JsonBody, MessageQueue, SubscriptionData};

crate::define_header! {
    /// GET_CONSUMER_RUNNING_INFO (307): admin → broker and broker → client.
    pub struct GetConsumerRunningInfoRequestHeader {
        consumer_group: String = "consumerGroup",
        client_id: String = "clientId",
        jstack_enable: Option<bool> = "jstackEnable",
    }
}

crate::define_header! {
    /// CONSUME_MESSAGE_DIRECTLY (309): admin → broker and broker → client. The broker adds
    /// `brokerName` and sends the stored message as the body.
    pub struct ConsumeMessageDirectlyResultRequestHeader {
        consumer_group: String = "consumerGroup",
        client_id: Option<String> = "clientId",
        msg_id: Option<String> = "msgId",
        broker_name: Option<String> = "brokerName",
        topic: Option<String> = "topic",
        topic_sys_flag: Option<i32> = "topicSysFlag",
        group_sys_flag: Option<i32> = "groupSysFlag",
    }
}

/// Property: the client's name-server list.
pub const PROP_NAMESERVER_ADDR: &str = "PROP_NAMESERVER_ADDR";
/// Property: listener workers.
pub const PROP_THREADPOOL_CORE_SIZE: &str = "PROP_THREADPOOL_CORE_SIZE";
/// Property: `true` for an orderly listener.
pub const PROP_CONSUME_ORDERLY: &str = "PROP_CONSUMEORDERLY";
/// Property: `CONSUME_PASSIVELY` (push) or `CONSUME_ACTIVELY` (pull).
pub const PROP_CONSUME_TYPE: &str = "PROP_CONSUME_TYPE";
/// Property: the client's version (`V5_3_0`).
pub const PROP_CLIENT_VERSION: &str = "PROP_CLIENT_VERSION";
/// Property: when the consumer started (epoch ms).
pub const PROP_CONSUMER_START_TIMESTAMP: &str = "PROP_CONSUMER_START_TIMESTAMP";

/// The client-side state of one queue (Java `ProcessQueueInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessQueueInfo {
    #[serde(deserialize_with = "lenient_i64")]
    pub commit_offset: i64,
    #[serde(deserialize_with = "lenient_i64")]
    pub cached_msg_min_offset: i64,
    #[serde(deserialize_with = "lenient_i64")]
    pub cached_msg_max_offset: i64,
    #[serde(deserialize_with = "lenient_i64")]
    pub cached_msg_count: i64,
    #[serde(rename = "cachedMsgSizeInMiB", deserialize_with = "lenient_i64")]
    pub cached_msg_size_in_mib: i64,
    #[serde(deserialize_with = "lenient_i64")]
    pub transaction_msg_min_offset: i64,
    #[serde(deserialize_with = "lenient_i64")]
    pub transaction_msg_max_offset: i64,
    #[serde(deserialize_with = "lenient_i64")]
    pub transaction_msg_count: i64,
    pub locked: bool,
    #[serde(deserialize_with = "lenient_i64")]
    pub try_unlock_times: i64,
    #[serde(deserialize_with = "lenient_i64")]
    pub last_lock_timestamp: i64,
    /// Java 4.x and the C++ client spell it `droped`.
    #[serde(alias = "droped")]
    pub dropped: bool,
    #[serde(deserialize_with = "lenient_i64")]
    pub last_pull_timestamp: i64,
    #[serde(deserialize_with = "lenient_i64")]
    pub last_consume_timestamp: i64,
}

/// Pull and consume rates of one topic (Java `ConsumeStatus`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumeStatus {
    #[serde(rename = "pullRT")]
    pub pull_rt: f64,
    #[serde(rename = "pullTPS")]
    pub pull_tps: f64,
    #[serde(rename = "consumeRT")]
    pub consume_rt: f64,
    #[serde(rename = "consumeOKTPS")]
    pub consume_ok_tps: f64,
    #[serde(rename = "consumeFailedTPS")]
    pub consume_failed_tps: f64,
    #[serde(rename = "consumeFailedMsgs", deserialize_with = "lenient_i64")]
    pub consume_failed_msgs: i64,
}

/// A consumer's own view of itself (Java `ConsumerRunningInfo`), GET_CONSUMER_RUNNING_INFO's
/// answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerRunningInfo {
    /// Settings and the `PROP_*` facts; values of other types are kept as their JSON text.
    #[serde(deserialize_with = "string_map")]
    pub properties: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub subscription_set: Vec<SubscriptionData>,
    #[serde(with = "key_map")]
    pub mq_table: BTreeMap<MessageQueue, ProcessQueueInfo>,
    #[serde(deserialize_with = "nullable")]
    pub status_table: BTreeMap<String, ConsumeStatus>,
    #[serde(deserialize_with = "string_map")]
    pub user_consumer_info: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jstack: Option<String>,
}

impl JsonBody for ConsumerRunningInfo {}

impl ConsumerRunningInfo {
    /// True for a push consumer (`PROP_CONSUME_TYPE` is `CONSUME_PASSIVELY`).
    pub fn is_push(&self) -> bool {
        self.properties
            .get(PROP_CONSUME_TYPE)
            .is_some_and(|t| t == "CONSUME_PASSIVELY")
    }
}

/// A JSON object whose values are strings, numbers, booleans or `null` (the C++ client and
/// Java's `Properties` both end up here): non-strings become their JSON text, `null` is skipped.
fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let raw = Option::<BTreeMap<String, serde_json::Value>>::deserialize(d)?.unwrap_or_default();
    Ok(raw
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some((k, s)),
            other => Some((k, other.to_string())),
        })
        .collect())
}

string_enum! {
    /// The listener's answer to a direct consumption (Java `CMResult`).
    pub enum CMResult {
        Success = "CR_SUCCESS",
        Later = "CR_LATER",
        Rollback = "CR_ROLLBACK",
        Commit = "CR_COMMIT",
        ThrowException = "CR_THROW_EXCEPTION",
        ReturnNull = "CR_RETURN_NULL",
    }
    default = Success;
}

/// CONSUME_MESSAGE_DIRECTLY's answer (Java `ConsumeMessageDirectlyResult`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeMessageDirectlyResult {
    pub order: bool,
    pub auto_commit: bool,
    pub consume_result: CMResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    #[serde(deserialize_with = "lenient_i64")]
    pub spent_time_mills: i64,
}

impl JsonBody for ConsumeMessageDirectlyResult {}

impl std::fmt::Display for ConsumeMessageDirectlyResult {
    /// Java's `toString`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ConsumeMessageDirectlyResult [order={}, autoCommit={}, consumeResult={}, remark={}, spentTimeMills={}]",
            self.order,
            self.auto_commit,
            self.consume_result,
            self.remark.as_deref().unwrap_or("null"),
            self.spent_time_mills
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::test_support::round_trip;
    use crate::header::CommandHeader;

    #[test]
    fn running_info_round_trips_and_reads_java_and_cpp_forms() {
        let mut info = ConsumerRunningInfo::default();
        info.properties
            .insert(PROP_CONSUME_TYPE.into(), "CONSUME_PASSIVELY".into());
        info.subscription_set.push(SubscriptionData {
            topic: "T".into(),
            sub_string: "*".into(),
            ..Default::default()
        });
        info.mq_table.insert(
            MessageQueue::new("T", "broker-a", 1),
            ProcessQueueInfo {
                commit_offset: 7,
                cached_msg_count: 2,
                dropped: true,
                ..Default::default()
            },
        );
        info.status_table.insert(
            "T".into(),
            ConsumeStatus {
                pull_tps: 1.5,
                consume_failed_msgs: 3,
                ..Default::default()
            },
        );
        round_trip(&info);
        assert!(info.is_push());

        // fastjson's object keys, `droped`, a number property, numbers as strings.
        let java = r#"{"properties":{"PROP_CONSUME_TYPE":"CONSUME_ACTIVELY","n":3,"z":null},
            "mqTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"commitOffset":"5","droped":true}},
            "statusTable":{"T":{"pullRT":1.25,"consumeOKTPS":2}},"subscriptionSet":null}"#;
        let got = ConsumerRunningInfo::from_json(java.as_bytes()).unwrap();
        assert!(!got.is_push());
        assert_eq!(got.properties.get("n").map(String::as_str), Some("3"));
        assert!(!got.properties.contains_key("z"));
        let pq = &got.mq_table[&MessageQueue::new("T", "b", 0)];
        assert_eq!((pq.commit_offset, pq.dropped), (5, true));
        assert_eq!(got.status_table["T"].consume_ok_tps, 2.0);
        assert!(ConsumerRunningInfo::from_json(b"{\"mqTable\":[1]}").is_err());
    }

    #[test]
    fn direct_result_prints_like_java() {
        let r = ConsumeMessageDirectlyResult {
            order: false,
            auto_commit: true,
            consume_result: CMResult::Success,
            remark: None,
            spent_time_mills: 4,
        };
        round_trip(&r);
        assert_eq!(
            r.to_string(),
            "ConsumeMessageDirectlyResult [order=false, autoCommit=true, consumeResult=CR_SUCCESS, remark=null, spentTimeMills=4]"
        );
        let text = String::from_utf8(r.to_json()).unwrap();
        assert!(text.contains("\"consumeResult\":\"CR_SUCCESS\""), "{text}");
        let back = ConsumeMessageDirectlyResult::from_json(
            br#"{"consumeResult":"CR_LATER","order":true,"remark":"x","spentTimeMills":"9"}"#,
        )
        .unwrap();
        assert_eq!(back.consume_result, CMResult::Later);
        assert_eq!(back.spent_time_mills, 9);
    }

    #[test]
    fn headers_need_group_and_client() {
        let h = GetConsumerRunningInfoRequestHeader {
            consumer_group: "G".into(),
            client_id: "1.2.3.4@x".into(),
            jstack_enable: Some(false),
        };
        let mut ext = crate::header::ExtFields::default();
        h.write(&mut ext);
        assert_eq!(GetConsumerRunningInfoRequestHeader::read(&ext).unwrap(), h);
        assert!(
            GetConsumerRunningInfoRequestHeader::read(&crate::header::ExtFields::default())
                .is_err()
        );
    }
}
