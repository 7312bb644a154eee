//! The FerroMQ controller: RocketMQ 5's "controller mode" (automatic master/slave failover),
//! wire-compatible with RocketMQ brokers and admin tools, replicated over its nodes with
//! [openraft](https://docs.rs/openraft) instead of DLedger.
//!
//! ```text
//! broker ──BROKER_HEARTBEAT (every node, 1 s)─────────────▶ HeartbeatTable (memory, per node)
//!        ──GET_NEXT_BROKER_ID / APPLY_BROKER_ID / REGISTER─┐
//!        ──ALTER_SYNC_STATE_SET / ELECT_MASTER────────────┤ leader only, else CONTROLLER_NOT_LEADER
//!                                                          ▼
//!                 Command (+ the leader's view of who is alive) ──openraft──▶ log on a quorum
//!                                                          ▼
//!                 ReplicaTable::apply on every node ──▶ Outcome ──▶ response
//! leader scan ──master expired, a replica alive──▶ ElectMaster ──▶ NOTIFY_BROKER_ROLE_CHANGED
//! controller ◀──Raft RPC 60001..60003 (JSON)──▶ controller   (same port as brokers use)
//! ```
//!
//! * [`config`]: [`ControllerConfig`] from `controller.conf` (RocketMQ's keys).
//! * [`replicas`]: the replicated state and its rules, deterministic and unit tested.
//! * [`raft`]: openraft types, the log file, the state machine with snapshots, the transport.
//! * [`heartbeat`]: broker liveness in memory.
//! * `handlers`: one module per request family; `scan`: expiry and automatic re-election.
//! * [`client::ControllerClient`]: what a broker uses to talk to the controllers.
//!
//! **Running a node.** `ControllerConfig::load(path)` then [`start`]; stop with
//! [`ControllerHandle::stop`]. Keys and defaults are RocketMQ's (`controllerDLegerGroup`,
//! `controllerDLegerPeers`, `controllerDLegerSelfId`, `controllerStorePath`,
//! `scanNotActiveBrokerInterval` 5000, `scanInactiveMasterInterval` 5000,
//! `electMasterMaxRetryCount` 3, `enableElectUncleanMaster` false, `notifyBrokerRoleChanged`
//! true); see `conf/controller/controller-n0.conf`.
//!
//! **Why validation happens when a command is applied.** RocketMQ checks a request against the
//! leader's state and then appends the resulting event, serialising everything through one
//! thread. Here the command itself goes into the log and every node judges it when applying it,
//! so concurrent requests are ordered by Raft and none is judged against a stale state. What
//! only the leader knows (which brokers are alive, best candidates first) travels inside the
//! command, so applying stays deterministic.
//!
//! **Raft RPC code range.** Nodes exchange openraft's AppendEntries (60001), Vote (60002) and
//! InstallSnapshot (60003) as remoting requests with JSON bodies; 60001..=60009 is reserved for
//! this ([`codes::raft`]). RocketMQ uses nothing in 60000..61000. A node serves brokers and its
//! peers on one port, the port of its own entry in `controllerDLegerPeers` (RocketMQ's DLedger
//! controller does the same; 9878 in RocketMQ's examples).
//!
//! **Reads** (replica info, sync state data, next broker id) are answered by the leader only,
//! after openraft's read-index check (`ensure_linearizable`), so a deposed leader never answers
//! with stale epochs. GET_METADATA_INFO and BROKER_HEARTBEAT are answered by every node.
//!
//! **openraft version.** Pinned to `=0.9.25`: 0.9 is openraft's stable line (0.10 is still
//! alpha and changes its storage traits between pre-releases); 0.9.25 builds warning-free on
//! Rust 1.95 with the features used here, `serde` (RPCs and log records as JSON) and
//! `storage-v2` (the `RaftLogStorage`/`RaftStateMachine` traits instead of the deprecated
//! combined `RaftStorage`). Snapshots use openraft's chunked `InstallSnapshot`.
//!
//! **Durability.** Entries and votes are fsynced before openraft counts them
//! ([`raft::log_store`]); snapshots are written atomically. A restarted node loads its snapshot,
//! replays its committed entries and catches up from the leader.

pub mod body;
pub mod client;
pub mod codes;
pub mod config;
mod error;
mod handlers;
pub mod headers;
pub mod heartbeat;
pub mod raft;
pub mod replicas;
mod scan;
mod shared;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use ferromq_net::{BoxFuture, ConnectionConfig, ConnectionHandle, Handler, RemotingClient};
use ferromq_proto::RemotingCommand;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use client::ControllerClient;
pub use config::{ControllerConfig, Peer};
pub use error::{ClientError, ControllerError, RequestError};

use crate::raft::log_store::LogStore;
use crate::raft::network::NetworkFactory;
use crate::raft::state_machine::StateMachineStore;
use crate::raft::{node_id, ControllerRaft, PeerNode};
use crate::replicas::BrokerSet;
use crate::shared::Shared;

/// A running controller node.
pub struct ControllerHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    network: NetworkFactory,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for ControllerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControllerHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ControllerHandle {
    /// The address the node listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// This node's name (`controllerDLegerSelfId`).
    pub fn name(&self) -> String {
        self.shared.config.read().self_id.clone()
    }

    /// True when this node currently leads the Raft group.
    pub fn is_leader(&self) -> bool {
        self.shared.is_leader()
    }

    /// The leader as this node knows it.
    pub fn leader(&self) -> Option<Peer> {
        self.shared.leader()
    }

    /// The broker set as this node's state machine holds it (no leader check: a follower may
    /// lag). For tests, admin views and diagnostics.
    pub fn broker_set(&self, broker_name: &str) -> Option<BrokerSet> {
        self.shared.state.read().table.get(broker_name).cloned()
    }

    /// Index of the last log entry applied to this node's state machine.
    pub fn last_applied_index(&self) -> Option<u64> {
        self.shared.state.read().last_applied.map(|l| l.index)
    }

    /// The openraft handle, for metrics and tests.
    pub fn raft(&self) -> &ControllerRaft {
        &self.shared.raft
    }

    /// Stops serving, stops the background tasks and shuts Raft down. Returns when done.
    /// (Dropping the handle only stops serving; Raft's own tasks then end with the runtime.)
    pub async fn stop(mut self) {
        self.shared.shutdown.cancel();
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
        if let Err(e) = self.shared.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
        self.network.close().await;
        self.shared.notifier.close_all().await;
        tracing::info!(addr = %self.addr, "controller stopped");
    }
}

impl Drop for ControllerHandle {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}

/// Starts a controller node listening on its own peer address (`controllerDLegerPeers` entry
/// of `controllerDLegerSelfId`).
///
/// Returns the running node, or an error when the config is invalid, the address cannot be
/// bound, or the store under `controllerStorePath` cannot be opened.
pub async fn start(config: ControllerConfig) -> Result<ControllerHandle, ControllerError> {
    config.validate()?;
    let addr = config
        .self_peer()
        .map(|p| p.addr.clone())
        .unwrap_or_default();
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|source| ControllerError::Bind { addr, source })?;
    start_on(listener, config).await
}

/// Like [`start`], on a listener the caller bound (tests bind every node's port first, then
/// write the peers list).
pub async fn start_on(
    listener: TcpListener,
    config: ControllerConfig,
) -> Result<ControllerHandle, ControllerError> {
    config.validate()?;
    let addr = listener
        .local_addr()
        .map_err(|source| ControllerError::Bind {
            addr: "listener".into(),
            source,
        })?;
    let log = LogStore::open(&config.store_path)?;
    let machine = StateMachineStore::open(&config.store_path)?;
    let state = machine.state();
    let raft_config = raft::raft_config(&config)
        .validate()
        .map_err(|e| ControllerError::Raft {
            reason: e.to_string(),
        })?;
    let peers: Vec<(raft::NodeId, Peer)> = config
        .peers
        .iter()
        .map(|p| (node_id(&p.name), p.clone()))
        .collect();
    let self_id = node_id(&config.self_id);
    let network = NetworkFactory::default();
    let raft = ControllerRaft::new(
        self_id,
        Arc::new(raft_config),
        network.clone(),
        log,
        machine,
    )
    .await
    .map_err(|e| ControllerError::Raft {
        reason: e.to_string(),
    })?;
    let initialized = raft
        .is_initialized()
        .await
        .map_err(|e| ControllerError::Raft {
            reason: e.to_string(),
        })?;
    if !initialized {
        // Every node initialises with the same static membership; openraft accepts that, and a
        // node that already received the membership from a leader refuses harmlessly.
        let members: BTreeMap<raft::NodeId, PeerNode> = peers
            .iter()
            .map(|(id, p)| {
                (
                    *id,
                    PeerNode {
                        name: p.name.clone(),
                        addr: p.addr.clone(),
                    },
                )
            })
            .collect();
        if let Err(e) = raft.initialize(members).await {
            tracing::debug!(error = %e, "raft already initialised");
        }
    }
    let shutdown = CancellationToken::new();
    let shared = Arc::new(Shared {
        config: parking_lot::RwLock::new(config),
        self_id,
        peers,
        raft,
        state,
        heartbeats: parking_lot::Mutex::default(),
        notifier: RemotingClient::default(),
        wake_scan: tokio::sync::Notify::new(),
        shutdown: shutdown.clone(),
        started: std::time::Instant::now(),
    });
    let handler: Arc<dyn Handler> = Arc::new(ControllerHandler {
        shared: Arc::clone(&shared),
    });
    let serve = tokio::spawn(ferromq_net::serve(
        listener,
        handler,
        ConnectionConfig::default(),
        shutdown,
    ));
    let scan = tokio::spawn(scan::run(Arc::clone(&shared)));
    tracing::info!(%addr, node = %shared.config.read().self_id, "controller listening");
    Ok(ControllerHandle {
        addr,
        shared,
        network,
        tasks: vec![serve, scan],
    })
}

struct ControllerHandler {
    shared: Arc<Shared>,
}

impl Handler for ControllerHandler {
    fn handle(
        &self,
        conn: ConnectionHandle,
        request: RemotingCommand,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        let shared = Arc::clone(&self.shared);
        Box::pin(async move { Some(handlers::dispatch(&shared, &conn, &request).await) })
    }

    fn on_close(&self, conn: &ConnectionHandle) {
        let gone = self.shared.heartbeats.lock().remove_connection(conn.id());
        if !gone.is_empty() {
            for k in &gone {
                tracing::info!(
                    broker = %k.broker_name, id = k.broker_id,
                    "broker connection closed: replica inactive"
                );
            }
            self.shared.wake_scan.notify_one();
        }
    }
}
