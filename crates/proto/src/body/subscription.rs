//! Consumer-group configuration: `SubscriptionGroupConfig` (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
//! body, GET_SUBSCRIPTIONGROUP_CONFIG response) and `SubscriptionGroupWrapper`
//! (GET_ALL_SUBSCRIPTIONGROUP_CONFIG response, the broker's `subscriptionGroup.json`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{DataVersion, JsonBody};

/// How a group's failed messages are retried (Java `GroupRetryPolicy`). Only `type` is
/// interpreted; the policy objects are kept as opaque JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupRetryPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customized_retry_policy: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exponential_retry_policy: Option<serde_json::Value>,
    /// `CUSTOMIZED` (the default: the delay levels) or `EXPONENTIAL`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl Default for GroupRetryPolicy {
    fn default() -> Self {
        Self {
            customized_retry_policy: None,
            exponential_retry_policy: None,
            kind: "CUSTOMIZED".to_owned(),
        }
    }
}

/// One consumer group's configuration (Java `SubscriptionGroupConfig`).
///
/// Absent keys take the Java initial values (wire-protocol 4.8): consume, broadcast, min-offset
/// and notify enabled, 16 retries, 1 retry queue, 15-minute consume timeout, slow-consumer
/// broker 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    pub attributes: BTreeMap<String, String>,
    pub broker_id: i64,
    pub consume_broadcast_enable: bool,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    pub consume_message_orderly: bool,
    pub consume_timeout_minute: i64,
    pub group_name: String,
    pub group_retry_policy: GroupRetryPolicy,
    pub group_sys_flag: i32,
    pub notify_consumer_ids_changed_enable: bool,
    pub retry_max_times: i32,
    pub retry_queue_nums: i32,
    pub which_broker_when_consume_slowly: i64,
}

impl SubscriptionGroupConfig {
    /// A group with the Java defaults and the given name.
    pub fn new(group_name: impl Into<String>) -> Self {
        Self {
            group_name: group_name.into(),
            ..Self::default()
        }
    }
}

impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        Self {
            attributes: BTreeMap::new(),
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            consume_message_orderly: false,
            consume_timeout_minute: 15,
            group_name: String::new(),
            group_retry_policy: GroupRetryPolicy::default(),
            group_sys_flag: 0,
            notify_consumer_ids_changed_enable: true,
            retry_max_times: 16,
            retry_queue_nums: 1,
            which_broker_when_consume_slowly: 1,
        }
    }
}

impl JsonBody for SubscriptionGroupConfig {}

/// Every consumer group of a broker with the table's version.
///
/// `forbiddenTable` (5.x: group → topic → forbidden bits) is kept when present and written only
/// when non-empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupWrapper {
    pub data_version: DataVersion,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

impl JsonBody for SubscriptionGroupWrapper {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::test_support::{every_prefix_fails, round_trip};

    /// The example of wire-protocol.md 4.8 (all defaults).
    const DEFAULTS: &str = r#"{"attributes":{},"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,"consumeMessageOrderly":false,"consumeTimeoutMinute":15,"groupName":"g1","groupRetryPolicy":{"type":"CUSTOMIZED"},"groupSysFlag":0,"notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}"#;

    #[test]
    fn group_config_pinned_bytes_are_the_defaults() {
        let config = SubscriptionGroupConfig::from_json(DEFAULTS.as_bytes()).unwrap();
        assert_eq!(config, SubscriptionGroupConfig::new("g1"));
        assert_eq!(config.to_json(), DEFAULTS.as_bytes());
        every_prefix_fails::<SubscriptionGroupConfig>(DEFAULTS.as_bytes());
    }

    #[test]
    fn group_config_from_a_4x_admin_takes_defaults_for_absent_keys() {
        let config = SubscriptionGroupConfig::from_json(
            br#"{"groupName":"g2","retryMaxTimes":3,"consumeBroadcastEnable":false,"unknown":1}"#,
        )
        .unwrap();
        assert_eq!(config.retry_max_times, 3);
        assert!(!config.consume_broadcast_enable);
        assert_eq!(config.retry_queue_nums, 1);
        assert_eq!(config.group_retry_policy.kind, "CUSTOMIZED");
    }

    #[test]
    fn retry_policy_objects_are_kept() {
        let mut config = SubscriptionGroupConfig::new("g");
        config.group_retry_policy = GroupRetryPolicy {
            exponential_retry_policy: Some(
                serde_json::json!({"initial":1000,"max":60000,"multiplier":2}),
            ),
            kind: "EXPONENTIAL".into(),
            ..GroupRetryPolicy::default()
        };
        round_trip(&config);
    }

    #[test]
    fn wrapper_round_trip_and_pretty_file() {
        let mut wrapper = SubscriptionGroupWrapper {
            data_version: DataVersion::new(1_700_000_000_000),
            ..Default::default()
        };
        wrapper
            .subscription_group_table
            .insert("g1".into(), SubscriptionGroupConfig::new("g1"));
        round_trip(&wrapper);
        let text = String::from_utf8(wrapper.to_json()).unwrap();
        assert!(text.starts_with(r#"{"dataVersion":{"counter":0,"stateVersion":0,"timestamp":1700000000000},"subscriptionGroupTable":{"g1":{"attributes""#), "{text}");
        every_prefix_fails::<SubscriptionGroupWrapper>(text.as_bytes());

        let file = "{\n\t\"dataVersion\":{\n\t\t\"counter\":1,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":1\n\t},\n\t\"forbiddenTable\":{\"g\":{\"T\":1}},\n\t\"subscriptionGroupTable\":{\n\t\t\"SELF_TEST_C_GROUP\":{\n\t\t\t\"brokerId\":0,\n\t\t\t\"consumeEnable\":true,\n\t\t\t\"groupName\":\"SELF_TEST_C_GROUP\"\n\t\t}\n\t}\n}";
        let parsed = SubscriptionGroupWrapper::from_json(file.as_bytes()).unwrap();
        assert_eq!(parsed.forbidden_table["g"]["T"], 1);
        assert_eq!(
            parsed.subscription_group_table["SELF_TEST_C_GROUP"].retry_max_times,
            16
        );
        round_trip(&parsed);
    }
}
