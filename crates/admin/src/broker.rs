//! `brokerStatus` (Java `BrokerStatusSubCommand`): a broker's runtime key/values.

use std::fmt;

use ferromq_client::AdminClient;
use ferromq_proto::body::KVTable;

use crate::cluster::{all_addrs, CLUSTER_ERROR};
use crate::format::left;
use crate::AdminError;

/// Which brokers `brokerStatus` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerSelector {
    /// `-b`: one broker address.
    Addr(String),
    /// `-c`: every master and slave of a cluster.
    Cluster(String),
}

/// The data of `brokerStatus`.
#[derive(Debug)]
pub struct BrokerStatusReport {
    /// `-c` was used: each line starts with the broker address.
    pub per_broker: bool,
    /// `-c` named an unknown cluster.
    pub cluster_missing: bool,
    /// Each broker's runtime info, or why it could not be read (only with `-c`; with `-b` a
    /// failure fails the command).
    pub brokers: Vec<(String, Result<KVTable, String>)>,
}

/// Runs `brokerStatus`: GET_BROKER_RUNTIME_INFO (28), to one broker or (after NS 106) to every
/// address of a cluster.
pub async fn broker_status(
    admin: &AdminClient,
    selector: &BrokerSelector,
) -> Result<BrokerStatusReport, AdminError> {
    match selector {
        BrokerSelector::Addr(addr) => {
            let kv = admin.broker_runtime_info(addr.trim()).await?;
            Ok(BrokerStatusReport {
                per_broker: false,
                cluster_missing: false,
                brokers: vec![(addr.trim().to_owned(), Ok(kv))],
            })
        }
        BrokerSelector::Cluster(cluster) => {
            let info = admin.cluster_info().await?;
            let addrs = all_addrs(&info, cluster.trim());
            let mut report = BrokerStatusReport {
                per_broker: true,
                cluster_missing: addrs.is_none(),
                brokers: Vec::new(),
            };
            for addr in addrs.unwrap_or_default() {
                let kv = admin
                    .broker_runtime_info(&addr)
                    .await
                    .map_err(|e| e.to_string());
                report.brokers.push((addr, kv));
            }
            Ok(report)
        }
    }
}

impl BrokerStatusReport {
    /// Per-broker failures, for the CLI to print on stderr (Java prints their stack traces).
    pub fn failures(&self) -> impl Iterator<Item = (&str, &str)> {
        self.brokers
            .iter()
            .filter_map(|(a, r)| r.as_ref().err().map(|e| (a.as_str(), e.as_str())))
    }
}

impl fmt::Display for BrokerStatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cluster_missing {
            f.write_str(CLUSTER_ERROR)?;
        }
        for (addr, kv) in &self.brokers {
            let Ok(kv) = kv else { continue };
            for (k, v) in &kv.table {
                if self.per_broker {
                    writeln!(f, "{} {}: {v}", left(addr, 24), left(k, 32))?;
                } else {
                    writeln!(f, "{}: {v}", left(k, 32))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn kv() -> KVTable {
        KVTable {
            table: BTreeMap::from([
                ("brokerVersionDesc".into(), "V5_3_3".into()),
                ("bootTimestamp".into(), "1".into()),
            ]),
        }
    }

    #[test]
    fn single_broker_lines_are_sorted_key_value() {
        let r = BrokerStatusReport {
            per_broker: false,
            cluster_missing: false,
            brokers: vec![("a:1".into(), Ok(kv()))],
        };
        assert_eq!(
            r.to_string(),
            format!(
                "{:<32}: 1\n{:<32}: V5_3_3\n",
                "bootTimestamp", "brokerVersionDesc"
            )
        );
    }

    #[test]
    fn cluster_lines_start_with_the_address() {
        let r = BrokerStatusReport {
            per_broker: true,
            cluster_missing: false,
            brokers: vec![
                ("a:1".into(), Ok(kv())),
                ("b:1".into(), Err("timeout".into())),
            ],
        };
        let text = r.to_string();
        assert_eq!(
            text.lines().next().unwrap(),
            format!("{:<24} {:<32}: 1", "a:1", "bootTimestamp")
        );
        assert_eq!(text.lines().count(), 2);
        assert_eq!(r.failures().collect::<Vec<_>>(), [("b:1", "timeout")]);
    }
}
