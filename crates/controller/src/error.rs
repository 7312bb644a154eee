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
