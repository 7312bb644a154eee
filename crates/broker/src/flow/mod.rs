//! Flow control: the broker sheds load instead of drowning.
//!
//! ```text
//! socket ─▶ net (serverMaxConnections, serverMaxInFlightPerConnection and
//!           │    serverMaxInFlightBytesPerConnection: reading stops at either bound; a
//!           │    request's slot is freed only once its answer is written)
//!           ▼
//!      dispatch ─▶ send family ─▶ SendGate (sendMessageThreadPoolNums slots, a queue of
//!           │                     sendThreadPoolQueueCapacity, waitTimeMillsInSendQueue,
//!           │                     osPageCacheBusyTimeOutMills) ─▶ send handler ─▶ store
//!           └──▶ pull, heartbeat, admin: never wait behind sends
//! ```
//!
//! [`fast_failure::SendGate`] is the send family's budget (RocketMQ's send thread pool plus
//! `BrokerFastFailure`): a send holds a slot from admission until it is answered, including
//! a SYNC_FLUSH wait for the disk, so the memory sends pin (their bodies) is bounded by the
//! slot count. A send that cannot get a slot within `waitTimeMillsInSendQueue` is answered
//! SYSTEM_BUSY `[TIMEOUT_CLEAN_QUEUE]`; while an append holds the commit log longer than
//! `osPageCacheBusyTimeOutMills` new sends get `[REJECTREQUEST]` and queued ones
//! `[PCBUSY_CLEAN_QUEUE]`. Clients treat SYSTEM_BUSY as retryable on another broker.
//! Requests of the other families never pass the gate, so an operator reaches an overloaded
//! broker and consumers keep draining it.
//!
//! Trade-off: Java frees a send thread while the put waits for the disk and counts threads;
//! FerroMQ counts sends in progress, which is what bounds memory, so its default slot count
//! (64) is larger than Java's thread count (at most 4).

pub mod fast_failure;
pub mod metrics;
pub mod quota;

pub use fast_failure::{FlowCounters, SendGate, LIVE_FLOW_KEYS};
pub use quota::QuotaManager;

/// Flow-control settings from broker.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowConfig {
    /// `brokerFastFailureEnable` (true): shed queued sends after `send_queue_wait_ms` and when
    /// the page cache is busy; when false a send waits for a slot as long as it takes.
    pub fast_failure_enable: bool,
    /// `sendMessageThreadPoolNums` (64): sends in progress at once.
    pub send_slots: usize,
    /// `sendThreadPoolQueueCapacity` (10 000): sends that may wait for a slot.
    pub send_queue_capacity: usize,
    /// `waitTimeMillsInSendQueue` (200 ms): longest wait for a slot.
    pub send_queue_wait_ms: u64,
    /// `osPageCacheBusyTimeOutMills` (1 000 ms): an append holding the commit log longer
    /// means the page cache is busy.
    pub page_cache_busy_ms: u64,
    /// `serverMaxConnections` (10 000): connections served at once.
    pub max_connections: usize,
    /// `serverMaxInFlightPerConnection` (256): requests of one connection in progress or
    /// with an answer not yet written.
    pub max_in_flight: usize,
    /// `serverMaxInFlightBytesPerConnection` (4 MiB): bytes of answers of one connection
    /// queued and not yet written to its socket; above it the connection's requests wait.
    pub max_in_flight_bytes: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            fast_failure_enable: true,
            send_slots: 64,
            send_queue_capacity: 10_000,
            send_queue_wait_ms: 200,
            page_cache_busy_ms: 1000,
            max_connections: 10_000,
            max_in_flight: 256,
            max_in_flight_bytes: ferromq_net::connection::DEFAULT_MAX_IN_FLIGHT_BYTES,
        }
    }
}
