//! Transport errors.

use std::time::Duration;

/// Why a call did not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Connecting to `addr` failed.
    #[error("connect to {addr} failed: {source}")]
    Connect {
        /// Target address.
        addr: String,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// Connecting took longer than allowed.
    #[error("connect to {addr} timed out")]
    ConnectTimeout {
        /// Target address.
        addr: String,
    },
    /// The TLS handshake with `addr` failed (certificate not trusted, server not speaking TLS).
    #[error("TLS handshake with {addr} failed: {reason}")]
    Tls {
        /// Target address.
        addr: String,
        /// What the TLS layer reported.
        reason: String,
    },
    /// The address is not `host:port`.
    #[error("invalid address `{addr}`")]
    BadAddress {
        /// The text given.
        addr: String,
    },
    /// No response within the deadline.
    #[error("request code {code} to {addr} timed out after {timeout:?}")]
    Timeout {
        /// Request code.
        code: i32,
        /// Peer address.
        addr: String,
        /// The deadline.
        timeout: Duration,
    },
    /// The connection closed before the response arrived.
    #[error("connection to {addr} closed")]
    Closed {
        /// Peer address.
        addr: String,
    },
}
