//! `haStatus` (Java `HAStatusSubCommand`): replication state of a master (its slaves, how far
//! behind each is) or of a slave (its master, its own log end), from GET_BROKER_HA_STATUS (907).

use std::fmt;

use ferromq_client::AdminClient;
use ferromq_proto::body::HaRuntimeInfo;

use crate::broker::BrokerSelector;
use crate::cluster::master_addrs;
use crate::format::human_millis;
use crate::AdminError;

/// The data of `haStatus`: one entry per broker asked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HaStatusReport {
    pub brokers: Vec<(String, HaRuntimeInfo)>,
}

/// Asks the broker at `-b`, or every master of the cluster at `-c` (Java asks masters only).
pub async fn ha_status(
    admin: &AdminClient,
    selector: &BrokerSelector,
) -> Result<HaStatusReport, AdminError> {
    let addrs = match selector {
        BrokerSelector::Addr(a) => vec![a.trim().to_owned()],
        BrokerSelector::Cluster(c) => {
            master_addrs(&admin.cluster_info().await?, c.trim()).unwrap_or_default()
        }
    };
    let mut report = HaStatusReport::default();
    for addr in addrs {
        let info = admin.ha_status(&addr).await?;
        report.brokers.push((addr, info));
    }
    Ok(report)
}

impl fmt::Display for HaStatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (addr, info) in &self.brokers {
            if info.master {
                write!(
                    f,
                    "\n#MasterAddr\t{addr}\n#MasterCommitLogMaxOffset\t{}\n#SlaveNum\t{}\n#InSyncSlaveNum\t{}\n",
                    info.master_commit_log_max_offset,
                    info.ha_connection_info.len(),
                    info.in_sync_slave_nums
                )?;
                writeln!(
                    f,
                    "{:<32}  {:<16} {:>16} {:>16} {:>16} {:>16}",
                    "#SlaveAddr",
                    "#SlaveAckOffset",
                    "#Diff",
                    "#TransferSpeed(KB/s)",
                    "#Status",
                    "#TransferFromWhere"
                )?;
                for c in &info.ha_connection_info {
                    writeln!(
                        f,
                        "{:<32}  {:<16} {:>16} {:>16} {:>16} {:>16}",
                        c.addr,
                        c.slave_ack_offset,
                        c.diff,
                        format!("{:.2}", c.transferred_byte_in_second as f64 / 1024.0),
                        if c.in_sync { "OK" } else { "Fall Behind" },
                        c.transfer_from_where
                    )?;
                }
            } else {
                let c = &info.ha_client_runtime_info;
                write!(f, "\n#MasterAddr\t{}\n", c.master_addr)?;
                writeln!(f, "#CommitLogMaxOffset\t{}", c.max_offset)?;
                writeln!(
                    f,
                    "#TransferSpeed(KB/s)\t{:.2}",
                    c.transferred_byte_in_second as f64 / 1024.0
                )?;
                writeln!(f, "#LastReadTime\t{}", human_millis(c.last_read_timestamp))?;
                writeln!(
                    f,
                    "#LastWriteTime\t{}",
                    human_millis(c.last_write_timestamp)
                )?;
                writeln!(f, "#MasterFlushOffset\t{}", c.master_flush_offset)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ferromq_proto::body::{HaClientRuntimeInfo, HaConnectionRuntimeInfo};

    use super::*;

    #[test]
    fn master_and_slave_blocks_read_as_java_prints_them() {
        let report = HaStatusReport {
            brokers: vec![
                (
                    "127.0.0.1:10911".into(),
                    HaRuntimeInfo {
                        master: true,
                        master_commit_log_max_offset: 2048,
                        in_sync_slave_nums: 1,
                        ha_connection_info: vec![HaConnectionRuntimeInfo {
                            addr: "127.0.0.1:40000".into(),
                            slave_ack_offset: 1024,
                            diff: 1024,
                            in_sync: true,
                            transferred_byte_in_second: 2048,
                            transfer_from_where: 0,
                        }],
                        ..Default::default()
                    },
                ),
                (
                    "127.0.0.1:10921".into(),
                    HaRuntimeInfo {
                        ha_client_runtime_info: HaClientRuntimeInfo {
                            master_addr: "127.0.0.1:10912".into(),
                            max_offset: 2048,
                            ..Default::default()
                        },
                        ..Default::default()
                    },
                ),
            ],
        };
        let text = report.to_string();
        assert!(text.contains("#MasterAddr\t127.0.0.1:10911\n#MasterCommitLogMaxOffset\t2048\n#SlaveNum\t1\n#InSyncSlaveNum\t1\n"), "{text}");
        assert!(text.contains("127.0.0.1:40000                   1024                         1024             2.00               OK                0"), "{text}");
        assert!(
            text.contains("#MasterAddr\t127.0.0.1:10912\n#CommitLogMaxOffset\t2048\n"),
            "{text}"
        );
    }
}
