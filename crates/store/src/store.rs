//! [`MessageStore`]: opening (with recovery), putting, offsets, flushing and shutdown (Java
//! `DefaultMessageStore`). Reads live in `read.rs`.

use std::fs::{self, File, OpenOptions};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use ferromq_proto::message::{properties, write_offset_msg_id};
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use crate::checkpoint::Checkpoint;
use crate::commit_log::append::Appended;
use crate::commit_log::CommitLog;
use crate::consume_queue::ConsumeQueueTable;
use crate::index::IndexService;
use crate::mapped_file::try_lock_exclusive;
use crate::retention::DiskUsageSource;
use crate::segments::sync_dir;
use crate::stats::{StoreStats, StoreStatsSnapshot};
use crate::{
    dispatch, flush, preallocate, resident, retention, ArrivalListener, FlushDiskType,
    MessageToStore, PutResult, PutStatus, StoreConfig, StoreError,
};

/// State shared by the store handle and its background threads.
pub(crate) struct Shared {
    pub(crate) config: StoreConfig,
    /// Settings an admin may change while the store runs.
    pub(crate) tunables: crate::tunables::Tunables,
    pub(crate) commit_log: CommitLog,
    pub(crate) queues: ConsumeQueueTable,
    pub(crate) index: IndexService,
    /// Commit-log offset up to which records are dispatched into consume queues.
    pub(crate) reput_offset: AtomicI64,
    /// `reput_offset` as last published by the dispatcher, for puts that answer only once their
    /// records are visible (read-your-writes). Published once per dispatch round (and every
    /// [`dispatch::PUBLISH_EVERY`] records of a long one), not per record.
    pub(crate) dispatched_tx: watch::Sender<i64>,
    /// Held by whoever dispatches (the dispatch thread or a put dispatching inline): consume
    /// queues and the index keep a single writer.
    pub(crate) dispatch_lock: Mutex<()>,
    /// Delay of each level in ms, for the tags code of delayed messages.
    pub(crate) delay_levels: Vec<i64>,
    /// Data further than this behind the log head counts as "on disk" for pull limits.
    pub(crate) memory_budget: i64,
    pub(crate) stats: StoreStats,
    pub(crate) listener: RwLock<Option<Arc<dyn ArrivalListener>>>,
    /// Durable commit-log offset, for SYNC_FLUSH waiters.
    pub(crate) flushed_tx: watch::Sender<i64>,
    pub(crate) stopping: AtomicBool,
    /// Set after a failed flush: writes stop rather than pretend.
    pub(crate) write_failed: AtomicBool,
    /// Set by the retention service while disk usage is above `diskSpaceWarningLevelRatio`.
    pub(crate) disk_full: AtomicBool,
    /// Set while the store is a slave's replica: puts are refused, only a master's bytes are
    /// appended (`replica.rs`).
    pub(crate) replica: AtomicBool,
    /// Retention rounds left that delete expired files whatever the hour (admin request).
    pub(crate) manual_delete_rounds: AtomicU32,
    /// Where the retention service reads disk usage.
    pub(crate) disk_usage: RwLock<DiskUsageSource>,
    pub(crate) dispatcher: OnceLock<Thread>,
    /// True while the dispatch thread is parked with nothing to do; appends wake it only then,
    /// so a busy dispatcher costs no system call per message.
    pub(crate) dispatcher_idle: AtomicBool,
    pub(crate) flusher: OnceLock<Thread>,
    pub(crate) allocator: OnceLock<Thread>,
    pub(crate) cleaner: OnceLock<Thread>,
    pub(crate) last_checkpoint: Mutex<Checkpoint>,
    pub(crate) checkpoint_path: PathBuf,
    abort_path: PathBuf,
    _lock: File,
}

impl Shared {
    /// Wakes the dispatch thread if it is parked (see `dispatch::run` for the handshake).
    pub(crate) fn wake_dispatcher(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.dispatcher_idle.load(Ordering::SeqCst) {
            if let Some(t) = self.dispatcher.get() {
                t.unpark();
            }
        }
    }

    /// Stops writes after a disk error; logged once.
    pub(crate) fn fail_writes(&self, error: &StoreError) {
        if !self.write_failed.swap(true, Ordering::AcqRel) {
            tracing::error!(%error, "disk write failed; the store refuses further writes");
        }
    }
}

/// The storage engine: one commit log, consume queues derived from it by a dispatch thread,
/// flusher threads, recovery at open and a checkpoint at shutdown.
pub struct MessageStore {
    pub(crate) shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    shut_down: AtomicBool,
}

impl std::fmt::Debug for MessageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStore")
            .field("root", &self.shared.config.store_path_root_dir)
            .field("max_offset", &self.shared.commit_log.max_offset())
            .finish()
    }
}

fn total_memory() -> i64 {
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<i64>()
                .ok()
        })
        .map_or(8 << 30, |kb| kb * 1024)
}

/// How far behind the log head data still counts as in memory for the pull limits and the
/// slave suggestion (Java `checkInDiskByCommitOffset`): the `accessMessageInMemoryMaxRatio`
/// share of the machine's memory, and no further than the page-cache window
/// (`commitLogPageCacheMb`, 0 for none), behind which the log's pages are on disk only.
fn memory_budget(share: i64, window: usize) -> i64 {
    match window {
        0 => share,
        w => share.min(i64::try_from(w).unwrap_or(i64::MAX)),
    }
}

/// Takes the store directory's `lock` file (flock'd while the store is open), or
/// [`StoreError::Locked`] when another store holds it.
pub(crate) fn lock_root(root: &std::path::Path) -> Result<File, StoreError> {
    let lock_path = root.join("lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| StoreError::io("open", &lock_path, e))?;
    try_lock_exclusive(&lock).map_err(|_| StoreError::Locked {
        path: lock_path.clone(),
    })?;
    Ok(lock)
}

impl MessageStore {
    /// Opens (creating if needed) the store under `config.store_path_root_dir`, recovers the
    /// commit log and consume queues, and starts the background threads. A present `abort`
    /// marker means the last run crashed: recovery then re-checks everything after the
    /// checkpoint. Errors on unusable config, a locked directory or file-system failures.
    pub fn open(config: StoreConfig) -> Result<Arc<MessageStore>, StoreError> {
        config.validate()?;
        let root = config.store_path_root_dir.clone();
        fs::create_dir_all(&root).map_err(|e| StoreError::io("create directory", &root, e))?;
        let lock = lock_root(&root)?;

        let abort_path = root.join("abort");
        let crash = abort_path.exists();
        let checkpoint_path = root.join("checkpoint");
        let checkpoint = Checkpoint::load(&checkpoint_path)?;
        let started = Instant::now();

        let cached_share =
            total_memory() / 100 * i64::from(config.access_message_in_memory_max_ratio);
        let page_cache_window = match config.commit_log_page_cache_mb {
            Some(mb) => usize::try_from(mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
            None => usize::try_from(cached_share).unwrap_or(0),
        };
        let commit_log = CommitLog::open(
            &config.commit_log_dir(),
            config.mapped_file_size_commit_log,
            config.max_record_size(),
            page_cache_window,
        )?;
        let files = commit_log.segments().snapshot();
        let scan_from = match checkpoint {
            Some(c) => c.commit_log_flushed.min(c.dispatched),
            None if crash => i64::MIN,
            None => files
                .len()
                .checked_sub(3)
                .map_or(i64::MIN, |i| files[i].start()),
        };
        drop(files);
        let log = commit_log.recover(scan_from, crash, config.check_crc_on_recover)?;
        let log_min = commit_log.min_offset();

        let queues = ConsumeQueueTable::load(
            &config.consume_queue_dir(),
            config.consume_queue_file_size(),
        )?;
        let mut dropped_units = 0;
        for cq in queues.all() {
            let dropped = cq.recover(log_min, log.end)?;
            if dropped > 0 {
                tracing::warn!(
                    topic = cq.topic(),
                    queue_id = cq.queue_id(),
                    dropped,
                    log_end = log.end,
                    "dropped consume-queue units pointing past the recovered commit log"
                );
            }
            dropped_units += dropped;
        }
        let index = IndexService::load(
            &config.index_dir(),
            config.max_hash_slot_num,
            config.max_index_num,
        )?;
        let dropped_index_entries =
            index.truncate(log.end, |off| commit_log.store_timestamp_at(off))?;
        if dropped_index_entries > 0 {
            tracing::warn!(
                dropped = dropped_index_entries,
                log_end = log.end,
                "dropped index entries pointing past the recovered commit log"
            );
        }
        // Re-dispatch what the consume queues or the index may lack: past the checkpoint, and
        // from the last record the index holds (all of the log when it holds none).
        let mut reput_from = checkpoint.map_or(log_min, |c| c.dispatched.min(log.end));
        if config.message_index_enable {
            reput_from = reput_from.min(index.indexed_to());
        }
        let reput_from = reput_from.max(log_min);

        let shared = Arc::new(Shared {
            delay_levels: config.delay_levels_ms()?,
            memory_budget: memory_budget(cached_share, commit_log.page_cache_window()),
            tunables: crate::tunables::Tunables::new(&config),
            config,
            commit_log,
            queues,
            index,
            reput_offset: AtomicI64::new(reput_from),
            dispatched_tx: watch::Sender::new(reput_from),
            dispatch_lock: Mutex::new(()),
            stats: StoreStats::default(),
            listener: RwLock::new(None),
            flushed_tx: watch::Sender::new(0),
            stopping: AtomicBool::new(false),
            write_failed: AtomicBool::new(false),
            disk_full: AtomicBool::new(false),
            replica: AtomicBool::new(false),
            manual_delete_rounds: AtomicU32::new(0),
            disk_usage: RwLock::new(DiskUsageSource::FileSystem),
            dispatcher: OnceLock::new(),
            dispatcher_idle: AtomicBool::new(false),
            flusher: OnceLock::new(),
            allocator: OnceLock::new(),
            cleaner: OnceLock::new(),
            last_checkpoint: Mutex::new(checkpoint.unwrap_or_default()),
            checkpoint_path,
            abort_path,
            _lock: lock,
        });
        // Everything recovered goes to disk first: after a crash the scanned tail may only have
        // been in the page cache, and under SYNC_FLUSH dispatch waits for the flushed offset.
        flush::flush_commit_log(&shared)?;
        let redispatched = dispatch::dispatch_locked(&shared, false, Some(log.end));
        shared
            .commit_log
            .set_queue_offsets(shared.queues.max_offsets());
        // A checkpoint now, so a second crash does not repeat this work.
        flush::flush_consume_queues(&shared)?;
        let level = crash || log.torn.is_some() || dropped_units > 0;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        if level {
            tracing::warn!(
                crash,
                scanned_from = log.scanned_from,
                log_end = log.end,
                records_checked = log.records,
                torn_at = log.torn.as_ref().map(|t| t.0),
                torn_reason = log.torn.as_ref().map(|t| t.1.as_str()),
                cleared_bytes = log.cleared_bytes,
                removed_segments = log.removed_files,
                dropped_units,
                dropped_index_entries,
                redispatched,
                elapsed_ms,
                "store recovered after an abnormal stop"
            );
        } else {
            tracing::info!(
                log_end = log.end,
                records_checked = log.records,
                redispatched,
                elapsed_ms,
                "store recovered"
            );
        }

        File::create(&shared.abort_path)
            .map_err(|e| StoreError::io("create", &shared.abort_path, e))?;
        sync_dir(&root)?;

        let store = MessageStore {
            shared: Arc::clone(&shared),
            threads: Mutex::new(Vec::new()),
            shut_down: AtomicBool::new(false),
        };
        store.spawn("ferromq-reput", dispatch::run, |s, t| s.dispatcher.set(t))?;
        store.spawn("ferromq-flush-cl", flush::run_commit_log_flusher, |s, t| {
            s.flusher.set(t)
        })?;
        store.spawn(
            "ferromq-flush-cq",
            flush::run_consume_queue_flusher,
            |_, _| Ok(()),
        )?;
        if store.shared.config.preallocate_commit_log {
            store.spawn("ferromq-prealloc", preallocate::run, |s, t| {
                s.allocator.set(t)
            })?;
        }
        store.spawn("ferromq-clean", retention::run, |s, t| s.cleaner.set(t))?;
        if store.shared.config.mapped_resident_limit_mb > 0 {
            store.spawn("ferromq-resident", resident::run, |_, _| Ok(()))?;
        }
        Ok(Arc::new(store))
    }

    fn spawn(
        &self,
        name: &str,
        body: fn(Arc<Shared>),
        register: impl FnOnce(&Shared, Thread) -> Result<(), Thread>,
    ) -> Result<(), StoreError> {
        let shared = Arc::clone(&self.shared);
        let handle = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || body(shared))
            .map_err(|e| StoreError::io("spawn thread", name, e))?;
        // Registration happens once per store, so it cannot fail.
        let _ = register(&self.shared, handle.thread().clone());
        self.threads.lock().push(handle);
        Ok(())
    }

    /// The settings in force.
    pub fn config(&self) -> &StoreConfig {
        &self.shared.config
    }

    /// Delay of each level in ms (index 0 = level 1), from `messageDelayLevel`.
    pub fn delay_levels_ms(&self) -> &[i64] {
        &self.shared.delay_levels
    }

    /// Sets the callback the dispatch thread calls for every message that becomes visible in a
    /// consume queue (the broker wakes long-polling pulls with it). Replaces any previous one.
    pub fn set_arrival_listener(&self, listener: Arc<dyn ArrivalListener>) {
        *self.shared.listener.write() = Some(listener);
    }

    /// Appends one message without waiting for the disk (the record is in the page cache when
    /// this returns). Never blocks on I/O except when a new segment must be created.
    pub fn put(&self, msg: MessageToStore<'_>) -> PutResult {
        self.put_many(std::slice::from_ref(&msg)).0
    }

    /// Appends one message and answers once it is stored and visible: under SYNC_FLUSH (and
    /// unless its `WAIT` property is false) after the record is on disk, answering
    /// `FlushDiskTimeout` after `sync_flush_timeout_ms`; and in every mode after the dispatch
    /// has put it in its consume queue and the index (see [`Self::wait_visible`]).
    pub async fn put_message(&self, msg: MessageToStore<'_>) -> PutResult {
        let (result, end, wait) = self.put_many(std::slice::from_ref(&msg));
        self.finish(result, end, wait).await
    }

    /// Appends `msgs` under one lock hold, in order; messages of one queue get consecutive queue
    /// offsets. The result describes the first record, `size` sums all, `msg_id` joins the
    /// offsetMsgIds with `,`. Does not wait for the disk.
    pub fn put_batch(&self, msgs: &[MessageToStore<'_>]) -> PutResult {
        self.put_many(msgs).0
    }

    /// [`Self::put_batch`], then waits as [`Self::put_message`] does (for the disk when any
    /// message's `WAIT` property is not false).
    pub async fn put_messages(&self, msgs: &[MessageToStore<'_>]) -> PutResult {
        let (result, end, wait) = self.put_many(msgs);
        self.finish(result, end, wait).await
    }

    /// Read-your-writes: once a producer holds SEND_OK, the message must already be in
    /// GET_MAX_OFFSET, pulls, time searches and key queries of this broker. A stored record
    /// becomes visible only when the dispatch thread has written its consume-queue unit, so the
    /// put answers after the dispatcher's published offset has passed the record's end (the
    /// same watermark pattern as the group commit's flushed offset). Under SYNC_FLUSH a record
    /// is never visible before it is durable, so a flush timeout is answered without waiting
    /// here (the record becomes visible once the flush succeeds); `WAIT=false` under
    /// SYNC_FLUSH asks for no wait at all.
    async fn finish(&self, mut result: PutResult, end: i64, wait_flush: bool) -> PutResult {
        if result.status != PutStatus::PutOk {
            return result;
        }
        let timeout = Duration::from_millis(self.shared.config.sync_flush_timeout_ms);
        let sync_flush = self.shared.config.flush_disk_type == FlushDiskType::SyncFlush;
        if wait_flush {
            let mut rx = self.shared.flushed_tx.subscribe();
            let flushed = tokio::time::timeout(timeout, rx.wait_for(|&f| f >= end)).await;
            if !matches!(flushed, Ok(Ok(_))) {
                result.status = PutStatus::FlushDiskTimeout;
                return result;
            }
            if self.shared.reput_offset.load(Ordering::Acquire) < end {
                dispatch::dispatch_inline(&self.shared, (result.message_count == 1).then_some(end));
            }
        } else if sync_flush {
            return result;
        }
        if !self.wait_visible(end, timeout).await {
            tracing::warn!(
                end,
                dispatched = self.shared.reput_offset.load(Ordering::Acquire),
                "a stored message was not dispatched in time; answered before it is visible"
            );
        }
        result
    }

    /// Waits until everything before commit-log offset `end` is dispatched (in its consume
    /// queue and the index, and announced to the arrival listener). True at once when it
    /// already is; false after `timeout` or when the store stops first.
    pub async fn wait_visible(&self, end: i64, timeout: Duration) -> bool {
        if self.shared.reput_offset.load(Ordering::Acquire) >= end {
            return true;
        }
        let mut rx = self.shared.dispatched_tx.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|&d| d >= end)).await;
        matches!(reached, Ok(Ok(_)))
    }

    /// Appends and returns the result, the end offset of the last record and whether the caller
    /// must wait for a sync flush.
    fn put_many(&self, msgs: &[MessageToStore<'_>]) -> (PutResult, i64, bool) {
        let s = &*self.shared;
        let fail = |status| {
            StoreStats::add(&s.stats.put_failed, 1);
            (PutResult::failed(status), 0, false)
        };
        if self.refusal().is_some() {
            return fail(PutStatus::ServiceNotAvailable);
        }
        if msgs.is_empty() {
            return fail(PutStatus::MessageIllegal);
        }
        let max_body = s.config.max_message_size;
        let mut one = None;
        let mut many = Vec::new();
        let prepared = if msgs.len() == 1 {
            match s.commit_log.prepare(msgs[0], max_body) {
                Ok(p) => std::slice::from_ref(one.insert(p)),
                Err(status) => return fail(status),
            }
        } else {
            many.reserve_exact(msgs.len());
            for m in msgs {
                match s.commit_log.prepare(*m, max_body) {
                    Ok(p) => many.push(p),
                    Err(status) => return fail(status),
                }
            }
            &many[..]
        };

        let mut result = PutResult::failed(PutStatus::PutOk);
        // 32 hex characters per IPv4 id plus a comma: one allocation per put.
        result.msg_id.reserve(msgs.len() * 33);
        let mut end = 0;
        let started = Instant::now();
        let appended = s.commit_log.append(prepared, |a: Appended| {
            if result.message_count == 0 {
                result.physical_offset = a.physical_offset;
                result.queue_offset = a.queue_offset;
            } else {
                result.msg_id.push(',');
            }
            write_offset_msg_id(
                &mut result.msg_id,
                msgs[result.message_count as usize].store_host,
                a.physical_offset,
            );
            result.size += a.size as i32;
            result.store_timestamp = a.store_timestamp;
            result.message_count += 1;
            end = a.physical_offset + a.size as i64;
            result.end_offset = end;
        });
        let micros = started.elapsed().as_micros() as u64;
        s.stats
            .put_max_latency_us
            .fetch_max(micros, Ordering::Relaxed);
        if s.commit_log.take_rolled() {
            if let Some(t) = s.allocator.get() {
                t.unpark();
            }
        }
        if let Err(status) = appended {
            StoreStats::add(&s.stats.put_failed, 1);
            if result.message_count == 0 {
                return (PutResult::failed(status), 0, false);
            }
            result.status = status;
        }
        StoreStats::add(&s.stats.put_ok, u64::from(result.message_count));
        StoreStats::add(&s.stats.put_bytes, result.size as u64);
        let wait = s.config.flush_disk_type == FlushDiskType::SyncFlush
            && msgs.iter().any(|m| wants_wait(m.properties));
        if s.config.flush_disk_type == FlushDiskType::SyncFlush {
            if let Some(t) = s.flusher.get() {
                t.unpark();
            }
            // Nothing is dispatchable before the flush; the flusher wakes the dispatcher.
        } else {
            // A batch too: its put waits for its records to be visible anyway, so handing them to
            // the dispatch thread only adds two wake-ups (there and back) per request.
            let inline = result.message_count <= dispatch::INLINE_DISPATCH_MAX_RECORDS;
            dispatch::dispatch_inline(s, inline.then_some(end));
        }
        (result, end, wait)
    }

    /// How long (ms) the append in progress has held the commit-log lock; 0 when no append
    /// holds it. The broker's page-cache busy check (Java `isOSPageCacheBusy`) compares it with
    /// `osPageCacheBusyTimeOutMills`.
    pub fn append_lock_held_ms(&self) -> i64 {
        let begin = self.shared.commit_log.lock_begin_ms.load(Ordering::Acquire);
        if begin == 0 {
            return 0;
        }
        (ferromq_common::now_millis() - begin).max(0)
    }

    /// Why puts are refused right now (`PutStatus::ServiceNotAvailable`), or `None` while the
    /// store takes writes: shut down, a failed disk write, or a disk fuller than
    /// `diskSpaceWarningLevelRatio`.
    pub fn refusal(&self) -> Option<&'static str> {
        let s = &*self.shared;
        if s.stopping.load(Ordering::Acquire) {
            Some("the message store is shutting down")
        } else if s.write_failed.load(Ordering::Acquire) {
            Some("a disk write of the message store failed; it refuses writes until restarted")
        } else if s.replica.load(Ordering::Acquire) {
            Some("this store is a slave's replica: it takes only its master's commit log")
        } else if s.disk_full.load(Ordering::Acquire) {
            Some("the disk of the message store is full (usage above diskSpaceWarningLevelRatio); writes resume when space is freed")
        } else {
            None
        }
    }

    /// Next offset to be written in the queue (its message count, counting from 0); 0 when the
    /// queue does not exist.
    pub fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.shared
            .queues
            .get(topic, queue_id)
            .map_or(0, |cq| cq.max_offset())
    }

    /// First offset still readable in the queue; 0 when the queue does not exist.
    pub fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.shared
            .queues
            .get(topic, queue_id)
            .map_or(0, |cq| cq.min_offset())
    }

    /// Offset of the first byte kept in the commit log.
    pub fn commit_log_min_offset(&self) -> i64 {
        self.shared.commit_log.min_offset()
    }

    /// Offset just past the last record in the commit log.
    pub fn commit_log_max_offset(&self) -> i64 {
        self.shared.commit_log.max_offset()
    }

    /// Offset below which the commit log is on disk.
    pub fn commit_log_flushed_offset(&self) -> i64 {
        self.shared.commit_log.flushed_offset()
    }

    /// Bytes appended but not yet in the consume queues.
    pub fn dispatch_behind_bytes(&self) -> i64 {
        self.shared.commit_log.max_offset() - self.shared.reput_offset.load(Ordering::Acquire)
    }

    /// Waits (blocking, polling every millisecond) until everything appended so far is in the
    /// consume queues; false on timeout. For tests and admin tools, not for hot paths.
    pub fn wait_for_dispatch(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let target = self.shared.commit_log.max_offset();
        while self.shared.reput_offset.load(Ordering::Acquire) < target {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    /// Deletes the consume queues of `topics` and forgets their queue offsets (the commit-log
    /// records stay until retention removes them). Returns how many queues were removed.
    pub fn delete_topics(&self, topics: &[&str]) -> Result<usize, StoreError> {
        let mut removed = 0;
        for topic in topics {
            self.shared.commit_log.remove_queue_offsets(topic);
            removed += self.shared.queues.remove_topic(topic)?;
        }
        Ok(removed)
    }

    /// Flushes the commit log and the consume queues now.
    pub fn flush(&self) -> Result<(), StoreError> {
        flush::flush_commit_log(&self.shared)?;
        flush::flush_consume_queues(&self.shared)
    }

    /// Replaces where the retention service reads disk usage (the used share, 0.0-1.0, of the
    /// file system holding a path; `None` = unknown). For embedding programs and tests.
    pub fn set_disk_usage_source(&self, source: Arc<retention::DiskUsageFn>) {
        *self.shared.disk_usage.write() = retention::DiskUsageSource::Custom(source);
        if let Some(t) = self.shared.cleaner.get() {
            t.unpark();
        }
    }

    /// Measures disk usage now and updates the full-disk state (writes refused above
    /// `diskSpaceWarningLevelRatio`). Returns the usage, `None` when unknown.
    pub fn check_disk_now(&self) -> Option<f64> {
        retention::check_disk(&self.shared).ratio
    }

    /// RocketMQ's `executeDeleteFilesManually` (admin `deleteExpiredCommitLog`): the next 20
    /// retention rounds delete expired commit-log files whatever the hour; the first starts now.
    pub fn delete_expired_files_manually(&self) {
        self.shared
            .manual_delete_rounds
            .store(retention::MANUAL_DELETE_ROUNDS, Ordering::Release);
        if let Some(t) = self.shared.cleaner.get() {
            t.unpark();
        }
    }

    /// Runs one retention round now, on the calling thread, as if an admin had asked: expired
    /// commit-log files (all but the newest, when the disk is above
    /// `diskSpaceCleanForciblyRatio`) and the consume-queue and index files behind them.
    pub fn clean_expired_files_now(&self) -> Result<crate::RetentionReport, StoreError> {
        let done = retention::clean_round(&self.shared, true)?;
        Ok(crate::RetentionReport {
            commit_log_files: done.segments,
            consume_queue_files: done.queue_files,
            index_files: done.index_files,
        })
    }

    /// RocketMQ's `cleanExpiredConsumerQueue` (admin `cleanExpiredCQ`): deletes consume-queue
    /// and index files behind the commit log's first offset, and removes whole queues of topics
    /// `keep_topic` rejects when none of their messages is left (queues of kept topics keep
    /// their last file, so their offsets continue). Returns how many queues were removed.
    pub fn clean_expired_consume_queues(
        &self,
        keep_topic: &dyn Fn(&str) -> bool,
    ) -> Result<usize, StoreError> {
        retention::clean_derived(&self.shared)?;
        let log_min = self.shared.commit_log.min_offset();
        let mut gone = Vec::new();
        for cq in self.shared.queues.all() {
            let end = cq.max_physical_end();
            if end >= 0 && end <= log_min && !keep_topic(cq.topic()) {
                gone.push(cq.topic().to_owned());
            }
        }
        gone.sort();
        gone.dedup();
        let mut removed = 0;
        for topic in &gone {
            // Only when every queue of the topic is empty.
            let all_empty = self
                .shared
                .queues
                .all()
                .iter()
                .filter(|q| q.topic() == topic)
                .all(|q| q.max_physical_end() <= log_min);
            if all_empty {
                tracing::info!(
                    topic,
                    log_min,
                    "cleanExpiredConsumerQueue: topic's queues destroyed"
                );
                removed += self.delete_topics(&[topic])?;
            }
        }
        Ok(removed)
    }

    /// Counters and positions for GET_BROKER_RUNTIME_INFO.
    pub fn stats(&self) -> StoreStatsSnapshot {
        let s = &self.shared.stats;
        let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        StoreStatsSnapshot {
            put_message_times_total: get(&s.put_ok),
            put_message_size_total: get(&s.put_bytes),
            put_message_failed_times: get(&s.put_failed),
            put_message_entire_time_max_us: get(&s.put_max_latency_us),
            get_message_times_total_found: get(&s.get_found),
            get_message_times_total_miss: get(&s.get_miss),
            get_message_transferred_msg_count: get(&s.get_transferred),
            dispatch_message_count: get(&s.dispatched),
            commit_log_min_offset: self.commit_log_min_offset(),
            commit_log_max_offset: self.commit_log_max_offset(),
            commit_log_flushed_offset: self.commit_log_flushed_offset(),
            dispatch_behind_bytes: self.dispatch_behind_bytes(),
        }
    }

    fn stop_threads(&self) {
        self.shared.stopping.store(true, Ordering::Release);
        let handles: Vec<_> = self.threads.lock().drain(..).collect();
        for h in &handles {
            h.thread().unpark();
        }
        for h in handles {
            if h.join().is_err() {
                tracing::error!("a store thread panicked");
            }
        }
    }

    /// Stops writes and background threads (after dispatching everything appended), flushes
    /// the commit log and consume queues, writes the checkpoint and removes the `abort` marker.
    /// Idempotent.
    pub fn shutdown(&self) -> Result<(), StoreError> {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.stop_threads();
        // A segment prepared ahead of need is not part of the log.
        self.shared.commit_log.segments().discard_spare();
        // Commit log first: under SYNC_FLUSH the last records become dispatchable only then.
        flush::flush_commit_log(&self.shared)?;
        dispatch::dispatch_locked(&self.shared, false, None);
        flush::flush_consume_queues(&self.shared)?;
        let root = &self.shared.config.store_path_root_dir;
        match fs::remove_file(&self.shared.abort_path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("remove", &self.shared.abort_path, e)),
        }
        sync_dir(root)?;
        tracing::info!(max_offset = self.commit_log_max_offset(), "store shut down");
        Ok(())
    }
}

impl Drop for MessageStore {
    /// Without [`MessageStore::shutdown`], only stops the threads: no final flush, no checkpoint,
    /// the `abort` marker stays, so the next open recovers as after a crash.
    fn drop(&mut self) {
        if !self.shut_down.load(Ordering::Acquire) {
            self.stop_threads();
        }
    }
}

/// Java `isWaitStoreMsgOK`: true when `WAIT` is absent or `true` (any case).
fn wants_wait(props: &str) -> bool {
    properties::property_value(props, properties::WAIT)
        .is_none_or(|v| v.eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_property_follows_java_parse_boolean() {
        assert!(wants_wait(""));
        assert!(wants_wait("WAIT\u{1}TRUE\u{2}"));
        assert!(!wants_wait("WAIT\u{1}false\u{2}"));
        assert!(!wants_wait("WAIT\u{1}yes\u{2}"));
    }
}
