//! The broker's metrics (RocketMQ's `BrokerMetricsManager`, `DefaultStoreMetricsManager`):
//! [`Traffic`] counts messages and bytes in per topic and out per topic and group, the only
//! counters kept for metrics on the send and pull paths; [`BrokerSource`] reads them, the offset
//! table, the store and the request latency table when Prometheus scrapes.
//!
//! Counting follows RocketMQ: a message is counted in once, when a producer's send (or a reply)
//! is stored, under the topic the producer named and its `message_type` (`normal`, `fifo`,
//! `delay`, `transaction`); sends to retry and dead-letter topics are not counted in. Messages
//! out are those returned by pulls, retry topics included (`is_retry`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use ferromq_common::names;
use ferromq_metrics::names::*;
use ferromq_metrics::{Labels, Scrape, Source};
use ferromq_proto::message::properties::{property_value, SHARDING_KEY};
use parking_lot::RwLock;

use crate::Broker;

/// RocketMQ's `TopicMessageType` as the metrics see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Normal,
    Fifo,
    Delay,
    Transaction,
}

impl MessageType {
    const ALL: [MessageType; 4] = [
        MessageType::Normal,
        MessageType::Fifo,
        MessageType::Delay,
        MessageType::Transaction,
    ];

    /// The type of a message sent with the encoded `properties`, not a half message: `fifo`
    /// with a sharding key, else `delay` when it waits for a delay level or a timer, else
    /// `normal` (RocketMQ's `BrokerMetricsManager.getMessageType`).
    pub fn of_send(properties: &str, delayed: bool) -> MessageType {
        if cfg!(feature = "no-observability") {
            return MessageType::Normal;
        }
        // Java reads the key from the parsed properties map, where an empty value is absent.
        let sharded = property_value(properties, SHARDING_KEY).is_some();
        if sharded {
            MessageType::Fifo
        } else if delayed {
            MessageType::Delay
        } else {
            MessageType::Normal
        }
    }

    /// `TopicMessageType.getMetricsValue()`.
    pub fn label(self) -> &'static str {
        match self {
            MessageType::Normal => "normal",
            MessageType::Fifo => "fifo",
            MessageType::Delay => "delay",
            MessageType::Transaction => "transaction",
        }
    }
}

/// Messages and bytes.
#[derive(Debug, Default)]
struct Flow {
    messages: AtomicU64,
    bytes: AtomicU64,
}

impl Flow {
    fn add(&self, messages: u64, bytes: u64) {
        self.messages.fetch_add(messages, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn read(&self) -> (u64, u64) {
        (
            self.messages.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

#[derive(Debug, Default)]
struct TopicTraffic {
    /// Indexed like [`MessageType::ALL`].
    incoming: [Flow; 4],
    outgoing: RwLock<HashMap<String, Flow>>,
}

/// Message and byte counters since start, per topic (in) and per topic and group (out).
///
/// Counting takes a read lock of a map and two relaxed atomic adds; the first message of a new
/// topic or group takes the write lock once to add its entry.
#[derive(Debug, Default)]
pub struct Traffic {
    topics: RwLock<HashMap<String, Arc<TopicTraffic>>>,
}

impl Traffic {
    fn topic(&self, topic: &str) -> Arc<TopicTraffic> {
        if let Some(t) = self.topics.read().get(topic) {
            return Arc::clone(t);
        }
        Arc::clone(self.topics.write().entry(topic.to_owned()).or_default())
    }

    /// Counts `messages` stored messages of `bytes` record bytes sent to `topic`; retry and
    /// dead-letter topics are not counted (as in RocketMQ).
    pub fn message_in(&self, topic: &str, kind: MessageType, messages: u64, bytes: u64) {
        if cfg!(feature = "no-observability") {
            return;
        }
        if names::is_retry_topic(topic) || names::is_dlq_topic(topic) {
            return;
        }
        let i = kind as usize;
        if let Some(t) = self.topics.read().get(topic) {
            t.incoming[i].add(messages, bytes);
            return;
        }
        self.topic(topic).incoming[i].add(messages, bytes);
    }

    /// Counts `messages` messages of `bytes` bytes returned to `group` by a pull of `topic`.
    pub fn message_out(&self, topic: &str, group: &str, messages: u64, bytes: u64) {
        if cfg!(feature = "no-observability") {
            return;
        }
        if let Some(t) = self.topics.read().get(topic) {
            if let Some(flow) = t.outgoing.read().get(group) {
                flow.add(messages, bytes);
                return;
            }
        }
        self.topic(topic)
            .outgoing
            .write()
            .entry(group.to_owned())
            .or_default()
            .add(messages, bytes);
    }

    /// Forgets `topic`'s counters (the topic was deleted): its series leave `/metrics`.
    pub fn remove_topic(&self, topic: &str) {
        self.topics.write().remove(topic);
    }

    /// Messages counted in for `topic` so far, all message types together.
    pub fn messages_in(&self, topic: &str) -> u64 {
        self.topics
            .read()
            .get(topic)
            .map_or(0, |t| t.incoming.iter().map(|f| f.read().0).sum::<u64>())
    }

    /// Every counter now: per topic the messages and bytes in (all types together), and per
    /// group the messages and bytes out. Read by the stats sampler ([`crate::stats_items`]).
    pub fn snapshot(&self) -> Vec<TrafficSnapshot> {
        self.topics
            .read()
            .iter()
            .map(|(topic, t)| TrafficSnapshot {
                topic: topic.clone(),
                messages_in: t.incoming.iter().map(|f| f.read().0).sum(),
                bytes_in: t.incoming.iter().map(|f| f.read().1).sum(),
                outgoing: t
                    .outgoing
                    .read()
                    .iter()
                    .map(|(g, f)| {
                        let (m, b) = f.read();
                        (g.clone(), m, b)
                    })
                    .collect(),
            })
            .collect()
    }

    fn collect(&self, out: &mut Scrape) {
        let mut topics: Vec<(String, Arc<TopicTraffic>)> = self
            .topics
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect();
        topics.sort_by(|a, b| a.0.cmp(&b.0));
        for (topic, t) in topics {
            let system = names::is_system_topic(&topic);
            for kind in MessageType::ALL {
                let (messages, bytes) = t.incoming[kind as usize].read();
                if messages == 0 {
                    continue;
                }
                let labels = labels(&[
                    (LABEL_TOPIC, topic.clone()),
                    (LABEL_MESSAGE_TYPE, kind.label().to_owned()),
                    (LABEL_IS_SYSTEM, system.to_string()),
                ]);
                out.counter(
                    MESSAGES_IN_TOTAL,
                    "Total number of incoming messages",
                    labels.clone(),
                    messages,
                );
                out.counter(
                    THROUGHPUT_IN_TOTAL,
                    "Total traffic of incoming messages (bytes)",
                    labels,
                    bytes,
                );
            }
            let mut groups: Vec<(String, (u64, u64))> = t
                .outgoing
                .read()
                .iter()
                .map(|(g, f)| (g.clone(), f.read()))
                .collect();
            groups.sort();
            for (group, (messages, bytes)) in groups {
                let labels = labels(&[
                    (LABEL_TOPIC, topic.clone()),
                    (LABEL_CONSUMER_GROUP, group.clone()),
                    (
                        LABEL_IS_SYSTEM,
                        (system || is_system_group(&group)).to_string(),
                    ),
                    (LABEL_IS_RETRY, names::is_retry_topic(&topic).to_string()),
                ]);
                out.counter(
                    MESSAGES_OUT_TOTAL,
                    "Total number of outgoing messages",
                    labels.clone(),
                    messages,
                );
                out.counter(
                    THROUGHPUT_OUT_TOTAL,
                    "Total traffic of outgoing messages (bytes)",
                    labels,
                    bytes,
                );
            }
        }
    }
}

/// One topic's counters in [`Traffic::snapshot`].
#[derive(Debug, Clone)]
pub struct TrafficSnapshot {
    /// The topic.
    pub topic: String,
    /// Messages stored in it.
    pub messages_in: u64,
    /// Their record bytes.
    pub bytes_in: u64,
    /// Per group: messages and bytes pulled.
    pub outgoing: Vec<(String, u64, u64)>,
}

/// RocketMQ's `BrokerMetricsManager.isSystemGroup`: a `CID_RMQ_SYS_` group, in any case.
fn is_system_group(group: &str) -> bool {
    group
        .get(..12)
        .is_some_and(|p| p.eq_ignore_ascii_case("CID_RMQ_SYS_"))
}

fn labels(pairs: &[(&'static str, String)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (Cow::Borrowed(*k), v.clone()))
        .collect()
}

/// The broker as a metrics source. Holds the broker weakly: a stopped broker reports nothing.
pub struct BrokerSource {
    broker: Weak<Broker>,
    constant: Labels,
}

impl BrokerSource {
    /// A source reading `broker`, labelled `cluster`, `node_type="broker"`, `node_id` (the
    /// broker name) and the `metricsLabel` pairs.
    pub fn new(broker: &Arc<Broker>) -> Self {
        let c = &broker.config;
        let mut constant: Labels = c
            .metrics_label
            .iter()
            .map(|(k, v)| (Cow::Owned(k.clone()), v.clone()))
            .collect();
        constant.push((Cow::Borrowed(LABEL_NODE_TYPE), "broker".into()));
        constant.push((Cow::Borrowed(LABEL_CLUSTER), c.broker_cluster_name.clone()));
        constant.push((Cow::Borrowed(LABEL_NODE_ID), c.broker_name.clone()));
        BrokerSource {
            broker: Arc::downgrade(broker),
            constant,
        }
    }
}

impl Source for BrokerSource {
    fn collect(&self, out: &mut Scrape) {
        let Some(b) = self.broker.upgrade() else {
            return;
        };
        out.set_constant_labels(self.constant.clone());
        b.traffic.collect(out);
        collect_lag(&b, out);
        collect_store(&b, out);
        b.rpc
            .collect(out, ferromq_proto::codes::request_name, response_code_name);
        crate::flow::metrics::collect(&b, out);
        out.gauge(
            BROKER_PERMISSION,
            "Broker permission",
            Labels::new(),
            f64::from(b.live.broker_permission()),
        );
        out.gauge(
            ACTIVE_TOPIC_NUMBER,
            "Active topic number",
            Labels::new(),
            b.topics.names().len() as f64,
        );
        out.gauge(
            ACTIVE_SUBSCRIPTION_NUMBER,
            "Active subscription group number",
            Labels::new(),
            b.groups.snapshot().subscription_group_table.len() as f64,
        );
        out.counter(
            SEND_TO_DLQ_MESSAGES_TOTAL,
            "Consumer send to DLQ messages",
            Labels::new(),
            u64::try_from(b.stats.dead_lettered.load(Ordering::Relaxed)).unwrap_or(0),
        );
    }
}

fn response_code_name(code: i32) -> Option<&'static str> {
    Some(ferromq_proto::codes::response_name(code)).filter(|n| *n != "UNKNOWN")
}

/// A group's committed offsets on a topic: topic, group, (queue id, offset).
type Committed = (String, String, Vec<(i32, i64)>);

/// `rocketmq_consumer_lag_messages` and `rocketmq_consumer_lag_latency` of every group with
/// committed offsets (RocketMQ's `ConsumerLagCalculator.calculateLag`): messages between the
/// committed offset and the end of each queue, and the age of the oldest of them.
fn collect_lag(b: &Broker, out: &mut Scrape) {
    let now = ferromq_common::now_millis();
    // Copy the table first: the store lookups below must not hold up offset commits.
    let mut committed: Vec<Committed> = Vec::new();
    b.offsets.for_each_committed(|topic, group, queues| {
        let queues = queues.iter().map(|(q, o)| (*q, *o)).collect();
        committed.push((topic.to_owned(), group.to_owned(), queues));
    });
    let mut rows = Vec::with_capacity(committed.len());
    for (topic, group, queues) in committed {
        let mut lag = 0i64;
        let mut oldest: Option<i64> = None;
        for (queue_id, committed) in queues {
            let committed = committed.max(0);
            let behind = (b.store.max_offset_in_queue(&topic, queue_id) - committed).max(0);
            if behind > 0 {
                lag += behind;
                if let Some(t) = b.store.message_store_timestamp(&topic, queue_id, committed) {
                    oldest = Some(oldest.map_or(t, |o| o.min(t)));
                }
            }
        }
        let latency = oldest.map_or(0, |t| (now - t).max(0));
        rows.push((topic, group, lag, latency));
    }
    for (topic, group, lag, latency) in rows {
        let labels = labels(&[
            (LABEL_CONSUMER_GROUP, group.clone()),
            (LABEL_TOPIC, topic.clone()),
            (LABEL_IS_RETRY, names::is_retry_topic(&topic).to_string()),
            (
                LABEL_IS_SYSTEM,
                (names::is_system_topic(&topic) || is_system_group(&group)).to_string(),
            ),
        ]);
        out.gauge(
            CONSUMER_LAG_MESSAGES,
            "Consumer lag messages",
            labels.clone(),
            lag as f64,
        );
        out.gauge(
            CONSUMER_LAG_LATENCY,
            "Consumer lag time (milliseconds)",
            labels,
            latency as f64,
        );
    }
}

/// The store gauges of RocketMQ's `DefaultStoreMetricsManager`.
fn collect_store(b: &Broker, out: &mut Scrape) {
    let store_labels = || {
        labels(&[
            (LABEL_STORAGE_TYPE, "local".to_owned()),
            (LABEL_STORAGE_MEDIUM, "disk".to_owned()),
        ])
    };
    let root = &b.config.store_path_root_dir;
    let probe = root.ancestors().find(|p| p.exists()).unwrap_or(root);
    if let (Ok(total), Ok(free)) = (fs4::total_space(probe), fs4::available_space(probe)) {
        if total > 0 {
            out.gauge(
                STORAGE_SIZE,
                "Broker storage size (bytes used on the store's file system)",
                store_labels(),
                total.saturating_sub(free) as f64,
            );
        }
    }
    let flush_behind =
        (b.store.commit_log_max_offset() - b.store.commit_log_flushed_offset()).max(0);
    out.gauge(
        STORAGE_FLUSH_BEHIND_BYTES,
        "Broker flush behind bytes",
        store_labels(),
        flush_behind as f64,
    );
    out.gauge(
        STORAGE_DISPATCH_BEHIND_BYTES,
        "Broker dispatch behind bytes",
        store_labels(),
        b.store.dispatch_behind_bytes().max(0) as f64,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_counts_per_topic_and_group_and_skips_retry_sends() {
        let t = Traffic::default();
        t.message_in("T", MessageType::Normal, 2, 200);
        t.message_in("T", MessageType::Delay, 1, 150);
        t.message_in("%RETRY%G", MessageType::Normal, 5, 500);
        t.message_out("T", "G", 3, 350);
        t.message_out("%RETRY%G", "G", 1, 10);
        assert_eq!(t.messages_in("T"), 3);
        assert_eq!(t.messages_in("%RETRY%G"), 0);
        t.message_in("Gone", MessageType::Normal, 1, 1);
        t.remove_topic("Gone");
        assert_eq!(t.messages_in("Gone"), 0);
        let mut out = Scrape::default();
        t.collect(&mut out);
        let text = out.encode();
        for line in [
            r#"rocketmq_messages_in_total{topic="T",message_type="normal",is_system="false"} 2"#,
            r#"rocketmq_throughput_in_total{topic="T",message_type="delay",is_system="false"} 150"#,
            r#"rocketmq_messages_out_total{topic="T",consumer_group="G",is_system="false",is_retry="false"} 3"#,
            r#"rocketmq_messages_out_total{topic="%RETRY%G",consumer_group="G",is_system="false",is_retry="true"} 1"#,
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
        assert!(!text.contains(r#"topic="%RETRY%G",message_type"#), "{text}");
        assert!(is_system_group("cid_rmq_sys_trace") && !is_system_group("CID_X"));
        assert_eq!(
            MessageType::of_send("TAGS\u{1}a\u{2}", false),
            MessageType::Normal
        );
        assert_eq!(
            MessageType::of_send("TAGS\u{1}a\u{2}", true),
            MessageType::Delay
        );
        let fifo = "TAGS\u{1}a\u{2}__SHARDINGKEY\u{1}k\u{2}";
        assert_eq!(MessageType::of_send(fifo, true), MessageType::Fifo);
        // The key's name as a value (or inside another name) is not a sharding key.
        let named = "KEYS\u{1}__SHARDINGKEY\u{2}X__SHARDINGKEY\u{1}k\u{2}";
        assert_eq!(MessageType::of_send(named, false), MessageType::Normal);
    }
}
