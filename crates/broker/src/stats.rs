//! Counters reported by GET_BROKER_RUNTIME_INFO (`mqadmin clusterList`, `brokerStatus`).

use std::sync::atomic::{AtomicI64, Ordering};

use ferromq_common::now_millis;

/// At most one log line per this many ms about dropped replies (a flood must not flood the log).
const REPLY_DROP_LOG_INTERVAL_MS: i64 = 1_000;

/// Message counters since start.
#[derive(Debug)]
pub struct BrokerStats {
    /// Messages stored.
    pub put_total: AtomicI64,
    /// Messages returned by pulls.
    pub get_total: AtomicI64,
    /// Request-reply replies the requester took.
    pub reply_pushed: AtomicI64,
    /// Replies that could not be delivered (requester gone, refused or too slow).
    pub reply_dropped: AtomicI64,
    /// Failed messages taken back for a retry (CONSUMER_SEND_MSG_BACK).
    pub send_back: AtomicI64,
    /// Send-backs dropped because the group has no retry queue (`retryQueueNums` 0).
    pub send_back_dropped: AtomicI64,
    /// Messages moved to a dead-letter queue.
    pub dead_lettered: AtomicI64,
    /// Timer messages recalled (RECALL_MESSAGE answered with success).
    pub recalled: AtomicI64,
    /// When a dropped reply was last logged (epoch ms).
    reply_drop_logged_at: AtomicI64,
    /// Boot time (epoch ms).
    pub boot_timestamp: i64,
}

impl Default for BrokerStats {
    fn default() -> Self {
        BrokerStats {
            put_total: AtomicI64::new(0),
            get_total: AtomicI64::new(0),
            reply_pushed: AtomicI64::new(0),
            reply_dropped: AtomicI64::new(0),
            send_back: AtomicI64::new(0),
            send_back_dropped: AtomicI64::new(0),
            dead_lettered: AtomicI64::new(0),
            recalled: AtomicI64::new(0),
            reply_drop_logged_at: AtomicI64::new(0),
            boot_timestamp: ferromq_common::now_millis(),
        }
    }
}

impl BrokerStats {
    /// Counts `n` stored messages.
    pub fn add_put(&self, n: i64) {
        self.put_total.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a reply that could not be delivered and logs why, at most once a second (with
    /// the count so far).
    pub fn note_reply_dropped(&self, requester: &str, reason: &str) {
        let dropped = self.reply_dropped.fetch_add(1, Ordering::Relaxed) + 1;
        let now = now_millis();
        let last = self.reply_drop_logged_at.load(Ordering::Relaxed);
        if now - last >= REPLY_DROP_LOG_INTERVAL_MS
            && self
                .reply_drop_logged_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(requester, reason, dropped_total = dropped, "reply dropped");
        }
    }

    /// Counts a message taken back for a retry.
    pub fn add_send_back(&self) {
        self.send_back.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a send-back dropped for want of a retry queue.
    pub fn add_send_back_dropped(&self) {
        self.send_back_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a message moved to a dead-letter queue.
    pub fn add_dead_lettered(&self) {
        self.dead_lettered.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a recalled timer message.
    pub fn add_recalled(&self) {
        self.recalled.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `n` pulled messages.
    pub fn add_get(&self, n: i64) {
        self.get_total.fetch_add(n, Ordering::Relaxed);
    }
}
