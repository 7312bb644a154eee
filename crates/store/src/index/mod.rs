//! The message index (Java `IndexService`): files in `index/`, named by their creation time
//! (`yyyyMMddHHmmssSSS`, UTC), mapping `topic#key` to commit-log offsets for every `UNIQ_KEY`
//! and every space-separated `KEYS` token. The dispatch thread builds it in log order; queries
//! walk the files from the newest.
//!
//! Recovery: the last file's `endPhyOffset` says how far the index reaches, so re-dispatching
//! after a restart skips what is already indexed; entries pointing past a truncated commit
//! log are removed ([`IndexFile::truncate`]). Retention deletes files whose entries all point
//! below the commit log's first offset.

mod file;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use ferromq_proto::message::properties::KEY_SEPARATOR;
use ferromq_proto::message::record::RecordView;
use ferromq_proto::message::sys_flag;
use parking_lot::RwLock;

use crate::segments::sync_dir;
use crate::StoreError;

pub(crate) use file::IndexFile;

/// Java's index key hash of `topic#key`: `abs(String.hashCode())`, `Integer.MIN_VALUE` as 0.
pub(crate) fn key_hash(topic: &str, key: &str) -> i32 {
    use ferromq_common::java_hash_extend;
    let h = java_hash_extend(java_hash_extend(java_hash_extend(0, topic), "#"), key);
    if h == i32::MIN {
        0
    } else {
        h.abs()
    }
}

/// The properties a record is indexed by: its `UNIQ_KEY` and `KEYS` values.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IndexedKeys<'a> {
    pub(crate) uniq: Option<&'a str>,
    pub(crate) keys: Option<&'a str>,
}

impl<'a> IndexedKeys<'a> {
    /// Looks both up in `view` (the dispatch loop reads them in its one pass over the
    /// properties instead).
    #[cfg(test)]
    pub(crate) fn of(view: &RecordView<'a>) -> Self {
        use ferromq_proto::message::properties::{KEYS, UNIQ_KEY};
        IndexedKeys {
            uniq: view.property(UNIQ_KEY),
            keys: view.property(KEYS),
        }
    }

    /// The keys Java indexes for a record: its `UNIQ_KEY`, then every non-empty `KEYS` token.
    fn iter(self) -> impl Iterator<Item = &'a str> {
        let uniq = self.uniq.filter(|k| !k.is_empty());
        let keys = self
            .keys
            .into_iter()
            .flat_map(|k| k.split(KEY_SEPARATOR))
            .filter(|k| !k.is_empty());
        uniq.into_iter().chain(keys)
    }
}

/// All index files of a store.
#[derive(Debug)]
pub(crate) struct IndexService {
    dir: PathBuf,
    slots: usize,
    entries: usize,
    files: RwLock<Vec<Arc<IndexFile>>>,
    /// Commit-log offset of the last record fully indexed, -1 before any.
    indexed_to: AtomicI64,
}

impl IndexService {
    /// Maps the index files in `dir` (created if missing), oldest first. Files of another size
    /// (written with other `maxHashSlotNum`/`maxIndexNum` settings) or with foreign names are
    /// left alone with a warning.
    pub(crate) fn load(dir: &Path, slots: usize, entries: usize) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(|e| StoreError::io("create directory", dir, e))?;
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| StoreError::io("list", dir, e))? {
            let entry = entry.map_err(|e| StoreError::io("list", dir, e))?;
            let name = entry.file_name();
            match name.to_str() {
                Some(n) if n.len() == 17 && n.bytes().all(|b| b.is_ascii_digit()) => {
                    names.push(n.to_owned())
                }
                _ => {
                    tracing::warn!(path = %entry.path().display(), "ignoring foreign file in the index directory")
                }
            }
        }
        names.sort();
        let mut files = Vec::new();
        for name in names {
            let path = dir.join(&name);
            match IndexFile::open(&path, slots, entries) {
                Ok(f) => files.push(Arc::new(f)),
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    tracing::warn!(error = %e, "ignoring index file of another size")
                }
                Err(e) => return Err(StoreError::io("map", &path, e)),
            }
        }
        let indexed_to = files
            .last()
            .map_or(-1, |f: &Arc<IndexFile>| f.header().end_phy_offset);
        Ok(IndexService {
            dir: dir.to_path_buf(),
            slots,
            entries,
            files: RwLock::new(files),
            indexed_to: AtomicI64::new(indexed_to),
        })
    }

    /// Number of index files.
    #[cfg(test)]
    pub(crate) fn file_count(&self) -> usize {
        self.files.read().len()
    }

    /// Commit-log offset of the last record fully indexed, -1 before any.
    pub(crate) fn indexed_to(&self) -> i64 {
        self.indexed_to.load(Ordering::Acquire)
    }

    /// Removes entries pointing at or past `log_end` (recovery truncated the commit log there),
    /// deleting files left empty. Returns how many entries were removed.
    pub(crate) fn truncate(
        &self,
        log_end: i64,
        store_time: impl Fn(i64) -> Option<i64>,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        let mut files = self.files.write();
        while let Some(last) = files.last() {
            let h = last.header();
            if h.end_phy_offset < log_end && h.index_count > 1 {
                break;
            }
            removed += last.truncate(log_end, &store_time);
            if last.header().index_count > 1 || files.len() == 1 {
                break;
            }
            // Empty now and not the only one: the previous file may also reach past the end.
            if let Some(f) = files.pop() {
                f.delete()
                    .map_err(|e| StoreError::io("delete", f.path(), e))?;
            }
        }
        drop(files);
        if removed > 0 {
            sync_dir(&self.dir)?;
        }
        let to = self
            .files
            .read()
            .last()
            .map_or(-1, |f| f.header().end_phy_offset.min(log_end - 1));
        self.indexed_to.store(to, Ordering::Release);
        Ok(removed)
    }

    /// Adds `keys` of the record at `offset` (dispatch thread only). Records the index
    /// already holds (re-dispatch after a restart) and ROLLBACK records are skipped.
    pub(crate) fn build(
        &self,
        view: &RecordView<'_>,
        keys: IndexedKeys<'_>,
        offset: i64,
    ) -> Result<(), StoreError> {
        if offset <= self.indexed_to.load(Ordering::Acquire)
            || sys_flag::transaction_type(view.sys_flag) == sys_flag::TRANSACTION_ROLLBACK_TYPE
        {
            return Ok(());
        }
        let mut hashes = [0i32; 8];
        let mut more = Vec::new();
        let mut n = 0;
        for key in keys.iter() {
            let h = key_hash(view.topic, key);
            if n < hashes.len() {
                hashes[n] = h;
            } else {
                more.push(h);
            }
            n += 1;
        }
        if n == 0 {
            return Ok(());
        }
        let all: Vec<i32>;
        let hashes: &[i32] = if more.is_empty() {
            &hashes[..n]
        } else {
            all = hashes.iter().copied().chain(more).collect();
            &all
        };
        let mut rest = hashes;
        while !rest.is_empty() {
            let file = self.writable_file()?;
            let added = file
                .put(rest, offset, view.store_timestamp)
                .map_err(|e| StoreError::io("write", file.path(), e))?;
            rest = &rest[added..];
        }
        self.indexed_to.store(offset, Ordering::Release);
        Ok(())
    }

    /// The last file when it has room, else a new one.
    fn writable_file(&self) -> Result<Arc<IndexFile>, StoreError> {
        if let Some(last) = self.files.read().last() {
            if !last.is_full() {
                return Ok(Arc::clone(last));
            }
        }
        let (phy, ts) = self.files.read().last().map_or((0, 0), |f| {
            let h = f.header();
            (h.end_phy_offset, h.end_timestamp)
        });
        let mut now = ferromq_common::now_millis();
        let path = loop {
            let p = self.dir.join(ferromq_common::time::compact_millis(now));
            if !p.exists() {
                break p;
            }
            now += 1;
        };
        let file = Arc::new(
            IndexFile::create(&path, self.slots, self.entries, phy, ts)
                .map_err(|e| StoreError::io("create", &path, e))?,
        );
        sync_dir(&self.dir)?;
        // The previous (full) file is synced by the flusher thread, not here on the dispatch
        // path.
        self.files.write().push(Arc::clone(&file));
        Ok(file)
    }

    /// Commit-log offsets of records whose key `key` in `topic` was stored within
    /// `[begin, end]`, newest first, at most `max`, possibly with hash collisions (the caller
    /// checks the records). Java `IndexService.queryOffset`.
    pub(crate) fn query(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin: i64,
        end: i64,
    ) -> Vec<i64> {
        let hash = key_hash(topic, key);
        let mut out = Vec::new();
        let files: Vec<_> = self.files.read().clone();
        for f in files.iter().rev() {
            if f.time_matched(begin, end) {
                f.select(hash, max, begin, end, &mut out);
            }
            if f.header().begin_timestamp < begin || out.len() >= max {
                break;
            }
        }
        out
    }

    /// `(endTimestamp, endPhyOffset)` of the newest file, or zeros.
    pub(crate) fn last_update(&self) -> (i64, i64) {
        self.files.read().last().map_or((0, 0), |f| {
            let h = f.header();
            (h.end_timestamp, h.end_phy_offset)
        })
    }

    /// Syncs every file with unsynced entries.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        let files: Vec<_> = self.files.read().clone();
        for f in files {
            f.flush()
                .map_err(|e| StoreError::io("flush", f.path(), e))?;
        }
        Ok(())
    }

    /// Drops the pages of every index file from this process's page tables (see
    /// [`IndexFile::release_resident`]).
    pub(crate) fn release_resident(&self) -> Result<(), StoreError> {
        let files: Vec<_> = self.files.read().clone();
        for f in files {
            f.release_resident()
                .map_err(|e| StoreError::io("madvise", f.path(), e))?;
        }
        Ok(())
    }

    /// Deletes files (never the newest) whose entries all point below `log_min`. Returns how
    /// many.
    pub(crate) fn delete_expired(&self, log_min: i64) -> Result<usize, StoreError> {
        let removed: Vec<_> = {
            let mut files = self.files.write();
            let keep_last = files.len().saturating_sub(1);
            let n = files
                .iter()
                .take(keep_last)
                .take_while(|f| f.header().end_phy_offset < log_min)
                .count();
            files.drain(..n).collect()
        };
        for f in &removed {
            f.delete()
                .map_err(|e| StoreError::io("delete", f.path(), e))?;
        }
        if !removed.is_empty() {
            sync_dir(&self.dir)?;
            tracing::info!(
                files = removed.len(),
                log_min,
                "deleted expired index files"
            );
        }
        Ok(removed.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use ferromq_proto::message::encode_properties;
    use ferromq_proto::message::record::{encode_record_to, RecordInput};

    impl IndexService {
        /// [`IndexService::build`] of an encoded record, with its keys looked up.
        fn build_all(&self, record: &[u8], offset: i64) -> Result<(), StoreError> {
            let view = RecordView::parse(record).unwrap();
            self.build(&view, IndexedKeys::of(&view), offset)
        }
    }

    fn record(topic: &str, props: &str, offset: i64, ts: i64, sys_flag: i32) -> bytes::Bytes {
        let input = RecordInput {
            topic,
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            physical_offset: offset,
            sys_flag,
            born_timestamp: 0,
            born_host: "127.0.0.1:1".parse().unwrap(),
            store_timestamp: ts,
            store_host: "127.0.0.1:2".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: b"",
            properties: props,
            body_crc: None,
        };
        let mut b = BytesMut::new();
        encode_record_to(&mut b, &input).unwrap();
        b.freeze()
    }

    #[test]
    fn key_hash_matches_java() {
        // "T#k".hashCode() = 84*31^2 + 35*31 + 107.
        assert_eq!(key_hash("T", "k"), 84 * 961 + 35 * 31 + 107);
        for (topic, key) in [("TopicTest", "OrderID188"), ("T", "ünïcödé"), ("a", "b")] {
            let java = ferromq_common::java_string_hash(&format!("{topic}#{key}"));
            assert_eq!(key_hash(topic, key), java.checked_abs().unwrap_or(0));
        }
    }

    #[test]
    fn builds_rolls_queries_and_resumes_after_reload() {
        let dir = tempfile::tempdir().unwrap();
        let idx = IndexService::load(dir.path(), 8, 6).unwrap();
        let props = |i: i64| {
            encode_properties(&[
                ("UNIQ_KEY", format!("U{i}")),
                ("KEYS", format!("k{} shared", i % 2)),
            ])
        };
        for i in 0..10i64 {
            let b = record("T", &props(i), i * 100, 1_000 + i, 0);
            idx.build_all(&b, i * 100).unwrap();
        }
        // 3 keys per record, 5 entries per file: a file per record or so.
        assert!(idx.file_count() >= 6, "{}", idx.file_count());
        assert_eq!(idx.query("T", "U3", 10, 0, i64::MAX), vec![300]);
        assert_eq!(
            idx.query("T", "k1", 10, 0, i64::MAX),
            vec![900, 700, 500, 300, 100]
        );
        assert_eq!(
            idx.query("T", "shared", 3, 0, i64::MAX),
            vec![900, 800, 700]
        );
        assert!(idx.query("Other", "U3", 10, 0, i64::MAX).is_empty());
        assert_eq!(idx.last_update(), (1_009, 900));
        // Rollback records are not indexed.
        let b = record(
            "T",
            &props(77),
            1000,
            2_000,
            sys_flag::TRANSACTION_ROLLBACK_TYPE,
        );
        idx.build_all(&b, 1000).unwrap();
        assert!(idx.query("T", "U77", 10, 0, i64::MAX).is_empty());
        idx.flush().unwrap();
        drop(idx);

        // Reloaded, a re-dispatch of old records adds nothing; entries past a truncated log
        // go.
        let idx = IndexService::load(dir.path(), 8, 6).unwrap();
        let b = record("T", &props(9), 900, 1_009, 0);
        idx.build_all(&b, 900).unwrap();
        assert_eq!(idx.query("T", "U9", 10, 0, i64::MAX), vec![900]);
        let removed = idx.truncate(650, |off| Some(1_000 + off / 100)).unwrap();
        assert_eq!(removed, 9);
        assert_eq!(idx.query("T", "shared", 20, 0, i64::MAX).len(), 7);
        assert_eq!(idx.last_update(), (1_006, 600));
        let b = record("T", &props(7), 650, 1_010, 0);
        idx.build_all(&b, 650).unwrap();
        assert_eq!(idx.query("T", "U7", 10, 0, i64::MAX), vec![650]);

        // Retention: files whose entries all point below the log start go, never the newest.
        let before = idx.file_count();
        assert!(idx.delete_expired(350).unwrap() >= 1);
        assert!(idx.file_count() < before);
        assert!(idx.query("T", "U0", 10, 0, i64::MAX).is_empty());
        assert_eq!(idx.query("T", "U5", 10, 0, i64::MAX), vec![500]);
        idx.delete_expired(i64::MAX).unwrap();
        assert_eq!(idx.file_count(), 1);
    }
}
