//! Helpers that reproduce what Java's `printf` and RocketMQ's `UtilAll` print, so the renderers
//! read like the Java format strings they copy.

pub mod pretty;
pub mod version;

pub use version::version_desc;

/// `%-Ns`: `s` left-aligned in at least `width` characters.
pub fn left(s: &str, width: usize) -> String {
    format!("{s:<width$}")
}

/// `%Ns`: `s` right-aligned in at least `width` characters.
pub fn right(s: &str, width: usize) -> String {
    format!("{s:>width$}")
}

/// `UtilAll.frontStringAtLeast`: the first `size` characters of `s` (all of it when shorter).
pub fn front(s: &str, size: usize) -> &str {
    match s.char_indices().nth(size) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Java's `Double.toString` for the values admin tools print (TPS figures): at least one digit
/// after the point, shortest representation, scientific form outside `[1e-3, 1e7)`.
pub fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let a = v.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        // Debug gives the shortest round-trip text and always a fractional part.
        return format!("{v:?}");
    }
    // Scientific: mantissa with at least one fractional digit, `E`, exponent.
    let text = format!("{v:e}");
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_owned()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exp}")
}

/// `UtilAll.timeMillisToHumanString2`: `yyyy-MM-dd HH:mm:ss,SSS`.
///
/// Java uses the JVM's time zone; FerroMQ prints UTC.
pub fn human_millis(ms: i64) -> String {
    ferromq_common::time::format_millis(ms)
}

/// `yyyy-MM-dd HH:mm:ss` (`UtilAll.YYYY_MM_DD_HH_MM_SS`), UTC.
pub fn human_seconds(ms: i64) -> String {
    let mut s = ferromq_common::time::format_millis(ms);
    s.truncate(19);
    s
}

/// Java `HashMap.toString` of a string map: `{k1=v1, k2=v2}` (here in key order).
pub fn java_map<'a>(entries: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    let body: Vec<String> = entries
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{{{}}}", body.join(", "))
}

/// Java `String.valueOf` of a possibly-null string: `null` when absent.
pub fn or_null(s: Option<&str>) -> &str {
    s.unwrap_or("null")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_matches_printf() {
        assert_eq!(left("ab", 4), "ab  ");
        assert_eq!(right("ab", 4), "  ab");
        assert_eq!(left("abcdef", 4), "abcdef");
        assert_eq!(front("abcdef", 4), "abcd");
        assert_eq!(front("ab", 4), "ab");
        assert_eq!(front("äöü", 2), "äö");
    }

    #[test]
    fn doubles_print_like_java() {
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(1.5), "1.5");
        assert_eq!(java_double(12.25), "12.25");
        assert_eq!(java_double(100.0), "100.0");
        assert_eq!(java_double(1.0e7), "1.0E7");
        assert_eq!(java_double(1.25e-4), "1.25E-4");
    }

    #[test]
    fn times_and_maps() {
        assert_eq!(human_millis(1_700_000_000_123), "2023-11-14 22:13:20,123");
        assert_eq!(human_seconds(1_700_000_000_123), "2023-11-14 22:13:20");
        let m = std::collections::BTreeMap::from([
            ("+a".to_string(), "b".to_string()),
            ("c".into(), "d".into()),
        ]);
        assert_eq!(java_map(&m), "{+a=b, c=d}");
        assert_eq!(java_map(&std::collections::BTreeMap::new()), "{}");
        assert_eq!(or_null(None), "null");
    }
}
