//! Runtime counters of the store (Java `StoreStatsService`), read by GET_BROKER_RUNTIME_INFO.
//! Rates (TPS) are left to the caller, which samples these totals over time.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters; relaxed atomics, so reading them costs the hot paths nothing.
#[derive(Debug, Default)]
pub(crate) struct StoreStats {
    pub(crate) put_ok: AtomicU64,
    pub(crate) put_failed: AtomicU64,
    pub(crate) put_bytes: AtomicU64,
    pub(crate) put_max_latency_us: AtomicU64,
    pub(crate) get_found: AtomicU64,
    pub(crate) get_miss: AtomicU64,
    pub(crate) get_transferred: AtomicU64,
    pub(crate) dispatched: AtomicU64,
}

impl StoreStats {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A copy of the store's counters and positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreStatsSnapshot {
    /// Messages stored (`putMessageTimesTotal`).
    pub put_message_times_total: u64,
    /// Bytes of records stored (`putMessageSizeTotal`).
    pub put_message_size_total: u64,
    /// Puts refused or failed.
    pub put_message_failed_times: u64,
    /// Longest time spent in the append lock by one put or batch, microseconds.
    pub put_message_entire_time_max_us: u64,
    /// Gets that returned messages (`getMessageTimesTotalFound`).
    pub get_message_times_total_found: u64,
    /// Gets that returned none (`getMessageTimesTotalMiss`).
    pub get_message_times_total_miss: u64,
    /// Messages returned by gets (`getMessageTransferedMsgCount`).
    pub get_message_transferred_msg_count: u64,
    /// Messages dispatched into consume queues.
    pub dispatch_message_count: u64,
    /// Commit-log min offset.
    pub commit_log_min_offset: i64,
    /// Commit-log max offset.
    pub commit_log_max_offset: i64,
    /// Commit log durable below this offset.
    pub commit_log_flushed_offset: i64,
    /// Bytes appended but not yet dispatched (`dispatchBehindBytes`).
    pub dispatch_behind_bytes: i64,
}

impl StoreStatsSnapshot {
    /// The entries Java's `getRuntimeInfo` reports that the store owns, as name/value strings.
    pub fn runtime_info(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "putMessageTimesTotal",
                self.put_message_times_total.to_string(),
            ),
            (
                "putMessageSizeTotal",
                self.put_message_size_total.to_string(),
            ),
            (
                "putMessageEntireTimeMax",
                (self.put_message_entire_time_max_us / 1000).to_string(),
            ),
            (
                "getMessageTimesTotalFound",
                self.get_message_times_total_found.to_string(),
            ),
            (
                "getMessageTimesTotalMiss",
                self.get_message_times_total_miss.to_string(),
            ),
            (
                "getMessageTransferedMsgCount",
                self.get_message_transferred_msg_count.to_string(),
            ),
            ("commitLogMinOffset", self.commit_log_min_offset.to_string()),
            ("commitLogMaxOffset", self.commit_log_max_offset.to_string()),
            (
                "dispatchBehindBytes",
                self.dispatch_behind_bytes.to_string(),
            ),
        ]
    }
}
