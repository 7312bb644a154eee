//! Message encodings (`wire-protocol.md` section 3): pure functions over bytes, no I/O.
//!
//! * [`properties`]: the `name\u{1}value\u{2}` properties string, its keys, and Java's exact
//!   parse rules.
//! * [`record`]: the stored record. The broker appends it to the commit log and later sends the
//!   very same bytes in PULL, QUERY and VIEW bodies, records back to back:
//!
//! ```text
//! 0        4        8        12       16       20                28               36
//! +--------+--------+--------+--------+--------+-----------------+----------------+--------+
//! | TOTAL  | MAGIC  | BODYCRC| QUEUEID| FLAG   | QUEUEOFFSET i64 | PHYSOFFSET i64 | SYSFLAG|
//! +--------+--------+--------+--------+--------+-----------------+----------------+--------+
//! 40                48            56 (v4 born host)     64            72
//! | BORNTIMESTAMP   | BORNHOST 8|20 | STORETIMESTAMP    | STOREHOST 8|20| RECONSUMETIMES |
//! | PREPARED TX OFFSET i64 | BODYLEN i32 | BODY | TOPICLEN i8|i16 | TOPIC | PROPLEN i16 | PROPS |
//! ```
//! * [`batch`]: the SEND_BATCH_MESSAGE body (one short record per inner message).
//! * [`msg_id`]: the broker's `offsetMsgId` (store host + commit-log offset, uppercase hex).
//! * [`uniq_key`]: the client message id carried in the `UNIQ_KEY` property.
//! * [`recall_handle`]: the handle a timer send answers with, for RECALL_MESSAGE.
//! * [`trace`]: the message-trace records stored in `RMQ_SYS_TRACE_TOPIC`.
//!
//! Every decoder returns a [`MessageCodecError`] for malformed or short input; none panics.

pub mod batch;
pub mod msg_id;
pub mod properties;
pub mod recall_handle;
pub mod record;
pub mod sys_flag;
pub mod trace;
pub mod uniq_key;

pub use batch::{decode_batch, encode_batch, encode_batch_item, BatchItem};
pub use msg_id::{decode_offset_msg_id, encode_offset_msg_id, write_offset_msg_id};
pub use properties::{
    decode_properties, encode_properties, iter_properties, property_value, property_values,
    Properties,
};
pub use recall_handle::RecallHandle;
pub use record::{
    body_crc, decode_record, decode_records, encode_record, encode_record_to, record_size,
    MessageExt, RecordInput, RecordView,
};
pub use uniq_key::UniqKeyGenerator;

/// Magic code of a version 1 record (1-byte topic length): `0xDAA320A7`.
pub const MAGIC_V1: i32 = 0xDAA3_20A7_u32 as i32;
/// Magic code of a version 2 record (2-byte topic length, topics longer than 127): `0xDAA320AB`.
pub const MAGIC_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// Magic code of the end-of-file filler in a commit-log segment: `0xCBD43194`.
pub const MAGIC_BLANK: i32 = 0xCBD4_3194_u32 as i32;

/// Why message bytes could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageCodecError {
    /// The input ends before the field `what` does.
    #[error("truncated {what}: needed {needed} bytes, {available} available")]
    Truncated {
        /// The field or structure being read.
        what: &'static str,
        /// Bytes needed to finish it, counted from the start of the structure.
        needed: usize,
        /// Bytes that were there.
        available: usize,
    },
    /// The magic code is not one of the record versions.
    #[error("bad magic code {found:#010x}")]
    BadMagic {
        /// The magic code found (as an unsigned word).
        found: u32,
    },
    /// A record's declared total size disagrees with the size its fields add up to.
    #[error("length mismatch in {what}: declared {declared}, fields add up to {computed}")]
    LengthMismatch {
        /// The structure being read.
        what: &'static str,
        /// The size the structure declares.
        declared: usize,
        /// The size its fields add up to.
        computed: usize,
    },
    /// A length field is negative or smaller than the fixed part it must contain.
    #[error("invalid length {value} in {what}")]
    InvalidLength {
        /// The length field.
        what: &'static str,
        /// The value read.
        value: i64,
    },
    /// A string field is not valid UTF-8.
    #[error("{what} is not valid UTF-8")]
    NotUtf8 {
        /// The field.
        what: &'static str,
    },
    /// A value is too long for its length field when encoding.
    #[error("{what} of {len} bytes exceeds the maximum of {max}")]
    TooLong {
        /// The field.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The largest length the encoding can carry.
        max: usize,
    },
    /// The destination buffer is too small for the encoded record.
    #[error("destination of {available} bytes is too small for {needed} bytes")]
    BufferTooSmall {
        /// Bytes the encoding needs.
        needed: usize,
        /// Bytes the destination has.
        available: usize,
    },
    /// A recall handle is not a v1 handle (the text is RocketMQ's remark; `reason` says why).
    #[error("recall handle is invalid")]
    InvalidRecallHandle {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A message-trace record (`RMQ_SYS_TRACE_TOPIC` body) is malformed.
    #[error("invalid trace record `{record}`: {reason}")]
    InvalidTrace {
        /// The record, with its separators shown as `|`.
        record: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A message id string is malformed.
    #[error("invalid message id `{id}`: {reason}")]
    InvalidMsgId {
        /// The id as given.
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The consume-queue tags code of a message: Java's `String.hashCode()` of the `TAGS` property,
/// sign-extended to i64; 0 when there are no tags (`tagsString2tagsCode`).
pub fn tags_code(tags: Option<&str>) -> i64 {
    match tags {
        Some(t) if !t.is_empty() => i64::from(ferromq_common::java_string_hash(t)),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_codes_match_java_ints() {
        assert_eq!(MAGIC_V1, -626_843_481);
        assert_eq!(MAGIC_V2, -626_843_477);
        assert_eq!(MAGIC_BLANK, -875_286_124);
    }

    #[test]
    fn tags_code_is_java_hash() {
        assert_eq!(tags_code(Some("TagA")), 2_598_919);
        assert_eq!(tags_code(Some("*")), 42);
        assert_eq!(tags_code(None), 0);
        assert_eq!(tags_code(Some("")), 0);
        // A negative Java hash stays negative (sign extension, not zero extension).
        let h = ferromq_common::java_string_hash("zzzzzzzzzz");
        assert!(h < 0);
        assert_eq!(tags_code(Some("zzzzzzzzzz")), i64::from(h));
    }
}
