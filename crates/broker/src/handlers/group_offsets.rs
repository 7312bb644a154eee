//! Admin changes to a group's committed offsets: INVOKE_BROKER_TO_RESET_OFFSET (222) and
//! CLONE_GROUP_OFFSET (314).
//!
//! ```text
//! mqadmin resetOffsetByTime ─222─▶ offsets by time (or the max offset) per read queue
//!                                    ├─▶ committed for the group at once
//!                                    ├─▶ RESET_CONSUMER_CLIENT_OFFSET (220, one-way) to every
//!                                    │   live consumer of the group: they drop cached messages
//!                                    │   and pull again from the new offsets
//!                                    └─▶ ResetOffsetBody back to the tool
//! ```
//!
//! This is RocketMQ 5's server-side reset (`AdminBrokerProcessor.resetOffsetInner`: commit and
//! answer even with no consumer online) combined with the legacy push to clients
//! (`Broker2Client.resetOffset`), so running consumers move without waiting for a pull to be
//! refused.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::BrokerRole;
use ferromq_proto::body::{JsonBody, MessageQueue, ResetOffsetBody};
use ferromq_proto::codes::request;
use ferromq_proto::headers::{CloneGroupOffsetRequestHeader, ResetOffsetRequestHeader};
use ferromq_proto::RemotingCommand;

use crate::{Broker, BrokerError};

/// INVOKE_BROKER_TO_RESET_OFFSET: the new offset of every read queue (or of `queueId` alone),
/// committed for the group and pushed to its live consumers. Without `isForce` a queue only
/// moves backwards. Errors: a slave (SYSTEM_ERROR), unknown topic (17), unknown group (26),
/// an explicit `offset` outside `[min, max + 1]` (SYSTEM_ERROR).
pub fn reset_offset(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: ResetOffsetRequestHeader = req.decode_header()?;
    if b.role() == BrokerRole::Slave {
        return Err(BrokerError::system("Can not reset offset in slave broker"));
    }
    let topic = b
        .topics
        .get(&h.topic)
        .ok_or_else(|| BrokerError::TopicNotExist {
            topic: h.topic.clone(),
        })?;
    if b.groups.get(&h.group).is_none() {
        return Err(BrokerError::GroupNotExist { group: h.group });
    }
    let target = |queue_id: i32| {
        if h.timestamp < 0 {
            b.store.max_offset_in_queue(&h.topic, queue_id).max(0)
        } else {
            b.store
                .offset_by_timestamp(&h.topic, queue_id, h.timestamp)
                .max(0)
        }
    };
    let mut offsets = BTreeMap::new();
    match h.queue_id.filter(|q| *q >= 0) {
        Some(queue_id) => {
            let offset = match h.offset.filter(|o| *o != -1) {
                Some(offset) => {
                    let min = b.store.min_offset_in_queue(&h.topic, queue_id);
                    let max = b.store.max_offset_in_queue(&h.topic, queue_id);
                    if (min >= 0 && offset < min) || offset > max + 1 {
                        return Err(BrokerError::system(format!(
                            "Target offset {offset} not in consume queue range [{min}-{max}]"
                        )));
                    }
                    offset
                }
                None => target(queue_id),
            };
            offsets.insert(queue_id, offset);
        }
        None => {
            for queue_id in 0..topic.read_queue_nums {
                offsets.insert(queue_id, target(queue_id));
            }
        }
    }
    if offsets.is_empty() {
        return Err(BrokerError::system("No queues to reset."));
    }
    let mut body = ResetOffsetBody::default();
    for (queue_id, mut offset) in offsets {
        // Broker2Client: without force a queue never moves forward past its consumer.
        if let Some(current) = b.offsets.query(&h.group, &h.topic, queue_id) {
            if !h.is_force && offset >= current {
                offset = current;
            }
        }
        b.offsets.commit(&h.group, &h.topic, queue_id, offset);
        body.offset_table.insert(
            MessageQueue::new(h.topic.clone(), b.config.broker_name.clone(), queue_id),
            offset,
        );
    }
    notify_consumers(b, &h, &body);
    tracing::info!(group = %h.group, topic = %h.topic, timestamp = h.timestamp, queues = body.offset_table.len(), "consumer offsets reset");
    Ok(req.success_to().with_body(body.to_json()))
}

/// Sends RESET_CONSUMER_CLIENT_OFFSET (one-way) to every live consumer of the group.
fn notify_consumers(b: &Broker, h: &ResetOffsetRequestHeader, body: &ResetOffsetBody) {
    let Some(group) = b.clients.consumer_group(&h.group) else {
        return;
    };
    let header = ResetOffsetRequestHeader {
        group: h.group.clone(),
        topic: h.topic.clone(),
        queue_id: None,
        offset: None,
        timestamp: h.timestamp,
        is_force: h.is_force,
    };
    let json = body.to_json();
    for channel in group.channels.values() {
        let cmd = RemotingCommand::request(request::RESET_CONSUMER_CLIENT_OFFSET, &header)
            .with_body(json.clone());
        if let Err(e) = channel.conn.send_oneway(cmd) {
            tracing::warn!(group = %h.group, client = %channel.client_id, error = %e, "reset offset not delivered to a consumer");
        }
    }
}

/// CLONE_GROUP_OFFSET: copies `srcGroup`'s committed offsets of `topic` (every topic of the
/// group when empty) to `destGroup` (Java `AdminBrokerProcessor.cloneGroupOffset`). Unless
/// `offline`, topics the live source group does not subscribe to are skipped.
pub fn clone_group_offset(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: CloneGroupOffsetRequestHeader = req.decode_header()?;
    let topics = match h.topic.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => vec![t.to_owned()],
        None => b.offsets.topics_of_group(&h.src_group),
    };
    let live = b.clients.consumer_group(&h.src_group);
    for topic in topics {
        if !b.topics.contains(&topic) {
            tracing::warn!(%topic, "clone group offset: topic config not exist");
            continue;
        }
        if !h.offline {
            if let Some(g) = &live {
                if !g.subscriptions.is_empty() && !g.subscriptions.contains_key(&topic) {
                    continue;
                }
            }
        }
        b.offsets.clone_offsets(&h.src_group, &h.dest_group, &topic);
    }
    Ok(req.success_to())
}
