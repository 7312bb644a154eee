//! IP whitelist patterns of `plain_acl.yml` (Java `RemoteAddressStrategyFactory`).
//!
//! | pattern | matches |
//! |---|---|
//! | empty or absent | nothing |
//! | `*`, `*.*.*.*`, `*:*:*:*:*:*:*:*` | every address |
//! | `192.168.0.1`, `::1` | that address |
//! | `192.168.1.{1,2}` | `192.168.1.1` and `192.168.1.2` |
//! | `192.168.0.1,10.0.0.7` | either address |
//! | `192.168.0.*`, `192.168.*.*`, `192.168.0.1-10` | each octet: `*`, a number or an inclusive range |
//!
//! IPv6 ranges (`2::ac5:78:1-200:*`), which Java also takes, are refused as not supported.

use std::net::{IpAddr, Ipv4Addr};

/// One whitelist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrPattern {
    /// Blank: matches no address (Java's `BlankRemoteAddressStrategy`).
    Nothing,
    /// `*`: matches every address.
    Any,
    /// A set of exact addresses (one or more).
    Exact(Vec<IpAddr>),
    /// IPv4 octet ranges, inclusive.
    V4Ranges([(u8, u8); 4]),
}

impl AddrPattern {
    /// Parses one pattern; `Err` says what is wrong with it.
    pub fn parse(text: &str) -> Result<AddrPattern, String> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(AddrPattern::Nothing);
        }
        if matches!(t, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
            return Ok(AddrPattern::Any);
        }
        if t.ends_with('}') {
            let open = t
                .rfind('{')
                .ok_or_else(|| format!("`{t}`: `}}` without `{{`"))?;
            let head = &t[..open];
            if !(head.ends_with('.') || head.ends_with(':')) {
                return Err(format!(
                    "`{t}`: `{{a,b}}` must be the last part of the address, e.g. 192.168.1.{{1,2}}"
                ));
            }
            let addrs = t[open + 1..t.len() - 1]
                .split(',')
                .map(|tail| exact(&format!("{head}{}", tail.trim())))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(AddrPattern::Exact(addrs));
        }
        if t.contains(',') {
            let addrs = t.split(',').map(exact).collect::<Result<Vec<_>, _>>()?;
            return Ok(AddrPattern::Exact(addrs));
        }
        if t.contains('*') || t.contains('-') {
            if t.contains(':') {
                return Err(format!(
                    "`{t}`: IPv6 ranges are not supported; list the addresses instead"
                ));
            }
            return v4_ranges(t);
        }
        Ok(AddrPattern::Exact(vec![exact(t)?]))
    }

    /// Whether `ip` is on this entry. IPv4-mapped IPv6 peers count as their IPv4 address.
    pub fn matches(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match self {
            AddrPattern::Nothing => false,
            AddrPattern::Any => true,
            AddrPattern::Exact(set) => set.iter().any(|a| canonical(*a) == ip),
            AddrPattern::V4Ranges(ranges) => match ip {
                IpAddr::V4(v4) => v4
                    .octets()
                    .iter()
                    .zip(ranges)
                    .all(|(o, (lo, hi))| lo <= o && o <= hi),
                IpAddr::V6(_) => false,
            },
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn exact(text: &str) -> Result<IpAddr, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("`{}` is not an IP address", text.trim()))
}

fn v4_ranges(t: &str) -> Result<AddrPattern, String> {
    let parts: Vec<&str> = t.split('.').collect();
    if parts.len() != 4 {
        return Err(format!(
            "`{t}`: expected four parts, e.g. 192.168.0.* or 192.168.0.1-10"
        ));
    }
    let octet = |s: &str| {
        s.trim()
            .parse::<u8>()
            .map_err(|_| format!("`{t}`: `{s}` is not a number from 0 to 255"))
    };
    let mut out = [(0u8, 0u8); 4];
    for (slot, part) in out.iter_mut().zip(&parts) {
        *slot = match part.trim() {
            "*" => (0, 255),
            p => match p.split_once('-') {
                Some((lo, hi)) => {
                    let (lo, hi) = (octet(lo)?, octet(hi)?);
                    if lo > hi {
                        return Err(format!("`{t}`: range `{p}` is empty"));
                    }
                    (lo, hi)
                }
                None => {
                    let n = octet(p)?;
                    (n, n)
                }
            },
        };
    }
    Ok(AddrPattern::V4Ranges(out))
}

/// `a.b.c.d` as an [`IpAddr`], for tests and callers holding text.
pub fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, ip: &str) -> bool {
        AddrPattern::parse(pattern)
            .unwrap()
            .matches(ip.parse().unwrap())
    }

    #[test]
    fn patterns_of_the_rocketmq_sample_match_as_java_does() {
        assert!(m("192.168.0.*", "192.168.0.77"));
        assert!(!m("192.168.0.*", "192.168.1.77"));
        assert!(m("10.10.103.*", "10.10.103.1"));
        assert!(m("192.168.1.{1,2}", "192.168.1.2"));
        assert!(!m("192.168.1.{1,2}", "192.168.1.3"));
        assert!(m("192.168.*.*", "192.168.200.3"));
        assert!(m("192.168.0.1-10", "192.168.0.10"));
        assert!(!m("192.168.0.1-10", "192.168.0.11"));
        assert!(m("127.0.0.1,10.0.0.1", "10.0.0.1"));
        assert!(m("*", "8.8.8.8"));
        assert!(m("*", "::1"));
        assert!(m("127.0.0.1", "::ffff:127.0.0.1"));
        assert!(m("::1", "::1"));
        assert!(!m("", "127.0.0.1"));
        assert!(!m("192.168.0.*", "::1"));
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        for bad in [
            "192.168.0",
            "192.168.0.300",
            "192.168.0.9-1",
            "host.example",
            "1.2.3.{4,x}",
            "2::ac5:78:1-200:*",
        ] {
            let e = AddrPattern::parse(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
    }
}
