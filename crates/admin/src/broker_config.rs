//! `getBrokerConfig` (Java `GetBrokerConfigCommand`): the settings of one broker, or of every
//! master and slave of a cluster.

use std::collections::BTreeMap;
use std::fmt;

use ferromq_client::AdminClient;
use ferromq_common::config::Properties;
use ferromq_proto::body::route::MASTER_ID;
use ferromq_proto::body::ClusterInfo;

use crate::broker::BrokerSelector;
use crate::cluster::CLUSTER_ERROR;
use crate::AdminError;

/// Stands for a broker group without a master (Java `CommandUtil.NO_MASTER_PLACEHOLDER`).
pub const NO_MASTER: &str = "NO_MASTER";

/// One broker's block of `getBrokerConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfigSection {
    /// The text between the `============` rules: the address, `Master: <addr>` or
    /// `My Master: <master>=====Slave: <addr>`.
    pub heading: String,
    /// The settings; `None` for the [`NO_MASTER`] placeholder, which has none.
    pub config: Option<Properties>,
}

/// The data of `getBrokerConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BrokerConfigReport {
    /// `-c` named a cluster the name server does not know.
    pub cluster_missing: bool,
    /// One block per broker address, masters each followed by their slaves.
    pub sections: Vec<BrokerConfigSection>,
}

/// Masters of `cluster` (sorted) with their slaves in broker-id order; a broker group without a
/// master puts its slaves under [`NO_MASTER`]. `None` when the cluster is unknown (Java
/// `CommandUtil.fetchMasterAndSlaveDistinguish`).
pub fn masters_and_slaves(
    info: &ClusterInfo,
    cluster: &str,
) -> Option<BTreeMap<String, Vec<String>>> {
    let names = info.cluster_addr_table.get(cluster)?;
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for bd in names.iter().filter_map(|n| info.broker_addr_table.get(n)) {
        let master = bd.master_addr().unwrap_or(NO_MASTER).to_owned();
        let slaves = bd
            .broker_addrs
            .iter()
            .filter(|(id, _)| **id != MASTER_ID)
            .map(|(_, addr)| addr.clone());
        map.entry(master).or_default().extend(slaves);
    }
    Some(map)
}

/// Runs `getBrokerConfig`: GET_BROKER_CONFIG (26) to the broker, or (after NS 106) to every
/// master and slave of the cluster. Java prints each heading before asking, so a failure is
/// [`AdminError::Partial`] with the blocks so far and the heading of the broker that failed.
pub async fn broker_config(
    admin: &AdminClient,
    selector: &BrokerSelector,
) -> Result<BrokerConfigReport, AdminError> {
    let mut report = BrokerConfigReport::default();
    let targets: Vec<(String, String)> = match selector {
        BrokerSelector::Addr(addr) => vec![(addr.trim().to_owned(), addr.trim().to_owned())],
        BrokerSelector::Cluster(cluster) => {
            let info = admin.cluster_info().await?;
            let Some(map) = masters_and_slaves(&info, cluster.trim()) else {
                report.cluster_missing = true;
                return Ok(report);
            };
            let mut targets = Vec::new();
            for (master, slaves) in map {
                targets.push((format!("Master: {master}"), master.clone()));
                for slave in slaves {
                    targets.push((format!("My Master: {master}=====Slave: {slave}"), slave));
                }
            }
            targets
        }
    };
    for (heading, addr) in targets {
        let config = if addr == NO_MASTER {
            None
        } else {
            match admin.broker_config(&addr).await {
                Ok(props) => Some(props),
                Err(e) => {
                    let done = format!("{report}{}", rule(&heading));
                    return Err(AdminError::from(e).after(done));
                }
            }
        };
        report
            .sections
            .push(BrokerConfigSection { heading, config });
    }
    Ok(report)
}

fn rule(heading: &str) -> String {
    format!("============{heading}============\n")
}

/// Java's `%-50s=  %s` line of one setting, shared with `getNamesrvConfig`.
pub(crate) fn write_settings(f: &mut fmt::Formatter<'_>, props: &Properties) -> fmt::Result {
    // Java iterates a `Properties` hash table, whose order is unspecified; key order is stable.
    for (k, v) in props.iter() {
        writeln!(f, "{k:<50}=  {v}")?;
    }
    Ok(())
}

impl fmt::Display for BrokerConfigReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cluster_missing {
            f.write_str(CLUSTER_ERROR)?;
        }
        for section in &self.sections {
            f.write_str(&rule(&section.heading))?;
            if let Some(props) = &section.config {
                write_settings(f, props)?;
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use ferromq_proto::body::BrokerData;

    use super::*;

    fn props(text: &str) -> Option<Properties> {
        Some(Properties::parse(text))
    }

    #[test]
    fn one_broker_prints_a_rule_then_padded_settings_and_a_blank_line() {
        let r = BrokerConfigReport {
            cluster_missing: false,
            sections: vec![BrokerConfigSection {
                heading: "127.0.0.1:10911".into(),
                config: props("brokerName=broker-a\nbrokerId=0\n"),
            }],
        };
        assert_eq!(
            r.to_string(),
            format!(
                "============127.0.0.1:10911============\n{:<50}=  0\n{:<50}=  broker-a\n\n",
                "brokerId", "brokerName"
            )
        );
    }

    #[test]
    fn cluster_blocks_name_master_and_slave() {
        let r = BrokerConfigReport {
            cluster_missing: false,
            sections: vec![
                BrokerConfigSection {
                    heading: "Master: a:1".into(),
                    config: props("k=v"),
                },
                BrokerConfigSection {
                    heading: "My Master: a:1=====Slave: b:1".into(),
                    config: props("k=w"),
                },
                BrokerConfigSection {
                    heading: "Master: NO_MASTER".into(),
                    config: None,
                },
            ],
        };
        let text = r.to_string();
        assert!(text.starts_with("============Master: a:1============\nk"));
        assert!(text.contains("\n\n============My Master: a:1=====Slave: b:1============\n"));
        assert!(text.ends_with("=  w\n\n============Master: NO_MASTER============\n"));
    }

    #[test]
    fn unknown_cluster_prints_the_command_util_error_only() {
        let r = BrokerConfigReport {
            cluster_missing: true,
            sections: vec![],
        };
        assert_eq!(r.to_string(), CLUSTER_ERROR);
    }

    #[test]
    fn slaves_go_under_their_master_or_the_placeholder() {
        let bd = |name: &str, addrs: &[(i64, &str)]| BrokerData {
            broker_name: name.into(),
            broker_addrs: addrs.iter().map(|(i, a)| (*i, a.to_string())).collect(),
            ..Default::default()
        };
        let info = ClusterInfo {
            cluster_addr_table: BTreeMap::from([(
                "C".to_string(),
                BTreeSet::from(["a".to_string(), "b".to_string()]),
            )]),
            broker_addr_table: BTreeMap::from([
                (
                    "a".to_string(),
                    bd("a", &[(0, "a:0"), (2, "a:2"), (1, "a:1")]),
                ),
                ("b".to_string(), bd("b", &[(1, "b:1")])),
            ]),
        };
        let map = masters_and_slaves(&info, "C").unwrap();
        assert_eq!(map["a:0"], ["a:1", "a:2"]);
        assert_eq!(map[NO_MASTER], ["b:1"]);
        assert!(masters_and_slaves(&info, "X").is_none());
    }
}
