//! Bodies and headers of two admin views: VIEW_BROKER_STATS_DATA (315, `mqadmin statsAll`) and
//! QUERY_CONSUME_QUEUE (321, `mqadmin queryCq`), as Java's `BrokerStatsData` and
//! `QueryConsumeQueueResponseBody` travel.

use serde::{Deserialize, Serialize};

use super::{JsonBody, SubscriptionData};
use crate::define_header;

define_header! {
    /// VIEW_BROKER_STATS_DATA (315): a stats item by name (`TOPIC_PUT_NUMS`, `GROUP_GET_NUMS`,
    /// ...) and key (`topic`, `topic@group`, ...).
    pub struct ViewBrokerStatsDataRequestHeader {
        stats_name: String = "statsName",
        stats_key: String = "statsKey",
    }
}

define_header! {
    /// QUERY_CONSUME_QUEUE (321): `count` units of a consume queue from `index`.
    pub struct QueryConsumeQueueRequestHeader {
        topic: String = "topic",
        queue_id: i32 = "queueId",
        index: i64 = "index",
        count: i32 = "count",
        consumer_group: Option<String> = "consumerGroup",
    }
}

/// One window of a stats item (Java `BrokerStatsItem`): the sum over the window, its rate per
/// second and the average per increment.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerStatsItem {
    pub avgpt: f64,
    pub sum: i64,
    pub tps: f64,
}

/// A stats item over the last minute, hour and day (Java `BrokerStatsData`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerStatsData {
    pub stats_day: BrokerStatsItem,
    pub stats_hour: BrokerStatsItem,
    pub stats_minute: BrokerStatsItem,
}

impl JsonBody for BrokerStatsData {}

/// One consume-queue unit (Java `ConsumeQueueData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeQueueData {
    pub bit_map: Option<String>,
    /// Whether the group's filter accepts the unit (true without a group).
    pub eval: bool,
    pub extend_data_json: Option<String>,
    /// Why the unit could not be read, if so.
    pub msg: Option<String>,
    pub physic_offset: i64,
    pub physic_size: i32,
    pub tags_code: i64,
}

impl ConsumeQueueData {
    /// Java's `toString()`, which `mqadmin queryCq` prints.
    pub fn java_string(&self) -> String {
        let opt = |v: &Option<String>| match v {
            Some(s) => format!("'{s}'"),
            None => "null".to_owned(),
        };
        format!(
            "ConsumeQueueData{{physicOffset={}, physicSize={}, tagsCode={}, extendDataJson={}, bitMap={}, eval={}, msg={}}}",
            self.physic_offset,
            self.physic_size,
            self.tags_code,
            opt(&self.extend_data_json),
            opt(&self.bit_map),
            self.eval,
            opt(&self.msg)
        )
    }
}

/// QUERY_CONSUME_QUEUE's answer (Java `QueryConsumeQueueResponseBody`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryConsumeQueueResponseBody {
    pub filter_data: Option<String>,
    pub max_queue_index: i64,
    pub min_queue_index: i64,
    pub queue_data: Vec<ConsumeQueueData>,
    pub subscription_data: Option<SubscriptionData>,
}

impl JsonBody for QueryConsumeQueueResponseBody {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_data_reads_javas_json() {
        let json = br#"{"statsDay":{"avgpt":0.0,"sum":12,"tps":0.01},"statsHour":{"avgpt":0.0,"sum":12,"tps":0.2},"statsMinute":{"avgpt":1.0,"sum":3,"tps":0.05}}"#;
        let d = BrokerStatsData::from_json(json).unwrap();
        assert_eq!((d.stats_day.sum, d.stats_minute.sum), (12, 3));
        assert_eq!(BrokerStatsData::from_json(&d.to_json()).unwrap(), d);
    }

    #[test]
    fn consume_queue_data_prints_as_java() {
        let d = ConsumeQueueData {
            physic_offset: 10,
            physic_size: 200,
            tags_code: 7,
            eval: true,
            ..Default::default()
        };
        assert_eq!(
            d.java_string(),
            "ConsumeQueueData{physicOffset=10, physicSize=200, tagsCode=7, extendDataJson=null, bitMap=null, eval=true, msg=null}"
        );
        let body = QueryConsumeQueueResponseBody {
            queue_data: vec![d],
            max_queue_index: 5,
            ..Default::default()
        };
        assert_eq!(
            QueryConsumeQueueResponseBody::from_json(&body.to_json()).unwrap(),
            body
        );
    }
}
