//! openraft's RPCs over FerroMQ remoting.
//!
//! Each RPC is one request whose code is in [`crate::codes::raft`] and whose body is the
//! openraft request as JSON; the response is SUCCESS with `Result<response, RaftError>` as JSON.
//! A body that does not decode gets SYSTEM_ERROR and never reaches Raft.

use std::time::Duration;

use ferromq_net::{NetError, RemotingClient};
use ferromq_proto::RemotingCommand;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{ControllerRaft, NodeId, PeerNode, TypeConfig};
use crate::codes::{raft as code, response};

/// Makes one [`PeerConnection`] per target; all share one connection pool.
#[derive(Clone, Default)]
pub struct NetworkFactory {
    client: RemotingClient,
}

impl NetworkFactory {
    /// Closes every connection to peers.
    pub async fn close(&self) {
        self.client.close_all().await;
    }
}

/// The way to one peer.
pub struct PeerConnection {
    target: NodeId,
    addr: String,
    client: RemotingClient,
}

/// A peer answered an RPC with an error code instead of a Raft result.
#[derive(Debug, thiserror::Error)]
#[error("peer answered code {code}: {remark}")]
struct Refused {
    code: i32,
    remark: String,
}

impl PeerConnection {
    async fn call<Req, Resp, E>(
        &self,
        code: i32,
        req: &Req,
        timeout: Duration,
    ) -> Result<Resp, RPCError<NodeId, PeerNode, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let body = serde_json::to_vec(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let cmd = RemotingCommand::bare_request(code).with_body(body);
        let resp = match self.client.invoke(&self.addr, cmd, timeout).await {
            Ok(r) => r,
            Err(e @ (NetError::Connect { .. } | NetError::ConnectTimeout { .. })) => {
                return Err(RPCError::Unreachable(Unreachable::new(&e)))
            }
            Err(e) => return Err(RPCError::Network(NetworkError::new(&e))),
        };
        if resp.code != response::SUCCESS {
            let e = Refused {
                code: resp.code,
                remark: resp.remark.unwrap_or_default(),
            };
            return Err(RPCError::Network(NetworkError::new(&e)));
        }
        let result: Result<Resp, RaftError<NodeId, E>> = serde_json::from_slice(&resp.body)
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &PeerNode) -> Self::Network {
        PeerConnection {
            target,
            addr: node.addr.clone(),
            client: self.client.clone(),
        }
    }
}

impl RaftNetwork<TypeConfig> for PeerConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, PeerNode, RaftError<NodeId>>> {
        self.call(code::APPEND_ENTRIES, &rpc, option.hard_ttl())
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, PeerNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call(code::INSTALL_SNAPSHOT, &rpc, option.hard_ttl())
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, PeerNode, RaftError<NodeId>>> {
        self.call(code::VOTE, &rpc, option.hard_ttl()).await
    }
}

fn reply<T: Serialize>(request: &RemotingCommand, value: &T) -> RemotingCommand {
    match serde_json::to_vec(value) {
        Ok(body) => request.success_to().with_body(body),
        Err(e) => request.response_to(response::SYSTEM_ERROR, Some(e.to_string())),
    }
}

fn malformed(request: &RemotingCommand, e: &serde_json::Error) -> RemotingCommand {
    request.response_to(
        response::SYSTEM_ERROR,
        Some(format!("malformed raft request {}: {e}", request.code)),
    )
}

/// Serves one Raft RPC arriving from a peer.
pub async fn serve(raft: &ControllerRaft, request: &RemotingCommand) -> RemotingCommand {
    match request.code {
        code::APPEND_ENTRIES => match serde_json::from_slice(&request.body) {
            Ok(rpc) => reply(request, &raft.append_entries(rpc).await),
            Err(e) => malformed(request, &e),
        },
        code::VOTE => match serde_json::from_slice(&request.body) {
            Ok(rpc) => reply(request, &raft.vote(rpc).await),
            Err(e) => malformed(request, &e),
        },
        code::INSTALL_SNAPSHOT => match serde_json::from_slice(&request.body) {
            Ok(rpc) => reply(request, &raft.install_snapshot(rpc).await),
            Err(e) => malformed(request, &e),
        },
        other => request.response_to(
            response::REQUEST_CODE_NOT_SUPPORTED,
            Some(format!(" request type {other} not supported")),
        ),
    }
}
