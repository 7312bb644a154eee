//! Request/response plumbing shared by the admin client, the producer and the consumer: a
//! connection pool, the name-server list and the default deadline.

use std::sync::Arc;
use std::time::Duration;

use ferromq_net::RemotingClient;
use ferromq_proto::body::JsonBody;
use ferromq_proto::codes::response;
use ferromq_proto::{CommandHeader, RemotingCommand};

use crate::{ClientError, NameServerList};

/// Default deadline of one call (Java admin tools use 5 s, producers 3 s per send).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections plus the name servers; cheap to clone.
#[derive(Clone)]
pub struct Rpc {
    remoting: RemotingClient,
    namesrv: Arc<NameServerList>,
    timeout: Duration,
}

impl Rpc {
    /// A new pool that talks to `namesrv`, with `timeout` per call.
    pub fn new(namesrv: NameServerList, timeout: Duration) -> Self {
        Rpc {
            remoting: RemotingClient::default(),
            namesrv: Arc::new(namesrv),
            timeout,
        }
    }

    /// Same as [`Rpc::new`] over an existing connection pool.
    pub fn with_remoting(
        remoting: RemotingClient,
        namesrv: NameServerList,
        timeout: Duration,
    ) -> Self {
        Rpc {
            remoting,
            namesrv: Arc::new(namesrv),
            timeout,
        }
    }

    /// The name servers.
    pub fn namesrv(&self) -> &NameServerList {
        &self.namesrv
    }

    /// The default deadline.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The connection pool.
    pub fn remoting(&self) -> &RemotingClient {
        &self.remoting
    }

    /// Sends `cmd` to `addr` and returns whatever response comes back (any code).
    pub async fn call(
        &self,
        addr: &str,
        cmd: RemotingCommand,
    ) -> Result<RemotingCommand, ClientError> {
        self.call_timeout(addr, cmd, self.timeout).await
    }

    /// [`Rpc::call`] with an explicit deadline.
    pub async fn call_timeout(
        &self,
        addr: &str,
        cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, ClientError> {
        crate::namesrv::check_addr(addr)?;
        Ok(self.remoting.invoke(addr, cmd, timeout).await?)
    }

    /// Sends `cmd` to `addr` and fails unless the response is `SUCCESS`.
    pub async fn call_ok(
        &self,
        addr: &str,
        cmd: RemotingCommand,
    ) -> Result<RemotingCommand, ClientError> {
        expect_success(self.call(addr, cmd).await?)
    }

    /// Sends `cmd` one-way to `addr`.
    pub async fn oneway(&self, addr: &str, cmd: RemotingCommand) -> Result<(), ClientError> {
        crate::namesrv::check_addr(addr)?;
        Ok(self.remoting.invoke_oneway(addr, cmd).await?)
    }

    /// Sends `cmd` to the name servers in turn until one answers; returns that answer (any
    /// code). Transport failures move on to the next name server; when all fail, the last
    /// failure is returned.
    pub async fn call_namesrv(&self, cmd: RemotingCommand) -> Result<RemotingCommand, ClientError> {
        let mut last = ClientError::NoNameServer;
        for addr in self.namesrv.rotation() {
            match self.remoting.invoke(addr, cmd.clone(), self.timeout).await {
                Ok(resp) => return Ok(resp),
                Err(e) => {
                    tracing::debug!(namesrv = addr, error = %e, "name server unreachable, trying the next");
                    last = e.into();
                }
            }
        }
        Err(last)
    }

    /// [`Rpc::call_namesrv`], failing unless the answer is `SUCCESS`.
    pub async fn call_namesrv_ok(
        &self,
        cmd: RemotingCommand,
    ) -> Result<RemotingCommand, ClientError> {
        expect_success(self.call_namesrv(cmd).await?)
    }
}

/// Passes a `SUCCESS` response through; any other code becomes [`ClientError::Broker`].
pub fn expect_success(resp: RemotingCommand) -> Result<RemotingCommand, ClientError> {
    if resp.code == response::SUCCESS {
        Ok(resp)
    } else {
        Err(ClientError::from_response(&resp))
    }
}

/// Decodes the JSON body of a success response.
pub fn decode_body<T: JsonBody>(
    resp: &RemotingCommand,
    what: &'static str,
) -> Result<T, ClientError> {
    if resp.body.is_empty() {
        return Err(ClientError::MissingBody { what });
    }
    T::from_json(&resp.body).map_err(|source| ClientError::Body { what, source })
}

/// Decodes the typed header of a response.
pub fn decode_header<H: CommandHeader>(
    resp: &RemotingCommand,
    what: &'static str,
) -> Result<H, ClientError> {
    resp.decode_header::<H>()
        .map_err(|source| ClientError::Header { what, source })
}
