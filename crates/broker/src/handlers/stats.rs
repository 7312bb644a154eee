//! Read-only admin views: topic stats, runtime info, consume stats, connections.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use ferromq_common::names;
use ferromq_proto::body::{
    Connection, ConsumeStats, ConsumeStatsList, ConsumerConnection, GroupList, JsonBody, KVTable,
    MessageQueue, OffsetWrapper, ProducerConnection, TopicOffset, TopicStatsTable,
};
use ferromq_proto::codes::response;
use ferromq_proto::headers::{
    ConsumerGroupHeader, GetConsumeStatsInBrokerHeader, GetConsumeStatsRequestHeader,
    ProducerGroupHeader, TopicHeader,
};
use ferromq_proto::RemotingCommand;

use crate::clients::ClientChannel;
use crate::{Broker, BrokerError};

/// GET_TOPIC_STATS_INFO: min, max and last-update time of every queue.
pub fn topic_stats(b: &Arc<Broker>, req: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
    let h: TopicHeader = req.decode_header()?;
    let config = b
        .topics
        .get(&h.topic)
        .ok_or_else(|| BrokerError::TopicNotExist {
            topic: h.topic.clone(),
        })?;
    let mut table = TopicStatsTable::default();
    for queue_id in 0..config.read_queue_nums.max(config.write_queue_nums) {
        let min = b.store.min_offset_in_queue(&h.topic, queue_id).max(0);
        let max = b.store.max_offset_in_queue(&h.topic, queue_id).max(0);
        let last = if max > 0 {
            b.store
                .message_store_timestamp(&h.topic, queue_id, max - 1)
                .unwrap_or(0)
        } else {
            0
        };
        table.offset_table.insert(
            MessageQueue::new(h.topic.clone(), b.config.broker_name.clone(), queue_id),
            TopicOffset {
                min_offset: min,
                max_offset: max,
                last_update_timestamp: last,
            },
        );
    }
    Ok(req.success_to().with_body(table.to_json()))
}

/// GET_BROKER_RUNTIME_INFO: the keys `mqadmin clusterList` and `brokerStatus` read.
pub fn runtime_info(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let put = b.stats.put_total.load(Ordering::Relaxed);
    let get = b.stats.get_total.load(Ordering::Relaxed);
    let now = ferromq_common::now_millis();
    let mut t = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        t.insert(k.to_owned(), v);
    };
    set("brokerVersionDesc", "V5_3_3".into());
    set(
        "brokerVersion",
        ferromq_proto::command::CURRENT_VERSION.to_string(),
    );
    set("brokerActive", "true".into());
    set("msgPutTotalYesterdayMorning", "0".into());
    set("msgPutTotalTodayMorning", "0".into());
    set("msgPutTotalTodayNow", put.to_string());
    set("msgGetTotalYesterdayMorning", "0".into());
    set("msgGetTotalTodayMorning", "0".into());
    set("msgGetTotalTodayNow", get.to_string());
    let [put_tps, get_transferred_tps, get_found_tps, get_miss_tps] = b.stats_items.runtime_tps(b);
    set("putTps", put_tps);
    set("getTransferedTps", get_transferred_tps.clone());
    set("getTransferredTps", get_transferred_tps);
    let gate = &b.send_gate;
    set("sendThreadPoolQueueSize", gate.queue_size().to_string());
    set(
        "sendThreadPoolQueueCapacity",
        b.config.flow.send_queue_capacity.to_string(),
    );
    set("pullThreadPoolQueueSize", "0".into());
    set("sendThreadPoolQueueHeadWaitTimeMills", "0".into());
    set("pullThreadPoolQueueHeadWaitTimeMills", "0".into());
    set(
        "pageCacheLockTimeMills",
        b.store.append_lock_held_ms().to_string(),
    );
    // FerroMQ's flow-control counters (since start).
    let count = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    set("sendInProgress", gate.in_progress().to_string());
    set(
        "sendShedTimeoutTotal",
        count(&gate.counters.shed_timeout).to_string(),
    );
    set(
        "sendShedPageCacheTotal",
        (count(&gate.counters.shed_page_cache) + count(&gate.counters.rejected_page_cache))
            .to_string(),
    );
    set(
        "sendShedOverloadTotal",
        count(&gate.counters.shed_overload).to_string(),
    );
    if let Some(acl) = &b.acl {
        for (name, n) in acl.counters() {
            set(&name, n.to_string());
        }
    }
    if b.auth.enabled() {
        for (name, n) in b.auth.counters() {
            set(&name, n.to_string());
        }
    }
    let store = b.store.stats();
    // Store time of the oldest record still in the commit log; -1 when empty, as RocketMQ.
    let earliest = b
        .store
        .look_message_decoded(store.commit_log_min_offset)
        .map_or(-1, |m| m.store_timestamp);
    set("earliestMessageTimeStamp", earliest.to_string());
    set(
        "commitLogDiskRatio",
        format!("{:.2}", disk_used_ratio(&b.config.store_path_root_dir)),
    );
    set(
        "commitLogMinOffset",
        store.commit_log_min_offset.to_string(),
    );
    set(
        "commitLogMaxOffset",
        store.commit_log_max_offset.to_string(),
    );
    set(
        "putMessageSizeTotal",
        store.put_message_size_total.to_string(),
    );
    set("getFoundTps", get_found_tps);
    set("getMissTps", get_miss_tps);
    set("bootTimestamp", b.stats.boot_timestamp.to_string());
    set("runtime", format_runtime(now - b.stats.boot_timestamp));
    set("putMessageTimesTotal", put.to_string());
    set(
        "replyMessagePushedTotal",
        b.stats.reply_pushed.load(Ordering::Relaxed).to_string(),
    );
    set(
        "replyMessageDroppedTotal",
        b.stats.reply_dropped.load(Ordering::Relaxed).to_string(),
    );
    for (key, counter) in [
        ("sendBackMessageTotal", &b.stats.send_back),
        ("sendBackDroppedTotal", &b.stats.send_back_dropped),
        ("deadLetterMessageTotal", &b.stats.dead_lettered),
        ("recallMessageTotal", &b.stats.recalled),
    ] {
        set(key, counter.load(Ordering::Relaxed).to_string());
    }
    set(
        "timerRecalledDroppedTotal",
        b.timer.recalls().dropped().to_string(),
    );
    set(
        "dispatchBehindBytes",
        b.store.dispatch_behind_bytes().to_string(),
    );
    set("remainHowManyDataToFlush", "0 B".into());
    Ok(req.success_to().with_body(KVTable { table: t }.to_json()))
}

/// Used fraction of the file system holding `path`, 0..1 (0 when unknown).
fn disk_used_ratio(path: &std::path::Path) -> f64 {
    // The store directory may not exist yet on a fresh broker; its parent is the same disk.
    let probe = path.ancestors().find(|p| p.exists()).unwrap_or(path);
    match (fs4::total_space(probe), fs4::available_space(probe)) {
        (Ok(total), Ok(free)) if total > 0 => (total.saturating_sub(free)) as f64 / total as f64,
        _ => 0.0,
    }
}

fn format_runtime(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    format!(
        "[ {} days, {} hours, {} minutes, {} seconds ]",
        secs / 86_400,
        (secs % 86_400) / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// GET_CONSUME_STATS: per queue the broker offset, committed offset and last pulled offset.
pub fn consume_stats(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: GetConsumeStatsRequestHeader = req.decode_header()?;
    let group = h.consumer_group;
    let mut topics: Vec<String> =
        if let Some(list) = h.topic_list.as_deref().filter(|s| !s.is_empty()) {
            list.split(';')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        } else if let Some(t) = h.topic.filter(|t| !t.is_empty()) {
            vec![t]
        } else {
            b.offsets.topics_of_group(&group)
        };
    if let Some(live) = b.clients.consumer_group(&group) {
        if !live.subscriptions.is_empty() {
            // Subscribed topics count even before the first commit.
            for t in live.subscriptions.keys() {
                if !topics.contains(t) {
                    topics.push(t.clone());
                }
            }
            topics.retain(|t| live.subscriptions.contains_key(t));
        }
    }
    let mut stats = ConsumeStats::default();
    for topic in topics {
        let Some(config) = b.topics.get(&topic) else {
            continue;
        };
        for queue_id in 0..config.read_queue_nums {
            let broker_offset = b.store.max_offset_in_queue(&topic, queue_id).max(0);
            let consumer_offset = b
                .offsets
                .query(&group, &topic, queue_id)
                .unwrap_or(-1)
                .max(0);
            let pull_offset = b
                .offsets
                .pulled(&group, &topic, queue_id)
                .unwrap_or(0)
                .max(consumer_offset);
            let last_timestamp = if consumer_offset > 0 {
                b.store
                    .message_store_timestamp(&topic, queue_id, consumer_offset - 1)
                    .unwrap_or(0)
            } else {
                0
            };
            stats.offset_table.insert(
                MessageQueue::new(topic.clone(), b.config.broker_name.clone(), queue_id),
                OffsetWrapper {
                    broker_offset,
                    consumer_offset,
                    pull_offset,
                    last_timestamp,
                },
            );
        }
    }
    Ok(req.success_to().with_body(stats.to_json()))
}

/// GET_BROKER_CONSUME_STATS: every subscription group's progress on every topic it has
/// committed offsets for (Java `AdminBrokerProcessor.fetchAllConsumeStatsInBroker`); with
/// `isOrder` only ordered topics. Topics a live group does not subscribe to are left out.
pub fn broker_consume_stats(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: GetConsumeStatsInBrokerHeader = req.decode_header()?;
    let mut list = ConsumeStatsList {
        broker_addr: Some(b.store_host.to_string()),
        ..Default::default()
    };
    for group in b.groups.snapshot().subscription_group_table.keys() {
        let live = b.clients.consumer_group(group);
        let mut per_topic = Vec::new();
        for topic in b.offsets.topics_of_group(group) {
            let Some(config) = b.topics.get(&topic) else {
                continue;
            };
            if h.is_order && !config.order {
                continue;
            }
            if live.as_ref().is_some_and(|g| {
                !g.subscriptions.is_empty() && !g.subscriptions.contains_key(&topic)
            }) {
                continue;
            }
            let mut stats = ConsumeStats::default();
            for queue_id in 0..config.write_queue_nums {
                let broker_offset = b.store.max_offset_in_queue(&topic, queue_id).max(0);
                let consumer_offset = b.offsets.query(group, &topic, queue_id).unwrap_or(0).max(0);
                let last_timestamp = if consumer_offset > 0 {
                    b.store
                        .message_store_timestamp(&topic, queue_id, consumer_offset - 1)
                        .unwrap_or(0)
                } else {
                    0
                };
                list.total_diff += broker_offset - consumer_offset;
                stats.offset_table.insert(
                    MessageQueue::new(topic.clone(), b.config.broker_name.clone(), queue_id),
                    OffsetWrapper {
                        broker_offset,
                        consumer_offset,
                        last_timestamp,
                        pull_offset: 0,
                    },
                );
            }
            per_topic.push(stats);
        }
        list.consume_stats_list
            .push(BTreeMap::from([(group.clone(), per_topic)]));
    }
    Ok(req.success_to().with_body(list.to_json()))
}

fn connection_of(c: &ClientChannel) -> Connection {
    Connection {
        client_id: c.client_id.clone(),
        client_addr: c.conn.peer_addr().to_string(),
        language: c.language.name().to_owned(),
        version: c.version,
    }
}

/// GET_CONSUMER_CONNECTION_LIST.
pub fn consumer_connections(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: ConsumerGroupHeader = req.decode_header()?;
    let group = b
        .clients
        .consumer_group(&h.consumer_group)
        .filter(|g| !g.channels.is_empty())
        .ok_or_else(|| BrokerError::Code {
            code: response::CONSUMER_NOT_ONLINE,
            remark: format!("the consumer group[{}] not online", h.consumer_group),
        })?;
    let body = ConsumerConnection {
        connection_set: group.channels.values().map(connection_of).collect(),
        subscription_table: group.subscriptions.clone(),
        consume_type: group.consume_type.clone(),
        message_model: group.message_model.clone(),
        consume_from_where: group.consume_from_where.clone(),
    };
    Ok(req.success_to().with_body(body.to_json()))
}

/// GET_PRODUCER_CONNECTION_LIST.
pub fn producer_connections(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: ProducerGroupHeader = req.decode_header()?;
    let channels = b.clients.producer_channels(&h.producer_group);
    if channels.is_empty() {
        return Err(BrokerError::system(format!(
            "the producer group[{}] not exist",
            h.producer_group
        )));
    }
    let body = ProducerConnection {
        connection_set: channels.iter().map(connection_of).collect(),
    };
    Ok(req.success_to().with_body(body.to_json()))
}

/// QUERY_TOPIC_CONSUME_BY_WHO: groups subscribed to, or with offsets on, the topic.
pub fn consumed_by_who(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: TopicHeader = req.decode_header()?;
    let mut groups: std::collections::BTreeSet<String> =
        b.offsets.groups_of_topic(&h.topic).into_iter().collect();
    for g in b.clients.consumer_groups() {
        if b.clients
            .consumer_group(&g)
            .is_some_and(|c| c.subscriptions.contains_key(&h.topic))
        {
            groups.insert(g);
        }
    }
    if names::is_retry_topic(&h.topic) {
        groups.insert(
            h.topic
                .trim_start_matches(names::RETRY_GROUP_TOPIC_PREFIX)
                .to_owned(),
        );
    }
    Ok(req
        .success_to()
        .with_body(GroupList { group_list: groups }.to_json()))
}

/// GET_BROKER_CONFIG: the effective settings as properties text.
pub fn broker_config(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let c = &b.config;
    let ha_port = b
        .advertised_ha_addr()
        .rsplit_once(':')
        .map_or_else(|| c.ha_port().to_string(), |(_, p)| p.to_owned());
    let text = format!(
        "brokerClusterName={}\nbrokerName={}\nbrokerId={}\nlistenPort={}\nbrokerIP1={}\nnamesrvAddr={}\nstorePathRootDir={}\nautoCreateTopicEnable={}\ndefaultTopicQueueNums={}\nflushDiskType={}\nbrokerRole={}\ndeleteWhen={}\nfileReservedTime={}\nmaxMessageSize={}\nhaListenPort={}\nenableControllerMode={}\n",
        c.broker_cluster_name,
        c.broker_name,
        b.registered_broker_id(),
        c.listen_port,
        c.broker_ip1,
        c.namesrv_addr.clone().unwrap_or_default(),
        c.store_path_root_dir.display(),
        c.auto_create_topic_enable,
        c.default_topic_queue_nums,
        match c.flush_disk_type {
            crate::config::FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
            crate::config::FlushDiskType::SyncFlush => "SYNC_FLUSH",
        },
        match b.role() {
            crate::config::BrokerRole::AsyncMaster => "ASYNC_MASTER",
            crate::config::BrokerRole::SyncMaster => "SYNC_MASTER",
            crate::config::BrokerRole::Slave => "SLAVE",
        },
        c.delete_when,
        c.file_reserved_time,
        c.max_message_size,
        ha_port,
        c.enable_controller_mode,
    );
    // Keys `updateBrokerConfig` may have changed show their value now.
    let live: Vec<(String, String)> = crate::live_config::live_keys()
        .filter_map(|k| crate::live_config::live_value(b, k).map(|v| (k.to_owned(), v)))
        .collect();
    let text = crate::live_config::rewrite_properties(&text, &live);
    let mut resp = req.success_to().with_body(text.into_bytes());
    resp.ext_fields.insert("version", "0");
    Ok(resp)
}
