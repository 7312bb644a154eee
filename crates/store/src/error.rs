//! Errors of the storage engine. Put and get outcomes that clients see are statuses
//! ([`crate::PutStatus`], [`crate::GetStatus`]), not errors; these are for opening, recovery and
//! the file system.

use std::path::PathBuf;

/// Why the store could not open, recover or write its files.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file-system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done ("create", "open", "flush", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another process (or another store in this process) holds the store's lock file.
    #[error("store directory {path} is locked by another process")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// A setting is unusable.
    #[error("invalid store config: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// Files contradict each other in a way recovery cannot repair.
    #[error("corrupt store file {path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl StoreError {
    /// Wraps an I/O error with the operation and path it came from.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
