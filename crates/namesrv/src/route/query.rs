//! Reads of the route table and the admin edits of topics and permissions.

use ferromq_common::perm;
use ferromq_proto::body::{BrokerData, ClusterInfo, QueueData, TopicList, TopicRouteData};

use super::{BrokerAddr, RouteTable};

/// `TopicSysFlag` bit: the topic is a unit topic.
const FLAG_UNIT: i32 = 0x1;
/// `TopicSysFlag` bit: the topic has unit subscriptions.
const FLAG_UNIT_SUB: i32 = 0x2;

/// Which of the unit-topic lists (311, 312, 313) to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitFilter {
    /// Unit topics (GET_UNIT_TOPIC_LIST).
    Unit,
    /// Topics with unit subscriptions (GET_HAS_UNIT_SUB_TOPIC_LIST).
    HasUnitSub,
    /// Non-unit topics with unit subscriptions (GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST).
    HasUnitSubNotUnit,
}

impl RouteTable {
    /// The route of `topic` (`pickupTopicRouteData`), or `None` when no live broker group holds
    /// queues of it. `orderTopicConf` is left for the caller.
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topics.get(topic)?;
        let mut route = TopicRouteData {
            queue_datas: queues.values().cloned().collect(),
            ..Default::default()
        };
        for broker_name in queues.keys() {
            let Some(broker) = self.brokers.get(broker_name) else {
                continue;
            };
            for addr in broker.broker_addrs.values() {
                let key = BrokerAddr {
                    cluster: broker.cluster.clone(),
                    addr: addr.clone(),
                };
                if let Some(servers) = self.filter_servers.get(&key) {
                    route
                        .filter_server_table
                        .insert(addr.clone(), servers.clone());
                }
            }
            route.broker_datas.push(broker.clone());
        }
        if route.broker_datas.is_empty() {
            return None;
        }
        route.topic_queue_mapping_by_broker = self.mappings.get(topic).cloned();
        Some(route)
    }

    /// Every broker group and cluster (GET_BROKER_CLUSTER_INFO).
    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.brokers.clone(),
            cluster_addr_table: self.clusters.clone(),
        }
    }

    /// The broker group `broker_name` of `cluster` (GET_BROKER_MEMBER_GROUP).
    pub fn broker_group(&self, cluster: &str, broker_name: &str) -> Option<BrokerData> {
        self.brokers
            .get(broker_name)
            .filter(|b| b.cluster == cluster)
            .cloned()
    }

    /// Every topic with queue data (GET_ALL_TOPIC_LIST_FROM_NAMESERVER).
    pub fn all_topics(&self) -> TopicList {
        TopicList {
            broker_addr: None,
            topic_list: self.topics.keys().cloned().collect(),
        }
    }

    /// Topics with queues on any broker group of `cluster` (GET_TOPICS_BY_CLUSTER).
    pub fn topics_of_cluster(&self, cluster: &str) -> TopicList {
        let mut list = TopicList::default();
        if let Some(names) = self.clusters.get(cluster) {
            for (topic, queues) in &self.topics {
                if names.iter().any(|n| queues.contains_key(n)) {
                    list.topic_list.insert(topic.clone());
                }
            }
        }
        list
    }

    /// Cluster names and broker names, which are topics of their own, plus one broker address
    /// to ask for more (GET_SYSTEM_TOPIC_LIST_FROM_NS).
    pub fn system_topics(&self) -> TopicList {
        let mut list = TopicList::default();
        for (cluster, names) in &self.clusters {
            list.topic_list.insert(cluster.clone());
            list.topic_list.extend(names.iter().cloned());
        }
        list.broker_addr = self
            .brokers
            .values()
            .find_map(|b| b.broker_addrs.values().next().cloned());
        list
    }

    /// Topics selected by their sys flag (the GET_UNIT_TOPIC_LIST family); like RocketMQ, the
    /// flag of the first broker's queue data decides.
    pub fn unit_topics(&self, filter: UnitFilter) -> TopicList {
        let mut list = TopicList::default();
        for (topic, queues) in &self.topics {
            let Some(flag) = queues.values().next().map(|q| q.topic_sys_flag) else {
                continue;
            };
            let unit = flag & FLAG_UNIT != 0;
            let unit_sub = flag & FLAG_UNIT_SUB != 0;
            let keep = match filter {
                UnitFilter::Unit => unit,
                UnitFilter::HasUnitSub => unit_sub,
                UnitFilter::HasUnitSubNotUnit => unit_sub && !unit,
            };
            if keep {
                list.topic_list.insert(topic.clone());
            }
        }
        list
    }

    /// Removes `topic`, or only its queues on the broker groups of `cluster` when given
    /// (DELETE_TOPIC_IN_NAMESRV). Returns true when something was removed.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) -> bool {
        let Some(cluster) = cluster else {
            self.mappings.remove(topic);
            return self.topics.remove(topic).is_some();
        };
        let (Some(names), Some(queues)) = (self.clusters.get(cluster), self.topics.get_mut(topic))
        else {
            return false;
        };
        let before = queues.len();
        queues.retain(|broker_name, _| !names.contains(broker_name));
        let removed = queues.len() != before;
        if queues.is_empty() {
            self.topics.remove(topic);
            self.mappings.remove(topic);
        }
        removed
    }

    /// Sets the queue data of `topic` (REGISTER_TOPIC_IN_NAMESRV). Like RocketMQ, a list naming
    /// a broker group that is not registered is refused as a whole. Returns how many entries
    /// were set.
    pub fn register_topic(&mut self, topic: &str, queue_datas: Vec<QueueData>) -> usize {
        if queue_datas.is_empty()
            || queue_datas
                .iter()
                .any(|q| !self.brokers.contains_key(&q.broker_name))
        {
            return 0;
        }
        let queues = self.topics.entry(topic.to_owned()).or_default();
        let count = queue_datas.len();
        for q in queue_datas {
            queues.insert(q.broker_name.clone(), q);
        }
        count
    }

    /// Clears the write bit of every queue data of `broker_name` (WIPE_WRITE_PERM_OF_BROKER) or
    /// sets read-write (ADD_WRITE_PERM_OF_BROKER). Returns the number of topics touched.
    pub fn set_write_perm(&mut self, broker_name: &str, writable: bool) -> usize {
        let mut count = 0;
        for queues in self.topics.values_mut() {
            if let Some(q) = queues.get_mut(broker_name) {
                q.perm = if writable {
                    perm::READ | perm::WRITE
                } else {
                    q.perm & !perm::WRITE
                };
                count += 1;
            }
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::super::tests::{reg, POLICY};
    use super::*;

    fn two_brokers() -> RouteTable {
        let mut t = RouteTable::new();
        let now = Instant::now();
        t.register(
            reg("C", "a", 0, "m:1", 1, &[("T", 4), ("A", 1)]),
            None,
            now,
            POLICY,
        );
        t.register(
            reg("C", "b", 0, "n:1", 1, &[("T", 4), ("B", 1)]),
            None,
            now,
            POLICY,
        );
        t.register(reg("D", "c", 0, "o:1", 1, &[("X", 1)]), None, now, POLICY);
        t
    }

    #[test]
    fn lists_and_cluster_info() {
        let t = two_brokers();
        let all: Vec<_> = t.all_topics().topic_list.into_iter().collect();
        assert_eq!(all, ["A", "B", "T", "X"]);
        let c: Vec<_> = t.topics_of_cluster("C").topic_list.into_iter().collect();
        assert_eq!(c, ["A", "B", "T"]);
        assert!(t.topics_of_cluster("nope").topic_list.is_empty());
        let sys = t.system_topics();
        assert!(
            sys.topic_list.contains("C")
                && sys.topic_list.contains("a")
                && sys.topic_list.contains("c")
        );
        assert!(sys.broker_addr.is_some());
        let info = t.cluster_info();
        assert_eq!(info.cluster_addr_table["C"].len(), 2);
        assert_eq!(info.broker_addr_table["a"].master_addr(), Some("m:1"));
        assert!(t.broker_group("C", "a").is_some());
        assert!(t.broker_group("D", "a").is_none());
    }

    #[test]
    fn delete_topic_whole_or_per_cluster() {
        let mut t = two_brokers();
        t.register(
            reg("D", "c", 0, "o:1", 2, &[("T", 2)]),
            None,
            Instant::now(),
            POLICY,
        );
        assert_eq!(t.route("T").unwrap().queue_datas.len(), 3);
        assert!(t.delete_topic("T", Some("C")));
        assert_eq!(t.route("T").unwrap().queue_datas.len(), 1);
        assert!(!t.delete_topic("T", Some("unknown")));
        assert!(t.delete_topic("T", None));
        assert!(t.route("T").is_none());
        assert!(!t.delete_topic("T", None));
    }

    #[test]
    fn register_topic_and_write_perm() {
        let mut t = two_brokers();
        let q = |b: &str| QueueData {
            broker_name: b.into(),
            perm: 6,
            read_queue_nums: 2,
            write_queue_nums: 2,
            topic_sys_flag: 0,
        };
        assert_eq!(t.register_topic("N", vec![q("a"), q("b")]), 2);
        assert_eq!(t.route("N").unwrap().queue_datas.len(), 2);
        assert_eq!(t.register_topic("M", vec![q("a"), q("ghost")]), 0);
        assert!(t.route("M").is_none());

        assert_eq!(t.set_write_perm("a", false), 3);
        assert!(t
            .route("T")
            .unwrap()
            .queue_datas
            .iter()
            .any(|q| q.broker_name == "a" && q.perm == 4));
        assert_eq!(t.set_write_perm("a", true), 3);
        assert!(t
            .route("T")
            .unwrap()
            .queue_datas
            .iter()
            .all(|q| q.perm == 6));
    }

    #[test]
    fn unit_topic_filters() {
        let mut t = RouteTable::new();
        let mut r = reg(
            "C",
            "a",
            0,
            "m:1",
            1,
            &[("U", 1), ("S", 1), ("US", 1), ("P", 1)],
        );
        for (name, flag) in [
            ("U", FLAG_UNIT),
            ("S", FLAG_UNIT_SUB),
            ("US", FLAG_UNIT | FLAG_UNIT_SUB),
        ] {
            r.topics
                .topic_config_table
                .get_mut(name)
                .unwrap()
                .topic_sys_flag = flag;
        }
        t.register(r, None, Instant::now(), POLICY);
        let get = |f| t.unit_topics(f).topic_list.into_iter().collect::<Vec<_>>();
        assert_eq!(get(UnitFilter::Unit), ["U", "US"]);
        assert_eq!(get(UnitFilter::HasUnitSub), ["S", "US"]);
        assert_eq!(get(UnitFilter::HasUnitSubNotUnit), ["S"]);
    }
}
