//! Real sockets on loopback: concurrency, one-way, deadlines and bad frames.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use ferromq_net::{
    serve, BoxFuture, ConnectionConfig, ConnectionHandle, Handler, NetError, RemotingClient,
};
use ferromq_proto::RemotingCommand;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Code 1: echo after `delay` ms given in the remark. Code 2: count (one-way). Others: unsupported.
struct Echo {
    oneways: AtomicUsize,
}

impl Handler for Echo {
    fn handle(
        &self,
        _conn: ConnectionHandle,
        req: RemotingCommand,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        if req.code == 2 {
            self.oneways.fetch_add(1, Ordering::SeqCst);
        }
        Box::pin(async move {
            match req.code {
                1 => {
                    let delay: u64 = req
                        .remark
                        .as_deref()
                        .and_then(|r| r.parse().ok())
                        .unwrap_or(0);
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    Some(req.success_to().with_body(req.body.clone()))
                }
                2 => Some(req.success_to()),
                4 => panic!("handler bug"),
                _ => Some(req.response_to(3, Some("not supported".into()))),
            }
        })
    }
}

async fn start(max_frame: usize) -> (String, Arc<Echo>, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let echo = Arc::new(Echo {
        oneways: AtomicUsize::new(0),
    });
    let stop = CancellationToken::new();
    let config = ConnectionConfig {
        max_frame,
        ..Default::default()
    };
    tokio::spawn(serve(listener, echo.clone(), config, stop.clone()));
    (addr, echo, stop)
}

fn echo_req(delay_ms: u64, body: &'static [u8]) -> RemotingCommand {
    let mut r = RemotingCommand::bare_request(1).with_body(body);
    r.remark = Some(delay_ms.to_string());
    r
}

#[tokio::test]
async fn responses_are_matched_by_opaque_out_of_order() {
    let (addr, _, stop) = start(1 << 20).await;
    let client = RemotingClient::default();
    let slow = client.invoke(&addr, echo_req(300, b"slow"), Duration::from_secs(3));
    let fast = client.invoke(&addr, echo_req(0, b"fast"), Duration::from_secs(3));
    let started = std::time::Instant::now();
    let (fast, slow) = tokio::join!(fast, slow);
    assert_eq!(&fast.unwrap().body[..], b"fast");
    assert_eq!(&slow.unwrap().body[..], b"slow");
    // Served concurrently on one connection: both together take about one slow call.
    assert!(started.elapsed() < Duration::from_millis(1500));
    stop.cancel();
}

#[tokio::test]
async fn oneway_gets_no_response_and_timeouts_fire() {
    let (addr, echo, stop) = start(1 << 20).await;
    let client = RemotingClient::default();
    client
        .invoke_oneway(&addr, RemotingCommand::bare_request(2))
        .await
        .unwrap();
    let r = client
        .invoke(&addr, echo_req(2000, b"x"), Duration::from_millis(100))
        .await;
    assert!(matches!(r, Err(NetError::Timeout { .. })), "{r:?}");
    for _ in 0..50 {
        if echo.oneways.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(echo.oneways.load(Ordering::SeqCst), 1);
    let unknown = client
        .invoke(
            &addr,
            RemotingCommand::bare_request(999),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert_eq!(unknown.code, 3);
    stop.cancel();
}

#[tokio::test]
async fn garbage_and_oversized_frames_close_only_that_connection() {
    let (addr, _, stop) = start(1024).await;
    let good = RemotingClient::default();
    assert!(good
        .invoke(&addr, echo_req(0, b"a"), Duration::from_secs(1))
        .await
        .is_ok());

    for bad in [
        b"\x00\x00\x00\x06\x00\x00\x00\x02{x".to_vec(),
        b"\x00\x10\x00\x00\x00\x00\x00\x00".to_vec(),
        b"\xff\xff\xff\xff".to_vec(),
    ] {
        let mut raw = TcpStream::connect(&addr).await.unwrap();
        raw.write_all(&bad).await.unwrap();
        let mut sink = BytesMut::new();
        let n = tokio::time::timeout(Duration::from_secs(2), raw.read_buf(&mut sink))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 0, "server must close a connection that sent a bad frame");
    }
    assert!(good
        .invoke(&addr, echo_req(0, b"b"), Duration::from_secs(1))
        .await
        .is_ok());
    stop.cancel();
}

#[tokio::test]
async fn many_requests_in_flight_on_one_connection() {
    let (addr, _, stop) = start(1 << 20).await;
    let client = RemotingClient::default();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..500 {
        let (c, a) = (client.clone(), addr.clone());
        set.spawn(async move {
            c.invoke(&a, echo_req(1, b"p"), Duration::from_secs(5))
                .await
        });
    }
    let mut ok = 0;
    while let Some(r) = set.join_next().await {
        ok += usize::from(r.unwrap().is_ok());
    }
    assert_eq!(ok, 500);
    stop.cancel();
}

#[tokio::test]
async fn a_panicking_handler_still_answers_and_the_connection_survives() {
    let (addr, _, stop) = start(1 << 20).await;
    let client = RemotingClient::default();
    let r = client
        .invoke(
            &addr,
            RemotingCommand::bare_request(4),
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert_eq!(r.code, 1, "SYSTEM_ERROR");
    assert!(r.remark.unwrap_or_default().contains("code 4"));
    let ok = client
        .invoke(&addr, echo_req(0, b"after"), Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(&ok.body[..], b"after");
    stop.cancel();
}

#[tokio::test]
async fn shutdown_closes_accepted_connections() {
    let (addr, _, stop) = start(1 << 20).await;
    let client = RemotingClient::default();
    let conn = client.connection(&addr).await.unwrap();
    assert!(client
        .invoke(&addr, echo_req(0, b"x"), Duration::from_secs(3))
        .await
        .is_ok());
    stop.cancel();
    for _ in 0..100 {
        if conn.is_closed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        conn.is_closed(),
        "the server must close its connections at shutdown"
    );
}
