//! Client side: one connection per peer address, created on first use.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferromq_proto::RemotingCommand;
use tokio::net::TcpStream;

use crate::connection::{spawn, BoxFuture, ConnectionConfig, ConnectionHandle, Handler};
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

/// A pool of connections keyed by `host:port`.
#[derive(Clone)]
pub struct RemotingClient {
    handler: Arc<dyn Handler>,
    config: ConnectionConfig,
    connect_timeout: Duration,
    conns: Arc<tokio::sync::Mutex<HashMap<String, ConnectionHandle>>>,
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
            conns: Arc::default(),
        }
    }

    /// The live connection to `addr`, connecting when needed.
    pub async fn connection(&self, addr: &str) -> Result<ConnectionHandle, NetError> {
        let mut conns = self.conns.lock().await;
        if let Some(c) = conns.get(addr) {
            if !c.is_closed() {
                return Ok(c.clone());
            }
        }
        let stream =
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => s,
                Ok(Err(source)) => {
                    return Err(NetError::Connect {
                        addr: addr.to_owned(),
                        source,
                    })
                }
                Err(_) => {
                    return Err(NetError::ConnectTimeout {
                        addr: addr.to_owned(),
                    })
                }
            };
        let conn =
            spawn(stream, Arc::clone(&self.handler), self.config.clone()).map_err(|source| {
                NetError::Connect {
                    addr: addr.to_owned(),
                    source,
                }
            })?;
        conns.insert(addr.to_owned(), conn.clone());
        Ok(conn)
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
        if let Some(c) = self.conns.lock().await.remove(addr) {
            c.close();
        }
    }

    /// Closes every connection.
    pub async fn close_all(&self) {
        for (_, c) in self.conns.lock().await.drain() {
            c.close();
        }
    }
}
