//! Between the gRPC API's messages and stored records, and from broker errors to RocketMQ's
//! `Code` values (the proxy's mapping).

use std::io::Read;

use ferromq_broker::BrokerError;
use ferromq_proto::codes::response;
use ferromq_proto::message::properties::{
    self as props, decode_properties, Properties, KEY_SEPARATOR,
};
use ferromq_proto::message::record::RecordView;
use ferromq_proto::message::sys_flag;

use crate::pb;
use crate::pb::Code;

/// A RocketMQ status.
pub fn status(code: Code, message: impl Into<String>) -> pb::Status {
    pb::Status {
        code: code as i32,
        message: message.into(),
    }
}

/// The OK status.
pub fn ok() -> pb::Status {
    status(Code::Ok, "OK")
}

/// A failed call: its code and message.
pub type Failure = (Code, String);

/// The proxy's code for a broker error.
pub fn failure(e: &BrokerError) -> Failure {
    let code = match e {
        BrokerError::TopicNotExist { .. } | BrokerError::RecallTopicNotExist { .. } => {
            Code::TopicNotFound
        }
        BrokerError::GroupNotExist { .. } => Code::ConsumerGroupNotFound,
        BrokerError::NoPermission { .. } => Code::Forbidden,
        BrokerError::MessageIllegal { .. }
        | BrokerError::InvalidParameter { .. }
        | BrokerError::BadHeader { .. }
        | BrokerError::BadBody { .. }
        | BrokerError::IllegalOperation { .. } => Code::BadRequest,
        BrokerError::SystemBusy { .. } => Code::TooManyRequests,
        BrokerError::SlaveNotAvailable { .. } => Code::HaNotAvailable,
        BrokerError::Code { code, .. } => remoting_code(*code),
        _ => Code::InternalServerError,
    };
    (code, e.to_string())
}

/// The proxy's code for a remoting response code.
pub fn remoting_code(code: i32) -> Code {
    match code {
        response::SUCCESS => Code::Ok,
        response::FLUSH_DISK_TIMEOUT => Code::MasterPersistenceTimeout,
        response::FLUSH_SLAVE_TIMEOUT => Code::SlavePersistenceTimeout,
        response::SLAVE_NOT_AVAILABLE => Code::HaNotAvailable,
        response::TOPIC_NOT_EXIST => Code::TopicNotFound,
        response::SUBSCRIPTION_GROUP_NOT_EXIST => Code::ConsumerGroupNotFound,
        response::NO_PERMISSION => Code::Forbidden,
        response::MESSAGE_ILLEGAL => Code::BadRequest,
        response::SYSTEM_BUSY => Code::TooManyRequests,
        _ => Code::InternalServerError,
    }
}

/// Properties set by the broker or the gRPC fields: not shown as user properties.
const SYSTEM_KEYS: &[&str] = &[
    props::TAGS,
    props::KEYS,
    props::UNIQ_KEY,
    props::WAIT,
    props::CLUSTER,
    props::SHARDING_KEY,
    props::TIMER_DELIVER_MS,
    props::TIMER_DELAY_MS,
    props::TIMER_DELAY_SEC,
    props::TIMER_OUT_MS,
    props::START_DELIVER_TIME,
    props::TRAN_MSG,
    props::PGROUP,
    props::TRANSACTION_ID,
    props::TRAN_PREPARED_QUEUE_OFFSET,
    props::REAL_TOPIC,
    props::REAL_QID,
    props::DELAY,
    props::MSG_REGION,
    props::TRACE_ON,
    props::MIN_OFFSET,
    props::MAX_OFFSET,
    props::CONSUME_START_TIME,
    props::RETRY_TOPIC,
    props::ORIGIN_MESSAGE_ID,
    props::RECONSUME_TIME,
    props::MAX_RECONSUME_TIMES,
    props::DLQ_ORIGIN_TOPIC,
    props::DLQ_ORIGIN_MESSAGE_ID,
    props::TRANSACTION_CHECK_TIMES,
    props::INNER_NUM,
    props::INNER_BASE,
];

/// True for a property name the broker keeps for itself (a user property may not use it).
pub fn is_system_key(key: &str) -> bool {
    SYSTEM_KEYS.contains(&key) || key.starts_with("__")
}

fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// Milliseconds of a timestamp.
pub fn millis_of(t: &prost_types::Timestamp) -> i64 {
    t.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nanos) / 1_000_000)
}

/// Milliseconds of a duration.
pub fn duration_ms(d: &prost_types::Duration) -> i64 {
    d.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(d.nanos) / 1_000_000)
}

/// A duration of `ms` milliseconds.
pub fn duration(ms: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

/// The message type a stored message was sent as.
pub fn message_type(p: &Properties) -> pb::MessageType {
    if p.get(props::TRAN_MSG) == Some("true") {
        pb::MessageType::Transaction
    } else if p.get(props::TIMER_DELIVER_MS).is_some() || p.get(props::START_DELIVER_TIME).is_some()
    {
        pb::MessageType::Delay
    } else if p.get(props::SHARDING_KEY).is_some() {
        pb::MessageType::Fifo
    } else {
        pb::MessageType::Normal
    }
}

/// The body a consumer gets: remoting producers compress large bodies with zlib.
fn plain_body(view: &RecordView<'_>) -> Vec<u8> {
    if view.sys_flag & sys_flag::COMPRESSED != 0 {
        let mut out = Vec::new();
        if flate2::read::ZlibDecoder::new(view.body)
            .read_to_end(&mut out)
            .is_ok()
        {
            return out;
        }
        tracing::warn!(
            offset = view.physical_offset,
            "a compressed body did not inflate; delivered as stored"
        );
    }
    view.body.to_vec()
}

/// Delivery details of one received message.
pub struct Delivery {
    /// The receipt handle text.
    pub receipt_handle: String,
    /// Delivery attempt (1 for the first).
    pub attempt: i32,
    /// Invisible duration, ms.
    pub invisible_ms: i64,
}

/// A stored record as the gRPC API's message.
pub fn to_pb(view: &RecordView<'_>, delivery: Option<Delivery>) -> pb::Message {
    let p = decode_properties(view.properties);
    let message_id = p.get(props::UNIQ_KEY).map_or_else(
        || {
            ferromq_proto::message::msg_id::encode_offset_msg_id(
                view.store_host,
                view.physical_offset,
            )
        },
        str::to_owned,
    );
    let body = plain_body(view);
    let mut user = std::collections::HashMap::new();
    for (k, v) in p.iter() {
        if !is_system_key(k) {
            user.insert(k.to_owned(), v.to_owned());
        }
    }
    let delivery_ms = p
        .get(props::TIMER_DELIVER_MS)
        .or_else(|| p.get(props::START_DELIVER_TIME))
        .and_then(|v| v.trim().parse::<i64>().ok());
    let checksum = format!("{:08X}", crc32fast::hash(&body));
    let (receipt_handle, attempt, invisible) = match delivery {
        Some(d) => (
            Some(d.receipt_handle),
            Some(d.attempt),
            Some(duration(d.invisible_ms)),
        ),
        None => (None, None, None),
    };
    pb::Message {
        topic: Some(pb::Resource {
            resource_namespace: String::new(),
            name: view.topic.to_owned(),
        }),
        user_properties: user,
        system_properties: Some(pb::SystemProperties {
            tag: p.get(props::TAGS).map(str::to_owned),
            keys: p
                .get(props::KEYS)
                .map(|k| {
                    k.split(KEY_SEPARATOR)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            message_id,
            body_digest: Some(pb::Digest {
                r#type: pb::DigestType::Crc32 as i32,
                checksum,
            }),
            body_encoding: pb::Encoding::Identity as i32,
            message_type: message_type(&p) as i32,
            born_timestamp: Some(timestamp(view.born_timestamp)),
            born_host: view.born_host.ip().to_string(),
            store_timestamp: Some(timestamp(view.store_timestamp)),
            store_host: view.store_host.to_string(),
            delivery_timestamp: delivery_ms.map(timestamp),
            receipt_handle,
            queue_id: view.queue_id,
            queue_offset: Some(view.queue_offset),
            invisible_duration: invisible,
            delivery_attempt: attempt,
            message_group: p.get(props::SHARDING_KEY).map(str::to_owned),
            trace_context: None,
            orphaned_transaction_recovery_duration: None,
            dead_letter_queue: None,
            lite_topic: None,
            priority: None,
        }),
        body,
    }
}

/// A tag filter (`*`, or tags joined by `||`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagFilter {
    /// Every message.
    All,
    /// Messages with one of these tags.
    Tags(Vec<String>),
}

impl TagFilter {
    /// Reads a subscription's filter expression; SQL92 is refused (not served over gRPC yet).
    pub fn parse(f: Option<&pb::FilterExpression>) -> Result<TagFilter, Failure> {
        let Some(f) = f else {
            return Ok(TagFilter::All);
        };
        if f.r#type == pb::FilterType::Sql as i32 {
            return Err((
                Code::Unsupported,
                "SQL92 filters are not served over the gRPC API yet; use a tag filter".into(),
            ));
        }
        let e = f.expression.trim();
        if e.is_empty() || e == "*" {
            return Ok(TagFilter::All);
        }
        let tags: Vec<String> = e
            .split("||")
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        if tags.is_empty() {
            return Err((
                Code::IllegalFilterExpression,
                format!("the filter expression `{e}` names no tag"),
            ));
        }
        Ok(TagFilter::Tags(tags))
    }

    /// True when a message with `tag` passes.
    pub fn matches(&self, tag: Option<&str>) -> bool {
        match self {
            TagFilter::All => true,
            TagFilter::Tags(tags) => tag.is_some_and(|t| tags.iter().any(|x| x == t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_filters_match_like_rocketmq_and_sql_is_refused() {
        let f = |t: i32, e: &str| {
            TagFilter::parse(Some(&pb::FilterExpression {
                r#type: t,
                expression: e.into(),
            }))
        };
        let tag = pb::FilterType::Tag as i32;
        assert_eq!(f(tag, "*").unwrap(), TagFilter::All);
        let ab = f(tag, "a || b").unwrap();
        assert!(ab.matches(Some("a")) && ab.matches(Some("b")));
        assert!(!ab.matches(Some("c")) && !ab.matches(None));
        assert_eq!(f(tag, "||").unwrap_err().0, Code::IllegalFilterExpression);
        assert_eq!(
            f(pb::FilterType::Sql as i32, "a > 1").unwrap_err().0,
            Code::Unsupported
        );
    }

    #[test]
    fn times_convert_both_ways() {
        let t = timestamp(1_700_000_000_123);
        assert_eq!(millis_of(&t), 1_700_000_000_123);
        assert_eq!(duration_ms(&duration(61_500)), 61_500);
    }
}
