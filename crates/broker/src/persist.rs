//! Atomic JSON files: write a temp file, fsync it, rename over the target, fsync the directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use crate::BrokerError;

/// One persisted JSON table. Saves are serialised and each one snapshots the table while it
/// holds the lock, so the file always ends up with the newest state and two writers never share
/// the temp file.
#[derive(Debug)]
pub struct JsonFile {
    path: PathBuf,
    lock: Mutex<()>,
}

impl JsonFile {
    /// The file at `path` (not touched until loaded or saved).
    pub fn new(path: PathBuf) -> Self {
        JsonFile {
            path,
            lock: Mutex::new(()),
        }
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's bytes, or `None` when it does not exist yet.
    pub fn load(&self) -> Result<Option<Vec<u8>>, BrokerError> {
        read_optional(&self.path).map_err(|source| BrokerError::Io {
            what: format!("reading {}", self.path.display()),
            source,
        })
    }

    /// A `Corrupt` error for this file.
    pub fn corrupt(&self, reason: impl std::fmt::Display) -> BrokerError {
        BrokerError::Corrupt {
            what: self.path.display().to_string(),
            reason: reason.to_string(),
        }
    }

    /// Writes the bytes `snapshot` returns (called under the save lock) atomically.
    pub fn save(&self, snapshot: impl FnOnce() -> Vec<u8>) -> Result<(), BrokerError> {
        let _guard = self.lock.lock();
        let bytes = snapshot();
        write_atomic(&self.path, &bytes).map_err(|source| BrokerError::Io {
            what: format!("writing {}", self.path.display()),
            source,
        })
    }
}

/// Writes `data` to `path` atomically; a crash leaves either the old or the new content.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Reads `path`, or `None` when it does not exist.
pub fn read_optional(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config").join("topics.json");
        write_atomic(&p, b"{\"a\":1}").unwrap();
        write_atomic(&p, b"{\"a\":2}").unwrap();
        assert_eq!(read_optional(&p).unwrap().unwrap(), b"{\"a\":2}");
        assert!(!p.with_extension("json.tmp").exists());
        assert!(read_optional(&dir.path().join("missing.json"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn concurrent_saves_end_with_the_newest_state() {
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let file = Arc::new(JsonFile::new(dir.path().join("t.json")));
        let state = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (file, state) = (Arc::clone(&file), Arc::clone(&state));
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        state.fetch_add(1, Ordering::SeqCst);
                        file.save(|| state.load(Ordering::SeqCst).to_string().into_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(file.load().unwrap().unwrap(), b"200");
    }
}
