//! Route data: `QueueData`, `BrokerData` and `TopicRouteData` (GET_ROUTEINFO_BY_TOPIC).
//!
//! Written in standard JSON with quoted broker-id keys (`{"0":"addr"}`), the form a Java name
//! server sends to clients of version >= 4.9.4 and the only one jsoncpp (C++ client) parses. Bare
//! keys, which older Java name servers send, are accepted when reading.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::JsonBody;

/// The broker id of a master in `brokerAddrs` (Java `MixAll.MASTER_ID`).
pub const MASTER_ID: i64 = 0;

/// A topic's queues on one broker (Java `QueueData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    pub broker_name: String,
    pub perm: i32,
    pub read_queue_nums: i32,
    pub topic_sys_flag: i32,
    pub write_queue_nums: i32,
}

impl JsonBody for QueueData {}

/// The addresses of one broker group, master and slaves (Java `BrokerData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    /// Broker id (0 = master) → `ip:port`.
    pub broker_addrs: BTreeMap<i64, String>,
    pub broker_name: String,
    pub cluster: String,
    pub enable_acting_master: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
}

impl BrokerData {
    /// The master's address, if the group has a master registered.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&MASTER_ID).map(String::as_str)
    }
}

impl JsonBody for BrokerData {}

/// Where a topic lives (Java `TopicRouteData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    pub broker_datas: Vec<BrokerData>,
    /// Broker address → filter server addresses; always `{}` in practice.
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// `brokerName:queueNum;...` from KV namespace `ORDER_TOPIC_CONFIG`; when present the Java
    /// producer builds its queue list from it alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    pub queue_datas: Vec<QueueData>,
    /// Static-topic mappings per broker name, kept opaque.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_by_broker: Option<BTreeMap<String, serde_json::Value>>,
}

impl JsonBody for TopicRouteData {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::test_support::{every_prefix_fails, one_line, round_trip};

    /// The example of wire-protocol.md 4.2.
    const ROUTE: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"192.168.1.10:10911"},"brokerName":"broker-a",
   "cluster":"DefaultCluster","enableActingMaster":false}],
 "filterServerTable":{},
 "queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}"#;

    fn example() -> TopicRouteData {
        TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: BTreeMap::from([(0, "192.168.1.10:10911".to_string())]),
                broker_name: "broker-a".into(),
                cluster: "DefaultCluster".into(),
                enable_acting_master: false,
                zone_name: None,
            }],
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: 8,
                topic_sys_flag: 0,
                write_queue_nums: 8,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn route_pinned_bytes() {
        let route = TopicRouteData::from_json(ROUTE.as_bytes()).unwrap();
        assert_eq!(route, example());
        assert_eq!(String::from_utf8(route.to_json()).unwrap(), one_line(ROUTE));
        assert_eq!(
            route.broker_datas[0].master_addr(),
            Some("192.168.1.10:10911")
        );
    }

    #[test]
    fn route_every_prefix_fails() {
        every_prefix_fails::<TopicRouteData>(one_line(ROUTE).as_bytes());
    }

    #[test]
    fn legacy_bare_broker_id_keys_parse() {
        let legacy = one_line(ROUTE).replace(r#"{"0":"#, "{0:");
        assert!(legacy.contains("{0:\"192.168.1.10:10911\"}"));
        assert_eq!(
            TopicRouteData::from_json(legacy.as_bytes()).unwrap(),
            example()
        );
    }

    #[test]
    fn optional_keys_round_trip_and_unknown_keys_are_ignored() {
        let mut route = example();
        route.order_topic_conf = Some("broker-a:8".into());
        route.broker_datas[0].zone_name = Some("zone-1".into());
        route.broker_datas[0]
            .broker_addrs
            .insert(1, "192.168.1.11:10911".into());
        route
            .filter_server_table
            .insert("192.168.1.10:10911".into(), vec!["f:1".into()]);
        round_trip(&route);
        let text = String::from_utf8(route.to_json()).unwrap();
        assert!(
            text.contains(r#""orderTopicConf":"broker-a:8","queueDatas""#),
            "{text}"
        );
        assert!(
            text.contains(r#""enableActingMaster":false,"zoneName":"zone-1"}"#),
            "{text}"
        );

        let extra = r#"{"brokerDatas":[{"brokerAddrs":{0:"a:1"},"brokerName":"b","x":{"y":[1]}}],
            "queueDatas":[],"topicQueueMappingByBroker":{"b":{"k":1}},"zzz":null}"#;
        let route = TopicRouteData::from_json(extra.as_bytes()).unwrap();
        assert_eq!(route.broker_datas[0].master_addr(), Some("a:1"));
        assert!(route.topic_queue_mapping_by_broker.is_some());
        round_trip(&route);
    }

    #[test]
    fn non_numeric_broker_ids_are_rejected() {
        let bad = br#"{"brokerDatas":[{"brokerAddrs":{"master":"a:1"}}]}"#;
        assert!(TopicRouteData::from_json(bad).is_err());
    }
}
