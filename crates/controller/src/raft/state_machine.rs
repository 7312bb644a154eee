//! The state machine: the [`ReplicaTable`] in memory, plus the latest snapshot in
//! `snapshot.json` under `controllerStorePath`.
//!
//! The table is small (a few entries per broker set), so a snapshot is the whole table as JSON.
//! On start the snapshot file is loaded and openraft re-applies the committed entries after it
//! from the log; a follower that fell behind the leader's purged log receives the snapshot in
//! chunks over [`crate::codes::raft::INSTALL_SNAPSHOT`].

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{
    AnyError, Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, StorageError,
    StorageIOError, StoredMembership,
};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use super::log_store::write_atomically;
use super::{NodeId, PeerNode, TypeConfig};
use crate::replicas::{Outcome, ReplicaTable};
use crate::ControllerError;

const SNAPSHOT_FILE: &str = "snapshot.json";

/// What the state machine holds; readable by request handlers through [`StateMachineStore::state`].
#[derive(Debug, Clone, Default)]
pub struct MachineState {
    /// Last entry applied.
    pub last_applied: Option<LogId<NodeId>>,
    /// Membership as of `last_applied`.
    pub membership: StoredMembership<NodeId, PeerNode>,
    /// The broker sets.
    pub table: ReplicaTable,
}

#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    meta: SnapshotMeta<NodeId, PeerNode>,
    table: ReplicaTable,
}

#[derive(Clone)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, PeerNode>,
    data: Vec<u8>,
}

/// The state machine store; clones share it (a clone is also the snapshot builder).
#[derive(Clone)]
pub struct StateMachineStore {
    state: Arc<RwLock<MachineState>>,
    current: Arc<Mutex<Option<StoredSnapshot>>>,
    dir: PathBuf,
    seq: Arc<AtomicU64>,
}

fn sm_err(e: &(impl std::error::Error + 'static)) -> StorageError<NodeId> {
    StorageIOError::write_state_machine(AnyError::new(e)).into()
}

impl StateMachineStore {
    /// Opens the state machine under `dir`, loading `snapshot.json` when present.
    pub fn open(dir: &Path) -> Result<Self, ControllerError> {
        let path = dir.join(SNAPSHOT_FILE);
        let mut state = MachineState::default();
        let mut current = None;
        match std::fs::read(&path) {
            Ok(bytes) => {
                let file: SnapshotFile =
                    serde_json::from_slice(&bytes).map_err(|e| ControllerError::Corrupt {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })?;
                let data = serde_json::to_vec(&file.table).unwrap_or_default();
                state = MachineState {
                    last_applied: file.meta.last_log_id,
                    membership: file.meta.last_membership.clone(),
                    table: file.table,
                };
                current = Some(StoredSnapshot {
                    meta: file.meta,
                    data,
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(ControllerError::Store {
                    path: path.display().to_string(),
                    source,
                })
            }
        }
        Ok(StateMachineStore {
            state: Arc::new(RwLock::new(state)),
            current: Arc::new(Mutex::new(current)),
            dir: dir.to_owned(),
            seq: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The live state, shared with the request handlers (read it, never hold it across await).
    pub fn state(&self) -> Arc<RwLock<MachineState>> {
        Arc::clone(&self.state)
    }

    async fn persist(
        &self,
        meta: SnapshotMeta<NodeId, PeerNode>,
        table: ReplicaTable,
    ) -> Result<(), StorageError<NodeId>> {
        let file = SnapshotFile { meta, table };
        let bytes = serde_json::to_vec(&file).map_err(|e| sm_err(&e))?;
        let path = self.dir.join(SNAPSHOT_FILE);
        match tokio::task::spawn_blocking(move || write_atomically(&path, &bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(sm_err(&e)),
            Err(e) => Err(sm_err(&e)),
        }
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let (last, membership, table) = {
            let s = self.state.read();
            (s.last_applied, s.membership.clone(), s.table.clone())
        };
        let data = serde_json::to_vec(&table).map_err(|e| sm_err(&e))?;
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let meta = SnapshotMeta {
            last_log_id: last,
            last_membership: membership,
            snapshot_id: format!("{}-{seq}", last.map_or(0, |l| l.index)),
        };
        self.persist(meta.clone(), table).await?;
        *self.current.lock() = Some(StoredSnapshot {
            meta: meta.clone(),
            data: data.clone(),
        });
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = StateMachineStore;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, PeerNode>), StorageError<NodeId>>
    {
        let s = self.state.read();
        Ok((s.last_applied, s.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Outcome>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut s = self.state.write();
        let mut out = Vec::new();
        for entry in entries {
            s.last_applied = Some(entry.log_id);
            out.push(match entry.payload {
                EntryPayload::Blank => Outcome::Nothing,
                EntryPayload::Normal(cmd) => s.table.apply(&cmd),
                EntryPayload::Membership(m) => {
                    s.membership = StoredMembership::new(Some(entry.log_id), m);
                    Outcome::Nothing
                }
            });
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, PeerNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let data = snapshot.into_inner();
        let table: ReplicaTable = serde_json::from_slice(&data).map_err(|e| {
            StorageError::from(StorageIOError::read_snapshot(
                Some(meta.signature()),
                AnyError::new(&e),
            ))
        })?;
        self.persist(meta.clone(), table.clone()).await?;
        {
            let mut s = self.state.write();
            s.last_applied = meta.last_log_id;
            s.membership = meta.last_membership.clone();
            s.table = table;
        }
        *self.current.lock() = Some(StoredSnapshot {
            meta: meta.clone(),
            data,
        });
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        Ok(self.current.lock().clone().map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}
