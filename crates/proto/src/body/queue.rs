//! `MessageQueue`, the (topic, broker name, queue id) triple, and maps keyed by it.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One queue of a topic on one broker (Java `MessageQueue`).
///
/// JSON: `{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}`. Ordered like Java's
/// `compareTo`: topic, then broker name, then queue id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueue {
    pub broker_name: String,
    pub queue_id: i32,
    pub topic: String,
}

impl MessageQueue {
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        Self {
            broker_name: broker_name.into(),
            queue_id,
            topic: topic.into(),
        }
    }
}

impl Ord for MessageQueue {
    fn cmp(&self, other: &Self) -> Ordering {
        self.topic
            .cmp(&other.topic)
            .then_with(|| self.broker_name.cmp(&other.broker_name))
            .then(self.queue_id.cmp(&other.queue_id))
    }
}

impl PartialOrd for MessageQueue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// serde for `BTreeMap<MessageQueue, V>` fields.
///
/// Serializes the standard form fastjson's `BrowserCompatible` feature writes: each key is the
/// queue's JSON text as a string. Deserializes string keys holding that text, which is what
/// [`super::fastjson::normalize`] makes of the object-key form. The bodies' `to_json` writes the
/// object-key form itself.
pub(crate) mod key_map {
    use super::*;

    pub(crate) fn serialize<S, V>(
        map: &BTreeMap<MessageQueue, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        V: Serialize,
    {
        let mut out = serializer.serialize_map(Some(map.len()))?;
        for (queue, value) in map {
            let key = String::from_utf8(super::super::fastjson::to_vec(queue))
                .map_err(serde::ser::Error::custom)?;
            out.serialize_entry(&key, value)?;
        }
        out.end()
    }

    pub(crate) fn deserialize<'de, D, V>(
        deserializer: D,
    ) -> Result<BTreeMap<MessageQueue, V>, D::Error>
    where
        D: Deserializer<'de>,
        V: Deserialize<'de>,
    {
        let raw = Option::<BTreeMap<String, V>>::deserialize(deserializer)?.unwrap_or_default();
        raw.into_iter()
            .map(|(key, value)| {
                serde_json::from_str::<MessageQueue>(&key)
                    .map(|queue| (queue, value))
                    .map_err(|e| {
                        D::Error::custom(format_args!("bad MessageQueue key {key:?}: {e}"))
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_fastjson_key_order() {
        let queue = MessageQueue::new("TopicTest", "broker-a", 0);
        assert_eq!(
            serde_json::to_string(&queue).unwrap(),
            r#"{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}"#
        );
    }

    #[test]
    fn order_is_topic_then_broker_then_queue_id() {
        let mut queues = [
            MessageQueue::new("b", "a", 0),
            MessageQueue::new("a", "b", 0),
            MessageQueue::new("a", "a", 2),
            MessageQueue::new("a", "a", 1),
        ];
        queues.sort();
        let ids: Vec<_> = queues
            .iter()
            .map(|q| format!("{}/{}/{}", q.topic, q.broker_name, q.queue_id))
            .collect();
        assert_eq!(ids, ["a/a/1", "a/a/2", "a/b/0", "b/a/0"]);
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(with = "key_map")]
        table: BTreeMap<MessageQueue, i64>,
    }

    #[test]
    fn key_map_uses_string_keys_holding_the_queue_json() {
        let holder = Holder {
            table: BTreeMap::from([(MessageQueue::new("T", "b", 1), 7)]),
        };
        let text = serde_json::to_string(&holder).unwrap();
        assert_eq!(
            text,
            r#"{"table":{"{\"brokerName\":\"b\",\"queueId\":1,\"topic\":\"T\"}":7}}"#
        );
        assert_eq!(serde_json::from_str::<Holder>(&text).unwrap(), holder);
        assert!(serde_json::from_str::<Holder>(r#"{"table":{"nope":1}}"#).is_err());
    }
}
