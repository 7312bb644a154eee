//! `updateSubGroup` and `deleteSubGroup` (Java `UpdateSubGroupSubCommand`,
//! `DeleteSubscriptionGroupCommand`): a consumer group's config on one broker or on every master
//! of a cluster. `retryMaxTimes` and `retryQueueNums` set here decide when a failing message of
//! the group goes to `%DLQ%<group>`.

use std::fmt;

use ferromq_client::AdminClient;
use ferromq_proto::body::SubscriptionGroupConfig;

use crate::cluster::{master_addrs, CLUSTER_ERROR};
use crate::topic::{delete_topic, Target};
use crate::AdminError;

/// Java `SubscriptionGroupConfig.toString()` (4.x).
pub fn group_config_line(c: &SubscriptionGroupConfig) -> String {
    format!(
        "SubscriptionGroupConfig [groupName={}, consumeEnable={}, consumeFromMinEnable={}, consumeBroadcastEnable={}, retryQueueNums={}, retryMaxTimes={}, brokerId={}, whichBrokerWhenConsumeSlowly={}, notifyConsumerIdsChangedEnable={}]",
        c.group_name,
        c.consume_enable,
        c.consume_from_min_enable,
        c.consume_broadcast_enable,
        c.retry_queue_nums,
        c.retry_max_times,
        c.broker_id,
        c.which_broker_when_consume_slowly,
        c.notify_consumer_ids_changed_enable
    )
}

/// The config `updateSubGroup` starts from: Java's defaults, except that the tool turns
/// `consumeBroadcastEnable` and `consumeFromMinEnable` off unless asked.
pub fn tool_default_group(group: &str) -> SubscriptionGroupConfig {
    let mut c = SubscriptionGroupConfig::new(group);
    c.consume_broadcast_enable = false;
    c.consume_from_min_enable = false;
    c
}

/// What `updateSubGroup` did.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateSubGroupReport {
    /// The config sent.
    pub config: SubscriptionGroupConfig,
    /// Brokers it was sent to, in order.
    pub updated_on: Vec<String>,
    /// `-c` named a cluster the name server does not know.
    pub cluster_missing: bool,
}

fn created_line(addr: &str) -> String {
    format!("create subscription group to {addr} success.\n")
}

/// Runs `updateSubGroup`: UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200) to the broker, or to every
/// master of the cluster (after NS 106). A failure after some brokers took it is
/// [`AdminError::Partial`].
pub async fn update_sub_group(
    admin: &AdminClient,
    target: &Target,
    config: &SubscriptionGroupConfig,
) -> Result<UpdateSubGroupReport, AdminError> {
    ferromq_common::names::validate_group(&config.group_name)
        .map_err(ferromq_client::ClientError::from)?;
    let mut report = UpdateSubGroupReport {
        config: config.clone(),
        updated_on: Vec::new(),
        cluster_missing: false,
    };
    let addrs = match target {
        Target::Broker(addr) => vec![addr.clone()],
        Target::Cluster(cluster) => {
            let masters = master_addrs(&admin.cluster_info().await?, cluster);
            report.cluster_missing = masters.is_none();
            masters.unwrap_or_default()
        }
    };
    let mut done = String::new();
    for addr in addrs {
        admin
            .create_subscription_group(&addr, config)
            .await
            .map_err(|e| AdminError::from(e).after(done.clone()))?;
        done.push_str(&created_line(&addr));
        report.updated_on.push(addr);
    }
    Ok(report)
}

impl fmt::Display for UpdateSubGroupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cluster_missing {
            f.write_str(CLUSTER_ERROR)?;
        }
        for addr in &self.updated_on {
            f.write_str(&created_line(addr))?;
        }
        // Java prints the config without a line break.
        f.write_str(&group_config_line(&self.config))
    }
}

/// What `deleteSubGroup` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteSubGroupReport {
    /// The group.
    pub group: String,
    /// The target.
    pub target: Target,
    /// Brokers the group was deleted from.
    pub deleted_on: Vec<String>,
    /// With `-c`: what deleting the group's retry and DLQ topics printed.
    pub topics: String,
    /// `-c` named a cluster the name server does not know.
    pub cluster_missing: bool,
}

/// Runs `deleteSubGroup`: DELETE_SUBSCRIPTIONGROUP (207) on the broker or on every master of the
/// cluster; with `-c` also deletes `%RETRY%<group>` and `%DLQ%<group>` from the cluster and the
/// name servers, as Java does (a topic that is not there is not an error).
pub async fn delete_sub_group(
    admin: &AdminClient,
    target: &Target,
    group: &str,
    clean_offset: bool,
) -> Result<DeleteSubGroupReport, AdminError> {
    let mut report = DeleteSubGroupReport {
        group: group.to_owned(),
        target: target.clone(),
        deleted_on: Vec::new(),
        topics: String::new(),
        cluster_missing: false,
    };
    let addrs = match target {
        Target::Broker(addr) => vec![addr.clone()],
        Target::Cluster(cluster) => {
            let masters = master_addrs(&admin.cluster_info().await?, cluster);
            report.cluster_missing = masters.is_none();
            masters.unwrap_or_default()
        }
    };
    for addr in addrs {
        admin
            .delete_subscription_group(&addr, group, clean_offset)
            .await
            .map_err(|e| AdminError::from(e).after(report.to_string()))?;
        report.deleted_on.push(addr);
    }
    if let Target::Cluster(cluster) = target {
        for topic in [
            ferromq_common::names::retry_topic(group),
            ferromq_common::names::dlq_topic(group),
        ] {
            if let Ok(done) = delete_topic(admin, cluster, &topic).await {
                report.topics.push_str(&done.to_string());
            }
        }
    }
    Ok(report)
}

impl fmt::Display for DeleteSubGroupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cluster_missing {
            f.write_str(CLUSTER_ERROR)?;
        }
        for addr in &self.deleted_on {
            match &self.target {
                Target::Broker(_) => writeln!(
                    f,
                    "delete subscription group [{}] from broker [{addr}] success.",
                    self.group
                )?,
                Target::Cluster(cluster) => writeln!(
                    f,
                    "delete subscription group [{}] from broker [{addr}] in cluster [{cluster}] success.",
                    self.group
                )?,
            }
        }
        f.write_str(&self.topics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_print_like_java() {
        let mut c = tool_default_group("G");
        c.retry_max_times = 3;
        let r = UpdateSubGroupReport {
            config: c,
            updated_on: vec!["127.0.0.1:10911".into()],
            cluster_missing: false,
        };
        assert_eq!(
            r.to_string(),
            "create subscription group to 127.0.0.1:10911 success.\nSubscriptionGroupConfig [groupName=G, consumeEnable=true, consumeFromMinEnable=false, consumeBroadcastEnable=false, retryQueueNums=1, retryMaxTimes=3, brokerId=0, whichBrokerWhenConsumeSlowly=1, notifyConsumerIdsChangedEnable=true]"
        );
        let d = DeleteSubGroupReport {
            group: "G".into(),
            target: Target::Cluster("C".into()),
            deleted_on: vec!["a:1".into()],
            topics: String::new(),
            cluster_missing: false,
        };
        assert_eq!(
            d.to_string(),
            "delete subscription group [G] from broker [a:1] in cluster [C] success.\n"
        );
    }
}
