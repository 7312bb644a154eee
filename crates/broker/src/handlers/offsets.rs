//! Offsets: QUERY_CONSUMER_OFFSET, UPDATE_CONSUMER_OFFSET, GET_MAX_OFFSET, GET_MIN_OFFSET,
//! SEARCH_OFFSET_BY_TIMESTAMP, GET_EARLIEST_MSG_STORETIME.

use std::sync::Arc;

use ferromq_proto::codes::response;
use ferromq_proto::headers::{
    GetEarliestMsgStoretimeResponseHeader, GetMaxOffsetRequestHeader, OffsetResponseHeader,
    QueryConsumerOffsetRequestHeader, SearchOffsetRequestHeader, TopicQueueRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};
use ferromq_proto::RemotingCommand;

use crate::{Broker, BrokerError};

fn offset_response(req: &RemotingCommand, offset: i64) -> RemotingCommand {
    req.success_to()
        .with_header(&OffsetResponseHeader { offset })
}

/// QUERY_CONSUMER_OFFSET: the committed offset; for a group new to a queue whose first message
/// is still stored, 0 (RocketMQ's `ConsumerManageProcessor`); otherwise QUERY_NOT_FOUND.
pub fn query_consumer_offset(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: QueryConsumerOffsetRequestHeader = req.decode_header()?;
    if let Some(offset) = b
        .offsets
        .query(&h.consumer_group, &h.topic, h.queue_id)
        .filter(|o| *o >= 0)
    {
        return Ok(offset_response(req, offset));
    }
    if h.set_zero_if_not_found == Some(false) {
        return Err(BrokerError::Code {
            code: response::QUERY_NOT_FOUND,
            remark: "Not found, do not set to zero, maybe this group boot first".into(),
        });
    }
    // RocketMQ starts a new group at 0 only while the queue's first message is still in
    // memory; a group joining a long history starts from the client's own policy instead.
    if b.store.min_offset_in_queue(&h.topic, h.queue_id) <= 0
        && !b
            .store
            .check_in_disk_by_consume_offset(&h.topic, h.queue_id, 0)
    {
        return Ok(offset_response(req, 0));
    }
    Err(BrokerError::Code {
        code: response::QUERY_NOT_FOUND,
        remark: "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first".into(),
    })
}

/// UPDATE_CONSUMER_OFFSET.
pub fn update_consumer_offset(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: UpdateConsumerOffsetRequestHeader = req.decode_header()?;
    if b.groups.find_or_create(&h.consumer_group)?.is_none() {
        return Err(BrokerError::GroupNotExist {
            group: h.consumer_group,
        });
    }
    if !b.topics.contains(&h.topic) {
        return Err(BrokerError::TopicNotExist { topic: h.topic });
    }
    b.offsets
        .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    Ok(req.success_to())
}

/// GET_MAX_OFFSET: the next offset to be written.
pub fn max_offset(b: &Arc<Broker>, req: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
    let h: GetMaxOffsetRequestHeader = req.decode_header()?;
    Ok(offset_response(
        req,
        b.store.max_offset_in_queue(&h.topic, h.queue_id).max(0),
    ))
}

/// GET_MIN_OFFSET: the first offset still stored.
pub fn min_offset(b: &Arc<Broker>, req: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
    let h: TopicQueueRequestHeader = req.decode_header()?;
    Ok(offset_response(
        req,
        b.store.min_offset_in_queue(&h.topic, h.queue_id).max(0),
    ))
}

/// SEARCH_OFFSET_BY_TIMESTAMP: the first message stored at or after `timestamp`.
pub fn search_offset(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: SearchOffsetRequestHeader = req.decode_header()?;
    Ok(offset_response(
        req,
        b.store
            .offset_by_timestamp(&h.topic, h.queue_id, h.timestamp),
    ))
}

/// GET_EARLIEST_MSG_STORETIME.
pub fn earliest_store_time(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: TopicQueueRequestHeader = req.decode_header()?;
    let timestamp = b
        .store
        .earliest_message_time(&h.topic, h.queue_id)
        .unwrap_or(-1);
    Ok(req
        .success_to()
        .with_header(&GetEarliestMsgStoretimeResponseHeader { timestamp }))
}
