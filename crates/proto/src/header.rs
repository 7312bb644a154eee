//! Ext fields and typed headers.
//!
//! Every RocketMQ header is a flat set of string fields named exactly like the Java field. A typed
//! header implements [`CommandHeader`], normally through the [`define_header!`] macro, which maps
//! each Rust field to its wire key and type. Required fields that are absent are a
//! [`ProtoError::MissingField`]; values that do not parse are [`ProtoError::InvalidField`].

use compact_str::CompactString;

use crate::ProtoError;

/// The custom header fields of a command, in insertion order; keys are unique.
///
/// Keys and values up to 24 bytes (nearly all of them: field names, numbers, topics, groups)
/// live inline, so decoding a header allocates only for long values such as properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtFields(Vec<(CompactString, CompactString)>);

impl ExtFields {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| same_key(k, key))
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key` to `value`, replacing an earlier value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.set(
            CompactString::from(key.into()),
            CompactString::from(value.into()),
        );
    }

    /// [`ExtFields::insert`] from borrowed text: no allocation for short keys and values.
    pub fn insert_str(&mut self, key: &str, value: &str) {
        match self.0.iter_mut().find(|(k, _)| same_key(k, key)) {
            Some(slot) => slot.1 = CompactString::new(value),
            None => self
                .0
                .push((CompactString::new(key), CompactString::new(value))),
        }
    }

    /// An empty set with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        ExtFields(Vec::with_capacity(n))
    }

    /// Appends a field whose key the caller knows is not present (no search).
    pub(crate) fn push_new(&mut self, key: CompactString, value: CompactString) {
        debug_assert!(self.get(&key).is_none(), "push_new of a present key");
        self.0.push((key, value));
    }

    pub(crate) fn set(&mut self, key: CompactString, value: CompactString) {
        match self.0.iter_mut().find(|(k, _)| same_key(k, &key)) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let pos = self.0.iter().position(|(k, _)| same_key(k, key))?;
        Some(self.0.remove(pos).1.into_string())
    }

    /// Iterates over `(key, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Builds the ext fields of a header being decoded: a key seen before replaces its value (as
/// Java's `HashMap` does), a new key is appended without comparing it with every key before it.
#[derive(Debug)]
pub(crate) struct ExtBuilder {
    ext: ExtFields,
    /// One bit per key seen, chosen by [`key_bit`]: a key whose bit is clear is new (13 keys in a
    /// send made the search for an earlier one a sixth of the header's cost).
    seen: u64,
}

impl ExtBuilder {
    /// Room for `n` fields, allocated once.
    pub(crate) fn with_capacity(n: usize) -> Self {
        ExtBuilder {
            ext: ExtFields::with_capacity(n),
            seen: 0,
        }
    }

    /// Fields so far.
    pub(crate) fn len(&self) -> usize {
        self.ext.len()
    }

    /// Sets `key` to `value`.
    #[inline]
    pub(crate) fn put(&mut self, key: &str, value: CompactString) {
        if self.maybe_seen(key) {
            self.ext.set(CompactString::new(key), value);
        } else {
            self.ext.push_new(CompactString::new(key), value);
        }
    }

    /// Removes `key` (a JSON null: a later null must not leave an earlier value behind).
    pub(crate) fn remove(&mut self, key: &str) {
        if self.maybe_seen(key) {
            self.ext.remove(key);
        }
    }

    /// The fields.
    pub(crate) fn finish(self) -> ExtFields {
        self.ext
    }

    /// Marks `key` seen; false when it surely was not before.
    #[inline]
    fn maybe_seen(&mut self, key: &str) -> bool {
        let bit = key_bit(key);
        let seen = self.seen & bit != 0;
        self.seen |= bit;
        seen
    }
}

/// The bit of `key` in [`ExtBuilder`]'s set of keys seen.
///
/// The one-letter keys of SEND_MESSAGE_V2 (`a` to `m`) must get bits of their own: a plain sum
/// of the bytes put them on 8 bits, and 5 of a send's 13 fields went through the search. The
/// Fibonacci multiply spreads neighbouring values over the top six bits.
#[inline]
pub(crate) fn key_bit(key: &str) -> u64 {
    let b = key.as_bytes();
    let (first, last) = (b.first().copied(), b.last().copied());
    let h = (u32::from(first.unwrap_or(0)) * 31 + u32::from(last.unwrap_or(0))) * 17
        + (b.len() as u32 & 0xffff);
    1 << (h.wrapping_mul(0x9E37_79B9) >> 26)
}

/// Key equality with the cheap tests first: headers are looked up a dozen times per request,
/// their keys mostly differ in length or first byte (the short send keys are `a` to `n`), and
/// a plain comparison would call `memcmp` for each.
#[inline]
fn same_key(k: &str, key: &str) -> bool {
    let (a, b) = (k.as_bytes(), key.as_bytes());
    a.len() == b.len() && a.first() == b.first() && a == b
}

/// A typed view of a command's ext fields.
pub trait CommandHeader: Sized {
    /// Reads the header; errors name the offending field.
    fn read(ext: &ExtFields) -> Result<Self, ProtoError>;
    /// Writes every present field.
    fn write(&self, ext: &mut ExtFields);
}

/// The empty header, for commands that carry only base fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoHeader;

impl CommandHeader for NoHeader {
    fn read(_: &ExtFields) -> Result<Self, ProtoError> {
        Ok(NoHeader)
    }
    fn write(&self, _: &mut ExtFields) {}
}

/// A value that travels as one ext field.
pub trait ExtValue: Sized {
    /// Reads `key`; `Ok(None)` when absent.
    fn parse(key: &'static str, raw: &str) -> Result<Self, ProtoError>;
    /// Renders as Java's `toString()` would.
    fn render(&self) -> String;
    /// [`ExtValue::render`] into a string that holds short text inline (no allocation).
    fn render_compact(&self) -> CompactString {
        CompactString::from(self.render())
    }
}

fn invalid(field: &'static str, raw: &str) -> ProtoError {
    ProtoError::InvalidField {
        field,
        value: raw.to_owned(),
    }
}

impl ExtValue for String {
    fn parse(_: &'static str, raw: &str) -> Result<Self, ProtoError> {
        Ok(raw.to_owned())
    }
    fn render(&self) -> String {
        self.clone()
    }
    fn render_compact(&self) -> CompactString {
        CompactString::new(self)
    }
}

/// Short text (names, topics, groups) held inline up to 24 bytes: no allocation to read it.
impl ExtValue for CompactString {
    fn parse(_: &'static str, raw: &str) -> Result<Self, ProtoError> {
        Ok(CompactString::new(raw))
    }
    fn render(&self) -> String {
        self.to_string()
    }
    fn render_compact(&self) -> CompactString {
        self.clone()
    }
}

macro_rules! ext_number {
    ($($t:ty),*) => {$(
        impl ExtValue for $t {
            fn parse(key: &'static str, raw: &str) -> Result<Self, ProtoError> {
                raw.trim().parse::<$t>().map_err(|_| invalid(key, raw))
            }
            fn render(&self) -> String {
                self.to_string()
            }
            fn render_compact(&self) -> CompactString {
                CompactString::new(itoa::Buffer::new().format(*self))
            }
        }
    )*};
}
ext_number!(i32, i64);

impl ExtValue for bool {
    fn parse(_: &'static str, raw: &str) -> Result<Self, ProtoError> {
        // Java `Boolean.parseBoolean`: any case of "true" is true, everything else false.
        Ok(raw.eq_ignore_ascii_case("true"))
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

/// Reads a required field.
pub fn required<T: ExtValue>(ext: &ExtFields, key: &'static str) -> Result<T, ProtoError> {
    required_raw(ext.get(key), key)
}

/// Reads an optional field.
pub fn optional<T: ExtValue>(ext: &ExtFields, key: &'static str) -> Result<Option<T>, ProtoError> {
    optional_raw(ext.get(key), key)
}

/// A required field from the raw value of `key` (`None`: the header does not hold it).
fn required_raw<T: ExtValue>(raw: Option<&str>, key: &'static str) -> Result<T, ProtoError> {
    match raw {
        Some(raw) => T::parse(key, raw),
        None => Err(ProtoError::MissingField { field: key }),
    }
}

/// An optional field from the raw value of `key`.
fn optional_raw<T: ExtValue>(
    raw: Option<&str>,
    key: &'static str,
) -> Result<Option<T>, ProtoError> {
    raw.map(|raw| T::parse(key, raw)).transpose()
}

/// Field kinds used by [`define_header!`]: a plain type is required, `Option<T>` optional.
pub trait HeaderField: Sized {
    /// The field from the raw value of `key`, `None` when the header does not hold it.
    fn from_raw(raw: Option<&str>, key: &'static str) -> Result<Self, ProtoError>;
    /// Writes the field when present.
    fn write_field(&self, ext: &mut ExtFields, key: &'static str);
}

impl<T: ExtValue> HeaderField for Option<T> {
    fn from_raw(raw: Option<&str>, key: &'static str) -> Result<Self, ProtoError> {
        optional_raw(raw, key)
    }
    fn write_field(&self, ext: &mut ExtFields, key: &'static str) {
        if let Some(v) = self {
            ext.set(CompactString::const_new(key), v.render_compact());
        }
    }
}

macro_rules! required_field {
    ($($t:ty),*) => {$(
        impl HeaderField for $t {
            fn from_raw(raw: Option<&str>, key: &'static str) -> Result<Self, ProtoError> {
                required_raw(raw, key)
            }
            fn write_field(&self, ext: &mut ExtFields, key: &'static str) {
                ext.set(CompactString::const_new(key), self.render_compact());
            }
        }
    )*};
}
required_field!(String, CompactString, i32, i64, bool);

/// Defines a header struct and its [`CommandHeader`] impl.
///
/// ```ignore
/// define_header! {
///     /// GET_MAX_OFFSET request.
///     pub struct GetMaxOffsetRequestHeader {
///         topic: String = "topic",
///         queue_id: i32 = "queueId",
///         committed: Option<bool> = "committed",
///     }
/// }
/// ```
#[macro_export]
macro_rules! define_header {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty = $key:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $crate::header::CommandHeader for $name {
            fn read(ext: &$crate::header::ExtFields) -> Result<Self, $crate::ProtoError> {
                // One pass over the ext fields, each key matched against this header's keys,
                // instead of a search of the fields for every key (a send's 14 searches cost
                // about 1,500 instructions).
                $(let mut $field: Option<&str> = None;)*
                for (key, value) in ext.iter() {
                    match key {
                        $($key => $field = Some(value),)*
                        _ => {}
                    }
                }
                Ok($name {
                    $($field: <$ty as $crate::header::HeaderField>::from_raw($field, $key)?,)*
                })
            }
            fn write(&self, ext: &mut $crate::header::ExtFields) {
                $(<$ty as $crate::header::HeaderField>::write_field(&self.$field, ext, $key);)*
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    define_header! {
        /// Test header.
        pub struct Sample {
            topic: String = "topic",
            queue_id: i32 = "queueId",
            offset: Option<i64> = "offset",
            flag: bool = "flag",
        }
    }

    #[test]
    fn round_trip_and_errors() {
        let h = Sample {
            topic: "T".into(),
            queue_id: 3,
            offset: None,
            flag: true,
        };
        let mut ext = ExtFields::default();
        h.write(&mut ext);
        assert_eq!(ext.get("offset"), None);
        assert_eq!(Sample::read(&ext).unwrap(), h);

        ext.remove("queueId");
        assert!(matches!(
            Sample::read(&ext),
            Err(ProtoError::MissingField { field: "queueId" })
        ));
        ext.insert("queueId", "x");
        assert!(matches!(
            Sample::read(&ext),
            Err(ProtoError::InvalidField {
                field: "queueId",
                ..
            })
        ));
        ext.insert("queueId", "4");
        ext.insert("flag", "TRUE");
        assert!(Sample::read(&ext).unwrap().flag);
        ext.insert("flag", "yes");
        assert!(!Sample::read(&ext).unwrap().flag);
    }
}
