//! An ordered run of [`MappedFile`]s in one directory, each named by the 20-digit log offset of
//! its first byte (Java `MappedFileQueue`). Both the commit log and each consume queue are one.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::mapped_file::{MappedFile, Reserve};
use crate::StoreError;

/// Segment files of one log.
#[derive(Debug)]
pub(crate) struct Segments {
    dir: PathBuf,
    file_size: usize,
    /// How every segment's disk blocks are reserved.
    reserve: Reserve,
    files: RwLock<Vec<Arc<MappedFile>>>,
    /// A segment created ahead of need (not yet in `files`); its lock is held while it is
    /// being created, so [`Segments::create`] waits for it rather than racing it.
    spare: Mutex<Option<Arc<MappedFile>>>,
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
    /// Maps every segment file in `dir` (created if missing), in offset order; segments are
    /// reserved on disk as `reserve` says. Files whose name is not 20 digits are ignored with a
    /// warning. Written positions start at 0: recovery sets them.
    pub(crate) fn load(dir: &Path, file_size: usize, reserve: Reserve) -> Result<Self, StoreError> {
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
            let file = MappedFile::open(&path, start, file_size, reserve)
                .map_err(|e| StoreError::io("map", &path, e))?;
            files.push(file);
        }
        Ok(Segments {
            dir: dir.to_path_buf(),
            file_size,
            reserve,
            files: RwLock::new(files),
            spare: Mutex::new(None),
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
    /// A spare prepared for `start` ([`Self::prepare_spare`]) is taken instead of creating one.
    pub(crate) fn create(&self, start: i64) -> Result<Arc<MappedFile>, StoreError> {
        // Held while creating, so the preallocator cannot create the same file meanwhile; waits
        // while it is creating one. Lock order: `spare`, then `files`.
        let mut spare = self.spare.lock();
        let file = match spare.take() {
            Some(f) if f.start() == start => f,
            other => {
                if let Some(stale) = other {
                    self.discard(&stale);
                }
                if let Some(last) = self.last() {
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
                let file = MappedFile::create(&path, start, self.file_size, self.reserve)
                    .map_err(|e| StoreError::io("create", &path, e))?;
                sync_dir(&self.dir)?;
                file
            }
        };
        let mut files = self.files.write();
        if files.last().is_some_and(|last| start < last.end()) {
            drop(files);
            self.discard(&file);
            return Err(StoreError::Corrupt {
                path: self.dir.clone(),
                reason: format!("new segment at {start} overlaps an existing one"),
            });
        }
        files.push(Arc::clone(&file));
        drop(files);
        drop(spare);
        Ok(file)
    }

    /// Creates the segment that will start at `start` ahead of need (on a background thread),
    /// mapped and, with `warm`, with its pages faulted in. Returns false when that spare
    /// already exists or `start` is not past the last segment.
    pub(crate) fn prepare_spare(&self, start: i64, warm: bool) -> Result<bool, StoreError> {
        let mut spare = self.spare.lock();
        if self.last().is_some_and(|last| start < last.end()) {
            return Ok(false);
        }
        match spare.as_ref() {
            Some(f) if f.start() == start => return Ok(false),
            Some(_) => {
                if let Some(stale) = spare.take() {
                    self.discard(&stale);
                }
            }
            None => {}
        }
        let path = self.dir.join(file_name(start));
        let file = MappedFile::create_with(&path, start, self.file_size, self.reserve, warm)
            .map_err(|e| StoreError::io("create", &path, e))?;
        sync_dir(&self.dir)?;
        *spare = Some(file);
        Ok(true)
    }

    /// Deletes the spare segment, if any (at shutdown).
    pub(crate) fn discard_spare(&self) {
        if let Some(f) = self.spare.lock().take() {
            self.discard(&f);
        }
    }

    fn discard(&self, file: &MappedFile) {
        if let Err(e) = file.delete() {
            tracing::warn!(path = %file.path().display(), error = %e, "cannot delete unused segment");
        }
    }

    /// Removes the leading segments for which `expired(file, index)` holds, at most `max`, never
    /// the last one, and deletes their files; stops at the first one that is kept. Returns
    /// the removed segments (readers holding one keep its mapping).
    pub(crate) fn remove_leading(
        &self,
        max: usize,
        mut expired: impl FnMut(&MappedFile) -> bool,
    ) -> Result<Vec<Arc<MappedFile>>, StoreError> {
        let removed: Vec<_> = {
            let mut files = self.files.write();
            let keep_last = files.len().saturating_sub(1);
            let n = files
                .iter()
                .take(keep_last.min(max))
                .take_while(|f| expired(f))
                .count();
            files.drain(..n).collect()
        };
        for f in &removed {
            match f.delete() {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("delete", f.path(), e)),
            }
        }
        if !removed.is_empty() {
            sync_dir(&self.dir)?;
        }
        Ok(removed)
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
        let segs = Segments::load(dir.path(), 4096, Reserve::Whole).unwrap();
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
        let segs = Segments::load(dir.path(), 4096, Reserve::Whole).unwrap();
        assert_eq!(segs.len(), 3);
        assert_eq!(segs.first().unwrap().start(), 0);
        assert_eq!(segs.last().unwrap().start(), 8192);
        assert_eq!(segs.remove_from(4096).unwrap(), 2);
        assert_eq!(segs.len(), 1);
        assert!(!dir.path().join(file_name(4096)).exists());
        assert_eq!(file_name(4096), "00000000000000004096");
    }

    #[test]
    fn spares_are_taken_by_create_and_leading_files_removed() {
        let dir = tempfile::tempdir().unwrap();
        let segs = Segments::load(dir.path(), 4096, Reserve::Whole).unwrap();
        assert!(segs.prepare_spare(0, true).unwrap());
        assert!(!segs.prepare_spare(0, true).unwrap(), "already there");
        assert_eq!(segs.len(), 0, "a spare is not a segment yet");
        let spare_path = dir.path().join(file_name(0));
        assert!(spare_path.exists());
        segs.create(0).unwrap();
        assert_eq!(segs.len(), 1);
        // A spare for the wrong start is replaced; one behind the end is not made.
        assert!(segs.prepare_spare(8192, false).unwrap());
        assert!(!segs.prepare_spare(0, false).unwrap());
        segs.create(4096).unwrap();
        assert!(
            !dir.path().join(file_name(8192)).exists(),
            "stale spare deleted"
        );
        segs.create(8192).unwrap();
        assert!(segs.prepare_spare(12288, false).unwrap());
        segs.discard_spare();
        assert!(!dir.path().join(file_name(12288)).exists());

        let removed = segs.remove_leading(10, |f| f.start() < 8192).unwrap();
        assert_eq!(removed.len(), 2);
        assert_eq!(segs.first().unwrap().start(), 8192);
        // The last segment is never removed.
        assert!(segs.remove_leading(10, |_| true).unwrap().is_empty());
        assert_eq!(segs.len(), 1);
    }
}
