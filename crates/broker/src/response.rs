//! The one place broker errors become RocketMQ response codes.

use ferromq_proto::codes::response;
use ferromq_proto::RemotingCommand;

use crate::BrokerError;

/// The response code for `err`.
pub fn code_of(err: &BrokerError) -> i32 {
    match err {
        BrokerError::BadHeader { .. }
        | BrokerError::BadBody { .. }
        | BrokerError::InvalidParameter { .. } => response::INVALID_PARAMETER,
        BrokerError::TopicNotExist { .. } | BrokerError::RecallTopicNotExist { .. } => {
            response::TOPIC_NOT_EXIST
        }
        BrokerError::IllegalOperation { .. } => response::ILLEGAL_OPERATION,
        BrokerError::SlaveNotAvailable { .. } => response::SLAVE_NOT_AVAILABLE,
        BrokerError::GroupNotExist { .. } => response::SUBSCRIPTION_GROUP_NOT_EXIST,
        BrokerError::NoPermission { .. } => response::NO_PERMISSION,
        BrokerError::MessageIllegal { .. } => response::MESSAGE_ILLEGAL,
        BrokerError::ServiceNotAvailable { .. } => response::SERVICE_NOT_AVAILABLE,
        BrokerError::SystemBusy { .. } => response::SYSTEM_BUSY,
        BrokerError::System { .. } | BrokerError::Io { .. } | BrokerError::Corrupt { .. } => {
            response::SYSTEM_ERROR
        }
        BrokerError::Code { code, .. } => *code,
    }
}

/// The error response to `request` for `err`, with the error's text as remark.
pub fn error_response(request: &RemotingCommand, err: &BrokerError) -> RemotingCommand {
    request.response_to(code_of(err), Some(err.to_string()))
}
