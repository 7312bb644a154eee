//! Consumer-group configurations, persisted in `config/subscriptionGroup.json` (RocketMQ's
//! `SubscriptionGroupManager`).

use std::collections::BTreeMap;

use ferromq_proto::body::{
    DataVersion, JsonBody, SubscriptionGroupConfig, SubscriptionGroupWrapper,
};
use parking_lot::RwLock;

use crate::config::BrokerConfig;
use crate::persist::JsonFile;
use crate::BrokerError;

/// The group table.
pub struct GroupManager {
    file: JsonFile,
    auto_create: bool,
    state: RwLock<SubscriptionGroupWrapper>,
}

impl GroupManager {
    /// Loads `subscriptionGroup.json` if present.
    pub fn load(config: &BrokerConfig) -> Result<Self, BrokerError> {
        let file = JsonFile::new(config.config_dir().join("subscriptionGroup.json"));
        let state = match file.load()? {
            Some(bytes) => {
                SubscriptionGroupWrapper::from_json(&bytes).map_err(|e| file.corrupt(e))?
            }
            None => SubscriptionGroupWrapper {
                data_version: DataVersion::new(ferromq_common::now_millis()),
                ..Default::default()
            },
        };
        Ok(GroupManager {
            file,
            auto_create: config.auto_create_subscription_group,
            state: RwLock::new(state),
        })
    }

    /// The group's config, creating it with defaults when auto-creation is on.
    pub fn find_or_create(
        &self,
        group: &str,
    ) -> Result<Option<SubscriptionGroupConfig>, BrokerError> {
        if let Some(g) = self.state.read().subscription_group_table.get(group) {
            return Ok(Some(g.clone()));
        }
        if !self.auto_create {
            return Ok(None);
        }
        let config = SubscriptionGroupConfig::new(group);
        self.upsert(config.clone())?;
        Ok(Some(config))
    }

    /// The group's config without creating it.
    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.state
            .read()
            .subscription_group_table
            .get(group)
            .cloned()
    }

    /// Creates or replaces a group config.
    pub fn upsert(&self, config: SubscriptionGroupConfig) -> Result<(), BrokerError> {
        {
            let mut s = self.state.write();
            s.subscription_group_table
                .insert(config.group_name.clone(), config);
            s.data_version.bump(ferromq_common::now_millis());
        }
        self.persist()
    }

    /// A slave's copy of its master's groups (Java `syncSubscriptionGroupConfig`).
    pub fn replace_from_master(&self, table: BTreeMap<String, SubscriptionGroupConfig>) {
        let changed = {
            let mut s = self.state.write();
            let changed = s.subscription_group_table != table;
            if changed {
                s.subscription_group_table = table;
                s.data_version.bump(ferromq_common::now_millis());
            }
            changed
        };
        if changed {
            if let Err(e) = self.persist() {
                tracing::error!(error = %e, "saving the master's subscription groups failed");
            }
        }
    }

    /// Removes a group; returns whether it existed.
    pub fn remove(&self, group: &str) -> Result<bool, BrokerError> {
        let existed = self
            .state
            .write()
            .subscription_group_table
            .remove(group)
            .is_some();
        if existed {
            self.persist()?;
        }
        Ok(existed)
    }

    /// The whole table.
    pub fn snapshot(&self) -> SubscriptionGroupWrapper {
        self.state.read().clone()
    }

    fn persist(&self) -> Result<(), BrokerError> {
        self.file.save(|| self.state.read().to_json())
    }
}
