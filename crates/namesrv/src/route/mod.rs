//! The route table (RocketMQ `RouteInfoManager`): which broker groups exist, which cluster they
//! belong to, which topics have queues on them, and which broker addresses are alive.
//!
//! ```text
//! clusters : cluster ─▶ {brokerName}
//! brokers  : brokerName ─▶ BrokerData { cluster, {brokerId ─▶ addr} }
//! topics   : topic ─▶ {brokerName ─▶ QueueData}
//! live     : (cluster, addr) ─▶ last update, timeout, DataVersion, connection
//! ```
//!
//! Registration ([`RouteTable::register`]) is keyed by `(cluster, brokerAddr)`. Only a master
//! (or a 5.x slave holding the lowest id while no master is registered; read-only when acting
//! master is on) defines queue data, and only for the topics its body lists: incremental registrations merge. Dropping an
//! address ([`RouteTable::unregister`], expiry and connection close in `liveness`) removes the
//! broker group once it has no address left, and with it its queue data; a topic without queue
//! data disappears. All methods are synchronous: callers hold the table's lock briefly and never
//! across an `.await`.

mod liveness;
mod query;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use ferromq_common::perm;
use ferromq_net::ConnectionHandle;
use ferromq_proto::body::route::MASTER_ID;
use ferromq_proto::body::{
    BrokerData, DataVersion, QueueData, TopicConfig, TopicConfigSerializeWrapper,
};

pub use liveness::Expired;
pub use query::UnitFilter;

/// A broker address within its cluster: the key of liveness (`BrokerAddrInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrokerAddr {
    /// Cluster name.
    pub cluster: String,
    /// `ip:port`.
    pub addr: String,
}

/// Liveness record of one registered address (`BrokerLiveInfo`).
#[derive(Debug, Clone)]
struct LiveBroker {
    last_update: Instant,
    timeout: Duration,
    data_version: DataVersion,
    conn: Option<ConnectionHandle>,
    ha_server_addr: String,
}

/// One REGISTER_BROKER request, decoded.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    /// `clusterName`.
    pub cluster: String,
    /// `brokerName`.
    pub broker_name: String,
    /// `brokerAddr`.
    pub broker_addr: String,
    /// `brokerId`: 0 for the master.
    pub broker_id: i64,
    /// `haServerAddr`.
    pub ha_server_addr: String,
    /// `heartbeatTimeoutMillis`, when sent.
    pub heartbeat_timeout: Option<Duration>,
    /// `enableActingMaster`; `None` for brokers older than 5.0.
    pub enable_acting_master: Option<bool>,
    /// Ext `__ZONE_NAME`.
    pub zone_name: Option<String>,
    /// Topics and data version from the body.
    pub topics: TopicConfigSerializeWrapper,
    /// Filter servers from the body.
    pub filter_servers: Vec<String>,
}

/// What a registration answers (`RegisterBrokerResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterOutcome {
    /// The master's address, for a slave whose master is registered.
    pub master_addr: Option<String>,
    /// The master's HA address, likewise.
    pub ha_server_addr: Option<String>,
}

/// Policies the table applies; copied from the config on each call so updates take effect.
#[derive(Debug, Clone, Copy)]
pub struct RegisterPolicy {
    /// Expiry for brokers that do not send `heartbeatTimeoutMillis`.
    pub default_timeout: Duration,
    /// Remove a master's topics its registration no longer lists.
    pub delete_unlisted_topics: bool,
}

/// The route table.
#[derive(Debug, Default)]
pub struct RouteTable {
    topics: BTreeMap<String, BTreeMap<String, QueueData>>,
    brokers: BTreeMap<String, BrokerData>,
    clusters: BTreeMap<String, BTreeSet<String>>,
    live: HashMap<BrokerAddr, LiveBroker>,
    filter_servers: HashMap<BrokerAddr, Vec<String>>,
    /// Static topics: topic → broker name → `TopicQueueMappingInfo`, kept opaque.
    mappings: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or refreshes) a broker address and merges the topics its body lists.
    ///
    /// `conn` is the connection the request came on: closing it drops the address again.
    pub fn register(
        &mut self,
        reg: Registration,
        conn: Option<ConnectionHandle>,
        now: Instant,
        policy: RegisterPolicy,
    ) -> RegisterOutcome {
        let key = BrokerAddr {
            cluster: reg.cluster.clone(),
            addr: reg.broker_addr.clone(),
        };
        self.clusters
            .entry(reg.cluster.clone())
            .or_default()
            .insert(reg.broker_name.clone());

        let mut first = false;
        let broker = self
            .brokers
            .entry(reg.broker_name.clone())
            .or_insert_with(|| {
                first = true;
                BrokerData {
                    cluster: reg.cluster.clone(),
                    broker_name: reg.broker_name.clone(),
                    ..Default::default()
                }
            });
        let old_version_broker = reg.enable_acting_master.is_none();
        broker.enable_acting_master = reg.enable_acting_master.unwrap_or(false);
        broker.zone_name.clone_from(&reg.zone_name);

        // A slave turned master: one address has only one id.
        broker
            .broker_addrs
            .retain(|id, addr| *addr != reg.broker_addr || *id == reg.broker_id);

        // Another address holds this id with a newer state version: refuse this one.
        if let Some(old_addr) = broker
            .broker_addrs
            .get(&reg.broker_id)
            .filter(|a| **a != reg.broker_addr)
        {
            let old_key = BrokerAddr {
                cluster: reg.cluster.clone(),
                addr: old_addr.clone(),
            };
            if let Some(old) = self.live.get(&old_key) {
                if old.data_version.state_version > reg.topics.data_version.state_version {
                    tracing::warn!(
                        broker = %reg.broker_name, addr = %reg.broker_addr, holder = %old_addr,
                        "registration refused: another address holds this broker id with a newer state"
                    );
                    self.live.remove(&key);
                    return RegisterOutcome::default();
                }
            }
        }

        let old_addr = broker
            .broker_addrs
            .insert(reg.broker_id, reg.broker_addr.clone());
        first |= old_addr.as_deref().is_none_or(str::is_empty);
        let is_master = reg.broker_id == MASTER_ID;
        let min_id = broker.broker_addrs.keys().next().copied();
        let is_prime_slave = !old_version_broker && !is_master && min_id == Some(reg.broker_id);
        let acting_master = broker.enable_acting_master;

        if is_master || is_prime_slave {
            let version_changed = self.broker_version_changed(&key, &reg.topics.data_version);
            if policy.delete_unlisted_topics && reg.topics.topic_queue_mapping_info_map.is_empty() {
                self.remove_unlisted_topics(&reg.broker_name, &reg.topics);
            }
            // Every listed topic is applied, not only on a version change as in Java: an
            // incremental registration can carry the broker's current version while an earlier
            // one with the same version held another topic, and skipping it would keep a stale
            // queue count until the next topic change.
            for config in reg.topics.topic_config_table.values() {
                let mut queue = queue_data(&reg.broker_name, config);
                if is_prime_slave && acting_master {
                    queue.perm &= !perm::WRITE;
                }
                self.put_queue_data(&config.topic_name, queue);
            }
            if first || version_changed {
                for (topic, info) in &reg.topics.topic_queue_mapping_info_map {
                    let bname = info
                        .get("bname")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or(&reg.broker_name)
                        .to_owned();
                    self.mappings
                        .entry(topic.clone())
                        .or_default()
                        .insert(bname, info.clone());
                }
            }
        }

        let timeout = reg.heartbeat_timeout.unwrap_or(policy.default_timeout);
        let previous = self.live.insert(
            key.clone(),
            LiveBroker {
                last_update: now,
                timeout,
                data_version: reg.topics.data_version,
                conn,
                ha_server_addr: reg.ha_server_addr.clone(),
            },
        );
        if previous.is_none() {
            tracing::info!(
                cluster = %reg.cluster, broker = %reg.broker_name, id = reg.broker_id,
                addr = %reg.broker_addr, ha = %reg.ha_server_addr, "new broker registered"
            );
        }
        if reg.filter_servers.is_empty() {
            self.filter_servers.remove(&key);
        } else {
            self.filter_servers.insert(key, reg.filter_servers);
        }

        let mut outcome = RegisterOutcome::default();
        if !is_master {
            let master = self
                .brokers
                .get(&reg.broker_name)
                .and_then(|b| b.master_addr())
                .map(str::to_owned);
            if let Some(master) = master {
                let master_key = BrokerAddr {
                    cluster: reg.cluster,
                    addr: master.clone(),
                };
                if let Some(live) = self.live.get(&master_key) {
                    outcome.ha_server_addr = Some(live.ha_server_addr.clone());
                    outcome.master_addr = Some(master);
                }
            }
        }
        outcome
    }

    /// Removes one broker address (UNREGISTER_BROKER), its group once empty, and the group's
    /// queue data with it. Returns true when the address was known.
    pub fn unregister(&mut self, cluster: &str, addr: &str, broker_name: &str) -> bool {
        let key = BrokerAddr {
            cluster: cluster.to_owned(),
            addr: addr.to_owned(),
        };
        let was_live = self.live.remove(&key).is_some();
        self.filter_servers.remove(&key);

        let mut group_removed = false;
        let mut known = was_live;
        if let Some(broker) = self.brokers.get_mut(broker_name) {
            let before = broker.broker_addrs.len();
            broker.broker_addrs.retain(|_, a| a != addr);
            known |= broker.broker_addrs.len() != before;
            if broker.broker_addrs.is_empty() {
                self.brokers.remove(broker_name);
                group_removed = true;
                tracing::info!(
                    cluster,
                    broker = broker_name,
                    "broker group removed: no address left"
                );
            }
        }
        if group_removed {
            if let Some(names) = self.clusters.get_mut(cluster) {
                names.remove(broker_name);
                if names.is_empty() {
                    self.clusters.remove(cluster);
                }
            }
            self.topics.retain(|_, queues| {
                queues.remove(broker_name);
                !queues.is_empty()
            });
        } else if self
            .brokers
            .get(broker_name)
            .is_some_and(|b| b.enable_acting_master && b.master_addr().is_none())
        {
            // Acting master: with the master gone, the remaining slaves serve reads only.
            for queues in self.topics.values_mut() {
                if let Some(q) = queues.get_mut(broker_name) {
                    q.perm &= !perm::WRITE;
                }
            }
        }
        known
    }

    /// Refreshes an address's liveness (BROKER_HEARTBEAT). Returns false for unknown addresses.
    pub fn touch(&mut self, cluster: &str, addr: &str, now: Instant) -> bool {
        let key = BrokerAddr {
            cluster: cluster.to_owned(),
            addr: addr.to_owned(),
        };
        match self.live.get_mut(&key) {
            Some(live) => {
                live.last_update = now;
                true
            }
            None => false,
        }
    }

    /// The data version last registered by an address.
    pub fn data_version(&self, cluster: &str, addr: &str) -> Option<DataVersion> {
        let key = BrokerAddr {
            cluster: cluster.to_owned(),
            addr: addr.to_owned(),
        };
        self.live.get(&key).map(|l| l.data_version)
    }

    /// True when `version` differs from what the address last registered, or it is unknown
    /// (`isBrokerTopicConfigChanged`).
    pub fn is_version_changed(&self, cluster: &str, addr: &str, version: &DataVersion) -> bool {
        self.data_version(cluster, addr)
            .is_none_or(|v| v != *version)
    }

    fn broker_version_changed(&self, key: &BrokerAddr, version: &DataVersion) -> bool {
        self.live
            .get(key)
            .is_none_or(|l| l.data_version != *version)
    }

    fn remove_unlisted_topics(&mut self, broker_name: &str, listed: &TopicConfigSerializeWrapper) {
        self.topics.retain(|topic, queues| {
            if !listed.topic_config_table.contains_key(topic)
                && queues.remove(broker_name).is_some()
            {
                tracing::info!(
                    topic,
                    broker = broker_name,
                    "topic removed from broker: not registered any more"
                );
            }
            !queues.is_empty()
        });
    }

    fn put_queue_data(&mut self, topic: &str, queue: QueueData) {
        let queues = self.topics.entry(topic.to_owned()).or_default();
        queues.insert(queue.broker_name.clone(), queue);
    }
}

fn queue_data(broker_name: &str, config: &TopicConfig) -> QueueData {
    QueueData {
        broker_name: broker_name.to_owned(),
        perm: config.perm,
        read_queue_nums: config.read_queue_nums,
        topic_sys_flag: config.topic_sys_flag,
        write_queue_nums: config.write_queue_nums,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const POLICY: RegisterPolicy = RegisterPolicy {
        default_timeout: Duration::from_secs(120),
        delete_unlisted_topics: false,
    };

    pub(crate) fn reg(
        cluster: &str,
        name: &str,
        id: i64,
        addr: &str,
        counter: i64,
        topics: &[(&str, i32)],
    ) -> Registration {
        let mut wrapper = TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter,
                state_version: 0,
                timestamp: 1,
            },
            ..Default::default()
        };
        for (topic, queues) in topics {
            let mut config = TopicConfig::new(*topic);
            config.read_queue_nums = *queues;
            config.write_queue_nums = *queues;
            wrapper
                .topic_config_table
                .insert((*topic).to_owned(), config);
        }
        Registration {
            cluster: cluster.into(),
            broker_name: name.into(),
            broker_addr: addr.into(),
            broker_id: id,
            ha_server_addr: format!("{addr}-ha"),
            enable_acting_master: Some(false),
            topics: wrapper,
            ..Default::default()
        }
    }

    #[test]
    fn incremental_registration_merges_and_changed_version_updates() {
        let mut t = RouteTable::new();
        let now = Instant::now();
        t.register(
            reg("C", "a", 0, "h:1", 1, &[("T1", 4), ("T2", 4)]),
            None,
            now,
            POLICY,
        );
        t.register(
            reg("C", "a", 0, "h:1", 2, &[("T3", 2), ("T1", 8)]),
            None,
            now,
            POLICY,
        );
        let r1 = t.route("T1").unwrap();
        assert_eq!(r1.queue_datas[0].write_queue_nums, 8);
        assert!(t.route("T2").is_some());
        assert!(t.route("T3").is_some());
        // Same version: a change is still applied (an incremental registration may carry the
        // version an earlier one already used).
        t.register(reg("C", "a", 0, "h:1", 2, &[("T1", 1)]), None, now, POLICY);
        assert_eq!(t.route("T1").unwrap().queue_datas[0].write_queue_nums, 1);
    }

    #[test]
    fn slave_gets_master_address_and_does_not_define_queues() {
        let mut t = RouteTable::new();
        let now = Instant::now();
        t.register(reg("C", "a", 0, "m:1", 1, &[("T", 4)]), None, now, POLICY);
        let out = t.register(
            reg("C", "a", 1, "s:1", 1, &[("T", 1), ("S", 1)]),
            None,
            now,
            POLICY,
        );
        assert_eq!(out.master_addr.as_deref(), Some("m:1"));
        assert_eq!(out.ha_server_addr.as_deref(), Some("m:1-ha"));
        assert!(t.route("S").is_none());
        let route = t.route("T").unwrap();
        assert_eq!(route.queue_datas[0].write_queue_nums, 4);
        assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
    }

    #[test]
    fn unregister_drops_group_and_topics() {
        let mut t = RouteTable::new();
        let now = Instant::now();
        t.register(reg("C", "a", 0, "m:1", 1, &[("T", 4)]), None, now, POLICY);
        t.register(
            reg("C", "b", 0, "n:1", 1, &[("T", 4), ("U", 4)]),
            None,
            now,
            POLICY,
        );
        assert!(t.unregister("C", "n:1", "b"));
        assert!(t.route("U").is_none());
        assert_eq!(t.route("T").unwrap().queue_datas.len(), 1);
        assert!(!t.unregister("C", "n:1", "b"));
        assert!(t.unregister("C", "m:1", "a"));
        assert!(t.route("T").is_none());
        assert!(t.cluster_info().cluster_addr_table.is_empty());
    }

    #[test]
    fn delete_unlisted_topics_policy() {
        let mut t = RouteTable::new();
        let now = Instant::now();
        let policy = RegisterPolicy {
            delete_unlisted_topics: true,
            ..POLICY
        };
        t.register(
            reg("C", "a", 0, "m:1", 1, &[("T", 4), ("U", 4)]),
            None,
            now,
            policy,
        );
        t.register(reg("C", "a", 0, "m:1", 2, &[("T", 4)]), None, now, policy);
        assert!(t.route("U").is_none());
    }

    #[test]
    fn data_version_tracking() {
        let mut t = RouteTable::new();
        let r = reg("C", "a", 0, "m:1", 5, &[("T", 4)]);
        let v = r.topics.data_version;
        assert!(t.is_version_changed("C", "m:1", &v));
        t.register(r, None, Instant::now(), POLICY);
        assert!(!t.is_version_changed("C", "m:1", &v));
        assert_eq!(t.data_version("C", "m:1"), Some(v));
        assert!(t.touch("C", "m:1", Instant::now()));
        assert!(!t.touch("C", "x:1", Instant::now()));
    }
}
