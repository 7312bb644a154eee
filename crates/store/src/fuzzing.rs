//! Fuzz entry points: one function per `cargo fuzz` target in `crates/store/fuzz`, shared with the
//! corpus replay test (`tests/fuzz_corpus.rs`). Not part of the public API.

pub use crate::commit_log::recovery::{scan_segment, SegmentScan};

/// Target `commit_log_recovery`: the first byte chooses whether body CRCs are checked (bit 0);
/// the rest is a commit-log segment starting at offset 0, scanned with recovery's record check.
///
/// Invariants: the scan ends inside the segment; a torn record is reported where the scan
/// stopped; and recovery is idempotent: the segment with everything after the end zeroed (as
/// recovery leaves it) scans to the same records with nothing torn.
pub fn commit_log_recovery(data: &[u8]) {
    let Some((&flags, seg)) = data.split_first() else {
        return;
    };
    let check_crc = flags & 1 != 0;
    let scan = scan_segment(seg, 0, check_crc);
    assert!(scan.end <= seg.len());
    if let Some((at, reason)) = &scan.torn {
        assert_eq!(*at, scan.end);
        assert!(!reason.is_empty());
    }
    if scan.end < seg.len() {
        let mut cleared = seg[..scan.end].to_vec();
        cleared.resize(seg.len(), 0);
        let again = scan_segment(&cleared, 0, check_crc);
        assert_eq!(
            again.records, scan.records,
            "records after clearing the tail"
        );
        assert_eq!(again.torn, None, "a cleared tail still looks torn");
        assert!(again.end == scan.end || again.end == seg.len());
    }
}
