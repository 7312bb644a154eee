//! Who consumes a message (Java `DefaultMQAdminExtImpl.messageTrackDetail`), printed under the
//! detail views of `queryMsgById`, `queryMsgByOffset` and `queryMsgByUniqueKey`.

use std::fmt;

use ferromq_client::AdminClient;
use ferromq_proto::body::ConsumeType;
use ferromq_proto::codes::response;
use ferromq_proto::message::MessageExt;

use crate::consumer::{examine_consume_stats, examine_consumer_connection};
use crate::AdminError;

/// Java `TrackType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackType {
    /// The group's offset is past the message.
    Consumed,
    /// Consumed, but the group's subscription filters the message's tag out.
    ConsumedButFiltered,
    /// A pull consumer: progress unknown.
    Pull,
    /// Not consumed yet.
    NotConsumeYet,
    /// The group has no live consumer.
    NotOnline,
    /// A broadcasting group: progress is kept by the clients.
    ConsumeBroadcasting,
    /// Anything else.
    Unknown,
}

impl TrackType {
    /// Java's enum name.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackType::Consumed => "CONSUMED",
            TrackType::ConsumedButFiltered => "CONSUMED_BUT_FILTERED",
            TrackType::Pull => "PULL",
            TrackType::NotConsumeYet => "NOT_CONSUME_YET",
            TrackType::NotOnline => "NOT_ONLINE",
            TrackType::ConsumeBroadcasting => "CONSUME_BROADCASTING",
            TrackType::Unknown => "UNKNOWN",
        }
    }
}

/// Java `MessageTrack`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTrack {
    /// The consumer group.
    pub consumer_group: String,
    /// What is known about its progress.
    pub track_type: TrackType,
    /// Why it is not known better.
    pub exception_desc: Option<String>,
}

impl fmt::Display for MessageTrack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MessageTrack [consumerGroup={}, trackType={}, exceptionDesc={}]",
            self.consumer_group,
            self.track_type.as_str(),
            self.exception_desc.as_deref().unwrap_or("null")
        )
    }
}

fn code_desc(e: &AdminError) -> (Option<i32>, String) {
    match e {
        AdminError::Client { source } => match source.response_code() {
            Some(code) => {
                let text = source.to_string();
                (Some(code), format!("CODE:{code} DESC:{text}"))
            }
            None => (None, source.to_string()),
        },
        other => (None, other.to_string()),
    }
}

/// Java `consumed`: the group's consumer offset on the message's queue (of the broker that
/// stores it) is past the message.
async fn consumed(admin: &AdminClient, msg: &MessageExt, group: &str) -> Result<bool, AdminError> {
    let stats = examine_consume_stats(admin, group, None, None).await?;
    let cluster = admin.cluster_info().await?;
    let store_host = msg.store_host.to_string();
    for (mq, offsets) in &stats.offset_table {
        if mq.topic != msg.topic || mq.queue_id != msg.queue_id {
            continue;
        }
        let master = cluster
            .broker_addr_table
            .get(&mq.broker_name)
            .and_then(|bd| bd.master_addr());
        if master == Some(store_host.as_str()) && offsets.consumer_offset > msg.queue_offset {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Java `messageTrackDetail`: for every group consuming the message's topic (asked of the
/// first broker of its route), whether it consumed the message.
pub async fn message_track_detail(
    admin: &AdminClient,
    msg: &MessageExt,
) -> Result<Vec<MessageTrack>, AdminError> {
    let route = admin.topic_route(&msg.topic).await?;
    let Some(addr) = route.broker_datas.iter().find_map(|bd| {
        bd.master_addr()
            .or_else(|| bd.broker_addrs.values().next().map(String::as_str))
    }) else {
        return Ok(Vec::new());
    };
    let groups = admin.topic_consumed_by(addr, &msg.topic).await?;
    let mut result = Vec::new();
    for group in &groups.group_list {
        let mut mt = MessageTrack {
            consumer_group: group.clone(),
            track_type: TrackType::Unknown,
            exception_desc: None,
        };
        let cc = match examine_consumer_connection(admin, group, None).await {
            Ok(cc) => cc,
            Err(e) => {
                let (code, desc) = code_desc(&e);
                if code == Some(response::CONSUMER_NOT_ONLINE) {
                    mt.track_type = TrackType::NotOnline;
                }
                mt.exception_desc = Some(desc);
                result.push(mt);
                continue;
            }
        };
        match cc.consume_type {
            ConsumeType::Actively => mt.track_type = TrackType::Pull,
            ConsumeType::Passively => match consumed(admin, msg, group).await {
                Ok(true) => {
                    mt.track_type = TrackType::Consumed;
                    if let Some(sub) = cc.subscription_table.get(&msg.topic) {
                        let tags = &sub.tags_set;
                        let passes = tags.is_empty()
                            || tags.contains("*")
                            || msg.tags().is_some_and(|t| tags.contains(t));
                        if !passes {
                            mt.track_type = TrackType::ConsumedButFiltered;
                        }
                    }
                }
                Ok(false) => mt.track_type = TrackType::NotConsumeYet,
                Err(e) => {
                    let (code, desc) = code_desc(&e);
                    match code {
                        Some(response::CONSUMER_NOT_ONLINE) => {
                            mt.track_type = TrackType::NotOnline;
                            mt.exception_desc = Some(desc);
                        }
                        Some(213) => mt.track_type = TrackType::ConsumeBroadcasting,
                        Some(_) => {}
                        None => mt.exception_desc = Some(desc),
                    }
                }
            },
            _ => {}
        }
        result.push(mt);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_java() {
        let t = MessageTrack {
            consumer_group: "CG".into(),
            track_type: TrackType::NotConsumeYet,
            exception_desc: None,
        };
        assert_eq!(
            t.to_string(),
            "MessageTrack [consumerGroup=CG, trackType=NOT_CONSUME_YET, exceptionDesc=null]"
        );
    }
}
