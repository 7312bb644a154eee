//! Deleted dead letters (FerroMQ's own; RocketMQ cannot delete one message): the answer of
//! DELETE_DLQ_MESSAGE, the answer of GET_DLQ_TOMBSTONES and the broker's `dlqTombstones.json`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::JsonBody;

/// The deleted messages of the `%DLQ%` topics: topic → queue id → queue offsets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DlqTombstoneTable {
    /// Deleted queue offsets per topic and queue.
    #[serde(default)]
    pub tombstones: BTreeMap<String, BTreeMap<i32, BTreeSet<i64>>>,
}

impl DlqTombstoneTable {
    /// How many messages of `topic` are deleted.
    pub fn count(&self, topic: &str) -> usize {
        self.tombstones
            .get(topic)
            .map(|q| q.values().map(BTreeSet::len).sum())
            .unwrap_or(0)
    }
}

/// What DELETE_DLQ_MESSAGE deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedDeadLetter {
    /// The `%DLQ%<group>` topic.
    pub topic: String,
    /// Its queue.
    pub queue_id: i32,
    /// The message's offset in that queue.
    pub queue_offset: i64,
    /// The message's commit-log offset.
    pub commit_log_offset: i64,
    /// The message's id (its `UNIQ_KEY`, else its offset id).
    pub msg_id: String,
    /// True when it had been deleted before.
    #[serde(default)]
    pub already_deleted: bool,
}

impl JsonBody for DlqTombstoneTable {}
impl JsonBody for DeletedDeadLetter {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_number_keys() {
        let mut t = DlqTombstoneTable::default();
        t.tombstones
            .entry("%DLQ%G".into())
            .or_default()
            .entry(0)
            .or_default()
            .extend([3, 7]);
        let json = t.to_json();
        assert_eq!(
            std::str::from_utf8(&json).unwrap(),
            r#"{"tombstones":{"%DLQ%G":{"0":[3,7]}}}"#
        );
        assert_eq!(DlqTombstoneTable::from_json(&json).unwrap(), t);
        assert_eq!(t.count("%DLQ%G"), 2);
        assert_eq!(t.count("%DLQ%H"), 0);
        assert!(
            DlqTombstoneTable::from_json(b"{\"tombstones\":{\"%DLQ%G\":{\"x\":[1]}}}").is_err()
        );
        let d = DeletedDeadLetter {
            topic: "%DLQ%G".into(),
            queue_id: 0,
            queue_offset: 3,
            commit_log_offset: 100,
            msg_id: "ID".into(),
            already_deleted: false,
        };
        assert_eq!(DeletedDeadLetter::from_json(&d.to_json()).unwrap(), d);
    }
}
