//! Errors of the name server.

use std::path::PathBuf;

use ferromq_proto::body::BodyError;
use ferromq_proto::ProtoError;

/// Why the name server could not start, or why one request failed.
///
/// Request errors become a `SYSTEM_ERROR` response whose remark is the error's text; they are
/// turned into responses in exactly one place (`handlers::dispatch`).
#[derive(Debug, thiserror::Error)]
pub enum NamesrvError {
    /// A `tls.*` setting cannot be used (missing certificate, unreadable key).
    #[error("TLS: {0}")]
    Tls(String),
    /// The KV config file exists but could not be read.
    #[error("cannot read KV config {path}: {source}")]
    KvRead {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The KV config file is not the JSON RocketMQ writes.
    #[error("KV config {path} is not valid JSON: {source}")]
    KvParse {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// Writing the KV config file failed; the in-memory table was changed anyway.
    #[error("cannot persist KV config {path}: {source}")]
    KvPersist {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// A request header is missing a field or has a malformed one.
    #[error("{source}")]
    Header {
        /// The decoder's complaint.
        #[source]
        source: ProtoError,
    },
    /// A request body could not be decoded.
    #[error("failed to decode {what}: {source}")]
    Body {
        /// Which body.
        what: &'static str,
        /// The decoder's complaint.
        #[source]
        source: BodyError,
    },
}

impl From<ProtoError> for NamesrvError {
    fn from(source: ProtoError) -> Self {
        NamesrvError::Header { source }
    }
}
