//! Where a consumer keeps its progress (Java `OffsetStore`): on the brokers for clustering
//! (`RemoteBrokerOffsetStore`), in a local file for broadcasting (`LocalFileOffsetStore`,
//! `<dir>/<clientId>/<group>/offsets.json`, the `{"offsetTable":{queue:offset}}` form Java
//! writes).
//!
//! Both keep the consumed offsets in memory ([`OffsetStore::update`]); `persist` writes them out
//! (every 5 s and at shutdown). Reading "from the store" asks the broker or the file, and answers
//! `None` when there is no offset yet.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferromq_proto::body::{JsonBody, MessageQueue, ResetOffsetBody};
use parking_lot::Mutex;

use crate::broker_api;
use crate::instance::ClientInstance;
use crate::ClientError;

/// The directory Java uses by default: `~/.rocketmq_offsets`.
pub fn default_local_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(".rocketmq_offsets")
}

/// A consumer's offsets.
pub(crate) struct OffsetStore {
    group: String,
    instance: Arc<ClientInstance>,
    table: Mutex<HashMap<MessageQueue, i64>>,
    /// `Some(file)` for a local store.
    file: Option<PathBuf>,
    /// Serialises writers of the local file.
    file_lock: tokio::sync::Mutex<()>,
}

impl OffsetStore {
    /// Offsets kept on the brokers.
    pub(crate) fn remote(group: &str, instance: Arc<ClientInstance>) -> Self {
        OffsetStore {
            group: group.to_owned(),
            instance,
            table: Mutex::default(),
            file: None,
            file_lock: tokio::sync::Mutex::const_new(()),
        }
    }

    /// Offsets kept in `<dir>/<clientId>/<group>/offsets.json`.
    pub(crate) fn local(group: &str, instance: Arc<ClientInstance>, dir: &Path) -> Self {
        let file = dir
            .join(instance.client_id())
            .join(group)
            .join("offsets.json");
        OffsetStore {
            group: group.to_owned(),
            instance,
            table: Mutex::default(),
            file: Some(file),
            file_lock: tokio::sync::Mutex::const_new(()),
        }
    }

    /// The local file, if this is a local store.
    pub(crate) fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Records `offset` (the next offset to consume) for `mq`; with `increase_only` an older
    /// offset does not replace a newer one.
    pub(crate) fn update(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        let mut t = self.table.lock();
        match t.get_mut(mq) {
            Some(cur) if increase_only && *cur >= offset => {}
            Some(cur) => *cur = offset,
            None => {
                t.insert(mq.clone(), offset);
            }
        }
    }

    /// The offset in memory (what running info reports as the commit offset).
    pub(crate) fn read_memory(&self, mq: &MessageQueue) -> Option<i64> {
        self.table.lock().get(mq).copied()
    }

    /// The stored offset: the broker's, or the file's. `Ok(None)` when there is none.
    pub(crate) async fn read_from_store(
        &self,
        mq: &MessageQueue,
    ) -> Result<Option<i64>, ClientError> {
        match &self.file {
            None => {
                let offset = broker_api::query_offset(
                    self.instance.rpc(),
                    self.instance.routes(),
                    &self.group,
                    mq,
                )
                .await?;
                Ok(offset.filter(|o| *o >= 0))
            }
            Some(path) => Ok(read_file(path)?.get(mq).copied()),
        }
    }

    /// Forgets the in-memory offset of `mq` (a queue this consumer no longer owns).
    pub(crate) fn remove(&self, mq: &MessageQueue) {
        self.table.lock().remove(mq);
    }

    /// Writes out the offsets of `mqs` (to their brokers, or the file). Returns the first error
    /// after trying every queue.
    pub(crate) async fn persist(&self, mqs: &[MessageQueue]) -> Result<(), ClientError> {
        let snapshot: Vec<(MessageQueue, i64)> = {
            let t = self.table.lock();
            mqs.iter()
                .filter_map(|mq| t.get(mq).map(|o| (mq.clone(), *o)))
                .collect()
        };
        match &self.file {
            None => {
                let mut first_err = None;
                for (mq, offset) in snapshot {
                    if let Err(e) = broker_api::update_offset(
                        self.instance.rpc(),
                        self.instance.routes(),
                        &self.group,
                        &mq,
                        offset,
                    )
                    .await
                    {
                        tracing::debug!(group = %self.group, queue = ?mq, error = %e, "offset commit failed");
                        first_err.get_or_insert(e);
                    }
                }
                first_err.map_or(Ok(()), Err)
            }
            Some(path) => {
                if snapshot.is_empty() {
                    return Ok(());
                }
                let _guard = self.file_lock.lock().await;
                let path = path.clone();
                tokio::task::spawn_blocking(move || {
                    let mut all = read_file(&path).unwrap_or_default();
                    all.extend(snapshot);
                    write_file(&path, &all)
                })
                .await
                .map_err(|e| ClientError::InvalidArgument {
                    reason: format!("offset file task failed: {e}"),
                })?
            }
        }
    }
}

fn io_err(path: &Path, what: &str, e: impl std::fmt::Display) -> ClientError {
    ClientError::InvalidArgument {
        reason: format!("{what} {}: {e}", path.display()),
    }
}

/// Reads a local offset file; a missing file is an empty table.
pub(crate) fn read_file(path: &Path) -> Result<BTreeMap<MessageQueue, i64>, ClientError> {
    match std::fs::read(path) {
        Ok(bytes) => ResetOffsetBody::from_json(&bytes)
            .map(|b| b.offset_table)
            .map_err(|e| io_err(path, "malformed offset file", e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(io_err(path, "cannot read", e)),
    }
}

/// Writes the table atomically: temp file, fsync, rename, fsync the directory.
fn write_file(path: &Path, table: &BTreeMap<MessageQueue, i64>) -> Result<(), ClientError> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, "cannot create", e))?;
    let tmp = path.with_extension("json.tmp");
    let body = ResetOffsetBody {
        offset_table: table.clone(),
    }
    .to_json();
    let mut f = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, "cannot create", e))?;
    f.write_all(&body)
        .and_then(|()| f.sync_all())
        .map_err(|e| io_err(&tmp, "cannot write", e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, "cannot rename onto", e))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::NameServerList;

    #[test]
    fn local_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/offsets.json");
        assert!(read_file(&path).unwrap().is_empty());
        let mut t = BTreeMap::new();
        t.insert(MessageQueue::new("T", "b", 0), 12);
        t.insert(MessageQueue::new("T", "b", 1), 7);
        write_file(&path, &t).unwrap();
        assert_eq!(read_file(&path).unwrap(), t);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\"offsetTable\":{"), "{text}");
    }

    #[tokio::test]
    async fn memory_offsets_only_grow_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let instance = ClientInstance::acquire(
            NameServerList::parse("127.0.0.1:1").unwrap(),
            "offset-store-test",
            Duration::from_secs(1),
            None,
            None,
        );
        let store = OffsetStore::local("g", Arc::clone(&instance), dir.path());
        let mq = MessageQueue::new("T", "b", 0);
        store.update(&mq, 10, true);
        store.update(&mq, 5, true);
        assert_eq!(store.read_memory(&mq), Some(10));
        store.update(&mq, 5, false);
        assert_eq!(store.read_memory(&mq), Some(5));
        assert_eq!(store.read_from_store(&mq).await.unwrap(), None);
        store.persist(std::slice::from_ref(&mq)).await.unwrap();
        assert_eq!(store.read_from_store(&mq).await.unwrap(), Some(5));
        assert!(store.file().unwrap().ends_with("g/offsets.json"));
        instance.release().await;
    }
}
