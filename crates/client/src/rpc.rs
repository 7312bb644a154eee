//! Request/response plumbing shared by the admin client, the producer and the consumer: a
//! connection pool, the name-server list, the default deadline and, for brokers with ACL,
//! the [`Credentials`] every request is signed with.

use std::sync::Arc;
use std::time::Duration;

use ferromq_net::RemotingClient;
use ferromq_proto::body::JsonBody;
use ferromq_proto::codes::response;
use ferromq_proto::{CommandHeader, RemotingCommand};

use crate::{ClientError, NameServerList};

/// Default deadline of one call (Java admin tools use 5 s, producers 3 s per send).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// An ACL account of RocketMQ 4.x (`plain_acl.yml`): every request is signed with it as Java's
/// `AclClientRPCHook` signs (see [`ferromq_proto::acl`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    access_key: String,
    secret_key: String,
}

impl Credentials {
    /// An account's access key and secret key.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
        }
    }

    /// The access key.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// Adds `AccessKey` and `Signature` to `cmd`; call it once the header and body are final.
    pub fn sign(&self, cmd: &mut RemotingCommand) {
        ferromq_proto::acl::sign(cmd, &self.access_key, &self.secret_key);
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// Connections plus the name servers; cheap to clone.
#[derive(Clone)]
pub struct Rpc {
    remoting: RemotingClient,
    namesrv: Arc<NameServerList>,
    timeout: Duration,
    credentials: Option<Arc<Credentials>>,
}

impl Rpc {
    /// A new pool that talks to `namesrv`, with `timeout` per call.
    pub fn new(namesrv: NameServerList, timeout: Duration) -> Self {
        Rpc {
            remoting: RemotingClient::default(),
            namesrv: Arc::new(namesrv),
            timeout,
            credentials: None,
        }
    }

    /// The same pool signing every request with `credentials` (none: unsigned).
    pub fn with_credentials(mut self, credentials: Option<Credentials>) -> Self {
        self.credentials = credentials.map(Arc::new);
        self
    }

    /// The credentials requests are signed with, if any.
    pub fn credentials(&self) -> Option<&Arc<Credentials>> {
        self.credentials.as_ref()
    }

    /// Signs `cmd` when this pool has credentials.
    pub fn sign(&self, cmd: &mut RemotingCommand) {
        if let Some(c) = &self.credentials {
            c.sign(cmd);
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
            credentials: None,
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
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, ClientError> {
        crate::namesrv::check_addr(addr)?;
        self.sign(&mut cmd);
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
    pub async fn oneway(&self, addr: &str, mut cmd: RemotingCommand) -> Result<(), ClientError> {
        crate::namesrv::check_addr(addr)?;
        self.sign(&mut cmd);
        Ok(self.remoting.invoke_oneway(addr, cmd).await?)
    }

    /// Sends `cmd` to the name servers in turn until one answers; returns that answer (any
    /// code). Transport failures move on to the next name server; when all fail, the last
    /// failure is returned.
    pub async fn call_namesrv(
        &self,
        mut cmd: RemotingCommand,
    ) -> Result<RemotingCommand, ClientError> {
        // Java signs name-server requests too; name servers ignore the fields.
        self.sign(&mut cmd);
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
