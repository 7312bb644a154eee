//! UNIQ_KEY, the client message id (`wire-protocol.md` 3.9, Java `MessageClientIDSetter`).
//!
//! ```text
//! IP (4 or 16) | pid low 16 bits (2) | random (4) | ms since start of month (4) | counter (2)
//! ```
//! Uppercase hex: 32 characters with an IPv4 address. The first part is fixed per generator.
//! The month starts at 00:00 UTC on day 1 (Java uses the local time zone; only uniqueness and
//! rough ordering matter to readers).

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU16, Ordering};

use super::msg_id::push_hex;

/// Thread-safe generator of UNIQ_KEY ids.
#[derive(Debug)]
pub struct UniqKeyGenerator {
    /// Hex of IP + pid + random part.
    prefix: String,
    /// Start of the current month, epoch ms.
    month_start: AtomicI64,
    /// Start of the next month, epoch ms.
    next_month_start: AtomicI64,
    counter: AtomicU16,
}

impl UniqKeyGenerator {
    /// A generator for this process at `ip`, with a random 4-byte middle part.
    pub fn new(ip: IpAddr) -> Self {
        Self::with_parts(ip, std::process::id() as u16, rand::random::<u32>())
    }

    /// A generator with every fixed part given (tests, reproducible ids).
    pub fn with_parts(ip: IpAddr, pid: u16, random: u32) -> Self {
        let mut prefix = String::with_capacity(44);
        match ip.to_canonical() {
            IpAddr::V4(v4) => push_hex(&mut prefix, &v4.octets()),
            IpAddr::V6(v6) => push_hex(&mut prefix, &v6.octets()),
        }
        push_hex(&mut prefix, &pid.to_be_bytes());
        push_hex(&mut prefix, &random.to_be_bytes());
        UniqKeyGenerator {
            prefix,
            month_start: AtomicI64::new(i64::MAX),
            next_month_start: AtomicI64::new(i64::MIN),
            counter: AtomicU16::new(0),
        }
    }

    /// The next id, using the current time.
    pub fn next_id(&self) -> String {
        self.next_id_at(ferromq_common::now_millis())
    }

    /// The next id as if the clock read `now_ms` (epoch milliseconds).
    pub fn next_id_at(&self, now_ms: i64) -> String {
        let mut start = self.month_start.load(Ordering::Relaxed);
        if now_ms < start || now_ms >= self.next_month_start.load(Ordering::Relaxed) {
            let (s, next) = month_bounds(now_ms);
            // Racing threads compute the same bounds, so plain stores are enough.
            self.month_start.store(s, Ordering::Relaxed);
            self.next_month_start.store(next, Ordering::Relaxed);
            start = s;
        }
        let diff = (now_ms - start) as i32;
        let count = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut out = String::with_capacity(self.prefix.len() + 12);
        out.push_str(&self.prefix);
        push_hex(&mut out, &diff.to_be_bytes());
        push_hex(&mut out, &count.to_be_bytes());
        out
    }
}

/// Epoch ms of 00:00 UTC on day 1 of the month containing `ms`, and of the next month.
fn month_bounds(ms: i64) -> (i64, i64) {
    let days = ms.div_euclid(86_400_000);
    let (y, m, _) = civil_from_days(days);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (
        days_from_civil(y, m, 1) * 86_400_000,
        days_from_civil(ny, nm, 1) * 86_400_000,
    )
}

/// Howard Hinnant's days-to-civil conversion: (year, month 1..=12, day 1..=31).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Howard Hinnant's civil-to-days conversion.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Arc;

    #[test]
    fn layout_of_an_ipv4_id() {
        let g = UniqKeyGenerator::with_parts("192.168.1.10".parse().unwrap(), 0x1234, 0xCAFEBABE);
        // 2023-11-14 22:13:20.123 UTC; the month started 2023-11-01 00:00 UTC = 1_698_796_800_000.
        let now = 1_700_000_000_123;
        let id = g.next_id_at(now);
        assert_eq!(id.len(), 32);
        let diff = (now - 1_698_796_800_000) as u32;
        assert_eq!(id, format!("C0A8010A1234CAFEBABE{diff:08X}0000"));
        assert!(g.next_id_at(now).ends_with("0001"));
    }

    #[test]
    fn month_rollover_restarts_the_time_part() {
        let g = UniqKeyGenerator::with_parts("10.0.0.1".parse().unwrap(), 1, 2);
        let dec_31 = days_from_civil(2023, 12, 31) * 86_400_000 + 5;
        let jan_1 = days_from_civil(2024, 1, 1) * 86_400_000 + 5;
        assert!(!g.next_id_at(dec_31)[20..28].starts_with("00000"));
        assert_eq!(&g.next_id_at(jan_1)[20..28], "00000005");
        assert_eq!(
            month_bounds(jan_1).1,
            days_from_civil(2024, 2, 1) * 86_400_000
        );
    }

    #[test]
    fn ipv6_prefix_is_longer() {
        let g = UniqKeyGenerator::with_parts("::1".parse().unwrap(), 0, 0);
        assert_eq!(g.next_id().len(), 56);
        let mapped = UniqKeyGenerator::with_parts("::ffff:1.2.3.4".parse().unwrap(), 0, 0);
        assert!(mapped.next_id().starts_with("01020304"));
    }

    #[test]
    fn ids_are_unique_across_threads() {
        let g = Arc::new(UniqKeyGenerator::new("127.0.0.1".parse().unwrap()));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let g = Arc::clone(&g);
                std::thread::spawn(move || (0..1000).map(|_| g.next_id_at(42)).collect::<Vec<_>>())
            })
            .collect();
        let mut all = HashSet::new();
        for h in handles {
            for id in h.join().unwrap() {
                assert!(all.insert(id));
            }
        }
        assert_eq!(all.len(), 4000);
    }
}
