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
