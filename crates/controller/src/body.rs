//! JSON bodies of the controller requests, as RocketMQ's fastjson writes them (keys in
//! alphabetical order; number-keyed maps with quoted keys, which fastjson reads too). Decoding
//! goes through [`JsonBody::from_json`], so fastjson's bare number keys are accepted as well.

use std::collections::{BTreeMap, BTreeSet};

use ferromq_proto::body::JsonBody;
use serde::{Deserialize, Serialize};

/// `SyncStateSet`: the in-sync replica ids of a broker set and the epoch of that set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncStateSet {
    /// Broker ids in sync with the master (the master included).
    pub sync_state_set: BTreeSet<i64>,
    /// Bumped on every change of the set.
    pub sync_state_set_epoch: i32,
}
impl JsonBody for SyncStateSet {}

/// `BrokerMemberGroup`: every registered replica of a broker set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerMemberGroup {
    /// Broker id → address.
    pub broker_addrs: BTreeMap<i64, String>,
    /// The broker set.
    pub broker_name: String,
    /// Its cluster.
    pub cluster: String,
}
impl JsonBody for BrokerMemberGroup {}

/// `ElectMasterResponseBody`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ElectMasterResponseBody {
    /// Members of the set, present when a new master was elected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_member_group: Option<BrokerMemberGroup>,
    /// The syncStateSet after the election.
    pub sync_state_set: BTreeSet<i64>,
}
impl JsonBody for ElectMasterResponseBody {}

/// `BrokerReplicasInfo.ReplicaIdentity`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicaIdentity {
    /// Heartbeat seen within its timeout by the answering controller.
    pub alive: bool,
    /// Replica address.
    pub broker_address: String,
    /// Replica id.
    pub broker_id: i64,
    /// Broker set.
    pub broker_name: String,
}

/// `BrokerReplicasInfo.ReplicasInfo`: one broker set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicasInfo {
    /// Replicas in the syncStateSet.
    pub in_sync_replicas: Vec<ReplicaIdentity>,
    /// Master address, when there is a master.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_address: Option<String>,
    /// Master id, when there is a master.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_broker_id: Option<i64>,
    /// Master epoch.
    pub master_epoch: i32,
    /// Registered replicas outside the syncStateSet.
    pub not_in_sync_replicas: Vec<ReplicaIdentity>,
    /// syncStateSet epoch.
    pub sync_state_set_epoch: i32,
}

/// `BrokerReplicasInfo`: body of CONTROLLER_GET_SYNC_STATE_DATA's response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerReplicasInfo {
    /// Broker name → its replica state. Unknown names are left out.
    pub replicas_info_table: BTreeMap<String, ReplicasInfo>,
}
impl JsonBody for BrokerReplicasInfo {}

/// Body of CONTROLLER_GET_SYNC_STATE_DATA: a JSON list of broker names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BrokerNames(pub Vec<String>);
impl JsonBody for BrokerNames {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_state_set_pins_bytes_and_reads_fastjson() {
        let set = SyncStateSet {
            sync_state_set: [1, 2].into_iter().collect(),
            sync_state_set_epoch: 3,
        };
        assert_eq!(
            set.to_json(),
            br#"{"syncStateSet":[1,2],"syncStateSetEpoch":3}"#
        );
        assert_eq!(SyncStateSet::from_json(&set.to_json()).unwrap(), set);
        for end in 0..set.to_json().len() {
            assert!(SyncStateSet::from_json(&set.to_json()[..end]).is_err());
        }
    }

    #[test]
    fn member_group_accepts_bare_number_keys() {
        let g = BrokerMemberGroup::from_json(
            br#"{"brokerAddrs":{1:"127.0.0.1:30911",2:"127.0.0.1:30921"},"brokerName":"broker-a","cluster":"DefaultCluster"}"#,
        )
        .unwrap();
        assert_eq!(
            g.broker_addrs.get(&2).map(String::as_str),
            Some("127.0.0.1:30921")
        );
        assert_eq!(
            g.to_json(),
            br#"{"brokerAddrs":{"1":"127.0.0.1:30911","2":"127.0.0.1:30921"},"brokerName":"broker-a","cluster":"DefaultCluster"}"#
        );
    }

    #[test]
    fn broker_names_is_a_plain_list() {
        let names = BrokerNames::from_json(br#"["broker-a","broker-b"]"#).unwrap();
        assert_eq!(names.0, vec!["broker-a".to_owned(), "broker-b".to_owned()]);
        assert!(BrokerNames::from_json(b"{").is_err());
    }
}
