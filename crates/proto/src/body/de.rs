//! Tolerant field decoders for bodies that non-Java clients write.
//!
//! fastjson converts between strings and numbers and treats `null` as "not set"; the C++ client
//! (jsoncpp) writes `subVersion` as a string and the Go client writes `codeSet` entries as strings
//! and nil slices as `null`. These helpers give the same leniency where it has been seen.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::Deserialize;

/// `null` decodes as `T::default()`, anything else as a `T`.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An integer written as a number or as a decimal string; `null` is 0.
pub(crate) fn lenient_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_any(LenientI64)
}

/// A set of Java `int`s whose entries may be numbers or decimal strings; `null` is empty.
///
/// Values outside the `i32` range keep their low 32 bits, as a Java `(int)` cast would: a client
/// that computes tag hash codes as unsigned 32-bit numbers then matches the Java hash codes.
pub(crate) fn lenient_i32_set<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeSet<i32>, D::Error> {
    let entries = Option::<Vec<LenientEntry>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(entries
        .into_iter()
        .map(|LenientEntry(v)| v as i32)
        .collect())
}

struct LenientEntry(i64);

impl<'de> Deserialize<'de> for LenientEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        lenient_i64(deserializer).map(LenientEntry)
    }
}

struct LenientI64;

impl Visitor<'_> for LenientI64 {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a string holding one")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        v.trim()
            .parse()
            .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
    }

    fn visit_unit<E: de::Error>(self) -> Result<i64, E> {
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "lenient_i64")]
        n: i64,
        #[serde(deserialize_with = "lenient_i32_set")]
        set: BTreeSet<i32>,
        #[serde(deserialize_with = "nullable")]
        list: Vec<String>,
    }

    #[test]
    fn numbers_strings_and_null_are_accepted() {
        let p: Probe =
            serde_json::from_str(r#"{"n":"1700000000000","set":[1,"2",4294967295],"list":null}"#)
                .unwrap();
        assert_eq!(p.n, 1_700_000_000_000);
        assert_eq!(p.set, BTreeSet::from([-1, 1, 2]));
        assert!(p.list.is_empty());
        let p: Probe = serde_json::from_str(r#"{"n":null,"set":null,"list":["a"]}"#).unwrap();
        assert_eq!(p.n, 0);
        assert!(p.set.is_empty());
        assert_eq!(p.list, ["a"]);
    }

    #[test]
    fn non_numeric_strings_are_rejected() {
        assert!(serde_json::from_str::<Probe>(r#"{"n":"x","set":[],"list":[]}"#).is_err());
        assert!(serde_json::from_str::<Probe>(r#"{"n":1,"set":["x"],"list":[]}"#).is_err());
        assert!(serde_json::from_str::<Probe>(r#"{"n":1.5,"set":[],"list":[]}"#).is_err());
    }
}
