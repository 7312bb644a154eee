//! `updateQuota`, `getQuota`, `deleteQuota`: FerroMQ's topic and consumer-group quotas
//! (RocketMQ has none, so these commands and their output are FerroMQ's own). Each acts on one
//! broker (`-b`) or on every master of a cluster (`-c`), over UPDATE_QUOTA, GET_QUOTA and
//! DELETE_QUOTA (9101-9103).

use std::fmt;

use ferromq_client::AdminClient;
use ferromq_proto::body::quota::{QuotaEntry, QuotaLimits, QuotaTable, QuotaTarget};
use ferromq_proto::body::JsonBody;
use ferromq_proto::codes::request;
use ferromq_proto::header::NoHeader;
use ferromq_proto::RemotingCommand;

use crate::broker::BrokerSelector;
use crate::cluster::{master_addrs, CLUSTER_ERROR};
use crate::AdminError;

/// The brokers a quota command acts on: the `-b` address, or the masters of the `-c` cluster.
async fn brokers(
    admin: &AdminClient,
    selector: &BrokerSelector,
) -> Result<Vec<String>, AdminError> {
    match selector {
        BrokerSelector::Addr(addr) => Ok(vec![addr.trim().to_owned()]),
        BrokerSelector::Cluster(cluster) => {
            let info = admin.cluster_info().await?;
            master_addrs(&info, cluster.trim()).ok_or_else(|| AdminError::NotFound {
                message: CLUSTER_ERROR.to_owned(),
            })
        }
    }
}

/// What `updateQuota` and `deleteQuota` did: one line per broker.
#[derive(Debug, Default)]
pub struct QuotaChangeReport {
    /// `(broker address, what was done)`.
    pub lines: Vec<String>,
}

impl fmt::Display for QuotaChangeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in &self.lines {
            writeln!(f, "{l}")?;
        }
        Ok(())
    }
}

fn kind(target: QuotaTarget) -> &'static str {
    match target {
        QuotaTarget::Topic => "TOPIC",
        QuotaTarget::Group => "GROUP",
    }
}

/// Runs `updateQuota`: sets (replaces) the quota of `name` on every selected broker.
pub async fn update_quota(
    admin: &AdminClient,
    selector: &BrokerSelector,
    target: QuotaTarget,
    name: &str,
    limits: QuotaLimits,
) -> Result<QuotaChangeReport, AdminError> {
    if limits.is_empty() {
        return Err(AdminError::InvalidArgument {
            reason: "give at least one of --produceMsgsPerSec, --produceBytesPerSec, --consumeMsgsPerSec, --consumeBytesPerSec".into(),
        });
    }
    let entry = QuotaEntry {
        target,
        name: name.to_owned(),
        limits,
        produce_rejected: None,
        consume_paced_ms: None,
    };
    let mut report = QuotaChangeReport::default();
    for addr in brokers(admin, selector).await? {
        let cmd =
            RemotingCommand::request(request::UPDATE_QUOTA, &NoHeader).with_body(entry.to_json());
        admin.rpc().call_ok(&addr, cmd).await?;
        report.lines.push(format!(
            "update quota of {} {name} to {addr} success.",
            kind(target).to_lowercase()
        ));
    }
    Ok(report)
}

/// Runs `deleteQuota`: removes the quota of `name` from every selected broker.
pub async fn delete_quota(
    admin: &AdminClient,
    selector: &BrokerSelector,
    target: QuotaTarget,
    name: &str,
) -> Result<QuotaChangeReport, AdminError> {
    let mut report = QuotaChangeReport::default();
    for addr in brokers(admin, selector).await? {
        let mut cmd = RemotingCommand::request(request::DELETE_QUOTA, &NoHeader);
        cmd.ext_fields.insert("type", kind(target).to_owned());
        cmd.ext_fields.insert("name", name.to_owned());
        admin.rpc().call_ok(&addr, cmd).await?;
        report.lines.push(format!(
            "delete quota of {} {name} from {addr} success.",
            kind(target).to_lowercase()
        ));
    }
    Ok(report)
}

/// The data of `getQuota`: each broker's quotas.
#[derive(Debug, Default)]
pub struct QuotaReport {
    /// `(broker address, its quotas)`.
    pub brokers: Vec<(String, QuotaTable)>,
}

impl fmt::Display for QuotaReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = |r: Option<u64>| r.map_or_else(|| "-".to_owned(), |r| r.to_string());
        writeln!(
            f,
            "{:<22} {:<6} {:<32} {:>14} {:>15} {:>14} {:>15} {:>16} {:>15}",
            "#Broker",
            "#Type",
            "#Name",
            "#ProduceMsgs/s",
            "#ProduceBytes/s",
            "#ConsumeMsgs/s",
            "#ConsumeBytes/s",
            "#ProduceRejected",
            "#ConsumePacedMs"
        )?;
        for (addr, table) in &self.brokers {
            for q in &table.quotas {
                writeln!(
                    f,
                    "{:<22} {:<6} {:<32} {:>14} {:>15} {:>14} {:>15} {:>16} {:>15}",
                    addr,
                    kind(q.target),
                    q.name,
                    rate(q.limits.produce_msgs_per_sec),
                    rate(q.limits.produce_bytes_per_sec),
                    rate(q.limits.consume_msgs_per_sec),
                    rate(q.limits.consume_bytes_per_sec),
                    q.produce_rejected.unwrap_or(0),
                    q.consume_paced_ms.unwrap_or(0)
                )?;
            }
        }
        Ok(())
    }
}

/// Runs `getQuota`: the quotas of every selected broker, all or only `filter`'s.
pub async fn get_quota(
    admin: &AdminClient,
    selector: &BrokerSelector,
    filter: Option<(QuotaTarget, &str)>,
) -> Result<QuotaReport, AdminError> {
    let mut report = QuotaReport::default();
    for addr in brokers(admin, selector).await? {
        let mut cmd = RemotingCommand::request(request::GET_QUOTA, &NoHeader);
        if let Some((target, name)) = filter {
            cmd.ext_fields.insert("type", kind(target).to_owned());
            cmd.ext_fields.insert("name", name.to_owned());
        }
        let resp = admin.rpc().call_ok(&addr, cmd).await?;
        let table = QuotaTable::from_json(&resp.body).map_err(|e| AdminError::InvalidArgument {
            reason: format!("GET_QUOTA answer of {addr}: {e}"),
        })?;
        report.brokers.push((addr, table));
    }
    Ok(report)
}
