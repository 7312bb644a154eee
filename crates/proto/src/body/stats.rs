//! Per-queue statistics keyed by `MessageQueue`: `TopicStatsTable` (GET_TOPIC_STATS_INFO) and
//! `ConsumeStats` (GET_CONSUME_STATS).
//!
//! `to_json` writes the object-key form a Java broker sends (wire-protocol 4.5, 4.6); see the
//! [module docs](super) for why.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fastjson::{write_object_key_map, write_value};
use super::queue::key_map;
use super::{JsonBody, MessageQueue};

/// Offsets of one queue of a topic (Java `TopicOffset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOffset {
    /// Store time of the message at `maxOffset - 1`, 0 when the queue is empty.
    pub last_update_timestamp: i64,
    pub max_offset: i64,
    pub min_offset: i64,
}

/// Offsets of every queue of a topic on one broker (Java `TopicStatsTable`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicStatsTable {
    #[serde(with = "key_map")]
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
    pub topic_put_tps: f64,
}

impl JsonBody for TopicStatsTable {
    /// `{"offsetTable":{{mq}:{..},..},"topicPutTps":0.0}`.
    fn to_json(&self) -> Vec<u8> {
        let mut out = b"{\"offsetTable\":".to_vec();
        write_object_key_map(&mut out, &self.offset_table);
        out.extend_from_slice(b",\"topicPutTps\":");
        write_value(&mut out, &self.topic_put_tps);
        out.push(b'}');
        out
    }
}

/// A consumer group's progress on one queue (Java `OffsetWrapper`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OffsetWrapper {
    pub broker_offset: i64,
    pub consumer_offset: i64,
    pub last_timestamp: i64,
    pub pull_offset: i64,
}

/// A consumer group's progress on every queue it consumes on one broker (Java `ConsumeStats`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStats {
    pub consume_tps: f64,
    #[serde(with = "key_map")]
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
}

impl JsonBody for ConsumeStats {
    /// `{"consumeTps":0.0,"offsetTable":{{mq}:{..},..}}`.
    fn to_json(&self) -> Vec<u8> {
        let mut out = b"{\"consumeTps\":".to_vec();
        write_value(&mut out, &self.consume_tps);
        out.extend_from_slice(b",\"offsetTable\":");
        write_object_key_map(&mut out, &self.offset_table);
        out.push(b'}');
        out
    }
}

/// Every group's progress on one broker (Java `ConsumeStatsList`, GET_BROKER_CONSUME_STATS):
/// one single-entry map `group → [ConsumeStats per topic]` per subscription group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStatsList {
    pub broker_addr: Option<String>,
    pub consume_stats_list: Vec<BTreeMap<String, Vec<ConsumeStats>>>,
    pub total_diff: i64,
    pub total_inflight_diff: i64,
}

impl JsonBody for ConsumeStatsList {
    /// `{"brokerAddr":"..","consumeStatsList":[{"g":[{..}]}],"totalDiff":0,"totalInflightDiff":0}`,
    /// each `ConsumeStats` in its object-key form.
    fn to_json(&self) -> Vec<u8> {
        let mut out = b"{".to_vec();
        if let Some(addr) = &self.broker_addr {
            out.extend_from_slice(b"\"brokerAddr\":");
            write_value(&mut out, addr);
            out.push(b',');
        }
        out.extend_from_slice(b"\"consumeStatsList\":[");
        for (i, map) in self.consume_stats_list.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'{');
            for (j, (group, list)) in map.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                write_value(&mut out, group);
                out.extend_from_slice(b":[");
                for (k, stats) in list.iter().enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(&stats.to_json());
                }
                out.push(b']');
            }
            out.push(b'}');
        }
        out.extend_from_slice(b"],\"totalDiff\":");
        write_value(&mut out, &self.total_diff);
        out.extend_from_slice(b",\"totalInflightDiff\":");
        write_value(&mut out, &self.total_inflight_diff);
        out.push(b'}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::test_support::{every_prefix_fails, one_line, round_trip};

    /// The example of wire-protocol.md 4.5.
    const TOPIC_STATS: &str = r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:{"lastUpdateTimestamp":1700000000000,"maxOffset":42,"minOffset":0},
                {"brokerName":"broker-a","queueId":1,"topic":"TopicTest"}:{"lastUpdateTimestamp":0,"maxOffset":0,"minOffset":0}},
 "topicPutTps":0.0}"#;

    /// The example of wire-protocol.md 4.6.
    const CONSUME_STATS: &str = r#"{"consumeTps":0.0,
 "offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:{"brokerOffset":42,"consumerOffset":40,"lastTimestamp":1700000000000,"pullOffset":40}}}"#;

    #[test]
    fn topic_stats_pinned_bytes() {
        let stats = TopicStatsTable::from_json(TOPIC_STATS.as_bytes()).unwrap();
        assert_eq!(stats.offset_table.len(), 2);
        let first = stats.offset_table[&MessageQueue::new("TopicTest", "broker-a", 0)];
        assert_eq!(first.max_offset, 42);
        assert_eq!(first.last_update_timestamp, 1_700_000_000_000);
        assert_eq!(
            String::from_utf8(stats.to_json()).unwrap(),
            one_line(TOPIC_STATS)
        );
        round_trip(&stats);
    }

    #[test]
    fn topic_stats_every_prefix_fails() {
        every_prefix_fails::<TopicStatsTable>(one_line(TOPIC_STATS).as_bytes());
    }

    #[test]
    fn topic_stats_accepts_the_string_key_form() {
        let stats = TopicStatsTable::from_json(TOPIC_STATS.as_bytes()).unwrap();
        let standard = serde_json::to_vec(&stats).unwrap();
        assert!(standard.starts_with(br#"{"offsetTable":{"{\"brokerName\":"#));
        assert_eq!(TopicStatsTable::from_json(&standard).unwrap(), stats);
    }

    #[test]
    fn empty_topic_stats() {
        let empty = TopicStatsTable::default();
        assert_eq!(empty.to_json(), br#"{"offsetTable":{},"topicPutTps":0.0}"#);
        round_trip(&empty);
        assert_eq!(
            TopicStatsTable::from_json(br#"{"x":{1:2}}"#).unwrap(),
            empty
        );
    }

    #[test]
    fn consume_stats_pinned_bytes() {
        let stats = ConsumeStats::from_json(CONSUME_STATS.as_bytes()).unwrap();
        let queue = stats.offset_table[&MessageQueue::new("TopicTest", "broker-a", 0)];
        assert_eq!(
            queue,
            OffsetWrapper {
                broker_offset: 42,
                consumer_offset: 40,
                last_timestamp: 1_700_000_000_000,
                pull_offset: 40,
            }
        );
        assert_eq!(
            String::from_utf8(stats.to_json()).unwrap(),
            one_line(CONSUME_STATS)
        );
        round_trip(&stats);
        every_prefix_fails::<ConsumeStats>(one_line(CONSUME_STATS).as_bytes());
    }

    #[test]
    fn consume_stats_ignores_unknown_keys_and_sorts_queues() {
        let text = r#"{"consumeTps":1.5,"future":true,"offsetTable":{
            {"brokerName":"b","queueId":1,"topic":"T","extra":1}:{"brokerOffset":1,"x":[]},
            {"brokerName":"a","queueId":0,"topic":"T"}:{"brokerOffset":2}}}"#;
        let stats = ConsumeStats::from_json(text.as_bytes()).unwrap();
        assert_eq!(stats.consume_tps, 1.5);
        let brokers: Vec<_> = stats
            .offset_table
            .keys()
            .map(|q| q.broker_name.as_str())
            .collect();
        assert_eq!(brokers, ["a", "b"]);
        round_trip(&stats);
    }

    #[test]
    fn consume_stats_list_pinned_bytes() {
        let text = r#"{"brokerAddr":"127.0.0.1:10911","consumeStatsList":[{"G":[{"consumeTps":0.0,"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:{"brokerOffset":42,"consumerOffset":40,"lastTimestamp":1700000000000,"pullOffset":40}}}]},{"H":[]}],"totalDiff":2,"totalInflightDiff":0}"#;
        let list = ConsumeStatsList::from_json(text.as_bytes()).unwrap();
        assert_eq!(list.broker_addr.as_deref(), Some("127.0.0.1:10911"));
        assert_eq!(list.consume_stats_list.len(), 2);
        assert_eq!(list.consume_stats_list[0]["G"][0].offset_table.len(), 1);
        assert_eq!(list.total_diff, 2);
        assert_eq!(String::from_utf8(list.to_json()).unwrap(), text);
        round_trip(&list);
        every_prefix_fails::<ConsumeStatsList>(text.as_bytes());
    }
}
