//! The timer thread: files held records into buckets, loads the buckets about to fall due,
//! delivers at the due ms, and checkpoints its progress.
//!
//! One round: file up to [`MAX_FILED_PER_ROUND`] new records of `rmq_sys_wheel_timer`; load
//! every bucket starting within [`LOOKAHEAD_MS`] (in order, while fewer than [`MAX_PENDING`]
//! entries wait in memory); deliver the entries now due; checkpoint every [`SAVE_EVERY`] when
//! something moved; sleep until the earliest due time, at most [`TICK`].
//!
//! The checkpoint's delivery frontier is the smallest (due, offset) still waiting in memory, or
//! the start of the first bucket not loaded when nothing waits: every filed entry below it was
//! delivered. After a crash an entry is skipped as delivered when it lies below the saved
//! frontier *and* was filed before the checkpoint (commit-log offset below
//! `enqueuePhysicalOffset`); overdue entries not skipped so are checked against the index
//! before delivery.
//!
//! Recalls (see `recall.rs`): a record with `TIMER_DEL_UNIQKEY` is a delete marker, filed with
//! its size negated and never delivered; a due message whose (due, topic + UNIQ_KEY) was recalled
//! is dropped. After a start, nothing is delivered until the timer queue as it was at start is
//! filed, so that markers stored before a crash are known before the messages they cancel fall
//! due.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_common::{names::TIMER_TOPIC, now_millis};
use ferromq_proto::message::properties::{REAL_TOPIC, TIMER_DEL_UNIQKEY, TIMER_OUT_MS, UNIQ_KEY};
use ferromq_proto::message::record::RecordView;
use ferromq_store::{FlushDiskType, GetStatus, MessageStore};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::bucket::{bucket_of, BucketDir, Entry, BUCKET_MS};
use super::recall::RecallBook;
use crate::persist::JsonFile;
use crate::schedule::{already_delivered, deliver_now};
use crate::{BrokerConfig, BrokerError};

/// Longest sleep between rounds (new timer records are filed within it).
const TICK: Duration = Duration::from_millis(10);
/// Buckets are loaded this long before they start.
const LOOKAHEAD_MS: i64 = 2_000;
/// Entries waiting in memory above which no further bucket is loaded (an overdue backlog is
/// then worked through a bucket at a time).
pub(super) const MAX_PENDING: usize = 200_000;
/// Records filed per round, so that filing a burst does not hold up deliveries.
const MAX_FILED_PER_ROUND: usize = 8_192;
/// Records read from the timer queue per get.
const READ_BATCH: i32 = 32;
/// Checkpoint period while something changes.
const SAVE_EVERY: Duration = Duration::from_millis(500);
/// Longest wait at start for the timer queue to be filed before delivering anyway (filing that
/// makes no progress, e.g. bucket appends failing, must not hold every delivery back).
const CATCH_UP_LIMIT: Duration = Duration::from_secs(30);

/// `config/timerCheckpoint.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimerProgress {
    /// Next queue offset of `rmq_sys_wheel_timer` to file; everything before it is in a bucket
    /// file that was fsynced before this was written.
    pub enqueue_offset: i64,
    /// Just past the commit-log offset of the last record filed (so every record filed lies
    /// below it).
    pub enqueue_physical_offset: i64,
    /// Delivery frontier, due part: every filed entry whose (due, offset) is below
    /// (`deliveredBeforeDueMs`, `deliveredBeforeOffset`) was delivered.
    pub delivered_before_due_ms: i64,
    /// Delivery frontier, offset part.
    pub delivered_before_offset: i64,
}

impl Default for TimerProgress {
    fn default() -> Self {
        TimerProgress {
            enqueue_offset: 0,
            enqueue_physical_offset: 0,
            delivered_before_due_ms: i64::MIN,
            delivered_before_offset: i64::MIN,
        }
    }
}

/// What the thread starts from.
struct Start {
    files: BucketDir,
    buckets: BTreeSet<i64>,
    progress: TimerProgress,
}

/// The timer service: its files and checkpoint, and the thread that delivers.
pub struct TimerService {
    checkpoint: JsonFile,
    start: Mutex<Option<Start>>,
    recalls: RecallBook,
}

impl TimerService {
    /// Reads `config/timerCheckpoint.json` and opens `<storePathRootDir>/timer/` (cutting torn
    /// bucket tails). Errors when either cannot be read.
    pub fn load(config: &BrokerConfig) -> Result<Self, BrokerError> {
        let checkpoint = JsonFile::new(config.config_dir().join("timerCheckpoint.json"));
        let mut progress = match checkpoint.load()? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| checkpoint.corrupt(e))?,
            None => TimerProgress::default(),
        };
        let dir = config.store_path_root_dir.join("timer");
        if !dir.exists() && progress != TimerProgress::default() {
            // The filed entries are gone: file the whole queue again. Nothing is skipped as
            // delivered except what the index shows.
            tracing::warn!(
                dir = %dir.display(),
                "the timer bucket directory is missing; filing every held timer message again"
            );
            progress = TimerProgress::default();
        }
        let (files, buckets) = BucketDir::open(&dir).map_err(|source| BrokerError::Io {
            what: format!("opening {}", dir.display()),
            source,
        })?;
        if config.timer_precision_ms != 1000 {
            tracing::info!(
                timer_precision_ms = config.timer_precision_ms,
                "timerPrecisionMs accepted; FerroMQ delivers timer messages at millisecond precision"
            );
        }
        Ok(TimerService {
            checkpoint,
            start: Mutex::new(Some(Start {
                files,
                buckets,
                progress,
            })),
            recalls: RecallBook::default(),
        })
    }

    /// The recalls the timer honours (RECALL_MESSAGE reserves in it).
    pub fn recalls(&self) -> &RecallBook {
        &self.recalls
    }

    /// Starts the timer thread (`ferromq-timer`), which runs until `stop` and then saves its
    /// progress. The returned task ends when the thread has; the store must stay open until
    /// then. Only the first call starts anything.
    pub fn spawn(
        self: &Arc<Self>,
        store: Arc<MessageStore>,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        if let Some(start) = self.start.lock().take() {
            let service = Arc::clone(self);
            let started = std::thread::Builder::new()
                .name("ferromq-timer".into())
                .spawn(move || {
                    Wheel::new(&service, &store, start).run(&stop);
                    let _ = done_tx.send(());
                });
            if let Err(e) = started {
                tracing::error!(error = %e, "starting the timer thread failed; timer messages wait until a restart");
            }
        }
        tokio::spawn(async move {
            // An error means the thread ended without saying so (it panicked): nothing to wait for.
            let _ = done_rx.await;
        })
    }
}

/// The thread's state. Memory: the bucket names, and the entries of the loaded buckets.
struct Wheel<'a> {
    service: &'a TimerService,
    store: &'a MessageStore,
    files: BucketDir,
    /// Buckets with a file.
    buckets: BTreeSet<i64>,
    /// Every bucket starting before this is loaded: its entries wait in `pending`.
    horizon: i64,
    pending: BTreeSet<Entry>,
    /// Loaded bucket → how many of its entries wait in `pending`.
    waiting: BTreeMap<i64, usize>,
    enqueue_offset: i64,
    enqueue_physical_offset: i64,
    /// The checkpoint found at start-up, and when that was.
    boot: TimerProgress,
    boot_ms: i64,
    changed: bool,
    last_save: Instant,
    /// A bucket whose file could not be read (logged once; retried every round).
    unreadable: Option<i64>,
    /// Bucket appends are failing (logged once until they work again).
    append_failing: bool,
    skipped_at_boot: u64,
    found_delivered: u64,
    /// The timer queue's end at start: nothing is delivered before it is filed (it may hold
    /// delete markers for messages already filed). `None` once reached.
    catch_up_to: Option<i64>,
}

impl<'a> Wheel<'a> {
    fn new(service: &'a TimerService, store: &'a MessageStore, start: Start) -> Self {
        let Start {
            files,
            buckets,
            progress,
        } = start;
        let queue_end = store.max_offset_in_queue(TIMER_TOPIC, 0);
        tracing::info!(
            buckets = buckets.len(),
            enqueue_offset = progress.enqueue_offset,
            queue_end,
            "timer service started"
        );
        Wheel {
            service,
            store,
            files,
            buckets,
            horizon: i64::MIN,
            pending: BTreeSet::new(),
            waiting: BTreeMap::new(),
            enqueue_offset: progress.enqueue_offset,
            enqueue_physical_offset: progress.enqueue_physical_offset,
            boot: progress,
            boot_ms: now_millis(),
            changed: false,
            last_save: Instant::now(),
            unreadable: None,
            append_failing: false,
            skipped_at_boot: 0,
            found_delivered: 0,
            catch_up_to: (queue_end > progress.enqueue_offset).then_some(queue_end),
        }
    }

    fn run(&mut self, stop: &CancellationToken) {
        while !stop.is_cancelled() {
            let more_to_file = self.file_new();
            self.load_due();
            let stalled = if self.caught_up() {
                !self.deliver_due(stop)
            } else {
                // Filing the queue left before the start; no delivery yet (a stuck filing
                // waits a tick instead of spinning).
                !more_to_file
            };
            if (self.changed || self.finished_bucket()) && self.last_save.elapsed() >= SAVE_EVERY {
                self.save();
            }
            if more_to_file && !stalled {
                continue;
            }
            let wait = match self.pending.first() {
                Some(e) if !stalled => (e.due_ms - now_millis()).clamp(0, TICK.as_millis() as i64),
                _ => TICK.as_millis() as i64,
            };
            if wait > 0 {
                std::thread::sleep(Duration::from_millis(wait as u64));
            }
        }
        self.save();
        tracing::info!(
            waiting_in_memory = self.pending.len(),
            "timer service stopped"
        );
    }

    /// Files the records that arrived in the timer queue; true when more are left.
    fn file_new(&mut self) -> bool {
        let mut batch = Vec::new();
        let mut markers = Vec::new();
        let mut offset = self.enqueue_offset;
        let mut physical = self.enqueue_physical_offset;
        while batch.len() < MAX_FILED_PER_ROUND {
            let got = self
                .store
                .get_message(TIMER_TOPIC, 0, offset, READ_BATCH, None);
            match got.status {
                GetStatus::Found => {}
                GetStatus::OffsetTooSmall
                | GetStatus::OffsetFoundNull
                | GetStatus::MessageWasRemoving
                    if got.next_begin_offset > offset =>
                {
                    tracing::warn!(
                        from = offset,
                        to = got.next_begin_offset,
                        "timer records removed before they were filed; skipped"
                    );
                    offset = got.next_begin_offset;
                    continue;
                }
                GetStatus::OffsetOverflowBadly => {
                    tracing::warn!(
                        saved = offset,
                        max = got.max_offset,
                        "the timer checkpoint is past the end of the timer queue; filing from its end"
                    );
                    offset = got.max_offset;
                    break;
                }
                _ => break,
            }
            for record in &got.messages {
                match RecordView::parse(record) {
                    Ok(view) => {
                        let mut entry = Entry {
                            due_ms: due_of(&view),
                            offset: view.physical_offset,
                            size: record.len() as i32,
                        };
                        if let Some(key) = view.property(TIMER_DEL_UNIQKEY) {
                            entry.size = -entry.size;
                            markers.push((entry, key.to_owned()));
                        }
                        batch.push(entry);
                        physical = physical.max(view.physical_offset + 1);
                    }
                    Err(e) => tracing::error!(
                        queue_offset = offset,
                        error = %e,
                        "unreadable timer record skipped"
                    ),
                }
            }
            offset = got.next_begin_offset;
        }
        if offset == self.enqueue_offset {
            return false;
        }
        if let Err(e) = self.files.append(&batch) {
            // Nothing moves: the same records are filed again next round.
            if !self.append_failing {
                tracing::error!(error = %e, "writing timer bucket files failed; retrying");
                self.append_failing = true;
            }
            return false;
        }
        if std::mem::take(&mut self.append_failing) {
            tracing::info!("writing timer bucket files works again");
        }
        for e in &batch {
            let bucket = e.bucket();
            self.buckets.insert(bucket);
            if bucket >= self.horizon {
                continue;
            }
            if e.is_recall_marker() {
                // Tracked so that the bucket is deleted (and its keys forgotten) once past.
                self.waiting.entry(bucket).or_default();
            } else if self.pending.insert(*e) {
                *self.waiting.entry(bucket).or_default() += 1;
            }
        }
        for (e, key) in &markers {
            let loaded = e.bucket() < self.horizon;
            self.service.recalls.filed(e.due_ms, key, loaded);
        }
        self.enqueue_offset = offset;
        self.enqueue_physical_offset = physical;
        self.changed = true;
        batch.len() >= MAX_FILED_PER_ROUND
    }

    /// Loads, in order, the buckets that start within [`LOOKAHEAD_MS`].
    fn load_due(&mut self) {
        let until = now_millis().saturating_add(LOOKAHEAD_MS);
        while let Some(&next) = self.buckets.range(self.horizon..).next() {
            if next > until || self.pending.len() >= MAX_PENDING {
                break;
            }
            if !self.load(next) {
                return;
            }
            self.horizon = next + BUCKET_MS;
        }
        // Move over time without buckets, never past one not loaded.
        let limit = self
            .buckets
            .range(self.horizon..)
            .next()
            .copied()
            .unwrap_or(i64::MAX);
        self.horizon = self.horizon.max(bucket_of(until).min(limit));
    }

    /// Reads one bucket into `pending`; false when its file could not be read.
    fn load(&mut self, bucket: i64) -> bool {
        let (entries, bad) = match self.files.read(bucket) {
            Ok(r) => r,
            Err(e) => {
                if self.unreadable != Some(bucket) {
                    tracing::error!(bucket, error = %e, "reading a timer bucket file failed; retrying");
                    self.unreadable = Some(bucket);
                }
                return false;
            }
        };
        if bad > 0 {
            tracing::error!(
                bucket,
                bad,
                "timer bucket entries with a bad checksum skipped; those messages are lost"
            );
        }
        let mut waiting = 0;
        for e in entries {
            if e.is_recall_marker() {
                self.read_marker(&e);
            } else if self.delivered_before_boot(&e) {
                self.skipped_at_boot += 1;
            } else if self.pending.insert(e) {
                waiting += 1;
            }
        }
        self.waiting.insert(bucket, waiting);
        self.changed = true;
        true
    }

    /// Registers the key of a filed delete marker of a bucket being loaded.
    fn read_marker(&self, e: &Entry) {
        let key = self
            .store
            .look_message_by_offset(e.offset)
            .and_then(|record| {
                let view = RecordView::parse(&record).ok()?;
                view.property(TIMER_DEL_UNIQKEY).map(str::to_owned)
            });
        match key {
            Some(key) => self.service.recalls.filed(e.due_ms, &key, true),
            None => tracing::warn!(
                offset = e.offset,
                due_ms = e.due_ms,
                "recall marker no longer readable in the commit log; ignored"
            ),
        }
    }

    /// True once the timer queue as it was at start is filed.
    fn caught_up(&mut self) -> bool {
        match self.catch_up_to {
            Some(end) if self.enqueue_offset < end => {
                if self.last_save.elapsed() < CATCH_UP_LIMIT || self.changed {
                    return false;
                }
                tracing::error!(
                    enqueue_offset = self.enqueue_offset,
                    queue_end = end,
                    "filing the timer queue made no progress; delivering before it is filed \
                     (a recalled message may be delivered)"
                );
                self.catch_up_to = None;
                true
            }
            Some(_) => {
                tracing::info!(
                    enqueue_offset = self.enqueue_offset,
                    "timer queue filed up to where it was at start; delivering"
                );
                self.catch_up_to = None;
                true
            }
            None => true,
        }
    }

    /// True for an entry the saved checkpoint proves delivered.
    fn delivered_before_boot(&self, e: &Entry) -> bool {
        e.offset < self.boot.enqueue_physical_offset
            && (e.due_ms, e.offset)
                < (
                    self.boot.delivered_before_due_ms,
                    self.boot.delivered_before_offset,
                )
    }

    /// Delivers the entries due now, in (due, offset) order. False when the store refused one
    /// (it is retried next round).
    fn deliver_due(&mut self, stop: &CancellationToken) -> bool {
        let mut delivered = 0u64;
        // From here on a recall of anything due by `now` is refused as too late.
        let now = self.service.recalls.advance(now_millis());
        while let Some(&e) = self.pending.first() {
            if e.due_ms > now {
                break;
            }
            if !self.deliver(&e) {
                return false;
            }
            self.pending.pop_first();
            if let Some(n) = self.waiting.get_mut(&e.bucket()) {
                *n = n.saturating_sub(1);
            }
            self.changed = true;
            delivered += 1;
            // A long backlog: keep the checkpoint (and the crash window) moving.
            if delivered.is_multiple_of(4096) {
                if stop.is_cancelled() {
                    break;
                }
                if self.last_save.elapsed() >= SAVE_EVERY {
                    self.save();
                }
            }
        }
        true
    }

    /// Re-stores one due entry's record in its real queue; true when it is done with (stored,
    /// found already delivered, or unrecoverable and logged).
    fn deliver(&mut self, e: &Entry) -> bool {
        let Some(record) = self.store.look_message_by_offset(e.offset) else {
            tracing::warn!(
                offset = e.offset,
                due_ms = e.due_ms,
                "timer message no longer in the commit log; dropped"
            );
            return true;
        };
        let view = match RecordView::parse(&record) {
            Ok(v) if v.topic == TIMER_TOPIC && record.len() == e.size as usize => v,
            _ => {
                tracing::error!(
                    offset = e.offset,
                    "timer bucket entry does not point at a timer record; dropped"
                );
                return true;
            }
        };
        if self.recalled(e, &view) {
            self.service.recalls.note_dropped();
            tracing::debug!(
                offset = e.offset,
                due_ms = e.due_ms,
                "recalled timer message dropped"
            );
            return true;
        }
        // Only a message due before this start can have been delivered before it. (Even after a
        // clean stop: a message filed with its due time already past can wait below others
        // that were delivered, so the frontier does not cover those.)
        if e.due_ms <= self.boot_ms && already_delivered(self.store, &view) {
            self.found_delivered += 1;
            return true;
        }
        deliver_now(self.store, &view)
    }

    /// True when the held message `view` (entry `e`) was recalled.
    fn recalled(&self, e: &Entry, view: &RecordView<'_>) -> bool {
        match (view.property(REAL_TOPIC), view.property(UNIQ_KEY)) {
            (Some(topic), Some(uniq)) => self.service.recalls.is_recalled(e.due_ms, topic, uniq),
            _ => false,
        }
    }

    /// Makes bucket appends and delivered copies durable, writes the checkpoint, then deletes
    /// the buckets that are past and fully delivered.
    fn save(&mut self) {
        if let Err(e) = self.files.sync() {
            tracing::error!(error = %e, "syncing timer bucket files failed; checkpoint not moved");
            return;
        }
        let store = self.store;
        if store.config().flush_disk_type == FlushDiskType::SyncFlush
            && store.commit_log_flushed_offset() < store.commit_log_max_offset()
        {
            if let Err(e) = store.flush() {
                tracing::error!(error = %e, "flushing delivered timer messages failed; checkpoint not moved");
                return;
            }
        }
        let (due, offset) = match self.pending.first() {
            Some(e) => (e.due_ms, e.offset),
            None => (self.horizon, i64::MIN),
        };
        let progress = TimerProgress {
            enqueue_offset: self.enqueue_offset,
            enqueue_physical_offset: self.enqueue_physical_offset,
            delivered_before_due_ms: due,
            delivered_before_offset: offset,
        };
        let saved = self
            .service
            .checkpoint
            .save(|| serde_json::to_vec_pretty(&progress).unwrap_or_default());
        if let Err(e) = saved {
            tracing::error!(error = %e, "saving the timer checkpoint failed");
            return;
        }
        self.changed = false;
        self.last_save = Instant::now();
        if self.skipped_at_boot + self.found_delivered > 0 {
            tracing::warn!(
                below_checkpoint = self.skipped_at_boot,
                found_in_index = self.found_delivered,
                "timer messages delivered before the last stop were not delivered again"
            );
            self.skipped_at_boot = 0;
            self.found_delivered = 0;
        }
        self.remove_finished();
    }

    /// True when the earliest loaded bucket is past and fully delivered (its file can go).
    fn finished_bucket(&self) -> bool {
        self.waiting
            .first_key_value()
            .is_some_and(|(b, n)| *n == 0 && b + BUCKET_MS <= now_millis())
    }

    fn remove_finished(&mut self) {
        let now = now_millis();
        let done: Vec<i64> = self
            .waiting
            .iter()
            .filter(|(b, n)| **n == 0 && **b + BUCKET_MS <= now)
            .map(|(b, _)| *b)
            .collect();
        for bucket in done {
            if let Err(e) = self.files.remove(bucket) {
                tracing::error!(bucket, error = %e, "deleting a delivered timer bucket failed");
                continue;
            }
            self.buckets.remove(&bucket);
            self.waiting.remove(&bucket);
            self.service.recalls.forget(bucket, bucket + BUCKET_MS);
        }
        if let Err(e) = self.files.sync() {
            tracing::error!(error = %e, "syncing the timer directory failed");
        }
    }
}

/// The due time the send path wrote; a record without one (not written by FerroMQ) is due at
/// its store time rather than never.
fn due_of(view: &RecordView<'_>) -> i64 {
    match view.property(TIMER_OUT_MS).and_then(|v| v.parse().ok()) {
        Some(due) => due,
        None => {
            tracing::warn!(
                offset = view.physical_offset,
                "timer record without a valid TIMER_OUT_MS; delivered at once"
            );
            view.store_timestamp
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use ferromq_proto::message::encode_properties;
    use ferromq_store::{MessageToStore, PutStatus, StoreConfig};

    use super::*;
    use crate::schedule::timer::{timer_for, TimerLimits};

    const REAL: &str = "tp_real";

    fn config(root: &std::path::Path) -> BrokerConfig {
        BrokerConfig {
            store_path_root_dir: root.to_owned(),
            ..BrokerConfig::default()
        }
    }

    fn open_store(root: &std::path::Path) -> Arc<MessageStore> {
        MessageStore::open(StoreConfig {
            store_path_root_dir: root.to_owned(),
            mapped_file_size_commit_log: 4 << 20,
            ..StoreConfig::default()
        })
        .unwrap()
    }

    /// Stores message `i` as the send path would, due `delay_ms` from now; returns the due time.
    fn hold(store: &MessageStore, i: usize, delay_ms: i64) -> i64 {
        let now = now_millis();
        let props = encode_properties(&[
            ("UNIQ_KEY", uniq(i)),
            ("TIMER_DELAY_MS", delay_ms.to_string()),
        ]);
        let limits = TimerLimits {
            enabled: true,
            max_delay_ms: 60_000,
        };
        let timed = timer_for(&props, REAL, 0, 0, limits, now).unwrap().unwrap();
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let body = format!("body-{i}");
        let r = store.put(MessageToStore {
            topic: TIMER_TOPIC,
            queue_id: 0,
            flag: 0,
            sys_flag: 0,
            born_timestamp: now,
            born_host: host,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: body.as_bytes(),
            properties: &timed.properties,
        });
        assert_eq!(r.status, PutStatus::PutOk);
        timed.due_ms
    }

    fn uniq(i: usize) -> String {
        format!("7F000001{i:024X}")
    }

    /// Stores the delete marker of message `i` due at `due`, as RECALL_MESSAGE does.
    fn store_marker(store: &MessageStore, i: usize, due: i64) {
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let props = encode_properties(&[
            ("TAGS", "_RECALL_TAG_".to_owned()),
            ("TIMER_DEL_UNIQKEY", format!("{REAL}+{}", uniq(i))),
            ("UNIQ_KEY", uniq(i)),
            ("TIMER_DELIVER_MS", (due + 1).to_string()),
            ("REAL_TOPIC", REAL.to_owned()),
            ("REAL_QID", "0".to_owned()),
            ("TIMER_OUT_MS", due.to_string()),
        ]);
        let r = store.put(MessageToStore {
            topic: TIMER_TOPIC,
            queue_id: 0,
            flag: 0,
            sys_flag: 0,
            born_timestamp: now_millis(),
            born_host: host,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: b"0",
            properties: &props,
        });
        assert_eq!(r.status, PutStatus::PutOk);
    }

    /// (uniq key, store time, due) of everything delivered to the real queue.
    fn delivered(store: &MessageStore) -> Vec<(String, i64, i64)> {
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let got = store.get_message(REAL, 0, offset, 32, None);
            if got.status != GetStatus::Found {
                return out;
            }
            for record in &got.messages {
                let v = RecordView::parse(record).unwrap();
                let due = v.property(TIMER_OUT_MS).unwrap().parse().unwrap();
                out.push((
                    v.property("UNIQ_KEY").unwrap().to_owned(),
                    v.store_timestamp,
                    due,
                ));
            }
            offset = got.next_begin_offset;
        }
    }

    /// A timer thread on `store`.
    struct Running {
        stop: CancellationToken,
        thread: std::thread::JoinHandle<()>,
        service: Arc<TimerService>,
    }

    fn start(root: &std::path::Path, store: &Arc<MessageStore>) -> Running {
        let service = Arc::new(TimerService::load(&config(root)).unwrap());
        let begin = service.start.lock().take().unwrap();
        let stop = CancellationToken::new();
        let (store, token) = (Arc::clone(store), stop.clone());
        let shared = Arc::clone(&service);
        let thread = std::thread::spawn(move || Wheel::new(&shared, &store, begin).run(&token));
        Running {
            stop,
            thread,
            service,
        }
    }

    impl Running {
        fn stop(self) {
            self.stop.cancel();
            self.thread.join().unwrap();
        }
    }

    fn wait_for(store: &MessageStore, want: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while delivered(store).len() < want && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Runs a timer thread until `want` messages are delivered (or 10 s) and for 300 ms more
    /// (time for a duplicate to show), then stops it.
    fn run_until(root: &std::path::Path, store: &Arc<MessageStore>, want: usize) {
        let running = start(root, store);
        wait_for(store, want);
        std::thread::sleep(Duration::from_millis(300));
        running.stop();
    }

    fn assert_once_and_not_early(store: &MessageStore, want: usize) {
        let got = delivered(store);
        let mut ids: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!((got.len(), ids.len()), (want, want), "{got:?}");
        assert!(got.iter().all(|(_, stored, due)| stored >= due), "{got:?}");
    }

    fn progress(root: &std::path::Path) -> TimerProgress {
        let bytes = std::fs::read(root.join("config/timerCheckpoint.json")).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn held_messages_arrive_at_their_due_ms_in_due_order_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        // Sent out of due order, two buckets apart at most.
        let delays = [400, 50, 250, 250, 120, 900, 10];
        for (i, d) in delays.iter().enumerate() {
            hold(&store, i, *d);
        }
        run_until(dir.path(), &store, delays.len());
        let got = delivered(&store);
        assert_eq!(got.len(), delays.len());
        for (uniq, stored, due) in &got {
            assert!(stored >= due, "{uniq} delivered at {stored}, due {due}");
        }
        let dues: Vec<i64> = got.iter().map(|g| g.2).collect();
        assert!(dues.windows(2).all(|w| w[0] <= w[1]), "{dues:?}");
        // Everything filed and delivered: the frontier is past every due time.
        let p = progress(dir.path());
        assert_eq!(p.enqueue_offset, delays.len() as i64);
        assert!(p.delivered_before_due_ms > *dues.last().unwrap());
        store.shutdown().unwrap();
    }

    #[test]
    fn restarts_deliver_nothing_twice_even_without_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        for i in 0..20 {
            hold(&store, i, 20 + i as i64 * 5);
        }
        let late = hold(&store, 99, 2_500);
        run_until(dir.path(), &store, 20);
        assert_eq!(delivered(&store).len(), 20);

        // Restart with the checkpoint: the delivered ones are below the frontier.
        run_until(dir.path(), &store, 21);
        // Restart with the checkpoint lost (as if killed before the first save): everything is
        // filed again and the overdue ones are found in the index.
        std::fs::remove_file(dir.path().join("config/timerCheckpoint.json")).unwrap();
        run_until(dir.path(), &store, 21);
        assert_once_and_not_early(&store, 21);
        assert!(delivered(&store).iter().any(|g| g.2 == late));
        store.shutdown().unwrap();
    }

    #[test]
    fn a_checkpoint_older_than_the_deliveries_delivers_nothing_twice() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        for i in 0..40 {
            hold(&store, i, 20 + i as i64 * 30);
        }
        let path = dir.path().join("config/timerCheckpoint.json");
        let running = start(dir.path(), &store);
        // A periodic checkpoint taken part-way, as a crash would leave it.
        wait_for(&store, 10);
        let deadline = Instant::now() + Duration::from_secs(5);
        let stale = loop {
            let p = std::fs::read(&path).ok();
            if let Some(bytes) = p.filter(|b| !b.is_empty()) {
                let saved: TimerProgress = serde_json::from_slice(&bytes).unwrap();
                if saved.enqueue_offset == 40 {
                    break bytes;
                }
            }
            assert!(Instant::now() < deadline, "no periodic checkpoint");
            std::thread::sleep(Duration::from_millis(5));
        };
        wait_for(&store, 40);
        running.stop();
        assert_ne!(std::fs::read(&path).unwrap(), stale);
        std::fs::write(&path, stale).unwrap();
        run_until(dir.path(), &store, 40);
        assert_once_and_not_early(&store, 40);
        store.shutdown().unwrap();
    }

    #[test]
    fn a_missing_bucket_directory_files_the_queue_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        hold(&store, 1, 10);
        hold(&store, 2, 2_000);
        run_until(dir.path(), &store, 1);
        assert_eq!(delivered(&store).len(), 1);
        std::fs::remove_dir_all(dir.path().join("timer")).unwrap();
        run_until(dir.path(), &store, 2);
        let got = delivered(&store);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_ne!(got[0].0, got[1].0);
        store.shutdown().unwrap();
    }

    #[test]
    fn recalled_messages_are_dropped_and_later_recalls_are_too_late() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        let dues: Vec<i64> = (0..10)
            .map(|i| hold(&store, i, 300 + i as i64 * 50))
            .collect();
        let running = start(dir.path(), &store);
        let recalls = running.service.recalls();
        for i in (1..10).step_by(2) {
            recalls
                .reserve(dues[i], &format!("{REAL}+{}", uniq(i)))
                .unwrap();
            store_marker(&store, i, dues[i]);
        }
        // A recall for the right message at the wrong due time, and one for another topic,
        // cancel nothing (Java matches the slot and the topic too).
        recalls
            .reserve(dues[0] + 7, &format!("{REAL}+{}", uniq(0)))
            .unwrap();
        recalls
            .reserve(dues[2], &format!("other+{}", uniq(2)))
            .unwrap();
        wait_for(&store, 5);
        std::thread::sleep(Duration::from_millis(600));
        let got: Vec<String> = delivered(&store).into_iter().map(|g| g.0).collect();
        let even: Vec<String> = (0..10).step_by(2).map(uniq).collect();
        assert_eq!(got, even);
        assert_eq!(recalls.dropped(), 5);
        // Delivered (or dropped): a recall now is refused, not answered.
        assert!(recalls
            .reserve(dues[0], &format!("{REAL}+{}", uniq(0)))
            .is_err());
        assert!(recalls
            .reserve(dues[9], &format!("{REAL}+{}", uniq(9)))
            .is_err());
        running.stop();
        store.shutdown().unwrap();
    }

    #[test]
    fn markers_stored_before_a_crash_are_filed_before_anything_is_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        let dues: Vec<i64> = (0..6).map(|i| hold(&store, i, 100)).collect();
        // A first run files the messages and saves its checkpoint, then stops before they are
        // due (as if killed then).
        assert!(store.wait_for_dispatch(Duration::from_secs(5)));
        {
            let service = TimerService::load(&config(dir.path())).unwrap();
            let begin = service.start.lock().take().unwrap();
            let mut wheel = Wheel::new(&service, &store, begin);
            assert!(!wheel.file_new());
            wheel.save();
        }
        assert_eq!(progress(dir.path()).enqueue_offset, 6);
        // More held records than one round files, then the recalls' markers: only a timer that
        // files everything left before delivering knows the markers in time.
        for i in 100..100 + MAX_FILED_PER_ROUND + 50 {
            hold(&store, i, 50_000);
        }
        for i in (1..6).step_by(2) {
            store_marker(&store, i, dues[i]);
        }
        // As at a broker start: the store has dispatched everything recovered.
        assert!(store.wait_for_dispatch(Duration::from_secs(5)));
        std::thread::sleep(Duration::from_millis(150));
        let running = start(dir.path(), &store);
        wait_for(&store, 3);
        std::thread::sleep(Duration::from_millis(300));
        let got: Vec<String> = delivered(&store).into_iter().map(|g| g.0).collect();
        assert_eq!(got, [uniq(0), uniq(2), uniq(4)]);
        assert_eq!(running.service.recalls().dropped(), 3);
        running.stop();
        // And again from the bucket files: the markers are read back when the bucket loads.
        std::fs::remove_file(dir.path().join("config/timerCheckpoint.json")).unwrap();
        run_until(dir.path(), &store, 4);
        let got: Vec<String> = delivered(&store).into_iter().map(|g| g.0).collect();
        assert_eq!(got, [uniq(0), uniq(2), uniq(4)]);
        store.shutdown().unwrap();
    }
}
