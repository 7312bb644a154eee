//! Java's string-to-value conversions and orderings, as the filter's comparisons use them.
//!
//! Property values arrive as strings; RocketMQ converts them only when a comparison meets a
//! literal of another type (`ComparisonExpression.__compare`), with `Integer.valueOf`,
//! `Long.valueOf`, `Double.valueOf` and `Boolean.valueOf`. Their accepted forms differ, and a
//! subscription matches or not depending on them:
//!
//! * `Integer`/`Long`: optional `+`/`-`, then one or more digits, nothing else (no blanks, no
//!   suffix). A digit is any BMP character of Unicode category Nd (`Character.digit`), so
//!   fullwidth `１２` is 12; a character outside the BMP is two UTF-16 units, neither a digit.
//! * `Double`: blanks (every char up to U+0020) trimmed at both ends; optional sign; `NaN`,
//!   `Infinity`, a decimal `1`, `1.`, `.5`, `1e5` with one optional `f`/`F`/`d`/`D` suffix, or
//!   a hex float `0x1.8p1`; ASCII digits only; correctly rounded.
//! * `Boolean`: `true` in any ASCII case is true, everything else false; never fails.

use std::cmp::Ordering;

/// Zero digit of every run of ten BMP characters with general category Nd (the characters
/// `Character.digit(c, 10)` accepts). Identical in Java 17 (Unicode 13) and Unicode 14; Java 8
/// (Unicode 6.2) lacks a few of the later runs.
const DIGIT_ZEROS: [u32; 37] = [
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10,
];

/// `Character.digit(c, 10)`: the value of a decimal digit, `None` for anything else.
fn digit(c: char) -> Option<u32> {
    let c = u32::from(c);
    if (0x30..=0x39).contains(&c) {
        return Some(c - 0x30);
    }
    let i = DIGIT_ZEROS
        .partition_point(|&zero| zero <= c)
        .checked_sub(1)?;
    let value = c - DIGIT_ZEROS[i];
    (value < 10).then_some(value)
}

/// Java's `Long.parseLong(s, 10)` for a type whose most negative value has magnitude
/// `max_negative` (and whose largest value is one less).
fn parse_integer(s: &str, max_negative: u64) -> Option<i128> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let limit = if negative {
        max_negative
    } else {
        max_negative - 1
    };
    let mut magnitude: u64 = 0;
    let mut any = false;
    for c in digits.chars() {
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(digit(c)?))?;
        if magnitude > limit {
            return None;
        }
        any = true;
    }
    any.then(|| {
        if negative {
            -i128::from(magnitude)
        } else {
            i128::from(magnitude)
        }
    })
}

/// `Integer.valueOf(s)`; `None` where Java throws `NumberFormatException`.
pub(crate) fn parse_int(s: &str) -> Option<i32> {
    parse_integer(s, 1 << 31).and_then(|v| i32::try_from(v).ok())
}

/// `Long.valueOf(s)`; `None` where Java throws `NumberFormatException`.
pub(crate) fn parse_long(s: &str) -> Option<i64> {
    parse_integer(s, 1 << 63).and_then(|v| i64::try_from(v).ok())
}

/// `Boolean.valueOf(s)`.
pub(crate) fn parse_bool(s: &str) -> bool {
    s.eq_ignore_ascii_case("true")
}

/// `Double.valueOf(s)`; `None` where Java throws `NumberFormatException`.
pub(crate) fn parse_double(s: &str) -> Option<f64> {
    let s = s.trim_matches(|c: char| c <= '\u{20}');
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = match body {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        _ if body.starts_with("0x") || body.starts_with("0X") => parse_hex(&body[2..])?,
        _ => parse_decimal(body)?,
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// Splits off one Java float suffix.
fn strip_suffix(s: &str) -> &str {
    s.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(s)
}

/// `digits [. digits] [e [+-] digits]` with at least one mantissa digit; the value comes from
/// Rust's parser (correctly rounded, as Java's) once the Java grammar is checked.
fn parse_decimal(s: &str) -> Option<f64> {
    let body = strip_suffix(s);
    let bytes = body.as_bytes();
    let digits = |mut i: usize| {
        let from = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i, i - from)
    };
    let (mut i, int_digits) = digits(0);
    let mut frac_digits = 0;
    if bytes.get(i) == Some(&b'.') {
        (i, frac_digits) = digits(i + 1);
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_digits;
        (i, exp_digits) = digits(i);
        if exp_digits == 0 {
            return None;
        }
    }
    if i != bytes.len() {
        return None;
    }
    body.parse().ok()
}

/// The part after `0x` of a Java hex float: `h+ [.]` or `h* . h+`, then `p [+-] d+`, then an
/// optional suffix. An exponent too large for an `int` gives infinity or zero, as in Java.
fn parse_hex(s: &str) -> Option<f64> {
    let body = strip_suffix(s);
    let p = body.find(['p', 'P'])?;
    let (mantissa, exponent) = (&body[..p], &body[p + 1..]);
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let is_hex = |t: &str| t.bytes().all(|b| b.is_ascii_hexdigit());
    if int_part.len() + frac_part.len() == 0 || !is_hex(int_part) || !is_hex(frac_part) {
        return None;
    }
    let (exp_negative, exp_digits) = match exponent.as_bytes().first()? {
        b'-' => (true, &exponent[1..]),
        b'+' => (false, &exponent[1..]),
        _ => (false, exponent),
    };
    if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }

    // Up to 30 significant hex digits in a u128, the rest folded into a sticky bit.
    let mut mant: u128 = 0;
    let mut kept = 0usize;
    let mut sticky = false;
    let mut scale: i64 = 0; // binary exponent adjustment for the digits placed
    let mut seen_nonzero = false;
    for (i, b) in int_part.bytes().chain(frac_part.bytes()).enumerate() {
        let d = u128::from(char::from(b).to_digit(16)?);
        let in_fraction = i >= int_part.len();
        seen_nonzero |= d != 0;
        if !seen_nonzero {
            if in_fraction {
                scale -= 4;
            }
            continue;
        }
        if kept < 30 {
            mant = (mant << 4) | d;
            kept += 1;
            if in_fraction {
                scale -= 4;
            }
        } else {
            sticky |= d != 0;
            if !in_fraction {
                scale += 4;
            }
        }
    }
    if mant == 0 {
        return Some(0.0);
    }
    let Ok(exp) = exp_digits.parse::<i32>() else {
        return Some(if exp_negative { 0.0 } else { f64::INFINITY });
    };
    let exp = if exp_negative {
        -i64::from(exp)
    } else {
        i64::from(exp)
    };
    Some(compose(mant, scale + exp, sticky))
}

/// The double nearest to `mant * 2^exp` (plus a non-zero tail below `mant` when `sticky`),
/// ties to even. `mant` is not zero.
fn compose(mant: u128, exp: i64, sticky: bool) -> f64 {
    let shift = mant.leading_zeros();
    let mant = mant << shift; // top bit at 127
    let top = exp + 127 - i64::from(shift); // binary exponent of the top bit
    if top > 1023 {
        return f64::INFINITY;
    }
    // Significant bits that fit: 53 for normal numbers, fewer below 2^-1022.
    let keep = if top >= -1022 { 53 } else { top + 1075 };
    if keep < 0 {
        return 0.0;
    }
    let drop = 128 - keep as u32; // 75..=128
    let (kept, rest) = if drop == 128 {
        (0u128, mant)
    } else {
        (mant >> drop, mant & ((1u128 << drop) - 1))
    };
    let half = 1u128 << (drop - 1);
    let round_up = rest > half || (rest == half && (sticky || kept & 1 == 1));
    let kept = kept + u128::from(round_up);
    let bits = if top >= -1022 {
        // kept is in [2^52, 2^53]; 2^53 means the rounding carried into the next binade.
        let (kept, top) = if kept >> 53 == 1 {
            (kept >> 1, top + 1)
        } else {
            (kept, top)
        };
        if top > 1023 {
            return f64::INFINITY;
        }
        (((top + 1023) as u64) << 52) | (kept as u64 & ((1 << 52) - 1))
    } else {
        // Subnormal: the stored fraction is kept itself; a carry to 2^52 is the smallest
        // normal number, which the same bit pattern encodes.
        kept as u64
    };
    f64::from_bits(bits)
}

/// `Double.compare(a, b)`: numeric order, then `-0.0 < 0.0` and every NaN equal to every
/// other NaN and above positive infinity.
pub(crate) fn compare_doubles(a: f64, b: f64) -> Ordering {
    if a < b {
        Ordering::Less
    } else if a > b {
        Ordering::Greater
    } else {
        canonical_bits(a).cmp(&canonical_bits(b))
    }
}

/// `Double.doubleToLongBits` as a signed value: one bit pattern for all NaNs.
fn canonical_bits(d: f64) -> i64 {
    let bits = if d.is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        d.to_bits()
    };
    bits as i64
}

/// `Double.equals`: equal canonical bits (NaN equals NaN, `0.0` differs from `-0.0`).
pub(crate) fn doubles_equal(a: f64, b: f64) -> bool {
    canonical_bits(a) == canonical_bits(b)
}

/// `String.compareTo`: lexicographic over UTF-16 code units.
pub(crate) fn compare_strings(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values below were printed by Integer.valueOf / Double.valueOf on OpenJDK 17.

    #[test]
    fn int_and_long_accept_what_java_accepts() {
        assert_eq!(parse_int("+5"), Some(5));
        assert_eq!(parse_int("-0"), Some(0));
        assert_eq!(parse_int("05"), Some(5));
        assert_eq!(parse_int("00000000000000000012"), Some(12));
        assert_eq!(parse_int("2147483647"), Some(i32::MAX));
        assert_eq!(parse_int("-2147483648"), Some(i32::MIN));
        assert_eq!(parse_int("\u{ff11}\u{ff12}"), Some(12));
        assert_eq!(parse_int("\u{661}"), Some(1));
        assert_eq!(parse_long("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_long("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_long("2147483648"), Some(2_147_483_648));
    }

    #[test]
    fn int_and_long_reject_what_java_rejects() {
        for s in [
            "",
            "+",
            "-",
            " 5",
            "5 ",
            "5L",
            "1.0",
            "2147483648",
            "-2147483649",
            "0x10",
        ] {
            assert_eq!(parse_int(s), None, "{s:?}");
        }
        assert_eq!(parse_long("9223372036854775808"), None);
        assert_eq!(parse_long("-9223372036854775809"), None);
        assert_eq!(
            parse_int("\u{1d7ce}"),
            None,
            "a supplementary digit is two UTF-16 units"
        );
    }

    #[test]
    fn double_accepts_java_forms() {
        let cases: [(&str, f64); 16] = [
            (" 1.5 ", 1.5),
            ("1 ", 1.0),
            ("5.", 5.0),
            (".5", 0.5),
            ("1.5f", 1.5),
            ("1.5D", 1.5),
            ("-Infinity", f64::NEG_INFINITY),
            ("1e2147483648", f64::INFINITY),
            ("1.0e-400", 0.0),
            ("0x1p3", 8.0),
            ("0x1.8p1", 3.0),
            ("0x.8p1", 1.0),
            ("0x1.p1", 2.0),
            ("0x1P-3D", 0.125),
            ("0x1p+3", 8.0),
            ("0x00000000000000000000001p-4", 0.0625),
        ];
        for (s, want) in cases {
            assert_eq!(
                parse_double(s).map(f64::to_bits),
                Some(want.to_bits()),
                "{s:?}"
            );
        }
        assert!(parse_double("+NaN").unwrap().is_nan());
        assert!(parse_double("-NaN").unwrap().is_nan());
    }

    #[test]
    fn double_rejects_what_java_rejects() {
        for s in [
            "", "infinity", "1.5fd", "1e", "1e+", ".", "\u{a0}1", "\u{ff11}", "1 2", "0x1p",
            "0xp1", "0x.p1", "1_0", "inf", "0x1.8",
        ] {
            assert_eq!(parse_double(s), None, "{s:?}");
        }
    }

    #[test]
    fn hex_doubles_round_like_java() {
        let bits = |s: &str| parse_double(s).unwrap().to_bits();
        assert_eq!(bits("0X1P-1074"), 1);
        assert_eq!(bits("0x1p-1075"), 0);
        assert_eq!(bits("0x1.8p-1074"), 2);
        assert_eq!(bits("0x1p1024"), f64::INFINITY.to_bits());
        assert_eq!(bits("0x0p99999999999"), 0);
        assert_eq!(bits("-0x0p99999999999"), (-0.0f64).to_bits());
        assert_eq!(bits("0x1p99999999999"), f64::INFINITY.to_bits());
        assert_eq!(bits("-0x1p-99999999999"), (-0.0f64).to_bits());
        assert_eq!(bits("0x1.fffffffffffff8p0"), 0x4000_0000_0000_0000);
        assert_eq!(bits("0x1.fffffffffffff7ffp0"), 0x3fff_ffff_ffff_ffff);
        assert_eq!(bits("0x1.00000000000008p0"), 0x3ff0_0000_0000_0000);
        assert_eq!(bits("0x1.000000000000081p0"), 0x3ff0_0000_0000_0001);
        assert_eq!(
            bits("0x1.00000000000008000000000001p0"),
            0x3ff0_0000_0000_0001
        );
        assert_eq!(
            bits("0x1.0000000000000000000000001p0"),
            0x3ff0_0000_0000_0000
        );
        assert_eq!(bits("0x1.fffffffffffffp1023"), 0x7fef_ffff_ffff_ffff);
        assert_eq!(bits("0x1.fffffffffffff8p1023"), f64::INFINITY.to_bits());
        assert_eq!(
            bits("0x1000000000000000000000000000000p-200"),
            0x3af0_0000_0000_0000
        );
        assert_eq!(
            bits("0x0.00000000000000000000000000000000000001p0"),
            0x3670_0000_0000_0000
        );
    }

    #[test]
    fn booleans_are_true_only_for_true() {
        assert!(parse_bool("TrUe"));
        assert!(!parse_bool(" true"));
        assert!(!parse_bool("1"));
    }

    #[test]
    fn double_order_is_javas() {
        assert_eq!(compare_doubles(-0.0, 0.0), Ordering::Less);
        assert_eq!(compare_doubles(f64::NAN, f64::INFINITY), Ordering::Greater);
        assert_eq!(compare_doubles(f64::NAN, -f64::NAN), Ordering::Equal);
        assert_eq!(compare_doubles(1.0, 2.0), Ordering::Less);
        assert!(doubles_equal(f64::NAN, -f64::NAN));
        assert!(!doubles_equal(0.0, -0.0));
    }

    #[test]
    fn string_order_is_utf16() {
        // U+FF61 sorts before U+1F600 in UTF-8 byte order but after its surrogates in UTF-16.
        assert_eq!(compare_strings("\u{ff61}", "\u{1f600}"), Ordering::Greater);
        assert_eq!(compare_strings("a", "b"), Ordering::Less);
    }
}
