//! Topic configurations of this broker, persisted in `config/topics.json` (RocketMQ's
//! `TopicConfigManager`).

use std::collections::BTreeMap;

use ferromq_common::names;
use ferromq_common::perm;
use ferromq_proto::body::{DataVersion, JsonBody, TopicConfig, TopicConfigSerializeWrapper};
use parking_lot::RwLock;

use crate::config::BrokerConfig;
use crate::persist::JsonFile;
use crate::BrokerError;

/// The topic table and its version.
pub struct TopicManager {
    file: JsonFile,
    state: RwLock<TopicConfigSerializeWrapper>,
}

fn system_topic(name: &str, queues: i32, perm: i32) -> TopicConfig {
    TopicConfig {
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm,
        ..TopicConfig::new(name)
    }
}

impl TopicManager {
    /// Loads `topics.json` (if present) and adds the system topics RocketMQ brokers always have.
    pub fn load(config: &BrokerConfig) -> Result<Self, BrokerError> {
        let file = JsonFile::new(config.config_dir().join("topics.json"));
        let mut state = match file.load()? {
            Some(bytes) => {
                TopicConfigSerializeWrapper::from_json(&bytes).map_err(|e| file.corrupt(e))?
            }
            None => TopicConfigSerializeWrapper {
                data_version: DataVersion::new(ferromq_common::now_millis()),
                ..Default::default()
            },
        };
        let table = &mut state.topic_config_table;
        let mut add = |t: TopicConfig| {
            table.entry(t.topic_name.clone()).or_insert(t);
        };
        add(system_topic(names::SELF_TEST_TOPIC, 1, perm::READ_WRITE));
        if config.auto_create_topic_enable {
            add(system_topic(
                names::AUTO_CREATE_TOPIC,
                config.default_topic_queue_nums,
                perm::READ_WRITE | perm::INHERIT,
            ));
        }
        add(system_topic(names::BENCHMARK_TOPIC, 1024, perm::READ_WRITE));
        let cluster_perm = if config.cluster_topic_enable {
            perm::READ_WRITE | perm::INHERIT
        } else {
            perm::INHERIT
        };
        add(system_topic(&config.broker_cluster_name, 16, cluster_perm));
        let broker_perm = if config.broker_topic_enable {
            perm::READ_WRITE | perm::INHERIT
        } else {
            perm::INHERIT
        };
        add(system_topic(&config.broker_name, 1, broker_perm));
        add(system_topic(names::OFFSET_MOVED_EVENT, 1, perm::READ_WRITE));
        add(system_topic(names::SCHEDULE_TOPIC, 18, perm::READ_WRITE));
        // Always there (RocketMQ: when timerWheelEnable), so that timer messages already
        // waiting are delivered even after the timer was switched off.
        add(system_topic(names::TIMER_TOPIC, 1, perm::READ_WRITE));
        add(system_topic(
            &names::reply_topic(&config.broker_cluster_name),
            1,
            perm::READ_WRITE,
        ));
        if !config.auto_create_topic_enable {
            // A broker restarted with auto-creation off must not keep offering the template.
            if let Some(t) = table.get_mut(names::AUTO_CREATE_TOPIC) {
                t.perm &= !perm::INHERIT;
            }
        }
        let m = TopicManager {
            file,
            state: RwLock::new(state),
        };
        m.persist()?;
        Ok(m)
    }

    /// The configuration of `topic`.
    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.state.read().topic_config_table.get(topic).cloned()
    }

    /// True when `topic` exists.
    pub fn contains(&self, topic: &str) -> bool {
        self.state.read().topic_config_table.contains_key(topic)
    }

    /// Creates or replaces `topic`, bumps the data version and persists.
    pub fn upsert(&self, config: TopicConfig) -> Result<(), BrokerError> {
        {
            let mut s = self.state.write();
            s.topic_config_table
                .insert(config.topic_name.clone(), config);
            s.data_version.bump(ferromq_common::now_millis());
        }
        self.persist()
    }

    /// Creates or replaces every topic of `configs` that differs from what is stored, with one
    /// version bump and one write of `topics.json` (RocketMQ's `updateTopicConfigList`); a
    /// table of n topics costs one O(n) write, not one per topic. Returns the names changed.
    pub fn upsert_many(&self, configs: Vec<TopicConfig>) -> Result<Vec<String>, BrokerError> {
        let changed: Vec<String> = {
            let mut s = self.state.write();
            let mut changed = Vec::with_capacity(configs.len());
            for config in configs {
                if s.topic_config_table.get(&config.topic_name) != Some(&config) {
                    changed.push(config.topic_name.clone());
                    s.topic_config_table
                        .insert(config.topic_name.clone(), config);
                }
            }
            if !changed.is_empty() {
                s.data_version.bump(ferromq_common::now_millis());
            }
            changed
        };
        if !changed.is_empty() {
            self.persist()?;
        }
        Ok(changed)
    }

    /// A slave's copy of its master's table (Java `SlaveSynchronize.syncTopicConfig`): the
    /// master's topics replace this broker's, persisted when anything changed.
    pub fn replace_from_master(&self, table: BTreeMap<String, TopicConfig>) {
        let changed = {
            let mut s = self.state.write();
            let changed = s.topic_config_table != table;
            if changed {
                s.topic_config_table = table;
                s.data_version.bump(ferromq_common::now_millis());
            }
            changed
        };
        if changed {
            if let Err(e) = self.persist() {
                tracing::error!(error = %e, "saving the master's topics failed");
            }
        }
    }

    /// Removes `topic`; returns whether it existed.
    pub fn remove(&self, topic: &str) -> Result<bool, BrokerError> {
        let existed = {
            let mut s = self.state.write();
            let existed = s.topic_config_table.remove(topic).is_some();
            if existed {
                s.data_version.bump(ferromq_common::now_millis());
            }
            existed
        };
        if existed {
            self.persist()?;
        }
        Ok(existed)
    }

    /// Creates `topic` from the template `default_topic` when the template allows it (RocketMQ's
    /// `createTopicInSendMessageMethod`). Returns the new config, or `None` when not allowed.
    pub fn create_from_template(
        &self,
        topic: &str,
        default_topic: &str,
        wanted_queues: i32,
        topic_sys_flag: i32,
    ) -> Result<Option<TopicConfig>, BrokerError> {
        if let Some(existing) = self.get(topic) {
            return Ok(Some(existing));
        }
        let Some(template) = self.get(default_topic) else {
            return Ok(None);
        };
        if !perm::is_inherited(template.perm) {
            return Ok(None);
        }
        let queues = wanted_queues.clamp(1, template.write_queue_nums.max(1));
        let config = TopicConfig {
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: template.perm & !perm::INHERIT,
            topic_filter_type: template.topic_filter_type.clone(),
            topic_sys_flag,
            ..TopicConfig::new(topic)
        };
        self.upsert(config.clone())?;
        tracing::info!(topic, default_topic, queues, "auto-created topic");
        Ok(Some(config))
    }

    /// Creates a retry or DLQ topic with `queues` queues and perm `perm` if missing.
    pub fn ensure_internal(
        &self,
        topic: &str,
        queues: i32,
        perm: i32,
    ) -> Result<(TopicConfig, bool), BrokerError> {
        if let Some(existing) = self.get(topic) {
            return Ok((existing, false));
        }
        let config = system_topic(topic, queues, perm);
        self.upsert(config.clone())?;
        Ok((config, true))
    }

    /// A copy of the whole table with its version (for registration and GET_ALL_TOPIC_CONFIG).
    pub fn snapshot(&self) -> TopicConfigSerializeWrapper {
        self.state.read().clone()
    }

    /// A wrapper holding only `topics` with the current version (incremental registration).
    pub fn snapshot_of(&self, topics: &[String]) -> TopicConfigSerializeWrapper {
        let s = self.state.read();
        let table: BTreeMap<String, TopicConfig> = topics
            .iter()
            .filter_map(|t| s.topic_config_table.get(t).map(|c| (t.clone(), c.clone())))
            .collect();
        TopicConfigSerializeWrapper {
            data_version: s.data_version,
            topic_config_table: table,
            ..Default::default()
        }
    }

    /// Names of all topics.
    pub fn names(&self) -> Vec<String> {
        self.state
            .read()
            .topic_config_table
            .keys()
            .cloned()
            .collect()
    }

    fn persist(&self) -> Result<(), BrokerError> {
        self.file.save(|| self.state.read().to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_many_writes_once_and_skips_unchanged_topics() {
        let dir = tempfile::tempdir().unwrap();
        let config = BrokerConfig {
            store_path_root_dir: dir.path().to_path_buf(),
            ..BrokerConfig::default()
        };
        let topics = TopicManager::load(&config).unwrap();
        let list: Vec<TopicConfig> = (0..3).map(|i| TopicConfig::new(format!("t{i}"))).collect();
        let version = topics.snapshot().data_version;
        assert_eq!(
            topics.upsert_many(list.clone()).unwrap(),
            ["t0", "t1", "t2"]
        );
        let after = topics.snapshot().data_version;
        assert_eq!(after.counter, version.counter + 1, "one bump for the list");

        let mut changed = list;
        changed[1].write_queue_nums = 4;
        assert_eq!(topics.upsert_many(changed).unwrap(), ["t1"]);
        assert!(topics.upsert_many(Vec::new()).unwrap().is_empty());

        // What was written is what a restart reads.
        let again = TopicManager::load(&config).unwrap();
        assert_eq!(again.get("t1").unwrap().write_queue_nums, 4);
        assert!(again.contains("t2"));
    }
}
