//! The name-server address list: `host:port` entries separated by `;`, as RocketMQ writes it
//! (`-n "10.0.0.1:9876;10.0.0.2:9876"`, env `NAMESRV_ADDR`).

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::ClientError;

/// The environment variable RocketMQ's tools and clients read when no address is given.
pub const NAMESRV_ADDR_ENV: &str = "NAMESRV_ADDR";

/// A non-empty list of name-server addresses, tried in turn.
#[derive(Debug)]
pub struct NameServerList {
    addrs: Vec<String>,
    next: AtomicUsize,
}

impl Clone for NameServerList {
    fn clone(&self) -> Self {
        NameServerList {
            addrs: self.addrs.clone(),
            next: AtomicUsize::new(self.next.load(Ordering::Relaxed)),
        }
    }
}

impl NameServerList {
    /// Parses `a:9876;b:9876`. Blank entries and surrounding spaces are ignored.
    ///
    /// Returns [`ClientError::NoNameServer`] when no entry is left and
    /// [`ClientError::InvalidAddress`] for an entry that is not `host:port`.
    pub fn parse(list: &str) -> Result<Self, ClientError> {
        let mut addrs = Vec::new();
        for entry in list.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            check_addr(entry)?;
            if !addrs.iter().any(|a| a == entry) {
                addrs.push(entry.to_owned());
            }
        }
        if addrs.is_empty() {
            return Err(ClientError::NoNameServer);
        }
        Ok(NameServerList {
            addrs,
            next: AtomicUsize::new(0),
        })
    }

    /// Uses `explicit` when given, otherwise the `NAMESRV_ADDR` environment variable.
    pub fn resolve(explicit: Option<&str>) -> Result<Self, ClientError> {
        match explicit {
            Some(list) => Self::parse(list),
            None => Self::from_env_value(std::env::var(NAMESRV_ADDR_ENV).ok().as_deref()),
        }
    }

    /// Parses the value of `NAMESRV_ADDR` (`None` when unset).
    pub fn from_env_value(value: Option<&str>) -> Result<Self, ClientError> {
        match value {
            Some(list) => Self::parse(list),
            None => Err(ClientError::NoNameServer),
        }
    }

    /// All addresses, in the order given.
    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    /// Every address once, starting with the one after the previous call's start, so that
    /// successive calls spread over the name servers and a dead one is skipped by the caller.
    pub fn rotation(&self) -> impl Iterator<Item = &str> {
        let n = self.addrs.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        (0..n).map(move |i| self.addrs[(start + i) % n].as_str())
    }

    /// The list in RocketMQ's form, `a;b`.
    pub fn joined(&self) -> String {
        self.addrs.join(";")
    }
}

/// Checks that `addr` is `host:port` with a numeric port.
pub fn check_addr(addr: &str) -> Result<(), ClientError> {
    let bad = || ClientError::InvalidAddress {
        addr: addr.to_owned(),
    };
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_semicolon_list() {
        let l = NameServerList::parse(" 10.0.0.1:9876 ; 10.0.0.2:9876;;").unwrap();
        assert_eq!(l.addrs(), ["10.0.0.1:9876", "10.0.0.2:9876"]);
        assert_eq!(l.joined(), "10.0.0.1:9876;10.0.0.2:9876");
    }

    #[test]
    fn rejects_empty_and_malformed() {
        assert!(matches!(
            NameServerList::parse(" ; "),
            Err(ClientError::NoNameServer)
        ));
        assert!(matches!(
            NameServerList::parse("localhost"),
            Err(ClientError::InvalidAddress { .. })
        ));
        assert!(matches!(
            NameServerList::parse("localhost:port"),
            Err(ClientError::InvalidAddress { .. })
        ));
    }

    #[test]
    fn env_value_is_the_fallback() {
        assert!(matches!(
            NameServerList::from_env_value(None),
            Err(ClientError::NoNameServer)
        ));
        let l = NameServerList::from_env_value(Some("127.0.0.1:9876")).unwrap();
        assert_eq!(l.addrs(), ["127.0.0.1:9876"]);
        let explicit = NameServerList::resolve(Some("h:1;h:2")).unwrap();
        assert_eq!(explicit.addrs().len(), 2);
    }

    #[test]
    fn duplicates_are_dropped() {
        let l = NameServerList::parse("h:1;h:1;h:2").unwrap();
        assert_eq!(l.addrs(), ["h:1", "h:2"]);
    }

    #[test]
    fn rotation_visits_each_once_and_moves_on() {
        let l = NameServerList::parse("a:1;b:2;c:3").unwrap();
        let first: Vec<_> = l.rotation().collect();
        let second: Vec<_> = l.rotation().collect();
        assert_eq!(first, ["a:1", "b:2", "c:3"]);
        assert_eq!(second, ["b:2", "c:3", "a:1"]);
    }
}
