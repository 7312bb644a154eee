//! Live producers and consumers, known from their heartbeats (RocketMQ's `ConsumerManager` and
//! `ProducerManager`). Membership changes of a clustering group are announced to its members
//! with NOTIFY_CONSUMER_IDS_CHANGED so they rebalance at once.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use ferromq_net::ConnectionHandle;
use ferromq_proto::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, MessageModel, SubscriptionData,
};
use ferromq_proto::codes::request;
use ferromq_proto::headers::ConsumerGroupHeader;
use ferromq_proto::{LanguageCode, RemotingCommand};
use parking_lot::RwLock;

/// One client connection as a member of a group.
#[derive(Debug, Clone)]
pub struct ClientChannel {
    /// The connection.
    pub conn: ConnectionHandle,
    /// `clientIP@instanceName`.
    pub client_id: String,
    /// The client's language.
    pub language: LanguageCode,
    /// The client's version ordinal.
    pub version: i32,
    /// When the last heartbeat arrived.
    pub last_update: Instant,
}

/// Why a pull without its own subscription has nothing to filter by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionMissing {
    /// No live consumer of the group.
    Group,
    /// The group does not subscribe to the topic.
    Topic,
}

/// A consumer group: its members and what they subscribe to.
#[derive(Debug, Clone, Default)]
pub struct ConsumerGroup {
    /// Members keyed by connection id.
    pub channels: BTreeMap<u64, ClientChannel>,
    /// Subscriptions by topic.
    pub subscriptions: BTreeMap<String, SubscriptionData>,
    /// Pull or push.
    pub consume_type: ConsumeType,
    /// Clustering or broadcasting.
    pub message_model: MessageModel,
    /// Where new members start.
    pub consume_from_where: ConsumeFromWhere,
    /// Whether members are told when membership changes (broker and group both allow it).
    pub notify_enabled: bool,
}

impl ConsumerGroup {
    /// Client ids of all members.
    pub fn client_ids(&self) -> Vec<String> {
        self.channels
            .values()
            .map(|c| c.client_id.clone())
            .collect()
    }
}

/// Every known client.
#[derive(Default)]
pub struct ClientManager {
    consumers: RwLock<HashMap<String, ConsumerGroup>>,
    producers: RwLock<HashMap<String, BTreeMap<u64, ClientChannel>>>,
}

impl ClientManager {
    /// Records a consumer's heartbeat; notifies the group when its membership or subscriptions
    /// changed (and `notify` allows it).
    pub fn register_consumer(&self, channel: ClientChannel, data: &ConsumerData, notify: bool) {
        let group_name = data.group_name.clone();
        let changed = {
            let mut consumers = self.consumers.write();
            let group = consumers.entry(group_name.clone()).or_default();
            let new_member = group
                .channels
                .get(&channel.conn.id())
                .is_none_or(|c| c.client_id != channel.client_id);
            group.channels.insert(channel.conn.id(), channel);
            group.consume_type = data.consume_type.clone();
            group.message_model = data.message_model.clone();
            group.consume_from_where = data.consume_from_where.clone();
            group.notify_enabled = notify;
            let mut subs_changed = false;
            for sub in &data.subscription_data_set {
                match group.subscriptions.get(&sub.topic) {
                    Some(old)
                        if old.sub_string == sub.sub_string
                            && old.expression_type == sub.expression_type =>
                    {
                        if sub.sub_version > old.sub_version {
                            group.subscriptions.insert(sub.topic.clone(), sub.clone());
                        }
                    }
                    _ => {
                        group.subscriptions.insert(sub.topic.clone(), sub.clone());
                        subs_changed = true;
                    }
                }
            }
            // As RocketMQ's ConsumerGroupInfo: topics missing from this heartbeat are dropped.
            let before = group.subscriptions.len();
            group
                .subscriptions
                .retain(|t, _| data.subscription_data_set.iter().any(|s| &s.topic == t));
            subs_changed |= before != group.subscriptions.len();
            new_member || subs_changed
        };
        if changed {
            self.notify_group(&group_name);
        }
    }

    /// Records a producer's heartbeat.
    pub fn register_producer(&self, group: &str, channel: ClientChannel) {
        self.producers
            .write()
            .entry(group.to_owned())
            .or_default()
            .insert(channel.conn.id(), channel);
    }

    /// Removes `client_id` from the named groups (UNREGISTER_CLIENT).
    pub fn unregister(
        &self,
        conn: &ConnectionHandle,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) {
        if let Some(g) = producer_group {
            if let Some(p) = self.producers.write().get_mut(g) {
                p.remove(&conn.id());
            }
        }
        if let Some(g) = consumer_group {
            let removed = self
                .consumers
                .write()
                .get_mut(g)
                .map(|group| group.channels.remove(&conn.id()).is_some())
                .unwrap_or(false);
            if removed {
                self.cleanup_empty(g);
                self.notify_group(g);
            }
        }
    }

    /// Drops a closed connection from every group.
    pub fn connection_closed(&self, conn: &ConnectionHandle) {
        for p in self.producers.write().values_mut() {
            p.remove(&conn.id());
        }
        let affected: Vec<String> = self
            .consumers
            .write()
            .iter_mut()
            .filter_map(|(name, g)| g.channels.remove(&conn.id()).map(|_| name.clone()))
            .collect();
        for g in affected {
            self.cleanup_empty(&g);
            self.notify_group(&g);
        }
    }

    /// Drops members whose last heartbeat is older than `timeout`.
    pub fn expire(&self, timeout: Duration) {
        let now = Instant::now();
        let mut affected = Vec::new();
        for (name, g) in self.consumers.write().iter_mut() {
            let before = g.channels.len();
            g.channels
                .retain(|_, c| now.duration_since(c.last_update) < timeout && !c.conn.is_closed());
            if g.channels.len() != before {
                affected.push(name.clone());
            }
        }
        for p in self.producers.write().values_mut() {
            p.retain(|_, c| now.duration_since(c.last_update) < timeout && !c.conn.is_closed());
        }
        for g in affected {
            tracing::info!(group = %g, "expired idle consumer channels");
            self.cleanup_empty(&g);
            self.notify_group(&g);
        }
    }

    fn cleanup_empty(&self, group: &str) {
        let mut consumers = self.consumers.write();
        if consumers.get(group).is_some_and(|g| g.channels.is_empty()) {
            consumers.remove(group);
        }
    }

    /// A copy of the group's state.
    pub fn consumer_group(&self, group: &str) -> Option<ConsumerGroup> {
        self.consumers.read().get(group).cloned()
    }

    /// The group's subscription to `topic` (what a pull without its own subscription is
    /// filtered by).
    pub fn subscription_of(
        &self,
        group: &str,
        topic: &str,
    ) -> Result<SubscriptionData, SubscriptionMissing> {
        let consumers = self.consumers.read();
        let g = consumers.get(group).ok_or(SubscriptionMissing::Group)?;
        g.subscriptions
            .get(topic)
            .cloned()
            .ok_or(SubscriptionMissing::Topic)
    }

    /// The group's subscription to `topic`, if there is one.
    pub fn subscription(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.subscription_of(group, topic).ok()
    }

    /// True when the group's live consumers consume by broadcasting.
    pub fn is_broadcasting(&self, group: &str) -> bool {
        self.consumers
            .read()
            .get(group)
            .is_some_and(|g| g.message_model == MessageModel::Broadcasting)
    }

    /// Names of all groups with live consumers.
    pub fn consumer_groups(&self) -> Vec<String> {
        self.consumers.read().keys().cloned().collect()
    }

    /// The connection a producer with client id `client_id` heartbeats on (Java
    /// `ProducerManager.findChannel`): where request-reply replies for it go. The newest when it
    /// has several.
    pub fn producer_connection(&self, client_id: &str) -> Option<ConnectionHandle> {
        self.producers
            .read()
            .values()
            .flat_map(BTreeMap::values)
            .filter(|c| c.client_id == client_id && !c.conn.is_closed())
            .max_by_key(|c| c.last_update)
            .map(|c| c.conn.clone())
    }

    /// Live producer channels of a group.
    pub fn producer_channels(&self, group: &str) -> Vec<ClientChannel> {
        self.producers
            .read()
            .get(group)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Sends NOTIFY_CONSUMER_IDS_CHANGED to every member of a clustering group.
    pub fn notify_group(&self, group: &str) {
        let targets: Vec<ConnectionHandle> = match self.consumers.read().get(group) {
            Some(g) if g.notify_enabled && g.message_model != MessageModel::Broadcasting => {
                g.channels.values().map(|c| c.conn.clone()).collect()
            }
            _ => return,
        };
        for conn in targets {
            let cmd = RemotingCommand::request(
                request::NOTIFY_CONSUMER_IDS_CHANGED,
                &ConsumerGroupHeader {
                    consumer_group: group.to_owned(),
                },
            );
            if let Err(e) = conn.send_oneway(cmd) {
                tracing::debug!(group, error = %e, "notify consumer ids changed failed");
            }
        }
    }
}
