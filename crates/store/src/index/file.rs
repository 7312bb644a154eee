//! One index file in RocketMQ's layout (`wire-protocol.md` 3.11, Java `IndexFile`).
//!
//! ```text
//! header (40 bytes)
//!   0 beginTimestamp i64 | 8 endTimestamp i64 | 16 beginPhyOffset i64 | 24 endPhyOffset i64
//!   32 hashSlotCount i32 | 36 indexCount i32 (next entry number; starts at 1)
//! slots: slotNum × i32      number of the newest entry whose key hashes to the slot, 0 = empty
//! entries: maxIndexNum × 20 bytes
//!   0 keyHash i32 | 4 phyOffset i64 | 12 seconds since beginTimestamp i32 | 16 previous entry i32
//! ```
//!
//! The file is mapped once and written in place by the dispatch thread only; queries read it
//! concurrently under a read lock. Disk blocks are reserved (`fallocate`) for the header and
//! slots at creation and for entries in chunks ahead of the write position, so a full disk
//! fails a put with an error instead of a SIGBUS, without reserving the whole (sparse,
//! 420 MB by default) file up front.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use memmap2::MmapMut;
use parking_lot::RwLock;

use crate::mapped_file::{map_whole, preallocate, release_pages};

/// Header size.
pub(crate) const HEADER_SIZE: usize = 40;
const SLOT_SIZE: usize = 4;
const ENTRY_SIZE: usize = 20;
/// Entries reserved on disk at a time.
const RESERVE_CHUNK: usize = 16 * 1024;

/// The header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Header {
    pub(crate) begin_timestamp: i64,
    pub(crate) end_timestamp: i64,
    pub(crate) begin_phy_offset: i64,
    pub(crate) end_phy_offset: i64,
    pub(crate) hash_slot_count: i32,
    pub(crate) index_count: i32,
}

/// One entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    hash: i32,
    phy_offset: i64,
    time_diff: i32,
    prev: i32,
}

fn get_i32(b: &[u8], at: usize) -> i32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(raw)
}

fn get_i64(b: &[u8], at: usize) -> i64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(raw)
}

fn put_i32(b: &mut [u8], at: usize, v: i32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

fn put_i64(b: &mut [u8], at: usize, v: i64) {
    b[at..at + 8].copy_from_slice(&v.to_be_bytes());
}

impl Header {
    fn read(b: &[u8]) -> Header {
        Header {
            begin_timestamp: get_i64(b, 0),
            end_timestamp: get_i64(b, 8),
            begin_phy_offset: get_i64(b, 16),
            end_phy_offset: get_i64(b, 24),
            hash_slot_count: get_i32(b, 32),
            index_count: get_i32(b, 36).max(1),
        }
    }

    fn write(&self, b: &mut [u8]) {
        put_i64(b, 0, self.begin_timestamp);
        put_i64(b, 8, self.end_timestamp);
        put_i64(b, 16, self.begin_phy_offset);
        put_i64(b, 24, self.end_phy_offset);
        put_i32(b, 32, self.hash_slot_count);
        put_i32(b, 36, self.index_count);
    }
}

/// The size of an index file with `slots` hash slots and `entries` entries.
pub(crate) fn file_size(slots: usize, entries: usize) -> usize {
    HEADER_SIZE + slots * SLOT_SIZE + entries * ENTRY_SIZE
}

/// One mapped index file.
#[derive(Debug)]
pub(crate) struct IndexFile {
    path: PathBuf,
    file: File,
    slots: usize,
    entries: usize,
    map: RwLock<MmapMut>,
    /// Entries whose disk blocks are reserved (writer only).
    reserved_entries: parking_lot::Mutex<usize>,
    dirty: AtomicBool,
}

impl IndexFile {
    /// Creates `path` (which must not exist) with an empty header; `begin_phy_offset` and
    /// `begin_timestamp` start as the previous file's end, as Java does.
    pub(crate) fn create(
        path: &Path,
        slots: usize,
        entries: usize,
        begin_phy_offset: i64,
        begin_timestamp: i64,
    ) -> io::Result<IndexFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        let made = Self::init(
            file,
            path,
            slots,
            entries,
            Some((begin_phy_offset, begin_timestamp)),
        );
        if made.is_err() {
            let _ = std::fs::remove_file(path);
        }
        made
    }

    /// Maps an existing file, which must have the size `slots` and `entries` give.
    pub(crate) fn open(path: &Path, slots: usize, entries: usize) -> io::Result<IndexFile> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len();
        let want = file_size(slots, entries) as u64;
        if len != want {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} has {len} bytes, but maxHashSlotNum {slots} and maxIndexNum {entries} give {want}",
                    path.display()
                ),
            ));
        }
        Self::init(file, path, slots, entries, None)
    }

    fn init(
        file: File,
        path: &Path,
        slots: usize,
        entries: usize,
        fresh: Option<(i64, i64)>,
    ) -> io::Result<IndexFile> {
        let size = file_size(slots, entries);
        if fresh.is_some() {
            file.set_len(size as u64)?;
        }
        preallocate(&file, 0, HEADER_SIZE + slots * SLOT_SIZE)?;
        let mut map = map_whole(&file, size)?;
        if let Some((phy, ts)) = fresh {
            Header {
                begin_timestamp: ts,
                end_timestamp: ts,
                begin_phy_offset: phy,
                end_phy_offset: phy,
                hash_slot_count: 0,
                index_count: 1,
            }
            .write(&mut map[..HEADER_SIZE]);
        }
        let f = IndexFile {
            path: path.to_path_buf(),
            file,
            slots,
            entries,
            map: RwLock::new(map),
            reserved_entries: parking_lot::Mutex::new(0),
            dirty: AtomicBool::new(fresh.is_some()),
        };
        let count = f.header().index_count as usize;
        f.reserve(count)?;
        Ok(f)
    }

    /// Path of the file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The header.
    pub(crate) fn header(&self) -> Header {
        Header::read(&self.map.read()[..HEADER_SIZE])
    }

    /// True when no entry fits any more.
    pub(crate) fn is_full(&self) -> bool {
        self.header().index_count as usize >= self.entries
    }

    /// Java `isTimeMatched`: the file's time range overlaps `[begin, end]`.
    pub(crate) fn time_matched(&self, begin: i64, end: i64) -> bool {
        let h = self.header();
        (begin < h.begin_timestamp && end > h.end_timestamp)
            || (begin >= h.begin_timestamp && begin <= h.end_timestamp)
            || (end >= h.begin_timestamp && end <= h.end_timestamp)
    }

    fn slot_pos(&self, hash: i32) -> usize {
        HEADER_SIZE + (hash as u32 as usize % self.slots) * SLOT_SIZE
    }

    fn entry_pos(&self, n: usize) -> usize {
        HEADER_SIZE + self.slots * SLOT_SIZE + n * ENTRY_SIZE
    }

    fn entry(&self, b: &[u8], n: usize) -> Entry {
        let at = self.entry_pos(n);
        Entry {
            hash: get_i32(b, at),
            phy_offset: get_i64(b, at + 4),
            time_diff: get_i32(b, at + 12),
            prev: get_i32(b, at + 16),
        }
    }

    /// Reserves disk blocks for entries up to `count` plus a chunk.
    fn reserve(&self, count: usize) -> io::Result<()> {
        let mut reserved = self.reserved_entries.lock();
        if count < *reserved {
            return Ok(());
        }
        let to = (count + RESERVE_CHUNK).min(self.entries);
        let from = self.entry_pos(*reserved);
        preallocate(&self.file, from, self.entry_pos(to) - from)?;
        *reserved = to;
        Ok(())
    }

    /// Adds one entry per hash in `hashes` for the record at `phy_offset` stored at
    /// `store_timestamp` (Java `putKey`), stopping when the file is full. Returns how many were
    /// added; the header's end moves to this record when any was.
    pub(crate) fn put(
        &self,
        hashes: &[i32],
        phy_offset: i64,
        store_timestamp: i64,
    ) -> io::Result<usize> {
        let count = self.header().index_count as usize;
        self.reserve(count + hashes.len())?;
        let mut map = self.map.write();
        let mut h = Header::read(&map[..HEADER_SIZE]);
        let mut added = 0;
        for &hash in hashes {
            let n = h.index_count as usize;
            if n >= self.entries {
                break;
            }
            let slot_at = self.slot_pos(hash);
            let mut prev = get_i32(&map, slot_at);
            if prev <= 0 || prev > h.index_count {
                prev = 0;
            }
            let diff = if h.begin_timestamp <= 0 {
                0
            } else {
                ((store_timestamp - h.begin_timestamp) / 1000).clamp(0, i64::from(i32::MAX))
            };
            let at = self.entry_pos(n);
            put_i32(&mut map, at, hash);
            put_i64(&mut map, at + 4, phy_offset);
            put_i32(&mut map, at + 12, diff as i32);
            put_i32(&mut map, at + 16, prev);
            put_i32(&mut map, slot_at, n as i32);
            if h.index_count <= 1 {
                h.begin_phy_offset = phy_offset;
                h.begin_timestamp = store_timestamp;
            }
            if prev == 0 {
                h.hash_slot_count += 1;
            }
            h.index_count += 1;
            added += 1;
        }
        if added > 0 {
            h.end_phy_offset = phy_offset;
            h.end_timestamp = store_timestamp;
        }
        h.write(&mut map[..HEADER_SIZE]);
        self.dirty.store(true, Ordering::Release);
        Ok(added)
    }

    /// Java `selectPhyOffset`: walks the chain of `hash`'s slot from the newest entry and adds
    /// the commit-log offset of every entry with that hash stored within `[begin, end]`, until
    /// `out` holds `max` offsets, the chain ends or entries get older than `begin`.
    pub(crate) fn select(&self, hash: i32, max: usize, begin: i64, end: i64, out: &mut Vec<i64>) {
        let map = self.map.read();
        let h = Header::read(&map[..HEADER_SIZE]);
        let mut next = get_i32(&map, self.slot_pos(hash));
        if next <= 0 || next > h.index_count || h.index_count <= 1 {
            return;
        }
        // A chain can never be longer than the entries written; the bound also stops a loop in
        // a damaged file.
        for _ in 0..h.index_count {
            if out.len() >= max || next as usize >= self.entries {
                break;
            }
            let e = self.entry(&map, next as usize);
            if e.time_diff < 0 {
                break;
            }
            let time = h.begin_timestamp + i64::from(e.time_diff) * 1000;
            if e.hash == hash && time >= begin && time <= end {
                out.push(e.phy_offset);
            }
            if e.prev <= 0 || e.prev > h.index_count || e.prev == next || time < begin {
                break;
            }
            next = e.prev;
        }
    }

    /// Removes every entry pointing at or past `log_end` (a commit log truncated by recovery):
    /// slots are walked back to older entries, the removed entries are cleared and the header
    /// ends at the last entry kept, whose store time `store_time` looks up. Returns how many
    /// entries were removed.
    pub(crate) fn truncate(&self, log_end: i64, store_time: impl Fn(i64) -> Option<i64>) -> usize {
        let mut map = self.map.write();
        let mut h = Header::read(&map[..HEADER_SIZE]);
        let count = (h.index_count as usize).min(self.entries);
        // Entries are written in commit-log order: binary search for the first one to drop.
        let (mut lo, mut hi) = (1usize, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.entry(&map, mid).phy_offset >= log_end {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let keep = lo;
        if keep >= count {
            return 0;
        }
        let mut used = 0;
        for slot in 0..self.slots {
            let at = HEADER_SIZE + slot * SLOT_SIZE;
            let mut n = get_i32(&map, at);
            let mut steps = 0;
            while n as usize >= keep && n > 0 && steps < count {
                n = self.entry(&map, n as usize).prev;
                steps += 1;
            }
            if n < 0 || n as usize >= keep {
                n = 0;
            }
            put_i32(&mut map, at, n);
            if n > 0 {
                used += 1;
            }
        }
        let from = self.entry_pos(keep);
        let to = self.entry_pos(count);
        map[from..to].fill(0);
        h.index_count = keep as i32;
        h.hash_slot_count = used;
        if keep > 1 {
            let last = self.entry(&map, keep - 1);
            h.end_phy_offset = last.phy_offset;
            h.end_timestamp = store_time(last.phy_offset)
                .unwrap_or(h.begin_timestamp + i64::from(last.time_diff) * 1000);
        } else {
            h.end_phy_offset = h.begin_phy_offset.min(log_end);
            h.end_timestamp = h.begin_timestamp;
        }
        h.write(&mut map[..HEADER_SIZE]);
        self.dirty.store(true, Ordering::Release);
        count - keep
    }

    /// Writes dirty pages to disk. Uses the file descriptor, not the map, so the dispatch
    /// thread is not held up by the lock while the disk works.
    pub(crate) fn flush(&self) -> io::Result<()> {
        if self.dirty.swap(false, Ordering::AcqRel) {
            if let Err(e) = self.file.sync_data() {
                self.dirty.store(true, Ordering::Release);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Drops every page of the mapping from this process's page tables
    /// ([`release_pages`]): hash slots are written and read at random, so over a long run
    /// every page of the slot table (and every entry page written) would otherwise stay
    /// resident. Entries written since the last sync are kept too (the mapping is shared).
    /// Works in chunks, taking the read lock for each, so the dispatch thread's puts wait at
    /// most one chunk.
    pub(crate) fn release_resident(&self) -> io::Result<()> {
        const CHUNK: usize = 8 << 20;
        let size = file_size(self.slots, self.entries);
        let mut at = 0;
        while at < size {
            let len = CHUNK.min(size - at);
            release_pages(&self.map.read(), at, len)?;
            at += len;
        }
        Ok(())
    }

    /// Unlinks the file (the mapping stays valid until dropped).
    pub(crate) fn delete(&self) -> io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(h: &[i32]) -> Vec<i32> {
        h.to_vec()
    }

    #[test]
    fn entries_chain_per_slot_and_select_walks_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idx");
        let f = IndexFile::create(&path, 4, 10, 0, 0).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 40 + 16 + 200);
        // Hashes 1 and 5 share slot 1.
        assert_eq!(f.put(&hashes(&[1, 5]), 100, 10_000).unwrap(), 2);
        assert_eq!(f.put(&hashes(&[1]), 200, 12_500).unwrap(), 1);
        assert_eq!(f.put(&hashes(&[2]), 300, 13_000).unwrap(), 1);
        let h = f.header();
        assert_eq!(
            (
                h.begin_timestamp,
                h.end_timestamp,
                h.begin_phy_offset,
                h.end_phy_offset
            ),
            (10_000, 13_000, 100, 300)
        );
        assert_eq!((h.hash_slot_count, h.index_count), (2, 5));
        let mut out = Vec::new();
        f.select(1, 10, 0, i64::MAX, &mut out);
        assert_eq!(out, vec![200, 100], "newest first, hash 5 skipped");
        out.clear();
        f.select(1, 1, 0, i64::MAX, &mut out);
        assert_eq!(out, vec![200], "max respected");
        out.clear();
        // Times are kept in whole seconds since the begin: 12 500 reads as 12 000.
        f.select(1, 10, 12_001, i64::MAX, &mut out);
        assert!(out.is_empty());
        out.clear();
        f.select(1, 10, 11_000, 12_000, &mut out);
        assert_eq!(out, vec![200]);
        out.clear();
        f.select(7, 10, 0, i64::MAX, &mut out);
        assert!(out.is_empty());
        assert!(f.time_matched(0, i64::MAX));
        assert!(f.time_matched(11_000, 11_500));
        assert!(!f.time_matched(14_000, 20_000));

        // Reopen: everything is in the file.
        drop(f);
        let f = IndexFile::open(&path, 4, 10).unwrap();
        out.clear();
        f.select(5, 10, 0, i64::MAX, &mut out);
        assert_eq!(out, vec![100]);
        assert!(
            IndexFile::open(&path, 8, 10).is_err(),
            "size mismatch refused"
        );
    }

    #[test]
    fn a_full_file_takes_no_more_entries() {
        let dir = tempfile::tempdir().unwrap();
        let f = IndexFile::create(&dir.path().join("idx"), 2, 4, 0, 0).unwrap();
        assert_eq!(f.put(&hashes(&[1, 2]), 10, 1000).unwrap(), 2);
        assert!(!f.is_full());
        // Only one more fits (entry 0 is never used).
        assert_eq!(f.put(&hashes(&[3, 4]), 20, 2000).unwrap(), 1);
        assert!(f.is_full());
        assert_eq!(f.header().end_phy_offset, 20);
        assert_eq!(f.put(&hashes(&[5]), 30, 3000).unwrap(), 0);
    }

    #[test]
    fn truncation_drops_entries_past_the_log_end_and_repairs_chains() {
        let dir = tempfile::tempdir().unwrap();
        let f = IndexFile::create(&dir.path().join("idx"), 4, 20, 0, 0).unwrap();
        for i in 0..8i64 {
            // Hash 1 every time, hash 2 + i % 2 too.
            f.put(&hashes(&[1, 2 + (i % 2) as i32]), 100 * i, 1000 * (i + 1))
                .unwrap();
        }
        let removed = f.truncate(450, |off| Some(off * 10 + 1000));
        assert_eq!(removed, 6, "records 500, 600, 700: two entries each");
        let h = f.header();
        assert_eq!(
            (h.index_count, h.end_phy_offset, h.end_timestamp),
            (11, 400, 5000)
        );
        let mut out = Vec::new();
        f.select(1, 20, 0, i64::MAX, &mut out);
        assert_eq!(out, vec![400, 300, 200, 100, 0]);
        out.clear();
        f.select(3, 20, 0, i64::MAX, &mut out);
        assert_eq!(out, vec![300, 100]);
        // New entries continue the repaired chains.
        f.put(&hashes(&[3]), 450, 9000).unwrap();
        out.clear();
        f.select(3, 20, 0, i64::MAX, &mut out);
        assert_eq!(out, vec![450, 300, 100]);
        assert_eq!(f.truncate(10_000, |_| None), 0);
        assert_eq!(f.truncate(0, |_| None), 11);
        assert_eq!(f.header().index_count, 1);
        out.clear();
        f.select(1, 20, 0, i64::MAX, &mut out);
        assert!(out.is_empty());
    }
}
