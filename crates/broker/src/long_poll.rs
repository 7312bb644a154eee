//! Parked pulls (RocketMQ's `PullRequestHoldService`): a pull that found nothing waits here
//! until a message for its queue is dispatched or its hold time ends, and is then run again
//! with suspension off.

use std::collections::HashMap;
use std::sync::atomic::{fence, AtomicUsize, Ordering};
use std::time::Instant;

use ferromq_net::ConnectionHandle;
use ferromq_proto::RemotingCommand;
use parking_lot::Mutex;

/// One parked pull request.
pub struct HeldPull {
    /// Where the response goes.
    pub conn: ConnectionHandle,
    /// The original request (its opaque is reused for the response).
    pub request: RemotingCommand,
    /// The queue offset the consumer asked for.
    pub offset: i64,
    /// When to answer even if nothing arrived.
    pub deadline: Instant,
    /// Parked only to let the dispatcher catch up (the offset was past the end): when woken it
    /// may still long-poll as a fresh pull would.
    pub awaiting_dispatch: bool,
}

/// Parked pulls keyed by topic and queue.
#[derive(Default)]
pub struct PullHold {
    held: Mutex<HashMap<(String, i32), Vec<HeldPull>>>,
    /// Number of queues with parked pulls, so arrivals on an idle broker cost one atomic load.
    watched_queues: AtomicUsize,
}

impl PullHold {
    /// Parks a pull.
    pub fn park(&self, topic: &str, queue_id: i32, pull: HeldPull) {
        let mut held = self.held.lock();
        held.entry((topic.to_owned(), queue_id))
            .or_default()
            .push(pull);
        self.watched_queues.store(held.len(), Ordering::Release);
        drop(held);
        // Pairs with the fence in `is_watched`: either the dispatcher sees this pull parked, or
        // the caller's re-check after parking sees the dispatched message.
        fence(Ordering::SeqCst);
    }

    /// True when a pull is parked on the queue (checked for every dispatched message).
    pub fn is_watched(&self, topic: &str, queue_id: i32) -> bool {
        fence(Ordering::SeqCst);
        if self.watched_queues.load(Ordering::Acquire) == 0 {
            return false;
        }
        self.held
            .lock()
            .keys()
            .any(|(t, q)| *q == queue_id && t == topic)
    }
    /// Takes the pulls of a queue that can now see a message (`offset < max_offset`).
    pub fn take_ready(&self, topic: &str, queue_id: i32, max_offset: i64) -> Vec<HeldPull> {
        let mut held = self.held.lock();
        let key = (topic.to_owned(), queue_id);
        let Some(list) = held.get_mut(&key) else {
            return Vec::new();
        };
        let (ready, waiting): (Vec<_>, Vec<_>) =
            list.drain(..).partition(|p| p.offset < max_offset);
        if waiting.is_empty() {
            held.remove(&key);
        } else {
            *list = waiting;
        }
        self.watched_queues.store(held.len(), Ordering::Release);
        ready
    }

    /// Takes pulls whose hold time has passed or whose connection closed.
    pub fn take_expired(&self, now: Instant) -> Vec<HeldPull> {
        let mut out = Vec::new();
        let mut held = self.held.lock();
        held.retain(|_, list| {
            let (expired, keep): (Vec<_>, Vec<_>) = list
                .drain(..)
                .partition(|p| p.deadline <= now || p.conn.is_closed());
            out.extend(expired.into_iter().filter(|p| !p.conn.is_closed()));
            *list = keep;
            !list.is_empty()
        });
        self.watched_queues.store(held.len(), Ordering::Release);
        out
    }

    /// Queues that have parked pulls, with the smallest offset waited for.
    pub fn watched(&self) -> Vec<(String, i32, i64)> {
        self.held
            .lock()
            .iter()
            .filter_map(|((t, q), l)| l.iter().map(|p| p.offset).min().map(|o| (t.clone(), *q, o)))
            .collect()
    }

    /// Number of parked pulls.
    pub fn len(&self) -> usize {
        self.held.lock().values().map(Vec::len).sum()
    }

    /// True when nothing is parked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
