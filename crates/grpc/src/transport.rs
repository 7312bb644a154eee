//! The gRPC port's connections per `tls.server.mode`, accepted as the remoting ports accept
//! theirs (`ferromq_net::tls::incoming`): `disabled` plaintext; `enforcing` TLS only (a
//! plaintext peer is closed); `permissive` both on the same port, told apart by the first
//! byte (a TLS ClientHello starts with 0x16, an HTTP/2 preface with `P`). TLS offers ALPN `h2`,
//! which gRPC clients require.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use ferromq_net::tls::{MaybeTlsStream, TlsServer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio_stream::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// One accepted connection, plaintext or TLS.
pub struct Conn {
    stream: MaybeTlsStream,
    local: Option<SocketAddr>,
    remote: SocketAddr,
}

impl Conn {
    /// True for a TLS connection.
    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        TcpConnectInfo {
            local_addr: self.local,
            remote_addr: Some(self.remote),
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The connections of `listener` per `tls`, until `shutdown`.
pub fn incoming(
    listener: TcpListener,
    tls: &TlsServer,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<Conn, io::Error>> {
    let local = listener.local_addr().ok();
    let rx = ferromq_net::tls::incoming(listener, tls.with_alpn(&[b"h2"]), false, shutdown);
    tokio_stream::wrappers::ReceiverStream::new(rx).map(move |(stream, remote)| {
        let _ = stream.tcp().set_nodelay(true);
        Ok(Conn {
            stream,
            local,
            remote,
        })
    })
}
