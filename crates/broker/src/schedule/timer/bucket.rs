//! Bucket files: `<timer dir>/<bucket start ms>.bkt`, one per [`BUCKET_MS`] of due time, each an
//! append-only list of 24-byte entries.
//!
//! ```text
//! 0  due_ms    i64   when the message is due (its TIMER_OUT_MS)
//! 8  offset    i64   commit-log offset of the held record in rmq_sys_wheel_timer
//! 16 size      i32   its size; negated for a recall's delete marker (TIMER_DEL_UNIQKEY)
//! 20 crc32     u32   of bytes 0..20
//! ```
//! Appends are buffered per round and written with one `write` per file; [`BucketDir::sync`]
//! fsyncs the files written since the last sync (and the directory after a create or delete).
//! A torn tail (a crash in the middle of an append) is cut at start-up and before each append;
//! an entry with a bad crc is skipped when read.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Width of a bucket in ms of due time.
pub(super) const BUCKET_MS: i64 = 10_000;
/// Bytes per entry.
pub(super) const ENTRY_SIZE: usize = 24;
const SUFFIX: &str = ".bkt";

/// One held message, ordered by due time then commit-log offset (the delivery order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Entry {
    pub(super) due_ms: i64,
    pub(super) offset: i64,
    pub(super) size: i32,
}

impl Entry {
    /// The start of the bucket this entry is filed in.
    pub(super) fn bucket(&self) -> i64 {
        bucket_of(self.due_ms)
    }

    /// A recall's delete marker, filed with its size negated: never delivered; its key is read
    /// from the record when the bucket is loaded.
    pub(super) fn is_recall_marker(&self) -> bool {
        self.size < 0
    }

    pub(super) fn encode(&self) -> [u8; ENTRY_SIZE] {
        let mut b = [0u8; ENTRY_SIZE];
        b[0..8].copy_from_slice(&self.due_ms.to_be_bytes());
        b[8..16].copy_from_slice(&self.offset.to_be_bytes());
        b[16..20].copy_from_slice(&self.size.to_be_bytes());
        let crc = crc32fast::hash(&b[..20]);
        b[20..24].copy_from_slice(&crc.to_be_bytes());
        b
    }

    /// `None` when the crc does not match (or `b` is not [`ENTRY_SIZE`] bytes).
    pub(super) fn decode(b: &[u8]) -> Option<Entry> {
        let b: &[u8; ENTRY_SIZE] = b.try_into().ok()?;
        let crc = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
        if crc != crc32fast::hash(&b[..20]) {
            return None;
        }
        let long = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[at..at + 8]);
            i64::from_be_bytes(w)
        };
        Some(Entry {
            due_ms: long(0),
            offset: long(8),
            size: i32::from_be_bytes([b[16], b[17], b[18], b[19]]),
        })
    }
}

/// The start of the bucket holding due time `due_ms`.
pub(super) fn bucket_of(due_ms: i64) -> i64 {
    due_ms.div_euclid(BUCKET_MS) * BUCKET_MS
}

/// The bucket directory and the appends not yet synced.
#[derive(Debug)]
pub(super) struct BucketDir {
    dir: PathBuf,
    unsynced: BTreeSet<i64>,
    dir_dirty: bool,
}

impl BucketDir {
    /// Opens (creating) `dir`, cuts every file to whole entries and returns the buckets that
    /// have a file. Names that are not `<number>.bkt` are left alone.
    pub(super) fn open(dir: &Path) -> io::Result<(BucketDir, BTreeSet<i64>)> {
        fs::create_dir_all(dir)?;
        let mut buckets = BTreeSet::new();
        let mut cut = false;
        for item in fs::read_dir(dir)? {
            let item = item?;
            let name = item.file_name();
            let Some(start) = name
                .to_str()
                .and_then(|n| n.strip_suffix(SUFFIX))
                .and_then(|n| n.parse::<i64>().ok())
            else {
                continue;
            };
            let len = item.metadata()?.len();
            let whole = len - len % ENTRY_SIZE as u64;
            if whole != len {
                tracing::warn!(
                    file = %item.path().display(),
                    len,
                    kept = whole,
                    "timer bucket file ended in a torn entry; cut"
                );
                let f = OpenOptions::new().write(true).open(item.path())?;
                f.set_len(whole)?;
                f.sync_all()?;
                cut = true;
            }
            buckets.insert(start);
        }
        if cut {
            sync_dir(dir)?;
        }
        Ok((
            BucketDir {
                dir: dir.to_owned(),
                unsynced: BTreeSet::new(),
                dir_dirty: false,
            },
            buckets,
        ))
    }

    fn path(&self, start: i64) -> PathBuf {
        self.dir.join(format!("{start:016}{SUFFIX}"))
    }

    /// Appends `entries` to their buckets' files (created when missing), one write per file.
    /// On an error some files may hold part of the entries: they are read back as duplicates
    /// (or, for a torn entry, cut before the next append), never as wrong entries.
    pub(super) fn append(&mut self, entries: &[Entry]) -> io::Result<()> {
        let mut by_bucket: BTreeMap<i64, Vec<u8>> = BTreeMap::new();
        for e in entries {
            by_bucket
                .entry(e.bucket())
                .or_default()
                .extend_from_slice(&e.encode());
        }
        for (start, bytes) in by_bucket {
            let path = self.path(start);
            let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
            let len = f.metadata()?.len();
            if len == 0 {
                self.dir_dirty = true;
            }
            if len % ENTRY_SIZE as u64 != 0 {
                // A previous append failed half-way: drop its torn entry so this one is aligned.
                f.set_len(len - len % ENTRY_SIZE as u64)?;
            }
            self.unsynced.insert(start);
            f.write_all(&bytes)?;
        }
        Ok(())
    }

    /// The entries of bucket `start` with a valid crc, and how many were skipped as corrupt.
    /// An absent file holds nothing.
    pub(super) fn read(&self, start: i64) -> io::Result<(Vec<Entry>, usize)> {
        let bytes = match fs::read(self.path(start)) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(e) => return Err(e),
        };
        let mut entries = Vec::with_capacity(bytes.len() / ENTRY_SIZE);
        let mut bad = 0;
        for chunk in bytes.chunks_exact(ENTRY_SIZE) {
            match Entry::decode(chunk) {
                Some(e) if e.bucket() == start => entries.push(e),
                _ => bad += 1,
            }
        }
        Ok((entries, bad))
    }

    /// Makes every append so far durable: fsyncs the files written and, after a create or a
    /// delete, the directory.
    pub(super) fn sync(&mut self) -> io::Result<()> {
        while let Some(&start) = self.unsynced.first() {
            match File::open(self.path(start)) {
                Ok(f) => f.sync_data()?,
                // Deleted since: nothing to make durable.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            self.unsynced.remove(&start);
        }
        if self.dir_dirty {
            sync_dir(&self.dir)?;
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// Deletes bucket `start`'s file (the directory is synced by the next [`Self::sync`]).
    pub(super) fn remove(&mut self, start: i64) -> io::Result<()> {
        match fs::remove_file(self.path(start)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        self.unsynced.remove(&start);
        self.dir_dirty = true;
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(due_ms: i64, offset: i64) -> Entry {
        Entry {
            due_ms,
            offset,
            size: 200,
        }
    }

    #[test]
    fn entries_round_trip_and_a_flipped_byte_fails_the_crc() {
        let e = entry(1_700_000_012_345, 987_654);
        let bytes = e.encode();
        assert_eq!(Entry::decode(&bytes), Some(e));
        for i in 0..ENTRY_SIZE {
            let mut bad = bytes;
            bad[i] ^= 0x40;
            assert_eq!(Entry::decode(&bad), None, "byte {i}");
        }
        assert_eq!(Entry::decode(&bytes[..23]), None);
        let marker = Entry { size: -200, ..e };
        assert!(marker.is_recall_marker() && !e.is_recall_marker());
        assert_eq!(Entry::decode(&marker.encode()), Some(marker));
        assert_eq!(bucket_of(1_700_000_019_999), 1_700_000_010_000);
        assert_eq!(bucket_of(-1), -BUCKET_MS);
    }

    #[test]
    fn files_are_per_bucket_and_torn_tails_are_cut_at_open() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("timer");
        let (mut files, existing) = BucketDir::open(&dir).unwrap();
        assert!(existing.is_empty());
        let a = [entry(10_001, 1), entry(19_999, 2), entry(20_000, 3)];
        files.append(&a).unwrap();
        files.append(&[entry(10_500, 4)]).unwrap();
        files.sync().unwrap();
        // A crash in the middle of an append, a flipped entry, and a stranger in the directory.
        let path = files.path(10_000);
        let mut raw = fs::read(&path).unwrap();
        raw[ENTRY_SIZE + 3] ^= 1;
        raw.extend_from_slice(&entry(10_600, 5).encode()[..10]);
        fs::write(&path, &raw).unwrap();
        fs::write(dir.join("notes.txt"), "x").unwrap();

        let (mut files, existing) = BucketDir::open(&dir).unwrap();
        assert_eq!(existing.into_iter().collect::<Vec<_>>(), [10_000, 20_000]);
        assert_eq!(fs::metadata(&path).unwrap().len(), 3 * ENTRY_SIZE as u64);
        let (got, bad) = files.read(10_000).unwrap();
        assert_eq!((got, bad), (vec![entry(10_001, 1), entry(10_500, 4)], 1));
        assert_eq!(files.read(20_000).unwrap().0, vec![entry(20_000, 3)]);
        assert_eq!(files.read(30_000).unwrap(), (Vec::new(), 0));

        files.remove(20_000).unwrap();
        files.sync().unwrap();
        assert!(!files.path(20_000).exists());
        // Removing again, or a bucket that never existed, is not an error.
        files.remove(20_000).unwrap();
    }

    #[test]
    fn an_append_after_a_torn_write_stays_aligned() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut files, _) = BucketDir::open(tmp.path()).unwrap();
        files.append(&[entry(1, 1)]).unwrap();
        let path = files.path(0);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[0xAB; 7]).unwrap();
        files.append(&[entry(2, 2)]).unwrap();
        assert_eq!(files.read(0).unwrap(), (vec![entry(1, 1), entry(2, 2)], 0));
    }
}
