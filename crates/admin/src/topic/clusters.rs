//! `topicClusterList` (Java `TopicClusterSubCommand`): the clusters that serve a topic.

use std::collections::BTreeSet;
use std::fmt;

use ferromq_client::AdminClient;

use crate::AdminError;

/// The data of `topicClusterList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicClusterListReport {
    /// Cluster names, sorted.
    pub clusters: BTreeSet<String>,
}

/// Runs `topicClusterList`: NS 106 and NS 105 for `topic`; the clusters whose broker sets hold a
/// broker of the route. An unknown topic fails with `TOPIC_NOT_EXIST`.
///
/// Java (`DefaultMQAdminExtImpl.getTopicClusterList`) looks only at the route's first broker;
/// here every broker of the route counts, so a topic spread over two clusters lists both.
pub async fn topic_cluster_list(
    admin: &AdminClient,
    topic: &str,
) -> Result<TopicClusterListReport, AdminError> {
    let info = admin.cluster_info().await?;
    let route = admin.topic_route(topic.trim()).await?;
    let clusters = info
        .cluster_addr_table
        .iter()
        .filter(|(_, names)| {
            route
                .broker_datas
                .iter()
                .any(|bd| names.contains(&bd.broker_name))
        })
        .map(|(cluster, _)| cluster.clone())
        .collect();
    Ok(TopicClusterListReport { clusters })
}

impl fmt::Display for TopicClusterListReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for cluster in &self.clusters {
            writeln!(f, "{cluster}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cluster_name_per_line() {
        let r = TopicClusterListReport {
            clusters: BTreeSet::from(["DefaultCluster".to_string(), "Other".to_string()]),
        };
        assert_eq!(r.to_string(), "DefaultCluster\nOther\n");
    }
}
