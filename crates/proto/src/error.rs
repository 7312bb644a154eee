//! Errors of the protocol crate.

/// Why bytes could not be turned into a command or a typed header.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// The frame length field is negative or below the minimum of 4.
    #[error("invalid frame length {length}")]
    BadFrameLength {
        /// The length read from the wire.
        length: i64,
    },
    /// The frame is larger than the configured limit.
    #[error("frame of {length} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// Bytes the frame announced (including the 4-byte length field).
        length: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The header is larger than the header limit in force.
    #[error("header of {header_length} bytes exceeds the limit of {limit} bytes")]
    HeaderTooLarge {
        /// Announced header length.
        header_length: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The header length is larger than the frame.
    #[error("header length {header_length} exceeds frame length {frame_length}")]
    BadHeaderLength {
        /// Announced header length.
        header_length: usize,
        /// Bytes available after the type word.
        frame_length: usize,
    },
    /// The serialize type byte is neither JSON (0) nor ROCKETMQ (1).
    #[error("unknown serialize type {found}")]
    UnknownSerializeType {
        /// The byte found.
        found: u8,
    },
    /// The JSON header could not be parsed.
    #[error("malformed JSON header: {source}")]
    JsonHeader {
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// The binary header is shorter than its fields say.
    #[error("binary header truncated reading {what}")]
    BinaryHeaderTruncated {
        /// The field being read.
        what: &'static str,
    },
    /// A header string is not valid UTF-8.
    #[error("header field {what} is not UTF-8")]
    NotUtf8 {
        /// The field being read.
        what: &'static str,
    },
    /// The header has more ext fields than [`crate::command::MAX_EXT_FIELDS`].
    #[error("header has more than {limit} ext fields")]
    TooManyFields {
        /// The limit in force.
        limit: usize,
    },
    /// A required ext field is absent.
    #[error("the custom field <{field}> is null")]
    MissingField {
        /// The ext-field key.
        field: &'static str,
    },
    /// An ext field does not parse as its type.
    #[error("the custom field <{field}> has an invalid value `{value}`")]
    InvalidField {
        /// The ext-field key.
        field: &'static str,
        /// The text found.
        value: String,
    },
}
