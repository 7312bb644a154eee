//! `ClusterInfo`, the GET_BROKER_CLUSTER_INFO body.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{BrokerData, JsonBody};

/// Every broker group and which cluster it belongs to (Java `ClusterInfo`).
///
/// A Java name server writes broker ids as bare keys here; this writes quoted keys like route
/// data (wire-protocol 4.3), which Java readers also accept.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterInfo {
    /// Broker name → its addresses.
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    /// Cluster name → broker names.
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

impl JsonBody for ClusterInfo {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::test_support::{every_prefix_fails, one_line, round_trip};

    /// The example of wire-protocol.md 4.3, as a Java name server writes it (bare key).
    const JAVA: &str = r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"192.168.1.10:10911"},"brokerName":"broker-a",
   "cluster":"DefaultCluster","enableActingMaster":false}},
 "clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#;

    #[test]
    fn cluster_info_pinned_bytes() {
        let info = ClusterInfo::from_json(JAVA.as_bytes()).unwrap();
        let broker = &info.broker_addr_table["broker-a"];
        assert_eq!(broker.master_addr(), Some("192.168.1.10:10911"));
        assert_eq!(broker.cluster, "DefaultCluster");
        assert!(info.cluster_addr_table["DefaultCluster"].contains("broker-a"));
        let expected = one_line(JAVA).replace("{0:", r#"{"0":"#);
        assert_eq!(String::from_utf8(info.to_json()).unwrap(), expected);
        round_trip(&info);
    }

    #[test]
    fn cluster_info_every_prefix_fails() {
        every_prefix_fails::<ClusterInfo>(one_line(JAVA).as_bytes());
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let info =
            ClusterInfo::from_json(br#"{"clusterAddrTable":{"C":["a","b"]},"x":[{}]}"#).unwrap();
        assert_eq!(info.cluster_addr_table["C"].len(), 2);
        assert!(info.broker_addr_table.is_empty());
    }
}
