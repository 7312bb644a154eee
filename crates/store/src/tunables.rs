//! Store settings an admin may change while the store runs (`mqadmin updateBrokerConfig`):
//! the flush interval and the retention settings. The flusher and the retention service read
//! them on every round, so a change takes effect at the next one.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use crate::{MessageStore, StoreConfig};

/// The live values, first taken from the [`StoreConfig`].
#[derive(Debug)]
pub(crate) struct Tunables {
    flush_interval_commit_log_ms: AtomicU64,
    file_reserved_time_hours: AtomicU64,
    disk_max_used_space_ratio: AtomicU64,
    delete_when: RwLock<String>,
}

impl Tunables {
    pub(crate) fn new(c: &StoreConfig) -> Tunables {
        Tunables {
            flush_interval_commit_log_ms: AtomicU64::new(c.flush_interval_commit_log_ms),
            file_reserved_time_hours: AtomicU64::new(c.file_reserved_time_hours),
            disk_max_used_space_ratio: AtomicU64::new(u64::from(c.disk_max_used_space_ratio)),
            delete_when: RwLock::new(c.delete_when.clone()),
        }
    }

    pub(crate) fn flush_interval_commit_log_ms(&self) -> u64 {
        self.flush_interval_commit_log_ms.load(Ordering::Relaxed)
    }

    pub(crate) fn file_reserved_time_hours(&self) -> u64 {
        self.file_reserved_time_hours.load(Ordering::Relaxed)
    }

    pub(crate) fn disk_max_used_space_ratio(&self) -> u32 {
        u32::try_from(self.disk_max_used_space_ratio.load(Ordering::Relaxed)).unwrap_or(75)
    }

    pub(crate) fn delete_when(&self) -> String {
        self.delete_when.read().clone()
    }
}

/// The store keys [`MessageStore::set_live`] accepts.
pub const LIVE_STORE_KEYS: &[&str] = &[
    "flushIntervalCommitLog",
    "fileReservedTime",
    "deleteWhen",
    "diskMaxUsedSpaceRatio",
];

impl MessageStore {
    /// Changes one of [`LIVE_STORE_KEYS`] while the store runs (validated as in broker.conf);
    /// `Err` with the reason for a bad value or another key.
    pub fn set_live(&self, key: &str, value: &str) -> Result<(), String> {
        // The same validation as at start-up.
        let mut probe = self.shared.config.clone();
        probe.set_property(key, value)?;
        let t = &self.shared.tunables;
        match key {
            "flushIntervalCommitLog" => t
                .flush_interval_commit_log_ms
                .store(probe.flush_interval_commit_log_ms, Ordering::Relaxed),
            "fileReservedTime" => t
                .file_reserved_time_hours
                .store(probe.file_reserved_time_hours, Ordering::Relaxed),
            "diskMaxUsedSpaceRatio" => t.disk_max_used_space_ratio.store(
                u64::from(probe.disk_max_used_space_ratio),
                Ordering::Relaxed,
            ),
            "deleteWhen" => *t.delete_when.write() = probe.delete_when,
            _ => return Err(format!("{key} cannot change while the store runs")),
        }
        if let Some(f) = self.shared.flusher.get() {
            f.unpark();
        }
        Ok(())
    }

    /// The live value of one of [`LIVE_STORE_KEYS`].
    pub fn live_value(&self, key: &str) -> Option<String> {
        let t = &self.shared.tunables;
        Some(match key {
            "flushIntervalCommitLog" => t.flush_interval_commit_log_ms().to_string(),
            "fileReservedTime" => t.file_reserved_time_hours().to_string(),
            "diskMaxUsedSpaceRatio" => t.disk_max_used_space_ratio().to_string(),
            "deleteWhen" => t.delete_when(),
            _ => return None,
        })
    }
}
