//! `consumerProgress` (Java `ConsumerProgressSubCommand`): a group's offsets per queue, or with
//! no group a one-line summary of every group.

use std::collections::BTreeMap;
use std::fmt;

use ferromq_client::AdminClient;
use ferromq_common::names::{is_retry_topic, retry_topic, RETRY_GROUP_TOPIC_PREFIX};
use ferromq_proto::body::{ConsumeStats, ConsumeType, MessageModel, MessageQueue, OffsetWrapper};
use ferromq_proto::codes::response;

use super::connection::examine_consumer_connection;
use crate::format::{front, human_seconds, left, version_desc};
use crate::AdminError;

/// Java `DefaultMQAdminExtImpl.examineConsumeStats(cluster, group, topic)`.
///
/// NS 105 for the first of `%RETRY%<group>`, `<topic>`, `%RETRY%<group>_<topic>` that has a
/// route; GET_CONSUME_STATS (208) to each broker of it; NS 105 for every topic in the merged
/// table (a topic without a route fails the call, as in Java). An empty table is an error:
/// `CONSUMER_NOT_ONLINE` when the group has no connection, `BROADCAST_CONSUMPTION` when it
/// consumes in broadcasting mode.
pub async fn examine_consume_stats(
    admin: &AdminClient,
    group: &str,
    topic: Option<&str>,
    cluster: Option<&str>,
) -> Result<ConsumeStats, AdminError> {
    let mut candidates = vec![retry_topic(group)];
    if let Some(t) = topic {
        candidates.push(t.to_owned());
        candidates.push(format!("{RETRY_GROUP_TOPIC_PREFIX}{group}_{t}"));
    }
    let mut route = admin.topic_route(&candidates[0]).await;
    for t in &candidates[1..] {
        if route.is_ok() {
            break;
        }
        route = admin.topic_route(t).await;
    }
    let route = route?;
    let mut result = ConsumeStats::default();
    for bd in &route.broker_datas {
        let Some(addr) = bd
            .master_addr()
            .or_else(|| bd.broker_addrs.values().next().map(String::as_str))
        else {
            continue;
        };
        let stats = admin.consume_stats(addr, group, topic).await?;
        result.offset_table.extend(stats.offset_table);
        result.consume_tps += stats.consume_tps;
    }
    if cluster.is_none_or(str::is_empty) {
        let mut topics: Vec<&str> = result
            .offset_table
            .keys()
            .map(|mq| mq.topic.as_str())
            .collect();
        topics.dedup();
        for t in topics {
            admin.topic_route(t).await?;
        }
    }
    if result.offset_table.is_empty() {
        let Ok(cc) = examine_consumer_connection(admin, group, None).await else {
            return Err(AdminError::coded(
                response::CONSUMER_NOT_ONLINE,
                "Not found the consumer group consume stats, because return offset table is empty, maybe the consumer not online",
            ));
        };
        if cc.message_model == MessageModel::Broadcasting {
            return Err(AdminError::coded(
                213,
                "Not found the consumer group consume stats, because return offset table is empty, the consumer is under the broadcast mode",
            ));
        }
    }
    Ok(result)
}

/// The data of `consumerProgress -g`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupProgress {
    /// The group.
    pub group: String,
    /// Sum of the brokers' consume TPS.
    pub consume_tps: f64,
    /// Per queue, sorted like Java's `MessageQueue.compareTo`.
    pub queues: Vec<(MessageQueue, OffsetWrapper)>,
    /// `-s true`: the client IP each queue is assigned to (`N/A` when unknown). FerroMQ does not
    /// yet ask clients for their running info (code 307), so every queue shows `N/A`.
    pub client_ips: Option<BTreeMap<MessageQueue, String>>,
}

/// Runs `consumerProgress -g <group> [-t topic] [-s true] [-c cluster]`.
pub async fn consumer_progress(
    admin: &AdminClient,
    group: &str,
    topic: Option<&str>,
    show_client_ip: bool,
    cluster: Option<&str>,
) -> Result<GroupProgress, AdminError> {
    let group = group.trim();
    let stats =
        examine_consume_stats(admin, group, topic.map(str::trim), cluster.map(str::trim)).await?;
    let mut queues: Vec<_> = stats.offset_table.into_iter().collect();
    queues.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(GroupProgress {
        group: group.to_owned(),
        consume_tps: stats.consume_tps,
        queues,
        client_ips: show_client_ip.then(BTreeMap::new),
    })
}

impl fmt::Display for GroupProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_ip = self.client_ips.is_some();
        write!(
            f,
            "{}  {}  {}  {}  {}  ",
            left("#Topic", 64),
            left("#Broker Name", 32),
            left("#QID", 4),
            left("#Broker Offset", 20),
            left("#Consumer Offset", 20)
        )?;
        if with_ip {
            writeln!(
                f,
                "{} {} {}#LastTime",
                left("#Client IP", 20),
                left("#Diff", 20),
                left("#Inflight", 20)
            )?;
        } else {
            writeln!(
                f,
                "{} {}#LastTime",
                left("#Diff", 20),
                left("#Inflight", 20)
            )?;
        }
        let (mut diff_total, mut inflight_total) = (0i64, 0i64);
        for (mq, o) in &self.queues {
            let diff = o.broker_offset - o.consumer_offset;
            let inflight = o.pull_offset - o.consumer_offset;
            diff_total += diff;
            inflight_total += inflight;
            let last = if o.last_timestamp == 0 {
                "N/A".to_owned()
            } else {
                human_seconds(o.last_timestamp)
            };
            write!(
                f,
                "{}  {}  {:<4}  {:<20}  {:<20}  ",
                left(front(&mq.topic, 64), 64),
                left(front(&mq.broker_name, 32), 32),
                mq.queue_id,
                o.broker_offset,
                o.consumer_offset
            )?;
            if let Some(ips) = &self.client_ips {
                let ip = ips.get(mq).map_or("N/A", String::as_str);
                writeln!(f, "{} {diff:<20} {inflight:<20} {last}", left(ip, 20))?;
            } else {
                writeln!(f, "{diff:<20} {inflight:<20} {last}")?;
            }
        }
        writeln!(f)?;
        writeln!(f, "Consume TPS: {:.2}", self.consume_tps)?;
        writeln!(f, "Consume Diff Total: {diff_total}")?;
        writeln!(f, "Consume Inflight Total: {inflight_total}")
    }
}

/// One line of `consumerProgress` without `-g` (Java `GroupConsumeInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    /// The group.
    pub group: String,
    /// Online clients.
    pub count: usize,
    /// Lowest client version ordinal.
    pub version: i32,
    /// Push or pull, when online.
    pub consume_type: Option<ConsumeType>,
    /// Clustering or broadcasting, when online.
    pub message_model: Option<MessageModel>,
    /// Consume TPS, truncated to an integer.
    pub consume_tps: i64,
    /// Sum of broker offset minus consumer offset over its queues.
    pub diff_total: i64,
}

/// The data of `consumerProgress` without `-g`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListReport {
    /// One summary per group that has a `%RETRY%` topic.
    pub groups: Vec<GroupSummary>,
}

/// Java `KeyBuilder.parseGroup`: the group of a `%RETRY%` topic (V2 pop retry topics
/// `%RETRY%group+topic` give `group`).
pub fn group_of_retry_topic(topic: &str) -> &str {
    let rest = &topic[RETRY_GROUP_TOPIC_PREFIX.len().min(topic.len())..];
    match rest.split_once('+') {
        Some((group, t)) if !t.contains('+') => group,
        _ => rest,
    }
}

/// Runs `consumerProgress` without `-g`: NS 206, then for every `%RETRY%` topic the consume
/// stats and the connection of its group (failures leave zeros / `OFFLINE`, as in Java).
pub async fn group_list(admin: &AdminClient) -> Result<GroupListReport, AdminError> {
    let topics = admin.topic_list().await?;
    let mut groups = Vec::new();
    for topic in topics.topic_list.iter().filter(|t| is_retry_topic(t)) {
        let group = group_of_retry_topic(topic);
        let mut s = GroupSummary {
            group: group.to_owned(),
            count: 0,
            version: 0,
            consume_type: None,
            message_model: None,
            consume_tps: 0,
            diff_total: 0,
        };
        if let Ok(stats) = examine_consume_stats(admin, group, None, None).await {
            s.consume_tps = stats.consume_tps as i64;
            s.diff_total = stats
                .offset_table
                .values()
                .map(|o| o.broker_offset - o.consumer_offset)
                .sum();
        }
        if let Ok(cc) = examine_consumer_connection(admin, group, None).await {
            s.count = cc.connection_set.len();
            s.version = cc
                .connection_set
                .iter()
                .map(|c| c.version)
                .min()
                .unwrap_or(i32::MAX);
            s.consume_type = Some(cc.consume_type);
            s.message_model = Some(cc.message_model);
        }
        groups.push(s);
    }
    Ok(GroupListReport { groups })
}

impl fmt::Display for GroupListReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}  {}  {} {}  {}  {}  #Diff Total",
            left("#Group", 64),
            left("#Count", 6),
            left("#Version", 24),
            left("#Type", 5),
            left("#Model", 14),
            left("#TPS", 7)
        )?;
        for g in &self.groups {
            let online = g.count > 0;
            let version = if online {
                version_desc(g.version)
            } else {
                "OFFLINE".to_owned()
            };
            let kind = match (&g.consume_type, online) {
                (Some(ConsumeType::Actively), true) => "PULL",
                (Some(_), true) => "PUSH",
                _ => "",
            };
            let model = match (&g.consume_type, &g.message_model, online) {
                (Some(ConsumeType::Passively), Some(m), true) => m.as_str().to_owned(),
                _ => String::new(),
            };
            writeln!(
                f,
                "{}  {:<6}  {} {}  {}  {:<7}  {}",
                left(front(&g.group, 64), 64),
                g.count,
                left(&version, 24),
                left(kind, 5),
                left(&model, 14),
                g.consume_tps,
                g.diff_total
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(with_ip: bool) -> GroupProgress {
        GroupProgress {
            group: "g".into(),
            consume_tps: 1.5,
            queues: vec![(
                MessageQueue::new("T", "broker-a", 0),
                OffsetWrapper {
                    broker_offset: 10,
                    consumer_offset: 7,
                    pull_offset: 8,
                    last_timestamp: 1_700_000_000_123,
                },
            )],
            client_ips: with_ip.then(BTreeMap::new),
        }
    }

    #[test]
    fn progress_table_matches_java_printf() {
        let text = progress(false).to_string();
        let expected = format!(
            "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {:<20}{}\n{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {:<20} {}\n\nConsume TPS: 1.50\nConsume Diff Total: 3\nConsume Inflight Total: 1\n",
            "#Topic", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Diff", "#Inflight", "#LastTime",
            "T", "broker-a", 0, 10, 7, 3, 1, "2023-11-14 22:13:20"
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn progress_with_client_ip_column() {
        let text = progress(true).to_string();
        let line = text.lines().nth(1).unwrap();
        assert_eq!(
            line,
            format!(
                "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {:<20} {:<20} {}",
                "T", "broker-a", 0, 10, 7, "N/A", 3, 1, "2023-11-14 22:13:20"
            )
        );
    }

    #[test]
    fn group_list_rows() {
        let r = GroupListReport {
            groups: vec![
                GroupSummary {
                    group: "online".into(),
                    count: 2,
                    version: 479,
                    consume_type: Some(ConsumeType::Passively),
                    message_model: Some(MessageModel::Clustering),
                    consume_tps: 3,
                    diff_total: 5,
                },
                GroupSummary {
                    group: "gone".into(),
                    count: 0,
                    version: 0,
                    consume_type: None,
                    message_model: None,
                    consume_tps: 0,
                    diff_total: 0,
                },
            ],
        };
        let text = r.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "{:<64}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  {}",
                "#Group", "#Count", "#Version", "#Type", "#Model", "#TPS", "#Diff Total"
            )
        );
        assert_eq!(
            lines[1],
            format!(
                "{:<64}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  {}",
                "online", 2, "V5_3_3", "PUSH", "CLUSTERING", 3, 5
            )
        );
        assert_eq!(
            lines[2],
            format!(
                "{:<64}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  {}",
                "gone", 0, "OFFLINE", "", "", 0, 0
            )
        );
    }

    #[test]
    fn retry_topic_groups() {
        assert_eq!(group_of_retry_topic("%RETRY%cg"), "cg");
        assert_eq!(group_of_retry_topic("%RETRY%cg+T"), "cg");
        assert_eq!(group_of_retry_topic("%RETRY%cg_T"), "cg_T");
    }
}
