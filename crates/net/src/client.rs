//! Client side: one connection per peer address, created on first use.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferromq_proto::RemotingCommand;
use tokio::net::TcpStream;

use crate::connection::{
    spawn, spawn_client_tls, BoxFuture, ConnectionConfig, ConnectionHandle, Handler,
};
use crate::tls::TlsClient;
use crate::NetError;

struct NoRequests;

impl Handler for NoRequests {
    fn handle(
        &self,
        _conn: ConnectionHandle,
        request: RemotingCommand,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        let resp = request.response_to(
            ferromq_proto::codes::response::REQUEST_CODE_NOT_SUPPORTED,
            Some(format!(" request type {} not supported", request.code)),
        );
        Box::pin(async move { Some(resp) })
    }
}

/// One address's slot: the live connection, behind a lock held only while connecting, so a slow
/// or dead peer delays only the calls to that address.
type Slot = Arc<tokio::sync::Mutex<Option<ConnectionHandle>>>;

/// A pool of connections keyed by `host:port`.
#[derive(Clone)]
pub struct RemotingClient {
    handler: Arc<dyn Handler>,
    config: ConnectionConfig,
    connect_timeout: Duration,
    tls: Option<TlsClient>,
    slots: Arc<parking_lot::Mutex<HashMap<String, Slot>>>,
}

impl Default for RemotingClient {
    fn default() -> Self {
        Self::new(Arc::new(NoRequests))
    }
}

impl RemotingClient {
    /// A client whose connections pass requests from servers to `handler`.
    pub fn new(handler: Arc<dyn Handler>) -> Self {
        RemotingClient {
            handler,
            config: ConnectionConfig {
                idle_timeout: None,
                ..Default::default()
            },
            connect_timeout: Duration::from_secs(3),
            tls: None,
            slots: Arc::default(),
        }
    }

    /// This client, connecting with TLS per `tls` (`None`: plaintext).
    pub fn with_tls(mut self, tls: Option<TlsClient>) -> Self {
        self.tls = tls;
        self
    }

    /// True when this client connects with TLS.
    pub fn uses_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The live connection to `addr`, connecting when needed.
    pub async fn connection(&self, addr: &str) -> Result<ConnectionHandle, NetError> {
        let slot = Arc::clone(self.slots.lock().entry(addr.to_owned()).or_default());
        let mut conn = slot.lock().await;
        if let Some(c) = conn.as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let connect = async {
            let stream = TcpStream::connect(addr)
                .await
                .map_err(|source| NetError::Connect {
                    addr: addr.to_owned(),
                    source,
                })?;
            let fresh = match &self.tls {
                None => spawn(stream, Arc::clone(&self.handler), self.config.clone()),
                Some(tls) => {
                    let stream = tls.connect(addr, stream).await.map_err(|e| NetError::Tls {
                        addr: addr.to_owned(),
                        reason: e.to_string(),
                    })?;
                    spawn_client_tls(stream, Arc::clone(&self.handler), self.config.clone())
                }
            };
            fresh.map_err(|source| NetError::Connect {
                addr: addr.to_owned(),
                source,
            })
        };
        let fresh = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(NetError::ConnectTimeout {
                    addr: addr.to_owned(),
                })
            }
        };
        *conn = Some(fresh.clone());
        Ok(fresh)
    }

    /// Sends `cmd` to `addr` and waits for the response, at most `timeout` (connecting included).
    pub async fn invoke(
        &self,
        addr: &str,
        cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, NetError> {
        let code = cmd.code;
        let fut = async {
            let conn = self.connection(addr).await?;
            conn.invoke(cmd, timeout).await
        };
        match tokio::time::timeout(timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(NetError::Timeout {
                code,
                addr: addr.to_owned(),
                timeout,
            }),
        }
    }

    /// Sends `cmd` to `addr` one-way.
    pub async fn invoke_oneway(&self, addr: &str, cmd: RemotingCommand) -> Result<(), NetError> {
        self.connection(addr).await?.send_oneway(cmd)
    }

    /// Closes the connection to `addr`, if any.
    pub async fn close(&self, addr: &str) {
        let slot = self.slots.lock().remove(addr);
        if let Some(slot) = slot {
            if let Some(c) = slot.lock().await.take() {
                c.close();
            }
        }
    }

    /// Closes every connection.
    pub async fn close_all(&self) {
        let slots: Vec<Slot> = self.slots.lock().drain().map(|(_, s)| s).collect();
        for slot in slots {
            if let Some(c) = slot.lock().await.take() {
                c.close();
            }
        }
    }
}
