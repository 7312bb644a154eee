//! The `-s` value of `resetOffsetByTime`: `now`, epoch milliseconds, or
//! `yyyy-MM-dd#HH:mm:ss:SSS` (`UtilAll.YYYY_MM_DD_HH_MM_SS_SSS`).

use crate::AdminError;

/// Epoch milliseconds for `text`; `now` is the given current time. The date form is read as
/// UTC (Java uses the JVM's zone; FerroMQ's tools print and read UTC).
pub fn parse_timestamp(text: &str, now: i64) -> Result<i64, AdminError> {
    let text = text.trim();
    if text == "now" {
        return Ok(now);
    }
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    parse_date(text).ok_or_else(|| AdminError::InvalidArgument {
        reason: format!(
            "timestamp {text} is neither now, milliseconds, nor yyyy-MM-dd#HH:mm:ss:SSS"
        ),
    })
}

fn parse_date(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('#')?;
    let mut d = date.split('-');
    let (y, mo, day) = (d.next()?, d.next()?, d.next()?);
    let mut t = time.split(':');
    let (h, mi, s, ms) = (t.next()?, t.next()?, t.next()?, t.next()?);
    if d.next().is_some() || t.next().is_some() {
        return None;
    }
    let num = |s: &str, max: i64| -> Option<i64> {
        let v: i64 = s.parse().ok()?;
        (s.bytes().all(|b| b.is_ascii_digit()) && (0..=max).contains(&v)).then_some(v)
    };
    let (y, mo, day) = (num(y, 9999)?, num(mo, 12)?, num(day, 31)?);
    let (h, mi, s, ms) = (num(h, 23)?, num(mi, 59)?, num(s, 59)?, num(ms, 999)?);
    if mo == 0 || day == 0 {
        return None;
    }
    let days = days_from_civil(y, mo, day);
    Some(((days * 24 + h) * 60 + mi) * 60_000 + s * 1000 + ms)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_three_java_forms() {
        assert_eq!(parse_timestamp("now", 42).unwrap(), 42);
        assert_eq!(
            parse_timestamp(" 1700000000000 ", 0).unwrap(),
            1_700_000_000_000
        );
        assert_eq!(
            parse_timestamp("2023-11-14#22:13:20:000", 0).unwrap(),
            1_700_000_000_000
        );
        assert_eq!(parse_timestamp("1970-01-01#00:00:00:001", 0).unwrap(), 1);
        assert_eq!(
            parse_timestamp("2024-02-29#12:00:00:500", 0).unwrap(),
            1_709_208_000_500
        );
        // The round trip through the printer the tools use.
        assert_eq!(
            ferromq_common::time::format_millis(
                parse_timestamp("2025-09-19#17:25:40:123", 0).unwrap()
            ),
            "2025-09-19 17:25:40,123"
        );
    }

    #[test]
    fn refuses_other_text() {
        for bad in [
            "",
            "yesterday",
            "2023-11-14 22:13:20:000",
            "2023-11-14#22:13:20",
            "2023-13-14#22:13:20:000",
            "2023-11-14#24:00:00:000",
            "2023-11-14#22:13:20:000:1",
        ] {
            assert!(parse_timestamp(bad, 0).is_err(), "{bad}");
        }
    }
}
