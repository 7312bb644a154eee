//! The recall handle of a timer message (Java `RecallMessageHandle.HandleV1`, RocketMQ 5.3).
//!
//! The broker answers a timer send with a handle; the producer passes it back in
//! RECALL_MESSAGE (370) to cancel the message before it is due.
//!
//! ```text
//! handle := base64url_padded( "v1" SP topic SP brokerName SP timestamp SP messageId )
//!           timestamp = the held record's TIMER_OUT_MS + 1 (decimal ms), messageId = UNIQ_KEY
//! "v1 TopicTest broker-a 1700000000001 7F00000100002A9F0000000000000001"
//!   └▶ "djEgVG9waWNUZXN0IGJyb2tlci1hIDE3MDAwMDAwMDAwMDEgN0YwMDAwMDEwMDAwMkE5RjAwMDAwMDAwMDAwMDAwMDE="
//! ```
//!
//! Decoding follows Java's `Base64.getUrlDecoder()` and `String.split(" ")`: padding may be left
//! out but, when present, must be complete; `+`, `/` and whitespace are refused; unused bits of
//! the last character are ignored; trailing empty fields are dropped, further fields after the
//! fifth are ignored, and invalid UTF-8 becomes U+FFFD. Every refusal reads "recall handle is
//! invalid", the remark the broker answers with.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

use super::MessageCodecError;

const VERSION_1: &str = "v1";
const SEPARATOR: char = ' ';

/// Java's `Base64.getUrlEncoder()`: URL-safe alphabet, `=` padding.
const ENCODER: GeneralPurpose =
    GeneralPurpose::new(&alphabet::URL_SAFE, GeneralPurposeConfig::new());
/// Java's URL decoder on input that carries padding: it must be the canonical padding.
const DECODER_PADDED: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);
/// Java's URL decoder on input without padding.
const DECODER_UNPADDED: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// A decoded v1 recall handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecallHandle {
    /// The topic the message was sent to (its real topic, not the timer topic).
    pub topic: String,
    /// The broker holding it.
    pub broker_name: String,
    /// The timestamp text as written: FerroMQ brokers write the due ms + 1, as Java does.
    pub timestamp: String,
    /// The message's `UNIQ_KEY`.
    pub message_id: String,
}

impl RecallHandle {
    /// A handle for a message held until `due_ms` (its `TIMER_OUT_MS`): the timestamp is
    /// `due_ms + 1`, as Java's `attachRecallHandle` writes it.
    pub fn for_due_time(
        topic: impl Into<String>,
        broker_name: impl Into<String>,
        due_ms: i64,
        message_id: impl Into<String>,
    ) -> Self {
        RecallHandle {
            topic: topic.into(),
            broker_name: broker_name.into(),
            timestamp: due_ms.saturating_add(1).to_string(),
            message_id: message_id.into(),
        }
    }

    /// The handle text (Java `HandleV1.buildHandle`; no check of the fields).
    pub fn encode(&self) -> String {
        let raw = [
            VERSION_1,
            &self.topic,
            &self.broker_name,
            &self.timestamp,
            &self.message_id,
        ]
        .join(" ");
        ENCODER.encode(raw.as_bytes())
    }

    /// Reads a handle (Java `RecallMessageHandle.decodeHandle`). Errors with
    /// [`MessageCodecError::InvalidRecallHandle`] when it is empty, not URL-safe Base64, not
    /// version `v1` or has fewer than five fields.
    pub fn decode(handle: &str) -> Result<Self, MessageCodecError> {
        let invalid = |reason| MessageCodecError::InvalidRecallHandle { reason };
        if handle.is_empty() {
            return Err(invalid("empty"));
        }
        let engine = if handle.contains('=') {
            &DECODER_PADDED
        } else {
            &DECODER_UNPADDED
        };
        let bytes = engine
            .decode(handle.as_bytes())
            .map_err(|_| invalid("not URL-safe Base64"))?;
        let raw = String::from_utf8_lossy(&bytes);
        let mut items: Vec<&str> = raw.split(SEPARATOR).collect();
        // Java's split drops trailing empty strings.
        while items.last() == Some(&"") {
            items.pop();
        }
        if items.first() != Some(&VERSION_1) {
            return Err(invalid("not version v1"));
        }
        if items.len() < 5 {
            return Err(invalid("fewer than five fields"));
        }
        Ok(RecallHandle {
            topic: items[1].to_owned(),
            broker_name: items[2].to_owned(),
            timestamp: items[3].to_owned(),
            message_id: items[4].to_owned(),
        })
    }

    /// The timestamp in ms; -1 when it is not a number (Java `NumberUtils.toLong(s, -1)`).
    pub fn timestamp_ms(&self) -> i64 {
        self.timestamp.parse().unwrap_or(-1)
    }
}

/// The `TIMER_DEL_UNIQKEY` value naming a held message: `<real topic>+<UNIQ_KEY>` (Java
/// `TimerMessageStore.buildDeleteKey`).
pub fn delete_key(topic: &str, uniq_key: &str) -> String {
    format!("{topic}+{uniq_key}")
}

/// True when `key` is [`delete_key`]`(topic, uniq_key)`, without building it.
pub fn is_delete_key_of(key: &str, topic: &str, uniq_key: &str) -> bool {
    key.strip_prefix(topic)
        .and_then(|rest| rest.strip_prefix('+'))
        .is_some_and(|rest| rest == uniq_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "v1 TopicTest broker-a 1700000000001 7F00000100002A9F0000000000000001";
    /// Java `Base64.getUrlEncoder().encodeToString(RAW.getBytes(UTF_8))`, worked out from the
    /// format (the first unit: "v1 " = 0x76 0x31 0x20 = 011101 100011 000100 100000 = "djEg").
    const PINNED: &str =
        "djEgVG9waWNUZXN0IGJyb2tlci1hIDE3MDAwMDAwMDAwMDEgN0YwMDAwMDEwMDAwMkE5RjAwMDAwMDAwMDAwMDAwMDE=";

    fn example() -> RecallHandle {
        RecallHandle::for_due_time(
            "TopicTest",
            "broker-a",
            1_700_000_000_000,
            "7F00000100002A9F0000000000000001",
        )
    }

    fn invalid(handle: &str) -> bool {
        matches!(
            RecallHandle::decode(handle),
            Err(MessageCodecError::InvalidRecallHandle { .. })
        )
    }

    #[test]
    fn pinned_bytes_of_an_example_handle() {
        let h = example();
        assert_eq!(h.timestamp, "1700000000001", "due ms + 1, as Java");
        assert_eq!(h.encode(), PINNED);
        assert_eq!(RecallHandle::decode(PINNED).unwrap(), h);
        assert_eq!(h.timestamp_ms(), 1_700_000_000_001);
        assert_eq!(
            String::from_utf8(ENCODER.decode(PINNED).unwrap()).unwrap(),
            RAW
        );
    }

    #[test]
    fn url_safe_alphabet_and_optional_padding() {
        // '~' makes a 62 ("-" here, "+" in standard Base64).
        let h = RecallHandle {
            topic: "order~topic".into(),
            ..example()
        };
        let text = h.encode();
        assert!(text.starts_with("djEgb3JkZXJ-dG9waWMg"), "{text}");
        assert!(text.ends_with("=="), "{text}");
        assert_eq!(RecallHandle::decode(&text).unwrap(), h);
        // Java's decoder takes the same text without its padding...
        assert_eq!(RecallHandle::decode(text.trim_end_matches('=')).unwrap(), h);
        // ...but not with half of it, nor the standard alphabet, nor whitespace.
        assert!(invalid(&text[..text.len() - 1]));
        assert!(invalid(&text.replace('-', "+")));
        assert!(invalid(&format!("{text}\n")));
        assert!(invalid(&format!("{text}=")));
    }

    #[test]
    fn refusals_follow_java() {
        // From Java's RecallMessageHandleTest: empty, four fields, version 2, not Base64.
        for bad in [
            "",
            "djEgYSBiIGM=",     // "v1 a b c"
            "djIgYSBiIGMgZA==", // "v2 a b c d"
            "v1 a b c d",
            "djEgVCBiIDUgIA==", // "v1 T b 5  ": trailing empty fields dropped
            "A",                // one character cannot be a whole byte
        ] {
            assert!(invalid(bad), "{bad:?}");
        }
        let err = RecallHandle::decode("").unwrap_err();
        assert_eq!(err.to_string(), "recall handle is invalid");
    }

    #[test]
    fn extra_and_empty_fields_are_kept_as_java_splits_them() {
        // "v1 T b 5 ID extra": the sixth field is ignored.
        let h = RecallHandle::decode("djEgVCBiIDUgSUQgZXh0cmE=").unwrap();
        assert_eq!(
            (
                h.topic.as_str(),
                h.broker_name.as_str(),
                h.message_id.as_str()
            ),
            ("T", "b", "ID")
        );
        // "v1  b 5 ID": an empty topic.
        let h = RecallHandle::decode("djEgIGIgNSBJRA==").unwrap();
        assert_eq!(h.topic, "");
        // "v1 T b 5 ID ": one trailing space.
        assert_eq!(
            RecallHandle::decode("djEgVCBiIDUgSUQg").unwrap().message_id,
            "ID"
        );
        let h = RecallHandle {
            timestamp: "soon".into(),
            ..example()
        };
        assert_eq!(h.timestamp_ms(), -1);
    }

    #[test]
    fn every_cut_of_the_pinned_handle_decodes_or_is_refused_without_panic() {
        for end in 0..PINNED.len() {
            let _ = RecallHandle::decode(&PINNED[..end]);
        }
        // Cut on a unit boundary (no padding needed): a shorter message id.
        let h = RecallHandle::decode(&PINNED[..88]).unwrap();
        assert_eq!(h.message_id, "7F00000100002A9F00000000000000");
    }

    #[test]
    fn delete_keys_are_topic_plus_uniq_key() {
        assert_eq!(delete_key("T", "U1"), "T+U1");
        assert!(is_delete_key_of("T+U1", "T", "U1"));
        assert!(!is_delete_key_of("T+U1", "T", "U"));
        assert!(!is_delete_key_of("TT+U1", "T", "U1"));
        assert!(!is_delete_key_of("T-U1", "T", "U1"));
        // A topic with '+' in it still matches exactly.
        assert!(is_delete_key_of("a+b+U", "a+b", "U"));
    }
}
