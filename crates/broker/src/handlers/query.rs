//! VIEW_MESSAGE_BY_ID and QUERY_MESSAGE (RocketMQ's `QueryMessageProcessor`).
//!
//! Both answer with stored records exactly as the commit log holds them (zero-copy slices).
//! QUERY_MESSAGE looks a key up in the store's index: `KEYS` tokens, or with the ext field
//! `_UNIQUE_KEY_QUERY=true` the `UNIQ_KEY` (the client's message id), whose result count is then
//! `defaultQueryMaxNum` (32) whatever the request asked.

use std::sync::Arc;

use ferromq_proto::codes::response;
use ferromq_proto::headers::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use ferromq_proto::RemotingCommand;

use crate::{Broker, BrokerError};

/// The ext field that turns QUERY_MESSAGE into a unique-key query (Java
/// `MixAll.UNIQUE_MSG_QUERY_FLAG`).
pub const UNIQUE_MSG_QUERY_FLAG: &str = "_UNIQUE_KEY_QUERY";

/// VIEW_MESSAGE_BY_ID: the stored record at a commit-log offset (decoded from an offsetMsgId).
pub fn view_by_id(b: &Arc<Broker>, req: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
    let h: ViewMessageRequestHeader = req.decode_header()?;
    match b.store.look_message_by_offset(h.offset) {
        Some(record) if !b.dlq_tombstones.hides_record(&record) => {
            let mut resp = req.success_to();
            resp.body_tail.push(record);
            Ok(resp)
        }
        _ => Err(BrokerError::system(format!(
            "can not find message by the offset, {}",
            h.offset
        ))),
    }
}

/// QUERY_MESSAGE: records of `topic` with key `key` stored within
/// `[beginTimestamp, endTimestamp]`, newest first; QUERY_NOT_FOUND when there are none.
pub fn query_message(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: QueryMessageRequestHeader = req.decode_header()?;
    let unique = req
        .ext_fields
        .get(UNIQUE_MSG_QUERY_FLAG)
        .is_some_and(|v| v == "true");
    let max = if unique {
        b.store.config().default_query_max_num
    } else {
        usize::try_from(h.max_num).unwrap_or(0)
    };
    let mut result = b.store.query_message(
        &h.topic,
        &h.key,
        max,
        h.begin_timestamp,
        h.end_timestamp,
        unique,
    );
    let header = QueryMessageResponseHeader {
        index_last_update_timestamp: result.index_last_update_timestamp,
        index_last_update_phyoffset: result.index_last_update_phyoffset,
    };
    b.dlq_tombstones.retain_live(&h.topic, &mut result.messages);
    if result.messages.is_empty() {
        return Ok(req
            .response_to(
                response::QUERY_NOT_FOUND,
                Some("can not find message, maybe time range not correct".to_owned()),
            )
            .with_header(&header));
    }
    let mut resp = req.success_to().with_header(&header);
    resp.body_tail = result.messages;
    Ok(resp)
}
