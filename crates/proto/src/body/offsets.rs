//! Offset tables a broker persists and serves as they are: `consumerOffset.json` (also the
//! GET_ALL_CONSUMER_OFFSET body) and `delayOffset.json` (GET_ALL_DELAY_OFFSET).
//!
//! Java writes these maps with `Integer` keys, so fastjson gives bare keys (`{0:12}`); this writes
//! quoted keys, which fastjson reads back the same.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{DataVersion, JsonBody};

/// Committed consumer offsets (Java `ConsumerOffsetManager`): `"topic@group"` → queue id →
/// next offset to consume.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerOffsetWrapper {
    /// Written by 5.x brokers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_version: Option<DataVersion>,
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl ConsumerOffsetWrapper {
    /// The table key for a topic and group: `topic@group` (Java `TOPIC_GROUP_SEPARATOR`).
    pub fn key(topic: &str, group: &str) -> String {
        format!("{topic}@{group}")
    }

    /// Splits a table key into (topic, group); `None` without a separator. Topic and group names
    /// cannot contain `@`, so the first one is the split point.
    pub fn split_key(key: &str) -> Option<(&str, &str)> {
        key.split_once('@')
    }
}

impl JsonBody for ConsumerOffsetWrapper {}

/// Progress of the delay-level queues (Java `ScheduleMessageService`): delay level → offset in
/// the `SCHEDULE_TOPIC_XXXX` queue of that level.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DelayOffsetTable {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_version: Option<DataVersion>,
    pub offset_table: BTreeMap<i32, i64>,
}

impl JsonBody for DelayOffsetTable {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::test_support::{every_prefix_fails, round_trip};

    #[test]
    fn consumer_offsets_bare_and_quoted_keys() {
        let java = br#"{"offsetTable":{"topic@group":{0:12,1:3}}}"#;
        let quoted = br#"{"offsetTable":{"topic@group":{"0":12,"1":3}}}"#;
        let table = ConsumerOffsetWrapper::from_json(java).unwrap();
        assert_eq!(table.offset_table["topic@group"][&0], 12);
        assert_eq!(table.offset_table["topic@group"][&1], 3);
        assert_eq!(ConsumerOffsetWrapper::from_json(quoted).unwrap(), table);
        assert_eq!(table.to_json(), quoted);
        every_prefix_fails::<ConsumerOffsetWrapper>(java);
        every_prefix_fails::<ConsumerOffsetWrapper>(quoted);
    }

    #[test]
    fn consumer_offsets_java_pretty_file() {
        let file = "{\n\t\"offsetTable\":{\n\t\t\"%RETRY%g@g\":{0:0\n\t\t},\n\t\t\"TopicTest@g\":{0:250,1:249,2:250,3:251\n\t\t}\n\t}\n}";
        let table = ConsumerOffsetWrapper::from_json(file.as_bytes()).unwrap();
        assert_eq!(table.offset_table["TopicTest@g"].len(), 4);
        assert_eq!(table.offset_table["TopicTest@g"][&3], 251);
        round_trip(&table);
    }

    #[test]
    fn consumer_offsets_5x_with_data_version() {
        let mut table = ConsumerOffsetWrapper {
            data_version: Some(DataVersion::new(5)),
            ..Default::default()
        };
        table
            .offset_table
            .entry(ConsumerOffsetWrapper::key("T", "g"))
            .or_default()
            .insert(0, 9);
        assert_eq!(
            table.to_json(),
            br#"{"dataVersion":{"counter":0,"stateVersion":0,"timestamp":5},"offsetTable":{"T@g":{"0":9}}}"#
        );
        round_trip(&table);
        assert_eq!(ConsumerOffsetWrapper::split_key("T@g"), Some(("T", "g")));
        assert_eq!(ConsumerOffsetWrapper::split_key("Tg"), None);
    }

    #[test]
    fn bad_queue_ids_are_rejected() {
        assert!(ConsumerOffsetWrapper::from_json(br#"{"offsetTable":{"T@g":{x:1}}}"#).is_err());
        assert!(ConsumerOffsetWrapper::from_json(br#"{"offsetTable":{"T@g":{0:"a"}}}"#).is_err());
    }

    #[test]
    fn delay_offsets() {
        let java = br#"{"offsetTable":{1:0,2:17}}"#;
        let table = DelayOffsetTable::from_json(java).unwrap();
        assert_eq!(table.offset_table[&2], 17);
        assert_eq!(table.to_json(), br#"{"offsetTable":{"1":0,"2":17}}"#);
        every_prefix_fails::<DelayOffsetTable>(java);
    }
}
