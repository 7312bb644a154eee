//! Committed consumer offsets, persisted in `config/consumerOffset.json` every 5 s and at
//! shutdown (RocketMQ's `ConsumerOffsetManager`). Keys are `topic@group`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

use ferromq_proto::body::{ConsumerOffsetWrapper, JsonBody};
use parking_lot::RwLock;

use crate::config::BrokerConfig;
use crate::persist::JsonFile;
use crate::BrokerError;

/// Offsets of every `topic@group`, plus the last pulled offsets shown in consume stats.
pub struct OffsetManager {
    file: JsonFile,
    committed: RwLock<BTreeMap<String, BTreeMap<i32, i64>>>,
    pulled: RwLock<HashMap<String, BTreeMap<i32, i64>>>,
    dirty: AtomicBool,
}

impl OffsetManager {
    /// Loads `consumerOffset.json` if present.
    pub fn load(config: &BrokerConfig) -> Result<Self, BrokerError> {
        let file = JsonFile::new(config.config_dir().join("consumerOffset.json"));
        let committed = match file.load()? {
            Some(bytes) => {
                ConsumerOffsetWrapper::from_json(&bytes)
                    .map_err(|e| file.corrupt(e))?
                    .offset_table
            }
            None => BTreeMap::new(),
        };
        Ok(OffsetManager {
            file,
            committed: RwLock::new(committed),
            pulled: RwLock::default(),
            dirty: AtomicBool::new(false),
        })
    }

    /// The committed offset, if any.
    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        let key = ConsumerOffsetWrapper::key(topic, group);
        self.committed
            .read()
            .get(&key)
            .and_then(|q| q.get(&queue_id))
            .copied()
    }

    /// Stores a committed offset.
    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        let key = ConsumerOffsetWrapper::key(topic, group);
        self.committed
            .write()
            .entry(key)
            .or_default()
            .insert(queue_id, offset);
        self.dirty.store(true, Ordering::Release);
    }

    /// Copies `src`'s committed offsets of `topic` to `dest`, replacing `dest`'s (Java
    /// `ConsumerOffsetManager.cloneOffset`). Nothing happens when `src` has none.
    pub fn clone_offsets(&self, src: &str, dest: &str, topic: &str) {
        let from = ConsumerOffsetWrapper::key(topic, src);
        let to = ConsumerOffsetWrapper::key(topic, dest);
        let mut committed = self.committed.write();
        if let Some(table) = committed.get(&from).cloned() {
            committed.insert(to, table);
            self.dirty.store(true, Ordering::Release);
        }
    }

    /// Records where the group's last pull ended.
    pub fn record_pull(&self, group: &str, topic: &str, queue_id: i32, next_offset: i64) {
        let key = ConsumerOffsetWrapper::key(topic, group);
        self.pulled
            .write()
            .entry(key)
            .or_default()
            .insert(queue_id, next_offset);
    }

    /// The offset after the group's last pull, if any.
    pub fn pulled(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        let key = ConsumerOffsetWrapper::key(topic, group);
        self.pulled
            .read()
            .get(&key)
            .and_then(|q| q.get(&queue_id))
            .copied()
    }

    /// Calls `f(topic, group, queue → offset)` for every `topic@group` with committed offsets,
    /// under the table's read lock (keep `f` short: commits wait for it).
    pub fn for_each_committed(&self, mut f: impl FnMut(&str, &str, &BTreeMap<i32, i64>)) {
        for (key, queues) in self.committed.read().iter() {
            if let Some((topic, group)) = ConsumerOffsetWrapper::split_key(key) {
                f(topic, group, queues);
            }
        }
    }

    /// Topics for which `group` has committed offsets.
    pub fn topics_of_group(&self, group: &str) -> Vec<String> {
        self.committed
            .read()
            .keys()
            .filter_map(|k| ConsumerOffsetWrapper::split_key(k))
            .filter(|(_, g)| *g == group)
            .map(|(t, _)| t.to_owned())
            .collect()
    }

    /// Groups that have committed offsets on `topic`.
    pub fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        self.committed
            .read()
            .keys()
            .filter_map(|k| ConsumerOffsetWrapper::split_key(k))
            .filter(|(t, _)| *t == topic)
            .map(|(_, g)| g.to_owned())
            .collect()
    }

    /// Drops every offset of `topic`.
    pub fn remove_topic(&self, topic: &str) {
        self.committed.write().retain(|k, _| {
            ConsumerOffsetWrapper::split_key(k)
                .map(|(t, _)| t != topic)
                .unwrap_or(true)
        });
        self.dirty.store(true, Ordering::Release);
    }

    /// Drops every offset of `group` (DELETE_SUBSCRIPTIONGROUP with `cleanOffset`).
    pub fn remove_group(&self, group: &str) {
        self.committed.write().retain(|k, _| {
            ConsumerOffsetWrapper::split_key(k)
                .map(|(_, g)| g != group)
                .unwrap_or(true)
        });
        self.pulled.write().retain(|k, _| {
            ConsumerOffsetWrapper::split_key(k)
                .map(|(_, g)| g != group)
                .unwrap_or(true)
        });
        self.dirty.store(true, Ordering::Release);
    }

    /// The whole table as GET_ALL_CONSUMER_OFFSET answers it.
    pub fn to_json(&self) -> Vec<u8> {
        ConsumerOffsetWrapper {
            offset_table: self.committed.read().clone(),
            ..Default::default()
        }
        .to_json()
    }

    /// A slave's copy of its master's offsets (Java `syncConsumerOffset`). An offset a
    /// consumer committed to this slave while its master was away is kept where it is further
    /// than the master's, so it is not lost when the master returns (the consumer commits it
    /// to the master again); every other offset takes the master's value.
    pub fn merge_from_master(&self, body: &[u8]) -> Result<(), BrokerError> {
        let master = ConsumerOffsetWrapper::from_json(body)
            .map_err(|e| BrokerError::system(format!("the master's offsets do not parse: {e}")))?
            .offset_table;
        let mut committed = self.committed.write();
        let mut changed = false;
        for (key, queues) in master {
            let mine = committed.entry(key).or_default();
            for (q, offset) in queues {
                let slot = mine.entry(q).or_insert(-1);
                if *slot < offset {
                    *slot = offset;
                    changed = true;
                }
            }
        }
        drop(committed);
        if changed {
            self.dirty.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Writes the table if it changed since the last write.
    pub fn persist_if_dirty(&self) -> Result<(), BrokerError> {
        if self.dirty.swap(false, Ordering::AcqRel) {
            if let Err(e) = self.persist() {
                self.dirty.store(true, Ordering::Release);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Writes the table now.
    pub fn persist(&self) -> Result<(), BrokerError> {
        self.file.save(|| self.to_json())
    }
}
