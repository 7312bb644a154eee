//! State every request handler and background task of a controller node sees.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_net::RemotingClient;
use openraft::ServerState;
use parking_lot::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;

use crate::config::{ControllerConfig, Peer};
use crate::error::RequestError;
use crate::heartbeat::HeartbeatTable;
use crate::raft::state_machine::MachineState;
use crate::raft::{ControllerRaft, NodeId};
use crate::replicas::{Command, Outcome};

/// How long a request waits for Raft (RocketMQ's `WAIT_TIMEOUT_OUT`, 5 s).
pub(crate) const COMMIT_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct Shared {
    pub(crate) config: RwLock<ControllerConfig>,
    pub(crate) self_id: NodeId,
    /// Every peer with its node id.
    pub(crate) peers: Vec<(NodeId, Peer)>,
    pub(crate) raft: ControllerRaft,
    pub(crate) state: Arc<RwLock<MachineState>>,
    pub(crate) heartbeats: Mutex<HeartbeatTable>,
    /// Connections to brokers for role-change notices.
    pub(crate) notifier: RemotingClient,
    /// Wakes the scan task early (a broker's connection closed).
    pub(crate) wake_scan: tokio::sync::Notify,
    pub(crate) shutdown: CancellationToken,
    /// When this node started (the dead-master scan gives unseen masters a grace period).
    pub(crate) started: Instant,
}

impl Shared {
    /// The peer entry of node `id`.
    pub(crate) fn peer(&self, id: NodeId) -> Option<&Peer> {
        self.peers.iter().find(|(i, _)| *i == id).map(|(_, p)| p)
    }

    /// The current leader as this node knows it.
    pub(crate) fn leader(&self) -> Option<Peer> {
        let leader = self.raft.metrics().borrow().current_leader?;
        self.peer(leader).cloned()
    }

    /// True when this node believes it leads (without a round trip).
    pub(crate) fn is_leader(&self) -> bool {
        let m = self.raft.metrics().borrow().clone();
        m.state == ServerState::Leader && m.current_leader == Some(self.self_id)
    }

    fn not_leader(&self) -> RequestError {
        RequestError::NotLeader {
            leader: self.leader().filter(|p| self.peer(self.self_id) != Some(p)),
        }
    }

    /// Confirms with a quorum that this node still leads and waits until its state machine
    /// has applied everything committed before now, so reads are never stale.
    pub(crate) async fn ensure_leader(&self) -> Result<(), RequestError> {
        if !self.is_leader() {
            return Err(self.not_leader());
        }
        match tokio::time::timeout(COMMIT_TIMEOUT, self.raft.ensure_linearizable()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(self.not_leader()),
            Err(_) => Err(RequestError::Timeout {
                millis: COMMIT_TIMEOUT.as_millis() as u64,
            }),
        }
    }

    /// Replicates `cmd` and returns what applying it did.
    pub(crate) async fn propose(&self, cmd: Command) -> Result<Outcome, RequestError> {
        if !self.is_leader() {
            return Err(self.not_leader());
        }
        match tokio::time::timeout(COMMIT_TIMEOUT, self.raft.client_write(cmd)).await {
            Ok(Ok(resp)) => Ok(resp.data),
            Ok(Err(e)) => {
                if e.forward_to_leader::<crate::raft::PeerNode>().is_some() {
                    Err(self.not_leader())
                } else {
                    Err(RequestError::Raft {
                        reason: e.to_string(),
                    })
                }
            }
            Err(_) => Err(RequestError::Timeout {
                millis: COMMIT_TIMEOUT.as_millis() as u64,
            }),
        }
    }

    /// Cluster name of a broker set, from the state machine (empty when unknown).
    pub(crate) fn cluster_of(&self, broker_name: &str) -> String {
        self.state
            .read()
            .table
            .get(broker_name)
            .map(|s| s.cluster_name.clone())
            .unwrap_or_default()
    }

    /// Live replica ids of a set.
    pub(crate) fn alive_ids(&self, cluster: &str, broker_name: &str) -> BTreeSet<i64> {
        self.heartbeats
            .lock()
            .alive_ids(cluster, broker_name, Instant::now())
    }

    /// Live replica ids of a set, best election candidate first.
    pub(crate) fn ranked_alive(&self, cluster: &str, broker_name: &str) -> Vec<i64> {
        self.heartbeats
            .lock()
            .ranked_alive(cluster, broker_name, Instant::now())
    }
}
