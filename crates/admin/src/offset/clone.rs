//! `cloneGroupOffset` (Java `CloneGroupOffsetCommand`): gives `destGroup` the committed
//! offsets `srcGroup` has on a topic.

use std::fmt;

use ferromq_client::AdminClient;
use ferromq_common::names::retry_topic;

use crate::AdminError;

/// Java `DefaultMQAdminExtImpl.cloneGroupOffset`: NS 105 for `%RETRY%<srcGroup>` (the brokers
/// the source group lives on), then CLONE_GROUP_OFFSET (314) to one address of each.
///
/// The Java command of RocketMQ 5.3 does the same work from the tool instead (GET_CONSUME_STATS
/// of the source group, then UPDATE_CONSUMER_OFFSET per queue); the result is the same
/// committed offsets.
pub async fn clone_group_offset(
    admin: &AdminClient,
    src: &str,
    dest: &str,
    topic: &str,
    offline: bool,
) -> Result<CloneGroupOffsetReport, AdminError> {
    let (src, dest, topic) = (src.trim(), dest.trim(), topic.trim());
    let route = admin.topic_route(&retry_topic(src)).await?;
    for bd in &route.broker_datas {
        let Some(addr) = bd
            .master_addr()
            .or_else(|| bd.broker_addrs.values().next().map(String::as_str))
        else {
            continue;
        };
        admin
            .clone_group_offset(addr, src, dest, topic, offline)
            .await?;
    }
    Ok(CloneGroupOffsetReport {
        src_group: src.to_owned(),
        dest_group: dest.to_owned(),
        topic: topic.to_owned(),
    })
}

/// The one line the Java command prints (without a line break, as Java's `printf` has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloneGroupOffsetReport {
    /// `-s`.
    pub src_group: String,
    /// `-d`.
    pub dest_group: String,
    /// `-t`.
    pub topic: String,
}

impl fmt::Display for CloneGroupOffsetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "clone group offset success. srcGroup[{}], destGroup=[{}], topic[{}]",
            self.src_group, self.dest_group, self.topic
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_matches_java_printf() {
        let r = CloneGroupOffsetReport {
            src_group: "A".into(),
            dest_group: "B".into(),
            topic: "T".into(),
        };
        assert_eq!(
            r.to_string(),
            "clone group offset success. srcGroup[A], destGroup=[B], topic[T]"
        );
    }
}
