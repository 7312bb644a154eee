//! Message traces recorded by the broker itself (`brokerTraceEnable`, a FerroMQ key), in
//! RocketMQ's trace format ([`ferromq_proto::message::trace`]), so that a message's life can be
//! shown for clients that do not trace.
//!
//! ```text
//! send / pull / END_TRANSACTION / send-back handlers ─▶ BrokerTracer::record (try_send, never waits)
//!                                                          │ bounded channel
//!                                                          ▼
//!                         writer task: 10 ms after a batch's first record, what is queued,
//!                         up to 128 records per trace message, one per client address
//!                         ─▶ store.put_message(msgTraceTopicName, KEYS = traced message ids)
//! ```
//!
//! What is recorded, as the record types RocketMQ's clients use:
//! * stored (SEND_MESSAGE, including retry and DLQ topics): `Pub`, the producer group, the
//!   store time, success;
//! * delivered to a group by a pull: `SubBefore` with the group and the redelivery count;
//! * sent back by a consumer (CONSUMER_SEND_MSG_BACK): `SubAfter`, failed; the re-stored copy
//!   in `%RETRY%` or `%DLQ%` is a `Pub` to that topic;
//! * committed or rolled back (END_TRANSACTION): `EndTransaction` with the state.
//!
//! The trace message's born host is the client's address (viewers show it as the client host).
//! When the channel is full, records are dropped and counted rather than slowing the request
//! paths; with the switch off, each hook costs one boolean load.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferromq_common::{names, perm};
use ferromq_proto::message::properties::{self, KEYS, UNIQ_KEY};
use ferromq_proto::message::trace::{context_code, msg_type, TraceType, TraceView};
use ferromq_proto::message::{encode_properties, RecordView};
use ferromq_store::{MessageToStore, PutStatus};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::Broker;

/// Records waiting for the writer at most; more are dropped (and counted).
const QUEUE_CAPACITY: usize = 16 * 1024;
/// Records in one trace message at most.
const BATCH_MAX: usize = 128;
/// How long the writer waits for more records after the first of a batch. Without it, at low
/// rates (a sync producer) every record became a trace message of its own, and its append,
/// dispatch and index entry cost more than the traced send itself (callgrind: 19,300
/// instructions per record in the writer, against 59,100 for the whole send).
const LINGER: Duration = Duration::from_millis(10);

/// One record, encoded when it is recorded: no owned copy of its fields is made.
struct Event {
    client: SocketAddr,
    /// The encoded record (`..split`), then the keys the trace message is indexed under, each
    /// after a `\u{2}`: the keys come from property values, which cannot hold it (it ends a
    /// property), or are offsetMsgIds (hex).
    text: String,
    split: usize,
}

impl Event {
    fn record(&self) -> &str {
        &self.text[..self.split]
    }

    fn index_keys(&self) -> impl Iterator<Item = &str> {
        self.text[self.split..]
            .split(INDEX_KEY_SEPARATOR)
            .filter(|k| !k.is_empty())
    }
}

const INDEX_KEY_SEPARATOR: char = properties::PROPERTY_SEPARATOR;

/// The broker's trace recorder: cheap to call from request paths, written by one task.
pub struct BrokerTracer {
    enabled: bool,
    topic: String,
    region: String,
    store_host: String,
    tx: mpsc::Sender<Event>,
    rx: parking_lot::Mutex<Option<mpsc::Receiver<Event>>>,
    dropped: AtomicU64,
}

impl BrokerTracer {
    /// A recorder for `config`; it records nothing unless `brokerTraceEnable` is set.
    pub fn new(config: &crate::BrokerConfig, store_host: SocketAddr) -> BrokerTracer {
        let capacity = if config.broker_trace_enable {
            QUEUE_CAPACITY
        } else {
            1
        };
        let (tx, rx) = mpsc::channel(capacity);
        BrokerTracer {
            enabled: config.broker_trace_enable,
            topic: config.msg_trace_topic_name.clone(),
            region: config.region_id.clone(),
            store_host: store_host.to_string(),
            tx,
            rx: parking_lot::Mutex::new(Some(rx)),
            dropped: AtomicU64::new(0),
        }
    }

    /// True when the broker records traces.
    #[inline]
    pub fn on(&self) -> bool {
        self.enabled && !cfg!(feature = "no-observability")
    }

    /// The trace topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Records lost because the writer could not keep up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Queues `record` of a message handled for `client`. Records of the trace topic itself are
    /// not traced.
    pub fn record(&self, client: SocketAddr, record: TraceView<'_>) {
        if !self.enabled || record.topic == self.topic {
            return;
        }
        let record = match record.region_id {
            "" => TraceView {
                region_id: &self.region,
                ..record
            },
            _ => record,
        };
        let mut text = String::with_capacity(256);
        record.encode_into(&mut text);
        let split = text.len();
        for key in record.index_keys() {
            text.push(INDEX_KEY_SEPARATOR);
            text.push_str(key);
        }
        if self
            .tx
            .try_send(Event {
                client,
                text,
                split,
            })
            .is_err()
        {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed);
            if n.is_power_of_two() {
                tracing::warn!(
                    dropped = n + 1,
                    "broker trace records dropped: the trace writer cannot keep up"
                );
            }
        }
    }

    /// A `Pub` record for a message `client` sent and the store took at `store_timestamp`
    /// under `offset_msg_id`.
    pub fn stored(
        &self,
        client: SocketAddr,
        sent: Sent<'_>,
        store_timestamp: i64,
        offset_msg_id: &str,
    ) {
        if !self.enabled || untraced_topic(sent.topic) {
            return;
        }
        let [uniq, tags, keys] =
            properties::property_values(sent.properties, [UNIQ_KEY, properties::TAGS, KEYS])
                .map(|v| v.unwrap_or(""));
        let msg_id = match uniq {
            "" => offset_msg_id,
            id => id,
        };
        self.record(
            client,
            TraceView {
                trace_type: TraceType::Pub,
                timestamp: store_timestamp,
                group: sent.group,
                topic: sent.topic,
                msg_id,
                tags,
                keys,
                store_host: &self.store_host,
                body_length: i32::try_from(sent.body_len).unwrap_or(i32::MAX),
                cost_time: i32::try_from(sent.started.elapsed().as_millis()).unwrap_or(i32::MAX),
                msg_type: sent.msg_type,
                offset_msg_id,
                success: true,
                ..TraceView::default()
            },
        );
    }

    /// `SubBefore` records for the stored `records` a pull by `group` delivers.
    pub fn delivered(&self, client: SocketAddr, group: &str, records: &[bytes::Bytes]) {
        if !self.enabled {
            return;
        }
        let now = ferromq_common::now_millis();
        let request_id = format!("{client}-{now}");
        for bytes in records {
            let Ok(view) = RecordView::parse(bytes) else {
                continue;
            };
            if view.topic == self.topic {
                return;
            }
            with_record_of(&view, |r| {
                let r = TraceView {
                    trace_type: TraceType::SubBefore,
                    timestamp: now,
                    group,
                    request_id: &request_id,
                    retry_times: view.reconsume_times,
                    ..r
                };
                self.record(client, r);
            });
        }
    }

    /// A failed `SubAfter` record: `group` sent the stored message `view` back at `at` (ms).
    pub fn sent_back(&self, client: SocketAddr, group: &str, view: &RecordView<'_>, at: i64) {
        if !self.enabled {
            return;
        }
        with_record_of(view, |r| {
            let r = TraceView {
                trace_type: TraceType::SubAfter,
                timestamp: at,
                group,
                success: false,
                context_code: context_code::FAILED,
                ..r
            };
            self.record(client, r);
        });
    }

    /// An `EndTransaction` record: `group` committed (`commit`) or rolled back the half
    /// message `view` (`from_check`: the state answered a check-back).
    pub fn ended(
        &self,
        client: SocketAddr,
        group: &str,
        view: &RecordView<'_>,
        commit: bool,
        from_check: bool,
    ) {
        if !self.enabled {
            return;
        }
        // A half message is stored in the half topic; the real one is in REAL_TOPIC.
        let real_topic = view.property(properties::REAL_TOPIC);
        with_record_of(view, |r| {
            let r = TraceView {
                trace_type: TraceType::EndTransaction,
                timestamp: ferromq_common::now_millis(),
                topic: real_topic.unwrap_or(r.topic),
                group,
                store_host: &self.store_host,
                msg_type: msg_type::TRANS_HALF,
                transaction_id: r.msg_id,
                transaction_state: if commit {
                    "COMMIT_MESSAGE"
                } else {
                    "ROLLBACK_MESSAGE"
                },
                from_transaction_check: from_check,
                ..r
            };
            self.record(client, r);
        });
    }

    /// Starts the writer; it ends with `stop`, after writing what was queued.
    pub fn spawn_writer(broker: &Arc<Broker>, stop: &CancellationToken) {
        let tracer = &broker.tracer;
        let Some(rx) = tracer.rx.lock().take().filter(|_| tracer.enabled) else {
            return;
        };
        match broker
            .topics
            .ensure_internal(&tracer.topic, 1, perm::READ_WRITE)
        {
            Ok((_, true)) => broker.topics_changed(vec![tracer.topic.clone()]),
            Ok(_) => {}
            Err(e) => {
                tracing::error!(topic = %tracer.topic, error = %e, "cannot create the trace topic; broker traces are not written");
                return;
            }
        }
        tokio::spawn(write_loop(Arc::clone(broker), rx, stop.clone()));
    }
}

/// What [`BrokerTracer::stored`] records of a send.
pub struct Sent<'a> {
    /// The producer group (or the consumer group of a send-back).
    pub group: &'a str,
    /// The topic the message is for (not the holding topic of a delayed message).
    pub topic: &'a str,
    /// Its properties as stored.
    pub properties: &'a str,
    /// Body length.
    pub body_len: usize,
    /// [`msg_type`] ordinal.
    pub msg_type: i32,
    /// When the request arrived (the record's cost time runs from here).
    pub started: std::time::Instant,
}

/// Calls `f` with a record holding the fields every record type takes from the traced message.
fn with_record_of(view: &RecordView<'_>, f: impl FnOnce(TraceView<'_>)) {
    let [uniq, tags, keys] =
        properties::property_values(view.properties, [UNIQ_KEY, properties::TAGS, KEYS]);
    let offset_id;
    let msg_id = match uniq {
        Some(id) => id,
        None => {
            offset_id =
                ferromq_proto::message::encode_offset_msg_id(view.store_host, view.physical_offset);
            &offset_id
        }
    };
    f(TraceView {
        topic: view.topic,
        msg_id,
        tags: tags.unwrap_or(""),
        keys: keys.unwrap_or(""),
        ..TraceView::default()
    });
}

async fn write_loop(b: Arc<Broker>, mut rx: mpsc::Receiver<Event>, stop: CancellationToken) {
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH_MAX);
    loop {
        let first = tokio::select! {
            e = rx.recv() => e,
            _ = stop.cancelled() => {
                rx.close();
                rx.recv().await
            }
        };
        let Some(first) = first else { return };
        batch.push(first);
        // One timer per batch: waiting for each further record with its own timeout cost about
        // 1,900 instructions a record (a timer registered and dropped every time).
        if !stop.is_cancelled() {
            tokio::select! {
                _ = tokio::time::sleep(LINGER) => {}
                _ = stop.cancelled() => {}
            }
        }
        // Everything queued by now, BATCH_MAX records to a message.
        loop {
            while batch.len() < BATCH_MAX {
                match rx.try_recv() {
                    Ok(e) => batch.push(e),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            let full = batch.len() == BATCH_MAX;
            write_batch(&b, &mut batch).await;
            if !full {
                break;
            }
        }
    }
}

/// Writes `batch` as one trace message per client address, then empties it.
async fn write_batch(b: &Broker, batch: &mut Vec<Event>) {
    // A slave (or a fenced master) takes no writes; its traces are lost, as its sends would be.
    let role = b.role_state();
    if role.role == crate::config::BrokerRole::Slave || role.fenced {
        batch.clear();
        return;
    }
    // Stable: each client's records keep their order.
    batch.sort_by_key(|e| e.client);
    let topic = &b.tracer.topic;
    for records in batch.chunk_by(|x, y| x.client == y.client) {
        let client = records[0].client;
        let body: String = records.iter().map(Event::record).collect();
        let mut keys: Vec<&str> = records.iter().flat_map(Event::index_keys).collect();
        keys.sort_unstable();
        keys.dedup();
        let props = encode_properties(&[
            (KEYS, keys.join(properties::KEY_SEPARATOR)),
            (UNIQ_KEY, b.uniq_keys.next_id()),
            (properties::CLUSTER, b.config.broker_cluster_name.clone()),
        ]);
        let now = ferromq_common::now_millis();
        let msg = MessageToStore {
            topic,
            queue_id: 0,
            flag: 0,
            sys_flag: 0,
            born_timestamp: now,
            born_host: client,
            store_host: b.store_host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: body.as_bytes(),
            properties: &props,
        };
        let result = b.store.put_message(msg).await;
        if result.status != PutStatus::PutOk {
            tracing::warn!(status = ?result.status, records = records.len(), "writing broker trace records failed");
        }
    }
    batch.clear();
}

/// True when `topic` is one of the broker's own system topics, whose messages are not traced
/// (the trace topic, schedule and timer holding topics, the half-message topics).
pub fn untraced_topic(topic: &str) -> bool {
    topic == names::SCHEDULE_TOPIC
        || topic == names::TIMER_TOPIC
        || topic == names::TRANS_HALF_TOPIC
        || topic == names::TRANS_OP_HALF_TOPIC
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queued_record_keeps_its_text_and_its_index_keys_apart() {
        let config = crate::BrokerConfig {
            broker_trace_enable: true,
            ..Default::default()
        };
        let tracer = BrokerTracer::new(&config, "127.0.0.1:10911".parse().unwrap());
        let client: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        // A key value may hold U+0001 (only U+0002 ends a property value): it stays one key.
        let view = TraceView {
            topic: "T",
            msg_id: "ID1",
            keys: "k1 a\u{1}b null",
            ..TraceView::default()
        };
        tracer.record(client, view);
        let event = tracer.rx.lock().as_mut().unwrap().try_recv().unwrap();
        let mut expected = String::new();
        TraceView {
            region_id: &config.region_id,
            ..view
        }
        .encode_into(&mut expected);
        assert_eq!(event.record(), expected);
        assert_eq!(
            event.index_keys().collect::<Vec<_>>(),
            ["ID1", "k1", "a\u{1}b"]
        );
    }
}
