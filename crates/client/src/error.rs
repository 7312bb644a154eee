//! The client's one error type.

use ferromq_common::NameError;
use ferromq_net::NetError;
use ferromq_proto::body::BodyError;
use ferromq_proto::ProtoError;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Neither an explicit address nor `NAMESRV_ADDR` named a name server.
    #[error("no name server address: pass one (e.g. -n 127.0.0.1:9876) or set NAMESRV_ADDR")]
    NoNameServer,

    /// An address is not `host:port`.
    #[error("invalid address `{addr}`, expected host:port")]
    InvalidAddress {
        /// The text given.
        addr: String,
    },

    /// The transport failed: connect error, timeout or closed connection.
    #[error("{source}")]
    Net {
        /// The transport's complaint.
        #[from]
        source: NetError,
    },

    /// A name server or broker answered with an error code (Java's `MQBrokerException` /
    /// `MQClientException` with a response code).
    #[error("CODE: {code} ({name})  DESC: {remark}", name = code_name(*code))]
    Broker {
        /// RocketMQ response code.
        code: i32,
        /// The response's remark (empty when it had none).
        remark: String,
    },

    /// A response header lacks a field or holds an unparsable one.
    #[error("malformed {what} response header: {source}")]
    Header {
        /// Which response.
        what: &'static str,
        /// The decoder's complaint.
        #[source]
        source: ProtoError,
    },

    /// A response body is not the JSON expected.
    #[error("malformed {what} response body: {source}")]
    Body {
        /// Which body.
        what: &'static str,
        /// The decoder's complaint.
        #[source]
        source: BodyError,
    },

    /// A success response came without the body it must carry.
    #[error("{what} response has no body")]
    MissingBody {
        /// Which response.
        what: &'static str,
    },

    /// Pulled or queried message records could not be decoded.
    #[error("malformed message records: {reason}")]
    Records {
        /// The decoder's complaint.
        reason: String,
    },

    /// The topic has no usable route (no queue data, no writable queue or no master).
    #[error("no route info of topic `{topic}`: {reason}")]
    NoRoute {
        /// The topic.
        topic: String,
        /// What was missing.
        reason: &'static str,
    },

    /// No address is known for a broker name.
    #[error("no address of broker `{broker_name}` is known")]
    NoBrokerAddress {
        /// The broker name.
        broker_name: String,
    },

    /// A topic or group name breaks RocketMQ's rules.
    #[error("{source}")]
    Name {
        /// What is wrong with it.
        #[from]
        source: NameError,
    },

    /// An argument is outside what RocketMQ accepts (empty body, message too large, ...).
    #[error("{reason}")]
    InvalidArgument {
        /// What is wrong.
        reason: String,
    },

    /// A recall handle is not one a broker issued ("recall handle is invalid", as Java's
    /// client says).
    #[error("{source}")]
    InvalidRecallHandle {
        /// The decoder's complaint.
        #[source]
        source: ferromq_proto::message::MessageCodecError,
    },

    /// A request (request-reply) was sent but no reply came within its timeout.
    #[error("send request message to {topic} OK, but wait reply message timeout, {} ms.", timeout.as_millis())]
    RequestTimeout {
        /// The request's topic.
        topic: String,
        /// How long it waited.
        timeout: std::time::Duration,
    },

    /// The producer's own send-rate limit refused the send: it would have waited longer than
    /// the limit's queueing time.
    #[error("send to topic `{topic}` refused by the producer's send rate limit ({rate:.0} msgs/s, at most {} ms of queueing)", max_queueing.as_millis())]
    RateLimited {
        /// The topic.
        topic: String,
        /// The limit, messages per second.
        rate: f64,
        /// The longest wait the limit allows.
        max_queueing: std::time::Duration,
    },

    /// Every attempt of a send failed; `source` is the last attempt's error.
    #[error("send to topic `{topic}` failed after {attempts} attempt(s): {source}")]
    SendFailed {
        /// The topic.
        topic: String,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        #[source]
        source: Box<ClientError>,
    },
}

impl ClientError {
    /// The RocketMQ response code when the peer answered with one.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            ClientError::Broker { code, .. } => Some(*code),
            ClientError::SendFailed { source, .. } => source.response_code(),
            _ => None,
        }
    }

    /// A broker error from a response's code and remark.
    pub(crate) fn from_response(resp: &ferromq_proto::RemotingCommand) -> Self {
        ClientError::Broker {
            code: resp.code,
            remark: resp.remark.clone().unwrap_or_default(),
        }
    }
}

/// RocketMQ's name of a response code (`ResponseCode`), `UNKNOWN` for codes it does not define.
pub fn code_name(code: i32) -> &'static str {
    match code {
        4 => "TRANSACTION_FAILED",
        15 => "VERSION_NOT_SUPPORTED",
        18 => "TOPIC_EXIST_ALREADY",
        27 => "FILTER_DATA_NOT_EXIST",
        28 => "FILTER_DATA_NOT_LATEST",
        200 => "TRANSACTION_SHOULD_COMMIT",
        201 => "TRANSACTION_SHOULD_ROLLBACK",
        202 => "TRANSACTION_STATE_UNKNOW",
        203 => "TRANSACTION_STATE_GROUP_WRONG",
        204 => "NO_BUYER_ID",
        205 => "NOT_IN_CURRENT_UNIT",
        207 => "CONSUME_MSG_TIMEOUT",
        208 => "NO_MESSAGE",
        209 => "POLLING_FULL",
        210 => "POLLING_TIMEOUT",
        211 => "BROKER_NOT_EXIST",
        212 => "BROKER_DISPATCH_NOT_COMPLETE",
        213 => "BROADCAST_CONSUMPTION",
        215 => "FLOW_CONTROL",
        501 => "NOT_LEADER_FOR_QUEUE",
        604 => "ILLEGAL_OPERATION",
        1500 => "GO_AWAY",
        -1000 => "RPC_UNKNOWN",
        -1002 => "RPC_ADDR_IS_NULL",
        -1004 => "RPC_SEND_TO_CHANNEL_FAILED",
        -1006 => "RPC_TIME_OUT",
        2000 => "CONTROLLER_FENCED_MASTER_EPOCH",
        2001 => "CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH",
        2002 => "CONTROLLER_INVALID_MASTER",
        2003 => "CONTROLLER_INVALID_REPLICAS",
        2004 => "CONTROLLER_MASTER_NOT_AVAILABLE",
        2005 => "CONTROLLER_INVALID_REQUEST",
        2006 => "CONTROLLER_BROKER_NOT_ALIVE",
        2007 => "CONTROLLER_NOT_LEADER",
        2008 => "CONTROLLER_BROKER_METADATA_NOT_EXIST",
        2009 => "CONTROLLER_INVALID_CLEAN_BROKER_METADATA",
        2010 => "CONTROLLER_BROKER_NEED_TO_BE_REGISTERED",
        2011 => "CONTROLLER_MASTER_STILL_EXIST",
        2012 => "CONTROLLER_ELECT_MASTER_FAILED",
        2013 => "CONTROLLER_ALTER_SYNC_STATE_SET_FAILED",
        2014 => "CONTROLLER_BROKER_ID_INVALID",
        2015 => "CONTROLLER_JRAFT_INTERNAL_ERROR",
        2016 => "CONTROLLER_BROKER_LIVE_INFO_NOT_EXISTS",
        3001 => "USER_NOT_EXIST",
        3002 => "POLICY_NOT_EXIST",
        other => ferromq_proto::codes::response_name(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_error_shows_code_name_and_remark() {
        let e = ClientError::Broker {
            code: 17,
            remark: "No topic route info".into(),
        };
        assert_eq!(
            e.to_string(),
            "CODE: 17 (TOPIC_NOT_EXIST)  DESC: No topic route info"
        );
        assert_eq!(e.response_code(), Some(17));
        let e = ClientError::Broker {
            code: 213,
            remark: String::new(),
        };
        assert_eq!(e.to_string(), "CODE: 213 (BROADCAST_CONSUMPTION)  DESC: ");
    }

    #[test]
    fn code_names_cover_both_tables() {
        assert_eq!(code_name(0), "SUCCESS");
        assert_eq!(code_name(206), "CONSUMER_NOT_ONLINE");
        assert_eq!(code_name(18), "TOPIC_EXIST_ALREADY");
        assert_eq!(code_name(2011), "CONTROLLER_MASTER_STILL_EXIST");
        assert_eq!(code_name(99_999), "UNKNOWN");
    }
}
