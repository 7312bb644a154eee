//! The Raft log, vote and committed id in one append-only file, `raft-log`, under
//! `controllerStorePath`.
//!
//! ```text
//! record := length:u32 | crc32(payload):u32 | payload (JSON of Record)
//! Record := Vote | Committed | Entry | Truncate{since} | Purge(log id)
//! ```
//!
//! Replaying the records in order rebuilds the in-memory view. A record cut short or failing its
//! CRC ends the replay: it can only be the tail of a write that never completed (appends and
//! votes are fsynced before openraft is told they are durable), so the file is cut there. Each
//! open, and a purge that leaves many dead records behind, rewrites the file with only the live
//! records (temp file, fsync, rename, fsync of the directory).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{AnyError, Entry, LogId, OptionalSend, StorageError, StorageIOError, Vote};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::{NodeId, TypeConfig};
use crate::ControllerError;

const LOG_FILE: &str = "raft-log";
const HEADER: usize = 8;

#[derive(Serialize, Deserialize)]
enum Record {
    Vote(Vote<NodeId>),
    Committed(Option<LogId<NodeId>>),
    Entry(Entry<TypeConfig>),
    Truncate { since: u64 },
    Purge(LogId<NodeId>),
}

#[derive(Default)]
struct LogData {
    entries: BTreeMap<u64, Entry<TypeConfig>>,
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId<NodeId>>,
    last_purged: Option<LogId<NodeId>>,
    /// Records in the file that no longer say anything (superseded or removed).
    dead_records: u64,
}

impl LogData {
    fn replay(&mut self, record: Record) {
        match record {
            Record::Vote(v) => {
                self.dead_records += u64::from(self.vote.is_some());
                self.vote = Some(v);
            }
            Record::Committed(c) => {
                self.dead_records += u64::from(self.committed.is_some());
                self.committed = c;
            }
            Record::Entry(e) => {
                self.dead_records += u64::from(self.entries.contains_key(&e.log_id.index));
                self.entries.insert(e.log_id.index, e);
            }
            Record::Truncate { since } => {
                let removed = self.entries.split_off(&since);
                self.dead_records += removed.len() as u64 + 1;
            }
            Record::Purge(upto) => {
                let kept = self.entries.split_off(&(upto.index + 1));
                let removed = std::mem::replace(&mut self.entries, kept);
                self.dead_records += removed.len() as u64 + u64::from(self.last_purged.is_some());
                self.last_purged = Some(upto);
            }
        }
    }

    fn live_records(&self) -> Vec<Record> {
        let mut out = Vec::with_capacity(self.entries.len() + 3);
        if let Some(v) = self.vote {
            out.push(Record::Vote(v));
        }
        if let Some(p) = self.last_purged {
            out.push(Record::Purge(p));
        }
        out.extend(self.entries.values().cloned().map(Record::Entry));
        if self.committed.is_some() {
            out.push(Record::Committed(self.committed));
        }
        out
    }
}

/// The log store; clones share it (the clone is also the log reader).
#[derive(Clone)]
pub struct LogStore {
    data: Arc<Mutex<LogData>>,
    file: Arc<Mutex<File>>,
    dir: PathBuf,
}

fn encode(records: &[Record], out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    for r in records {
        let start = out.len();
        out.extend_from_slice(&[0; HEADER]);
        serde_json::to_writer(&mut *out, r)?;
        let payload = &out[start + HEADER..];
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        let crc = crc32fast::hash(payload);
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_be_bytes());
    }
    Ok(())
}

/// Decodes records until the end or the first torn/corrupt one; returns them and the length of
/// the good prefix.
fn decode(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while bytes.len() - at >= HEADER {
        let len =
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let crc = u32::from_be_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        let Some(payload) = bytes.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        match serde_json::from_slice(payload) {
            Ok(r) => records.push(r),
            Err(_) => break,
        }
        at += HEADER + len;
    }
    (records, at)
}

/// Writes `bytes` to `path` atomically: temp file, fsync, rename, fsync of the directory.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn io_err(path: &Path, source: std::io::Error) -> ControllerError {
    ControllerError::Store {
        path: path.display().to_string(),
        source,
    }
}

fn write_failed(e: &(impl std::error::Error + 'static)) -> StorageError<NodeId> {
    StorageIOError::write_logs(AnyError::new(e)).into()
}

impl LogStore {
    /// Opens (creating when absent) the log under `dir`, cutting a torn tail and compacting.
    pub fn open(dir: &Path) -> Result<Self, ControllerError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let path = dir.join(LOG_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(&path, e)),
        };
        let (records, good) = decode(&bytes);
        if good < bytes.len() {
            tracing::warn!(
                path = %path.display(), kept = good, dropped = bytes.len() - good,
                "raft log: torn or corrupt tail dropped"
            );
        }
        let mut data = LogData::default();
        for r in records {
            data.replay(r);
        }
        data.dead_records = 0;
        let mut buf = Vec::new();
        encode(&data.live_records(), &mut buf).map_err(|e| ControllerError::Corrupt {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        write_atomically(&path, &buf).map_err(|e| io_err(&path, e))?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        Ok(LogStore {
            data: Arc::new(Mutex::new(data)),
            file: Arc::new(Mutex::new(file)),
            dir: dir.to_owned(),
        })
    }

    /// The vote stored, for tests and diagnostics.
    pub fn vote(&self) -> Option<Vote<NodeId>> {
        self.data.lock().vote
    }

    /// Appends `records` to the file, fsyncing when `sync`, off the runtime's workers.
    async fn write(&self, records: Vec<Record>, sync: bool) -> Result<(), StorageError<NodeId>> {
        let mut buf = Vec::new();
        encode(&records, &mut buf).map_err(|e| write_failed(&e))?;
        let file = Arc::clone(&self.file);
        let res = tokio::task::spawn_blocking(move || {
            let mut f = file.lock();
            f.write_all(&buf)?;
            if sync {
                f.sync_data()?;
            }
            Ok::<(), std::io::Error>(())
        })
        .await;
        match res {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(write_failed(&e)),
            Err(e) => Err(write_failed(&e)),
        }
    }

    /// Rewrites the file with only the live records.
    async fn compact(&self) -> Result<(), StorageError<NodeId>> {
        let mut buf = Vec::new();
        {
            let mut data = self.data.lock();
            encode(&data.live_records(), &mut buf).map_err(|e| write_failed(&e))?;
            data.dead_records = 0;
        }
        let path = self.dir.join(LOG_FILE);
        let file = Arc::clone(&self.file);
        let res = tokio::task::spawn_blocking(move || {
            let mut f = file.lock();
            write_atomically(&path, &buf)?;
            *f = OpenOptions::new().append(true).open(&path)?;
            Ok::<(), std::io::Error>(())
        })
        .await;
        match res {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(write_failed(&e)),
            Err(e) => Err(write_failed(&e)),
        }
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let data = self.data.lock();
        Ok(data.entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let data = self.data.lock();
        let last = data
            .entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(data.last_purged);
        Ok(LogState {
            last_purged_log_id: data.last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.data.lock().replay(Record::Vote(*vote));
        self.write(vec![Record::Vote(*vote)], true).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(self.data.lock().vote)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        self.data.lock().replay(Record::Committed(committed));
        // Not fsynced: a lost committed id is only re-learned from the leader.
        self.write(vec![Record::Committed(committed)], false).await
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self.data.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let records: Vec<Record> = entries.into_iter().map(Record::Entry).collect();
        {
            let mut data = self.data.lock();
            for r in &records {
                if let Record::Entry(e) = r {
                    data.entries.insert(e.log_id.index, e.clone());
                }
            }
        }
        match self.write(records, true).await {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(e)
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let record = Record::Truncate {
            since: log_id.index,
        };
        self.data.lock().replay(Record::Truncate {
            since: log_id.index,
        });
        self.write(vec![record], true).await
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let needs_compaction = {
            let mut data = self.data.lock();
            data.replay(Record::Purge(log_id));
            data.dead_records > 1_000 && data.dead_records > 2 * data.entries.len() as u64
        };
        self.write(vec![Record::Purge(log_id)], false).await?;
        if needs_compaction {
            self.compact().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::{CommittedLeaderId, EntryPayload};

    fn entry(index: u64) -> Entry<TypeConfig> {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 7), index),
            payload: EntryPayload::Blank,
        }
    }

    #[test]
    fn replay_survives_a_torn_tail_and_flipped_bytes() {
        let mut buf = Vec::new();
        let records: Vec<Record> = (1..=3).map(|i| Record::Entry(entry(i))).collect();
        encode(&records, &mut buf).unwrap();
        let full = buf.len();
        let (all, good) = decode(&buf);
        assert_eq!((all.len(), good), (3, full));
        // Every cut keeps exactly the whole records before it.
        for cut in 0..full {
            let (some, good) = decode(&buf[..cut]);
            assert!(good <= cut && some.len() < 3);
        }
        // A flipped byte in the last record drops only that record.
        let mut flipped = buf.clone();
        flipped[full - 2] ^= 0x40;
        assert_eq!(decode(&flipped).0.len(), 2);
    }

    #[test]
    fn truncate_and_purge_replay_to_the_same_view() {
        let mut d = LogData::default();
        for i in 1..=10 {
            d.replay(Record::Entry(entry(i)));
        }
        d.replay(Record::Truncate { since: 8 });
        d.replay(Record::Purge(entry(3).log_id));
        assert_eq!(
            d.entries.keys().copied().collect::<Vec<_>>(),
            vec![4, 5, 6, 7]
        );
        let mut again = LogData::default();
        for r in d.live_records() {
            again.replay(r);
        }
        assert_eq!(again.entries.len(), 4);
        assert_eq!(again.last_purged, d.last_purged);
    }
}
