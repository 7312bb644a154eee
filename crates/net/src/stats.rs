//! Process-wide transport counters: how many bytes the writers copied (frame headers, encoded
//! into one buffer per batch) and how many they wrote by reference from body pieces (message
//! bodies and, for pull responses, slices of the mapped commit log). A pull path that copies no
//! message bytes shows as body bytes growing while copied bytes grow only by header sizes.

use std::sync::atomic::{AtomicU64, Ordering};

/// The counters behind [`copy_stats`].
pub(crate) struct CopyCounters {
    header_bytes_copied: AtomicU64,
    body_bytes_by_reference: AtomicU64,
    frames: AtomicU64,
}

pub(crate) static COPY_STATS: CopyCounters = CopyCounters {
    header_bytes_copied: AtomicU64::new(0),
    body_bytes_by_reference: AtomicU64::new(0),
    frames: AtomicU64::new(0),
};

impl CopyCounters {
    /// Counts one written batch: `frames` frames, `header` bytes encoded, `body` bytes passed
    /// by reference.
    pub(crate) fn add_batch(&self, frames: usize, header: usize, body: usize) {
        self.frames.fetch_add(frames as u64, Ordering::Relaxed);
        self.header_bytes_copied
            .fetch_add(header as u64, Ordering::Relaxed);
        self.body_bytes_by_reference
            .fetch_add(body as u64, Ordering::Relaxed);
    }
}

/// A reading of the writers' counters since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Frames written.
    pub frames: u64,
    /// Bytes the writers copied: length fields and headers encoded into their buffer.
    pub header_bytes_copied: u64,
    /// Body bytes written straight from the commands' `Bytes` (never copied by the writer).
    pub body_bytes_by_reference: u64,
}

/// The writers' counters so far (all connections of this process).
pub fn copy_stats() -> CopyStats {
    CopyStats {
        frames: COPY_STATS.frames.load(Ordering::Relaxed),
        header_bytes_copied: COPY_STATS.header_bytes_copied.load(Ordering::Relaxed),
        body_bytes_by_reference: COPY_STATS.body_bytes_by_reference.load(Ordering::Relaxed),
    }
}

/// Why a connection's reader stopped serving its requests for a while (write-side
/// back-pressure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseReason {
    /// `serverMaxInFlightPerConnection` requests were in progress or unwritten.
    InFlight,
    /// The unwritten answers exceeded `serverMaxInFlightBytesPerConnection`.
    Bytes,
}

/// The counters behind [`flow_stats`].
pub(crate) struct FlowCounters {
    refused: AtomicU64,
    paused_in_flight: AtomicU64,
    paused_bytes: AtomicU64,
    paused_now: AtomicU64,
}

pub(crate) static FLOW_STATS: FlowCounters = FlowCounters {
    refused: AtomicU64::new(0),
    paused_in_flight: AtomicU64::new(0),
    paused_bytes: AtomicU64::new(0),
    paused_now: AtomicU64::new(0),
};

impl FlowCounters {
    /// Counts a connection closed on accept because the server was at its connection limit.
    pub(crate) fn refuse(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a reader that starts waiting for back-pressure to ease.
    pub(crate) fn pause(&self, reason: PauseReason) {
        let c = match reason {
            PauseReason::InFlight => &self.paused_in_flight,
            PauseReason::Bytes => &self.paused_bytes,
        };
        c.fetch_add(1, Ordering::Relaxed);
        self.paused_now.fetch_add(1, Ordering::Relaxed);
    }

    /// A paused reader goes on.
    pub(crate) fn resume(&self) {
        self.paused_now.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A reading of the servers' connection flow counters since the process started (all
/// servers of this process together: a standalone broker and its name server).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Connections closed on accept because `serverMaxConnections` were open.
    pub connections_refused: u64,
    /// Times a reader stopped because `serverMaxInFlightPerConnection` requests were in
    /// progress or unwritten.
    pub paused_in_flight: u64,
    /// Times a reader stopped because its unwritten answers exceeded
    /// `serverMaxInFlightBytesPerConnection`.
    pub paused_bytes: u64,
    /// Readers stopped right now.
    pub paused_now: u64,
}

/// The connection flow counters so far.
pub fn flow_stats() -> FlowStats {
    FlowStats {
        connections_refused: FLOW_STATS.refused.load(Ordering::Relaxed),
        paused_in_flight: FLOW_STATS.paused_in_flight.load(Ordering::Relaxed),
        paused_bytes: FLOW_STATS.paused_bytes.load(Ordering::Relaxed),
        paused_now: FLOW_STATS.paused_now.load(Ordering::Relaxed),
    }
}
