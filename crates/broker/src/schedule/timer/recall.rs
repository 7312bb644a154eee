//! Recalled timer messages, as the RECALL_MESSAGE handler and the timer thread share them (Java
//! `TimerMessageStore`'s delete list, kept per due time instead of per wheel slot).
//!
//! A recall names a held message by its due ms and its delete key, `<real topic>+<UNIQ_KEY>`.
//!
//! ```text
//! handler: reserve (due, key) ──▶ store the delete marker in rmq_sys_wheel_timer ──▶ answer
//!            │ refused when due ≤ decided_until          (TIMER_DEL_UNIQKEY = key, TIMER_OUT_MS = due)
//!            ▼                                                  │ timer thread files it
//!          book: (due → keys) ◀── filed, bucket loaded ◀────────┤ (bucket entry, size negated)
//!            │                 ◀── read back when a bucket loads ┘
//!            ▼
//! timer thread, before a due message goes out: recalled? ─▶ dropped instead of delivered
//! ```
//!
//! Why nothing recalled is delivered: the thread moves `decided_until` to the current time, under
//! the book's lock, before it looks at the messages due by then, and the handler reserves only a
//! due time after `decided_until`, under the same lock. A reservation therefore precedes any
//! delivery decision about its message; a recall that comes later is refused ("recall failed,
//! timestamp invalid", RocketMQ's answer once the due time has come) instead of being answered
//! while the message goes out. Across restarts the book is rebuilt from the stored markers: a
//! bucket's markers are read when the bucket is loaded, before any of its messages is due, and
//! markers not filed before a crash are filed before the first delivery (see `wheel.rs`).
//!
//! Memory: the keys of loaded buckets (dropped with the bucket) and reservations whose marker is
//! not filed yet.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};

use ferromq_proto::message::recall_handle::is_delete_key_of;
use parking_lot::Mutex;

/// Where a key of the book comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Reserved by this many recalls whose marker is not filed yet.
    Reserved(u32),
    /// Its marker is filed in a loaded bucket.
    Filed,
}

#[derive(Debug)]
struct Book {
    /// Every message due at or before this ms has been (or is being) delivered or dropped.
    decided_until: i64,
    /// Due ms → delete keys recalled for it.
    keys: BTreeMap<i64, Vec<(String, Seen)>>,
}

/// The recalls the timer honours, and how many held messages they dropped.
#[derive(Debug)]
pub struct RecallBook {
    book: Mutex<Book>,
    dropped: AtomicI64,
}

impl Default for RecallBook {
    fn default() -> Self {
        RecallBook {
            book: Mutex::new(Book {
                decided_until: i64::MIN,
                keys: BTreeMap::new(),
            }),
            dropped: AtomicI64::new(0),
        }
    }
}

/// A recall that came after the timer decided about its message's due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLate;

impl RecallBook {
    /// Reserves the recall of the message due at `due_ms` with delete key `key`, before its
    /// marker is stored. Errors with [`TooLate`] when the timer has already decided about that
    /// due time.
    pub fn reserve(&self, due_ms: i64, key: &str) -> Result<(), TooLate> {
        let mut book = self.book.lock();
        if due_ms <= book.decided_until {
            return Err(TooLate);
        }
        let keys = book.keys.entry(due_ms).or_default();
        match keys.iter_mut().find(|(k, _)| k == key) {
            Some((_, Seen::Reserved(n))) => *n += 1,
            Some((_, Seen::Filed)) => {}
            None => keys.push((key.to_owned(), Seen::Reserved(1))),
        }
        Ok(())
    }

    /// Undoes a [`RecallBook::reserve`] whose marker could not be stored.
    pub fn cancel(&self, due_ms: i64, key: &str) {
        let mut book = self.book.lock();
        let Some(keys) = book.keys.get_mut(&due_ms) else {
            return;
        };
        if let Some(i) = keys.iter().position(|(k, _)| k == key) {
            match &mut keys[i].1 {
                Seen::Reserved(n) if *n > 1 => *n -= 1,
                Seen::Reserved(_) => {
                    keys.swap_remove(i);
                }
                Seen::Filed => {}
            }
        }
        if keys.is_empty() {
            book.keys.remove(&due_ms);
        }
    }

    /// Held messages dropped because they were recalled, since start.
    pub fn dropped(&self) -> i64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Timer thread: everything due at or before `now_ms` is about to be decided; returns the
    /// time decided until (never moves back).
    pub(super) fn advance(&self, now_ms: i64) -> i64 {
        let mut book = self.book.lock();
        book.decided_until = book.decided_until.max(now_ms);
        book.decided_until
    }

    /// Timer thread: a marker for `(due_ms, key)` was filed or read back. When its bucket is
    /// loaded the key is kept until the bucket is forgotten; otherwise it is dropped from memory
    /// (with any reservation: the marker is in the bucket file, read back when the bucket loads).
    pub(super) fn filed(&self, due_ms: i64, key: &str, bucket_loaded: bool) {
        let mut book = self.book.lock();
        if bucket_loaded {
            let keys = book.keys.entry(due_ms).or_default();
            match keys.iter_mut().find(|(k, _)| k == key) {
                Some((_, seen)) => *seen = Seen::Filed,
                None => keys.push((key.to_owned(), Seen::Filed)),
            }
        } else if let Some(keys) = book.keys.get_mut(&due_ms) {
            keys.retain(|(k, _)| k != key);
            if keys.is_empty() {
                book.keys.remove(&due_ms);
            }
        }
    }

    /// Timer thread: true when the message of `topic` with `uniq_key` due at `due_ms` was
    /// recalled (no allocation).
    pub(super) fn is_recalled(&self, due_ms: i64, topic: &str, uniq_key: &str) -> bool {
        let book = self.book.lock();
        book.keys.get(&due_ms).is_some_and(|keys| {
            keys.iter()
                .any(|(k, _)| is_delete_key_of(k, topic, uniq_key))
        })
    }

    /// Timer thread: counts a held message dropped as recalled.
    pub(super) fn note_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Timer thread: the bucket `[start, end)` is delivered and deleted; its filed keys go
    /// (reservations stay until their marker is filed).
    pub(super) fn forget(&self, start: i64, end: i64) {
        let mut book = self.book.lock();
        let mut emptied = Vec::new();
        for (due, keys) in book.keys.range_mut(start..end) {
            keys.retain(|(_, seen)| *seen != Seen::Filed);
            if keys.is_empty() {
                emptied.push(*due);
            }
        }
        for due in emptied {
            book.keys.remove(&due);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.book.lock().keys.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_is_honoured_only_for_its_due_time_and_topic() {
        let book = RecallBook::default();
        book.reserve(1_000, "T+U1").unwrap();
        assert!(book.is_recalled(1_000, "T", "U1"));
        assert!(!book.is_recalled(1_001, "T", "U1"));
        assert!(!book.is_recalled(1_000, "T2", "U1"));
        assert!(!book.is_recalled(1_000, "T", "U2"));
    }

    #[test]
    fn recalls_after_the_decision_are_too_late() {
        let book = RecallBook::default();
        assert_eq!(book.advance(5_000), 5_000);
        assert_eq!(book.advance(4_000), 5_000, "never moves back");
        assert_eq!(book.reserve(5_000, "T+U"), Err(TooLate));
        assert_eq!(book.reserve(4_000, "T+U"), Err(TooLate));
        assert_eq!(book.reserve(5_001, "T+U"), Ok(()));
    }

    #[test]
    fn a_failed_store_cancels_only_its_own_reservation() {
        let book = RecallBook::default();
        book.reserve(10, "T+U").unwrap();
        book.reserve(10, "T+U").unwrap();
        book.cancel(10, "T+U");
        assert!(book.is_recalled(10, "T", "U"), "the other recall stands");
        book.cancel(10, "T+U");
        assert!(!book.is_recalled(10, "T", "U"));
        assert_eq!(book.len(), 0);
        // A filed marker is not undone by a cancel.
        book.reserve(10, "T+U").unwrap();
        book.filed(10, "T+U", true);
        book.cancel(10, "T+U");
        assert!(book.is_recalled(10, "T", "U"));
    }

    #[test]
    fn markers_of_unloaded_buckets_leave_memory_and_loaded_ones_go_with_their_bucket() {
        let book = RecallBook::default();
        book.reserve(25_000, "T+A").unwrap();
        book.filed(25_000, "T+A", false);
        assert_eq!(book.len(), 0, "read back when its bucket loads");
        book.filed(25_000, "T+A", true);
        book.reserve(25_500, "T+B").unwrap();
        book.filed(31_000, "T+C", true);
        assert_eq!(book.len(), 3);
        book.forget(20_000, 30_000);
        // The unfiled reservation and the other bucket stay.
        assert!(!book.is_recalled(25_000, "T", "A"));
        assert!(book.is_recalled(25_500, "T", "B"));
        assert!(book.is_recalled(31_000, "T", "C"));
        assert_eq!(book.len(), 2);
    }
}
