//! Broker liveness: expiry sweeps and connection close (RocketMQ `scanNotActiveBroker`,
//! `onChannelDestroy`).

use std::time::{Duration, Instant};

use ferromq_net::ConnectionHandle;

use super::{BrokerAddr, RouteTable};

/// A broker address the sweep dropped.
#[derive(Debug, Clone)]
pub struct Expired {
    /// The address.
    pub addr: BrokerAddr,
    /// Its heartbeat timeout.
    pub timeout: Duration,
    /// The connection it registered on, for the caller to close.
    pub conn: Option<ConnectionHandle>,
}

impl RouteTable {
    /// Drops every address whose last registration or heartbeat is older than its timeout at
    /// `now`, and returns them.
    pub fn remove_expired(&mut self, now: Instant) -> Vec<Expired> {
        let expired: Vec<Expired> = self
            .live
            .iter()
            .filter(|(_, l)| now.saturating_duration_since(l.last_update) > l.timeout)
            .map(|(addr, l)| Expired {
                addr: addr.clone(),
                timeout: l.timeout,
                conn: l.conn.clone(),
            })
            .collect();
        for e in &expired {
            self.drop_address(&e.addr);
        }
        expired
    }

    /// Drops the address registered over connection `conn_id`, if any, and returns it.
    ///
    /// An address that re-registered over a newer connection is kept: only the connection of
    /// its latest registration counts.
    pub fn remove_connection(&mut self, conn_id: u64) -> Option<BrokerAddr> {
        let addr = self
            .live
            .iter()
            .find(|(_, l)| l.conn.as_ref().is_some_and(|c| c.id() == conn_id))
            .map(|(addr, _)| addr.clone())?;
        self.drop_address(&addr);
        Some(addr)
    }

    /// Unregisters `addr` under whatever broker name holds it in its cluster.
    fn drop_address(&mut self, addr: &BrokerAddr) {
        let name = self
            .brokers
            .values()
            .find(|b| b.cluster == addr.cluster && b.broker_addrs.values().any(|a| *a == addr.addr))
            .map(|b| b.broker_name.clone());
        match name {
            Some(name) => {
                self.unregister(&addr.cluster, &addr.addr, &name);
            }
            None => {
                self.live.remove(addr);
                self.filter_servers.remove(addr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{reg, POLICY};
    use super::*;

    #[test]
    fn expiry_honours_each_brokers_timeout() {
        let mut t = RouteTable::new();
        let start = Instant::now();
        let mut short = reg("C", "a", 0, "m:1", 1, &[("T", 4)]);
        short.heartbeat_timeout = Some(Duration::from_millis(500));
        t.register(short, None, start, POLICY);
        t.register(reg("C", "b", 0, "n:1", 1, &[("T", 4)]), None, start, POLICY);

        assert!(t
            .remove_expired(start + Duration::from_millis(400))
            .is_empty());
        t.touch("C", "m:1", start + Duration::from_millis(400));
        assert!(t
            .remove_expired(start + Duration::from_millis(800))
            .is_empty());
        let gone = t.remove_expired(start + Duration::from_millis(1000));
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].addr.addr, "m:1");
        assert_eq!(t.route("T").unwrap().queue_datas.len(), 1);

        let gone = t.remove_expired(start + Duration::from_secs(121));
        assert_eq!(gone.len(), 1);
        assert!(t.route("T").is_none());
        assert!(t.cluster_info().broker_addr_table.is_empty());
    }

    #[test]
    fn unknown_connection_changes_nothing() {
        let mut t = RouteTable::new();
        t.register(
            reg("C", "a", 0, "m:1", 1, &[("T", 4)]),
            None,
            Instant::now(),
            POLICY,
        );
        assert!(t.remove_connection(42).is_none());
        assert!(t.route("T").is_some());
    }
}
