//! Topic configuration bodies: `DataVersion`, `TopicConfig`, the wrapper that is both the
//! GET_ALL_TOPIC_CONFIG body and the broker's `topics.json`, and `TopicList`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::JsonBody;

/// Version stamp of a broker's topic or group tables (Java `DataVersion`).
///
/// The name server re-reads a broker's topics only when this changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataVersion {
    pub counter: i64,
    pub state_version: i64,
    pub timestamp: i64,
}

impl DataVersion {
    /// A first version stamped `now_ms` (Java's constructor uses the current time).
    pub fn new(now_ms: i64) -> Self {
        Self {
            counter: 0,
            state_version: 0,
            timestamp: now_ms,
        }
    }

    /// Moves to the next version (Java `nextVersion`): counter + 1, timestamp `now_ms`.
    pub fn bump(&mut self, now_ms: i64) {
        self.counter += 1;
        self.timestamp = now_ms;
    }
}

impl JsonBody for DataVersion {}

string_enum! {
    /// How a topic's tags are filtered (Java `TopicFilterType`).
    pub enum TopicFilterType {
        SingleTag = "SINGLE_TAG",
        MultiTag = "MULTI_TAG",
    }
    default = SingleTag;
}

/// Read and write permission bits of a topic (`perm`), Java `PermName`: read 4 | write 2.
const DEFAULT_PERM: i32 = 6;
/// Java `TopicConfig.defaultReadQueueNums` / `defaultWriteQueueNums`.
const DEFAULT_QUEUE_NUMS: i32 = 16;

/// One topic's configuration on a broker (Java `TopicConfig`).
///
/// Absent keys take the Java initial values: 16 read and write queues, perm 6, `SINGLE_TAG`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfig {
    pub attributes: BTreeMap<String, String>,
    pub order: bool,
    pub perm: i32,
    pub read_queue_nums: i32,
    pub topic_filter_type: TopicFilterType,
    pub topic_name: String,
    pub topic_sys_flag: i32,
    pub write_queue_nums: i32,
}

impl TopicConfig {
    /// A topic with the Java defaults and the given name.
    pub fn new(topic_name: impl Into<String>) -> Self {
        Self {
            topic_name: topic_name.into(),
            ..Self::default()
        }
    }
}

impl Default for TopicConfig {
    fn default() -> Self {
        Self {
            attributes: BTreeMap::new(),
            order: false,
            perm: DEFAULT_PERM,
            read_queue_nums: DEFAULT_QUEUE_NUMS,
            topic_filter_type: TopicFilterType::SingleTag,
            topic_name: String::new(),
            topic_sys_flag: 0,
            write_queue_nums: DEFAULT_QUEUE_NUMS,
        }
    }
}

impl JsonBody for TopicConfig {}

/// All topics of a broker with their version (Java `TopicConfigSerializeWrapper`, and in 5.x
/// `TopicConfigAndMappingSerializeWrapper`).
///
/// Used for the REGISTER_BROKER body, the GET_ALL_TOPIC_CONFIG response and `topics.json`. The
/// static-topic mapping maps are kept as opaque JSON; they are always written (`{}` when empty),
/// as a 5.x broker does.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigSerializeWrapper {
    pub data_version: DataVersion,
    pub mapping_data_version: DataVersion,
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    pub topic_queue_mapping_detail_map: BTreeMap<String, serde_json::Value>,
    pub topic_queue_mapping_info_map: BTreeMap<String, serde_json::Value>,
}

impl JsonBody for TopicConfigSerializeWrapper {}

/// The UPDATE_AND_CREATE_TOPIC_LIST (18) body (Java `CreateTopicListRequestBody`): many topics
/// created or replaced by one request, `{"topicConfigList":[{TopicConfig},..]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateTopicListRequestBody {
    pub topic_config_list: Vec<TopicConfig>,
}

impl JsonBody for CreateTopicListRequestBody {}

/// A set of topic names (Java `TopicList`), the body of codes 206, 224, 304, 311-313 and 343.
///
/// `brokerAddr` is set only by GET_SYSTEM_TOPIC_LIST_FROM_NS. Names are written sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicList {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    pub topic_list: BTreeSet<String>,
}

impl JsonBody for TopicList {}

#[cfg(test)]
mod tests {
    #[test]
    fn create_topic_list_body_pinned_bytes() {
        let body = CreateTopicListRequestBody {
            topic_config_list: vec![TopicConfig {
                read_queue_nums: 8,
                write_queue_nums: 8,
                ..TopicConfig::new("T1")
            }],
        };
        let json = String::from_utf8(body.to_json()).unwrap();
        assert_eq!(
            json,
            r#"{"topicConfigList":[{"attributes":{},"order":false,"perm":6,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","topicName":"T1","topicSysFlag":0,"writeQueueNums":8}]}"#
        );
        assert_eq!(
            CreateTopicListRequestBody::from_json(json.as_bytes()).unwrap(),
            body
        );
        crate::body::test_support::every_prefix_fails::<CreateTopicListRequestBody>(
            json.as_bytes(),
        );
    }

    use super::*;
    use crate::body::test_support::{every_prefix_fails, one_line, round_trip};

    const TOPIC_CONFIG: &str = r#"{"attributes":{},"order":false,"perm":6,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":8}"#;

    #[test]
    fn topic_config_pinned_bytes() {
        let config = TopicConfig::from_json(TOPIC_CONFIG.as_bytes()).unwrap();
        assert_eq!(config.topic_name, "TopicTest");
        assert_eq!((config.read_queue_nums, config.write_queue_nums), (8, 8));
        assert_eq!(config.to_json(), TOPIC_CONFIG.as_bytes());
        every_prefix_fails::<TopicConfig>(TOPIC_CONFIG.as_bytes());
    }

    #[test]
    fn topic_config_absent_keys_take_java_defaults() {
        let config = TopicConfig::from_json(br#"{"topicName":"T","future":[1]}"#).unwrap();
        assert_eq!(config, TopicConfig::new("T"));
        assert_eq!((config.perm, config.read_queue_nums), (6, 16));
        let multi = TopicConfig::from_json(br#"{"topicFilterType":"MULTI_TAG"}"#).unwrap();
        assert_eq!(multi.topic_filter_type, TopicFilterType::MultiTag);
        let odd = TopicConfig::from_json(br#"{"topicFilterType":"LATER"}"#).unwrap();
        assert_eq!(
            odd.topic_filter_type,
            TopicFilterType::Other("LATER".into())
        );
        assert!(odd.to_json().windows(7).any(|w| w == b"\"LATER\""));
    }

    #[test]
    fn data_version_pinned_bytes_and_bump() {
        let text = br#"{"counter":3,"stateVersion":0,"timestamp":1700000000000}"#;
        let mut version = DataVersion::from_json(text).unwrap();
        assert_eq!(version.to_json(), text);
        version.bump(1_700_000_000_001);
        assert_eq!(version.counter, 4);
        assert_eq!(version.timestamp, 1_700_000_000_001);
        every_prefix_fails::<DataVersion>(text);
    }

    #[test]
    fn wrapper_writes_the_5x_shape() {
        let mut wrapper = TopicConfigSerializeWrapper {
            data_version: DataVersion::new(1_700_000_000_000),
            mapping_data_version: DataVersion::new(1_700_000_000_000),
            ..Default::default()
        };
        wrapper.data_version.counter = 3;
        let mut config = TopicConfig::new("TopicTest");
        config.read_queue_nums = 8;
        config.write_queue_nums = 8;
        wrapper
            .topic_config_table
            .insert("TopicTest".into(), config);
        let expected = one_line(
            r#"{"dataVersion":{"counter":3,"stateVersion":0,"timestamp":1700000000000},
            "mappingDataVersion":{"counter":0,"stateVersion":0,"timestamp":1700000000000},
            "topicConfigTable":{"TopicTest":{"attributes":{},"order":false,"perm":6,"readQueueNums":8,
            "topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":8}},
            "topicQueueMappingDetailMap":{},
            "topicQueueMappingInfoMap":{}}"#,
        );
        assert_eq!(String::from_utf8(wrapper.to_json()).unwrap(), expected);
        round_trip(&wrapper);
        every_prefix_fails::<TopicConfigSerializeWrapper>(expected.as_bytes());
    }

    #[test]
    fn topics_json_in_java_pretty_format_parses() {
        // What a 4.x/5.x broker persists: fastjson's PrettyFormat, tab-indented, no mapping keys.
        let file = "{\n\t\"dataVersion\":{\n\t\t\"counter\":2,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":1700000000000\n\t},\n\t\"topicConfigTable\":{\n\t\t\"TBW102\":{\n\t\t\t\"order\":false,\n\t\t\t\"perm\":7,\n\t\t\t\"readQueueNums\":8,\n\t\t\t\"topicFilterType\":\"SINGLE_TAG\",\n\t\t\t\"topicName\":\"TBW102\",\n\t\t\t\"topicSysFlag\":0,\n\t\t\t\"writeQueueNums\":8\n\t\t}\n\t}\n}";
        let wrapper = TopicConfigSerializeWrapper::from_json(file.as_bytes()).unwrap();
        assert_eq!(wrapper.data_version.counter, 2);
        assert_eq!(wrapper.topic_config_table["TBW102"].perm, 7);
        assert!(wrapper.topic_queue_mapping_info_map.is_empty());
    }

    #[test]
    fn topic_list_pinned_bytes() {
        let doc = br#"{"topicList":["TopicTest","TBW102","%RETRY%group1"]}"#;
        let list = TopicList::from_json(doc).unwrap();
        assert_eq!(list.topic_list.len(), 3);
        assert_eq!(list.broker_addr, None);
        assert_eq!(
            list.to_json(),
            br#"{"topicList":["%RETRY%group1","TBW102","TopicTest"]}"#
        );
        every_prefix_fails::<TopicList>(doc);

        let with_addr = TopicList {
            broker_addr: Some("10.0.0.1:10911".into()),
            topic_list: BTreeSet::from(["SCHEDULE_TOPIC_XXXX".to_string()]),
        };
        assert_eq!(
            with_addr.to_json(),
            br#"{"brokerAddr":"10.0.0.1:10911","topicList":["SCHEDULE_TOPIC_XXXX"]}"#
        );
        round_trip(&with_addr);
        assert_eq!(
            TopicList::from_json(br#"{"x":1}"#).unwrap(),
            TopicList::default()
        );
    }
}
