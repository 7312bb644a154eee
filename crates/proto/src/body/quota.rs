//! Flow quotas (FerroMQ's own; RocketMQ has none): the body of UPDATE_QUOTA, and of GET_QUOTA's
//! answer, and the broker's `quotas.json`.

use serde::{Deserialize, Serialize};

use super::JsonBody;

/// What a quota limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum QuotaTarget {
    /// A topic: produce and consume (every group together).
    Topic,
    /// A consumer group: consume (every topic together).
    Group,
}

/// The limits of one topic or group; `None` is no limit. Rates are per second.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QuotaLimits {
    /// Messages stored per second (topics only).
    pub produce_msgs_per_sec: Option<u64>,
    /// Body bytes stored per second (topics only).
    pub produce_bytes_per_sec: Option<u64>,
    /// Messages delivered by pulls per second.
    pub consume_msgs_per_sec: Option<u64>,
    /// Stored bytes delivered by pulls per second.
    pub consume_bytes_per_sec: Option<u64>,
}

impl QuotaLimits {
    /// True when no limit is set.
    pub fn is_empty(&self) -> bool {
        self == &QuotaLimits::default()
    }
}

/// One quota, with what it has done since the broker started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaEntry {
    /// Topic or group.
    #[serde(rename = "type")]
    pub target: QuotaTarget,
    /// Its name.
    pub name: String,
    /// The limits.
    #[serde(flatten)]
    pub limits: QuotaLimits,
    /// Sends answered SYSTEM_BUSY by this quota (in GET_QUOTA answers; not persisted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produce_rejected: Option<u64>,
    /// Milliseconds pulls were held back by this quota (in GET_QUOTA answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consume_paced_ms: Option<u64>,
}

/// A list of quotas: GET_QUOTA's answer and `quotas.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaTable {
    /// The quotas, sorted by type and name.
    #[serde(default)]
    pub quotas: Vec<QuotaEntry>,
}

impl JsonBody for QuotaEntry {}
impl JsonBody for QuotaTable {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_pins_the_json() {
        let e = QuotaEntry {
            target: QuotaTarget::Topic,
            name: "T".into(),
            limits: QuotaLimits {
                produce_msgs_per_sec: Some(100),
                ..Default::default()
            },
            produce_rejected: None,
            consume_paced_ms: None,
        };
        let json = String::from_utf8(e.to_json()).unwrap();
        assert!(json.contains("\"type\":\"TOPIC\""), "{json}");
        assert!(json.contains("\"produceMsgsPerSec\":100"), "{json}");
        assert_eq!(QuotaEntry::from_json(json.as_bytes()).unwrap(), e);
        let table = QuotaTable { quotas: vec![e] };
        assert_eq!(QuotaTable::from_json(&table.to_json()).unwrap(), table);
        assert!(QuotaEntry::from_json(b"{\"type\":\"QUEUE\",\"name\":\"x\"}").is_err());
        assert!(QuotaEntry::from_json(b"{\"type\":\"TOP").is_err());
    }
}
