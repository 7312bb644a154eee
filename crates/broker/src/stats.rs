//! Counters reported by GET_BROKER_RUNTIME_INFO (`mqadmin clusterList`, `brokerStatus`).

use std::sync::atomic::{AtomicI64, Ordering};

/// Message counters since start.
#[derive(Debug)]
pub struct BrokerStats {
    /// Messages stored.
    pub put_total: AtomicI64,
    /// Messages returned by pulls.
    pub get_total: AtomicI64,
    /// Boot time (epoch ms).
    pub boot_timestamp: i64,
}

impl Default for BrokerStats {
    fn default() -> Self {
        BrokerStats {
            put_total: AtomicI64::new(0),
            get_total: AtomicI64::new(0),
            boot_timestamp: ferromq_common::now_millis(),
        }
    }
}

impl BrokerStats {
    /// Counts `n` stored messages.
    pub fn add_put(&self, n: i64) {
        self.put_total.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` pulled messages.
    pub fn add_get(&self, n: i64) {
        self.get_total.fetch_add(n, Ordering::Relaxed);
    }
}
