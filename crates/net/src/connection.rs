//! One remoting connection: a reader task, a writer task, and a table of outstanding calls.

use std::collections::HashMap;
use std::future::Future;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use ferromq_proto::command::DEFAULT_MAX_FRAME;
use ferromq_proto::RemotingCommand;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::stats::{PauseReason, COPY_STATS, FLOW_STATS};
use crate::tls::MaybeTlsStream;
use crate::NetError;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Serves the requests that arrive on a connection.
pub trait Handler: Send + Sync + 'static {
    /// Handles one request. Returns the response, or `None` for none (one-way requests never get
    /// one whatever is returned).
    fn handle(
        &self,
        conn: ConnectionHandle,
        request: RemotingCommand,
    ) -> BoxFuture<'static, Option<RemotingCommand>>;

    /// Called once when the connection has closed.
    fn on_close(&self, _conn: &ConnectionHandle) {}

    /// True when the future [`Handler::handle`] returns for `request` is cheap to poll once on
    /// the connection's reader (a few microseconds of work, no blocking). Such requests are
    /// answered without a task of their own when that first poll completes them, which saves
    /// a spawn and a cross-thread wake per request; a future that is not done by then is
    /// spawned as usual. Defaults to false: every request gets its own task.
    fn poll_inline(&self, _request: &RemotingCommand) -> bool {
        false
    }

    /// True for requests an ordinary client never pipelines: administration and metadata
    /// (topic and group listings, configs, statistics, queries). A connection keeps at most
    /// [`ConnectionConfig::max_admin_in_flight`] of them in progress or unwritten, so a peer
    /// that sends them without reading the answers gets a handful computed, not
    /// [`ConnectionConfig::max_in_flight`] (whose budget the data path keeps). Defaults to
    /// false: every request counts once against `max_in_flight`.
    fn is_admin(&self, _request: &RemotingCommand) -> bool {
        false
    }
}

/// Limits of one connection.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Largest frame accepted, counting its length field.
    pub max_frame: usize,
    /// Largest header accepted (the bytes between the type word and the body).
    pub max_header: usize,
    /// Requests of one connection in progress or with a response not yet written to the
    /// socket. At the bound the reader stops reading, so a peer that sends without reading
    /// its responses is held back by TCP instead of growing the write queue.
    pub max_in_flight: usize,
    /// Requests [`Handler::is_admin`] marks as administration that one connection keeps in
    /// progress or unwritten (within `max_in_flight`). An operator's tool sends one at a time;
    /// the bound stops a peer that pipelines expensive listings without reading the answers
    /// from having hundreds of them computed.
    pub max_admin_in_flight: usize,
    /// Bytes of answers (and other commands) queued on a connection but not yet written to
    /// its socket. Above the bound the reader stops serving the connection's requests until
    /// the writer has drained below it, so a peer that asks for large answers (pulls) and
    /// reads them slowly pins at most this much memory (plus one answer per slot in flight).
    pub max_in_flight_bytes: usize,
    /// Connections [`crate::serve`] keeps at once; one more is closed on accept.
    pub max_connections: usize,
    /// Close after this long without any traffic; `None` keeps idle connections.
    pub idle_timeout: Option<Duration>,
    /// TLS of a server's accepted connections (`tls.server.mode`); unused by clients.
    pub tls: crate::tls::TlsServer,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            max_frame: DEFAULT_MAX_FRAME,
            max_header: DEFAULT_MAX_FRAME,
            max_in_flight: 256,
            max_admin_in_flight: DEFAULT_MAX_ADMIN_IN_FLIGHT,
            max_in_flight_bytes: DEFAULT_MAX_IN_FLIGHT_BYTES,
            max_connections: 10_000,
            idle_timeout: Some(Duration::from_secs(120)),
            tls: crate::tls::TlsServer::disabled(),
        }
    }
}

/// Default of [`ConnectionConfig::max_admin_in_flight`].
pub const DEFAULT_MAX_ADMIN_IN_FLIGHT: usize = 8;

/// Default of [`ConnectionConfig::max_in_flight_bytes`]: 4 MiB.
pub const DEFAULT_MAX_IN_FLIGHT_BYTES: usize = 4 << 20;

/// What a queued command is counted as besides its body: its length fields and a typical
/// header (the header is encoded only by the writer).
const FRAME_OVERHEAD: usize = 256;

/// The bytes a queued command counts for in [`Inner::unwritten`].
fn queued_size(cmd: &RemotingCommand) -> usize {
    FRAME_OVERHEAD + cmd.body_len()
}

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

struct Inner {
    id: u64,
    peer: SocketAddr,
    local: SocketAddr,
    out: mpsc::UnboundedSender<Outgoing>,
    pending: Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>,
    next_opaque: AtomicI32,
    closed: AtomicBool,
    cancel: CancellationToken,
    /// Bytes queued for the writer and not yet on the socket (see [`queued_size`]).
    unwritten: AtomicUsize,
    /// Set while the reader waits for `unwritten` to drain; the writer then wakes it.
    reader_paused: AtomicBool,
    drained: Notify,
}

/// A command for the writer, with the in-flight slot of the request it answers: the slot is
/// freed only once the response is on the socket (write-side back-pressure).
type Outgoing = (RemotingCommand, Option<OwnedSemaphorePermit>);

/// A cheap, cloneable handle to a live connection.
#[derive(Clone)]
pub struct ConnectionHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ConnectionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionHandle")
            .field("id", &self.inner.id)
            .field("peer", &self.inner.peer)
            .finish()
    }
}

impl PartialEq for ConnectionHandle {
    fn eq(&self, other: &Self) -> bool {
        self.inner.id == other.inner.id
    }
}
impl Eq for ConnectionHandle {}

impl ConnectionHandle {
    /// Process-unique id of this connection.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The remote address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.inner.peer
    }

    /// The local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// True once the connection has closed.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Closes the connection.
    pub fn close(&self) {
        self.inner.cancel.cancel();
    }

    /// Queues a command for writing. Errors only when the connection is gone.
    pub fn send(&self, cmd: RemotingCommand) -> Result<(), NetError> {
        self.send_with_slot(cmd, None)
    }

    fn send_with_slot(
        &self,
        cmd: RemotingCommand,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Result<(), NetError> {
        self.inner
            .unwritten
            .fetch_add(queued_size(&cmd), Ordering::Relaxed);
        self.inner
            .out
            .send((cmd, slot))
            .map_err(|_| NetError::Closed {
                addr: self.inner.peer.to_string(),
            })
    }

    /// Sends a one-way request (no response expected).
    pub fn send_oneway(&self, mut cmd: RemotingCommand) -> Result<(), NetError> {
        cmd.mark_oneway();
        cmd.opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        self.send(cmd)
    }

    /// Sends `cmd` as a request and waits for its response, at most `timeout`.
    pub async fn invoke(
        &self,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, NetError> {
        let opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        cmd.opaque = opaque;
        let code = cmd.code;
        let (tx, rx) = oneshot::channel();
        self.inner.pending.lock().insert(opaque, tx);
        // Removes the entry however this call ends, including when the caller drops it.
        let _pending = PendingGuard {
            inner: &self.inner,
            opaque,
        };
        let addr = || self.inner.peer.to_string();
        if self.is_closed() || self.send(cmd).is_err() {
            return Err(NetError::Closed { addr: addr() });
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(_)) => Err(NetError::Closed { addr: addr() }),
            Err(_) => Err(NetError::Timeout {
                code,
                addr: addr(),
                timeout,
            }),
        }
    }
}

/// Drops an outstanding call's table entry when the call ends.
struct PendingGuard<'a> {
    inner: &'a Inner,
    opaque: i32,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.inner.pending.lock().remove(&self.opaque);
    }
}

/// Starts serving `stream` and returns its handle. `handler` serves requests from the peer;
/// responses to our own calls complete [`ConnectionHandle::invoke`].
pub fn spawn(
    stream: TcpStream,
    handler: Arc<dyn Handler>,
    config: ConnectionConfig,
) -> std::io::Result<ConnectionHandle> {
    let peer = stream.peer_addr()?;
    let local = stream.local_addr()?;
    let _ = stream.set_nodelay(true);
    let (reader, writer) = stream.into_split();
    Ok(spawn_io(reader, writer, peer, local, handler, config))
}

/// [`spawn`] for a connection that may run TLS.
pub fn spawn_stream(
    stream: MaybeTlsStream,
    handler: Arc<dyn Handler>,
    config: ConnectionConfig,
) -> std::io::Result<ConnectionHandle> {
    match stream {
        MaybeTlsStream::Plain(s) => spawn(s, handler, config),
        MaybeTlsStream::Tls(s) => {
            let tcp = s.get_ref().0;
            let (peer, local) = (tcp.peer_addr()?, tcp.local_addr()?);
            let _ = tcp.set_nodelay(true);
            let (reader, writer) = tokio::io::split(*s);
            Ok(spawn_io(reader, writer, peer, local, handler, config))
        }
    }
}

/// [`spawn`] for a client-side TLS connection.
pub fn spawn_client_tls(
    stream: tokio_rustls::client::TlsStream<TcpStream>,
    handler: Arc<dyn Handler>,
    config: ConnectionConfig,
) -> std::io::Result<ConnectionHandle> {
    let tcp = stream.get_ref().0;
    let (peer, local) = (tcp.peer_addr()?, tcp.local_addr()?);
    let _ = tcp.set_nodelay(true);
    let (reader, writer) = tokio::io::split(stream);
    Ok(spawn_io(reader, writer, peer, local, handler, config))
}

fn spawn_io<R, W>(
    reader: R,
    writer: W,
    peer: SocketAddr,
    local: SocketAddr,
    handler: Arc<dyn Handler>,
    config: ConnectionConfig,
) -> ConnectionHandle
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let inner = Arc::new(Inner {
        id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
        peer,
        local,
        out: out_tx,
        pending: Mutex::new(HashMap::new()),
        next_opaque: AtomicI32::new(1),
        closed: AtomicBool::new(false),
        cancel: CancellationToken::new(),
        unwritten: AtomicUsize::new(0),
        reader_paused: AtomicBool::new(false),
        drained: Notify::new(),
    });
    let handle = ConnectionHandle { inner };
    let cancel = handle.inner.cancel.clone();
    tokio::spawn(write_loop(
        writer,
        out_rx,
        cancel.clone(),
        Arc::clone(&handle.inner),
    ));
    let h = handle.clone();
    tokio::spawn(async move {
        if let Err(reason) = read_loop(reader, &h, &handler, &config).await {
            tracing::debug!(peer = %h.peer_addr(), %reason, "closing connection");
        }
        h.inner.closed.store(true, Ordering::Release);
        h.inner.cancel.cancel();
        h.inner.pending.lock().clear();
        handler.on_close(&h);
    });
    handle
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut reader: R,
    conn: &ConnectionHandle,
    handler: &Arc<dyn Handler>,
    config: &ConnectionConfig,
) -> Result<(), String> {
    let max_in_flight = config.max_in_flight.max(1);
    let budget = Arc::new(Semaphore::new(max_in_flight));
    // An admin request takes this many slots of the one budget, so at most
    // `max_admin_in_flight` of them fit while the data path keeps its own slots.
    let admin_weight = (max_in_flight / config.max_admin_in_flight.clamp(1, max_in_flight))
        .try_into()
        .unwrap_or(u32::MAX);
    // Small until the peer sends something: an idle connection holds 4 KiB, and the first
    // read that fills it grows it to the usual 64 KiB below.
    let mut buf = BytesMut::with_capacity(4096);
    // Made once: a fresh cancellation future and idle timer per read would cost a waiter
    // registration and a timer-wheel entry for every read.
    let cancelled = conn.inner.cancel.cancelled();
    tokio::pin!(cancelled);
    let idle = tokio::time::sleep(config.idle_timeout.unwrap_or(FAR_FUTURE));
    tokio::pin!(idle);
    let mut idle_armed_at = Instant::now();
    loop {
        // Decode every complete frame before reading again.
        loop {
            let cmd = match RemotingCommand::decode_limited(
                &mut buf,
                config.max_frame,
                config.max_header,
            ) {
                Ok(Some(cmd)) => cmd,
                Ok(None) => break,
                Err(e) => {
                    // The stream cannot be resynchronised: the connection closes, said loudly
                    // enough for an operator to find a misbehaving (or misconfigured) peer.
                    tracing::warn!(peer = %conn.peer_addr(), error = %e, "refused frame: closing the connection");
                    return Err(format!("malformed frame: {e}"));
                }
            };
            if cmd.is_response() {
                let waiter = conn.inner.pending.lock().remove(&cmd.opaque);
                if let Some(tx) = waiter {
                    let _ = tx.send(cmd);
                }
                continue;
            }
            let weight = if handler.is_admin(&cmd) {
                admin_weight
            } else {
                1
            };
            let permit = match Arc::clone(&budget).try_acquire_many_owned(weight) {
                Ok(p) => p,
                Err(_) => {
                    let _paused = Paused::start(PauseReason::InFlight);
                    tokio::select! {
                        p = Arc::clone(&budget).acquire_many_owned(weight) => p.map_err(|_| "closed".to_string())?,
                        _ = &mut cancelled => return Ok(()),
                    }
                }
            };
            if conn.inner.unwritten.load(Ordering::Relaxed) > config.max_in_flight_bytes
                && !wait_drained(conn, config.max_in_flight_bytes, cancelled.as_mut()).await
            {
                return Ok(());
            }
            serve_request(conn, handler, cmd, permit);
            // One connection's burst of requests must not hold a runtime worker: the reader
            // gives way to other tasks (other connections, the name server, timers) once it
            // has used its scheduling budget, as tokio's own resources do.
            tokio::task::coop::consume_budget().await;
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 * 1024);
        }
        if let Some(t) = config.idle_timeout {
            // Re-arming costs a timer update, so do it at most once a second of traffic: the
            // connection then closes between `t` and `t` + 1 s after its last frame.
            let now = Instant::now();
            if now.duration_since(idle_armed_at) >= IDLE_REARM {
                idle.as_mut().reset((now + t).into());
                idle_armed_at = now;
            }
        }
        let n = tokio::select! {
            r = reader.read_buf(&mut buf) => match r {
                Ok(n) => n,
                Err(e) => return Err(e.to_string()),
            },
            _ = &mut idle, if config.idle_timeout.is_some() => return Err("idle timeout".into()),
            _ = &mut cancelled => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
    }
}

/// Waits until the connection's unwritten bytes are at most `bound`. False when the connection
/// was closed meanwhile.
async fn wait_drained(
    conn: &ConnectionHandle,
    bound: usize,
    mut cancelled: Pin<&mut tokio_util::sync::WaitForCancellationFuture<'_>>,
) -> bool {
    let inner = &conn.inner;
    let _paused = Paused::start(PauseReason::Bytes);
    inner.reader_paused.store(true, Ordering::SeqCst);
    let drained = loop {
        let notified = inner.drained.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if inner.unwritten.load(Ordering::SeqCst) <= bound {
            break true;
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = cancelled.as_mut() => break false,
        }
    };
    inner.reader_paused.store(false, Ordering::SeqCst);
    drained
}

/// A reader waiting for back-pressure to ease: counted while it lasts.
struct Paused;

impl Paused {
    fn start(reason: PauseReason) -> Paused {
        FLOW_STATS.pause(reason);
        Paused
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        FLOW_STATS.resume();
    }
}

/// How far in the future a disabled idle timer points.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
/// Least traffic time between two re-arms of the idle timer.
const IDLE_REARM: Duration = Duration::from_secs(1);

/// Runs one request: polled once right here when the handler allows it and it completes at
/// once, otherwise on a task of its own. The response (if any) goes to the writer.
fn serve_request(
    conn: &ConnectionHandle,
    handler: &Arc<dyn Handler>,
    cmd: RemotingCommand,
    permit: OwnedSemaphorePermit,
) {
    let oneway = cmd.is_oneway();
    let opaque = cmd.opaque;
    let code = cmd.code;
    let serialize_type = cmd.serialize_type;
    let inline = handler.poll_inline(&cmd);
    let mut fut = CatchUnwind(handler.handle(conn.clone(), cmd));
    let answer = move |conn: &ConnectionHandle,
                       outcome: Result<Option<RemotingCommand>, ()>,
                       permit: OwnedSemaphorePermit| {
        let resp = outcome.unwrap_or_else(|()| {
            // A handler bug must not leave the peer waiting for its timeout.
            tracing::error!(code, peer = %conn.peer_addr(), "request handler panicked");
            Some(RemotingCommand {
                code: ferromq_proto::codes::response::SYSTEM_ERROR,
                language: ferromq_proto::LanguageCode::JAVA,
                version: ferromq_proto::command::CURRENT_VERSION,
                flag: 1,
                remark: Some(format!("internal error while serving request code {code}")),
                serialize_type,
                ..Default::default()
            })
        });
        respond(conn, oneway, opaque, resp, permit);
    };
    if inline {
        let mut cx = Context::from_waker(Waker::noop());
        if let Poll::Ready(outcome) = Pin::new(&mut fut).poll(&mut cx) {
            answer(conn, outcome, permit);
            return;
        }
    }
    let c = conn.clone();
    tokio::spawn(async move {
        let outcome = fut.await;
        answer(&c, outcome, permit);
    });
}

/// Polls a handler future, turning a panic into `Err(())` so the request still gets an answer.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

/// Queues the response, if any, with the request's in-flight slot (freed once written).
fn respond(
    conn: &ConnectionHandle,
    oneway: bool,
    opaque: i32,
    resp: Option<RemotingCommand>,
    permit: OwnedSemaphorePermit,
) {
    if let (false, Some(mut resp)) = (oneway, resp) {
        resp.opaque = opaque;
        let _ = conn.send_with_slot(resp, Some(permit));
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    cancel: CancellationToken,
    inner: Arc<Inner>,
) {
    // Reused for every batch: the writer allocates only when a batch outgrows them. They start
    // empty, so a connection that is never answered (an idle one) holds none of them.
    let mut batch: Vec<Outgoing> = Vec::new();
    let mut headers = BytesMut::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut pieces: Vec<Bytes> = Vec::new();
    let mut slots: Vec<OwnedSemaphorePermit> = Vec::new();
    let cancelled = cancel.cancelled();
    tokio::pin!(cancelled);
    loop {
        let first = tokio::select! {
            c = rx.recv() => match c { Some(c) => c, None => break },
            _ = &mut cancelled => break,
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        // All headers of the batch go into one buffer; bodies are written from their own
        // `Bytes` (for pull responses, slices of the mapped commit log) and never copied.
        headers.clear();
        if headers.capacity() < 16 * 1024 {
            headers.reserve(16 * 1024);
        }
        ends.clear();
        let mut queued = 0;
        for (cmd, _) in &batch {
            queued += queued_size(cmd);
            cmd.encode_header(&mut headers);
            ends.push(headers.len());
        }
        let headers_frozen = headers.split().freeze();
        pieces.clear();
        let (frames, mut start, mut body_bytes) = (batch.len(), 0, 0);
        for ((cmd, slot), &end) in batch.drain(..).zip(&ends) {
            slots.extend(slot);
            pieces.push(headers_frozen.slice(start..end));
            start = end;
            if !cmd.body.is_empty() {
                body_bytes += cmd.body.len();
                pieces.push(cmd.body);
            }
            for piece in cmd.body_tail {
                if !piece.is_empty() {
                    body_bytes += piece.len();
                    pieces.push(piece);
                }
            }
        }
        COPY_STATS.add_batch(frames, headers_frozen.len(), body_bytes);
        drop(headers_frozen);
        // A peer that stops reading must not keep this task (and the stored bytes it holds)
        // alive once the connection is closed from the read side or by the server.
        let written = tokio::select! {
            r = write_all_vectored(&mut writer, &mut pieces) => r,
            _ = &mut cancelled => break,
        };
        if let Err(e) = written {
            tracing::debug!(error = %e, "write failed");
            break;
        }
        // The answers are on the socket: their requests' in-flight slots are free.
        slots.clear();
        inner.unwritten.fetch_sub(queued, Ordering::SeqCst);
        if inner.reader_paused.load(Ordering::SeqCst) {
            inner.drained.notify_one();
        }
    }
    cancel.cancel();
    let _ = writer.shutdown().await;
}

/// Commands written with one vectored write at most.
const MAX_BATCH: usize = 256;

/// Pieces handed to one `writev` (Linux allows 1024; 64 keeps the array on the stack small).
const MAX_IOV: usize = 64;

/// Writes every piece with vectored writes, handling partial writes.
pub async fn write_all_vectored<W: AsyncWrite + Unpin>(
    w: &mut W,
    pieces: &mut [Bytes],
) -> std::io::Result<()> {
    let mut idx = 0;
    while idx < pieces.len() {
        let n = {
            let mut slices = [IoSlice::new(&[]); MAX_IOV];
            let mut count = 0;
            for (slot, piece) in slices.iter_mut().zip(&pieces[idx..]) {
                *slot = IoSlice::new(piece);
                count += 1;
            }
            w.write_vectored(&slices[..count]).await?
        };
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::WriteZero,
                "socket closed",
            ));
        }
        let mut left = n;
        while left > 0 && idx < pieces.len() {
            let len = pieces[idx].len();
            if left >= len {
                left -= len;
                idx += 1;
            } else {
                pieces[idx].advance(left);
                left = 0;
            }
        }
    }
    w.flush().await
}

/// The far end of a [`ConnectionHandle::detached`] connection: receives what the broker sends
/// on it. Dropping it closes the connection.
pub struct DetachedPeer {
    handle: ConnectionHandle,
    rx: mpsc::UnboundedReceiver<Outgoing>,
}

impl DetachedPeer {
    /// The next command sent on the connection; `None` once it is closed.
    pub async fn recv(&mut self) -> Option<RemotingCommand> {
        if self.handle.is_closed() {
            return None;
        }
        tokio::select! {
            m = self.rx.recv() => m.map(|(cmd, _)| cmd),
            () = self.handle.inner.cancel.cancelled() => None,
        }
    }

    /// The connection.
    pub fn handle(&self) -> &ConnectionHandle {
        &self.handle
    }
}

impl Drop for DetachedPeer {
    fn drop(&mut self) {
        let inner = &self.handle.inner;
        inner.closed.store(true, Ordering::Release);
        inner.cancel.cancel();
        inner.pending.lock().clear();
    }
}

impl ConnectionHandle {
    /// A connection with no socket of its own: what is sent on it goes to the returned
    /// [`DetachedPeer`]. A client that reaches the broker by another protocol (the gRPC API's
    /// v5 clients) is registered with the broker's client tables through one, as Apache
    /// RocketMQ's proxy registers its clients' channels; `peer` and `local` are the addresses
    /// of the client's real connection.
    pub fn detached(peer: SocketAddr, local: SocketAddr) -> (ConnectionHandle, DetachedPeer) {
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let handle = ConnectionHandle {
            inner: Arc::new(Inner {
                id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
                peer,
                local,
                out: out_tx,
                pending: Mutex::new(HashMap::new()),
                next_opaque: AtomicI32::new(1),
                closed: AtomicBool::new(false),
                cancel: CancellationToken::new(),
                // No reader to pause and no writer to drain: the byte bound never applies.
                unwritten: AtomicUsize::new(0),
                reader_paused: AtomicBool::new(false),
                drained: Notify::new(),
            }),
        };
        let peer_end = DetachedPeer {
            handle: handle.clone(),
            rx: out_rx,
        };
        (handle, peer_end)
    }
}
