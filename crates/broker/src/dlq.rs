//! Deleted dead letters: tombstones for single messages of `%DLQ%<group>` topics
//! (`dlqTombstones.json`, FerroMQ's own; RocketMQ cannot delete one message).
//!
//! A tombstone is a queue position (topic, queue id, queue offset). The message stays in the
//! commit log until retention deletes its segment, but pulls, VIEW_MESSAGE_BY_ID and
//! QUERY_MESSAGE no longer return it, so `printMsg`, `queryMsgById`, the dashboard and any
//! consumer of the DLQ skip it. Only `%DLQ%` topics are ever looked up, and only while the table
//! is not empty, so other pulls pay one prefix check. Tombstones below their queue's min offset
//! (the segment is gone) are dropped whenever one is added, when the broker opens and when a
//! slave copies its master's table, so the table holds at most the deleted messages still stored.

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use ferromq_common::names;
use ferromq_proto::body::dlq::DlqTombstoneTable;
use ferromq_proto::body::JsonBody;
use ferromq_proto::message::record::RecordView;
use parking_lot::RwLock;

use crate::persist::JsonFile;
use crate::{BrokerConfig, BrokerError};

/// The file name in the broker's config directory.
pub const FILE_NAME: &str = "dlqTombstones.json";

/// The broker's deleted dead letters.
#[derive(Debug)]
pub struct DlqTombstones {
    table: RwLock<DlqTombstoneTable>,
    /// False while there is no tombstone: lookups return at once.
    any: AtomicBool,
    file: JsonFile,
}

impl DlqTombstones {
    /// Loads `dlqTombstones.json` from the config directory (none yet is an empty table).
    pub fn load(config: &BrokerConfig) -> Result<DlqTombstones, BrokerError> {
        let file = JsonFile::new(config.config_dir().join(FILE_NAME));
        let table = match file.load()? {
            Some(bytes) => DlqTombstoneTable::from_json(&bytes).map_err(|e| file.corrupt(e))?,
            None => DlqTombstoneTable::default(),
        };
        Ok(DlqTombstones {
            any: AtomicBool::new(!table.tombstones.is_empty()),
            table: RwLock::new(table),
            file,
        })
    }

    /// True when `topic` has deleted messages (false at once while there are none at all).
    pub fn has(&self, topic: &str) -> bool {
        self.any.load(Ordering::Acquire)
            && names::is_dlq_topic(topic)
            && self.table.read().tombstones.contains_key(topic)
    }

    /// True when the message at `queue_offset` of `topic`/`queue_id` is deleted.
    pub fn is_deleted(&self, topic: &str, queue_id: i32, queue_offset: i64) -> bool {
        if !self.has(topic) {
            return false;
        }
        self.table
            .read()
            .tombstones
            .get(topic)
            .and_then(|q| q.get(&queue_id))
            .is_some_and(|s| s.contains(&queue_offset))
    }

    /// True when `record` (a stored record) is a deleted dead letter.
    pub fn hides_record(&self, record: &[u8]) -> bool {
        if !self.any.load(Ordering::Acquire) {
            return false;
        }
        match RecordView::parse(record) {
            Ok(v) => self.is_deleted(v.topic, v.queue_id, v.queue_offset),
            Err(_) => false,
        }
    }

    /// Drops the deleted records of `topic` from `records`; returns how many were dropped.
    pub fn retain_live(&self, topic: &str, records: &mut Vec<Bytes>) -> usize {
        if !self.has(topic) {
            return 0;
        }
        let t = self.table.read();
        let Some(queues) = t.tombstones.get(topic) else {
            return 0;
        };
        let before = records.len();
        records.retain(|r| match RecordView::parse(r) {
            Ok(v) => !queues
                .get(&v.queue_id)
                .is_some_and(|s| s.contains(&v.queue_offset)),
            Err(_) => true,
        });
        before - records.len()
    }

    /// Records a tombstone and saves the table, first dropping those below their queue's min
    /// offset (`min_offset(topic, queue_id)`). Returns false when it was there already.
    pub fn add(
        &self,
        topic: &str,
        queue_id: i32,
        queue_offset: i64,
        min_offset: impl Fn(&str, i32) -> i64,
    ) -> Result<bool, BrokerError> {
        if !names::is_dlq_topic(topic) {
            return Err(not_dlq(topic));
        }
        let added = {
            let mut t = self.table.write();
            prune_table(&mut t, &min_offset);
            let added = t
                .tombstones
                .entry(topic.to_owned())
                .or_default()
                .entry(queue_id)
                .or_default()
                .insert(queue_offset);
            self.any.store(true, Ordering::Release);
            added
        };
        self.save()?;
        Ok(added)
    }

    /// Drops the tombstones below their queue's min offset (their messages are gone); saves
    /// when any was dropped. Returns how many were dropped.
    pub fn prune(&self, min_offset: impl Fn(&str, i32) -> i64) -> Result<usize, BrokerError> {
        if !self.any.load(Ordering::Acquire) {
            return Ok(0);
        }
        let dropped = {
            let mut t = self.table.write();
            let dropped = prune_table(&mut t, &min_offset);
            self.any.store(!t.tombstones.is_empty(), Ordering::Release);
            dropped
        };
        if dropped > 0 {
            self.save()?;
        }
        Ok(dropped)
    }

    /// Forgets every tombstone of `topic` (the topic was deleted).
    pub fn drop_topic(&self, topic: &str) -> Result<(), BrokerError> {
        let removed = {
            let mut t = self.table.write();
            let removed = t.tombstones.remove(topic).is_some();
            self.any.store(!t.tombstones.is_empty(), Ordering::Release);
            removed
        };
        if removed {
            self.save()?;
        }
        Ok(())
    }

    /// A copy of the table.
    pub fn table(&self) -> DlqTombstoneTable {
        self.table.read().clone()
    }

    /// A slave: takes its master's table (GET_DLQ_TOMBSTONES) and saves it when it changed.
    pub fn replace_from_master(&self, json: &[u8]) -> Result<(), BrokerError> {
        let theirs = DlqTombstoneTable::from_json(json).map_err(|e| {
            BrokerError::system(format!(
                "the master's deleted dead letters do not parse: {e}"
            ))
        })?;
        {
            let mut t = self.table.write();
            if *t == theirs {
                return Ok(());
            }
            *t = theirs;
            self.any.store(!t.tombstones.is_empty(), Ordering::Release);
        }
        self.save()
    }

    fn save(&self) -> Result<(), BrokerError> {
        self.file.save(|| self.table.read().to_json())
    }
}

/// The error for a topic that is not a dead-letter topic.
pub fn not_dlq(topic: &str) -> BrokerError {
    BrokerError::invalid(format!(
        "only a message of a dead-letter topic (%DLQ%<group>) can be deleted, `{topic}` is not one"
    ))
}

fn prune_table(t: &mut DlqTombstoneTable, min_offset: &impl Fn(&str, i32) -> i64) -> usize {
    let mut dropped = 0;
    t.tombstones.retain(|topic, queues| {
        queues.retain(|&qid, offsets| {
            let min = min_offset(topic, qid);
            let before = offsets.len();
            offsets.retain(|&o| o >= min);
            dropped += before - offsets.len();
            !offsets.is_empty()
        });
        !queues.is_empty()
    });
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path) -> BrokerConfig {
        BrokerConfig {
            store_path_root_dir: dir.to_path_buf(),
            ..BrokerConfig::default()
        }
    }

    #[test]
    fn add_prune_persist_and_refuse_other_topics() {
        let dir = tempfile::tempdir().unwrap();
        let t = DlqTombstones::load(&config(dir.path())).unwrap();
        assert!(!t.has("%DLQ%G"));
        let zero = |_: &str, _: i32| 0;
        assert!(t.add("%DLQ%G", 0, 5, zero).unwrap());
        assert!(!t.add("%DLQ%G", 0, 5, zero).unwrap());
        assert!(t.add("%DLQ%G", 0, 9, zero).unwrap());
        assert!(t.add("%DLQ%H", 0, 1, zero).unwrap());
        assert!(t.is_deleted("%DLQ%G", 0, 5));
        assert!(!t.is_deleted("%DLQ%G", 0, 6));
        assert!(!t.is_deleted("%DLQ%G", 1, 5));
        let e = t.add("TopicA", 0, 1, zero).unwrap_err();
        assert!(e.to_string().contains("TopicA"), "{e}");

        // Reloaded from disk.
        let again = DlqTombstones::load(&config(dir.path())).unwrap();
        assert_eq!(again.table(), t.table());

        // The queue's min offset moved past 5 (its segment was deleted): 5 goes.
        let min = |topic: &str, _: i32| if topic == "%DLQ%G" { 6 } else { 0 };
        assert_eq!(again.prune(min).unwrap(), 1);
        assert!(!again.is_deleted("%DLQ%G", 0, 5));
        assert!(again.is_deleted("%DLQ%G", 0, 9));
        // Adding also prunes: H's queue is now empty below 2.
        assert!(again.add("%DLQ%G", 0, 10, |_, _| 2).unwrap());
        assert_eq!(again.table().count("%DLQ%H"), 0);
        assert_eq!(again.table().count("%DLQ%G"), 2);
        again.drop_topic("%DLQ%G").unwrap();
        assert!(!again.has("%DLQ%G"));
        let reloaded = DlqTombstones::load(&config(dir.path())).unwrap();
        assert!(reloaded.table().tombstones.is_empty());
    }

    #[test]
    fn a_corrupt_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path());
        std::fs::create_dir_all(c.config_dir()).unwrap();
        std::fs::write(c.config_dir().join(FILE_NAME), b"{\"tombstones\": [").unwrap();
        let e = DlqTombstones::load(&c).unwrap_err();
        assert!(e.to_string().contains(FILE_NAME), "{e}");
    }
}
