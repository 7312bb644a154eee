//! SEND_MESSAGE, SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE (RocketMQ's `SendMessageProcessor`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use ferromq_common::{names, perm};
use ferromq_net::ConnectionHandle;
use ferromq_proto::body::{TopicConfig, TopicFilterType};
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::{SendMessageRequestHeader, SendMessageResponseHeader};
use ferromq_proto::message::{
    decode_batch, decode_properties, properties, sys_flag, BatchItem, MessageCodecError,
    Properties, RecallHandle,
};
use ferromq_proto::RemotingCommand;
use ferromq_store::{MessageToStore, PutResult, PutStatus};

use super::send_back;
use crate::metrics::MessageType;
use crate::{schedule, trace, transaction, Broker, BrokerError};
use ferromq_proto::message::trace::msg_type;

use ferromq_proto::message::properties::{
    CLUSTER, MAX_PROPERTIES_LEN, NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR, UNIQ_KEY,
};

/// Serves one send request.
pub async fn handle(
    b: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    send(b, req, conn.peer_addr()).await
}

/// Stores the message(s) of a send request (SEND_MESSAGE, _V2 or SEND_BATCH_MESSAGE) from a
/// producer at `born_host`: the one send path, for remoting and for the gRPC API.
pub async fn send(
    b: &Arc<Broker>,
    req: &RemotingCommand,
    born_host: SocketAddr,
) -> Result<RemotingCommand, BrokerError> {
    let mut h = SendMessageRequestHeader::read_for_code(req.code, &req.ext_fields)?;
    let topic_config = check_and_resolve_topic(b, &h)?;
    let mut queue_id = pick_queue(&topic_config, h.queue_id)?;
    // The C++ client sends batches as code 10 with `batch` = "1" (Java would read that as false
    // and store the batch encoding as one message body); the client meant a batch.
    let batch = req.code == request::SEND_BATCH_MESSAGE
        || h.batch == Some(true)
        || req.ext_fields.get("batch").is_some_and(|v| v.trim() == "1");
    // Decoded once: the quota counts its messages, `send_batch` stores them (or reports the
    // decoding error, after its own checks).
    let items = batch.then(|| decode_batch(&req.body));
    let msgs = match &items {
        Some(Ok(m)) => m.len() as u64,
        _ => 1,
    };
    b.quotas
        .admit_produce(&h.topic, msgs, req.body.len() as u64)?;
    if names::is_retry_topic(&h.topic) && !batch {
        send_back::counts_from_properties(&mut h);
        if let Some(dlq) = send_back::retry_send_redirect(b, req, &h)? {
            let mut props = decode_properties(h.properties.as_deref().unwrap_or(""));
            props.insert(properties::DELAY, "-1");
            h.properties = Some(props.encode());
            h.topic = dlq.into();
            queue_id = 0;
        }
    }
    let special = has_special_properties(h.properties.as_deref().unwrap_or(""));
    // Priority lanes (see `crate::priority`); a batch stays in its queue, a DLQ copy in 0.
    if special
        && !batch
        && queue_id < crate::priority::LANE_STRIDE
        && h.topic == topic_config.topic_name
    {
        queue_id = crate::priority::store_queue(
            b,
            &h.topic,
            &topic_config,
            h.properties.as_deref().unwrap_or(""),
            queue_id,
        );
    }
    let mut sys_flag = h.sys_flag;
    if topic_config.topic_filter_type == TopicFilterType::MultiTag {
        sys_flag |= sys_flag::MULTI_TAGS;
    }
    if let Some(items) = items {
        send_batch(b, req, items, &h, queue_id, sys_flag, born_host).await
    } else {
        send_one(b, req, &h, queue_id, sys_flag, born_host, special).await
    }
}

/// The properties that make a send more than a plain put, and what reads them: `TRAN_MSG`
/// ([`transaction::is_half`]), `DELAY` ([`schedule::schedule_for`]), the timer requests
/// ([`schedule::timer::TIMER_REQUEST_KEYS`], [`schedule::timer::timer_for`]), the sharding key
/// ([`MessageType::of_send`]) and the priority ([`crate::priority::store_queue`]). Each of those
/// answers "nothing to do" when its keys are absent.
const SPECIAL_KEYS: [&str; 8] = [
    properties::TRAN_MSG,
    properties::DELAY,
    schedule::timer::TIMER_REQUEST_KEYS[0],
    schedule::timer::TIMER_REQUEST_KEYS[1],
    schedule::timer::TIMER_REQUEST_KEYS[2],
    schedule::timer::TIMER_REQUEST_KEYS[3],
    properties::SHARDING_KEY,
    crate::priority::PROPERTY_PRIORITY,
];

/// True when any of [`SPECIAL_KEYS`] is set in `raw`: one pass over the properties, so that a
/// plain send skips the five checks that would each scan them again.
fn has_special_properties(raw: &str) -> bool {
    properties::property_values(raw, SPECIAL_KEYS)
        .iter()
        .any(Option::is_some)
}

/// RocketMQ's answer to a put on a broker that does not take writes (Java
/// `PutMessageStatus.SERVICE_NOT_AVAILABLE`'s remark).
pub(super) const NOT_WRITABLE_REMARK: &str = "service not available now. It may be caused by one of the following reasons: the broker's disk is full, messages are put to the slave, message store has been shut down, etc.";

/// A slave takes no writes: its log is its master's.
pub(super) fn check_role(b: &Broker) -> Result<(), BrokerError> {
    let role = b.role_state();
    if role.role == crate::config::BrokerRole::Slave {
        return Err(BrokerError::ServiceNotAvailable {
            reason: NOT_WRITABLE_REMARK.into(),
        });
    }
    if role.fenced {
        return Err(BrokerError::ServiceNotAvailable {
            reason: "service not available now: this master lost contact with the controller and may have been replaced; it takes writes again once the controller confirms it".into(),
        });
    }
    Ok(())
}

pub(super) fn check_and_resolve_topic(
    b: &Arc<Broker>,
    h: &SendMessageRequestHeader,
) -> Result<TopicConfig, BrokerError> {
    check_role(b)?;
    if !perm::is_writeable(b.live.broker_permission()) {
        return Err(BrokerError::NoPermission {
            reason: format!(
                "the broker[{}] sending message is forbidden",
                b.config.broker_ip1
            ),
        });
    }
    names::validate_topic(&h.topic).map_err(|e| BrokerError::invalid(e.to_string()))?;
    if names::is_not_allowed_send_topic(&h.topic) {
        return Err(BrokerError::NoPermission {
            reason: format!("Sending message to topic[{}] is forbidden.", h.topic),
        });
    }
    if let Some(config) = b.topics.get(&h.topic) {
        if !perm::is_writeable(config.perm) {
            return Err(BrokerError::NoPermission {
                reason: format!("the topic[{}] sending message is forbidden", h.topic),
            });
        }
        return Ok(config);
    }
    let created = if names::is_retry_topic(&h.topic) {
        Some(b.topics.ensure_internal(&h.topic, 1, perm::READ_WRITE)?.0)
    } else {
        b.topics
            .create_from_template(&h.topic, &h.default_topic, h.default_topic_queue_nums, 0)?
    };
    match created {
        Some(config) => {
            b.topics_changed(vec![h.topic.to_string()]);
            Ok(config)
        }
        None => Err(BrokerError::TopicNotExist {
            topic: h.topic.to_string(),
        }),
    }
}

pub(super) fn pick_queue(config: &TopicConfig, wanted: i32) -> Result<i32, BrokerError> {
    let limit = config.read_queue_nums.max(config.write_queue_nums);
    if wanted >= limit {
        return Err(BrokerError::invalid(format!(
            "request queueId[{wanted}] is illegal, {} Producer: queue id must be less than {limit}",
            config.topic_name
        )));
    }
    if wanted < 0 {
        let writable = config.write_queue_nums.max(1);
        return Ok(rand::random_range(0..writable));
    }
    Ok(wanted)
}

/// Adds UNIQ_KEY when missing and CLUSTER, returning the stored properties string and the
/// UNIQ_KEY.
pub(super) fn complete_properties(b: &Broker, raw: &str) -> Result<(String, String), BrokerError> {
    let cluster = &b.config.broker_cluster_name;
    // Refuse an oversized string before parsing it: parsing is not linear in its size.
    if raw.len() > MAX_PROPERTIES_LEN {
        return Err(BrokerError::MessageIllegal {
            reason: format!(
                "the message properties length {} exceeds the maximum {MAX_PROPERTIES_LEN}",
                raw.len()
            ),
        });
    }
    let (encoded, uniq) = match append_only(raw) {
        // The common case (a client's canonical string without CLUSTER): append to it as it is,
        // which is what decoding, inserting and re-encoding would produce, without the map.
        Some(existing_uniq) => {
            let generated = existing_uniq.is_none().then(|| b.uniq_keys.next_id());
            let uniq =
                existing_uniq.map_or_else(|| generated.clone().unwrap_or_default(), str::to_owned);
            let mut out = String::with_capacity(raw.len() + uniq.len() + cluster.len() + 20);
            out.push_str(raw);
            if let Some(g) = &generated {
                push_property(&mut out, UNIQ_KEY, g);
            }
            push_property(&mut out, CLUSTER, cluster);
            (out, uniq)
        }
        None => {
            let mut props: Properties = decode_properties(raw);
            let uniq = match props.get(UNIQ_KEY) {
                Some(u) => u.to_owned(),
                None => {
                    let u = b.uniq_keys.next_id();
                    props.insert(UNIQ_KEY, u.clone());
                    u
                }
            };
            props.insert(CLUSTER, cluster.clone());
            (props.encode(), uniq)
        }
    };
    if encoded.len() > MAX_PROPERTIES_LEN {
        return Err(BrokerError::MessageIllegal {
            reason: format!(
                "the message properties length {} exceeds the maximum {MAX_PROPERTIES_LEN}",
                encoded.len()
            ),
        });
    }
    Ok((encoded, uniq))
}

fn push_property(out: &mut String, key: &str, value: &str) {
    out.push_str(key);
    out.push(NAME_VALUE_SEPARATOR);
    out.push_str(value);
    out.push(PROPERTY_SEPARATOR);
}

/// Pairs at most checked for the append-only path (the uniqueness check is quadratic).
const APPEND_ONLY_MAX_PAIRS: usize = 16;

/// When `raw` re-encodes to itself (every segment a pair Java keeps, keys unique, the trailing
/// separator present) and has no CLUSTER, returns `Some(its UNIQ_KEY)`: completing it is then
/// appending. `None` means it must be decoded and re-encoded.
fn append_only(raw: &str) -> Option<Option<&str>> {
    if raw.is_empty() {
        return Some(None);
    }
    let body = raw.strip_suffix(PROPERTY_SEPARATOR)?;
    let mut keys: [&str; APPEND_ONLY_MAX_PAIRS] = [""; APPEND_ONLY_MAX_PAIRS];
    let mut uniq = None;
    for (n, segment) in body.split(PROPERTY_SEPARATOR).enumerate() {
        let sep = segment.find(NAME_VALUE_SEPARATOR)?;
        if sep == 0 || sep + 1 >= segment.len() || n == APPEND_ONLY_MAX_PAIRS {
            return None;
        }
        let key = &segment[..sep];
        if key == CLUSTER || keys[..n].contains(&key) {
            return None;
        }
        if key == UNIQ_KEY {
            uniq = Some(&segment[sep + 1..]);
        }
        keys[n] = key;
    }
    Some(uniq)
}

pub(super) fn check_body_size(b: &Broker, len: usize) -> Result<(), BrokerError> {
    if len > b.config.max_message_size as usize {
        return Err(BrokerError::MessageIllegal {
            reason: format!(
                "the message body size over max value, MAX: {}, body size: {len}",
                b.config.max_message_size
            ),
        });
    }
    Ok(())
}

async fn send_one(
    b: &Arc<Broker>,
    req: &RemotingCommand,
    h: &SendMessageRequestHeader,
    queue_id: i32,
    sys_flag: i32,
    born_host: SocketAddr,
    special: bool,
) -> Result<RemotingCommand, BrokerError> {
    let started = Instant::now();
    check_body_size(b, req.body.len())?;
    let (properties, uniq) = complete_properties(b, h.properties.as_deref().unwrap_or(""))?;
    // Completing adds UNIQ_KEY and CLUSTER only: `special` still says what the checks find.
    if special && transaction::is_half(&properties) {
        return send_half(b, req, h, queue_id, sys_flag, born_host, &properties, uniq).await;
    }
    let scheduled = if special {
        let levels = b.store.delay_levels_ms().len();
        schedule::schedule_for(&properties, &h.topic, queue_id, sys_flag, levels)?
    } else {
        None
    };
    // A delay level wins over a timer (RocketMQ checks the level first).
    let timed = match scheduled {
        Some(_) => None,
        None if !special => None,
        None => {
            let limits = schedule::timer::TimerLimits::of(&b.config);
            let now = ferromq_common::now_millis();
            schedule::timer::timer_for(&properties, &h.topic, queue_id, sys_flag, limits, now)?
        }
    };
    let (topic, store_queue, properties) = match (&scheduled, &timed) {
        (Some(s), _) => (names::SCHEDULE_TOPIC, s.queue_id, s.properties.as_str()),
        (None, Some(t)) => (names::TIMER_TOPIC, 0, t.properties.as_str()),
        (None, None) => (h.topic.as_str(), queue_id, properties.as_str()),
    };
    let msg = MessageToStore {
        topic,
        queue_id: store_queue,
        flag: h.flag,
        sys_flag,
        born_timestamp: h.born_timestamp,
        born_host,
        store_host: b.store_host,
        reconsume_times: h.reconsume_times.unwrap_or(0),
        prepared_transaction_offset: 0,
        body: &req.body,
        properties,
    };
    // RocketMQ 5.3 `attachRecallHandle`: timer messages of a send (not of a retry topic) get the
    // handle RECALL_MESSAGE takes; its timestamp is the due ms + 1.
    let recall_handle = timed
        .as_ref()
        .filter(|_| !names::is_retry_topic(&h.topic))
        .map(|t| {
            RecallHandle::for_due_time(h.topic.as_str(), &b.config.broker_name, t.due_ms, &uniq)
                .encode()
        });
    let kind = if special {
        MessageType::of_send(properties, scheduled.is_some() || timed.is_some())
    } else {
        MessageType::Normal
    };
    let result = b.store.put_message(msg).await;
    if b.tracer.on() && result.status.is_stored() {
        let delayed = scheduled.is_some() || timed.is_some();
        let sent = trace::Sent {
            group: &h.producer_group,
            topic: &h.topic,
            properties,
            body_len: req.body.len(),
            msg_type: if delayed {
                msg_type::DELAY
            } else {
                msg_type::NORMAL
            },
            started,
        };
        b.tracer
            .stored(born_host, sent, result.store_timestamp, &result.msg_id);
    }
    let sent = (h.topic.as_str(), kind);
    respond(b, req, queue_id, result, sent, Some(uniq), recall_handle).await
}

/// A half message (`TRAN_MSG=true`): stored in `RMQ_SYS_TRANS_HALF_TOPIC`, invisible until its
/// producer commits it (see [`transaction`]); refused when `rejectTransactionMessage` is set.
#[allow(clippy::too_many_arguments)]
async fn send_half(
    b: &Arc<Broker>,
    req: &RemotingCommand,
    h: &SendMessageRequestHeader,
    queue_id: i32,
    sys_flag: i32,
    born_host: SocketAddr,
    properties: &str,
    uniq: String,
) -> Result<RemotingCommand, BrokerError> {
    if b.config.reject_transaction_message {
        return Err(BrokerError::NoPermission {
            reason: format!(
                "the broker[{}] sending transaction message is forbidden",
                b.config.broker_ip1
            ),
        });
    }
    // A delay level is applied at commit; a bad one is refused now, as for any send.
    let commit_flag = sys_flag::with_transaction_type(sys_flag, sys_flag::TRANSACTION_COMMIT_TYPE);
    let levels = b.store.delay_levels_ms().len();
    schedule::schedule_for(properties, &h.topic, queue_id, commit_flag, levels)?;
    crate::transaction::ensure_system_topic(b, names::TRANS_HALF_TOPIC)?;
    let props = transaction::half_message(properties, &h.topic, queue_id, &uniq);
    let msg = MessageToStore {
        topic: names::TRANS_HALF_TOPIC,
        queue_id: 0,
        flag: h.flag,
        sys_flag: sys_flag::with_transaction_type(sys_flag, sys_flag::TRANSACTION_NOT_TYPE),
        born_timestamp: h.born_timestamp,
        born_host,
        store_host: b.store_host,
        reconsume_times: h.reconsume_times.unwrap_or(0),
        prepared_transaction_offset: 0,
        body: &req.body,
        properties: &props,
    };
    let result = b.store.put_message(msg).await;
    if b.tracer.on() && result.status.is_stored() {
        let sent = trace::Sent {
            group: &h.producer_group,
            topic: &h.topic,
            properties,
            body_len: req.body.len(),
            msg_type: msg_type::TRANS_HALF,
            started: Instant::now(),
        };
        b.tracer
            .stored(born_host, sent, result.store_timestamp, &result.msg_id);
    }
    let sent = (h.topic.as_str(), MessageType::Transaction);
    respond(b, req, queue_id, result, sent, Some(uniq), None).await
}

#[allow(clippy::too_many_arguments)]
async fn send_batch(
    b: &Arc<Broker>,
    req: &RemotingCommand,
    items: Result<Vec<BatchItem>, MessageCodecError>,
    h: &SendMessageRequestHeader,
    queue_id: i32,
    sys_flag: i32,
    born_host: SocketAddr,
) -> Result<RemotingCommand, BrokerError> {
    if names::is_retry_topic(&h.topic) {
        return Err(BrokerError::MessageIllegal {
            reason: "batch request does not support retry group".into(),
        });
    }
    // As RocketMQ, the whole batch counts against maxMessageSize: checked before decoding.
    check_body_size(b, req.body.len())?;
    let items = items.map_err(|e| BrokerError::MessageIllegal {
        reason: format!("malformed batch body: {e}"),
    })?;
    if items.is_empty() {
        return Err(BrokerError::MessageIllegal {
            reason: "the batch holds no message".into(),
        });
    }
    let started = Instant::now();
    if items.len() > b.config.max_batch_message_count {
        return Err(BrokerError::MessageIllegal {
            reason: format!(
                "the batch holds {} messages, more than maxBatchMessageCount {}",
                items.len(),
                b.config.max_batch_message_count
            ),
        });
    }
    let mut props = Vec::with_capacity(items.len());
    for item in &items {
        let delayed = properties::property_value(&item.properties, properties::DELAY)
            .is_some_and(|d| d.trim() != "0");
        if delayed {
            return Err(BrokerError::MessageIllegal {
                reason: "TimeDelayLevel is not supported for batching".into(),
            });
        }
        if schedule::timer::has_timer_request(&item.properties) {
            return Err(BrokerError::MessageIllegal {
                reason:
                    "timer messages (TIMER_* or __STARTDELIVERTIME) are not supported for batching"
                        .into(),
            });
        }
        props.push(complete_properties(b, &item.properties)?.0);
    }
    let msgs: Vec<MessageToStore<'_>> = items
        .iter()
        .zip(&props)
        .map(|(item, p)| MessageToStore {
            topic: &h.topic,
            queue_id,
            flag: item.flag,
            sys_flag,
            born_timestamp: h.born_timestamp,
            born_host,
            store_host: b.store_host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: &item.body,
            properties: p,
        })
        .collect();
    let result = b.store.put_messages(&msgs).await;
    if b.tracer.on() && result.status.is_stored() {
        for ((item, p), id) in items.iter().zip(&props).zip(result.msg_id.split(',')) {
            let sent = trace::Sent {
                group: &h.producer_group,
                topic: &h.topic,
                properties: p,
                body_len: item.body.len(),
                msg_type: msg_type::NORMAL,
                started,
            };
            b.tracer.stored(born_host, sent, result.store_timestamp, id);
        }
    }
    let sent = (h.topic.as_str(), MessageType::Normal);
    respond(b, req, queue_id, result, sent, None, None).await
}

/// The response to a put; a stored put is counted for the metrics under `sent`: the topic the
/// producer named and the message type.
async fn respond(
    b: &Broker,
    req: &RemotingCommand,
    queue_id: i32,
    result: PutResult,
    sent: (&str, MessageType),
    uniq: Option<String>,
    recall_handle: Option<String>,
) -> Result<RemotingCommand, BrokerError> {
    let code = match result.status {
        // A SYNC_MASTER answers once a slave holds the message (or says why it could not).
        PutStatus::PutOk => b.replicate(&result, response::SUCCESS).await,
        PutStatus::FlushDiskTimeout => response::FLUSH_DISK_TIMEOUT,
        PutStatus::MessageIllegal | PutStatus::PropertiesSizeExceeded => {
            return Err(BrokerError::MessageIllegal {
                reason: format!("the message is illegal: {:?}", result.status),
            })
        }
        PutStatus::ServiceNotAvailable => {
            return Err(BrokerError::ServiceNotAvailable {
                reason: format!(
                    "service not available now: {}",
                    b.store
                        .refusal()
                        .unwrap_or("maybe disk full or the store is shutting down")
                ),
            })
        }
        other => {
            return Err(BrokerError::system(format!(
                "storing the message failed: {other:?}"
            )))
        }
    };
    b.stats.add_put(i64::from(result.message_count.max(1)));
    let (topic, kind) = sent;
    let bytes = u64::try_from(result.size).unwrap_or(0);
    b.traffic
        .message_in(topic, kind, u64::from(result.message_count.max(1)), bytes);
    let header = SendMessageResponseHeader {
        msg_id: result.msg_id,
        queue_id,
        queue_offset: result.queue_offset,
        transaction_id: uniq,
        batch_uniq_id: None,
        recall_handle,
    };
    let mut resp = req.response_to(code, None);
    // The header's fields and the two below: one allocation, no regrowth.
    resp.ext_fields = ferromq_proto::header::ExtFields::with_capacity(8);
    let mut resp = resp.with_header(&header);
    resp.ext_fields
        .insert_str("MSG_REGION", &b.config.region_id);
    resp.ext_fields
        .insert_str("TRACE_ON", if b.config.trace_on { "true" } else { "false" });
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_without_special_properties_needs_none_of_their_checks() {
        let limits = schedule::timer::TimerLimits {
            enabled: true,
            max_delay_ms: 86_400_000,
        };
        let now = 1_700_000_000_000;
        let plain = [
            "",
            "UNIQ_KEY\u{1}AB\u{2}WAIT\u{1}true\u{2}",
            "TAGS\u{1}t\u{2}KEYS\u{1}k1 k2\u{2}CLUSTER\u{1}c\u{2}",
            // Empty values and a key as a value count as absent, as the checks read them.
            "DELAY\u{1}\u{2}TRAN_MSG\u{2}x\u{1}TRAN_MSG\u{2}",
        ];
        for raw in plain {
            assert!(!has_special_properties(raw), "{raw:?}");
            assert!(!transaction::is_half(raw));
            assert_eq!(schedule::schedule_for(raw, "T", 0, 0, 18).unwrap(), None);
            assert_eq!(
                schedule::timer::timer_for(raw, "T", 0, 0, limits, now).unwrap(),
                None
            );
            assert_eq!(MessageType::of_send(raw, false), MessageType::Normal);
            assert_eq!(
                crate::priority::level_of(properties::property_value(
                    raw,
                    crate::priority::PROPERTY_PRIORITY
                )),
                0
            );
        }
        // Every timer request key is among them, however many the timer module lists.
        for key in schedule::timer::TIMER_REQUEST_KEYS {
            assert!(SPECIAL_KEYS.contains(&key), "{key}");
        }
        for key in SPECIAL_KEYS {
            let raw = format!("UNIQ_KEY\u{1}AB\u{2}{key}\u{1}1\u{2}");
            assert!(has_special_properties(&raw), "{key}");
        }
    }

    #[test]
    fn append_only_accepts_exactly_the_strings_that_re_encode_to_themselves() {
        for raw in [
            "",
            "UNIQ_KEY\u{1}AB\u{2}",
            "TAGS\u{1}t\u{2}UNIQ_KEY\u{1}AB\u{2}WAIT\u{1}true\u{2}",
            "KEYS\u{1}a\u{1}b\u{2}",
            "TAGS\u{1}t\u{2}UNIQ_KEY\u{1}AB",
            "TAGS\u{1}t\u{2}TAGS\u{1}u\u{2}",
            "\u{1}v\u{2}",
            "k\u{1}\u{2}",
            "junk\u{2}",
            "\u{2}",
            "CLUSTER\u{1}c\u{2}",
        ] {
            let reencoded = decode_properties(raw).encode();
            match append_only(raw) {
                Some(uniq) => {
                    assert_eq!(reencoded, raw, "{raw:?} is not canonical");
                    assert_eq!(uniq, decode_properties(raw).get(UNIQ_KEY), "{raw:?}");
                }
                None => assert!(
                    reencoded != raw || raw.contains("CLUSTER"),
                    "{raw:?} could have been appended to"
                ),
            }
        }
        let many: String = (0..20).map(|i| format!("k{i}\u{1}v\u{2}")).collect();
        assert_eq!(append_only(&many), None);
    }
}
