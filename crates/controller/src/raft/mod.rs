//! Raft plumbing: the openraft type configuration, node ids, and the openraft settings.
//!
//! * [`log_store`]: the append-only log file with the vote and the committed id.
//! * [`state_machine`]: the [`ReplicaTable`](crate::replicas::ReplicaTable) plus snapshots.
//! * [`network`]: openraft's RPCs over FerroMQ remoting (codes in [`crate::codes::raft`]).

pub mod log_store;
pub mod network;
pub mod state_machine;

use std::io::Cursor;

use serde::{Deserialize, Serialize};

use crate::config::ControllerConfig;
use crate::replicas::{Command, Outcome};

/// A controller node as openraft sees it: the peer's name and address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerNode {
    /// Name in `controllerDLegerPeers` (`n0`).
    pub name: String,
    /// `host:port`.
    pub addr: String,
}

/// openraft's node id: a 64-bit FNV-1a hash of the peer name, so every node derives the same id
/// for a peer whatever order the peers are listed in.
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// The controller's openraft types: commands in, outcomes out, JSON snapshots in memory.
    pub TypeConfig:
        D = Command,
        R = Outcome,
        NodeId = NodeId,
        Node = PeerNode,
        SnapshotData = Cursor<Vec<u8>>,
);

/// The Raft handle of a controller node.
pub type ControllerRaft = openraft::Raft<TypeConfig>;

/// The node id of the peer named `name`.
pub fn node_id(name: &str) -> NodeId {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.as_bytes() {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// openraft settings from the controller config.
pub fn raft_config(config: &ControllerConfig) -> openraft::Config {
    openraft::Config {
        cluster_name: if config.group.is_empty() {
            "ferromq-controller".into()
        } else {
            config.group.clone()
        },
        heartbeat_interval: config.raft_heartbeat_interval_ms,
        election_timeout_min: config.raft_election_timeout_min_ms,
        election_timeout_max: config.raft_election_timeout_max_ms,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(config.raft_snapshot_logs),
        max_in_snapshot_log_to_keep: config.raft_snapshot_logs,
        // Chunks travel as JSON arrays of numbers (up to 4 bytes per byte): 1 MiB keeps every
        // frame far below the 16 MiB frame limit.
        snapshot_max_chunk_size: 1024 * 1024,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_stable_and_distinct() {
        assert_eq!(node_id("n0"), node_id("n0"));
        assert_ne!(node_id("n0"), node_id("n1"));
        // Pinned: a change would orphan every stored vote and log.
        assert_eq!(node_id(""), 0xcbf2_9ce4_8422_2325);
    }
}
