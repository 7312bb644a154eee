//! The master's side: a listener on `haListenPort`, one task pair per slave (a writer shipping
//! the log, a reader taking acks), and the acked offset a SYNC_MASTER waits for.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferromq_store::MessageStore;
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::epoch::{agreement, EpochCache};
use crate::protocol::{DataHeader, Hello, HelloReply, ACK};
use crate::HaConfig;

/// How long a connecting slave has to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected slave as the master sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaveInfo {
    pub addr: SocketAddr,
    pub broker_id: i64,
    /// End of the slave's log, as it last reported.
    pub acked: i64,
    /// Milliseconds since the slave's last ack.
    pub last_ack_ms_ago: u64,
    /// Where shipping to this slave started.
    pub transfer_from: i64,
    /// Bytes shipped per second, over the last second.
    pub bytes_per_second: u64,
}

/// What a SYNC_MASTER learns after waiting for its slaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaveWait {
    /// A slave holds the bytes.
    Replicated,
    /// No slave confirmed in time (FLUSH_SLAVE_TIMEOUT).
    Timeout,
    /// No slave connected, or the nearest is more than `haMaxGapNotInSync` behind
    /// (SLAVE_NOT_AVAILABLE).
    NotAvailable,
}

struct Slave {
    addr: SocketAddr,
    broker_id: i64,
    acked: i64,
    last_ack: Instant,
    transfer_from: i64,
    rate: crate::rate::Rate,
}

/// The master's HA service.
pub struct HaMaster {
    store: Arc<MessageStore>,
    config: HaConfig,
    epochs: Arc<EpochCache>,
    /// Controller mode with `allAckInSyncStateSet`: the slaves (broker ids) that must all hold a
    /// message before a SYNC send is answered; `None`: any one slave is enough.
    must_ack: Mutex<Option<Vec<i64>>>,
    /// Bumped on every ack and every connection change, for waits on several slaves.
    changes: watch::Sender<u64>,
    local_addr: SocketAddr,
    slaves: Mutex<BTreeMap<u64, Slave>>,
    next_id: AtomicU64,
    /// Furthest log end any connected slave acknowledged.
    acked: watch::Sender<i64>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl std::fmt::Debug for HaMaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaMaster")
            .field("local_addr", &self.local_addr)
            .field("slaves", &self.slaves.lock().len())
            .finish()
    }
}

impl HaMaster {
    /// Binds `bind` and starts accepting slaves.
    pub async fn start(
        store: Arc<MessageStore>,
        config: HaConfig,
        epochs: Arc<EpochCache>,
        bind: SocketAddr,
    ) -> std::io::Result<Arc<HaMaster>> {
        let listener = TcpListener::bind(bind).await?;
        let local_addr = listener.local_addr()?;
        let master = Arc::new(HaMaster {
            store,
            config,
            epochs,
            must_ack: Mutex::new(None),
            changes: watch::Sender::new(0),
            local_addr,
            slaves: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            acked: watch::Sender::new(0),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        });
        let m = Arc::clone(&master);
        master
            .tasks
            .spawn(async move { m.accept_loop(listener).await });
        tracing::info!(addr = %local_addr, "HA service listening for slaves");
        Ok(master)
    }

    /// The address the HA listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Connected slaves.
    pub fn slaves(&self) -> Vec<SlaveInfo> {
        self.slaves
            .lock()
            .values_mut()
            .map(|s| SlaveInfo {
                addr: s.addr,
                broker_id: s.broker_id,
                acked: s.acked,
                last_ack_ms_ago: s.last_ack.elapsed().as_millis() as u64,
                transfer_from: s.transfer_from,
                bytes_per_second: s.rate.per_second(),
            })
            .collect()
    }

    /// Furthest log end a connected slave acknowledged (0 with none).
    pub fn acked_offset(&self) -> i64 {
        *self.acked.borrow()
    }

    /// Slaves within `haMaxGapNotInSync` of `master_end`.
    pub fn in_sync_slaves(&self, master_end: i64) -> usize {
        self.slaves
            .lock()
            .values()
            .filter(|s| master_end - s.acked < self.config.max_gap_not_in_sync)
            .count()
    }

    /// `haMaxGapNotInSync` in force.
    pub fn max_gap_not_in_sync(&self) -> i64 {
        self.config.max_gap_not_in_sync
    }

    /// Java `isSlaveOK`: a slave is connected and at most `haMaxGapNotInSync` behind.
    pub fn is_slave_ok(&self, master_end: i64) -> bool {
        !self.slaves.lock().is_empty()
            && master_end - self.acked_offset() < self.config.max_gap_not_in_sync
    }

    /// Waits until a slave holds everything before `end` (group-commit style: every waiter
    /// watches the one acked offset), at most `timeout`.
    pub async fn wait_for_slaves(&self, end: i64, timeout: Duration) -> SlaveWait {
        let must = self.must_ack.lock().clone();
        if let Some(ids) = must {
            return self.wait_for_all(&ids, end, timeout).await;
        }
        if !self.is_slave_ok(end) {
            return SlaveWait::NotAvailable;
        }
        let mut rx = self.acked.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|&a| a >= end)).await;
        if matches!(reached, Ok(Ok(_))) {
            SlaveWait::Replicated
        } else {
            SlaveWait::Timeout
        }
    }

    /// Controller mode with `allAckInSyncStateSet`: a SYNC send waits for every slave in `ids`
    /// (the in-sync replicas other than this master); `None` goes back to any one slave.
    pub fn require_acks_from(&self, ids: Option<Vec<i64>>) {
        *self.must_ack.lock() = ids;
        self.changes.send_modify(|v| *v += 1);
    }

    /// Slaves that hold everything up to `end` now (candidates to join the sync-state set).
    pub fn caught_up(&self, end: i64) -> Vec<i64> {
        self.slaves
            .lock()
            .values()
            .filter(|s| s.acked >= end)
            .map(|s| s.broker_id)
            .collect()
    }

    async fn wait_for_all(&self, ids: &[i64], end: i64, timeout: Duration) -> SlaveWait {
        let holds = |ids: &[i64]| {
            let slaves = self.slaves.lock();
            ids.iter().all(|id| {
                slaves
                    .values()
                    .any(|s| s.broker_id == *id && s.acked >= end)
            })
        };
        let mut rx = self.changes.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            loop {
                if holds(ids) {
                    return true;
                }
                if rx.changed().await.is_err() {
                    return false;
                }
            }
        })
        .await;
        if matches!(waited, Ok(true)) {
            SlaveWait::Replicated
        } else {
            SlaveWait::Timeout
        }
    }

    /// Closes the listener and every slave connection, and waits for their tasks.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }

    async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        loop {
            let accepted = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                a = listener.accept() => a,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let m = Arc::clone(&self);
                    self.tasks.spawn(async move { m.serve(stream, peer).await });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "HA accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// Where to start shipping to a slave that says `hello` and whether it must first cut its
    /// log back to there, or why not.
    fn start_offset(&self, hello: &Hello) -> Result<(i64, bool), String> {
        let store = &*self.store;
        if store.is_replica() {
            return Err(
                "this broker is a slave, not a master: point the slave at its master".into(),
            );
        }
        if hello.broker_name != self.config.broker_name {
            return Err(format!(
                "brokerName mismatch: this master is `{}`, the slave says `{}`",
                self.config.broker_name, hello.broker_name
            ));
        }
        if hello.broker_id <= 0 {
            return Err(format!(
                "the slave has brokerId {}; slaves need a brokerId above 0",
                hello.broker_id
            ));
        }
        let seg = store.config().mapped_file_size_commit_log as i64;
        if hello.segment_size != seg {
            return Err(format!(
                "mappedFileSizeCommitLog differs: master {seg}, slave {}; both must cut the log at the same offsets",
                hello.segment_size
            ));
        }
        let (min, max) = (store.commit_log_min_offset(), store.commit_log_max_offset());
        let master_epochs = self.epochs.held(max);
        if !hello.epochs.is_empty() && !master_epochs.is_empty() && hello.max_offset > 0 {
            // Controller mode: the logs agree up to where the slave's last shared epoch ended.
            let Some(point) = agreement(&hello.epochs, hello.max_offset, &master_epochs, max)
            else {
                return Err(format!(
                    "the slave's log shares no epoch with this master's ({:?} against {:?}); move its store aside to copy the master afresh",
                    hello.epochs.last(),
                    master_epochs.first()
                ));
            };
            if point < min {
                return Err(format!(
                    "the slave's log agrees with this master's only up to {point}, before the master's first kept byte {min}; move its store aside to copy the master afresh"
                ));
            }
            if point < max {
                if let Err(e) = store.read_for_replica(point, 1) {
                    return Err(format!(
                        "the point where the slave's log agrees with the master's ({point}) is not a record boundary of the master's log: {e}"
                    ));
                }
            }
            return Ok((point, point < hello.max_offset));
        }
        if hello.max_offset > max {
            return Err(format!(
                "the slave's commit log ends at {}, past this master's end {max}: it holds data the master does not (was it a master before?); move its store aside to copy the master afresh",
                hello.max_offset
            ));
        }
        if hello.max_offset == 0 || hello.max_offset == hello.min_offset {
            // An empty slave copies everything the master keeps.
            return Ok((
                if hello.max_offset == 0 {
                    min
                } else {
                    hello.max_offset.max(min)
                },
                false,
            ));
        }
        if hello.max_offset < min {
            return Err(format!(
                "the slave's commit log ends at {}, before this master's first kept byte {min} (deleted by retention); move the slave's store aside to copy the master afresh",
                hello.max_offset
            ));
        }
        match store.read_for_replica(hello.max_offset, 1) {
            Ok(_) => Ok((hello.max_offset, false)),
            Err(e) => Err(format!(
                "the slave's commit-log end does not match this master's log: {e}"
            )),
        }
    }

    async fn serve(self: Arc<Self>, mut stream: TcpStream, peer: SocketAddr) {
        let mut buf = BytesMut::with_capacity(512);
        let hello = tokio::time::timeout(HELLO_TIMEOUT, async {
            loop {
                match Hello::decode(&buf) {
                    Ok(Some((h, _))) => return Ok(h),
                    Ok(None) => {}
                    Err(e) => return Err(e.to_string()),
                }
                if buf.len() > 64 * 1024 {
                    return Err("hello too long".to_owned());
                }
                match stream.read_buf(&mut buf).await {
                    Ok(0) => return Err("closed before its hello".to_owned()),
                    Ok(_) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        })
        .await;
        let hello = match hello {
            Ok(Ok(h)) => h,
            Ok(Err(reason)) => {
                tracing::warn!(%peer, reason, "HA connection refused");
                return;
            }
            Err(_) => {
                tracing::warn!(%peer, "HA connection sent no hello in time; closed");
                return;
            }
        };
        let decision = self.start_offset(&hello);
        let mut out = BytesMut::new();
        let start = match &decision {
            Ok((start, truncate)) => {
                HelloReply::Accepted {
                    start_offset: *start,
                    master_max: self.store.commit_log_max_offset(),
                    truncate: *truncate,
                    epochs: self.epochs.held(self.store.commit_log_max_offset()),
                }
                .encode(&mut out);
                if *truncate {
                    tracing::warn!(%peer, broker_id = hello.broker_id, slave_max = hello.max_offset, cut_to = start, "the slave holds bytes this master does not; it must cut its log back");
                    let _ = stream.write_all(&out).await;
                    return;
                }
                *start
            }
            Err(reason) => {
                tracing::warn!(%peer, broker_name = hello.broker_name, broker_id = hello.broker_id, slave_max = hello.max_offset, reason, "slave refused");
                HelloReply::Refused {
                    reason: reason.clone(),
                }
                .encode(&mut out);
                let _ = stream.write_all(&out).await;
                return;
            }
        };
        if stream.write_all(&out).await.is_err() {
            return;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.slaves.lock().insert(
            id,
            Slave {
                addr: peer,
                broker_id: hello.broker_id,
                acked: hello.max_offset,
                last_ack: Instant::now(),
                transfer_from: start,
                rate: crate::rate::Rate::default(),
            },
        );
        tracing::info!(%peer, broker_id = hello.broker_id, slave_max = hello.max_offset, start, "slave connected");
        let (reader, writer) = stream.into_split();
        let reason = tokio::select! {
            r = self.ship(writer, start, id) => r,
            r = self.take_acks(reader, id) => r,
            _ = self.shutdown.cancelled() => "the master is stopping".to_owned(),
        };
        self.slaves.lock().remove(&id);
        self.recompute_acked();
        self.changes.send_modify(|v| *v += 1);
        tracing::warn!(%peer, broker_id = hello.broker_id, reason, "slave disconnected");
    }

    /// Ships the log from `next` for as long as the connection lives.
    async fn ship(
        &self,
        writer: tokio::net::tcp::OwnedWriteHalf,
        mut next: i64,
        id: u64,
    ) -> String {
        let mut w = BufWriter::with_capacity(64 * 1024, writer);
        let mut dispatched = self.store.watch_dispatched();
        let mut header = BytesMut::with_capacity(crate::protocol::DATA_HEADER);
        let mut last_sent = Instant::now();
        loop {
            match self
                .store
                .read_for_replica(next, self.config.transfer_batch_size)
            {
                Ok(Some(bytes)) => {
                    header.clear();
                    DataHeader {
                        offset: next,
                        len: bytes.len() as u32,
                        master_max: self.store.commit_log_max_offset(),
                    }
                    .encode(&mut header);
                    if let Err(e) = write_frame(&mut w, &header, &bytes).await {
                        return format!("write failed: {e}");
                    }
                    next += bytes.len() as i64;
                    last_sent = Instant::now();
                    if let Some(s) = self.slaves.lock().get_mut(&id) {
                        s.rate.add(bytes.len() as u64);
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => return format!("cannot read the log for the slave: {e}"),
            }
            if let Err(e) = w.flush().await {
                return format!("write failed: {e}");
            }
            let idle = self
                .config
                .heartbeat_interval
                .saturating_sub(last_sent.elapsed());
            dispatched.mark_unchanged();
            if self.store.commit_log_max_offset() > next {
                continue;
            }
            tokio::select! {
                changed = dispatched.changed() => {
                    if changed.is_err() {
                        return "the store closed".to_owned();
                    }
                }
                _ = tokio::time::sleep(idle) => {
                    header.clear();
                    DataHeader { offset: next, len: 0, master_max: self.store.commit_log_max_offset() }
                        .encode(&mut header);
                    if let Err(e) = write_frame(&mut w, &header, &[]).await {
                        return format!("write failed: {e}");
                    }
                    if let Err(e) = w.flush().await {
                        return format!("write failed: {e}");
                    }
                    last_sent = Instant::now();
                }
            }
        }
    }

    /// Reads the slave's acks until it goes quiet for `haHousekeepingInterval` or closes.
    async fn take_acks(&self, mut reader: tokio::net::tcp::OwnedReadHalf, id: u64) -> String {
        let mut ack = [0u8; ACK];
        loop {
            match tokio::time::timeout(
                self.config.housekeeping_interval,
                reader.read_exact(&mut ack),
            )
            .await
            {
                Err(_) => {
                    return format!(
                        "no report from the slave for {} ms (haHousekeepingInterval)",
                        self.config.housekeeping_interval.as_millis()
                    )
                }
                Ok(Err(e)) => return format!("read failed: {e}"),
                Ok(Ok(_)) => {}
            }
            let offset = i64::from_be_bytes(ack);
            if let Some(s) = self.slaves.lock().get_mut(&id) {
                s.acked = s.acked.max(offset);
                s.last_ack = Instant::now();
            }
            self.acked.send_if_modified(|a| {
                let moved = offset > *a;
                if moved {
                    *a = offset;
                }
                moved
            });
            self.changes.send_modify(|v| *v += 1);
        }
    }

    fn recompute_acked(&self) {
        let max = self
            .slaves
            .lock()
            .values()
            .map(|s| s.acked)
            .max()
            .unwrap_or(0);
        self.acked.send_replace(max);
    }
}

async fn write_frame(
    w: &mut BufWriter<tokio::net::tcp::OwnedWriteHalf>,
    header: &[u8],
    body: &[u8],
) -> std::io::Result<()> {
    w.write_all(header).await?;
    w.write_all(body).await
}
