//! `topicList` (Java `TopicListSubCommand`): every topic, or with `-c` a table of cluster, topic
//! and consuming groups.

use std::fmt;

use ferromq_client::AdminClient;
use ferromq_common::names::{is_dlq_topic, is_retry_topic};
use ferromq_proto::body::ClusterInfo;

use crate::cluster::cluster_of;
use crate::format::{front, left};
use crate::AdminError;

/// One row of the `-c` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicClusterRow {
    /// The cluster of the topic's first broker; `None` when no cluster lists that broker
    /// (Java prints `null`), empty when the route could not be read.
    pub cluster: Option<String>,
    /// The topic.
    pub topic: String,
    /// A group consuming it, empty when none.
    pub group: String,
}

/// The data of `topicList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicListReport {
    /// Names only.
    Plain(Vec<String>),
    /// `-c`: cluster, topic, consumer group (retry and DLQ topics left out).
    Cluster(Vec<TopicClusterRow>),
}

/// Runs `topicList`. Plain: NS 206. With `cluster_mode`: also NS 106 and, per topic, NS 105 and
/// QUERY_TOPIC_CONSUME_BY_WHO (300) to the first broker of the route; failures of those lookups
/// leave the columns empty, as in Java.
pub async fn topic_list(
    admin: &AdminClient,
    cluster_mode: bool,
) -> Result<TopicListReport, AdminError> {
    if !cluster_mode {
        let list = admin.topic_list().await?;
        return Ok(TopicListReport::Plain(
            list.topic_list.into_iter().collect(),
        ));
    }
    let info = admin.cluster_info().await?;
    let list = admin.topic_list().await?;
    let mut rows = Vec::new();
    for topic in list.topic_list {
        if is_retry_topic(&topic) || is_dlq_topic(&topic) {
            continue;
        }
        let (cluster, groups) = owner_and_groups(admin, &info, &topic).await;
        let groups = if groups.is_empty() {
            vec![String::new()]
        } else {
            groups
        };
        for group in groups {
            rows.push(TopicClusterRow {
                cluster: cluster.clone(),
                topic: topic.clone(),
                group,
            });
        }
    }
    Ok(TopicListReport::Cluster(rows))
}

async fn owner_and_groups(
    admin: &AdminClient,
    info: &ClusterInfo,
    topic: &str,
) -> (Option<String>, Vec<String>) {
    let Ok(route) = admin.topic_route(topic).await else {
        return (Some(String::new()), Vec::new());
    };
    let Some(first) = route.broker_datas.first() else {
        return (Some(String::new()), Vec::new());
    };
    let cluster = cluster_of(info, &first.broker_name);
    let addr = route.broker_datas.iter().find_map(|bd| {
        bd.master_addr()
            .or_else(|| bd.broker_addrs.values().next().map(String::as_str))
    });
    let groups = match addr {
        Some(addr) => admin
            .topic_consumed_by(addr, topic)
            .await
            .map(|g| g.group_list.into_iter().collect())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    (cluster, groups)
}

impl fmt::Display for TopicListReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicListReport::Plain(topics) => {
                for t in topics {
                    writeln!(f, "{t}")?;
                }
            }
            TopicListReport::Cluster(rows) => {
                writeln!(
                    f,
                    "{}  {}  {}",
                    left("#Cluster Name", 20),
                    left("#Topic", 48),
                    left("#Consumer Group", 48)
                )?;
                for r in rows {
                    let cluster = r.cluster.as_deref().unwrap_or("null");
                    writeln!(
                        f,
                        "{}  {}  {}",
                        left(front(cluster, 20), 20),
                        left(front(&r.topic, 64), 64),
                        left(front(&r.group, 64), 64)
                    )?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_is_one_topic_per_line() {
        let r = TopicListReport::Plain(vec!["A".into(), "TBW102".into()]);
        assert_eq!(r.to_string(), "A\nTBW102\n");
    }

    #[test]
    fn cluster_table_uses_java_widths() {
        let r = TopicListReport::Cluster(vec![TopicClusterRow {
            cluster: Some("DefaultCluster".into()),
            topic: "T".into(),
            group: String::new(),
        }]);
        let text = r.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "{:<20}  {:<48}  {:<48}",
                "#Cluster Name", "#Topic", "#Consumer Group"
            )
        );
        assert_eq!(
            lines[1],
            format!("{:<20}  {:<64}  {:<64}", "DefaultCluster", "T", "")
        );
    }
}
