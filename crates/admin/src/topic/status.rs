//! `topicStatus` (Java `TopicStatusSubCommand`): min and max offsets of every queue of a topic.

use std::fmt;

use ferromq_client::AdminClient;
use ferromq_proto::body::{MessageQueue, TopicOffset, TopicRouteData};

use crate::format::{front, human_millis, java_double, left};
use crate::AdminError;

/// The data of `topicStatus`.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicStatusReport {
    /// The topic.
    pub topic: String,
    /// One entry per queue, sorted like Java's `MessageQueue.compareTo`.
    pub queues: Vec<(MessageQueue, TopicOffset)>,
    /// Sum of the brokers' `topicPutTps`.
    pub put_tps: f64,
}

/// The address Java's `BrokerData.selectBrokerAddr` picks: the master, else any.
fn select_addr(bd: &ferromq_proto::body::BrokerData) -> Option<&str> {
    bd.master_addr()
        .or_else(|| bd.broker_addrs.values().next().map(String::as_str))
}

async fn stats_over(
    admin: &AdminClient,
    route: &TopicRouteData,
    topic: &str,
) -> Result<TopicStatusReport, AdminError> {
    let mut report = TopicStatusReport {
        topic: topic.to_owned(),
        queues: Vec::new(),
        put_tps: 0.0,
    };
    for bd in &route.broker_datas {
        let Some(addr) = select_addr(bd) else {
            continue;
        };
        let stats = admin.topic_stats(addr, topic).await?;
        report.put_tps += stats.topic_put_tps;
        report.queues.extend(stats.offset_table);
    }
    report.queues.sort_by(|a, b| a.0.cmp(&b.0));
    report.queues.dedup_by(|a, b| a.0 == b.0);
    Ok(report)
}

/// Runs `topicStatus`: NS 105 for the topic, then GET_TOPIC_STATS_INFO (202) to each broker of
/// the route. With `cluster`, the brokers come from the route of the cluster-named topic
/// instead. Fails with `Not found the topic stats info` when no broker reports a queue.
pub async fn topic_status(
    admin: &AdminClient,
    topic: &str,
    cluster: Option<&str>,
) -> Result<TopicStatusReport, AdminError> {
    let topic = topic.trim();
    match cluster {
        Some(cluster) => {
            let route = admin.topic_route(cluster.trim()).await?;
            stats_over(admin, &route, topic).await
        }
        None => {
            let route = admin.topic_route(topic).await?;
            let report = stats_over(admin, &route, topic).await?;
            if report.queues.is_empty() {
                return Err(AdminError::NotFound {
                    message: "Not found the topic stats info".into(),
                });
            }
            Ok(report)
        }
    }
}

impl fmt::Display for TopicStatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}  {}  {}  {}    #Last Updated",
            left("#Broker Name", 32),
            left("#QID", 4),
            left("#Min Offset", 20),
            left("#Max Offset", 20),
        )?;
        for (mq, off) in &self.queues {
            let updated = if off.last_update_timestamp > 0 {
                human_millis(off.last_update_timestamp)
            } else {
                String::new()
            };
            writeln!(
                f,
                "{}  {:<4}  {:<20}  {:<20}    {}",
                left(front(&mq.broker_name, 32), 32),
                mq.queue_id,
                off.min_offset,
                off.max_offset,
                updated
            )?;
        }
        writeln!(f)?;
        writeln!(f, "Topic Put TPS: {}", java_double(self.put_tps))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_java_printf() {
        let r = TopicStatusReport {
            topic: "T".into(),
            queues: vec![
                (
                    MessageQueue::new("T", "broker-a", 0),
                    TopicOffset {
                        min_offset: 0,
                        max_offset: 42,
                        last_update_timestamp: 1_700_000_000_123,
                    },
                ),
                (
                    MessageQueue::new("T", "broker-a", 1),
                    TopicOffset::default(),
                ),
            ],
            put_tps: 0.0,
        };
        let expected = format!(
            "{:<32}  {:<4}  {:<20}  {:<20}    {}\n{:<32}  {:<4}  {:<20}  {:<20}    {}\n{:<32}  {:<4}  {:<20}  {:<20}    {}\n\nTopic Put TPS: 0.0\n",
            "#Broker Name", "#QID", "#Min Offset", "#Max Offset", "#Last Updated",
            "broker-a", 0, 0, 42, "2023-11-14 22:13:20,123",
            "broker-a", 1, 0, 0, ""
        );
        assert_eq!(r.to_string(), expected);
    }
}
