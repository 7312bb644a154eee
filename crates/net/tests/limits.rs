//! Connection limits and write-side back-pressure on real loopback sockets: a connection
//! beyond `max_connections` is closed on accept, and a peer that sends requests without
//! reading the answers holds the server at `max_in_flight` unwritten answers (plus what the
//! kernel's socket buffers take) instead of letting it queue answers without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferromq_net::{serve, BoxFuture, ConnectionConfig, ConnectionHandle, Handler};
use ferromq_proto::RemotingCommand;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Answers every request with a body of `ANSWER` bytes and counts what it served.
struct Big {
    served: AtomicUsize,
}

const ANSWER: usize = 256 * 1024;

impl Handler for Big {
    fn handle(
        &self,
        _conn: ConnectionHandle,
        req: RemotingCommand,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        self.served.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Some(req.success_to().with_body(vec![7u8; ANSWER])) })
    }

    fn is_admin(&self, req: &RemotingCommand) -> bool {
        req.code == ADMIN_CODE
    }
}

/// The request code [`Big`] counts as administration.
const ADMIN_CODE: i32 = 2;

async fn start(config: ConnectionConfig) -> (String, Arc<Big>, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let big = Arc::new(Big {
        served: AtomicUsize::new(0),
    });
    let stop = CancellationToken::new();
    tokio::spawn(serve(listener, big.clone(), config, stop.clone()));
    (addr, big, stop)
}

fn request_bytes(opaque: i32) -> BytesMut {
    request_bytes_with_code(1, opaque)
}

fn request_bytes_with_code(code: i32, opaque: i32) -> BytesMut {
    let mut r = RemotingCommand::bare_request(code);
    r.opaque = opaque;
    let mut out = BytesMut::new();
    r.encode(&mut out);
    out
}

/// Reads answers from `s` until `count` frames arrived (or the deadline passes).
async fn read_answers(s: &mut (impl AsyncRead + Unpin), count: usize) -> usize {
    let mut buf = BytesMut::with_capacity(1 << 20);
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while got < count && Instant::now() < deadline {
        while let Some(_resp) = RemotingCommand::decode(&mut buf, 16 << 20).unwrap() {
            got += 1;
        }
        if got >= count {
            break;
        }
        match tokio::time::timeout(Duration::from_secs(10), s.read_buf(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("read failed: {e}"),
        }
    }
    got
}

/// True when one whole answer arrives on `s`; false when the server closes or resets it first.
async fn answered_once(s: &mut TcpStream) -> bool {
    let mut buf = BytesMut::with_capacity(1 << 20);
    loop {
        if let Ok(Some(_)) = RemotingCommand::decode(&mut buf, 16 << 20) {
            return true;
        }
        match tokio::time::timeout(Duration::from_secs(10), s.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_beyond_the_limit_is_closed_and_one_that_leaves_frees_its_place() {
    let (addr, _, stop) = start(ConnectionConfig {
        max_connections: 2,
        ..Default::default()
    })
    .await;
    let mut a = TcpStream::connect(&addr).await.unwrap();
    let mut b = TcpStream::connect(&addr).await.unwrap();
    for (s, opaque) in [(&mut a, 1), (&mut b, 2)] {
        s.write_all(&request_bytes(opaque)).await.unwrap();
        assert_eq!(read_answers(s, 1).await, 1);
    }
    let mut c = TcpStream::connect(&addr).await.unwrap();
    let mut sink = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(10), c.read(&mut sink))
        .await
        .expect("the connection over the limit must be closed")
        .unwrap_or(0);
    assert_eq!(n, 0);
    // Served connections are unaffected; once one leaves, a new one is served.
    a.write_all(&request_bytes(3)).await.unwrap();
    assert_eq!(read_answers(&mut a, 1).await, 1);
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // Until the server has seen `b` go, `d` is closed on accept (possibly with a reset,
        // since it wrote first): try again.
        let mut d = TcpStream::connect(&addr).await.unwrap();
        if d.write_all(&request_bytes(4)).await.is_ok() && answered_once(&mut d).await {
            break;
        }
        assert!(Instant::now() < deadline, "no place freed after a close");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_does_not_read_stops_being_served_until_it_reads() {
    const MAX_IN_FLIGHT: usize = 4;
    const REQUESTS: usize = 2000;
    let (addr, big, stop) = start(ConnectionConfig {
        max_in_flight: MAX_IN_FLIGHT,
        ..Default::default()
    })
    .await;
    let s = TcpStream::connect(&addr).await.unwrap();
    let (mut rd, mut wr) = s.into_split();
    // Requests are tiny; the writer task may block once the server stops reading.
    let writer = tokio::spawn(async move {
        for i in 0..REQUESTS {
            if wr.write_all(&request_bytes(i as i32)).await.is_err() {
                return;
            }
        }
        // Keep the write half open until the test ends.
        std::future::pending::<()>().await;
    });
    // Let the server run until it stalls: the answers it may hold are its in-flight bound
    // plus what the kernel's buffers took.
    let mut last = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = big.served.load(Ordering::SeqCst);
        if now == last {
            break;
        }
        last = now;
    }
    let stalled_at = big.served.load(Ordering::SeqCst);
    println!(
        "served {stalled_at} of {REQUESTS} requests of {} KiB answers before the unread peer held the server",
        ANSWER / 1024
    );
    assert!(
        stalled_at < REQUESTS / 2,
        "the server kept serving a peer that reads nothing: {stalled_at} answers"
    );
    // Reading again lets everything through.
    let got = read_answers(&mut rd, REQUESTS).await;
    assert_eq!(got, REQUESTS);
    writer.abort();
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritten_answer_bytes_are_bounded_even_with_a_large_in_flight_count() {
    const REQUESTS: usize = 2000;
    const BOUND: usize = 1 << 20;
    let (addr, big, stop) = start(ConnectionConfig {
        // The count bound alone would let the server queue 2000 answers of 256 KiB (500 MiB).
        max_in_flight: 100_000,
        max_in_flight_bytes: BOUND,
        ..Default::default()
    })
    .await;
    let paused_before = ferromq_net::flow_stats().paused_bytes;
    let s = TcpStream::connect(&addr).await.unwrap();
    let (mut rd, mut wr) = s.into_split();
    let writer = tokio::spawn(async move {
        for i in 0..REQUESTS {
            if wr.write_all(&request_bytes(i as i32)).await.is_err() {
                return;
            }
        }
        std::future::pending::<()>().await;
    });
    let mut last = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = big.served.load(Ordering::SeqCst);
        if now == last {
            break;
        }
        last = now;
    }
    let stalled_at = big.served.load(Ordering::SeqCst);
    let stats = ferromq_net::flow_stats();
    println!(
        "served {stalled_at} of {REQUESTS} requests of {} KiB answers with a {} KiB byte bound; {} paused now",
        ANSWER / 1024,
        BOUND / 1024,
        stats.paused_now
    );
    assert!(
        stalled_at < REQUESTS / 2,
        "the server queued {stalled_at} answers of {ANSWER} bytes for a peer that reads nothing"
    );
    assert!(stats.paused_bytes > paused_before, "{stats:?}");
    assert!(stats.paused_now >= 1, "{stats:?}");
    let got = read_answers(&mut rd, REQUESTS).await;
    assert_eq!(got, REQUESTS);
    writer.abort();
    stop.cancel();
}

/// How many of `REQUESTS` pipelined requests of `code` the server computes before a peer that
/// reads nothing holds it (the connection's bound plus what the kernel's buffers take); then
/// reads everything and checks that every answer arrives.
async fn computed_before_the_stall(code: i32) -> usize {
    const REQUESTS: usize = 1000;
    let (addr, big, stop) = start(ConnectionConfig {
        // The byte bound would stop both kinds after 16 answers: the count bounds are tested.
        max_in_flight_bytes: 1 << 30,
        ..Default::default()
    })
    .await;
    let s = TcpStream::connect(&addr).await.unwrap();
    let (mut rd, mut wr) = s.into_split();
    let writer = tokio::spawn(async move {
        for i in 0..REQUESTS {
            if wr
                .write_all(&request_bytes_with_code(code, i as i32))
                .await
                .is_err()
            {
                return;
            }
        }
        std::future::pending::<()>().await;
    });
    let mut last = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = big.served.load(Ordering::SeqCst);
        if now == last {
            break;
        }
        last = now;
    }
    let stalled_at = big.served.load(Ordering::SeqCst);
    assert_eq!(read_answers(&mut rd, REQUESTS).await, REQUESTS);
    writer.abort();
    stop.cancel();
    stalled_at
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_pipelining_admin_requests_gets_only_a_few_computed() {
    let data = computed_before_the_stall(1).await;
    let admin = computed_before_the_stall(ADMIN_CODE).await;
    println!(
        "answers computed for a peer that reads nothing: {data} data requests, {admin} admin requests (max_in_flight {}, max_admin_in_flight {})",
        ConnectionConfig::default().max_in_flight,
        ConnectionConfig::default().max_admin_in_flight
    );
    // The kernel's buffers take the same number of answers in both runs; beyond them, data
    // requests fill the 256 slots and admin requests only 8.
    assert!(
        admin + 128 <= data,
        "admin requests were not held to their bound: {admin} computed against {data} data requests"
    );
}
