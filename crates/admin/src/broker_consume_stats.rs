//! `brokerConsumeStats` (Java `BrokerConsumeStatsSubCommad`): every group's lag on one broker,
//! from GET_BROKER_CONSUME_STATS (317).

use std::fmt;
use std::time::Duration;

use ferromq_client::AdminClient;
use ferromq_proto::body::ConsumeStatsList;

use crate::format::{front, human_seconds, left};
use crate::AdminError;

/// Runs `brokerConsumeStats -b <addr> [-t timeoutMillis] [-l level] [-o order]`.
pub async fn broker_consume_stats(
    admin: &AdminClient,
    broker_addr: &str,
    timeout: Duration,
    level: i64,
    order: bool,
) -> Result<BrokerConsumeStatsReport, AdminError> {
    let stats = admin
        .broker_consume_stats(broker_addr.trim(), order, timeout)
        .await?;
    Ok(BrokerConsumeStatsReport { stats, level })
}

/// The stats and the `-l` threshold: rows whose diff is below it are left out.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerConsumeStatsReport {
    /// The broker's answer.
    pub stats: ConsumeStatsList,
    /// `-l` (default 0).
    pub level: i64,
}

impl fmt::Display for BrokerConsumeStatsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}  {}  {}  {}  {}  {}  {}  #LastTime",
            left("#Topic", 64),
            left("#Group", 64),
            left("#Broker Name", 32),
            left("#QID", 4),
            left("#Broker Offset", 20),
            left("#Consumer Offset", 20),
            left("#Diff", 20)
        )?;
        for map in &self.stats.consume_stats_list {
            for (group, list) in map {
                for stats in list {
                    // Java sorts each topic's queues (MessageQueue.compareTo); the map is sorted.
                    for (mq, w) in &stats.offset_table {
                        let diff = w.broker_offset - w.consumer_offset;
                        // As Java: below the level, or never consumed (no last time), no row.
                        if diff < self.level || w.last_timestamp <= 0 {
                            continue;
                        }
                        writeln!(
                            f,
                            "{}  {}  {}  {}  {}  {}  {}  {}",
                            left(front(&mq.topic, 64), 64),
                            left(group, 64),
                            left(front(&mq.broker_name, 32), 32),
                            left(&mq.queue_id.to_string(), 4),
                            left(&w.broker_offset.to_string(), 20),
                            left(&w.consumer_offset.to_string(), 20),
                            left(&diff.to_string(), 20),
                            human_seconds(w.last_timestamp)
                        )?;
                    }
                }
            }
        }
        write!(f, "\nDiff Total: {}\n", self.stats.total_diff)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ferromq_proto::body::{ConsumeStats, MessageQueue, OffsetWrapper};

    use super::*;

    fn report(level: i64) -> BrokerConsumeStatsReport {
        let mut stats = ConsumeStats::default();
        for (q, consumer, last) in [
            (0, 8, 1_700_000_000_000),
            (1, 10, 1_700_000_000_000),
            (2, 0, 0),
        ] {
            stats.offset_table.insert(
                MessageQueue::new("TopicTest", "broker-a", q),
                OffsetWrapper {
                    broker_offset: 10,
                    consumer_offset: consumer,
                    last_timestamp: last,
                    pull_offset: 0,
                },
            );
        }
        BrokerConsumeStatsReport {
            stats: ConsumeStatsList {
                broker_addr: Some("127.0.0.1:10911".into()),
                consume_stats_list: vec![
                    BTreeMap::from([("G1".to_owned(), vec![stats])]),
                    BTreeMap::from([("G2".to_owned(), vec![])]),
                ],
                total_diff: 12,
                total_inflight_diff: 0,
            },
            level,
        }
    }

    #[test]
    fn rows_match_java_printf() {
        let text = report(0).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "{:<64}  {:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20}  {}",
                "#Topic",
                "#Group",
                "#Broker Name",
                "#QID",
                "#Broker Offset",
                "#Consumer Offset",
                "#Diff",
                "#LastTime"
            )
        );
        assert_eq!(
            lines[1],
            format!(
                "{:<64}  {:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20}  {}",
                "TopicTest", "G1", "broker-a", "0", "10", "8", "2", "2023-11-14 22:13:20"
            )
        );
        assert!(lines[2].contains("  1     "), "{}", lines[2]);
        // Queue 2 was never consumed: no row. Then a blank line and the total.
        assert_eq!(&lines[3..], ["", "Diff Total: 12"]);
    }

    #[test]
    fn level_hides_small_diffs() {
        let text = report(1).to_string();
        assert_eq!(text.lines().count(), 4, "{text}");
    }
}
