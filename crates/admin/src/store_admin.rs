//! `deleteExpiredCommitLog` and `cleanExpiredCQ` (Java `DeleteExpiredCommitLogSubCommand`,
//! `CleanExpiredCQSubCommand`): ask brokers to run their retention now.
//!
//! With `-b` one broker is asked; otherwise every broker (masters and slaves) of the cluster
//! given with `-c`, or of every cluster. The tools print `success` when the last broker asked
//! answered SUCCESS, else `false` (Java keeps only the last result).

use ferromq_client::{AdminClient, ClientError};
use ferromq_proto::codes::request;
use ferromq_proto::RemotingCommand;

use crate::cluster::all_addrs;
use crate::AdminError;

/// Which brokers to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreTarget {
    /// One broker address (`-b`).
    Broker(String),
    /// The brokers of one cluster (`-c`), or of every cluster (`None`).
    Cluster(Option<String>),
}

async fn addrs(admin: &AdminClient, target: &StoreTarget) -> Result<Vec<String>, AdminError> {
    match target {
        StoreTarget::Broker(addr) => Ok(vec![addr.clone()]),
        StoreTarget::Cluster(cluster) => {
            let info = admin.cluster_info().await?;
            let clusters: Vec<String> = match cluster.as_deref().map(str::trim) {
                Some(c) if !c.is_empty() => vec![c.to_owned()],
                _ => info.cluster_addr_table.keys().cloned().collect(),
            };
            Ok(clusters
                .iter()
                .filter_map(|c| all_addrs(&info, c))
                .flatten()
                .collect())
        }
    }
}

async fn ask_all(admin: &AdminClient, target: &StoreTarget, code: i32) -> Result<bool, AdminError> {
    let mut result = false;
    for addr in addrs(admin, target).await? {
        let resp = admin
            .rpc()
            .call(&addr, RemotingCommand::bare_request(code))
            .await?;
        if resp.code != 0 {
            // Java throws MQClientException(code, remark) here.
            return Err(ClientError::Broker {
                code: resp.code,
                remark: resp.remark.unwrap_or_default(),
            }
            .into());
        }
        result = true;
    }
    Ok(result)
}

/// DELETE_EXPIRED_COMMITLOG (329) to each target broker; true when the last one agreed.
pub async fn delete_expired_commit_log(
    admin: &AdminClient,
    target: &StoreTarget,
) -> Result<bool, AdminError> {
    ask_all(admin, target, request::DELETE_EXPIRED_COMMITLOG).await
}

/// CLEAN_EXPIRED_CONSUMEQUEUE (306) to each target broker; true when the last one agreed.
pub async fn clean_expired_consume_queue(
    admin: &AdminClient,
    target: &StoreTarget,
) -> Result<bool, AdminError> {
    ask_all(admin, target, request::CLEAN_EXPIRED_CONSUMEQUEUE).await
}

/// CLEAN_UNUSED_TOPIC (316) to each target broker (`mqadmin cleanUnusedTopic`): consume queues
/// of topics no longer in the broker's topic table are deleted; true when the last one agreed.
pub async fn clean_unused_topic(
    admin: &AdminClient,
    target: &StoreTarget,
) -> Result<bool, AdminError> {
    ask_all(admin, target, request::CLEAN_UNUSED_TOPIC).await
}
