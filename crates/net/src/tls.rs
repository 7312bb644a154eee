//! TLS on remoting and HTTP ports, with RocketMQ's server modes.
//!
//! * `disabled`: plaintext only, as before.
//! * `permissive`: TLS and plaintext on the same port. The first byte tells them apart: a TLS
//!   handshake starts with 0x16, while a remoting frame starts with its big-endian length,
//!   whose first byte is 0 for every frame under 16 MiB (and anything from 0x16 on would mean a
//!   frame of over 350 MiB, refused anyway).
//! * `enforcing`: TLS only. A plaintext peer's first request is answered with SYSTEM_ERROR and
//!   a remark saying TLS is required, then the connection is closed.
//!
//! [`TlsServer`] holds the server side (certificate, client-certificate policy), [`TlsClient`]
//! the client side (how the server's certificate is checked, an optional client certificate).
//! [`incoming`] turns a listener into a stream of ready connections; handshakes run on tasks
//! of their own, so a slow peer never holds up the accept loop.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use ferromq_proto::RemotingCommand;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// First byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// Longest a new connection may take to send its first byte and finish its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// A TLS setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(String);

impl TlsError {
    fn new(msg: impl Into<String>) -> Self {
        TlsError(msg.into())
    }
}

/// `tls.server.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plaintext only.
    Disabled,
    /// TLS and plaintext on the same port (RocketMQ's default).
    Permissive,
    /// TLS only.
    Enforcing,
}

impl TlsMode {
    /// The name RocketMQ uses.
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::Disabled => "disabled",
            TlsMode::Permissive => "permissive",
            TlsMode::Enforcing => "enforcing",
        }
    }
}

impl FromStr for TlsMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "disabled" => Ok(TlsMode::Disabled),
            "permissive" => Ok(TlsMode::Permissive),
            "enforcing" => Ok(TlsMode::Enforcing),
            _ => Err("expected disabled, permissive or enforcing".into()),
        }
    }
}

/// `tls.server.need.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificate asked for.
    None,
    /// A client certificate is checked when one is presented.
    Optional,
    /// Every client must present a certificate the trust file vouches for.
    Require,
}

impl ClientAuth {
    /// The name RocketMQ uses.
    pub fn name(self) -> &'static str {
        match self {
            ClientAuth::None => "none",
            ClientAuth::Optional => "optional",
            ClientAuth::Require => "require",
        }
    }
}

impl FromStr for ClientAuth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(ClientAuth::None),
            "optional" => Ok(ClientAuth::Optional),
            "require" => Ok(ClientAuth::Require),
            _ => Err("expected none, optional or require".into()),
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    // ring is chosen for building without cmake; its provider lacks the post-quantum key
    // exchange (hence the deprecation), which RocketMQ's Java TLS does not offer either.
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::new(format!("{what} {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(TlsError::new(format!(
            "{what} {}: no PEM certificate in it",
            path.display()
        )));
    }
    Ok(certs)
}

fn read_key(path: &Path, what: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        TlsError::new(format!(
            "{what} {}: {e} (an unencrypted PEM private key is expected)",
            path.display()
        ))
    })
}

fn read_roots(path: &Path, what: &str) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path, what)? {
        roots
            .add(cert)
            .map_err(|e| TlsError::new(format!("{what} {}: {e}", path.display())))?;
    }
    Ok(roots)
}

/// The server side: the mode, and the TLS configuration used for handshakes.
#[derive(Clone)]
pub struct TlsServer {
    mode: TlsMode,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
}

impl fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServer")
            .field("mode", &self.mode)
            .finish()
    }
}

impl Default for TlsServer {
    fn default() -> Self {
        TlsServer::disabled()
    }
}

/// Where a server's certificate comes from.
#[derive(Debug, Clone)]
pub enum ServerIdentity {
    /// PEM certificate chain and PEM private key files.
    Files {
        /// `tls.server.certPath`.
        cert: PathBuf,
        /// `tls.server.keyPath`.
        key: PathBuf,
    },
    /// A certificate made at start-up for `localhost` and the loopback addresses (RocketMQ's
    /// `tls.test.mode.enable`). Clients must skip verification to accept it.
    SelfSigned,
}

impl TlsServer {
    /// Plaintext only.
    pub fn disabled() -> Self {
        TlsServer {
            mode: TlsMode::Disabled,
            acceptor: None,
        }
    }

    /// A server in `mode` presenting `identity`; client certificates per `client_auth`, checked
    /// against the PEM certificates in `trust` (required unless `client_auth` is none).
    pub fn new(
        mode: TlsMode,
        identity: &ServerIdentity,
        client_auth: ClientAuth,
        trust: Option<&Path>,
    ) -> Result<Self, TlsError> {
        if mode == TlsMode::Disabled {
            return Ok(TlsServer::disabled());
        }
        let (certs, key) = match identity {
            ServerIdentity::Files { cert, key } => (
                read_certs(cert, "tls.server.certPath")?,
                read_key(key, "tls.server.keyPath")?,
            ),
            ServerIdentity::SelfSigned => self_signed()?,
        };
        let provider = provider();
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::new(e.to_string()))?;
        let builder = match client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            ClientAuth::Optional | ClientAuth::Require => {
                let Some(trust) = trust else {
                    return Err(TlsError::new(format!(
                        "tls.server.need.client.auth={} needs tls.server.trustCertPath (the CA certificates client certificates are checked against)",
                        client_auth.name()
                    )));
                };
                let roots = read_roots(trust, "tls.server.trustCertPath")?;
                let mut verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                if client_auth == ClientAuth::Optional {
                    verifier = verifier.allow_unauthenticated();
                }
                builder.with_client_cert_verifier(
                    verifier
                        .build()
                        .map_err(|e| TlsError::new(format!("tls.server.trustCertPath: {e}")))?,
                )
            }
        };
        let config = builder
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::new(format!("server certificate and key: {e}")))?;
        Ok(TlsServer {
            mode,
            acceptor: Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        })
    }

    /// `tls.server.mode`.
    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    /// The same server offering `protocols` by ALPN, in order of preference (gRPC clients
    /// want `h2`); a client that offers none of them fails its handshake.
    pub fn with_alpn(&self, protocols: &[&[u8]]) -> TlsServer {
        let acceptor = self.acceptor.as_ref().map(|a| {
            let mut config = rustls::ServerConfig::clone(a.config());
            config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
            tokio_rustls::TlsAcceptor::from(Arc::new(config))
        });
        TlsServer {
            mode: self.mode,
            acceptor,
        }
    }
}

fn self_signed() -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| TlsError::new(format!("making a self-signed certificate: {e}")))?;
    let key = PrivateKeyDer::try_from(made.key_pair.serialize_der())
        .map_err(|e| TlsError::new(format!("self-signed key: {e}")))?;
    Ok((vec![made.cert.der().clone()], key))
}

/// How a client checks the server's certificate.
#[derive(Debug, Clone)]
pub enum ServerTrust {
    /// Verified against the PEM CA certificates in this file (and the host name or IP address
    /// dialled).
    CaFile(PathBuf),
    /// Not verified at all: any certificate is accepted. Encrypts, but does not authenticate
    /// the server. RocketMQ's clients do this unless `tls.client.authServer` is true; use it
    /// for self-signed test certificates only.
    InsecureSkipVerify,
}

/// The client side of TLS.
#[derive(Clone)]
pub struct TlsClient {
    connector: tokio_rustls::TlsConnector,
}

impl fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsClient")
    }
}

impl TlsClient {
    /// A client checking servers per `trust`, presenting the PEM certificate and key of
    /// `identity` when given (for servers that ask for client certificates).
    pub fn new(trust: &ServerTrust, identity: Option<(&Path, &Path)>) -> Result<Self, TlsError> {
        let provider = provider();
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::new(e.to_string()))?;
        let builder = match trust {
            ServerTrust::CaFile(path) => {
                builder.with_root_certificates(read_roots(path, "CA certificate file")?)
            }
            ServerTrust::InsecureSkipVerify => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(SkipVerify(provider))),
        };
        let config = match identity {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => builder
                .with_client_auth_cert(
                    read_certs(cert, "client certificate")?,
                    read_key(key, "client key")?,
                )
                .map_err(|e| TlsError::new(format!("client certificate and key: {e}")))?,
        };
        Ok(TlsClient {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }

    /// Runs the client handshake over `stream`; `addr` (`host:port`) names the server.
    pub async fn connect(
        &self,
        addr: &str,
        stream: TcpStream,
    ) -> io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let host = addr
            .rsplit_once(':')
            .map_or(addr, |(h, _)| h)
            .trim_start_matches('[')
            .trim_end_matches(']');
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{host}: {e}")))?;
        self.connector.connect(name, stream).await
    }
}

/// Accepts every server certificate (see [`ServerTrust::InsecureSkipVerify`]); handshake
/// signatures are still checked, so the peer holds the key of the certificate it sent.
#[derive(Debug)]
struct SkipVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for SkipVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// An accepted connection: plaintext, or TLS after a completed handshake.
pub enum MaybeTlsStream {
    /// Plaintext.
    Plain(TcpStream),
    /// TLS (boxed: the session state is large).
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl MaybeTlsStream {
    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(s) => s,
            MaybeTlsStream::Tls(s) => s.get_ref().0,
        }
    }

    /// True for a TLS connection.
    pub fn is_tls(&self) -> bool {
        matches!(self, MaybeTlsStream::Tls(_))
    }
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(s) => s.is_write_vectored(),
            MaybeTlsStream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// What the plaintext refusal of an enforcing server says.
pub const TLS_REQUIRED_REMARK: &str =
    "TLS required: this server runs with tls.server.mode=enforcing and refuses plaintext connections; connect with TLS";

/// Accepts connections from `listener` until `shutdown`, and delivers each once it is ready
/// (plaintext, or TLS with its handshake done) per `tls`. `remoting` says the port speaks
/// RocketMQ remoting: a plaintext peer refused by an enforcing server then gets a response
/// explaining why before the connection closes (an HTTP peer is just closed).
pub fn incoming(
    listener: TcpListener,
    tls: TlsServer,
    remoting: bool,
    shutdown: CancellationToken,
) -> mpsc::Receiver<(MaybeTlsStream, SocketAddr)> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = shutdown.cancelled() => break,
                _ = tx.closed() => break,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if tls.acceptor.is_none() {
                if tx
                    .send((MaybeTlsStream::Plain(stream), peer))
                    .await
                    .is_err()
                {
                    break;
                }
                continue;
            }
            let (tx, tls, shutdown) = (tx.clone(), tls.clone(), shutdown.clone());
            tokio::spawn(async move {
                let ready = tokio::select! {
                    r = tokio::time::timeout(HANDSHAKE_TIMEOUT, admit(stream, peer, &tls, remoting)) => r,
                    _ = shutdown.cancelled() => return,
                };
                match ready {
                    Ok(Some(stream)) => {
                        let _ = tx.send((stream, peer)).await;
                    }
                    Ok(None) => {}
                    Err(_) => {
                        tracing::debug!(%peer, "no TLS handshake or first byte in time; connection closed")
                    }
                }
            });
        }
    });
    rx
}

/// Sorts a new connection out per the mode: `None` when it was refused or failed.
async fn admit(
    stream: TcpStream,
    peer: SocketAddr,
    tls: &TlsServer,
    remoting: bool,
) -> Option<MaybeTlsStream> {
    let acceptor = tls.acceptor.as_ref()?;
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(0) | Err(_) => return None,
        Ok(_) => {}
    }
    if first[0] == TLS_HANDSHAKE {
        return match acceptor.accept(stream).await {
            Ok(s) => Some(MaybeTlsStream::Tls(Box::new(s))),
            Err(e) => {
                tracing::warn!(%peer, error = %e, "TLS handshake failed; connection closed");
                None
            }
        };
    }
    if tls.mode == TlsMode::Permissive {
        return Some(MaybeTlsStream::Plain(stream));
    }
    tracing::warn!(%peer, "plaintext connection refused: tls.server.mode is enforcing");
    if remoting {
        refuse_plaintext(stream).await;
    }
    None
}

/// Reads a refused plaintext peer's first request (within the default frame limit) and answers
/// it with SYSTEM_ERROR and [`TLS_REQUIRED_REMARK`], so its caller sees why.
async fn refuse_plaintext(mut stream: TcpStream) {
    let mut buf = BytesMut::with_capacity(4096);
    let request = loop {
        match RemotingCommand::decode(&mut buf, ferromq_proto::command::DEFAULT_MAX_FRAME) {
            Ok(Some(cmd)) => break cmd,
            Ok(None) => {}
            Err(_) => return,
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    };
    if request.is_response() || request.is_oneway() {
        return;
    }
    let mut resp = request.response_to(
        ferromq_proto::codes::response::SYSTEM_ERROR,
        Some(TLS_REQUIRED_REMARK.to_owned()),
    );
    resp.opaque = request.opaque;
    let _ = stream.write_all(&resp.to_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The TLS keys of broker.conf / namesrv.conf, named as RocketMQ names them (its
/// `TlsSystemConfig`), with RocketMQ's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// `tls.server.mode` (permissive).
    pub server_mode: TlsMode,
    /// `tls.enable`, or NettyClientConfig's `useTLS`: outgoing connections (registration with
    /// name servers, the slave's link to its master) use TLS. Unset: TLS when
    /// `tls.server.mode` is enforcing, as RocketMQ decides.
    pub enable: Option<bool>,
    /// `tls.config.file` (`/etc/rocketmq/tls.properties`): read when it exists; its keys
    /// override these, except `tls.server.mode` and `tls.enable`.
    pub config_file: PathBuf,
    /// `tls.test.mode.enable` (true): without a certificate the server presents a self-signed
    /// one made at start-up, and outgoing connections do not verify certificates.
    pub test_mode: bool,
    /// `tls.server.need.client.auth` (none).
    pub server_need_client_auth: ClientAuth,
    /// `tls.server.certPath`.
    pub server_cert_path: Option<PathBuf>,
    /// `tls.server.keyPath`.
    pub server_key_path: Option<PathBuf>,
    /// `tls.server.keyPassword`: encrypted keys are not supported (refused at start-up).
    pub server_key_password: Option<String>,
    /// `tls.server.authClient` (false).
    pub server_auth_client: bool,
    /// `tls.server.trustCertPath`.
    pub server_trust_cert_path: Option<PathBuf>,
    /// `tls.client.certPath`.
    pub client_cert_path: Option<PathBuf>,
    /// `tls.client.keyPath`.
    pub client_key_path: Option<PathBuf>,
    /// `tls.client.keyPassword`: refused like the server's.
    pub client_key_password: Option<String>,
    /// `tls.client.authServer` (false): verify the server's certificate.
    pub client_auth_server: bool,
    /// `tls.client.trustCertPath`.
    pub client_trust_cert_path: Option<PathBuf>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            server_mode: TlsMode::Permissive,
            enable: None,
            config_file: PathBuf::from("/etc/rocketmq/tls.properties"),
            test_mode: true,
            server_need_client_auth: ClientAuth::None,
            server_cert_path: None,
            server_key_path: None,
            server_key_password: None,
            server_auth_client: false,
            server_trust_cert_path: None,
            client_cert_path: None,
            client_key_path: None,
            client_key_password: None,
            client_auth_server: false,
            client_trust_cert_path: None,
        }
    }
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn path(v: &str) -> Option<PathBuf> {
    Some(v.trim()).filter(|v| !v.is_empty()).map(PathBuf::from)
}

impl TlsSettings {
    /// Every key [`TlsSettings::set`] takes.
    pub const KEYS: &'static [&'static str] = &[
        "tls.server.mode",
        "tls.enable",
        "useTLS",
        "tls.config.file",
        "tls.test.mode.enable",
        "tls.server.need.client.auth",
        "tls.server.certPath",
        "tls.server.keyPath",
        "tls.server.keyPassword",
        "tls.server.authClient",
        "tls.server.trustCertPath",
        "tls.client.certPath",
        "tls.client.keyPath",
        "tls.client.keyPassword",
        "tls.client.authServer",
        "tls.client.trustCertPath",
    ];

    /// Applies one key; `Ok(false)` when `key` is not a TLS key, `Err` (a reason) when its value
    /// is not valid.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        let v = value.trim();
        match key {
            "tls.server.mode" => self.server_mode = v.parse()?,
            "tls.enable" | "useTLS" => self.enable = Some(parse_bool(v)?),
            "tls.config.file" => self.config_file = PathBuf::from(v),
            "tls.test.mode.enable" => self.test_mode = parse_bool(v)?,
            "tls.server.need.client.auth" => self.server_need_client_auth = v.parse()?,
            "tls.server.certPath" => self.server_cert_path = path(v),
            "tls.server.keyPath" => self.server_key_path = path(v),
            "tls.server.keyPassword" => {
                self.server_key_password = Some(v.to_owned()).filter(|v| !v.is_empty())
            }
            "tls.server.authClient" => self.server_auth_client = parse_bool(v)?,
            "tls.server.trustCertPath" => self.server_trust_cert_path = path(v),
            "tls.client.certPath" => self.client_cert_path = path(v),
            "tls.client.keyPath" => self.client_key_path = path(v),
            "tls.client.keyPassword" => {
                self.client_key_password = Some(v.to_owned()).filter(|v| !v.is_empty())
            }
            "tls.client.authServer" => self.client_auth_server = parse_bool(v)?,
            "tls.client.trustCertPath" => self.client_trust_cert_path = path(v),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The value of `key` as broker.conf would spell it (empty when unset).
    pub fn get(&self, key: &str) -> Option<String> {
        let p = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or(String::new(), |p| p.display().to_string())
        };
        Some(match key {
            "tls.server.mode" => self.server_mode.name().to_owned(),
            "tls.enable" | "useTLS" => self.outgoing_tls().to_string(),
            "tls.config.file" => self.config_file.display().to_string(),
            "tls.test.mode.enable" => self.test_mode.to_string(),
            "tls.server.need.client.auth" => self.server_need_client_auth.name().to_owned(),
            "tls.server.certPath" => p(&self.server_cert_path),
            "tls.server.keyPath" => p(&self.server_key_path),
            "tls.server.keyPassword" | "tls.client.keyPassword" => String::new(),
            "tls.server.authClient" => self.server_auth_client.to_string(),
            "tls.server.trustCertPath" => p(&self.server_trust_cert_path),
            "tls.client.certPath" => p(&self.client_cert_path),
            "tls.client.keyPath" => p(&self.client_key_path),
            "tls.client.authServer" => self.client_auth_server.to_string(),
            "tls.client.trustCertPath" => p(&self.client_trust_cert_path),
            _ => return None,
        })
    }

    /// True when outgoing connections use TLS.
    pub fn outgoing_tls(&self) -> bool {
        self.enable
            .unwrap_or(self.server_mode == TlsMode::Enforcing)
    }

    /// These settings with `tls.config.file` applied (when the file exists), as RocketMQ
    /// applies it: every key but `tls.server.mode` and `tls.enable`.
    pub fn with_config_file(&self) -> Result<TlsSettings, TlsError> {
        let mut out = self.clone();
        let text = match std::fs::read_to_string(&self.config_file) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => {
                return Err(TlsError::new(format!(
                    "tls.config.file {}: {e}",
                    self.config_file.display()
                )))
            }
        };
        let props = ferromq_common::config::Properties::parse(&text);
        props.check().map_err(|e| {
            TlsError::new(format!(
                "tls.config.file {}: {e}",
                self.config_file.display()
            ))
        })?;
        for (key, value) in props.iter() {
            if matches!(key, "tls.server.mode" | "tls.enable" | "tls.config.file") {
                continue;
            }
            match out.set(key, value) {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    file = %self.config_file.display(),
                    key,
                    "unknown key in the TLS config file ignored"
                ),
                Err(reason) => {
                    return Err(TlsError::new(format!(
                        "tls.config.file {}: {key}={value}: {reason}",
                        self.config_file.display()
                    )))
                }
            }
        }
        Ok(out)
    }

    /// The server side these settings describe (`tls.config.file` applied).
    pub fn server(&self) -> Result<TlsServer, TlsError> {
        let s = self.with_config_file()?;
        if s.server_mode == TlsMode::Disabled {
            return Ok(TlsServer::disabled());
        }
        if s.server_key_password
            .as_deref()
            .is_some_and(|p| !p.is_empty())
        {
            return Err(TlsError::new(
                "tls.server.keyPassword: encrypted private keys are not supported; give an unencrypted PEM key in tls.server.keyPath",
            ));
        }
        let identity = match (&s.server_cert_path, &s.server_key_path) {
            (Some(cert), Some(key)) => ServerIdentity::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            (None, None) if s.test_mode => ServerIdentity::SelfSigned,
            (None, None) => {
                return Err(TlsError::new(format!(
                    "tls.server.mode={} with tls.test.mode.enable=false needs tls.server.certPath and tls.server.keyPath (or tls.server.mode=disabled)",
                    s.server_mode.name()
                )))
            }
            _ => {
                return Err(TlsError::new(
                    "tls.server.certPath and tls.server.keyPath must be set together",
                ))
            }
        };
        TlsServer::new(
            s.server_mode,
            &identity,
            s.server_need_client_auth,
            s.server_trust_cert_path.as_deref(),
        )
    }

    /// The client side of outgoing connections, `None` when they are plaintext.
    pub fn client(&self) -> Result<Option<TlsClient>, TlsError> {
        if !self.outgoing_tls() {
            return Ok(None);
        }
        let s = self.with_config_file()?;
        if s.client_key_password
            .as_deref()
            .is_some_and(|p| !p.is_empty())
        {
            return Err(TlsError::new(
                "tls.client.keyPassword: encrypted private keys are not supported; give an unencrypted PEM key in tls.client.keyPath",
            ));
        }
        // RocketMQ: test mode, or authServer=false, trusts any server certificate.
        let trust = match (
            &s.client_trust_cert_path,
            s.client_auth_server && !s.test_mode,
        ) {
            (Some(ca), true) => ServerTrust::CaFile(ca.clone()),
            (None, true) => {
                return Err(TlsError::new(
                    "tls.client.authServer=true needs tls.client.trustCertPath",
                ))
            }
            (_, false) => ServerTrust::InsecureSkipVerify,
        };
        let identity = match (&s.client_cert_path, &s.client_key_path) {
            (Some(c), Some(k)) if !s.test_mode => Some((c.as_path(), k.as_path())),
            _ => None,
        };
        TlsClient::new(&trust, identity).map(Some)
    }

    /// What a start-up line says about TLS.
    pub fn describe(&self) -> String {
        format!(
            "tls.server.mode={}, outgoing TLS {}",
            self.server_mode.name(),
            if self.outgoing_tls() { "on" } else { "off" }
        )
    }
}
