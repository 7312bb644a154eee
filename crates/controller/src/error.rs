//! Errors of the controller crate.

use ferromq_common::config::ConfigError;

/// Why the controller could not start or a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// A setting is wrong.
    #[error("controller config: {source}")]
    Config {
        /// The offending key and value.
        #[from]
        source: ConfigError,
    },
    /// The config file could not be read.
    #[error("cannot read {path}: {source}")]
    ReadConfig {
        /// File.
        path: String,
        /// I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address tried.
        addr: String,
        /// Socket error.
        #[source]
        source: std::io::Error,
    },
    /// The Raft store under `controllerStorePath` could not be opened or written.
    #[error("controller store {path}: {source}")]
    Store {
        /// File or directory.
        path: String,
        /// I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A stored record or snapshot does not decode.
    #[error("controller store {path}: corrupt: {reason}")]
    Corrupt {
        /// File.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// openraft refused to start or failed fatally.
    #[error("raft: {reason}")]
    Raft {
        /// openraft's error text.
        reason: String,
    },
}

/// Why one controller request failed; the request handlers turn each into a response code.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The request header lacks a field or a field does not parse.
    #[error("bad request header: {source}")]
    Header {
        /// What is wrong.
        #[from]
        source: ferromq_proto::ProtoError,
    },
    /// The request body does not decode.
    #[error("bad request body: {source}")]
    Body {
        /// What is wrong.
        #[from]
        source: ferromq_proto::body::BodyError,
    },
    /// This node is not the Raft leader.
    #[error("The controller is not in leader state")]
    NotLeader {
        /// The leader, when known: name and address.
        leader: Option<crate::config::Peer>,
    },
    /// Raft did not commit in time (no quorum).
    #[error("the controller did not commit the request within {millis} ms")]
    Timeout {
        /// The deadline.
        millis: u64,
    },
    /// openraft failed.
    #[error("raft: {reason}")]
    Raft {
        /// openraft's error text.
        reason: String,
    },
}

/// Why a [`crate::ControllerClient`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The leader answered with a RocketMQ error code.
    #[error("controller refused: code {code}: {remark}")]
    Refused {
        /// Response code (see [`crate::codes::response`]).
        code: i32,
        /// Its remark.
        remark: String,
    },
    /// No controller answered as leader before the deadline.
    #[error("no controller leader answered within {millis} ms (last: {last})")]
    NoLeader {
        /// The deadline.
        millis: u64,
        /// The last error or redirect seen.
        last: String,
    },
    /// No controller accepted a heartbeat.
    #[error("no controller accepted the heartbeat (last: {last})")]
    NoController {
        /// The last error seen.
        last: String,
    },
    /// A response lacked a field or its body did not decode.
    #[error("bad response from {addr}: {reason}")]
    BadResponse {
        /// Controller address.
        addr: String,
        /// What is wrong.
        reason: String,
    },
}
