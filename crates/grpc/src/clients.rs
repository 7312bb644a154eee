//! v5 clients in the broker's client tables, as Apache RocketMQ's proxy registers them.
//!
//! ```text
//! Telemetry stream (x-mq-client-id, x-mq-language, x-mq-client-version)
//!   Settings{publishing: topics}  ─▶ producer of group <topic>, for every topic
//!   Settings{subscription: group} ─▶ consumer of <group> (SimpleConsumer: CONSUME_ACTIVELY,
//!                                    PushConsumer: CONSUME_PASSIVELY; CLUSTERING)
//!        │ registered through a detached connection (no socket of its own)
//!        ▼
//! broker ClientManager ─▶ producerConnection / consumerConnection listings,
//!                         transaction check-back: CHECK_TRANSACTION_STATE on the detached
//!                         connection ─▶ RecoverOrphanedTransactionCommand down the stream
//! ```
//!
//! Heartbeat refreshes the registration; NotifyClientTermination and the end of the stream
//! remove it. As in the proxy, a v5 producer's group is the topic it publishes to.

use std::collections::HashMap;
use std::time::Instant;

use ferromq_broker::clients::ClientChannel;
use ferromq_broker::Broker;
use ferromq_net::ConnectionHandle;
use ferromq_proto::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, ExpressionType, MessageModel, SubscriptionData,
};
use ferromq_proto::codes::request;
use ferromq_proto::headers::CheckTransactionStateRequestHeader;
use ferromq_proto::message::record::RecordView;
use ferromq_proto::{LanguageCode, RemotingCommand};
use parking_lot::Mutex;
use tonic::metadata::MetadataMap;

use crate::convert;
use crate::pb;

/// What a v5 client says about itself in its request metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMeta {
    /// `x-mq-client-id`.
    pub client_id: String,
    /// `x-mq-language` (`OTHER` when unknown).
    pub language: LanguageCode,
    /// The version ordinal listed: `x-mq-client-version` when it names a RocketMQ version
    /// constant (`V5_1_2`), else the broker's own, as the proxy does.
    pub version: i32,
}

impl ClientMeta {
    /// Reads the metadata of a request.
    pub fn of(md: &MetadataMap) -> ClientMeta {
        let text = |k: &str| {
            md.get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        ClientMeta {
            client_id: text("x-mq-client-id"),
            language: LanguageCode::from_name(&text("x-mq-language").to_ascii_uppercase()),
            version: version_ordinal(&text("x-mq-client-version")),
        }
    }
}

/// The ordinal of a `MQVersion.Version` name such as `V5_1_2` (releases 4.0.0 … 5.9.9); the
/// broker's own version for anything else (a v5 client sends `5.1.2`, which Java's
/// `Version.valueOf` refuses too).
pub fn version_ordinal(text: &str) -> i32 {
    let current = ferromq_proto::command::CURRENT_VERSION;
    let Some(rest) = text
        .to_ascii_uppercase()
        .strip_prefix('V')
        .map(str::to_owned)
    else {
        return current;
    };
    let parts: Vec<&str> = rest.split('_').collect();
    let [major, minor, patch] = parts.as_slice() else {
        return current;
    };
    let (Ok(major), Ok(minor), Ok(patch)) = (
        major.parse::<i32>(),
        minor.parse::<i32>(),
        patch.parse::<i32>(),
    ) else {
        return current;
    };
    if !(4..=5).contains(&major) || !(0..=9).contains(&minor) || !(0..=9).contains(&patch) {
        return current;
    }
    // V4_0_0_SNAPSHOT is ordinal 212; every version after it takes two (SNAPSHOT, release).
    212 + 2 * ((major - 4) * 100 + minor * 10 + patch) + 1
}

struct Registered {
    conn: ConnectionHandle,
    meta: ClientMeta,
    settings: pb::Settings,
}

/// The v5 clients of one broker, by client id.
#[derive(Default)]
pub struct V5Clients {
    by_id: Mutex<HashMap<String, Registered>>,
}

impl V5Clients {
    /// Records the settings a client sent on its Telemetry stream (`conn` stands for the
    /// stream) and registers it with the broker.
    pub fn settings(
        &self,
        b: &Broker,
        meta: &ClientMeta,
        conn: &ConnectionHandle,
        settings: &pb::Settings,
    ) {
        if meta.client_id.is_empty() {
            return;
        }
        let r = Registered {
            conn: conn.clone(),
            meta: meta.clone(),
            settings: settings.clone(),
        };
        apply(b, &r);
        let old = self.by_id.lock().insert(meta.client_id.clone(), r);
        if let Some(old) = old.filter(|o| o.conn.id() != conn.id()) {
            // A new stream replaces the old one: only the new one stays listed.
            b.clients.connection_closed(&old.conn);
        }
    }

    /// A heartbeat: the client's registration is refreshed. False when its settings are not
    /// known (no Telemetry stream yet).
    pub fn heartbeat(&self, b: &Broker, client_id: &str) -> bool {
        let by_id = self.by_id.lock();
        match by_id.get(client_id) {
            Some(r) => {
                apply(b, r);
                true
            }
            None => false,
        }
    }

    /// NotifyClientTermination: the client is removed from the broker's tables.
    pub fn terminated(&self, b: &Broker, client_id: &str) {
        if let Some(r) = self.by_id.lock().remove(client_id) {
            b.clients.connection_closed(&r.conn);
        }
    }

    /// The Telemetry stream `conn` stands for ended.
    pub fn stream_closed(&self, b: &Broker, client_id: &str, conn: &ConnectionHandle) {
        b.clients.connection_closed(conn);
        let mut by_id = self.by_id.lock();
        if by_id
            .get(client_id)
            .is_some_and(|r| r.conn.id() == conn.id())
        {
            by_id.remove(client_id);
        }
    }

    /// Client ids known (for tests and listings).
    pub fn client_ids(&self) -> Vec<String> {
        self.by_id.lock().keys().cloned().collect()
    }
}

fn channel(r: &Registered) -> ClientChannel {
    ClientChannel {
        conn: r.conn.clone(),
        client_id: r.meta.client_id.clone(),
        language: r.meta.language,
        version: r.meta.version,
        last_update: Instant::now(),
    }
}

/// Registers a client with the broker's producer or consumer table.
fn apply(b: &Broker, r: &Registered) {
    match &r.settings.pub_sub {
        Some(pb::settings::PubSub::Publishing(p)) => {
            for topic in p.topics.iter().filter(|t| !t.name.is_empty()) {
                // The proxy's rule: a v5 producer's group is the topic's name.
                b.clients.register_producer(&topic.name, channel(r));
            }
        }
        Some(pb::settings::PubSub::Subscription(s)) => {
            let Some(group) = s.group.as_ref().filter(|g| !g.name.is_empty()) else {
                return;
            };
            let consume_type =
                match pb::ClientType::try_from(r.settings.client_type.unwrap_or_default()) {
                    Ok(pb::ClientType::SimpleConsumer) => ConsumeType::Actively,
                    _ => ConsumeType::Passively,
                };
            let data = ConsumerData {
                consume_from_where: ConsumeFromWhere::LastOffset,
                consume_type,
                group_name: group.name.clone(),
                message_model: MessageModel::Clustering,
                subscription_data_set: s
                    .subscriptions
                    .iter()
                    .filter_map(|e| {
                        let topic = e.topic.as_ref()?.name.clone();
                        Some(subscription(topic, e.expression.as_ref()))
                    })
                    .collect(),
                unit_mode: false,
            };
            let Ok(Some(config)) = b.groups.find_or_create(&group.name) else {
                return;
            };
            // As a remoting consumer's heartbeat: the group's retry topic exists (mqadmin finds
            // the group's brokers by its route), and members of the group are told when it
            // changes (a v5 client ignores the notice; a remoting member needs it).
            let retry = ferromq_common::names::retry_topic(&group.name);
            if let Ok((_, true)) = b.topics.ensure_internal(
                &retry,
                config.retry_queue_nums.max(1),
                ferromq_common::perm::READ_WRITE,
            ) {
                b.topics_changed(vec![retry]);
            }
            let notify = b.config.notify_consumer_ids_changed_enable
                && config.notify_consumer_ids_changed_enable;
            b.clients.register_consumer(channel(r), &data, notify);
        }
        None => {}
    }
}

/// Java `String.hashCode`, the codes of a tag subscription.
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The remoting form of a v5 subscription entry (Java `FilterAPI.build`).
fn subscription(topic: String, f: Option<&pb::FilterExpression>) -> SubscriptionData {
    let expr = f.map_or("*", |f| f.expression.trim());
    let expr = if expr.is_empty() { "*" } else { expr };
    let sql = f.is_some_and(|f| f.r#type == pb::FilterType::Sql as i32);
    let mut d = SubscriptionData {
        topic,
        sub_string: expr.to_owned(),
        sub_version: ferromq_common::now_millis(),
        expression_type: if sql {
            ExpressionType::Sql92
        } else {
            ExpressionType::Tag
        },
        ..Default::default()
    };
    if !sql && expr != "*" {
        for tag in expr.split("||").map(str::trim).filter(|t| !t.is_empty()) {
            d.tags_set.insert(tag.to_owned());
            d.code_set.insert(java_hash(tag));
        }
    }
    d
}

/// What a command the broker sent on a v5 client's detached connection becomes on its
/// Telemetry stream; `None` for commands with no v5 form (they are dropped).
pub fn to_telemetry(cmd: &RemotingCommand) -> Option<pb::TelemetryCommand> {
    if cmd.code != request::CHECK_TRANSACTION_STATE {
        return None;
    }
    let h: CheckTransactionStateRequestHeader = cmd.decode_header().ok()?;
    let view = RecordView::parse(&cmd.body).ok()?;
    let message = convert::to_pb(&view, None);
    let offset_msg_id = h.offset_msg_id.clone().unwrap_or_default();
    Some(pb::TelemetryCommand {
        status: Some(convert::ok()),
        command: Some(
            pb::telemetry_command::Command::RecoverOrphanedTransactionCommand(
                pb::RecoverOrphanedTransactionCommand {
                    message: Some(message),
                    // The id EndTransaction reads back: the copy's offset message id and
                    // half-queue offset.
                    transaction_id: format!("{offset_msg_id}-{}", h.tran_state_table_offset),
                },
            ),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_map_to_java_ordinals_and_others_to_the_current_version() {
        let current = ferromq_proto::command::CURRENT_VERSION;
        // MQVersion: V4_0_0 is 213, V5_3_3 (this broker's own) 479.
        assert_eq!(version_ordinal("V4_0_0"), 213);
        assert_eq!(version_ordinal("v4_0_1"), 215);
        assert_eq!(version_ordinal("V5_3_3"), 479);
        assert_eq!(version_ordinal("5.1.2"), current);
        assert_eq!(version_ordinal(""), current);
        assert_eq!(version_ordinal("V9_0_0"), current);
    }

    #[test]
    fn tag_subscriptions_carry_java_hash_codes() {
        assert_eq!(java_hash("TagA"), 2_598_919);
        let f = pb::FilterExpression {
            r#type: pb::FilterType::Tag as i32,
            expression: "TagA || TagB".into(),
        };
        let d = subscription("T".into(), Some(&f));
        assert_eq!(d.tags_set.len(), 2);
        assert!(d.code_set.contains(&2_598_919));
        assert_eq!(subscription("T".into(), None).sub_string, "*");
    }
}
