//! An ordered run of [`MappedFile`]s in one directory, each named by the 20-digit log offset of
//! its first byte (Java `MappedFileQueue`). Both the commit log and each consume queue are one.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::mapped_file::MappedFile;
use crate::StoreError;

/// Segment files of one log.
#[derive(Debug)]
pub(crate) struct Segments {
    dir: PathBuf,
    file_size: usize,
    files: RwLock<Vec<Arc<MappedFile>>>,
}

/// The file name of the segment starting at `offset`.
pub(crate) fn file_name(offset: i64) -> String {
    format!("{offset:020}")
}

/// Fsyncs a directory so created, renamed or deleted entries survive a power loss.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("fsync directory", dir, e))
}

impl Segments {
    /// Maps every segment file in `dir` (created if missing), in offset order. Files whose name
    /// is not 20 digits are ignored with a warning. Written positions start at 0: recovery sets
    /// them.
    pub(crate) fn load(dir: &Path, file_size: usize) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(|e| StoreError::io("create directory", dir, e))?;
        let mut found = Vec::new();
        let entries = fs::read_dir(dir).map_err(|e| StoreError::io("list", dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io("list", dir, e))?;
            let name = entry.file_name();
            let parsed = name
                .to_str()
                .filter(|n| n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse::<i64>().ok());
            match parsed {
                Some(start) => found.push((start, entry.path())),
                None => {
                    tracing::warn!(path = %entry.path().display(), "ignoring foreign file in segment directory")
                }
            }
        }
        found.sort_by_key(|(start, _)| *start);
        let mut files = Vec::with_capacity(found.len());
        for (start, path) in found {
            let file = MappedFile::open(&path, start, file_size)
                .map_err(|e| StoreError::io("map", &path, e))?;
            files.push(file);
        }
        Ok(Segments {
            dir: dir.to_path_buf(),
            file_size,
            files: RwLock::new(files),
        })
    }

    /// Directory of the segments.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Size of each segment.
    pub(crate) fn file_size(&self) -> usize {
        self.file_size
    }

    /// Number of segments.
    pub(crate) fn len(&self) -> usize {
        self.files.read().len()
    }

    /// A copy of the segment list (cheap: `Arc`s).
    pub(crate) fn snapshot(&self) -> Vec<Arc<MappedFile>> {
        self.files.read().clone()
    }

    /// The first segment.
    pub(crate) fn first(&self) -> Option<Arc<MappedFile>> {
        self.files.read().first().cloned()
    }

    /// The last segment.
    pub(crate) fn last(&self) -> Option<Arc<MappedFile>> {
        self.files.read().last().cloned()
    }

    /// The segment holding log offset `offset`.
    pub(crate) fn find(&self, offset: i64) -> Option<Arc<MappedFile>> {
        let files = self.files.read();
        let idx = files.partition_point(|f| f.end() <= offset);
        files.get(idx).filter(|f| f.start() <= offset).cloned()
    }

    /// Offset of the first byte kept, or 0 when there are no segments.
    pub(crate) fn min_offset(&self) -> i64 {
        self.first().map_or(0, |f| f.start())
    }

    /// Offset just past the last written byte, or 0 when there are no segments.
    pub(crate) fn max_offset(&self) -> i64 {
        self.last()
            .map_or(0, |f| f.start() + f.wrote_position() as i64)
    }

    /// Start offset of the segment after the one holding `offset`.
    pub(crate) fn roll_next(&self, offset: i64) -> i64 {
        let size = self.file_size as i64;
        offset + size - offset.rem_euclid(size)
    }

    /// Creates and appends a new segment starting at `start`, which must be past the last one.
    pub(crate) fn create(&self, start: i64) -> Result<Arc<MappedFile>, StoreError> {
        let mut files = self.files.write();
        if let Some(last) = files.last() {
            if start < last.end() {
                return Err(StoreError::Corrupt {
                    path: self.dir.clone(),
                    reason: format!(
                        "new segment at {start} overlaps segment at {}",
                        last.start()
                    ),
                });
            }
        }
        let path = self.dir.join(file_name(start));
        let file = MappedFile::create(&path, start, self.file_size)
            .map_err(|e| StoreError::io("create", &path, e))?;
        sync_dir(&self.dir)?;
        files.push(Arc::clone(&file));
        Ok(file)
    }

    /// Deletes every segment starting at or after `offset` (a truncated tail); returns how many.
    pub(crate) fn remove_from(&self, offset: i64) -> Result<usize, StoreError> {
        let mut files = self.files.write();
        let keep = files.partition_point(|f| f.start() < offset);
        let removed: Vec<_> = files.drain(keep..).collect();
        for f in &removed {
            f.delete()
                .map_err(|e| StoreError::io("delete", f.path(), e))?;
        }
        if !removed.is_empty() {
            sync_dir(&self.dir)?;
        }
        Ok(removed.len())
    }

    /// Deletes every segment and, if it is empty then, the directory.
    pub(crate) fn remove_all(&self) -> Result<(), StoreError> {
        self.remove_from(i64::MIN)?;
        match fs::remove_dir(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io("remove directory", &self.dir, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_segments_by_offset_and_reloads_them_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let segs = Segments::load(dir.path(), 4096).unwrap();
        assert!(segs.find(0).is_none());
        assert_eq!(segs.max_offset(), 0);
        segs.create(0).unwrap();
        segs.create(4096).unwrap();
        segs.create(8192).unwrap();
        assert!(segs.create(100).is_err());
        assert_eq!(segs.find(4095).unwrap().start(), 0);
        assert_eq!(segs.find(4096).unwrap().start(), 4096);
        assert_eq!(segs.find(12287).unwrap().start(), 8192);
        assert!(segs.find(12288).is_none());
        assert!(segs.find(-1).is_none());
        assert_eq!(segs.roll_next(5000), 8192);
        fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        drop(segs);
        let segs = Segments::load(dir.path(), 4096).unwrap();
        assert_eq!(segs.len(), 3);
        assert_eq!(segs.first().unwrap().start(), 0);
        assert_eq!(segs.last().unwrap().start(), 8192);
        assert_eq!(segs.remove_from(4096).unwrap(), 2);
        assert_eq!(segs.len(), 1);
        assert!(!dir.path().join(file_name(4096)).exists());
        assert_eq!(file_name(4096), "00000000000000004096");
    }
}
