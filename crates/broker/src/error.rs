//! Broker errors. Each variant maps to one RocketMQ response code in `response.rs`.

use ferromq_proto::ProtoError;

/// What went wrong while serving a request or starting up.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// A header field is missing or malformed.
    #[error("{source}")]
    BadHeader {
        /// The decoder's complaint.
        #[from]
        source: ProtoError,
    },
    /// A request body is malformed.
    #[error("malformed {what} body: {reason}")]
    BadBody {
        /// Which body.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A parameter is out of range or a name is invalid.
    #[error("{reason}")]
    InvalidParameter {
        /// What is wrong.
        reason: String,
    },
    /// The topic does not exist.
    #[error("topic[{topic}] not exist, apply first please!")]
    TopicNotExist {
        /// The topic.
        topic: String,
    },
    /// The group does not exist.
    #[error("subscription group [{group}] does not exist")]
    GroupNotExist {
        /// The group.
        group: String,
    },
    /// The operation is not permitted.
    #[error("{reason}")]
    NoPermission {
        /// Why.
        reason: String,
    },
    /// The message is not acceptable (too large, properties too long).
    #[error("{reason}")]
    MessageIllegal {
        /// Why.
        reason: String,
    },
    /// The store cannot take writes now.
    #[error("{reason}")]
    ServiceNotAvailable {
        /// Why.
        reason: String,
    },
    /// The request is refused as an operation RocketMQ does not allow (ILLEGAL_OPERATION, 604),
    /// e.g. a recall whose handle does not match.
    #[error("{reason}")]
    IllegalOperation {
        /// Why (RocketMQ's remark).
        reason: String,
    },
    /// This broker cannot serve the request in its role (a slave; SLAVE_NOT_AVAILABLE).
    #[error("{reason}")]
    SlaveNotAvailable {
        /// Why.
        reason: String,
    },
    /// RECALL_MESSAGE for a topic this broker does not have (TOPIC_NOT_EXIST, with the
    /// remark RocketMQ's recall answers with).
    #[error("recall failed, the topic[{topic}] not exist")]
    RecallTopicNotExist {
        /// The topic.
        topic: String,
    },
    /// The broker is overloaded.
    #[error("{reason}")]
    SystemBusy {
        /// Why.
        reason: String,
    },
    /// Something unexpected on the broker's side.
    #[error("{reason}")]
    System {
        /// What failed.
        reason: String,
    },
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A persisted file could not be read back.
    #[error("{what} is corrupt: {reason}")]
    Corrupt {
        /// Which file.
        what: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A response with a specific code and remark (query results and similar).
    #[error("{remark}")]
    Code {
        /// Response code.
        code: i32,
        /// Remark.
        remark: String,
    },
}

impl BrokerError {
    /// Shorthand for [`BrokerError::InvalidParameter`].
    pub fn invalid(reason: impl Into<String>) -> Self {
        BrokerError::InvalidParameter {
            reason: reason.into(),
        }
    }

    /// Shorthand for [`BrokerError::System`].
    pub fn system(reason: impl Into<String>) -> Self {
        BrokerError::System {
            reason: reason.into(),
        }
    }
}
