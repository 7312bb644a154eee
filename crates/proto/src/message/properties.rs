//! The message properties string (`wire-protocol.md` 3.1, 5.1) and its keys.
//!
//! ```text
//! name U+0001 value U+0002 name U+0001 value U+0002 ...
//! ```
//! Java writes a trailing U+0002 after every pair (`messageProperties2String`). Java reads it with
//! `string2messageProperties` (RocketMQ 5.x): split on U+0002; keep a segment only if its first
//! U+0001 is neither its first nor its last character (so key and value are both non-empty); the
//! key is the text before that U+0001 and the value everything after it (further U+0001 included).
//! A later duplicate key replaces an earlier one (it is a `HashMap`).

use std::fmt;

use crate::bytescan;

/// Separates a name from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Ends each name/value pair.
pub const PROPERTY_SEPARATOR: char = '\u{2}';
/// Separates the business keys inside `KEYS`.
pub const KEY_SEPARATOR: &str = " ";
/// Largest stored properties string in bytes (`Short.MAX_VALUE`).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Single tag, hashed into the consume-queue tags code.
pub const TAGS: &str = "TAGS";
/// Business keys separated by one space; each one is indexed.
pub const KEYS: &str = "KEYS";
/// Client message id (`PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX`).
pub const UNIQ_KEY: &str = "UNIQ_KEY";
/// `true` (the default when absent): reply only after flush/replication as configured.
pub const WAIT: &str = "WAIT";
/// Delay level 1..18 (`PROPERTY_DELAY_TIME_LEVEL`).
pub const DELAY: &str = "DELAY";
/// Original topic of a delayed or half message.
pub const REAL_TOPIC: &str = "REAL_TOPIC";
/// Original queue id of a delayed or half message (decimal).
pub const REAL_QID: &str = "REAL_QID";
/// Original topic of a message in `%RETRY%group`.
pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
/// Id of the first delivery of a retried message.
pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
/// Retry count when a client re-sends to `%RETRY%` itself.
pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
/// Maximum retries, moved into the header `maxReconsumeTimes`.
pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
/// `true` marks a transactional half message (`PROPERTY_TRANSACTION_PREPARED`).
pub const TRAN_MSG: &str = "TRAN_MSG";
/// Producer group the broker checks back (`PROPERTY_PRODUCER_GROUP`).
pub const PGROUP: &str = "PGROUP";
/// Copy of UNIQ_KEY on half messages.
pub const TRANSACTION_ID: &str = "__transactionId__";
/// Number of transaction checks already sent.
pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
/// Original half-queue offset on re-put half messages.
pub const TRAN_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
/// First transaction check not before this many seconds.
pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
/// Queue minimum offset, added by the client after a pull; never stored.
pub const MIN_OFFSET: &str = "MIN_OFFSET";
/// Queue maximum offset, added by the client after a pull; never stored.
pub const MAX_OFFSET: &str = "MAX_OFFSET";
/// Cluster name, added by the broker on every send.
pub const CLUSTER: &str = "CLUSTER";
/// Region id (send response ext field).
pub const MSG_REGION: &str = "MSG_REGION";
/// Trace switch (send response ext field, `PROPERTY_TRACE_SWITCH`).
pub const TRACE_ON: &str = "TRACE_ON";
/// Namespace instance.
pub const INSTANCE_ID: &str = "INSTANCE_ID";
/// Request/reply correlation id.
pub const CORRELATION_ID: &str = "CORRELATION_ID";
/// Request/reply: client that gets the reply.
pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
/// Request/reply time to live.
pub const TTL: &str = "TTL";
/// Request/reply arrival time.
pub const ARRIVE_TIME: &str = "ARRIVE_TIME";
/// Request/reply push time.
pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
/// Message type; `reply` selects the reply codes.
pub const MSG_TYPE: &str = "MSG_TYPE";
/// The `MSG_TYPE` value of a reply (Java `MixAll.REPLY_MESSAGE_FLAG`).
pub const REPLY_MESSAGE_FLAG: &str = "reply";
/// Client-side bookkeeping (`PROPERTY_CONSUME_START_TIMESTAMP`).
pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
/// 5.x timer: absolute delivery time in ms.
pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
/// 5.x timer: delay in seconds.
pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
/// 5.x timer: delay in ms.
pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
/// 5.x timer: the due time in ms the broker computed (set on the record it holds).
pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
/// 5.x timer: marks a held record as the delete marker of another, named by
/// `<real topic>+<UNIQ_KEY>` (Java `PROPERTY_TIMER_DEL_UNIQKEY`, written by RECALL_MESSAGE).
pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
/// Absolute delivery time in ms used by older and proxy clients (`__STARTDELIVERTIME`); the
/// broker treats it as the lowest-priority timer property.
pub const START_DELIVER_TIME: &str = "__STARTDELIVERTIME";
/// Pop checkpoint; stripped from incoming sends.
pub const POP_CK: &str = "POP_CK";
/// Pop checkpoint offset.
pub const POP_CK_OFFSET: &str = "POP_CK_OFFSET";
/// First pop time.
pub const FIRST_POP_TIME: &str = "1ST_POP_TIME";
/// Inner-batch message count.
pub const INNER_NUM: &str = "INNER_NUM";
/// Inner-batch base offset.
pub const INNER_BASE: &str = "INNER_BASE";
/// Optional property CRC appended by the broker.
pub const CRC32: &str = "__CRC32#";
/// 5.x DLQ metadata: original topic.
pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
/// 5.x DLQ metadata: original message id.
pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";
/// Sharding key of ordered messages.
pub const SHARDING_KEY: &str = "__SHARDINGKEY";
/// Keys starting with this prefix are never stored.
pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";

/// An ordered list of message properties with map semantics: one value per key, insertion order
/// kept (so encoding is deterministic), a later insert replaces the earlier value in place.
///
/// Messages carry a handful of properties, so a vector beats a hash map here.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<(String, String)>,
}

impl Properties {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// True when `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`; returns the previous value. A replaced key keeps its position.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        let key = key.into();
        let value = value.into();
        if let Some(slot) = self.entries.iter_mut().find(|(k, _)| *k == key) {
            return Some(std::mem::replace(&mut slot.1, value));
        }
        self.entries.push((key, value));
        None
    }

    /// Removes `key`; returns its value if it was present.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(pos).1)
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no properties.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The properties in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Encodes the properties as Java does: `k U+0001 v U+0002` per entry, trailing U+0002 kept.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoded form to `out`.
    pub fn encode_into(&self, out: &mut String) {
        for (k, v) in &self.entries {
            push_pair(out, k, v);
        }
    }

    /// Length in bytes of [`Properties::encode`]'s result.
    pub fn encoded_len(&self) -> usize {
        self.entries
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum()
    }

    /// Consumes the set, returning its entries in order.
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.entries
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut props = Properties::new();
        for (k, v) in iter {
            props.insert(k, v);
        }
        props
    }
}

fn push_pair(out: &mut String, k: &str, v: &str) {
    out.push_str(k);
    out.push(NAME_VALUE_SEPARATOR);
    out.push_str(v);
    out.push(PROPERTY_SEPARATOR);
}

/// Encodes `pairs` in order as Java's `messageProperties2String` does (trailing U+0002 kept).
/// Duplicate keys are written as given; callers that need map semantics use [`Properties`].
pub fn encode_properties<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let len = pairs
        .iter()
        .map(|(k, v)| k.as_ref().len() + v.as_ref().len() + 2)
        .sum();
    let mut out = String::with_capacity(len);
    for (k, v) in pairs {
        push_pair(&mut out, k.as_ref(), v.as_ref());
    }
    out
}

/// Iterates over the pairs Java's parser keeps, in order and without allocating; duplicates are
/// yielded as they occur (Java keeps the last one).
pub fn iter_properties(s: &str) -> impl Iterator<Item = (&str, &str)> {
    s.split(PROPERTY_SEPARATOR).filter_map(|segment| {
        let sep = segment.find(NAME_VALUE_SEPARATOR)?;
        // Key non-empty and value non-empty, as `kvSepIndex > index && kvSepIndex < newIndex - 1`.
        if sep == 0 || sep + 1 >= segment.len() {
            return None;
        }
        Some((&segment[..sep], &segment[sep + 1..]))
    })
}

/// The value Java's parser would give `key` (the last occurrence wins), without allocating.
///
/// This runs several times per stored message (delay, timer, transaction and index lookups), so
/// it does not split pairs: it hops from segment to segment ([`bytescan::find`], a word at a
/// time) and compares only each segment's start with the key. A pair's key runs from the
/// segment's start to its first U+0001, so a segment holds `key` when it starts with it and
/// U+0001 follows; the value runs to the segment's end and must not be empty. A key holding
/// either separator can never be parsed, as in Java.
pub fn property_value<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    const KV: u8 = NAME_VALUE_SEPARATOR as u8;
    const PAIR: u8 = PROPERTY_SEPARATOR as u8;
    let (bytes, k) = (s.as_bytes(), key.as_bytes());
    if k.is_empty() || k.iter().any(|&c| c == KV || c == PAIR) {
        return None;
    }
    let mut found = None;
    let mut at = 0;
    while at < bytes.len() {
        let end = bytescan::find(&bytes[at..], PAIR).map_or(bytes.len(), |i| at + i);
        let value = at + k.len() + 1;
        if value < end && bytes[at..].starts_with(k) && bytes[value - 1] == KV {
            // Both ends sit next to an ASCII separator (or the string's end): char boundaries.
            found = Some(&s[value..end]);
        }
        at = end + 1;
    }
    found
}

/// The values [`property_value`] gives each of `keys`, in one pass over `s` instead of one per
/// key: segments are found as there, and each segment's key is compared with the
/// wanted ones.
pub fn property_values<'a, const N: usize>(s: &'a str, keys: [&str; N]) -> [Option<&'a str>; N] {
    const KV: u8 = NAME_VALUE_SEPARATOR as u8;
    const PAIR: u8 = PROPERTY_SEPARATOR as u8;
    let mut found = [None; N];
    let bytes = s.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let end = bytescan::find(&bytes[at..], PAIR).map_or(bytes.len(), |i| at + i);
        if let Some(sep) = bytescan::find(&bytes[at..end], KV) {
            let key = &bytes[at..at + sep];
            let value = at + sep + 1;
            // A pair needs a key and a value (the module docs); both ends of each are next to
            // an ASCII separator or the string's end, so they are char boundaries.
            if sep > 0 && value < end {
                // Every slot asking for this key (a key may be asked for twice).
                for (slot, k) in found.iter_mut().zip(keys) {
                    if k.as_bytes() == key {
                        *slot = Some(&s[value..end]);
                    }
                }
            }
        }
        at = end + 1;
    }
    found
}

/// Parses a properties string with Java's rules (see the module docs) into [`Properties`].
pub fn decode_properties(s: &str) -> Properties {
    // A message carries a handful of properties, where a linear search per insert is fastest;
    // but a client may send thousands of short pairs (32 KB), and the search would make that
    // quadratic. Past a few pairs, duplicates are found through an index of the input's keys.
    const LINEAR_UP_TO: usize = 16;
    let mut pairs = iter_properties(s);
    let mut props = Properties::new();
    for (k, v) in pairs.by_ref() {
        props.insert(k, v);
        if props.entries.len() == LINEAR_UP_TO {
            break;
        }
    }
    let mut index: Option<std::collections::HashMap<String, usize>> = None;
    for (k, v) in pairs {
        let index = index.get_or_insert_with(|| {
            (props.entries.iter().enumerate())
                .map(|(i, (k, _))| (k.clone(), i))
                .collect()
        });
        match index.get(k) {
            Some(&i) => props.entries[i].1 = v.to_owned(),
            None => {
                index.insert(k.to_owned(), props.entries.len());
                props.entries.push((k.to_owned(), v.to_owned()));
            }
        }
    }
    props
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_one_pass_are_what_single_lookups_give() {
        let keys = ["KEYS", "TAGS", "UNIQ_KEY", "A\u{1}B", "TAGS"];
        for s in [
            "",
            "KEYS\u{1}k1 k2\u{2}TAGS\u{1}t\u{2}UNIQ_KEY\u{1}ABC",
            "KEYS\u{1}a\u{2}KEYS\u{1}b\u{2}KEYS\u{1}\u{2}",
            "\u{1}KEYS\u{2}KEYS\u{2}TAGS\u{1}x\u{1}y\u{2}\u{2}UNIQ_KEY\u{1}",
            "KEYSX\u{1}no\u{2}XKEYS\u{1}no\u{2}TAG\u{1}no\u{2}A\u{1}B\u{1}c",
            "UNIQ_KEY\u{1}é\u{2}TAGS\u{1}ü\u{1}",
        ] {
            let want = keys.map(|k| property_value(s, k));
            assert_eq!(property_values(s, keys), want, "{s:?}");
        }
    }

    #[test]
    fn many_pairs_decode_with_map_semantics() {
        // Past the linear part: later duplicates replace in place, order of first sight kept.
        let mut wire = String::new();
        for i in 0..40 {
            push_pair(&mut wire, &format!("k{}", i % 25), &i.to_string());
        }
        let props = decode_properties(&wire);
        assert_eq!(props.len(), 25);
        let mut expected = Properties::new();
        for i in 0..40 {
            expected.insert(format!("k{}", i % 25), i.to_string());
        }
        assert_eq!(props, expected);
        assert_eq!(props.get("k3"), Some("28"));
        assert_eq!(props.get("k24"), Some("24"));
        assert_eq!(props.iter().next(), Some(("k0", "25")));
    }

    #[test]
    fn encodes_with_trailing_separator() {
        let s = encode_properties(&[("TAGS", "TagA"), ("KEYS", "k1 k2")]);
        assert_eq!(s, "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}");
        assert_eq!(encode_properties::<&str, &str>(&[]), "");
    }

    #[test]
    fn round_trip_keeps_order() {
        let props: Properties = [("UNIQ_KEY", "AB"), ("WAIT", "true"), ("TAGS", "t")]
            .into_iter()
            .collect();
        let s = props.encode();
        assert_eq!(s.len(), props.encoded_len());
        assert_eq!(decode_properties(&s), props);
    }

    #[test]
    fn java_parse_quirks() {
        // Missing trailing separator still parses the last pair.
        assert_eq!(decode_properties("a\u{1}b").get("a"), Some("b"));
        // Empty key or empty value: dropped.
        assert!(decode_properties("\u{1}v\u{2}").is_empty());
        assert!(decode_properties("k\u{1}\u{2}").is_empty());
        // No name/value separator in the segment: dropped, even if a later segment has one.
        let p = decode_properties("novalue\u{2}k\u{1}v\u{2}");
        assert_eq!(p.len(), 1);
        assert_eq!(p.get("k"), Some("v"));
        // The value keeps further U+0001 characters.
        assert_eq!(
            decode_properties("k\u{1}a\u{1}b\u{2}").get("k"),
            Some("a\u{1}b")
        );
        // Empty segments (double separators) are skipped.
        assert_eq!(decode_properties("\u{2}\u{2}k\u{1}v\u{2}\u{2}").len(), 1);
        // Later duplicate wins, like a HashMap put.
        let s = "k\u{1}1\u{2}k\u{1}2\u{2}";
        assert_eq!(decode_properties(s).get("k"), Some("2"));
        assert_eq!(property_value(s, "k"), Some("2"));
        // Segment of exactly three characters is the shortest kept.
        assert_eq!(decode_properties("a\u{1}b\u{2}").len(), 1);
        // Multi-byte characters work (separators are ASCII).
        assert_eq!(decode_properties("é\u{1}ü\u{2}").get("é"), Some("ü"));
        assert!(decode_properties("é\u{1}").is_empty());
    }

    #[test]
    fn property_value_without_alloc() {
        let s = encode_properties(&[("TAGS", "TagA"), ("WAIT", "false")]);
        assert_eq!(property_value(&s, TAGS), Some("TagA"));
        assert_eq!(property_value(&s, WAIT), Some("false"));
        assert_eq!(property_value(&s, KEYS), None);
    }

    #[test]
    fn property_value_agrees_with_the_pair_by_pair_parse() {
        use rand::{Rng, SeedableRng};
        let reference = |s: &str, key: &str| {
            iter_properties(s)
                .filter(|(k, _)| *k == key)
                .last()
                .map(|(_, v)| v.to_owned())
        };
        let alphabet = ['A', 'B', 'é', NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR];
        let keys = [
            "A", "B", "AB", "BA", "AA", "Aé", "é", "", "A\u{1}", "B\u{2}A",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..20_000 {
            let len = rng.random_range(0..24);
            let s: String = (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect();
            for key in keys {
                assert_eq!(
                    property_value(&s, key).map(str::to_owned),
                    reference(&s, key),
                    "{s:?} {key:?}"
                );
            }
        }
    }

    #[test]
    fn insert_replace_remove() {
        let mut p = Properties::new();
        assert_eq!(p.insert("a", "1"), None);
        assert_eq!(p.insert("b", "2"), None);
        assert_eq!(p.insert("a", "3"), Some("1".to_owned()));
        assert_eq!(p.encode(), "a\u{1}3\u{2}b\u{1}2\u{2}");
        assert_eq!(p.remove("a"), Some("3".to_owned()));
        assert!(!p.contains_key("a"));
        assert_eq!(p.len(), 1);
        assert_eq!(format!("{p:?}"), "{\"b\": \"2\"}");
    }
}
