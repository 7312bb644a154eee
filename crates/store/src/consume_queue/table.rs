//! All consume queues of a store, by topic and queue id.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use super::ConsumeQueue;
use crate::{FastMap, QueueOffsets, StoreError};

type QueueMap = FastMap<String, FastMap<i32, Arc<ConsumeQueue>>>;

/// The consume queues under `consumequeue/`.
#[derive(Debug)]
pub(crate) struct ConsumeQueueTable {
    root: PathBuf,
    file_size: usize,
    queues: RwLock<QueueMap>,
}

impl ConsumeQueueTable {
    /// Maps every queue found under `root` (created if missing): `<topic>/<queueId>/` directories.
    /// Entries that are not such directories are skipped with a warning.
    pub(crate) fn load(root: &Path, file_size: usize) -> Result<Self, StoreError> {
        fs::create_dir_all(root).map_err(|e| StoreError::io("create directory", root, e))?;
        let mut queues = QueueMap::default();
        for topic_dir in read_dirs(root)? {
            let Some(topic) = topic_dir
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_owned)
            else {
                continue;
            };
            for queue_dir in read_dirs(&topic_dir)? {
                let id = queue_dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.parse::<i32>().ok());
                let Some(id) = id else {
                    tracing::warn!(path = %queue_dir.display(), "ignoring foreign directory in consume queues");
                    continue;
                };
                let cq = ConsumeQueue::open(&queue_dir, &topic, id, file_size)?;
                queues
                    .entry(topic.clone())
                    .or_default()
                    .insert(id, Arc::new(cq));
            }
        }
        Ok(ConsumeQueueTable {
            root: root.to_path_buf(),
            file_size,
            queues: RwLock::new(queues),
        })
    }

    /// The queue, if it exists.
    pub(crate) fn get(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.queues.read().get(topic)?.get(&queue_id).cloned()
    }

    /// The queue, created (with its directory) if missing.
    pub(crate) fn get_or_create(
        &self,
        topic: &str,
        queue_id: i32,
    ) -> Result<Arc<ConsumeQueue>, StoreError> {
        if let Some(cq) = self.get(topic, queue_id) {
            return Ok(cq);
        }
        let mut queues = self.queues.write();
        if let Some(cq) = queues.get(topic).and_then(|m| m.get(&queue_id)) {
            return Ok(Arc::clone(cq));
        }
        let dir = self.root.join(topic).join(queue_id.to_string());
        let cq = Arc::new(ConsumeQueue::open(&dir, topic, queue_id, self.file_size)?);
        queues
            .entry(topic.to_owned())
            .or_default()
            .insert(queue_id, Arc::clone(&cq));
        Ok(cq)
    }

    /// Every queue.
    pub(crate) fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        self.queues
            .read()
            .values()
            .flat_map(|m| m.values().cloned())
            .collect()
    }

    /// Queue ids and max offsets of every queue, by topic.
    pub(crate) fn max_offsets(&self) -> QueueOffsets {
        self.queues
            .read()
            .iter()
            .map(|(t, m)| {
                (
                    t.clone(),
                    m.iter().map(|(&q, cq)| (q, cq.max_offset())).collect(),
                )
            })
            .collect()
    }

    /// Removes the topic's queues from the table and deletes their files; returns how many
    /// queues there were.
    pub(crate) fn remove_topic(&self, topic: &str) -> Result<usize, StoreError> {
        let Some(removed) = self.queues.write().remove(topic) else {
            return Ok(0);
        };
        for cq in removed.values() {
            cq.destroy()?;
        }
        let dir = self.root.join(topic);
        match fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("remove directory", &dir, e)),
        }
        crate::segments::sync_dir(&self.root)?;
        Ok(removed.len())
    }
}

fn read_dirs(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| StoreError::io("list", dir, e))? {
        let entry = entry.map_err(|e| StoreError::io("list", dir, e))?;
        let path = entry.path();
        if path.is_dir() {
            out.push(path);
        } else {
            tracing::warn!(path = %path.display(), "ignoring file in consume-queue directory");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{Unit, UNIT_SIZE};
    use super::*;

    #[test]
    fn creates_loads_and_removes_queues() {
        let dir = tempfile::tempdir().unwrap();
        {
            let t = ConsumeQueueTable::load(dir.path(), 10 * UNIT_SIZE).unwrap();
            assert!(t.get("A", 0).is_none());
            let cq = t.get_or_create("A", 3).unwrap();
            cq.append(
                Unit {
                    offset: 0,
                    size: 100,
                    tags_code: 0,
                },
                0,
            )
            .unwrap();
            t.get_or_create("B", 0).unwrap();
            assert!(Arc::ptr_eq(&cq, &t.get_or_create("A", 3).unwrap()));
        }
        let t = ConsumeQueueTable::load(dir.path(), 10 * UNIT_SIZE).unwrap();
        assert_eq!(t.all().len(), 2);
        let cq = t.get("A", 3).unwrap();
        cq.recover(0, 100).unwrap();
        assert_eq!(t.max_offsets()["A"][&3], 1);
        assert_eq!(t.remove_topic("A").unwrap(), 1);
        assert!(!dir.path().join("A").exists());
        assert!(t.get("A", 3).is_none());
        assert_eq!(t.remove_topic("A").unwrap(), 0);
    }
}
