//! The slave's side: one task that connects to the master's HA address, says hello, appends
//! what it receives and reports its log end after every frame (and so at least every
//! heartbeat). It reconnects after any failure and whenever the master's address changes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferromq_store::MessageStore;
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::epoch::EpochCache;
use crate::protocol::{DataHeader, Hello, HelloReply, DATA_HEADER};
use crate::HaConfig;

/// Longest data frame a slave accepts (a record is at most a few MiB).
const MAX_FRAME: u32 = 256 << 20;
/// Pause before reconnecting after a failure or a refusal: from [`RETRY_MIN`], doubling up to
/// [`RETRY`] (a master that is still starting is reached at once; a refusal is not hammered).
const RETRY: Duration = Duration::from_secs(3);
const RETRY_MIN: Duration = Duration::from_millis(100);

/// What a slave reports about its replication.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaveStatus {
    /// The master's HA address in use.
    pub master_addr: Option<String>,
    /// True while a connection is accepted and streaming.
    pub connected: bool,
    /// The master's log end, as its last frame said.
    pub master_max: i64,
    /// Milliseconds since the last frame from the master (`None` before any).
    pub last_frame_ms_ago: Option<u64>,
    /// Why the last connection ended or was refused.
    pub last_error: Option<String>,
    /// Wall-clock ms of the last frame read and of the last ack written (0 before any).
    pub last_read_timestamp: i64,
    pub last_write_timestamp: i64,
    /// Bytes received per second, over the last second.
    pub bytes_per_second: u64,
    /// Set when the master said this log holds bytes it does not: the log must be cut back to
    /// this offset (with the store closed) before replication can go on.
    pub must_truncate_to: Option<i64>,
}

#[derive(Default)]
struct State {
    connected: bool,
    master_max: i64,
    last_frame: Option<Instant>,
    last_error: Option<String>,
    last_read_timestamp: i64,
    last_write_timestamp: i64,
    rate: crate::rate::Rate,
    must_truncate_to: Option<i64>,
}

/// A slave's replication client.
pub struct HaSlave {
    store: Arc<MessageStore>,
    config: HaConfig,
    epochs: Arc<EpochCache>,
    broker_id: i64,
    master: watch::Sender<Option<String>>,
    state: Mutex<State>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl std::fmt::Debug for HaSlave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaSlave")
            .field("master", &*self.master.borrow())
            .finish()
    }
}

impl HaSlave {
    /// Puts `store` in replica mode and starts following the master at `master` (an HA
    /// address, `host:port`), or waits for [`Self::set_master`] when `None`.
    pub fn start(
        store: Arc<MessageStore>,
        config: HaConfig,
        epochs: Arc<EpochCache>,
        broker_id: i64,
        master: Option<String>,
    ) -> Arc<HaSlave> {
        store.set_replica(true);
        let slave = Arc::new(HaSlave {
            store,
            config,
            epochs,
            broker_id,
            master: watch::Sender::new(master),
            state: Mutex::new(State::default()),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        });
        let s = Arc::clone(&slave);
        slave.tasks.spawn(async move { s.run().await });
        slave
    }

    /// Follows a new master HA address (from the name server's answer to a registration, or
    /// `haMasterAddress`); `None` stops following until one is known. A change reconnects.
    pub fn set_master(&self, addr: Option<String>) {
        self.master.send_if_modified(|m| {
            let changed = *m != addr;
            if changed {
                tracing::info!(old = ?m, new = ?addr, "HA master address changed");
                *m = addr;
            }
            changed
        });
    }

    /// True while connected and a frame (data or heartbeat) came within `within`: the master
    /// is alive. Cheap (no allocation), for every pull a slave serves.
    pub fn streaming(&self, within: Duration) -> bool {
        let st = self.state.lock();
        st.connected && st.last_frame.is_some_and(|t| t.elapsed() < within)
    }

    /// The master address and connection state.
    pub fn status(&self) -> SlaveStatus {
        let mut st = self.state.lock();
        SlaveStatus {
            master_addr: self.master.borrow().clone(),
            connected: st.connected,
            master_max: st.master_max,
            last_frame_ms_ago: st.last_frame.map(|t| t.elapsed().as_millis() as u64),
            last_error: st.last_error.clone(),
            last_read_timestamp: st.last_read_timestamp,
            last_write_timestamp: st.last_write_timestamp,
            bytes_per_second: st.rate.per_second(),
            must_truncate_to: st.must_truncate_to,
        }
    }

    /// Stops following and waits for the task. The store stays in replica mode.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }

    async fn run(self: Arc<Self>) {
        let mut master = self.master.subscribe();
        let mut last_logged: Option<String> = None;
        let mut ever_connected = false;
        let mut failures = 0u32;
        loop {
            let addr = master.borrow_and_update().clone();
            let Some(addr) = addr else {
                tokio::select! {
                    _ = self.shutdown.cancelled() => return,
                    r = master.changed() => if r.is_err() { return },
                }
                continue;
            };
            let outcome = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = master.changed() => Err("the master address changed".to_owned()),
                r = self.follow(&addr) => r,
            };
            {
                let mut st = self.state.lock();
                ever_connected |= st.last_frame.is_some();
                if st.connected {
                    // It streamed for a while: retry quickly again.
                    failures = 0;
                }
                st.connected = false;
                if let Err(e) = &outcome {
                    st.last_error = Some(e.clone());
                }
            }
            if let Err(e) = outcome {
                // A refusal repeats every few seconds: say it once until it changes. Before the
                // first connection, an unreachable master is usually one still starting.
                if last_logged.as_deref() != Some(e.as_str()) {
                    if ever_connected || failures >= 3 {
                        tracing::warn!(
                            master = addr,
                            reason = e,
                            "replication from the master stopped; retrying"
                        );
                    } else {
                        tracing::info!(
                            master = addr,
                            reason = e,
                            "master not reachable yet; retrying"
                        );
                    }
                    last_logged = Some(e);
                }
                failures += 1;
            }
            let pause = RETRY_MIN.saturating_mul(1 << failures.min(5)).min(RETRY);
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
                _ = master.changed() => {}
            }
        }
    }

    /// One connection: hello, then frames until something fails.
    async fn follow(&self, addr: &str) -> Result<(), String> {
        let mut stream = tokio::time::timeout(Duration::from_secs(3), TcpStream::connect(addr))
            .await
            .map_err(|_| format!("connecting to {addr} timed out"))?
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let hello = Hello {
            broker_name: self.config.broker_name.clone(),
            broker_id: self.broker_id,
            segment_size: self.store.config().mapped_file_size_commit_log as i64,
            max_offset: self.store.commit_log_max_offset(),
            min_offset: self.store.commit_log_min_offset(),
            epochs: self.epochs.held(self.store.commit_log_max_offset()),
        };
        let mut out = BytesMut::new();
        hello.encode(&mut out);
        stream
            .write_all(&out)
            .await
            .map_err(|e| format!("write failed: {e}"))?;
        let mut buf = BytesMut::with_capacity(256);
        let reply = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some((r, used)) = HelloReply::decode(&buf).map_err(|e| e.to_string())? {
                    let _ = buf.split_to(used);
                    return Ok::<_, String>(r);
                }
                if stream.read_buf(&mut buf).await.map_err(|e| e.to_string())? == 0 {
                    return Err(format!(
                        "{addr} closed the connection without answering (is it a FerroMQ master's HA port?)"
                    ));
                }
            }
        })
        .await
        .map_err(|_| format!("{addr} did not answer the hello in time"))??;
        let start = match reply {
            HelloReply::Refused { reason } => return Err(format!("the master refused: {reason}")),
            HelloReply::Accepted {
                start_offset,
                truncate: true,
                ..
            } => {
                self.state.lock().must_truncate_to = Some(start_offset);
                return Err(format!(
                    "this log holds bytes past {start_offset} that the master does not (written under an older master); it must be cut back there before replication goes on"
                ));
            }
            HelloReply::Accepted {
                start_offset,
                master_max,
                epochs,
                ..
            } => {
                if !epochs.is_empty() {
                    self.epochs
                        .replace(epochs)
                        .map_err(|e| format!("cannot keep the master's epochs: {e}"))?;
                }
                let mut st = self.state.lock();
                st.connected = true;
                st.master_max = master_max;
                st.last_error = None;
                start_offset
            }
        };
        tracing::info!(
            master = addr,
            start,
            local_max = hello.max_offset,
            "replicating from the master"
        );
        let mut data = Vec::new();
        let mut head = [0u8; DATA_HEADER];
        // Bytes already read past the reply belong to the first frame.
        let mut pending = buf;
        loop {
            read_exact_from(
                &mut pending,
                &mut stream,
                &mut head,
                self.config.housekeeping_interval,
            )
            .await?;
            let h = DataHeader::decode(&head);
            if h.len > MAX_FRAME {
                return Err(format!("a frame of {} bytes from the master", h.len));
            }
            data.resize(h.len as usize, 0);
            read_exact_from(
                &mut pending,
                &mut stream,
                &mut data,
                self.config.housekeeping_interval,
            )
            .await?;
            let end = if h.len > 0 {
                self.store
                    .append_replicated(h.offset, &data)
                    .map_err(|e| format!("cannot append the master's bytes: {e}"))?
            } else {
                self.store.commit_log_max_offset()
            };
            {
                let mut st = self.state.lock();
                st.master_max = h.master_max;
                st.last_frame = Some(Instant::now());
                st.last_read_timestamp = now_ms();
                st.rate.add(u64::from(h.len));
            }
            stream
                .write_all(&end.to_be_bytes())
                .await
                .map_err(|e| format!("write failed: {e}"))?;
            self.state.lock().last_write_timestamp = now_ms();
        }
    }
}

/// Fills `dst` from what `pending` holds, then from the socket; fails after `timeout` of silence.
async fn read_exact_from(
    pending: &mut BytesMut,
    stream: &mut TcpStream,
    dst: &mut [u8],
    timeout: Duration,
) -> Result<(), String> {
    let from_pending = pending.len().min(dst.len());
    dst[..from_pending].copy_from_slice(&pending.split_to(from_pending));
    if from_pending == dst.len() {
        return Ok(());
    }
    match tokio::time::timeout(timeout, stream.read_exact(&mut dst[from_pending..])).await {
        Err(_) => Err(format!(
            "nothing from the master for {} ms (haHousekeepingInterval)",
            timeout.as_millis()
        )),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err("the master closed the connection".to_owned())
        }
        Ok(Err(e)) => Err(format!("read failed: {e}")),
        Ok(Ok(_)) => Ok(()),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
