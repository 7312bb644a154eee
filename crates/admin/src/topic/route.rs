//! `topicRoute` (Java `TopicRouteSubCommand`): the route as fastjson's pretty JSON, or with
//! `-l` as a table.

use std::collections::BTreeMap;
use std::fmt;

use ferromq_client::AdminClient;
use ferromq_proto::body::TopicRouteData;

use crate::format::{left, pretty};
use crate::AdminError;

/// The data of `topicRoute`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRouteReport {
    /// The route as the name server sent it.
    pub route: TopicRouteData,
    /// `-l`: print the table instead of JSON.
    pub list_format: bool,
}

/// Runs `topicRoute`: GET_ROUTEINFO_BY_TOPIC (105).
pub async fn topic_route(
    admin: &AdminClient,
    topic: &str,
    list_format: bool,
) -> Result<TopicRouteReport, AdminError> {
    let route = admin.topic_route(topic.trim()).await?;
    Ok(TopicRouteReport { route, list_format })
}

/// `%-45s %-32s %-50s %-10s %-11s %-5s`.
fn row(f: &mut fmt::Formatter<'_>, cols: [&str; 6]) -> fmt::Result {
    writeln!(
        f,
        "{} {} {} {} {} {}",
        left(cols[0], 45),
        left(cols[1], 32),
        left(cols[2], 50),
        left(cols[3], 10),
        left(cols[4], 11),
        left(cols[5], 5)
    )
}

impl fmt::Display for TopicRouteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.list_format {
            return writeln!(f, "{}", pretty::topic_route(&self.route));
        }
        let queues: BTreeMap<&str, _> = self
            .route
            .queue_datas
            .iter()
            .map(|q| (q.broker_name.as_str(), q))
            .collect();
        let mut brokers: Vec<_> = self.route.broker_datas.iter().collect();
        brokers.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        row(
            f,
            [
                "#ClusterName",
                "#BrokerName",
                "#BrokerAddrs",
                "#ReadQueue",
                "#WriteQueue",
                "#Perm",
            ],
        )?;
        let (mut read, mut write) = (0, 0);
        for bd in brokers {
            let Some(q) = queues.get(bd.broker_name.as_str()) else {
                continue;
            };
            read += q.read_queue_nums;
            write += q.write_queue_nums;
            // Java prints the HashMap<Long, String>: `{0=addr, 1=addr}`.
            let addrs: Vec<String> = bd
                .broker_addrs
                .iter()
                .map(|(id, a)| format!("{id}={a}"))
                .collect();
            row(
                f,
                [
                    &bd.cluster,
                    &bd.broker_name,
                    &format!("{{{}}}", addrs.join(", ")),
                    &q.read_queue_nums.to_string(),
                    &q.write_queue_nums.to_string(),
                    &q.perm.to_string(),
                ],
            )?;
        }
        writeln!(f, "{}", "-".repeat(158))?;
        row(
            f,
            [
                "Total:",
                &queues.len().to_string(),
                "",
                &read.to_string(),
                &write.to_string(),
                "",
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use ferromq_proto::body::{BrokerData, QueueData};

    use super::*;

    fn route() -> TopicRouteData {
        TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: BTreeMap::from([(0, "127.0.0.1:10911".to_string())]),
                broker_name: "broker-a".into(),
                cluster: "DefaultCluster".into(),
                ..Default::default()
            }],
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: 4,
                write_queue_nums: 4,
                topic_sys_flag: 0,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn json_form_ends_with_newline() {
        let text = TopicRouteReport {
            route: route(),
            list_format: false,
        }
        .to_string();
        assert!(text.starts_with("{\n\t\"brokerDatas\":[\n"));
        assert!(text.ends_with("\n}\n"));
    }

    #[test]
    fn list_form() {
        let text = TopicRouteReport {
            route: route(),
            list_format: true,
        }
        .to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[1],
            format!(
                "{:<45} {:<32} {:<50} {:<10} {:<11} {:<5}",
                "DefaultCluster", "broker-a", "{0=127.0.0.1:10911}", 4, 4, 6
            )
        );
        assert_eq!(lines[2].len(), 158);
        assert_eq!(
            lines[3],
            format!(
                "{:<45} {:<32} {:<50} {:<10} {:<11} {:<5}",
                "Total:", 1, "", 4, 4, ""
            )
        );
    }
}
