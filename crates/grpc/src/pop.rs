//! Pop consumption state (RocketMQ 5's `PopMessageProcessor` model) for SimpleConsumer and
//! PushConsumer clients of the gRPC API.
//!
//! ```text
//! per topic@group, per queue:   committed ≤ [in flight offsets …] < next
//!   receive ─▶ in-flight entries whose invisible time passed (attempt + 1), then new ones from `next`
//!   ack     ─▶ entry removed; committed = lowest in-flight offset (or `next`) → consumer offsets
//!   change  ─▶ entry visible again at now + duration, under a new receipt handle
//! ```
//!
//! Every change is appended to `config/popState.log` (one record per change, [`Record`])
//! before it is answered; the log is folded into the snapshot `config/popState.json` (beside
//! `consumerOffset.json`) every [`COMPACT_RECORDS`] records and at start-up. The append is a
//! `write` (the kernel holds it, so a kill -9 loses nothing): an acked message never comes back
//! after a restart or a kill -9, and a received but unacked one comes back once its invisible
//! time has passed. The log is fsynced as the commit log is: with `flushDiskType=SYNC_FLUSH`
//! before each answer, with `ASYNC_FLUSH` (the default) every [`FLUSH_EVERY_MS`], like
//! RocketMQ's pop checkpoints and acks, which are messages of its revive topic flushed with the
//! commit log. A power loss can then undo the last moment's acks (their messages come back once).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// One message received and not yet acked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inflight {
    /// When it becomes visible again (ms since the epoch).
    pub visible_at: i64,
    /// Deliveries so far (1 for the first).
    pub attempt: i32,
    /// Receipt handle generation: a handle carries it, and only the current one is valid.
    pub seq: u64,
}

/// The pop state of one queue for one group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueState {
    /// The next offset never delivered.
    pub next: i64,
    /// Received, not acked.
    pub inflight: BTreeMap<i64, Inflight>,
}

impl QueueState {
    /// The offset below which everything is acked (or filtered out).
    pub fn committed(&self) -> i64 {
        self.inflight.keys().next().copied().unwrap_or(self.next)
    }

    /// True when a message of this queue is in flight and still invisible: a FIFO group gets
    /// nothing newer from the queue until it is acked or comes back.
    pub fn blocks_fifo(&self, now: i64) -> bool {
        self.inflight.values().any(|e| e.visible_at > now)
    }
}

/// The whole table, as persisted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopTable {
    /// Last receipt handle generation handed out.
    pub seq: u64,
    /// `topic@group` → queue id → state.
    pub queues: BTreeMap<String, BTreeMap<i32, QueueState>>,
}

/// Key of a topic and group (the consumer offsets' form).
pub fn key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

/// What a receipt handle names. Its text form: `<queue> <offset> <seq> <broker>`, read back by
/// [`ReceiptHandle::parse`] only (clients treat handles as opaque).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptHandle {
    /// Queue id.
    pub queue_id: i32,
    /// Queue offset of the message.
    pub offset: i64,
    /// Generation.
    pub seq: u64,
    /// The broker that issued it.
    pub broker: String,
}

impl ReceiptHandle {
    /// The text form.
    pub fn encode(&self) -> String {
        format!(
            "fmq1 {} {} {} {}",
            self.queue_id, self.offset, self.seq, self.broker
        )
    }

    /// Reads the text form; `None` when it is not one.
    pub fn parse(text: &str) -> Option<ReceiptHandle> {
        let mut parts = text.split(' ');
        if parts.next()? != "fmq1" {
            return None;
        }
        let queue_id = parts.next()?.parse().ok()?;
        let offset = parts.next()?.parse().ok()?;
        let seq = parts.next()?.parse().ok()?;
        let broker = parts.next()?.to_owned();
        if parts.next().is_some() || queue_id < 0 || offset < 0 {
            return None;
        }
        Some(ReceiptHandle {
            queue_id,
            offset,
            seq,
            broker,
        })
    }
}

/// Why a receipt handle was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleError {
    /// Not in flight: acked already, or never delivered.
    NotInFlight,
    /// In flight under a newer handle (it came back after its invisible time, or its invisible
    /// duration was changed).
    Expired,
}

impl PopTable {
    /// The state of one queue, created at `start` when new.
    pub fn queue(
        &mut self,
        key: &str,
        queue_id: i32,
        start: impl FnOnce() -> i64,
    ) -> &mut QueueState {
        self.queues
            .entry(key.to_owned())
            .or_default()
            .entry(queue_id)
            .or_insert_with(|| QueueState {
                next: start(),
                inflight: BTreeMap::new(),
            })
    }

    /// A new receipt handle generation.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Checks that `handle` is the current one of an in-flight message.
    pub fn check(&self, key: &str, h: &ReceiptHandle) -> Result<Inflight, HandleError> {
        let entry = self
            .queues
            .get(key)
            .and_then(|q| q.get(&h.queue_id))
            .and_then(|q| q.inflight.get(&h.offset))
            .ok_or(HandleError::NotInFlight)?;
        if entry.seq != h.seq {
            return Err(HandleError::Expired);
        }
        Ok(*entry)
    }

    /// Acks the message `h` names; returns the queue's committed offset afterwards.
    pub fn ack(&mut self, key: &str, h: &ReceiptHandle) -> Result<i64, HandleError> {
        self.check(key, h)?;
        let q = self
            .queues
            .get_mut(key)
            .and_then(|q| q.get_mut(&h.queue_id))
            .ok_or(HandleError::NotInFlight)?;
        q.inflight.remove(&h.offset);
        Ok(q.committed())
    }

    /// Makes the message `h` names visible again at `visible_at`, under a new handle
    /// generation (returned).
    pub fn change(
        &mut self,
        key: &str,
        h: &ReceiptHandle,
        visible_at: i64,
    ) -> Result<(u64, Inflight), HandleError> {
        self.check(key, h)?;
        let seq = self.next_seq();
        let entry = self
            .queues
            .get_mut(key)
            .and_then(|q| q.get_mut(&h.queue_id))
            .and_then(|q| q.inflight.get_mut(&h.offset))
            .ok_or(HandleError::NotInFlight)?;
        entry.seq = seq;
        entry.visible_at = visible_at;
        Ok((seq, *entry))
    }

    /// Serialized form.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Reads the serialized form.
    pub fn from_json(bytes: &[u8]) -> Result<PopTable, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Log records folded into the snapshot at once.
pub const COMPACT_RECORDS: u64 = 100_000;
/// Longest time an `ASYNC_FLUSH` log goes unsynced while it is written to.
pub const FLUSH_EVERY_MS: u64 = 500;

/// One change of the pop table. Each one sets a value (or removes it), so replaying a log over
/// a snapshot that already holds some of its records gives the same table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op")]
pub enum Record {
    /// The queue's next offset (the queue is created when new).
    #[serde(rename = "next")]
    Next {
        /// `topic@group`.
        k: String,
        /// Queue id.
        q: i32,
        /// Next offset.
        next: i64,
    },
    /// An in-flight entry, new or changed.
    #[serde(rename = "set")]
    Set {
        /// `topic@group`.
        k: String,
        /// Queue id.
        q: i32,
        /// Queue offset.
        o: i64,
        /// The entry.
        e: Inflight,
    },
    /// An entry out of flight (acked, or moved to the DLQ, or gone from the store).
    #[serde(rename = "del")]
    Remove {
        /// `topic@group`.
        k: String,
        /// Queue id.
        q: i32,
        /// Queue offset.
        o: i64,
    },
}

impl PopTable {
    /// Applies one record.
    pub fn apply(&mut self, r: &Record) {
        match r {
            Record::Next { k, q, next } => {
                self.queue(k, *q, || *next).next = *next;
            }
            Record::Set { k, q, o, e } => {
                self.seq = self.seq.max(e.seq);
                self.queue(k, *q, || o + 1).inflight.insert(*o, *e);
            }
            Record::Remove { k, q, o } => {
                if let Some(state) = self.queues.get_mut(k).and_then(|m| m.get_mut(q)) {
                    state.inflight.remove(o);
                }
            }
        }
    }
}

/// The records that turn queue state `before` (`None`: not there) into `after`.
pub fn diff(
    key: &str,
    queue_id: i32,
    before: Option<&QueueState>,
    after: &QueueState,
    out: &mut Vec<Record>,
) {
    if before.is_none_or(|b| b.next != after.next) {
        out.push(Record::Next {
            k: key.to_owned(),
            q: queue_id,
            next: after.next,
        });
    }
    for (o, e) in &after.inflight {
        if before.and_then(|b| b.inflight.get(o)) != Some(e) {
            out.push(Record::Set {
                k: key.to_owned(),
                q: queue_id,
                o: *o,
                e: *e,
            });
        }
    }
    if let Some(b) = before {
        for o in b
            .inflight
            .keys()
            .filter(|o| !after.inflight.contains_key(o))
        {
            out.push(Record::Remove {
                k: key.to_owned(),
                q: queue_id,
                o: *o,
            });
        }
    }
}

/// The pop table with its files: the snapshot `popState.json` and the log `popState.log`.
pub struct PopStore {
    /// The table.
    pub table: PopTable,
    snapshot: PathBuf,
    log_path: PathBuf,
    log: File,
    records: u64,
    sync_each: bool,
    last_sync: Instant,
    dirty: bool,
    buf: Vec<u8>,
}

impl PopStore {
    /// Opens the state in `dir`: the snapshot, then the log replayed over it (a torn last
    /// record, from a crash in the middle of its write, was never answered and is dropped);
    /// the result is written as the new snapshot and the log starts empty. `sync_each`: fsync
    /// the log before every answer (`SYNC_FLUSH`).
    pub fn open(dir: &Path, sync_each: bool) -> Result<PopStore, String> {
        let snapshot = dir.join("popState.json");
        let log_path = dir.join("popState.log");
        let mut table = match ferromq_broker::persist::read_optional(&snapshot) {
            Ok(Some(bytes)) => PopTable::from_json(&bytes)
                .map_err(|e| format!("{} is corrupt: {e}", snapshot.display()))?,
            Ok(None) => PopTable::default(),
            Err(e) => return Err(format!("reading {}: {e}", snapshot.display())),
        };
        let replayed = match ferromq_broker::persist::read_optional(&log_path) {
            Ok(Some(bytes)) => replay(&mut table, &bytes)
                .map_err(|e| format!("{} is corrupt: {e}", log_path.display()))?,
            Ok(None) => 0,
            Err(e) => return Err(format!("reading {}: {e}", log_path.display())),
        };
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("opening {}: {e}", log_path.display()))?;
        let mut store = PopStore {
            table,
            snapshot,
            log_path,
            log,
            records: replayed,
            sync_each,
            last_sync: Instant::now(),
            dirty: false,
            buf: Vec::with_capacity(4096),
        };
        store
            .compact()
            .map_err(|e| format!("writing the pop state: {e}"))?;
        Ok(store)
    }

    /// Appends `records` (already applied to the table) to the log; returns once the kernel
    /// holds them (and, with `sync_each`, once they are on disk). Folds the log into the
    /// snapshot when it has grown past [`COMPACT_RECORDS`].
    pub fn append(&mut self, records: &[Record]) -> std::io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.buf.clear();
        for r in records {
            serde_json::to_writer(&mut self.buf, r).map_err(std::io::Error::other)?;
            self.buf.push(b'\n');
        }
        self.log.write_all(&self.buf)?;
        self.records += records.len() as u64;
        self.dirty = true;
        if self.sync_each || self.last_sync.elapsed().as_millis() >= u128::from(FLUSH_EVERY_MS) {
            self.sync()?;
        }
        if self.records >= COMPACT_RECORDS {
            self.compact()?;
        }
        Ok(())
    }

    /// Fsyncs the log if anything was written since the last time.
    pub fn sync(&mut self) -> std::io::Result<()> {
        if self.dirty {
            self.log.sync_data()?;
            self.dirty = false;
        }
        self.last_sync = Instant::now();
        Ok(())
    }

    /// For the background flusher: when records were written and not synced, a handle of the
    /// log to fsync (outside the table's lock); they count as synced from now.
    pub fn take_unsynced(&mut self) -> Option<File> {
        if !self.dirty {
            return None;
        }
        let f = self.log.try_clone().ok()?;
        self.dirty = false;
        self.last_sync = Instant::now();
        Some(f)
    }

    /// Writes the table as the snapshot (atomically), then empties the log.
    pub fn compact(&mut self) -> std::io::Result<()> {
        ferromq_broker::persist::write_atomic(&self.snapshot, &self.table.to_json())?;
        self.log.set_len(0)?;
        self.log.sync_all()?;
        self.records = 0;
        self.dirty = false;
        Ok(())
    }

    /// Records in the log now.
    pub fn log_records(&self) -> u64 {
        self.records
    }

    /// Where the log is.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }
}

impl Drop for PopStore {
    fn drop(&mut self) {
        if let Err(e) = self.sync() {
            tracing::error!(error = %e, "syncing the pop state log failed");
        }
    }
}

/// Applies the records of `bytes` (one JSON object a line); returns how many. Only the last
/// line may be torn.
fn replay(table: &mut PopTable, bytes: &[u8]) -> Result<u64, String> {
    let mut n = 0;
    let mut lines = bytes.split(|b| *b == b'\n').peekable();
    let mut line_no = 0;
    while let Some(line) = lines.next() {
        line_no += 1;
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Record>(line) {
            Ok(r) => {
                table.apply(&r);
                n += 1;
            }
            // The last line, cut short by a crash while it was written: never answered.
            Err(_) if lines.peek().is_none() && !bytes.ends_with(b"\n") => {
                tracing::warn!(
                    line = line_no,
                    "torn last record of the pop state log dropped"
                );
            }
            Err(e) => return Err(format!("line {line_no}: {e}")),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(offset: i64, seq: u64) -> ReceiptHandle {
        ReceiptHandle {
            queue_id: 1,
            offset,
            seq,
            broker: "broker-a".into(),
        }
    }

    #[test]
    fn receipt_handles_round_trip_and_junk_is_refused() {
        let h = handle(42, 7);
        assert_eq!(ReceiptHandle::parse(&h.encode()), Some(h));
        for junk in [
            "",
            "fmq1",
            "fmq1 1 2",
            "x 1 2 3 b",
            "fmq1 -1 2 3 b",
            "fmq1 1 2 3 b extra",
        ] {
            assert_eq!(ReceiptHandle::parse(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn ack_commits_up_to_the_lowest_message_in_flight_and_stale_handles_are_refused() {
        let mut t = PopTable::default();
        let k = key("T", "G");
        let q = t.queue(&k, 1, || 10);
        for off in 10..13 {
            q.inflight.insert(
                off,
                Inflight {
                    visible_at: 100,
                    attempt: 1,
                    seq: off as u64,
                },
            );
        }
        q.next = 13;
        assert_eq!(t.ack(&k, &handle(11, 11)), Ok(10));
        assert_eq!(t.ack(&k, &handle(11, 11)), Err(HandleError::NotInFlight));
        let (seq, e) = t.change(&k, &handle(10, 10), 500).unwrap();
        assert_eq!(e.visible_at, 500);
        assert_eq!(t.ack(&k, &handle(10, 10)), Err(HandleError::Expired));
        assert_eq!(t.ack(&k, &handle(10, seq)), Ok(12));
        assert_eq!(t.ack(&k, &handle(12, 12)), Ok(13));
        let back = PopTable::from_json(&t.to_json()).unwrap();
        assert_eq!(back, t);
    }

    fn entry(visible_at: i64, seq: u64) -> Inflight {
        Inflight {
            visible_at,
            attempt: 1,
            seq,
        }
    }

    #[test]
    fn the_log_replays_over_the_snapshot_and_survives_a_torn_last_record() {
        let dir = tempfile::tempdir().unwrap();
        let k = key("T", "G");
        {
            let mut st = PopStore::open(dir.path(), false).unwrap();
            let mut recs = Vec::new();
            let before = None;
            let q = st.table.queue(&k, 0, || 0);
            q.next = 3;
            for o in 0..3 {
                q.inflight.insert(o, entry(100, o as u64 + 1));
            }
            let after = q.clone();
            st.table.seq = 3;
            diff(&k, 0, before, &after, &mut recs);
            assert_eq!(recs.len(), 4);
            st.append(&recs).unwrap();
            // Ack 1, change 2.
            st.table.ack(&k, &handle_q0(1, 2)).unwrap();
            let (seq, e) = st.table.change(&k, &handle_q0(2, 3), 900).unwrap();
            assert_eq!(seq, 4);
            st.append(&[
                Record::Remove {
                    k: k.clone(),
                    q: 0,
                    o: 1,
                },
                Record::Set {
                    k: k.clone(),
                    q: 0,
                    o: 2,
                    e,
                },
            ])
            .unwrap();
            assert_eq!(st.log_records(), 6);
        }
        // A crash in the middle of a write leaves half a record at the end.
        let log = dir.path().join("popState.log");
        let mut f = File::options().append(true).open(&log).unwrap();
        f.write_all(b"{\"op\":\"del\",\"k\":\"T@G\",\"q\":0,")
            .unwrap();
        drop(f);
        let st = PopStore::open(dir.path(), true).unwrap();
        let q = &st.table.queues[&k][&0];
        assert_eq!(q.next, 3);
        assert_eq!(q.inflight.keys().copied().collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(q.inflight[&2].visible_at, 900);
        assert_eq!(st.table.seq, 4);
        // Opening folded the log into the snapshot.
        assert_eq!(std::fs::metadata(&log).unwrap().len(), 0);
        let snap =
            PopTable::from_json(&std::fs::read(dir.path().join("popState.json")).unwrap()).unwrap();
        assert_eq!(&snap, &st.table);
        // Replaying a log again over a snapshot that holds it changes nothing.
        let mut again = snap.clone();
        for r in [
            Record::Next {
                k: k.clone(),
                q: 0,
                next: 3,
            },
            Record::Remove {
                k: k.clone(),
                q: 0,
                o: 1,
            },
            Record::Set {
                k: k.clone(),
                q: 0,
                o: 2,
                e: q.inflight[&2],
            },
        ] {
            again.apply(&r);
        }
        assert_eq!(again, snap);
    }

    #[test]
    fn a_bad_record_before_the_end_is_an_error_not_a_silent_loss() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("popState.log"),
            b"garbage\n{\"op\":\"next\",\"k\":\"T@G\",\"q\":0,\"next\":1}\n",
        )
        .unwrap();
        let e = PopStore::open(dir.path(), false).err().unwrap();
        assert!(e.contains("popState.log is corrupt: line 1"), "{e}");
    }

    fn handle_q0(offset: i64, seq: u64) -> ReceiptHandle {
        ReceiptHandle {
            queue_id: 0,
            offset,
            seq,
            broker: "b".into(),
        }
    }
}
