//! GET_BROKER_HA_STATUS (907)'s body (Java `HARuntimeInfo`): a master's view of its slaves, or a
//! slave's view of its master.

use serde::{Deserialize, Serialize};

use super::JsonBody;

/// Replication state of one broker.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HaRuntimeInfo {
    /// On a slave: its connection to the master.
    pub ha_client_runtime_info: HaClientRuntimeInfo,
    /// On a master: one entry per connected slave.
    pub ha_connection_info: Vec<HaConnectionRuntimeInfo>,
    /// Slaves within `haMaxGapNotInSync` of the master.
    pub in_sync_slave_nums: i32,
    pub master: bool,
    pub master_commit_log_max_offset: i64,
}

/// A master's connection to one slave.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HaConnectionRuntimeInfo {
    pub addr: String,
    /// Bytes the slave is behind.
    pub diff: i64,
    pub in_sync: bool,
    pub slave_ack_offset: i64,
    pub transfer_from_where: i64,
    pub transferred_byte_in_second: i64,
}

/// A slave's connection to its master.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HaClientRuntimeInfo {
    /// Java `isActivated` (fastjson drops the `is`).
    pub activated: bool,
    pub last_read_timestamp: i64,
    pub last_write_timestamp: i64,
    pub master_addr: String,
    pub master_flush_offset: i64,
    pub max_offset: i64,
    pub transferred_byte_in_second: i64,
}

impl JsonBody for HaRuntimeInfo {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::test_support::round_trip;

    #[test]
    fn java_field_names() {
        let info = HaRuntimeInfo {
            master: true,
            master_commit_log_max_offset: 10,
            in_sync_slave_nums: 1,
            ha_connection_info: vec![HaConnectionRuntimeInfo {
                addr: "127.0.0.1:5000".into(),
                slave_ack_offset: 10,
                in_sync: true,
                ..Default::default()
            }],
            ..Default::default()
        };
        let json = String::from_utf8(info.to_json()).unwrap();
        assert!(json.contains(r#""masterCommitLogMaxOffset":10"#), "{json}");
        assert!(json.contains(r#""inSyncSlaveNums":1"#), "{json}");
        assert!(json.contains(r#""slaveAckOffset":10"#), "{json}");
        assert!(json.contains(r#""activated":false"#), "{json}");
        round_trip(&info);
    }
}
