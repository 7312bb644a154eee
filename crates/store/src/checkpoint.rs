//! The `checkpoint` file: how far the commit log and the consume queues are known durable.
//!
//! ```text
//! 0  physicMsgTimestamp   i64   store time of the last flushed commit-log record (as Java)
//! 8  logicsMsgTimestamp   i64   store time of the last dispatched record (as Java)
//! 16 indexMsgTimestamp    i64   (index, later)
//! 24 magic "FMQCKPT1"     8 bytes
//! 32 commitLogFlushed     i64   commit log durable below this offset
//! 40 dispatched           i64   consume-queue units of records below this offset are durable
//! 48 crc32 of bytes 0..48 u32
//! ```
//! Written atomically (temp file, fsync, rename, fsync of the directory), so it is either the
//! old or the new one; a file that fails its checks is ignored with a warning.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::segments::sync_dir;
use crate::StoreError;

const MAGIC: &[u8; 8] = b"FMQCKPT1";
const LEN: usize = 52;

/// Durable progress of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Checkpoint {
    pub(crate) physic_msg_timestamp: i64,
    pub(crate) logics_msg_timestamp: i64,
    pub(crate) index_msg_timestamp: i64,
    pub(crate) commit_log_flushed: i64,
    pub(crate) dispatched: i64,
}

impl Checkpoint {
    fn encode(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[0..8].copy_from_slice(&self.physic_msg_timestamp.to_be_bytes());
        b[8..16].copy_from_slice(&self.logics_msg_timestamp.to_be_bytes());
        b[16..24].copy_from_slice(&self.index_msg_timestamp.to_be_bytes());
        b[24..32].copy_from_slice(MAGIC);
        b[32..40].copy_from_slice(&self.commit_log_flushed.to_be_bytes());
        b[40..48].copy_from_slice(&self.dispatched.to_be_bytes());
        let crc = crc32fast::hash(&b[..48]);
        b[48..52].copy_from_slice(&crc.to_be_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<Checkpoint> {
        if b.len() != LEN || &b[24..32] != MAGIC {
            return None;
        }
        let crc = u32::from_be_bytes(b[48..52].try_into().ok()?);
        if crc != crc32fast::hash(&b[..48]) {
            return None;
        }
        let i = |at: usize| b[at..at + 8].try_into().ok().map(i64::from_be_bytes);
        Some(Checkpoint {
            physic_msg_timestamp: i(0)?,
            logics_msg_timestamp: i(8)?,
            index_msg_timestamp: i(16)?,
            commit_log_flushed: i(32)?,
            dispatched: i(40)?,
        })
    }

    /// Reads `path`: `Ok(None)` when it is missing or unusable (logged).
    pub(crate) fn load(path: &Path) -> Result<Option<Checkpoint>, StoreError> {
        match fs::read(path) {
            Ok(bytes) => {
                let ck = Checkpoint::decode(&bytes);
                if ck.is_none() {
                    tracing::warn!(path = %path.display(), len = bytes.len(), "ignoring unreadable checkpoint");
                }
                Ok(ck)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("read", path, e)),
        }
    }

    /// Replaces `path` atomically with this checkpoint.
    pub(crate) fn store(&self, path: &Path) -> Result<(), StoreError> {
        let tmp = path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&self.encode())?;
            f.sync_all()?;
            fs::rename(&tmp, path)
        };
        write().map_err(|e| StoreError::io("write", path, e))?;
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        assert_eq!(Checkpoint::load(&path).unwrap(), None);
        let ck = Checkpoint {
            physic_msg_timestamp: 1,
            logics_msg_timestamp: 2,
            index_msg_timestamp: 3,
            commit_log_flushed: 4096,
            dispatched: 4000,
        };
        ck.store(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), Some(ck));
        let mut raw = fs::read(&path).unwrap();
        raw[33] ^= 1;
        fs::write(&path, &raw).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), None);
        fs::write(&path, b"short").unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), None);
    }
}
