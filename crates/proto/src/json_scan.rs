//! A single-pass reader for the JSON headers clients actually send.
//!
//! Every RocketMQ client writes the same flat shape: an object of integers and plain strings with
//! one nested object of plain strings (`extFields`). Going through serde costs a visitor call, a
//! key match and a type dispatch per field; this scanner reads that shape straight into a
//! [`RemotingCommand`] with no allocation beyond the ext-field table and long values (which
//! [`ExtFields`] keeps inline up to 24 bytes).
//!
//! It accepts a strict subset of what the serde decoder accepts, and for that subset produces
//! exactly what the serde decoder produces (the `header_json` fuzz target checks both agree).
//! Anything else — floats, nested values, duplicate fields, non-canonical numbers, surrogate
//! escapes, keys with escapes, errors of any kind — makes it return `None`, and the caller
//! decodes with serde, which gives the real value or the real error.

use std::borrow::Cow;

use compact_str::CompactString;

use crate::bytescan;
use crate::command::{LanguageCode, RemotingCommand, SerializeType, MAX_EXT_FIELDS};
use crate::header::{ExtBuilder, ExtFields};
use crate::stop_index::StopIndex;

/// Room for the largest common header (a send has 14 fields): one allocation, no regrowth.
const EXT_CAPACITY: usize = 16;

/// Decodes `header` when it has the common flat shape; `None` sends the caller to serde.
pub(crate) fn decode(header: &[u8]) -> Option<RemotingCommand> {
    // Checked once for the whole header (serde refuses what is not UTF-8): every string the
    // scanner returns then lies between ASCII quotes, so slicing the text cannot fail. The
    // index of run ends, when the header has one, also says whether it is all ASCII.
    let (index, text) = match StopIndex::build(header) {
        Some((index, Some(ascii))) => (Some(index), ascii),
        Some((index, None)) => (Some(index), std::str::from_utf8(header).ok()?),
        None => (None, std::str::from_utf8(header).ok()?),
    };
    let mut s = Scanner {
        t: text,
        b: header,
        i: 0,
        index,
    };
    let mut cmd = RemotingCommand {
        language: LanguageCode::JAVA,
        serialize_type: SerializeType::Json,
        ..Default::default()
    };
    // Bits of the known fields seen: serde refuses a duplicate field.
    let mut seen = 0u8;
    s.expect(b'{')?;
    if !s.eat(b'}') {
        loop {
            let key = s.plain_string()?;
            s.expect(b':')?;
            let bit = match key {
                "code" => {
                    cmd.code = s.int_i32()?;
                    1
                }
                "version" => {
                    cmd.version = s.int_i32()?;
                    2
                }
                "opaque" => {
                    cmd.opaque = s.int_i32()?;
                    4
                }
                "flag" => {
                    cmd.flag = s.int_i32()?;
                    8
                }
                "language" => {
                    cmd.language = match s.value()? {
                        Value::Str(name) => LanguageCode::from_name(&name),
                        Value::Int(text) => LanguageCode(text.parse::<u8>().ok()?),
                        Value::Null => LanguageCode::JAVA,
                        Value::Bool(_) => return None,
                    };
                    16
                }
                "remark" => {
                    cmd.remark = match s.value()? {
                        Value::Str(r) if !r.is_empty() => Some(r.into_owned()),
                        Value::Str(_) | Value::Null => None,
                        Value::Int(_) | Value::Bool(_) => return None,
                    };
                    32
                }
                "extFields" => {
                    if !s.literal(b"null") {
                        cmd.ext_fields = s.ext_fields()?;
                    }
                    64
                }
                // Ignored, as serde ignores unknown fields (`serializeTypeCurrentRPC`).
                _ => {
                    s.value()?;
                    0
                }
            };
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            if s.eat(b'}') {
                break;
            }
            s.expect(b',')?;
        }
    }
    s.skip_ws();
    (s.i == s.b.len()).then_some(cmd)
}

/// A scalar value in its JSON text form.
enum Value<'a> {
    Str(Cow<'a, str>),
    /// A canonical integer literal that fits an `i64` or a `u64` (and is not `-0`).
    Int(&'a str),
    Bool(bool),
    Null,
}

struct Scanner<'a> {
    /// The header as text; `b` is the same bytes.
    t: &'a str,
    b: &'a [u8],
    i: usize,
    /// Where the header's runs end, found in one pass (headers up to 1 KiB on x86-64).
    index: Option<StopIndex>,
}

impl<'a> Scanner<'a> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// Skips whitespace and consumes `c` when it comes next.
    #[inline(always)]
    fn eat(&mut self, c: u8) -> bool {
        // Clients write no whitespace between tokens: look for `c` itself first.
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            return true;
        }
        self.skip_ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        self.eat(c).then_some(())
    }

    /// Skips whitespace and consumes `word` when it comes next.
    fn literal(&mut self, word: &[u8]) -> bool {
        self.skip_ws();
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    /// The length of the run of string bytes from `from` up to the next quote or backslash;
    /// `None` when the string is not closed or the run holds a raw control character (which
    /// serde refuses).
    #[inline(always)]
    fn plain_run(&self, from: usize) -> Option<usize> {
        if let Some(index) = &self.index {
            // The run ends at the first stop byte, unless that is a control byte (serde refuses).
            let at = index.next(from)?;
            return (self.b[at] >= 0x20).then_some(at - from);
        }
        self.plain_run_scan(from)
    }

    /// [`Scanner::plain_run`] without an index: a search from `from`.
    #[inline(never)]
    fn plain_run_scan(&self, from: usize) -> Option<usize> {
        // Most strings of a header are short (keys, numbers, names): a word at a time finds
        // their end sooner than setting up a vector search, and sooner than a byte loop.
        let rest = &self.b[from..];
        let stop =
            |w| bytescan::equal(w, b'"') | bytescan::equal(w, b'\\') | bytescan::below(w, 0x20);
        let n = match bytescan::find_short(rest, stop, stops_run) {
            // The run ends at the first stop byte, unless that is a control byte (serde refuses).
            Ok(found) => return found.filter(|&at| rest[at] >= 0x20),
            Err(n) => n,
        };
        let run = n + memchr::memchr2(b'"', b'\\', &rest[n..])?;
        // No early exit, so the compiler checks whole vectors of bytes at a time.
        let control = rest[n..run].iter().fold(false, |any, &c| any | (c < 0x20));
        (!control).then_some(run)
    }

    /// A string: borrowed when it has no escapes, unescaped into a new one when it has (the
    /// properties value always has: its separators travel as `\u0001` and `\u0002`). Control
    /// characters, lone surrogates and bad escapes, which serde refuses, are left to serde.
    #[inline(always)]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.expect(b'"')?;
        let start = self.i;
        let end = start + self.plain_run(start)?;
        if self.b[end] == b'"' {
            self.i = end + 1;
            return self.t.get(start..end).map(Cow::Borrowed);
        }
        self.escaped_string(start, end).map(Cow::Owned)
    }

    /// A string without escapes, borrowed from the header; `None` (serde decides) when it has
    /// one.
    #[inline(always)]
    fn plain_string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.i;
        let end = start + self.plain_run(start)?;
        if self.b[end] != b'"' {
            return None;
        }
        self.i = end + 1;
        self.t.get(start..end)
    }

    /// The rest of [`Scanner::string`] for a string with escapes, whose first plain run ends at
    /// `end`; out of line, as most strings have none.
    #[inline(never)]
    fn escaped_string(&mut self, start: usize, end: usize) -> Option<String> {
        // Built as text from the start: each plain run is a slice of the checked header cut
        // next to ASCII stop bytes, and each escape adds a whole char, so the result needs no
        // second UTF-8 check.
        let len = end - start;
        let mut out = String::with_capacity(len + 64);
        let mut i = start;
        loop {
            let run = self.plain_run(i)?;
            out.push_str(self.t.get(i..i + run)?);
            i += run;
            match self.b[i] {
                b'"' => break,
                b'\\' => {
                    let esc = *self.b.get(i + 1)?;
                    i += 2;
                    let c = match esc {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let unit = hex4(self.b.get(i..i + 4)?)?;
                            i += 4;
                            // A surrogate (half of a pair, or alone) is left to serde; the
                            // properties' separators (`\u0001`, `\u0002`) are single bytes.
                            char::from_u32(unit)?
                        }
                        _ => return None,
                    };
                    out.push(c);
                }
                _ => return None, // not reached: a plain run ends at one of the two
            }
        }
        self.i = i + 1;
        Some(out)
    }

    /// A canonical integer: `-?(0|[1-9][0-9]*)`, not `-0`, within `i64` or `u64`. Its text is
    /// then exactly how serde's decoder prints the number it reads.
    fn int(&mut self) -> Option<&'a str> {
        let (start, negative) = self.canonical_int()?;
        // Digits only: the text is ASCII.
        let text = self.t.get(start..self.i)?;
        let fits = if negative {
            text.parse::<i64>().is_ok()
        } else {
            text.parse::<u64>().is_ok()
        };
        fits.then_some(text)
    }

    /// Consumes a canonical integer literal (see [`Scanner::int`], without the range check);
    /// returns where it starts and whether it is negative.
    fn canonical_int(&mut self) -> Option<(usize, bool)> {
        self.skip_ws();
        let start = self.i;
        let negative = self.b.get(self.i) == Some(&b'-');
        if negative {
            self.i += 1;
        }
        let digits = self.b[self.i..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let first = *self.b.get(self.i)?;
        if digits == 0 || (first == b'0' && (digits > 1 || negative)) {
            return None;
        }
        self.i += digits;
        if let Some(b'.' | b'e' | b'E') = self.b.get(self.i) {
            return None;
        }
        Some((start, negative))
    }

    /// A canonical integer within `i32` (what serde reads into an `i32` field), read in one
    /// pass over its digits.
    fn int_i32(&mut self) -> Option<i32> {
        let (start, negative) = self.canonical_int()?;
        let digits = &self.b[start + usize::from(negative)..self.i];
        // Eleven digits or more never fit; ten fit in an i64 without overflow.
        if digits.len() > 10 {
            return None;
        }
        let magnitude = digits
            .iter()
            .fold(0i64, |v, &d| v * 10 + i64::from(d - b'0'));
        i32::try_from(if negative { -magnitude } else { magnitude }).ok()
    }

    #[inline(always)]
    fn value(&mut self) -> Option<Value<'a>> {
        self.skip_ws();
        match self.b.get(self.i)? {
            b'"' => self.string().map(Value::Str),
            b'-' | b'0'..=b'9' => self.int().map(Value::Int),
            b't' => self.literal(b"true").then_some(Value::Bool(true)),
            b'f' => self.literal(b"false").then_some(Value::Bool(false)),
            b'n' => self.literal(b"null").then_some(Value::Null),
            _ => None,
        }
    }

    /// The `extFields` object: values become text as the serde decoder makes them, a null
    /// removes the key.
    fn ext_fields(&mut self) -> Option<ExtFields> {
        let mut ext = ExtBuilder::with_capacity(EXT_CAPACITY);
        self.expect(b'{')?;
        if self.eat(b'}') {
            return Some(ext.finish());
        }
        loop {
            if ext.len() >= MAX_EXT_FIELDS {
                return None;
            }
            // Keys are plain text in every client; one with an escape is left to serde.
            let key = self.plain_string()?;
            self.expect(b':')?;
            let value = if self.b.get(self.i) == Some(&b'"') {
                // The common value, a string, read here rather than through `value`.
                self.i += 1;
                let start = self.i;
                let end = start + self.plain_run(start)?;
                if self.b[end] == b'"' {
                    self.i = end + 1;
                    Some(CompactString::new(self.t.get(start..end)?))
                } else {
                    // Keeps the unescaped string's buffer (long text) instead of copying it.
                    Some(CompactString::from(self.escaped_string(start, end)?))
                }
            } else {
                match self.value()? {
                    Value::Str(Cow::Borrowed(v)) | Value::Int(v) => Some(CompactString::new(v)),
                    Value::Str(Cow::Owned(v)) => Some(CompactString::from(v)),
                    Value::Bool(v) => {
                        Some(CompactString::const_new(if v { "true" } else { "false" }))
                    }
                    Value::Null => None,
                }
            };
            match value {
                Some(v) => ext.put(key, v),
                None => ext.remove(key),
            }
            if self.eat(b'}') {
                return Some(ext.finish());
            }
            self.expect(b',')?;
        }
    }
}

/// True for the bytes that end a plain run: a quote, a backslash or a control character.
fn stops_run(c: u8) -> bool {
    c == b'"' || c == b'\\' || c < 0x20
}

/// The value of four hex digits (either case), `None` if one is not a hex digit.
fn hex4(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |v, &d| {
        let n = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return None,
        };
        Some(v << 4 | u32::from(n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::decode_json_header_serde;
    use crate::header::key_bit;

    fn same_as_serde(json: &str) -> RemotingCommand {
        let fast = decode(json.as_bytes()).unwrap_or_else(|| panic!("fell back: {json}"));
        let general = decode_json_header_serde(json.as_bytes()).unwrap();
        assert_eq!(fast.code, general.code);
        assert_eq!(fast.language, general.language);
        assert_eq!(fast.version, general.version);
        assert_eq!(fast.opaque, general.opaque);
        assert_eq!(fast.flag, general.flag);
        assert_eq!(fast.remark, general.remark);
        assert_eq!(fast.ext_fields, general.ext_fields);
        fast
    }

    #[test]
    fn reads_what_clients_send() {
        // The Java client's SEND_MESSAGE_V2 header, and the C++ client's shape.
        let c = same_as_serde(
            r#"{"code":310,"extFields":{"a":"PG","b":"T","c":"TBW102","d":"4","e":"1","f":"0","g":"1700000000000","h":"0","i":"UNIQ_KEY\u0001AB\u0002","j":"0","k":"false","m":"false"},"flag":0,"language":"JAVA","opaque":12,"serializeTypeCurrentRPC":"JSON","version":479}"#,
        );
        assert_eq!(c.code, 310);
        assert_eq!(c.ext_fields.get("g"), Some("1700000000000"));
        assert_eq!(c.ext_fields.get("i"), Some("UNIQ_KEY\u{1}AB\u{2}"));
        let c = same_as_serde(
            r#"{"remark":"a\"b\\c\/d\b\f\n\r\t\u00e9\u0000","extFields":{"kA":"\u4e2d"}}"#,
        );
        assert_eq!(c.ext_fields.get("kA"), Some("\u{4e2d}"));
        let c = same_as_serde(
            r#" { "code" : 105 , "extFields" : { "topic" : "T" , "n" : 5 , "neg" : -7 , "b" : true , "x" : null , "d" : "1" , "d" : null } , "flag" : 0 , "language" : "CPP" , "opaque" : 0 , "remark" : "" , "version" : 63 } "#,
        );
        assert_eq!(c.language.name(), "CPP");
        assert_eq!(c.ext_fields.get("n"), Some("5"));
        assert_eq!(c.ext_fields.get("d"), None);
        same_as_serde(r#"{}"#);
        same_as_serde(r#"{"code":1,"language":12,"extFields":null,"remark":null}"#);
        same_as_serde(
            r#"{"code":-2147483648,"opaque":2147483647,"u":18446744073709551615,"i":-9223372036854775808}"#,
        );
    }

    /// The word-at-a-time search against the plain byte loop it replaced: every stop byte at
    /// every position of runs shorter and longer than the word-at-a-time part, after bytes just
    /// above and below the stop bytes (a borrow must not hide the first stop).
    #[test]
    fn plain_run_finds_the_first_stop_byte() {
        fn reference(b: &[u8]) -> Option<usize> {
            let at = b.iter().position(|&c| stops_run(c))?;
            (b[at] >= 0x20).then_some(at)
        }
        let fillers = [
            b'a', 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff,
        ];
        let stops = [b'"', b'\\', 0x00, 0x01, 0x1f];
        // Both ways of finding the end: run by run, and from the header's index.
        let scanner = |bytes: &[u8], indexed: bool| -> Option<usize> {
            let index = indexed
                .then(|| StopIndex::build(bytes).map(|(i, _)| i))
                .flatten();
            Scanner {
                t: "",
                b: bytes,
                i: 0,
                index,
            }
            .plain_run(0)
        };
        for indexed in [false, true] {
            for len in 0..80 {
                for filler in fillers {
                    let mut bytes = vec![filler; len];
                    let got = scanner(&bytes, indexed);
                    assert_eq!(got, reference(&bytes), "{len} × {filler:#x}");
                    for at in 0..len {
                        for stop in stops {
                            for second in stops {
                                bytes.fill(filler);
                                bytes[at] = stop;
                                if at + 1 < len {
                                    bytes[at + 1] = second;
                                }
                                let got = scanner(&bytes, indexed);
                                assert_eq!(got, reference(&bytes), "{bytes:?}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn repeated_and_colliding_ext_keys_end_as_serde_leaves_them() {
        // "ab" and "ab" repeat; "ab" and "axb"-like keys with the same length and end bytes
        // share a bit; a null after a value removes it; a null first removes nothing.
        assert_eq!(key_bit("ab"), key_bit("ab"));
        let v2: std::collections::HashSet<u64> = (b'a'..=b'm')
            .map(|c| key_bit(&char::from(c).to_string()))
            .collect();
        assert_eq!(v2.len(), 13, "SEND_MESSAGE_V2's keys each have a bit");
        assert_eq!(key_bit("acb"), key_bit("adb"));
        for json in [
            r#"{"extFields":{"ab":"1","acb":"2","adb":"3","ab":"4"}}"#,
            r#"{"extFields":{"acb":"1","adb":null,"acb":null,"adb":"2"}}"#,
            r#"{"extFields":{"x":null,"y":"1","x":"2","y":null,"y":"3"}}"#,
        ] {
            same_as_serde(json);
        }
        let c = same_as_serde(r#"{"extFields":{"acb":"1","adb":"2","acb":"5"}}"#);
        assert_eq!(c.ext_fields.len(), 2);
        assert_eq!(c.ext_fields.get("acb"), Some("5"));
        assert_eq!(c.ext_fields.get("adb"), Some("2"));
    }

    #[test]
    fn leaves_everything_unusual_to_serde() {
        for json in [
            r#"{"code":1,"code":2}"#,
            r#"{"code":1.0}"#,
            r#"{"code":1e3}"#,
            r#"{"code":-0}"#,
            r#"{"code":01}"#,
            r#"{"code":2147483648}"#,
            r#"{"code":"1"}"#,
            r#"{"remark":1}"#,
            r#"{"remark":"\ud800"}"#,
            r#"{"remark":"\ud83d\ude00"}"#,
            r#"{"remark":"\x"}"#,
            r#"{"remark":"\u12"}"#,
            r#"{"language":300}"#,
            r#"{"language":-1}"#,
            r#"{"language":true}"#,
            r#"{"extFields":{"k":1.5}}"#,
            r#"{"extFields":{"k":{"a":1}}}"#,
            r#"{"extFields":{"k":[1]}}"#,
            r#"{"extFields":{"k":18446744073709551616}}"#,
            r#"{"extFields":[]}"#,
            // Keys with escapes: no client writes them.
            r#"{"extFields":{"k\u0041":"v"}}"#,
            r#"{"c\u006fde":1}"#,
            r#"{"other":{"a":1}}"#,
            r#"{"code":1} x"#,
            r#"{"code":1,}"#,
            r#"{"code":1"#,
            r#"[1]"#,
            "{\"remark\":\"tab\there\"}",
            "",
        ] {
            assert!(decode(json.as_bytes()).is_none(), "{json}");
        }
        let mut many = String::from(r#"{"extFields":{"#);
        for i in 0..=MAX_EXT_FIELDS {
            many.push_str(&format!(r#""k{i}":"v","#));
        }
        many.push_str(r#""z":"v"}}"#);
        assert!(decode(many.as_bytes()).is_none());
        assert!(decode(b"{\"remark\":\"\xff\"}").is_none());
    }
}
