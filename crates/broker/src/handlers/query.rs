//! VIEW_MESSAGE_BY_ID and QUERY_MESSAGE.

use std::sync::Arc;

use ferromq_proto::codes::response;
use ferromq_proto::headers::ViewMessageRequestHeader;
use ferromq_proto::RemotingCommand;

use crate::{Broker, BrokerError};

/// VIEW_MESSAGE_BY_ID: the stored record at a commit-log offset (decoded from an offsetMsgId).
pub fn view_by_id(b: &Arc<Broker>, req: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
    let h: ViewMessageRequestHeader = req.decode_header()?;
    match b.store.look_message_by_offset(h.offset) {
        Some(record) => {
            let mut resp = req.success_to();
            resp.body_tail.push(record);
            Ok(resp)
        }
        None => Err(BrokerError::system(format!(
            "can not find message by the offset, {}",
            h.offset
        ))),
    }
}

/// QUERY_MESSAGE: lookups by key need the index, which the storage-engine work adds; until then
/// every query answers QUERY_NOT_FOUND.
pub fn query_message(
    _b: &Arc<Broker>,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    Err(BrokerError::Code {
        code: response::QUERY_NOT_FOUND,
        remark: "can not find message, maybe time range not correct (no index yet)".into(),
    })
}
