//! Store reads and maintenance for admin tools: the units of a consume queue
//! (QUERY_CONSUME_QUEUE, `mqadmin queryCq`) and removing the queues of topics the broker no
//! longer has (CLEAN_UNUSED_TOPIC, `mqadmin cleanUnusedTopic`).

use crate::{MessageStore, StoreError};

/// One consume-queue unit as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumeQueueUnit {
    /// Commit-log offset of the message.
    pub physical_offset: i64,
    /// Its record size.
    pub size: i32,
    /// Tags hash code (for delayed messages: the delivery time).
    pub tags_code: i64,
}

/// Units of a queue from some index, with the queue's bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumeQueueUnits {
    /// First queue offset still stored.
    pub min_offset: i64,
    /// Queue offset the next message gets.
    pub max_offset: i64,
    /// The units read, in order (fewer than asked at the end of the queue).
    pub units: Vec<ConsumeQueueUnit>,
}

impl MessageStore {
    /// Up to `count` units of queue `queue_id` of `topic` from queue offset `index` (Java
    /// `ConsumeQueue.getIndexBuffer`), skipping padding; `None` for a queue the store lacks.
    pub fn consume_queue_units(
        &self,
        topic: &str,
        queue_id: i32,
        index: i64,
        count: usize,
    ) -> Option<ConsumeQueueUnits> {
        let cq = self.shared.queues.get(topic, queue_id)?;
        let (min_offset, max_offset) = (cq.min_offset(), cq.max_offset());
        let mut units = Vec::new();
        let mut at = index.max(min_offset);
        while units.len() < count && at < max_offset {
            if let Some(u) = cq.unit(at).filter(|u| u.is_written() && !u.is_filler()) {
                units.push(ConsumeQueueUnit {
                    physical_offset: u.offset,
                    size: u.size,
                    tags_code: u.tags_code,
                });
            }
            at += 1;
        }
        Some(ConsumeQueueUnits {
            min_offset,
            max_offset,
            units,
        })
    }

    /// Java `DefaultMessageStore.cleanUnusedTopic`: deletes the consume queues of every topic
    /// `keep_topic` rejects, at once (their commit-log records stay until retention removes
    /// them). Returns the topics removed.
    pub fn clean_unused_topics(
        &self,
        keep_topic: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        let mut gone: Vec<String> = self
            .shared
            .queues
            .all()
            .iter()
            .map(|cq| cq.topic().to_owned())
            .filter(|t| !keep_topic(t))
            .collect();
        gone.sort();
        gone.dedup();
        for topic in &gone {
            tracing::info!(topic, "cleanUnusedTopic: topic's consume queues destroyed");
            self.delete_topics(&[topic])?;
        }
        Ok(gone)
    }
}
