//! Java-properties configuration files (`broker.conf`, `namesrv.conf`), read as RocketMQ reads
//! them (`java.util.Properties.load`):
//!
//! * `key=value`, `key: value` and `key value`; `#` and `!` comments; blank lines;
//! * a line ending in an odd number of backslashes continues on the next one, whose leading
//!   whitespace is skipped (an even number is that many halved, and no continuation);
//! * escapes in keys and values: `\t`, `\n`, `\r`, `\f`, `\uXXXX`, and a backslash before any
//!   other character stands for that character (`\=`, `\:`, `\ ` and `\\` put a separator,
//!   a space or a backslash into a key); a malformed `\uXXXX` makes the file invalid
//!   ([`Properties::check`]), as it makes Java's loader throw. So does a surrogate half that is
//!   not part of a pair, which Java would keep but Rust text cannot hold.
//!
//! Unlike Java, whitespace around a value is dropped: `listenPort=10911 ` is 10911.

use std::collections::BTreeMap;

/// One configuration file as ordered `key -> value` pairs (later duplicates win).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: BTreeMap<String, String>,
    /// The first line whose escapes Java refuses (a malformed `\uXXXX`), and why.
    malformed: Option<ConfigError>,
}

/// Why a setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value `{value}` for `{key}`: {reason}")]
pub struct ConfigError {
    /// The key.
    pub key: String,
    /// The value found.
    pub value: String,
    /// What was expected.
    pub reason: String,
}

impl Properties {
    /// Parses properties text. A malformed escape does not stop the parse (the line's key is
    /// kept with the text as written); [`Properties::check`] reports it.
    pub fn parse(text: &str) -> Properties {
        let mut props = Properties::default();
        let mut logical = String::new();
        let mut continued = false;
        // `lines` splits at `\n` and `\r\n`; Java also ends a line at a lone `\r`.
        for raw in text.lines().flat_map(|l| l.split('\r')) {
            let line = raw.trim_start_matches(JAVA_SPACE);
            if !continued && (line.is_empty() || line.starts_with(['#', '!'])) {
                continue;
            }
            let backslashes = line.len() - line.trim_end_matches('\\').len();
            continued = backslashes % 2 == 1;
            if continued {
                logical.push_str(&line[..line.len() - 1]);
                continue;
            }
            logical.push_str(line);
            props.add_line(&logical);
            logical.clear();
        }
        if !logical.is_empty() {
            props.add_line(&logical);
        }
        props
    }

    /// Adds one logical line: its key and value, unescaped.
    fn add_line(&mut self, line: &str) {
        let (key, value) = split_entry(line);
        match unescape(key).and_then(|k| Ok((k, unescape(value)?))) {
            Ok((k, v)) => {
                if !k.is_empty() {
                    self.entries.insert(k, v);
                }
            }
            Err(reason) => {
                self.malformed.get_or_insert(ConfigError {
                    key: key.to_owned(),
                    value: value.to_owned(),
                    reason,
                });
                self.entries.insert(key.to_owned(), value.to_owned());
            }
        }
    }

    /// The first malformed escape of the text, as the error that refuses the file.
    pub fn check(&self) -> Result<(), ConfigError> {
        match &self.malformed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Sets `key` (used for command-line overrides).
    pub fn set(&mut self, key: &str, value: &str) {
        self.entries.insert(key.to_owned(), value.to_owned());
    }

    /// Iterates over all entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Parses `key` as `T`, or `None` when absent; the error names the key and the value.
    pub fn parse_value<T: std::str::FromStr>(
        &self,
        key: &str,
        expected: &str,
    ) -> Result<Option<T>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.trim().parse::<T>().map(Some).map_err(|_| ConfigError {
                key: key.to_owned(),
                value: v.to_owned(),
                reason: format!("expected {expected}"),
            }),
        }
    }

    /// Parses `key` as a Java boolean (`true`/`false`, any case); anything else is an error.
    pub fn parse_bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if v.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ConfigError {
                key: key.to_owned(),
                value: v.to_owned(),
                reason: "expected true or false".into(),
            }),
        }
    }
}

/// `value` written so that [`Properties::parse`] and Java's loader read it back unchanged:
/// backslashes doubled, control characters as escapes, a leading space escaped, and every
/// character beyond ASCII as `\uXXXX` (Java reads a properties file as ISO-8859-1, so raw UTF-8
/// would come back garbled there).
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            ' ' if i == 0 => out.push_str("\\ "),
            c if c.is_control() || !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Java's whitespace between a key and its value: space, tab and form feed.
const JAVA_SPACE: [char; 3] = [' ', '\t', '\u{c}'];

/// The key and the value of a logical line, both still escaped. The key ends at the first
/// unescaped `=`, `:` or whitespace; then whitespace, at most one `=` or `:`, and whitespace again
/// are skipped.
fn split_entry(line: &str) -> (&str, &str) {
    let line = line.trim_start_matches(JAVA_SPACE);
    let mut escaped = false;
    let mut end = line.len();
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' || JAVA_SPACE.contains(&c) {
            end = i;
            break;
        }
    }
    let key = &line[..end];
    let mut rest = line[end..].trim_start_matches(JAVA_SPACE);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start_matches(JAVA_SPACE);
    }
    (key, rest.trim_end())
}

/// The four hex digits after `\\u`.
fn hex_unit(chars: &mut std::str::Chars<'_>) -> Result<u32, String> {
    let digits: String = chars.by_ref().take(4).collect();
    if digits.len() == 4 && digits.chars().all(|d| d.is_ascii_hexdigit()) {
        u32::from_str_radix(&digits, 16).map_err(|e| e.to_string())
    } else {
        Err(format!("malformed \\uxxxx escape `\\u{digits}`"))
    }
}

/// Java's unescaping of a key or a value (module docs); the error says what is malformed.
fn unescape(s: &str) -> Result<String, String> {
    if !s.contains('\\') {
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let mut unit = hex_unit(&mut chars)?;
                // Java text is UTF-16: a character beyond U+FFFF comes as two escapes.
                if (0xD800..0xDC00).contains(&unit) {
                    let mut after = chars.clone();
                    if let (Some('\\'), Some('u')) = (after.next(), after.next()) {
                        let low = hex_unit(&mut after)?;
                        if (0xDC00..0xE000).contains(&low) {
                            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                            chars = after;
                        }
                    }
                }
                // A surrogate half left alone cannot be Rust text; no setting could use it.
                out.push(char::from_u32(unit).ok_or_else(|| {
                    format!("\\u{unit:04X} is half of a surrogate pair, not a character")
                })?);
            }
            Some(other) => out.push(other),
            // A lone backslash at the very end (a continuation into nothing): Java drops it.
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rocketmq_broker_conf() {
        let p = Properties::parse(
            "# comment\nbrokerClusterName = DefaultCluster\nbrokerName=broker-a\n! other\nbrokerId:0\n\n  deleteWhen  04\nnamesrvAddr=127.0.0.1:9876;\\\n   127.0.0.2:9876\n",
        );
        assert_eq!(p.get("brokerClusterName"), Some("DefaultCluster"));
        assert_eq!(p.get("brokerName"), Some("broker-a"));
        assert_eq!(p.get("brokerId"), Some("0"));
        assert_eq!(p.get("deleteWhen"), Some("04"));
        assert_eq!(p.get("namesrvAddr"), Some("127.0.0.1:9876;127.0.0.2:9876"));
        assert_eq!(
            p.parse_value::<i64>("brokerId", "an integer").unwrap(),
            Some(0)
        );
        let err = p
            .parse_value::<i64>("brokerName", "an integer")
            .unwrap_err();
        assert!(err.to_string().contains("brokerName"));
    }

    /// What `java.util.Properties.load` makes of the same text (checked against the JDK's
    /// documented rules for keys, separators, continuations and escapes).
    #[test]
    fn reads_escapes_and_continuations_as_java_does() {
        let p = Properties::parse(concat!(
            "tabs=a\\tb\\nc\n",
            "path=C:\\\\store\\\\commitlog\n",
            "dropped=foo\\bar\n",
            "my\\=key=v\n",
            "my\\ key\\:2 = v2\n",
            "uni=\\u00e9\\u4E2D\\ud83d\\ude00\n",
            "even=ends with one backslash\\\\\n",
            "next=not part of even\n",
            "cont=a,\\\n",
            "    # not a comment here,\\\n",
            "  b\n",
            "\x0c  formfeed\x0c=ff\r",
            "cr=only\r\n",
            "empty\n",
            "   \n",
        ));
        assert_eq!(p.check(), Ok(()));
        assert_eq!(p.get("tabs"), Some("a\tb\nc"));
        assert_eq!(p.get("path"), Some("C:\\store\\commitlog"));
        assert_eq!(p.get("dropped"), Some("foobar"));
        assert_eq!(p.get("my=key"), Some("v"));
        assert_eq!(p.get("my key:2"), Some("v2"));
        assert_eq!(p.get("uni"), Some("\u{e9}\u{4e2d}\u{1f600}"));
        assert_eq!(p.get("even"), Some("ends with one backslash\\"));
        assert_eq!(p.get("next"), Some("not part of even"));
        assert_eq!(p.get("cont"), Some("a,# not a comment here,b"));
        assert_eq!(p.get("formfeed"), Some("ff"));
        assert_eq!(p.get("cr"), Some("only"));
        assert_eq!(p.get("empty"), Some(""));
        assert_eq!(p.iter().count(), 12);
    }

    #[test]
    fn escaped_values_read_back_unchanged() {
        for v in [
            "C:\\store\\",
            "a\tb\nc\r\u{c}",
            "\u{1}x\u{2}",
            "plain",
            "\u{e9}\u{4e2d}\u{1f600}",
        ] {
            let text = format!("k={}\n", escape_value(v));
            // What Java reads as ISO-8859-1 is the same text: nothing beyond ASCII is written.
            assert!(text.is_ascii(), "{text:?}");
            let p = Properties::parse(&text);
            assert_eq!(p.get("k"), Some(v), "{v:?}");
        }
        assert_eq!(escape_value("\u{1f600}"), "\\uD83D\\uDE00");
        // Leading whitespace is dropped on reading unless escaped; trailing whitespace is
        // dropped in any case (module docs).
        let p = Properties::parse(&format!("k={}\n", escape_value(" x")));
        assert_eq!(p.get("k"), Some(" x"));
    }

    #[test]
    fn a_malformed_unicode_escape_makes_the_text_invalid() {
        for (text, key) in [
            ("a=1\nbad=\\u12G4\nc=3\n", "bad"),
            ("short=\\u12", "short"),
            ("lone=\\ud83d!", "lone"),
            ("k\\uXYZW=1", "k\\uXYZW"),
        ] {
            let p = Properties::parse(text);
            let e = p.check().unwrap_err();
            assert_eq!(e.key, key, "{text:?}");
            assert!(e.reason.contains("\\u"), "{text:?}: {}", e.reason);
        }
        // The rest of the file is still read.
        let p = Properties::parse("a=1\nbad=\\u12G4\nc=3\n");
        assert_eq!((p.get("a"), p.get("c")), (Some("1"), Some("3")));
    }
}
