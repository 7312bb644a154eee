//! `resetOffsetByTime` (Java `ResetOffsetByTimeCommand`) and `skipAccumulatedMessage` (Java
//! `SkipAccumulationSubCommand`): INVOKE_BROKER_TO_RESET_OFFSET (222) to every broker of the
//! topic; each broker commits the new offsets and moves the group's running consumers.

use std::collections::BTreeMap;
use std::fmt;

use ferromq_client::AdminClient;
use ferromq_proto::body::MessageQueue;

use crate::format::{front, left};
use crate::AdminError;

/// Java `DefaultMQAdminExtImpl.resetOffsetByTimestamp`: NS 105 for `topic`, then 222 to one
/// address of every broker (the master when it has one). `timestamp` −1 means the max
/// offsets (what `skipAccumulatedMessage` sends). Returns every queue's new offset.
///
/// `-c` names the cluster whose route is used for LMQ topics in Java; FerroMQ has no LMQ, so
/// the topic's own route is always used.
pub async fn reset_offset_by_time(
    admin: &AdminClient,
    group: &str,
    topic: &str,
    timestamp: i64,
    force: bool,
) -> Result<ResetOffsetTable, AdminError> {
    let (group, topic) = (group.trim(), topic.trim());
    let route = admin.topic_route(topic).await?;
    let mut offsets = BTreeMap::new();
    for bd in &route.broker_datas {
        let Some(addr) = bd
            .master_addr()
            .or_else(|| bd.broker_addrs.values().next().map(String::as_str))
        else {
            continue;
        };
        offsets.extend(
            admin
                .reset_offset_by_timestamp(addr, group, topic, timestamp, force)
                .await?,
        );
    }
    Ok(ResetOffsetTable { offsets })
}

/// The `#brokerName #queueId #offset` table both commands print.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResetOffsetTable {
    /// New offset per queue. Java prints its `HashMap` order; FerroMQ prints queues sorted by
    /// topic, broker name and queue id.
    pub offsets: BTreeMap<MessageQueue, i64>,
}

impl fmt::Display for ResetOffsetTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}  {}  {}",
            left("#brokerName", 40),
            left("#queueId", 40),
            left("#offset", 40)
        )?;
        for (mq, offset) in &self.offsets {
            writeln!(
                f,
                "{}  {}  {}",
                left(front(&mq.broker_name, 32), 40),
                left(&mq.queue_id.to_string(), 40),
                left(&offset.to_string(), 40)
            )?;
        }
        Ok(())
    }
}

/// What `resetOffsetByTime` prints: the parameters line, then the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetOffsetReport {
    /// `-g`.
    pub group: String,
    /// `-t`.
    pub topic: String,
    /// `-f` (default true).
    pub force: bool,
    /// `-s` as given.
    pub timestamp_text: String,
    /// `-s` in epoch milliseconds.
    pub timestamp: i64,
    /// The new offsets.
    pub table: ResetOffsetTable,
}

impl fmt::Display for ResetOffsetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "start reset consumer offset by specified, group[{}], topic[{}], force[{}], timestamp(string)[{}], timestamp(long)[{}]",
            self.group, self.topic, self.force, self.timestamp_text, self.timestamp
        )?;
        write!(f, "{}", self.table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> ResetOffsetTable {
        ResetOffsetTable {
            offsets: BTreeMap::from([
                (MessageQueue::new("T", "broker-b", 0), 7),
                (MessageQueue::new("T", "broker-a", 1), 120),
                (MessageQueue::new("T", "broker-a", 0), 0),
            ]),
        }
    }

    #[test]
    fn table_matches_java_printf() {
        // printf("%-40s  %-40s  %-40s%n", ...) then ("%-40s  %-40d  %-40d%n", ...).
        let text = table().to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "{:<40}  {:<40}  {:<40}",
                "#brokerName", "#queueId", "#offset"
            )
        );
        assert_eq!(
            lines[1],
            format!("{:<40}  {:<40}  {:<40}", "broker-a", "0", "0")
        );
        assert_eq!(
            lines[2],
            format!("{:<40}  {:<40}  {:<40}", "broker-a", "1", "120")
        );
        assert_eq!(
            lines[3],
            format!("{:<40}  {:<40}  {:<40}", "broker-b", "0", "7")
        );
        assert_eq!(lines.len(), 4);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn long_broker_names_are_cut_at_32() {
        let t = ResetOffsetTable {
            offsets: BTreeMap::from([(MessageQueue::new("T", "b".repeat(50), 3), 1)]),
        };
        let row = t.to_string().lines().nth(1).unwrap().to_owned();
        assert!(row.starts_with(&format!("{}{}  3", "b".repeat(32), " ".repeat(8))));
    }

    #[test]
    fn report_starts_with_the_parameters_line() {
        let r = ResetOffsetReport {
            group: "G".into(),
            topic: "T".into(),
            force: true,
            timestamp_text: "now".into(),
            timestamp: 1_700_000_000_000,
            table: table(),
        };
        let text = r.to_string();
        assert!(text.starts_with(
            "start reset consumer offset by specified, group[G], topic[T], force[true], timestamp(string)[now], timestamp(long)[1700000000000]\n#brokerName"
        ));
    }
}
