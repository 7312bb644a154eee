//! fastjson compatibility: turning what Java's fastjson 1.2.x writes into standard JSON, and
//! writing the one non-standard form Java admin tools receive from a Java broker.
//!
//! fastjson writes a map whose keys are not strings with the key's own JSON text in key position
//! (wire-protocol 4.0): a `Long` key as a bare number, `{0:"10.0.0.1:10911"}`, and a bean key such
//! as `MessageQueue` as an object, `{{"brokerName":"b","queueId":0,"topic":"T"}:{..}}`. Its reader
//! accepts those forms, quoted numbers, and a string holding the key object's JSON.
//!
//! [`normalize`] rewrites only object keys: a bare key gets quotes, an object (or array) key
//! becomes a JSON string holding its text, itself normalized. Everything else, whitespace
//! included, is copied untouched, so standard JSON comes back borrowed and unchanged.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::BodyError;

/// Deepest nesting accepted; serde_json stops at the same depth.
const MAX_DEPTH: usize = 128;

/// Turns a body in any of fastjson's forms into standard JSON.
///
/// Returns the text borrowed from `input` when it needed no rewrite, an owned rewrite otherwise.
/// Errors: [`BodyError::NotUtf8`], and [`BodyError::Syntax`] when the structure is broken
/// (unbalanced brackets, unterminated strings, missing `:` or `,`, end of input inside a value,
/// trailing text). Scalars are only delimited here; serde_json validates them afterwards.
pub fn normalize(input: &[u8]) -> Result<Cow<'_, str>, BodyError> {
    let text = std::str::from_utf8(input).map_err(|source| BodyError::NotUtf8 { source })?;
    let mut scanner = Scanner::new(text, 0);
    scanner.skip_ws();
    scanner.value(0)?;
    scanner.skip_ws();
    if scanner.pos != text.len() {
        return Err(scanner.error("trailing characters after the JSON value"));
    }
    Ok(scanner.finish(text.len()))
}

/// Normalizes `input` (see [`normalize`]) and decodes it as a `T`.
///
/// Errors: those of [`normalize`], and [`BodyError::Decode`] when the JSON does not fit `T`.
pub fn from_slice<T: DeserializeOwned>(input: &[u8]) -> Result<T, BodyError> {
    let text = normalize(input)?;
    serde_json::from_str(&text).map_err(|source| BodyError::Decode {
        body: short_type_name::<T>(),
        source,
    })
}

/// Encodes `value` as compact JSON (keys in field declaration order, which the body types keep
/// alphabetical like fastjson).
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, value);
    out
}

/// Appends `{K:V,...}` to `out`, every key written as its own JSON value instead of a string:
/// fastjson's default output for a `Map<MessageQueue, _>`. Entries keep the iterator's order.
pub fn write_object_key_map<'a, K, V, I>(out: &mut Vec<u8>, entries: I)
where
    K: Serialize + 'a,
    V: Serialize + 'a,
    I: IntoIterator<Item = (&'a K, &'a V)>,
{
    out.push(b'{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_value(out, key);
        out.push(b':');
        write_value(out, value);
    }
    out.push(b'}');
}

/// Appends the compact JSON of `value` to `out`.
pub fn write_value<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // serde_json fails only for map keys it cannot turn into strings and for Serialize impls that
    // return errors. Body types have string or integer keys and derived impls, so a failure here
    // is a bug in this module, never something a peer or a file can cause.
    serde_json::to_writer(out, value).expect("body types always serialize to JSON");
}

/// The last path segment of `T`'s name, for error messages.
fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    let without_generics = full.split('<').next().unwrap_or(full);
    without_generics.rsplit("::").next().unwrap_or(full)
}

/// A single pass over one JSON value that copies the text and rewrites object keys.
///
/// The output is built lazily: `out` holds the rewritten text up to `copied` in the input, and is
/// only touched by the first rewrite, so input that needs none is returned borrowed.
struct Scanner<'a> {
    text: &'a str,
    /// Offset of `text` within the whole body, for error positions.
    base: usize,
    pos: usize,
    out: String,
    copied: usize,
    rewritten: bool,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, base: usize) -> Self {
        Self {
            text,
            base,
            pos: 0,
            out: String::new(),
            copied: 0,
            rewritten: false,
        }
    }

    fn error(&self, reason: &'static str) -> BodyError {
        BodyError::Syntax {
            offset: self.base + self.pos,
            reason,
        }
    }

    fn end_of_input(&self) -> BodyError {
        self.error("unexpected end of body")
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Replaces `text[start..end]` by `replacement` in the output. Calls come in input order.
    fn replace(&mut self, start: usize, end: usize, replacement: &str) {
        self.out.push_str(&self.text[self.copied..start]);
        self.out.push_str(replacement);
        self.copied = end;
        self.rewritten = true;
    }

    /// Returns the output for `text[..end]`.
    fn finish(mut self, end: usize) -> Cow<'a, str> {
        if self.rewritten {
            self.out.push_str(&self.text[self.copied..end]);
            Cow::Owned(self.out)
        } else {
            Cow::Borrowed(&self.text[..end])
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), BodyError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        match self.peek() {
            None => Err(self.end_of_input()),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string(),
            Some(_) => self.scalar(),
        }
    }

    fn object(&mut self, depth: usize) -> Result<(), BodyError> {
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.key(depth)?;
            self.skip_ws();
            match self.peek() {
                Some(b':') => self.pos += 1,
                None => return Err(self.end_of_input()),
                Some(_) => return Err(self.error("expected ':' after an object key")),
            }
            self.skip_ws();
            self.value(depth + 1)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                None => return Err(self.end_of_input()),
                Some(_) => return Err(self.error("expected ',' or '}' in an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<(), BodyError> {
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.value(depth + 1)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                None => return Err(self.end_of_input()),
                Some(_) => return Err(self.error("expected ',' or ']' in an array")),
            }
        }
    }

    fn key(&mut self, depth: usize) -> Result<(), BodyError> {
        match self.peek() {
            None => Err(self.end_of_input()),
            Some(b'"') => self.string(),
            Some(b'{' | b'[') => self.composite_key(depth),
            Some(_) => self.bare_key(),
        }
    }

    /// `{..}:` or `[..]:` in key position becomes `"<escaped normalized text>":`.
    fn composite_key(&mut self, depth: usize) -> Result<(), BodyError> {
        let start = self.pos;
        let mut inner = Scanner::new(&self.text[start..], self.base + start);
        inner.value(depth + 1)?;
        let end = start + inner.pos;
        let inner_end = inner.pos;
        let key_text = inner.finish(inner_end);
        let literal = string_literal(&key_text);
        self.replace(start, end, &literal);
        self.pos = end;
        Ok(())
    }

    /// A bare key (`0`, `-1`, `abc`) gets quotes.
    fn bare_key(&mut self) -> Result<(), BodyError> {
        let start = self.pos;
        while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.' | b'_' | b'$'))
        {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("expected an object key"));
        }
        let quoted = format!("\"{}\"", &self.text[start..self.pos]);
        let end = self.pos;
        self.replace(start, end, &quoted);
        Ok(())
    }

    /// Skips a string, escapes included; the content is validated later by serde_json.
    fn string(&mut self) -> Result<(), BodyError> {
        let bytes = self.text.as_bytes();
        let mut at = self.pos + 1;
        loop {
            match bytes.get(at) {
                None => {
                    self.pos = bytes.len();
                    return Err(self.error("unterminated string"));
                }
                Some(b'"') => {
                    self.pos = at + 1;
                    return Ok(());
                }
                Some(b'\\') => at += 2,
                Some(_) => at += 1,
            }
        }
    }

    /// Skips a number or a literal (`true`, `false`, `null`).
    fn scalar(&mut self) -> Result<(), BodyError> {
        let start = self.pos;
        while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
        {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("unexpected character"));
        }
        Ok(())
    }
}

/// `text` as a JSON string literal, quotes included.
fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4 + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn norm(input: &str) -> String {
        normalize(input.as_bytes()).unwrap().into_owned()
    }

    #[test]
    fn standard_json_is_returned_borrowed_and_unchanged() {
        let inputs = [
            r#"{"a":1,"b":[1,2,{"c":"x\"y\\z"}],"d":{"0":"x"}}"#,
            " {\n\t\"a\" : [ ] , \"b\" : { } }\n",
            r#"[1,-2.5e3,true,false,null,"é"]"#,
            r#""just a string""#,
            "42",
        ];
        for input in inputs {
            let out = normalize(input.as_bytes()).unwrap();
            assert!(matches!(out, Cow::Borrowed(_)), "{input}");
            assert_eq!(out, input);
        }
    }

    #[test]
    fn bare_number_keys_get_quotes() {
        assert_eq!(norm(r#"{0:"a",1:"b"}"#), r#"{"0":"a","1":"b"}"#);
        assert_eq!(norm("{ 0 : 12 ,\n\t-1:3}"), "{ \"0\" : 12 ,\n\t\"-1\":3}");
        assert_eq!(
            norm(r#"{"offsetTable":{"T@g":{0:12,1:3}}}"#),
            r#"{"offsetTable":{"T@g":{"0":12,"1":3}}}"#
        );
    }

    #[test]
    fn object_keys_become_strings_holding_their_text() {
        let input = r#"{{"brokerName":"b","queueId":0,"topic":"T"}:{"maxOffset":1}}"#;
        let expected =
            r#"{"{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"T\"}":{"maxOffset":1}}"#;
        assert_eq!(norm(input), expected);
        let parsed: BTreeMap<String, serde_json::Value> = from_slice(input.as_bytes()).unwrap();
        assert_eq!(
            parsed.keys().next().map(String::as_str),
            Some(r#"{"brokerName":"b","queueId":0,"topic":"T"}"#)
        );
    }

    #[test]
    fn object_keys_holding_escapes_and_bare_keys_are_normalized_inside() {
        let input = r#"{{"n":"a\"b",m:{1:2}}:0}"#;
        let out = norm(input);
        let parsed: BTreeMap<String, i32> = serde_json::from_str(&out).unwrap();
        let key = parsed.keys().next().unwrap();
        assert_eq!(key, r#"{"n":"a\"b","m":{"1":2}}"#);
    }

    #[test]
    fn strings_that_look_like_keys_are_left_alone() {
        let input = r#"{"a":"{0:1}","b":["{x}:"]}"#;
        assert!(matches!(normalize(input.as_bytes()), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn broken_structure_is_an_error() {
        for input in [
            "",
            "   ",
            "{",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":1",
            "{\"a\":1,",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{\"a\":1]",
            "[1,2",
            "[1 2]",
            "\"abc",
            "\"abc\\",
            "{{\"a\":1}",
            "{{\"a\":1}:",
            "{0:1} x",
            "{:1}",
            "{\"a\":}",
        ] {
            assert!(
                normalize(input.as_bytes()).is_err(),
                "{input:?} was accepted"
            );
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        assert!(matches!(
            normalize(deep.as_bytes()),
            Err(BodyError::Syntax {
                reason: "nesting too deep",
                ..
            })
        ));
        let deep_keys = "{".repeat(100_000);
        assert!(normalize(deep_keys.as_bytes()).is_err());
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert!(matches!(
            normalize(b"{\"a\":\"\xff\"}"),
            Err(BodyError::NotUtf8 { .. })
        ));
    }

    #[test]
    fn object_key_maps_are_written_with_object_keys() {
        let mut map = BTreeMap::new();
        map.insert(1, "x");
        let mut out = Vec::new();
        write_object_key_map(&mut out, &map);
        assert_eq!(out, br#"{1:"x"}"#);
        let mut empty = Vec::new();
        write_object_key_map(&mut empty, &BTreeMap::<i32, i32>::new());
        assert_eq!(empty, b"{}");
    }

    #[test]
    fn decode_errors_name_the_body_type() {
        let err = from_slice::<BTreeMap<String, i32>>(br#"{"a":"x"}"#).unwrap_err();
        assert!(
            matches!(
                err,
                BodyError::Decode {
                    body: "BTreeMap",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
