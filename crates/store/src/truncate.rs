//! Cutting a closed store's commit log back to an offset: what a slave does when it holds bytes
//! its (new) master does not, because they were written under an older master and never
//! replicated. The cut is made on disk before the store opens; opening then recovers as after a
//! crash, and that recovery (already the path that handles a torn log) drops the consume-queue
//! units and index entries pointing past the cut.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::checkpoint::Checkpoint;
use crate::segments::sync_dir;
use crate::store::lock_root;
use crate::{MessageStore, StoreConfig, StoreError};

/// What [`MessageStore::truncate_closed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TruncateReport {
    /// Segment files deleted whole.
    pub segments_removed: usize,
    /// Bytes zeroed in the segment holding the cut.
    pub bytes_cleared: u64,
}

impl MessageStore {
    /// Cuts the commit log of the closed store `config` describes at `offset` (which must be a
    /// record boundary, as any end a replica reached is): later segments are deleted, the rest
    /// of the segment holding the cut is zeroed, the checkpoint is moved back and the `abort`
    /// marker set, so that the next [`MessageStore::open`] rebuilds consume queues and index up
    /// to the cut. Errors when the store is open elsewhere.
    pub fn truncate_closed(
        config: &StoreConfig,
        offset: i64,
    ) -> Result<TruncateReport, StoreError> {
        let root = &config.store_path_root_dir;
        let _lock = lock_root(root)?;
        let dir = config.commit_log_dir();
        let size = config.mapped_file_size_commit_log as i64;
        let mut report = TruncateReport::default();
        let mut files = Vec::new();
        if dir.is_dir() {
            for entry in fs::read_dir(&dir).map_err(|e| StoreError::io("list", &dir, e))? {
                let entry = entry.map_err(|e| StoreError::io("list", &dir, e))?;
                let name = entry.file_name();
                if let Some(start) = name
                    .to_str()
                    .filter(|n| n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|n| n.parse::<i64>().ok())
                {
                    files.push((start, entry.path()));
                }
            }
        }
        files.sort();
        for (start, path) in &files {
            if *start >= offset {
                fs::remove_file(path).map_err(|e| StoreError::io("remove", path, e))?;
                report.segments_removed += 1;
            } else if offset < start + size {
                report.bytes_cleared = zero_from(path, (offset - start) as u64)?;
            }
        }
        sync_dir(&dir)?;
        let checkpoint_path = root.join("checkpoint");
        if let Some(mut c) = Checkpoint::load(&checkpoint_path)? {
            c.commit_log_flushed = c.commit_log_flushed.min(offset);
            c.dispatched = c.dispatched.min(offset);
            c.store(&checkpoint_path)?;
        }
        let abort = root.join("abort");
        fs::File::create(&abort).map_err(|e| StoreError::io("create", &abort, e))?;
        sync_dir(root)?;
        tracing::warn!(
            offset,
            segments_removed = report.segments_removed,
            bytes_cleared = report.bytes_cleared,
            "commit log cut back; the store recovers up to the cut when it opens"
        );
        Ok(report)
    }
}

/// Writes zeros from `pos` to the end of the file (and syncs it); returns the bytes written.
fn zero_from(path: &Path, pos: u64) -> Result<u64, StoreError> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| StoreError::io("open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| StoreError::io("stat", path, e))?
        .len();
    let zeros = vec![0u8; 1 << 20];
    let mut at = pos;
    while at < len {
        let n = (len - at).min(zeros.len() as u64) as usize;
        file.write_all_at(&zeros[..n], at)
            .map_err(|e| StoreError::io("write", path, e))?;
        at += n as u64;
    }
    file.sync_data()
        .map_err(|e| StoreError::io("fsync", path, e))?;
    Ok(len.saturating_sub(pos))
}
