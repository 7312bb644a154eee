//! `apache.rocketmq.v2.MessagingService` on top of the broker's own services: sends go through
//! the remoting send path (`handlers::send::send`), transactions through the transaction
//! service, dead letters through CONSUMER_SEND_MSG_BACK's path, offsets through the offset
//! table. Only the pop state ([`crate::pop`]) is this crate's own.
//!
//! Every answer carries a RocketMQ `Status` (`Code` values of definition.proto) in its body, as
//! RocketMQ's proxy does; the gRPC status stays OK unless the request could not be read.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferromq_broker::handlers::{send, send_back};
use ferromq_broker::Broker;
use ferromq_common::{names, now_millis, perm};
use ferromq_proto::body::{SubscriptionGroupConfig, TopicConfig};
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::{
    ConsumerSendMsgBackRequestHeader, EndTransactionRequestHeader, SendMessageRequestHeader,
    SendMessageResponseHeader,
};
use ferromq_proto::message::msg_id::decode_offset_msg_id;
use ferromq_proto::message::properties::{self as props, Properties};
use ferromq_proto::message::record::RecordView;
use ferromq_proto::message::sys_flag;
use ferromq_proto::RemotingCommand;
use ferromq_store::GetStatus;
use parking_lot::{Mutex, RwLock};
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::clients::ClientMeta;
use crate::convert::{self, duration, duration_ms, failure, millis_of, ok, status, Failure};
use crate::pb::messaging_service_server::MessagingService;
use crate::pb::{self, Code};
use crate::pop::{self, HandleError, Inflight, PopStore, ReceiptHandle, Record};

/// Longest long poll of a receive (the proxy's `grpcClientConsumerMaxLongPollingTimeoutMillis`).
pub const MAX_LONG_POLLING_MS: i64 = 20_000;
/// Messages per receive when the request asks for none (the proxy's
/// `grpcClientConsumerLongPollingBatchSize`).
pub const RECEIVE_BATCH: i32 = 32;
/// Invisible durations accepted: 1 s to 12 h.
pub const INVISIBLE_MS: std::ops::RangeInclusive<i64> = 1_000..=43_200_000;
/// Invisible time of auto-renewed receives (the proxy's `defaultInvisibleTimeMills`).
pub const DEFAULT_INVISIBLE_MS: i64 = 60_000;
/// How often a long poll looks again for messages.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// A broker being served, with the gRPC API's state of it.
pub struct Node {
    /// The broker.
    pub broker: Arc<Broker>,
    pop: Mutex<PopStore>,
    cursor: AtomicUsize,
    /// v5 clients registered with the broker's client tables.
    pub clients: crate::clients::V5Clients,
}

impl Node {
    /// Loads the pop state of `broker` (`config/popState.json` and `config/popState.log`).
    pub fn open(broker: Arc<Broker>) -> Result<Node, String> {
        let sync_each =
            broker.config.flush_disk_type == ferromq_broker::config::FlushDiskType::SyncFlush;
        let store = PopStore::open(&broker.config.config_dir(), sync_each)?;
        Ok(Node {
            broker,
            pop: Mutex::new(store),
            cursor: AtomicUsize::new(0),
            clients: crate::clients::V5Clients::default(),
        })
    }

    /// Logs changes of the pop state; a change is answered only once it is logged.
    fn persist(store: &mut PopStore, records: &[Record]) -> Result<(), Failure> {
        store.append(records).map_err(|e| {
            tracing::error!(error = %e, "writing the pop state failed");
            (
                Code::InternalServerError,
                format!("writing the pop state failed: {e}"),
            )
        })
    }
}

/// Fsyncs the pop state log every [`pop::FLUSH_EVERY_MS`] while it is written to (the
/// `ASYNC_FLUSH` guarantee), until the node is dropped.
fn spawn_pop_flusher(node: &Arc<Node>) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak = Arc::downgrade(node);
    rt.spawn(async move {
        let every = Duration::from_millis(pop::FLUSH_EVERY_MS);
        loop {
            tokio::time::sleep(every).await;
            let Some(node) = weak.upgrade() else { return };
            let file = node.pop.lock().take_unsynced();
            drop(node);
            if let Some(f) = file {
                let synced = tokio::task::spawn_blocking(move || f.sync_data()).await;
                if let Ok(Err(e)) = synced {
                    tracing::error!(error = %e, "syncing the pop state log failed");
                }
            }
        }
    });
}

/// The broker the gRPC API serves: set when a broker opens, cleared when it closes (a broker
/// in controller mode may open again).
#[derive(Clone, Default)]
pub struct BrokerSlot(Arc<RwLock<Option<Arc<Node>>>>);

impl BrokerSlot {
    /// The hook for [`ferromq_broker::run_with_hook`].
    pub fn hook(&self) -> ferromq_broker::OnOpen {
        let slot = self.clone();
        Arc::new(move |broker: Option<Arc<Broker>>| {
            let node = broker.and_then(|b| match Node::open(b) {
                Ok(n) => {
                    let n = Arc::new(n);
                    spawn_pop_flusher(&n);
                    Some(n)
                }
                Err(e) => {
                    tracing::error!(error = %e, "the gRPC API cannot serve this broker");
                    None
                }
            });
            *slot.0.write() = node;
        })
    }

    /// True while a broker is open in the slot.
    pub fn is_open(&self) -> bool {
        self.0.read().is_some()
    }

    fn node(&self) -> Result<Arc<Node>, Failure> {
        self.0.read().clone().ok_or((
            Code::InternalServerError,
            "the broker is not open (starting or stopping)".into(),
        ))
    }
}

/// The service.
pub struct Messaging {
    slot: BrokerSlot,
    port: u16,
    shutdown: tokio_util::sync::CancellationToken,
}

impl Messaging {
    /// A service of the broker in `slot`, advertising gRPC port `port`.
    pub fn new(slot: BrokerSlot, port: u16) -> Self {
        Messaging {
            slot,
            port,
            shutdown: tokio_util::sync::CancellationToken::new(),
        }
    }

    /// Ends the service's long-lived streams (Telemetry) when `shutdown` is cancelled, so that
    /// a graceful shutdown does not wait for v5 clients to hang up.
    pub fn with_shutdown(mut self, shutdown: tokio_util::sync::CancellationToken) -> Self {
        self.shutdown = shutdown;
        self
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

pub(crate) fn resource_name(r: Option<&pb::Resource>) -> &str {
    r.map_or("", |r| r.name.as_str())
}

fn peer(remote: Option<SocketAddr>) -> SocketAddr {
    remote.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
}

pub(crate) fn topic_of(b: &Broker, name: &str) -> Result<TopicConfig, Failure> {
    if name.is_empty() {
        return Err((Code::IllegalTopic, "the topic name is empty".into()));
    }
    names::validate_topic(name).map_err(|e| (Code::IllegalTopic, e.to_string()))?;
    b.topics.get(name).ok_or_else(|| {
        (
            Code::TopicNotFound,
            format!("topic `{name}` does not exist"),
        )
    })
}

pub(crate) fn group_of(b: &Broker, name: &str) -> Result<SubscriptionGroupConfig, Failure> {
    if name.is_empty() {
        return Err((
            Code::IllegalConsumerGroup,
            "the consumer group name is empty".into(),
        ));
    }
    names::validate_group(name).map_err(|e| (Code::IllegalConsumerGroup, e.to_string()))?;
    b.groups
        .find_or_create(name)
        .map_err(|e| failure(&e))?
        .ok_or_else(|| {
            (
                Code::ConsumerGroupNotFound,
                format!("consumer group `{name}` does not exist"),
            )
        })
}

fn permission(p: i32, readable: bool, writable: bool) -> pb::Permission {
    match (
        readable && perm::is_readable(p),
        writable && perm::is_writeable(p),
    ) {
        (true, true) => pb::Permission::ReadWrite,
        (true, false) => pb::Permission::Read,
        (false, true) => pb::Permission::Write,
        (false, false) => pb::Permission::None,
    }
}

impl Messaging {
    fn broker_pb(&self, b: &Broker) -> pb::Broker {
        pb::Broker {
            name: b.config.broker_name.clone(),
            id: 0,
            endpoints: Some(pb::Endpoints {
                scheme: pb::AddressScheme::IPv4 as i32,
                addresses: vec![pb::Address {
                    host: b.config.broker_ip1.clone(),
                    port: i32::from(self.port),
                }],
            }),
        }
    }

    fn query_route_inner(
        &self,
        r: &pb::QueryRouteRequest,
    ) -> Result<Vec<pb::MessageQueue>, Failure> {
        let node = self.slot.node()?;
        let b = &node.broker;
        let topic = topic_of(b, resource_name(r.topic.as_ref()))?;
        let broker = self.broker_pb(b);
        let n = topic.read_queue_nums.max(topic.write_queue_nums);
        // Topics made by updateTopic take every message type.
        let accept = vec![
            pb::MessageType::Normal as i32,
            pb::MessageType::Fifo as i32,
            pb::MessageType::Delay as i32,
            pb::MessageType::Transaction as i32,
        ];
        Ok((0..n)
            .map(|id| pb::MessageQueue {
                topic: r.topic.clone(),
                id,
                permission: permission(
                    topic.perm & b.config.broker_permission,
                    id < topic.read_queue_nums,
                    id < topic.write_queue_nums,
                ) as i32,
                broker: Some(broker.clone()),
                accept_message_types: accept.clone(),
            })
            .collect())
    }

    async fn send_one(
        &self,
        node: &Node,
        m: &pb::Message,
        from: SocketAddr,
    ) -> pb::SendResultEntry {
        match send_message(node, m, from).await {
            Ok(entry) => entry,
            Err((code, message)) => pb::SendResultEntry {
                status: Some(status(code, message)),
                message_id: m
                    .system_properties
                    .as_ref()
                    .map(|s| s.message_id.clone())
                    .unwrap_or_default(),
                ..Default::default()
            },
        }
    }
}

/// Properties of a gRPC message, as a remoting send carries them.
fn properties_of(b: &Broker, m: &pb::Message) -> Result<(Properties, pb::MessageType), Failure> {
    let sp = m.system_properties.as_ref().ok_or((
        Code::BadRequest,
        "the message has no system properties".into(),
    ))?;
    let mut p = Properties::default();
    for (k, v) in &m.user_properties {
        if k.is_empty() || convert::is_system_key(k) {
            return Err((
                Code::IllegalMessagePropertyKey,
                format!("`{k}` is a reserved property name"),
            ));
        }
        p.insert(k.clone(), v.clone());
    }
    if let Some(tag) = sp.tag.as_deref().filter(|t| !t.is_empty()) {
        if tag.contains('|') || tag.trim().is_empty() {
            return Err((Code::IllegalMessageTag, format!("tag `{tag}` is illegal")));
        }
        p.insert(props::TAGS, tag);
    }
    if !sp.keys.is_empty() {
        if sp.keys.iter().any(|k| k.trim().is_empty()) {
            return Err((Code::IllegalMessageKey, "a message key is blank".into()));
        }
        p.insert(props::KEYS, sp.keys.join(props::KEY_SEPARATOR));
    }
    let id = if sp.message_id.is_empty() {
        b.uniq_keys.next_id()
    } else {
        sp.message_id.clone()
    };
    p.insert(props::UNIQ_KEY, id);
    p.insert(props::WAIT, "true");
    let declared =
        pb::MessageType::try_from(sp.message_type).unwrap_or(pb::MessageType::Unspecified);
    let group = sp.message_group.as_deref().filter(|g| !g.is_empty());
    let delivery = sp.delivery_timestamp.as_ref().map(millis_of);
    let kind = match (declared, group, delivery) {
        (pb::MessageType::Transaction, None, None) => pb::MessageType::Transaction,
        (pb::MessageType::Transaction, _, _) => {
            return Err((
                Code::MessagePropertyConflictWithType,
                "a transaction message takes no message group and no delivery time".into(),
            ))
        }
        (_, Some(_), Some(_)) => {
            return Err((
                Code::MessagePropertyConflictWithType,
                "a message cannot have both a message group and a delivery time".into(),
            ))
        }
        (_, Some(_), None) => pb::MessageType::Fifo,
        (_, None, Some(_)) => pb::MessageType::Delay,
        (pb::MessageType::Fifo, None, None) => {
            return Err((
                Code::IllegalMessageGroup,
                "a FIFO message needs a message group".into(),
            ))
        }
        (pb::MessageType::Delay, None, None) => {
            return Err((
                Code::IllegalDeliveryTime,
                "a delay message needs a delivery timestamp".into(),
            ))
        }
        _ => pb::MessageType::Normal,
    };
    if let Some(g) = group {
        p.insert(props::SHARDING_KEY, g);
    }
    if let Some(at) = delivery {
        // Due now or in the past: delivered at once, as RocketMQ does.
        if at > now_millis() {
            p.insert(props::TIMER_DELIVER_MS, at.to_string());
        }
    }
    if kind == pb::MessageType::Transaction {
        p.insert(props::TRAN_MSG, "true");
        // The proxy's rule: a v5 producer's group is the topic's name, so the transaction
        // check asks a producer of the topic (see crate::clients).
        p.insert(props::PGROUP, resource_name(m.topic.as_ref()));
    }
    Ok((p, kind))
}

/// One message through the broker's send path.
async fn send_message(
    node: &Node,
    m: &pb::Message,
    from: SocketAddr,
) -> Result<pb::SendResultEntry, Failure> {
    let b = &node.broker;
    let topic_name = resource_name(m.topic.as_ref());
    topic_of(b, topic_name)?;
    if m.body.is_empty() {
        return Err((Code::MessageBodyEmpty, "the message body is empty".into()));
    }
    if m.body.len() > b.config.max_message_size as usize {
        return Err((
            Code::MessageBodyTooLarge,
            format!(
                "the message body is {} bytes, more than maxMessageSize {}",
                m.body.len(),
                b.config.max_message_size
            ),
        ));
    }
    let (p, kind) = properties_of(b, m)?;
    let sp = m.system_properties.as_ref();
    let uniq = p.get(props::UNIQ_KEY).unwrap_or_default().to_owned();
    let header = SendMessageRequestHeader {
        producer_group: topic_name.into(),
        topic: topic_name.into(),
        default_topic: names::AUTO_CREATE_TOPIC.into(),
        default_topic_queue_nums: 4,
        queue_id: sp.map_or(-1, |s| s.queue_id),
        sys_flag: if kind == pb::MessageType::Transaction {
            sys_flag::TRANSACTION_PREPARED_TYPE
        } else {
            0
        },
        born_timestamp: sp
            .and_then(|s| s.born_timestamp.as_ref())
            .map_or_else(now_millis, millis_of),
        flag: 0,
        properties: Some(p.encode()),
        reconsume_times: Some(0),
        unit_mode: None,
        max_reconsume_times: None,
        batch: None,
    };
    let req = RemotingCommand::request(request::SEND_MESSAGE, &header)
        .with_body(Bytes::copy_from_slice(&m.body));
    let resp = send::send(b, &req, from).await.map_err(|e| failure(&e))?;
    let code = convert::remoting_code(resp.code);
    let h: SendMessageResponseHeader = resp
        .decode_header()
        .map_err(|e| (Code::InternalServerError, e.to_string()))?;
    let transaction_id = if kind == pb::MessageType::Transaction {
        format!("{}-{}", h.msg_id, h.queue_offset)
    } else {
        String::new()
    };
    Ok(pb::SendResultEntry {
        status: Some(if code == Code::Ok {
            ok()
        } else {
            status(code, resp.remark.clone().unwrap_or_default())
        }),
        message_id: uniq,
        transaction_id,
        offset: h.queue_offset,
        recall_handle: h.recall_handle.unwrap_or_default(),
    })
}

/// What a transaction id names: the half message's commit-log and queue offsets.
fn parse_transaction_id(id: &str) -> Option<(i64, i64)> {
    let (msg_id, queue_offset) = id.rsplit_once('-')?;
    let (_, commit_log_offset) = decode_offset_msg_id(msg_id).ok()?;
    Some((commit_log_offset, queue_offset.parse().ok()?))
}

struct ReceiveArgs {
    group: SubscriptionGroupConfig,
    topic: TopicConfig,
    filter: convert::TagFilter,
    batch: usize,
    invisible_ms: i64,
}

/// A message picked for delivery: queue, offset, its record, attempt.
struct Pick {
    queue_id: i32,
    offset: i64,
    record: Bytes,
    attempt: i32,
}

fn read_one(b: &Broker, topic: &str, queue_id: i32, offset: i64) -> Option<Bytes> {
    let r = b.store.get_message(topic, queue_id, offset, 1, None);
    r.messages.into_iter().next()
}

/// One look for messages; changes are persisted before it returns. Messages that reached
/// their last attempt are returned in the second list, still in flight, for the dead-letter
/// queue.
/// What one look found: messages to deliver, and (queue, offset) of messages for the DLQ.
type Popped = (Vec<pb::Message>, Vec<(i32, i64)>);

fn pop_once(node: &Node, a: &ReceiveArgs) -> Result<Popped, Failure> {
    let b = &node.broker;
    let topic = a.topic.topic_name.as_str();
    let group = a.group.group_name.as_str();
    let fifo = a.group.consume_message_orderly;
    let max_attempts = a.group.retry_max_times.max(0) + 1;
    let queues = a.topic.read_queue_nums.max(0);
    if queues == 0 || !perm::is_readable(a.topic.perm) {
        return Err((Code::Forbidden, format!("topic `{topic}` is not readable")));
    }
    let now = now_millis();
    let key = pop::key(topic, group);
    let start = node.cursor.fetch_add(1, Ordering::Relaxed) % queues as usize;
    let mut guard = node.pop.lock();
    let table = &mut guard.table;
    let mut befores: std::collections::HashMap<i32, Option<pop::QueueState>> =
        std::collections::HashMap::new();
    let mut picks: Vec<Pick> = Vec::new();
    let mut dead: Vec<(i32, i64)> = Vec::new();
    let mut touched: Vec<i32> = Vec::new();
    for i in 0..queues {
        if picks.len() >= a.batch {
            break;
        }
        let q = (start as i32 + i) % queues;
        let min = b.store.min_offset_in_queue(topic, q);
        let max = b.store.max_offset_in_queue(topic, q);
        let before = table.queues.get(&key).and_then(|m| m.get(&q)).cloned();
        let state = table.queue(&key, q, || {
            b.offsets.query(group, topic, q).unwrap_or(min).max(min)
        });
        // Messages whose invisible time passed come back first, in queue order.
        let expired: Vec<(i64, Inflight)> = state
            .inflight
            .iter()
            .filter(|(_, e)| e.visible_at <= now)
            .map(|(o, e)| (*o, *e))
            .collect();
        let mut redelivered = false;
        for (off, e) in expired {
            if picks.len() >= a.batch {
                break;
            }
            if e.attempt >= max_attempts {
                // Held for a moment while it is written to the DLQ, then removed.
                if let Some(entry) = state.inflight.get_mut(&off) {
                    entry.visible_at = now + 30_000;
                }
                dead.push((q, off));
                continue;
            }
            match read_one(b, topic, q, off) {
                Some(record) => {
                    picks.push(Pick {
                        queue_id: q,
                        offset: off,
                        record,
                        attempt: e.attempt + 1,
                    });
                    redelivered = true;
                }
                // Gone from the store (retention): nothing to deliver any more.
                None => {
                    state.inflight.remove(&off);
                }
            }
        }
        let blocked = fifo && (redelivered || state.blocks_fifo(now));
        if state.next < min {
            state.next = min;
        }
        while !blocked && picks.len() < a.batch && state.next < max {
            // A FIFO group has at most one message of a queue in flight.
            let want = if fifo {
                1
            } else {
                (a.batch - picks.len()) as i32
            };
            let r = b.store.get_message(topic, q, state.next, want, None);
            if r.status != GetStatus::Found {
                if r.next_begin_offset > state.next && r.next_begin_offset <= max {
                    state.next = r.next_begin_offset;
                    continue;
                }
                break;
            }
            for record in r.messages {
                let Ok(view) = RecordView::parse(&record) else {
                    state.next += 1;
                    continue;
                };
                let off = view.queue_offset;
                if off < state.next {
                    continue;
                }
                state.next = off + 1;
                let tag = props::property_value(view.properties, props::TAGS);
                if !a.filter.matches(tag) {
                    continue;
                }
                picks.push(Pick {
                    queue_id: q,
                    offset: off,
                    record: record.clone(),
                    attempt: 1,
                });
                if picks.len() >= a.batch || fifo {
                    break;
                }
            }
            if fifo {
                break;
            }
        }
        if before.as_ref() != Some(&*state) {
            touched.push(q);
        }
        befores.insert(q, before);
    }
    let visible_at = now + a.invisible_ms;
    let mut out = Vec::with_capacity(picks.len());
    let broker_name = b.config.broker_name.clone();
    for p in picks {
        let seq = table.next_seq();
        let state = table.queue(&key, p.queue_id, || p.offset);
        state.inflight.insert(
            p.offset,
            Inflight {
                visible_at,
                attempt: p.attempt,
                seq,
            },
        );
        if !touched.contains(&p.queue_id) {
            touched.push(p.queue_id);
        }
        let handle = ReceiptHandle {
            queue_id: p.queue_id,
            offset: p.offset,
            seq,
            broker: broker_name.clone(),
        };
        if let Ok(view) = RecordView::parse(&p.record) {
            out.push(convert::to_pb(
                &view,
                Some(convert::Delivery {
                    receipt_handle: handle.encode(),
                    attempt: p.attempt,
                    invisible_ms: a.invisible_ms,
                }),
            ));
        }
    }
    if !touched.is_empty() {
        let mut records = Vec::new();
        let mut commits = Vec::with_capacity(touched.len());
        for q in touched {
            if let Some(state) = table.queues.get(&key).and_then(|m| m.get(&q)) {
                let before = befores.get(&q).and_then(Option::as_ref);
                pop::diff(&key, q, before, state, &mut records);
                commits.push((q, state.committed()));
            }
        }
        Node::persist(&mut guard, &records)?;
        drop(guard);
        for (q, committed) in commits {
            b.offsets.commit(group, topic, q, committed);
        }
    }
    Ok((out, dead))
}

/// Copies an in-flight message to the group's DLQ (the CONSUMER_SEND_MSG_BACK path with delay
/// level -1), then takes it out of flight.
async fn to_dead_letters(
    node: &Node,
    from: SocketAddr,
    topic: &str,
    group: &str,
    queue_id: i32,
    offset: i64,
) -> Result<(), Failure> {
    let b = &node.broker;
    let record = read_one(b, topic, queue_id, offset).ok_or((
        Code::MessageNotFound,
        format!("message {topic}:{queue_id}:{offset} is no longer stored"),
    ))?;
    let view =
        RecordView::parse(&record).map_err(|e| (Code::InternalServerError, e.to_string()))?;
    let header = ConsumerSendMsgBackRequestHeader {
        offset: view.physical_offset,
        group: group.to_owned(),
        delay_level: -1,
        origin_msg_id: props::property_value(view.properties, props::UNIQ_KEY).map(str::to_owned),
        origin_topic: Some(topic.to_owned()),
        unit_mode: None,
        max_reconsume_times: None,
    };
    let req = RemotingCommand::request(request::CONSUMER_SEND_MSG_BACK, &header);
    let resp = send_back::handle(b, from, &req)
        .await
        .map_err(|e| failure(&e))?;
    if resp.code != response::SUCCESS {
        return Err((
            convert::remoting_code(resp.code),
            resp.remark.unwrap_or_default(),
        ));
    }
    let key = pop::key(topic, group);
    let mut guard = node.pop.lock();
    let committed = guard
        .table
        .queues
        .get_mut(&key)
        .and_then(|m| m.get_mut(&queue_id))
        .map(|state| {
            state.inflight.remove(&offset);
            state.committed()
        });
    Node::persist(
        &mut guard,
        &[Record::Remove {
            k: key.clone(),
            q: queue_id,
            o: offset,
        }],
    )?;
    drop(guard);
    if let Some(c) = committed {
        b.offsets.commit(group, topic, queue_id, c);
    }
    tracing::info!(
        topic,
        group,
        queue_id,
        offset,
        "message moved to the dead-letter queue after its last delivery attempt"
    );
    Ok(())
}

async fn receive(
    node: &Arc<Node>,
    r: &pb::ReceiveMessageRequest,
) -> Result<Vec<pb::Message>, Failure> {
    let b = &node.broker;
    let group = group_of(b, resource_name(r.group.as_ref()))?;
    let topic_name = resource_name(r.message_queue.as_ref().and_then(|q| q.topic.as_ref()));
    let topic = topic_of(b, topic_name)?;
    let filter = convert::TagFilter::parse(r.filter_expression.as_ref())?;
    let batch = if r.batch_size <= 0 {
        RECEIVE_BATCH
    } else {
        r.batch_size.min(1024)
    } as usize;
    // A PushConsumer asks for auto-renewal and names no duration: it gets the proxy's default
    // invisible time (not renewed: a message it holds longer comes back).
    let invisible_ms = match (&r.invisible_duration, r.auto_renew) {
        (_, true) => DEFAULT_INVISIBLE_MS,
        (Some(d), false) => duration_ms(d),
        (None, false) => {
            return Err((
                Code::IllegalInvisibleTime,
                "the invisible duration is missing".into(),
            ))
        }
    };
    if !INVISIBLE_MS.contains(&invisible_ms) {
        return Err((
            Code::IllegalInvisibleTime,
            format!("the invisible duration {invisible_ms} ms is outside 1 s to 12 h"),
        ));
    }
    let polling = r
        .long_polling_timeout
        .as_ref()
        .map_or(MAX_LONG_POLLING_MS, duration_ms);
    if polling < 0 {
        return Err((
            Code::IllegalPollingTime,
            "the long polling timeout is negative".into(),
        ));
    }
    let deadline = tokio::time::Instant::now()
        + Duration::from_millis(polling.min(MAX_LONG_POLLING_MS) as u64);
    let args = ReceiveArgs {
        group,
        topic,
        filter,
        batch,
        invisible_ms,
    };
    loop {
        let (msgs, dead) = pop_once(node, &args)?;
        for (q, off) in dead {
            let (n, t, g) = (
                Arc::clone(node),
                args.topic.topic_name.clone(),
                args.group.group_name.clone(),
            );
            tokio::spawn(async move {
                if let Err((code, e)) = to_dead_letters(&n, peer(None), &t, &g, q, off).await {
                    tracing::error!(?code, error = %e, topic = %t, group = %g, "moving a message to the dead-letter queue failed; it is tried again later");
                }
            });
        }
        if !msgs.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(msgs);
        }
        tokio::time::sleep_until((tokio::time::Instant::now() + POLL_EVERY).min(deadline)).await;
    }
}

fn handle_of(node: &Node, text: &str) -> Result<ReceiptHandle, Failure> {
    let h = ReceiptHandle::parse(text).ok_or((
        Code::InvalidReceiptHandle,
        format!("`{text}` is not a receipt handle of this broker"),
    ))?;
    if h.broker != node.broker.config.broker_name {
        return Err((
            Code::InvalidReceiptHandle,
            format!("the receipt handle was issued by broker {}", h.broker),
        ));
    }
    Ok(h)
}

fn handle_failure(e: HandleError) -> Failure {
    match e {
        HandleError::NotInFlight => (
            Code::InvalidReceiptHandle,
            "the message is not in flight: acked already, or never received".into(),
        ),
        HandleError::Expired => (
            Code::InvalidReceiptHandle,
            "the receipt handle is expired: the message became visible again or got a new handle"
                .into(),
        ),
    }
}

/// Acks the messages of `handles`, writing the pop state once for all of them.
fn ack_all(node: &Node, topic: &str, group: &str, handles: &[&str]) -> Vec<Result<(), Failure>> {
    let key = pop::key(topic, group);
    let mut guard = node.pop.lock();
    let mut commits = Vec::new();
    let mut records = Vec::new();
    let mut results: Vec<Result<(), Failure>> = handles
        .iter()
        .map(|text| {
            let h = handle_of(node, text)?;
            let committed = guard.table.ack(&key, &h).map_err(handle_failure)?;
            commits.push((h.queue_id, committed));
            records.push(Record::Remove {
                k: key.clone(),
                q: h.queue_id,
                o: h.offset,
            });
            Ok(())
        })
        .collect();
    if commits.is_empty() {
        return results;
    }
    let logged = Node::persist(&mut guard, &records);
    drop(guard);
    if let Err(e) = logged {
        // Not on disk: every ack of this request is answered as failed.
        for r in results.iter_mut().filter(|r| r.is_ok()) {
            *r = Err(e.clone());
        }
        return results;
    }
    for (queue_id, committed) in commits {
        node.broker
            .offsets
            .commit(group, topic, queue_id, committed);
    }
    results
}

fn change_invisible(
    node: &Node,
    r: &pb::ChangeInvisibleDurationRequest,
) -> Result<String, Failure> {
    let b = &node.broker;
    let group = group_of(b, resource_name(r.group.as_ref()))?;
    let topic = topic_of(b, resource_name(r.topic.as_ref()))?;
    let ms = r.invisible_duration.as_ref().map(duration_ms).ok_or((
        Code::IllegalInvisibleTime,
        "the invisible duration is missing".into(),
    ))?;
    if !(0..=*INVISIBLE_MS.end()).contains(&ms) {
        return Err((
            Code::IllegalInvisibleTime,
            format!("the invisible duration {ms} ms is outside 0 to 12 h"),
        ));
    }
    let mut h = handle_of(node, &r.receipt_handle)?;
    let key = pop::key(&topic.topic_name, &group.group_name);
    let mut guard = node.pop.lock();
    let (seq, entry) = guard
        .table
        .change(&key, &h, now_millis() + ms)
        .map_err(handle_failure)?;
    Node::persist(
        &mut guard,
        &[Record::Set {
            k: key.clone(),
            q: h.queue_id,
            o: h.offset,
            e: entry,
        }],
    )?;
    h.seq = seq;
    Ok(h.encode())
}

fn merged_settings(node: Option<&Node>, mut s: pb::Settings) -> pb::Settings {
    match &mut s.pub_sub {
        Some(pb::settings::PubSub::Publishing(p)) => {
            s.backoff_policy = Some(pb::RetryPolicy {
                max_attempts: 3,
                strategy: Some(pb::retry_policy::Strategy::ExponentialBackoff(
                    pb::ExponentialBackoff {
                        initial: Some(duration(10)),
                        max: Some(duration(1000)),
                        multiplier: 2.0,
                    },
                )),
            });
            p.validate_message_type = true;
            p.max_body_size = node.map_or(4 * 1024 * 1024, |n| n.broker.config.max_message_size);
        }
        Some(pb::settings::PubSub::Subscription(sub)) => {
            let group = node.and_then(|n| {
                let name = sub.group.as_ref().map_or("", |g| g.name.as_str());
                n.broker.groups.find_or_create(name).ok().flatten()
            });
            let group = group.unwrap_or_default();
            sub.receive_batch_size = Some(RECEIVE_BATCH);
            sub.long_polling_timeout = Some(duration(MAX_LONG_POLLING_MS));
            sub.fifo = Some(group.consume_message_orderly);
            // RocketMQ's default retry policy: customized, 1 s … 2 h.
            let next = [
                1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600,
                7200,
            ];
            s.backoff_policy = Some(pb::RetryPolicy {
                max_attempts: group.retry_max_times + 1,
                strategy: Some(pb::retry_policy::Strategy::CustomizedBackoff(
                    pb::CustomizedBackoff {
                        next: next.iter().map(|sec| duration(sec * 1000)).collect(),
                    },
                )),
            });
        }
        None => {}
    }
    s.metric = Some(pb::Metric {
        on: false,
        endpoints: None,
    });
    s
}

#[tonic::async_trait]
impl MessagingService for Messaging {
    async fn query_route(
        &self,
        request: Request<pb::QueryRouteRequest>,
    ) -> Result<Response<pb::QueryRouteResponse>, Status> {
        let r = request.into_inner();
        Ok(Response::new(match self.query_route_inner(&r) {
            Ok(message_queues) => pb::QueryRouteResponse {
                status: Some(ok()),
                message_queues,
            },
            Err((code, m)) => pb::QueryRouteResponse {
                status: Some(status(code, m)),
                message_queues: Vec::new(),
            },
        }))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let meta = ClientMeta::of(request.metadata());
        let has_id = !meta.client_id.is_empty();
        let r = request.into_inner();
        let result = (|| {
            if !has_id {
                return Err((
                    Code::ClientIdRequired,
                    "the x-mq-client-id header is missing".into(),
                ));
            }
            let node = self.slot.node()?;
            let consumer = matches!(
                pb::ClientType::try_from(r.client_type),
                Ok(pb::ClientType::PushConsumer | pb::ClientType::SimpleConsumer)
            );
            if consumer {
                group_of(&node.broker, resource_name(r.group.as_ref()))?;
            }
            node.clients.heartbeat(&node.broker, &meta.client_id);
            Ok(())
        })();
        Ok(Response::new(pb::HeartbeatResponse {
            status: Some(match result {
                Ok(()) => ok(),
                Err((c, m)) => status(c, m),
            }),
        }))
    }

    async fn send_message(
        &self,
        request: Request<pb::SendMessageRequest>,
    ) -> Result<Response<pb::SendMessageResponse>, Status> {
        let from = peer(request.remote_addr());
        let r = request.into_inner();
        let node = match self.slot.node() {
            Ok(n) => n,
            Err((c, m)) => {
                return Ok(Response::new(pb::SendMessageResponse {
                    status: Some(status(c, m)),
                    entries: Vec::new(),
                }))
            }
        };
        if r.messages.is_empty() {
            return Ok(Response::new(pb::SendMessageResponse {
                status: Some(status(Code::BadRequest, "the request holds no message")),
                entries: Vec::new(),
            }));
        }
        let mut entries = Vec::with_capacity(r.messages.len());
        for m in &r.messages {
            entries.push(self.send_one(&node, m, from).await);
        }
        let failed: Vec<&pb::Status> = entries
            .iter()
            .filter_map(|e| e.status.as_ref())
            .filter(|s| s.code != Code::Ok as i32)
            .collect();
        let overall = match (failed.first(), entries.len()) {
            (None, _) => ok(),
            (Some(s), 1) => (*s).clone(),
            (Some(_), _) => status(Code::MultipleResults, "some messages were not sent"),
        };
        Ok(Response::new(pb::SendMessageResponse {
            status: Some(overall),
            entries,
        }))
    }

    async fn query_assignment(
        &self,
        request: Request<pb::QueryAssignmentRequest>,
    ) -> Result<Response<pb::QueryAssignmentResponse>, Status> {
        let r = request.into_inner();
        let result = (|| {
            let node = self.slot.node()?;
            let b = &node.broker;
            let topic = topic_of(b, resource_name(r.topic.as_ref()))?;
            group_of(b, resource_name(r.group.as_ref()))?;
            // Pop consumers share every queue: one assignment for the broker, as the proxy.
            Ok(vec![pb::Assignment {
                message_queue: Some(pb::MessageQueue {
                    topic: r.topic.clone(),
                    id: -1,
                    permission: permission(topic.perm, true, true) as i32,
                    broker: Some(self.broker_pb(b)),
                    accept_message_types: Vec::new(),
                }),
            }])
        })();
        Ok(Response::new(match result {
            Ok(assignments) => pb::QueryAssignmentResponse {
                status: Some(ok()),
                assignments,
            },
            Err((c, m)) => pb::QueryAssignmentResponse {
                status: Some(status(c, m)),
                assignments: Vec::new(),
            },
        }))
    }

    type ReceiveMessageStream = BoxStream<pb::ReceiveMessageResponse>;

    async fn receive_message(
        &self,
        request: Request<pb::ReceiveMessageRequest>,
    ) -> Result<Response<Self::ReceiveMessageStream>, Status> {
        use pb::receive_message_response::Content;
        let r = request.into_inner();
        let result = match self.slot.node() {
            Ok(node) => receive(&node, &r).await,
            Err(e) => Err(e),
        };
        let items: Vec<pb::ReceiveMessageResponse> = match result {
            Ok(msgs) if msgs.is_empty() => vec![pb::ReceiveMessageResponse {
                content: Some(Content::Status(status(
                    Code::MessageNotFound,
                    "no new message",
                ))),
            }],
            Ok(msgs) => {
                let mut v = Vec::with_capacity(msgs.len() + 2);
                v.push(pb::ReceiveMessageResponse {
                    content: Some(Content::Status(ok())),
                });
                let now = now_millis();
                v.push(pb::ReceiveMessageResponse {
                    content: Some(Content::DeliveryTimestamp(prost_types::Timestamp {
                        seconds: now / 1000,
                        nanos: ((now % 1000) * 1_000_000) as i32,
                    })),
                });
                v.extend(msgs.into_iter().map(|m| pb::ReceiveMessageResponse {
                    content: Some(Content::Message(m)),
                }));
                v
            }
            Err((c, m)) => vec![pb::ReceiveMessageResponse {
                content: Some(Content::Status(status(c, m))),
            }],
        };
        Ok(Response::new(Box::pin(tokio_stream::iter(
            items.into_iter().map(Ok),
        ))))
    }

    async fn ack_message(
        &self,
        request: Request<pb::AckMessageRequest>,
    ) -> Result<Response<pb::AckMessageResponse>, Status> {
        let r = request.into_inner();
        let prelude = (|| {
            let node = self.slot.node()?;
            let group = group_of(&node.broker, resource_name(r.group.as_ref()))?;
            let topic = topic_of(&node.broker, resource_name(r.topic.as_ref()))?;
            Ok((node, group.group_name, topic.topic_name))
        })();
        let (node, group, topic) = match prelude {
            Ok(p) => p,
            Err((c, m)) => {
                return Ok(Response::new(pb::AckMessageResponse {
                    status: Some(status(c, m)),
                    entries: Vec::new(),
                }))
            }
        };
        let handles: Vec<&str> = r
            .entries
            .iter()
            .map(|e| e.receipt_handle.as_str())
            .collect();
        let results = ack_all(&node, &topic, &group, &handles);
        let entries: Vec<pb::AckMessageResultEntry> = r
            .entries
            .iter()
            .zip(results)
            .map(|(e, result)| pb::AckMessageResultEntry {
                message_id: e.message_id.clone(),
                receipt_handle: e.receipt_handle.clone(),
                status: Some(match result {
                    Ok(()) => ok(),
                    Err((c, m)) => status(c, m),
                }),
            })
            .collect();
        let failed: Vec<&pb::Status> = entries
            .iter()
            .filter_map(|e| e.status.as_ref())
            .filter(|s| s.code != Code::Ok as i32)
            .collect();
        let overall = match (failed.first(), entries.len()) {
            (None, 0) => status(Code::BadRequest, "the request holds no entry"),
            (None, _) => ok(),
            (Some(s), 1) => (*s).clone(),
            (Some(_), _) => status(Code::MultipleResults, "some messages were not acked"),
        };
        Ok(Response::new(pb::AckMessageResponse {
            status: Some(overall),
            entries,
        }))
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        request: Request<pb::ForwardMessageToDeadLetterQueueRequest>,
    ) -> Result<Response<pb::ForwardMessageToDeadLetterQueueResponse>, Status> {
        let from = peer(request.remote_addr());
        let r = request.into_inner();
        let result = async {
            let node = self.slot.node()?;
            let group = group_of(&node.broker, resource_name(r.group.as_ref()))?;
            let topic = topic_of(&node.broker, resource_name(r.topic.as_ref()))?;
            let h = handle_of(&node, &r.receipt_handle)?;
            node.pop
                .lock()
                .table
                .check(&pop::key(&topic.topic_name, &group.group_name), &h)
                .map_err(handle_failure)?;
            to_dead_letters(
                &node,
                from,
                &topic.topic_name,
                &group.group_name,
                h.queue_id,
                h.offset,
            )
            .await
        }
        .await;
        Ok(Response::new(pb::ForwardMessageToDeadLetterQueueResponse {
            status: Some(match result {
                Ok(()) => ok(),
                Err((c, m)) => status(c, m),
            }),
        }))
    }

    type PullMessageStream = BoxStream<pb::PullMessageResponse>;

    async fn pull_message(
        &self,
        request: Request<pb::PullMessageRequest>,
    ) -> Result<Response<Self::PullMessageStream>, Status> {
        use pb::pull_message_response::Content;
        let r = request.into_inner();
        let result = match self.slot.node() {
            Ok(node) => crate::pull::pull(&node, &r).await,
            Err(e) => Err(e),
        };
        let items: Vec<pb::PullMessageResponse> = match result {
            Ok(p) => std::iter::once(Content::Status(p.status))
                .chain(p.messages.into_iter().map(Content::Message))
                .chain(std::iter::once(Content::NextOffset(p.next_offset)))
                .map(|c| pb::PullMessageResponse { content: Some(c) })
                .collect(),
            Err((c, m)) => vec![pb::PullMessageResponse {
                content: Some(Content::Status(status(c, m))),
            }],
        };
        Ok(Response::new(Box::pin(tokio_stream::iter(
            items.into_iter().map(Ok),
        ))))
    }

    async fn update_offset(
        &self,
        request: Request<pb::UpdateOffsetRequest>,
    ) -> Result<Response<pb::UpdateOffsetResponse>, Status> {
        let r = request.into_inner();
        let result = (|| {
            let node = self.slot.node()?;
            let b = &node.broker;
            let group = group_of(b, resource_name(r.group.as_ref()))?;
            let q = r
                .message_queue
                .as_ref()
                .ok_or((Code::BadRequest, "no message queue".into()))?;
            let topic = topic_of(b, resource_name(q.topic.as_ref()))?;
            if q.id < 0 || q.id >= topic.read_queue_nums || r.offset < 0 {
                return Err((
                    Code::IllegalOffset,
                    format!("queue {} offset {} is illegal", q.id, r.offset),
                ));
            }
            b.offsets
                .commit(&group.group_name, &topic.topic_name, q.id, r.offset);
            Ok(())
        })();
        Ok(Response::new(pb::UpdateOffsetResponse {
            status: Some(match result {
                Ok(()) => ok(),
                Err((c, m)) => status(c, m),
            }),
        }))
    }

    async fn get_offset(
        &self,
        request: Request<pb::GetOffsetRequest>,
    ) -> Result<Response<pb::GetOffsetResponse>, Status> {
        let r = request.into_inner();
        let result = (|| {
            let node = self.slot.node()?;
            let b = &node.broker;
            let group = group_of(b, resource_name(r.group.as_ref()))?;
            let q = r
                .message_queue
                .as_ref()
                .ok_or((Code::BadRequest, "no message queue".into()))?;
            let topic = topic_of(b, resource_name(q.topic.as_ref()))?;
            b.offsets
                .query(&group.group_name, &topic.topic_name, q.id)
                .ok_or((
                    Code::OffsetNotFound,
                    format!("group {} has no offset on queue {}", group.group_name, q.id),
                ))
        })();
        Ok(Response::new(match result {
            Ok(offset) => pb::GetOffsetResponse {
                status: Some(ok()),
                offset,
            },
            Err((c, m)) => pb::GetOffsetResponse {
                status: Some(status(c, m)),
                offset: 0,
            },
        }))
    }

    async fn query_offset(
        &self,
        request: Request<pb::QueryOffsetRequest>,
    ) -> Result<Response<pb::QueryOffsetResponse>, Status> {
        let r = request.into_inner();
        let result = (|| {
            let node = self.slot.node()?;
            let b = &node.broker;
            let q = r
                .message_queue
                .as_ref()
                .ok_or((Code::BadRequest, "no message queue".into()))?;
            let topic = topic_of(b, resource_name(q.topic.as_ref()))?;
            let name = topic.topic_name.as_str();
            match pb::QueryOffsetPolicy::try_from(r.query_offset_policy) {
                Ok(pb::QueryOffsetPolicy::Beginning) => Ok(b.store.min_offset_in_queue(name, q.id)),
                Ok(pb::QueryOffsetPolicy::End) => Ok(b.store.max_offset_in_queue(name, q.id)),
                Ok(pb::QueryOffsetPolicy::Timestamp) => {
                    let t = r
                        .timestamp
                        .as_ref()
                        .ok_or((Code::BadRequest, "TIMESTAMP needs a timestamp".into()))?;
                    Ok(b.store.offset_by_timestamp(name, q.id, millis_of(t)))
                }
                Err(_) => Err((
                    Code::BadRequest,
                    format!("unknown offset policy {}", r.query_offset_policy),
                )),
            }
        })();
        Ok(Response::new(match result {
            Ok(offset) => pb::QueryOffsetResponse {
                status: Some(ok()),
                offset,
            },
            Err((c, m)) => pb::QueryOffsetResponse {
                status: Some(status(c, m)),
                offset: 0,
            },
        }))
    }

    async fn end_transaction(
        &self,
        request: Request<pb::EndTransactionRequest>,
    ) -> Result<Response<pb::EndTransactionResponse>, Status> {
        let from = peer(request.remote_addr());
        let r = request.into_inner();
        let result = async {
            let node = self.slot.node()?;
            let b = &node.broker;
            let (commit_log_offset, queue_offset) =
                parse_transaction_id(&r.transaction_id).ok_or((
                    Code::InvalidTransactionId,
                    format!(
                        "`{}` is not a transaction id of this broker",
                        r.transaction_id
                    ),
                ))?;
            let action = match pb::TransactionResolution::try_from(r.resolution) {
                Ok(pb::TransactionResolution::Commit) => sys_flag::TRANSACTION_COMMIT_TYPE,
                Ok(pb::TransactionResolution::Rollback) => sys_flag::TRANSACTION_ROLLBACK_TYPE,
                // A checker that does not know yet: nothing happens, the check comes again.
                Ok(pb::TransactionResolution::Unspecified) => sys_flag::TRANSACTION_NOT_TYPE,
                Err(_) => {
                    return Err((
                        Code::BadRequest,
                        format!(
                            "unknown transaction resolution {}: COMMIT or ROLLBACK expected",
                            r.resolution
                        ),
                    ))
                }
            };
            // The group the half message was sent under: the topic's name (as the proxy);
            // with no topic in the request, the half message's own.
            let producer_group = match r.topic.as_ref().map(|t| t.name.as_str()) {
                Some(t) if !t.is_empty() => t.to_owned(),
                _ => b
                    .store
                    .look_message_by_offset(commit_log_offset)
                    .and_then(|rec| {
                        RecordView::parse(&rec)
                            .ok()
                            .and_then(|v| v.property(props::PGROUP).map(str::to_owned))
                    })
                    .unwrap_or_default(),
            };
            let header = EndTransactionRequestHeader {
                topic: r.topic.as_ref().map(|t| t.name.clone()),
                producer_group,
                tran_state_table_offset: queue_offset,
                commit_log_offset,
                commit_or_rollback: action,
                from_transaction_check: Some(
                    r.source == pb::TransactionSource::SourceServerCheck as i32,
                ),
                msg_id: Some(r.message_id.clone()),
                transaction_id: Some(r.message_id.clone()),
            };
            let req = RemotingCommand::request(request::END_TRANSACTION, &header);
            let resp = b
                .transactions
                .end_transaction(b, from, &req)
                .await
                .map_err(|e| {
                    let (code, m) = failure(&e);
                    // The half message is not there (wrong id, or resolved and gone).
                    if code == Code::InternalServerError && m.contains("not found") {
                        (Code::InvalidTransactionId, m)
                    } else {
                        (code, m)
                    }
                })?;
            match convert::remoting_code(resp.code) {
                Code::Ok => Ok(()),
                c => Err((c, resp.remark.unwrap_or_default())),
            }
        }
        .await;
        Ok(Response::new(pb::EndTransactionResponse {
            status: Some(match result {
                Ok(()) => ok(),
                Err((c, m)) => status(c, m),
            }),
        }))
    }

    type TelemetryStream = BoxStream<pb::TelemetryCommand>;

    async fn telemetry(
        &self,
        request: Request<Streaming<pb::TelemetryCommand>>,
    ) -> Result<Response<Self::TelemetryStream>, Status> {
        use tokio_stream::StreamExt;
        let meta = ClientMeta::of(request.metadata());
        let remote = peer(request.remote_addr());
        let local = request
            .local_addr()
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], self.port)));
        let mut inbound = request.into_inner();
        let slot = self.slot.clone();
        let shutdown = self.shutdown.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            // The stream stands for the client in the broker's client tables (as the proxy's
            // channel): what the broker sends it (transaction checks) goes down the stream.
            let (conn, mut detached) = ferromq_net::ConnectionHandle::detached(remote, local);
            let mut registered: Option<Arc<Node>> = None;
            // Ends when the client closes its side or goes away: nothing is held for it.
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    cmd = inbound.next() => {
                        let Some(Ok(cmd)) = cmd else { break };
                        let Some(pb::telemetry_command::Command::Settings(s)) = cmd.command else {
                            continue;
                        };
                        let node = slot.node().ok();
                        if let Some(n) = &node {
                            n.clients.settings(&n.broker, &meta, &conn, &s);
                            registered = Some(Arc::clone(n));
                        }
                        let reply = pb::TelemetryCommand {
                            status: Some(ok()),
                            command: Some(pb::telemetry_command::Command::Settings(
                                merged_settings(node.as_deref(), s),
                            )),
                        };
                        if tx.send(Ok(reply)).await.is_err() {
                            break;
                        }
                    }
                    out = detached.recv() => {
                        let Some(out) = out else { break };
                        if let Some(cmd) = crate::clients::to_telemetry(&out) {
                            tracing::debug!(client_id = %meta.client_id, "transaction check sent to a v5 producer");
                            if tx.send(Ok(cmd)).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            }
            if let Some(n) = registered {
                n.clients.stream_closed(&n.broker, &meta.client_id, &conn);
            }
            drop(detached);
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn notify_client_termination(
        &self,
        request: Request<pb::NotifyClientTerminationRequest>,
    ) -> Result<Response<pb::NotifyClientTerminationResponse>, Status> {
        let meta = ClientMeta::of(request.metadata());
        if let Ok(node) = self.slot.node() {
            node.clients.terminated(&node.broker, &meta.client_id);
        }
        Ok(Response::new(pb::NotifyClientTerminationResponse {
            status: Some(ok()),
        }))
    }

    async fn change_invisible_duration(
        &self,
        request: Request<pb::ChangeInvisibleDurationRequest>,
    ) -> Result<Response<pb::ChangeInvisibleDurationResponse>, Status> {
        let r = request.into_inner();
        let result = self.slot.node().and_then(|n| change_invisible(&n, &r));
        Ok(Response::new(match result {
            Ok(receipt_handle) => pb::ChangeInvisibleDurationResponse {
                status: Some(ok()),
                receipt_handle,
            },
            Err((c, m)) => pb::ChangeInvisibleDurationResponse {
                status: Some(status(c, m)),
                receipt_handle: String::new(),
            },
        }))
    }

    async fn recall_message(
        &self,
        _request: Request<pb::RecallMessageRequest>,
    ) -> Result<Response<pb::RecallMessageResponse>, Status> {
        Ok(Response::new(pb::RecallMessageResponse {
            status: Some(status(
                Code::NotImplemented,
                "RecallMessage is not served over the gRPC API yet (remoting RECALL_MESSAGE is)",
            )),
            message_id: String::new(),
        }))
    }

    async fn sync_lite_subscription(
        &self,
        _request: Request<pb::SyncLiteSubscriptionRequest>,
    ) -> Result<Response<pb::SyncLiteSubscriptionResponse>, Status> {
        Ok(Response::new(pb::SyncLiteSubscriptionResponse {
            status: Some(status(
                Code::NotImplemented,
                "lite topics are not supported by FerroMQ",
            )),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ids_name_the_half_message() {
        let addr: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let msg_id = ferromq_proto::message::msg_id::encode_offset_msg_id(addr, 4096);
        assert_eq!(
            parse_transaction_id(&format!("{msg_id}-7")),
            Some((4096, 7))
        );
        assert_eq!(parse_transaction_id("nope"), None);
        assert_eq!(parse_transaction_id(&format!("{msg_id}-x")), None);
    }
}
