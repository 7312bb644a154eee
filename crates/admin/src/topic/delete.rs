//! `deleteTopic` (Java `DeleteTopicSubCommand`): remove a topic from every master of a cluster,
//! then from every name server.

use std::fmt;

use ferromq_client::AdminClient;

use crate::cluster::{master_addrs, CLUSTER_ERROR};
use crate::AdminError;

/// What `deleteTopic` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteTopicReport {
    /// The topic.
    pub topic: String,
    /// The cluster.
    pub cluster: String,
    /// The name server does not know the cluster (Java prints an error and goes on).
    pub cluster_missing: bool,
    /// Masters the topic was deleted from.
    pub brokers: Vec<String>,
    /// Name servers the topic was deleted from.
    pub namesrvs: Vec<String>,
}

fn brokers_line(topic: &str, cluster: &str) -> String {
    format!("delete topic [{topic}] from cluster [{cluster}] success.\n")
}

/// Runs `deleteTopic`: NS 106, DELETE_TOPIC_IN_BROKER (215) to each master of `cluster`, then
/// DELETE_TOPIC_IN_NAMESRV (216, with the cluster name) to every name server of the client.
pub async fn delete_topic(
    admin: &AdminClient,
    cluster: &str,
    topic: &str,
) -> Result<DeleteTopicReport, AdminError> {
    let info = admin.cluster_info().await?;
    let masters = master_addrs(&info, cluster);
    let mut report = DeleteTopicReport {
        topic: topic.to_owned(),
        cluster: cluster.to_owned(),
        cluster_missing: masters.is_none(),
        brokers: Vec::new(),
        namesrvs: Vec::new(),
    };
    for addr in masters.unwrap_or_default() {
        admin.delete_topic_in_broker(&addr, topic).await?;
        report.brokers.push(addr);
    }
    let done = format!(
        "{}{}",
        if report.cluster_missing {
            CLUSTER_ERROR
        } else {
            ""
        },
        brokers_line(topic, cluster)
    );
    for ns in admin.namesrv().addrs() {
        admin
            .delete_topic_in_namesrv(ns, topic, Some(cluster))
            .await
            .map_err(|e| AdminError::from(e).after(done.clone()))?;
        report.namesrvs.push(ns.clone());
    }
    Ok(report)
}

impl fmt::Display for DeleteTopicReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cluster_missing {
            f.write_str(CLUSTER_ERROR)?;
        }
        f.write_str(&brokers_line(&self.topic, &self.cluster))?;
        writeln!(f, "delete topic [{}] from NameServer success.", self.topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_java() {
        let r = DeleteTopicReport {
            topic: "T".into(),
            cluster: "DefaultCluster".into(),
            cluster_missing: false,
            brokers: vec!["a:1".into()],
            namesrvs: vec!["n:9876".into()],
        };
        assert_eq!(
            r.to_string(),
            "delete topic [T] from cluster [DefaultCluster] success.\ndelete topic [T] from NameServer success.\n"
        );
    }
}
