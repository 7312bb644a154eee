//! The send family's budget and its fast failure (RocketMQ's send thread pool with its
//! bounded queue, `BrokerFastFailure` and `SendMessageProcessor.rejectRequest`).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::FlowConfig;
use crate::BrokerError;

/// Java's bound on a plausible lock hold: a larger difference is a clock jump, not a busy
/// page cache (`DefaultMessageStore.isOSPageCacheBusy`).
const IMPLAUSIBLE_HOLD_MS: i64 = 10_000_000;

/// How often the page-cache watcher reads the append lock (Java's fast-failure period).
const WATCH_PERIOD: Duration = Duration::from_millis(10);

/// What the gate did, for runtime info and `/metrics`.
#[derive(Debug, Default)]
pub struct FlowCounters {
    /// Sends admitted to a slot.
    pub admitted: AtomicU64,
    /// Sends answered `[TIMEOUT_CLEAN_QUEUE]`.
    pub shed_timeout: AtomicU64,
    /// Queued sends answered `[PCBUSY_CLEAN_QUEUE]`.
    pub shed_page_cache: AtomicU64,
    /// New sends answered `[REJECTREQUEST]` while the page cache was busy.
    pub rejected_page_cache: AtomicU64,
    /// Sends answered `[OVERLOAD]` because the queue was full.
    pub shed_overload: AtomicU64,
}

/// The flow settings that can change while the broker runs.
#[derive(Debug)]
struct LiveFlow {
    fast_failure_enable: std::sync::atomic::AtomicBool,
    send_queue_capacity: AtomicUsize,
    send_queue_wait_ms: AtomicU64,
    page_cache_busy_ms: AtomicU64,
}

impl LiveFlow {
    fn new(c: &FlowConfig) -> LiveFlow {
        LiveFlow {
            fast_failure_enable: std::sync::atomic::AtomicBool::new(c.fast_failure_enable),
            send_queue_capacity: AtomicUsize::new(c.send_queue_capacity),
            send_queue_wait_ms: AtomicU64::new(c.send_queue_wait_ms),
            page_cache_busy_ms: AtomicU64::new(c.page_cache_busy_ms),
        }
    }
}

/// The `broker.conf` keys of [`SendGate::set_live`].
pub const LIVE_FLOW_KEYS: &[&str] = &[
    "brokerFastFailureEnable",
    "sendThreadPoolQueueCapacity",
    "waitTimeMillsInSendQueue",
    "osPageCacheBusyTimeOutMills",
];

impl SendGate {
    /// Applies a validated [`FlowConfig`]'s value of `key` (one of [`LIVE_FLOW_KEYS`]).
    pub fn set_live(&self, key: &str, c: &FlowConfig) -> bool {
        let l = &self.live;
        match key {
            "brokerFastFailureEnable" => l
                .fast_failure_enable
                .store(c.fast_failure_enable, Ordering::Relaxed),
            "sendThreadPoolQueueCapacity" => l
                .send_queue_capacity
                .store(c.send_queue_capacity, Ordering::Relaxed),
            "waitTimeMillsInSendQueue" => l
                .send_queue_wait_ms
                .store(c.send_queue_wait_ms, Ordering::Relaxed),
            "osPageCacheBusyTimeOutMills" => l
                .page_cache_busy_ms
                .store(c.page_cache_busy_ms, Ordering::Relaxed),
            _ => return false,
        }
        true
    }

    /// The live value of one of [`LIVE_FLOW_KEYS`].
    pub fn live_value(&self, key: &str) -> Option<String> {
        let l = &self.live;
        Some(match key {
            "brokerFastFailureEnable" => l.fast_failure_enable.load(Ordering::Relaxed).to_string(),
            "sendThreadPoolQueueCapacity" => {
                l.send_queue_capacity.load(Ordering::Relaxed).to_string()
            }
            "waitTimeMillsInSendQueue" => l.send_queue_wait_ms.load(Ordering::Relaxed).to_string(),
            "osPageCacheBusyTimeOutMills" => {
                l.page_cache_busy_ms.load(Ordering::Relaxed).to_string()
            }
            _ => return None,
        })
    }
}

/// A send's slot: the send counts as in progress until this is dropped.
pub type SendSlot = OwnedSemaphorePermit;

/// Admits sends to a bounded number of slots, queueing the rest for a bounded time.
pub struct SendGate {
    slots: Arc<Semaphore>,
    queued: AtomicUsize,
    config: FlowConfig,
    /// The settings `mqadmin updateBrokerConfig` may change while the broker runs.
    live: LiveFlow,
    /// Woken by the page-cache watcher when an append holds the commit log too long.
    page_cache_busy: Notify,
    /// Counters.
    pub counters: FlowCounters,
}

impl SendGate {
    /// A gate with `config`'s slots, queue and waits.
    pub fn new(config: &FlowConfig) -> SendGate {
        SendGate {
            slots: Arc::new(Semaphore::new(config.send_slots.max(1))),
            queued: AtomicUsize::new(0),
            config: config.clone(),
            live: LiveFlow::new(config),
            page_cache_busy: Notify::new(),
            counters: FlowCounters::default(),
        }
    }

    /// Sends waiting for a slot now (Java's `sendThreadPoolQueueSize`).
    pub fn queue_size(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Sends holding a slot now.
    pub fn in_progress(&self) -> usize {
        self.config.send_slots.max(1) - self.slots.available_permits()
    }

    /// True when an append has held the commit log for `lock_held_ms`, longer than
    /// `osPageCacheBusyTimeOutMills`.
    pub fn page_cache_busy(&self, lock_held_ms: i64) -> bool {
        lock_held_ms > self.live.page_cache_busy_ms.load(Ordering::Relaxed) as i64
            && lock_held_ms < IMPLAUSIBLE_HOLD_MS
    }

    /// Admits one send. Returns its slot; or SYSTEM_BUSY with RocketMQ's remark when the page
    /// cache is busy (`lock_held_ms` is how long the current append has held the commit log),
    /// the queue is full, or (with fast failure on) no slot came free in time.
    pub async fn admit(&self, lock_held_ms: impl Fn() -> i64) -> Result<SendSlot, BrokerError> {
        if self.page_cache_busy(lock_held_ms()) {
            self.counters
                .rejected_page_cache
                .fetch_add(1, Ordering::Relaxed);
            return Err(busy(
                "[REJECTREQUEST]system busy, start flow control for a while",
            ));
        }
        if let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() {
            self.counters.admitted.fetch_add(1, Ordering::Relaxed);
            return Ok(slot);
        }
        let _queued = Queued::enter(&self.queued);
        if _queued.position >= self.live.send_queue_capacity.load(Ordering::Relaxed) {
            self.counters.shed_overload.fetch_add(1, Ordering::Relaxed);
            return Err(busy(
                "[OVERLOAD]system busy, start flow control for a while",
            ));
        }
        let start = Instant::now();
        let acquire = Arc::clone(&self.slots).acquire_owned();
        tokio::pin!(acquire);
        if !self.live.fast_failure_enable.load(Ordering::Relaxed) {
            let slot = acquire.await.map_err(|_| closed())?;
            self.counters.admitted.fetch_add(1, Ordering::Relaxed);
            return Ok(slot);
        }
        let deadline = tokio::time::sleep(Duration::from_millis(
            self.live.send_queue_wait_ms.load(Ordering::Relaxed),
        ));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                biased;
                slot = &mut acquire => {
                    let slot = slot.map_err(|_| closed())?;
                    self.counters.admitted.fetch_add(1, Ordering::Relaxed);
                    return Ok(slot);
                }
                _ = self.page_cache_busy.notified() => {
                    if !self.page_cache_busy(lock_held_ms()) {
                        continue;
                    }
                    self.counters.shed_page_cache.fetch_add(1, Ordering::Relaxed);
                    return Err(busy(&self.clean_queue_remark("PCBUSY_CLEAN_QUEUE", start)));
                }
                _ = &mut deadline => {
                    self.counters.shed_timeout.fetch_add(1, Ordering::Relaxed);
                    return Err(busy(&self.clean_queue_remark("TIMEOUT_CLEAN_QUEUE", start)));
                }
            }
        }
    }

    /// RocketMQ's remark for a send taken out of the queue.
    fn clean_queue_remark(&self, tag: &str, start: Instant) -> String {
        format!(
            "[{tag}]broker busy, start flow control for a while, period in queue: {}ms, size of queue: {}",
            start.elapsed().as_millis(),
            self.queue_size().saturating_sub(1)
        )
    }

    /// Reads the append lock every 10 ms until `stop` and, while it is held too long, answers
    /// every queued send `[PCBUSY_CLEAN_QUEUE]` (Java's `BrokerFastFailure` loop). Runs only
    /// with fast failure on.
    pub async fn watch_page_cache(
        self: Arc<Self>,
        lock_held_ms: impl Fn() -> i64,
        stop: CancellationToken,
    ) {
        if !self.live.fast_failure_enable.load(Ordering::Relaxed) {
            return;
        }
        let mut tick = tokio::time::interval(WATCH_PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => return,
            }
            if self.queue_size() > 0 && self.page_cache_busy(lock_held_ms()) {
                self.page_cache_busy.notify_waiters();
            }
        }
    }
}

fn busy(reason: &str) -> BrokerError {
    BrokerError::SystemBusy {
        reason: reason.to_owned(),
    }
}

fn closed() -> BrokerError {
    BrokerError::system("the send gate is closed")
}

/// A place in the send queue, left when dropped.
struct Queued<'a> {
    count: &'a AtomicUsize,
    position: usize,
}

impl<'a> Queued<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        let position = count.fetch_add(1, Ordering::AcqRel);
        Queued { count, position }
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(slots: usize, capacity: usize, wait_ms: u64, enabled: bool) -> Arc<SendGate> {
        Arc::new(SendGate::new(&FlowConfig {
            fast_failure_enable: enabled,
            send_slots: slots,
            send_queue_capacity: capacity,
            send_queue_wait_ms: wait_ms,
            page_cache_busy_ms: 1000,
            ..FlowConfig::default()
        }))
    }

    fn remark(e: BrokerError) -> String {
        match e {
            BrokerError::SystemBusy { reason } => reason,
            other => panic!("expected SystemBusy, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_send_waiting_past_its_limit_is_shed_with_rocketmq_remark() {
        let g = gate(1, 100, 50, true);
        let held = g.admit(|| 0).await.unwrap();
        let e = remark(g.admit(|| 0).await.unwrap_err());
        assert!(
            e.starts_with("[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: "),
            "{e}"
        );
        assert!(e.ends_with("ms, size of queue: 0"), "{e}");
        assert_eq!(g.counters.shed_timeout.load(Ordering::Relaxed), 1);
        drop(held);
        // A free slot admits at once again.
        let _ok = g.admit(|| 0).await.unwrap();
        assert_eq!(g.queue_size(), 0);
    }

    #[tokio::test]
    async fn a_freed_slot_goes_to_the_queued_send() {
        let g = gate(1, 100, 10_000, true);
        let held = g.admit(|| 0).await.unwrap();
        let g2 = Arc::clone(&g);
        let waiter = tokio::spawn(async move { g2.admit(|| 0).await.map(|_| ()) });
        while g.queue_size() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        drop(held);
        waiter.await.unwrap().unwrap();
        assert_eq!(g.counters.admitted.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_full_queue_answers_overload() {
        let g = gate(1, 1, 10_000, true);
        let _held = g.admit(|| 0).await.unwrap();
        let g2 = Arc::clone(&g);
        let waiter = tokio::spawn(async move { g2.admit(|| 0).await.map(|_| ()) });
        while g.queue_size() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let e = remark(g.admit(|| 0).await.unwrap_err());
        assert_eq!(e, "[OVERLOAD]system busy, start flow control for a while");
        waiter.abort();
    }

    #[tokio::test]
    async fn a_busy_page_cache_rejects_new_sends_and_cleans_the_queue() {
        let g = gate(1, 100, 60_000, true);
        let held_ms = Arc::new(AtomicU64::new(0));
        let h = Arc::clone(&held_ms);
        let lock = move || h.load(Ordering::Relaxed) as i64;
        let _held = g.admit(lock.clone()).await.unwrap();
        let stop = CancellationToken::new();
        tokio::spawn(Arc::clone(&g).watch_page_cache(lock.clone(), stop.clone()));
        let g2 = Arc::clone(&g);
        let l2 = lock.clone();
        let waiter = tokio::spawn(async move { g2.admit(l2).await.map(|_| ()) });
        while g.queue_size() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        held_ms.store(1500, Ordering::Relaxed);
        let e = remark(waiter.await.unwrap().unwrap_err());
        assert!(e.starts_with("[PCBUSY_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: "), "{e}");
        let e = remark(g.admit(lock.clone()).await.unwrap_err());
        assert_eq!(
            e,
            "[REJECTREQUEST]system busy, start flow control for a while"
        );
        // A clock jump is not a busy page cache.
        held_ms.store(20_000_000, Ordering::Relaxed);
        assert!(!g.page_cache_busy(lock()));
        stop.cancel();
    }

    #[tokio::test]
    async fn without_fast_failure_a_send_waits_for_its_slot() {
        let g = gate(1, 100, 1, false);
        let held = g.admit(|| 0).await.unwrap();
        let g2 = Arc::clone(&g);
        let waiter = tokio::spawn(async move { g2.admit(|| 0).await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        drop(held);
        waiter.await.unwrap().unwrap();
        assert_eq!(g.counters.shed_timeout.load(Ordering::Relaxed), 0);
    }
}
