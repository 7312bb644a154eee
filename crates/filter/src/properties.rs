//! Where a filter reads message properties from.
//!
//! The Java broker evaluates against `MessageEvaluationContext`, a `Map<String, String>` of the
//! stored properties (user properties plus system ones such as `TAGS` and `KEYS`), so every
//! property value is a string and a missing key is `null`.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

/// Looks up message properties by name.
pub trait PropertySource {
    /// The value of property `key`, or `None` when the message does not have it.
    fn get(&self, key: &str) -> Option<&str>;
}

impl<T: PropertySource + ?Sized> PropertySource for &T {
    fn get(&self, key: &str) -> Option<&str> {
        (**self).get(key)
    }
}

impl<S: BuildHasher> PropertySource for HashMap<String, String, S> {
    fn get(&self, key: &str) -> Option<&str> {
        HashMap::get(self, key).map(String::as_str)
    }
}

impl PropertySource for BTreeMap<String, String> {
    fn get(&self, key: &str) -> Option<&str> {
        BTreeMap::get(self, key).map(String::as_str)
    }
}

/// A stored properties string read in place, without building a map.
///
/// ```text
/// name U+0001 value U+0002 name U+0001 value U+0002 ...
/// ```
///
/// Read as Java's `MessageDecoder.string2messageProperties` (RocketMQ 5.x) reads it: split on
/// U+0002; a segment counts only when its first U+0001 is neither its first nor its last
/// character, so name and value are both non-empty; the value runs to the end of the segment
/// (a further U+0001 is part of it); a later duplicate name replaces an earlier one. Each
/// lookup scans the string once, which for the few hundred bytes of a message's properties is
/// cheaper than building a map for the two or three names an expression uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedProperties<'a> {
    raw: &'a str,
}

impl<'a> EncodedProperties<'a> {
    /// Wraps a properties string as stored in the commit log (decoded as UTF-8).
    pub fn new(raw: &'a str) -> Self {
        EncodedProperties { raw }
    }
}

impl PropertySource for EncodedProperties<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        // A name is non-empty and holds neither separator, so such a key never matches; for
        // any other key, "segment starts with key + U+0001" is "the name before the first
        // U+0001 is key".
        if key.is_empty() || key.contains(['\u{1}', '\u{2}']) {
            return None;
        }
        let mut found = None;
        for segment in self.raw.split('\u{2}') {
            let value = segment
                .strip_prefix(key)
                .and_then(|rest| rest.strip_prefix('\u{1}'));
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                found = Some(value);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_properties_read_like_string2message_properties() {
        let props = EncodedProperties::new("TAGS\u{1}tagA\u{2}a\u{1}10\u{2}");
        assert_eq!(props.get("TAGS"), Some("tagA"));
        assert_eq!(props.get("a"), Some("10"));
        assert_eq!(props.get("b"), None);
        assert_eq!(props.get(""), None);
    }

    #[test]
    fn encoded_properties_skip_segments_java_skips() {
        // empty value, empty name, no separator, and a missing trailing U+0002
        let props =
            EncodedProperties::new("e\u{1}\u{2}\u{1}v\u{2}junk\u{2}x\u{1}y\u{1}z\u{2}t\u{1}1");
        assert_eq!(props.get("e"), None);
        assert_eq!(props.get("junk"), None);
        assert_eq!(props.get("x"), Some("y\u{1}z"));
        assert_eq!(props.get("t"), Some("1"));
    }

    #[test]
    fn keys_with_separators_never_match() {
        let props = EncodedProperties::new("a\u{1}b\u{1}c\u{2}");
        assert_eq!(props.get("a"), Some("b\u{1}c"));
        assert_eq!(props.get("a\u{1}b"), None);
    }

    #[test]
    fn encoded_properties_let_the_last_duplicate_win() {
        let props = EncodedProperties::new("a\u{1}1\u{2}a\u{1}2\u{2}a\u{1}\u{2}");
        assert_eq!(props.get("a"), Some("2"));
    }

    #[test]
    fn maps_are_sources() {
        let mut map = HashMap::new();
        map.insert("a".to_string(), "1".to_string());
        let tree: BTreeMap<_, _> = map.clone().into_iter().collect();
        assert_eq!(PropertySource::get(&map, "a"), Some("1"));
        assert_eq!(PropertySource::get(&tree, "a"), Some("1"));
        assert_eq!(PropertySource::get(&&map, "b"), None);
    }
}
