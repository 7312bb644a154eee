//! What a producer sends ([`Message`]) and what it gets back ([`SendResult`]).

use bytes::Bytes;
use ferromq_common::names;
use ferromq_proto::body::MessageQueue;
use ferromq_proto::codes::response;
use ferromq_proto::headers::SendMessageResponseHeader;
use ferromq_proto::message::properties::{self as keys, Properties};
use ferromq_proto::RemotingCommand;

use crate::rpc::decode_header;
use crate::ClientError;

/// Largest body a producer sends (Java `DefaultMQProducer.maxMessageSize`, 4 MiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// A message to send.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    /// Target topic.
    pub topic: String,
    /// The tag (`TAGS` property), used for broker-side filtering.
    pub tags: Option<String>,
    /// Business keys (`KEYS` property, joined by a space), indexed by the broker.
    pub keys: Vec<String>,
    /// The payload.
    pub body: Bytes,
    /// Further properties (user properties, `DELAY`, ...). `TAGS`, `KEYS` and `UNIQ_KEY` are
    /// set from the fields above and by the producer.
    pub properties: Properties,
    /// User flag, stored as is.
    pub flag: i32,
}

impl Message {
    /// A message for `topic` carrying `body`.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Message {
            topic: topic.into(),
            body: body.into(),
            ..Default::default()
        }
    }

    /// Sets the tag.
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.tags = Some(tags.into());
        self
    }

    /// Adds a business key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.keys.push(key.into());
        self
    }

    /// Sets a property.
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key, value);
        self
    }

    /// Sets the delay level (1 = 1 s ... 18 = 2 h; `DELAY` property).
    pub fn with_delay_level(self, level: i32) -> Self {
        self.with_property(keys::DELAY, level.to_string())
    }

    /// Asks the broker to deliver the message at `epoch_ms` (ms since the Unix epoch;
    /// `TIMER_DELIVER_MS` property, RocketMQ 5's arbitrary-delay timer). The broker holds it in
    /// `rmq_sys_wheel_timer` until then; a time not in the future is delivered at once, one more
    /// than `timerMaxDelaySec` ahead is refused with MESSAGE_ILLEGAL (13). A delay level set as
    /// well wins over the timer, as in RocketMQ.
    pub fn with_deliver_time_ms(self, epoch_ms: i64) -> Self {
        self.with_property(keys::TIMER_DELIVER_MS, epoch_ms.to_string())
    }

    /// Asks the broker to deliver the message `delay` after it receives it (`TIMER_DELAY_MS`
    /// property, millisecond precision). Same rules as [`Message::with_deliver_time_ms`]; a
    /// delay too large for an `i64` of ms is sent as `i64::MAX` and refused by the broker.
    pub fn with_delay(self, delay: std::time::Duration) -> Self {
        let ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        self.with_property(keys::TIMER_DELAY_MS, ms.to_string())
    }

    /// Sets the priority, 0-9, higher first (`_SYS_MSG_PRIORITY_`, RocketMQ's `setPriority`;
    /// values above 9 count as 9). On a topic with the attribute `priority=true`, a consumer
    /// group's backlog of higher priority is served first (see [`crate::priority`]).
    pub fn with_priority(self, priority: u8) -> Self {
        self.with_property(
            ferromq_proto::priority::PROPERTY_PRIORITY,
            priority.min(9).to_string(),
        )
    }

    /// The priority set with [`Message::with_priority`] (0 when none).
    pub fn priority(&self) -> u8 {
        ferromq_proto::priority::level_of(
            self.properties
                .get(ferromq_proto::priority::PROPERTY_PRIORITY),
        ) as u8
    }

    /// Sets the user flag.
    pub fn with_flag(mut self, flag: i32) -> Self {
        self.flag = flag;
        self
    }

    /// The properties as sent: `TAGS`, `KEYS`, `WAIT=true` (unless set), the user's, then
    /// `UNIQ_KEY` = `uniq_key`.
    pub(crate) fn wire_properties(&self, uniq_key: &str) -> Properties {
        let mut props = Properties::new();
        if let Some(tags) = self.tags.as_deref().filter(|t| !t.is_empty()) {
            props.insert(keys::TAGS, tags);
        }
        if !self.keys.is_empty() {
            props.insert(keys::KEYS, self.keys.join(keys::KEY_SEPARATOR));
        }
        props.insert(keys::WAIT, "true");
        for (k, v) in self.properties.iter() {
            props.insert(k, v);
        }
        props.insert(keys::UNIQ_KEY, uniq_key);
        props
    }

    /// Java `Validators.checkMessage`: a legal topic clients may send to, and a body that is
    /// neither empty nor larger than `max_size`.
    pub fn validate(&self, max_size: usize) -> Result<(), ClientError> {
        names::validate_topic(&self.topic)?;
        if names::is_not_allowed_send_topic(&self.topic) {
            return Err(ClientError::InvalidArgument {
                reason: format!("Sending message to topic[{}] is forbidden.", self.topic),
            });
        }
        if self.body.is_empty() {
            return Err(ClientError::InvalidArgument {
                reason: "the message body length is zero".into(),
            });
        }
        if self.body.len() > max_size {
            return Err(ClientError::InvalidArgument {
                reason: format!("the message body size over max value, MAX: {max_size}"),
            });
        }
        Ok(())
    }
}

/// How durable a successful send is (Java `SendStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// Stored (and flushed/replicated as the broker is configured).
    SendOk,
    /// Stored, but the synchronous flush timed out.
    FlushDiskTimeout,
    /// Stored, but synchronous replication timed out.
    FlushSlaveTimeout,
    /// Stored, but no slave was there to replicate to.
    SlaveNotAvailable,
}

impl SendStatus {
    /// The status for a response code, `None` for codes that mean "not stored".
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            response::SUCCESS => Some(SendStatus::SendOk),
            response::FLUSH_DISK_TIMEOUT => Some(SendStatus::FlushDiskTimeout),
            response::FLUSH_SLAVE_TIMEOUT => Some(SendStatus::FlushSlaveTimeout),
            response::SLAVE_NOT_AVAILABLE => Some(SendStatus::SlaveNotAvailable),
            _ => None,
        }
    }

    /// Java's constant name, e.g. `SEND_OK`.
    pub fn as_str(self) -> &'static str {
        match self {
            SendStatus::SendOk => "SEND_OK",
            SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        }
    }
}

impl std::fmt::Display for SendStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of a stored send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// Durability of the store.
    pub status: SendStatus,
    /// The client id (`UNIQ_KEY`); for a batch the ids of its messages joined by `,`.
    pub msg_id: String,
    /// The broker's id (store host + commit-log offset); for a batch a `,`-joined list.
    pub offset_msg_id: String,
    /// The queue the message went to.
    pub queue: MessageQueue,
    /// Consume-queue offset of the (first) message.
    pub queue_offset: i64,
    /// The transaction id the broker reports (the `UNIQ_KEY`).
    pub transaction_id: Option<String>,
    /// For a timer message, the handle [`crate::Producer::recall_message`] takes to cancel it
    /// before it is due (RocketMQ 5.3 brokers; `None` for other messages and older brokers).
    pub recall_handle: Option<String>,
}

/// Turns a send response into a result (Java `MQClientAPIImpl.processSendResponse`).
///
/// Codes 0, 10, 11, 12 are stored outcomes; any other code is [`ClientError::Broker`]. The queue
/// id comes from the response, since the broker may have picked it.
pub fn send_result_from_response(
    resp: &RemotingCommand,
    topic: &str,
    broker_name: &str,
    msg_id: String,
) -> Result<SendResult, ClientError> {
    let Some(status) = SendStatus::from_code(resp.code) else {
        return Err(ClientError::from_response(resp));
    };
    let header: SendMessageResponseHeader = decode_header(resp, "SEND_MESSAGE")?;
    Ok(SendResult {
        status,
        msg_id,
        offset_msg_id: header.msg_id,
        queue: MessageQueue::new(topic, broker_name, header.queue_id),
        queue_offset: header.queue_offset,
        transaction_id: header.transaction_id,
        recall_handle: header.recall_handle,
    })
}

/// Codes after which the Java producer retries on another queue (section 6.2 of the protocol
/// notes): TOPIC_NOT_EXIST, SERVICE_NOT_AVAILABLE, SYSTEM_ERROR, SYSTEM_BUSY, NO_PERMISSION,
/// NO_BUYER_ID, NOT_IN_CURRENT_UNIT, GO_AWAY.
pub const RETRY_RESPONSE_CODES: [i32; 8] = [17, 14, 1, 2, 16, 204, 205, 1500];

/// True when a failed attempt should be retried on another queue: a retry code above, or a
/// transport failure.
pub fn is_retriable(err: &ClientError) -> bool {
    match err {
        ClientError::Broker { code, .. } => RETRY_RESPONSE_CODES.contains(code),
        ClientError::Net { .. } | ClientError::NoBrokerAddress { .. } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ferromq_net::NetError;
    use ferromq_proto::headers::SendMessageResponseHeader;

    use super::*;

    fn response(code: i32) -> RemotingCommand {
        let req = RemotingCommand::bare_request(310);
        let header = SendMessageResponseHeader {
            msg_id: "7F00000100002A9F0000000000000010".into(),
            queue_id: 3,
            queue_offset: 42,
            transaction_id: Some("UNIQ".into()),
            batch_uniq_id: None,
            recall_handle: None,
        };
        req.response_to(code, None).with_header(&header)
    }

    #[test]
    fn stored_codes_map_to_statuses() {
        for (code, status) in [
            (0, SendStatus::SendOk),
            (10, SendStatus::FlushDiskTimeout),
            (12, SendStatus::FlushSlaveTimeout),
            (11, SendStatus::SlaveNotAvailable),
        ] {
            let r =
                send_result_from_response(&response(code), "T", "broker-a", "UNIQ".into()).unwrap();
            assert_eq!(r.status, status);
            assert_eq!(r.queue, MessageQueue::new("T", "broker-a", 3));
            assert_eq!(r.queue_offset, 42);
            assert_eq!(r.offset_msg_id, "7F00000100002A9F0000000000000010");
            assert_eq!(r.msg_id, "UNIQ");
            assert_eq!(r.recall_handle, None);
        }
        let mut resp = response(0);
        resp.ext_fields.insert("recallHandle", "djEg");
        let r = send_result_from_response(&resp, "T", "broker-a", "UNIQ".into()).unwrap();
        assert_eq!(r.recall_handle.as_deref(), Some("djEg"));
    }

    #[test]
    fn other_codes_are_broker_errors() {
        let mut resp = RemotingCommand::bare_request(310)
            .response_to(14, Some("service not available now".into()));
        resp.ext_fields = Default::default();
        let err = send_result_from_response(&resp, "T", "b", String::new()).unwrap_err();
        assert!(matches!(err, ClientError::Broker { code: 14, .. }));
        assert!(is_retriable(&err));
        let err = send_result_from_response(
            &RemotingCommand::bare_request(310).response_to(13, None),
            "T",
            "b",
            String::new(),
        )
        .unwrap_err();
        assert!(!is_retriable(&err), "MESSAGE_ILLEGAL fails at once");
    }

    #[test]
    fn stored_code_without_header_is_a_header_error() {
        let resp = RemotingCommand::bare_request(310).response_to(0, None);
        assert!(matches!(
            send_result_from_response(&resp, "T", "b", String::new()),
            Err(ClientError::Header { .. })
        ));
    }

    #[test]
    fn retry_classification() {
        for code in RETRY_RESPONSE_CODES {
            assert!(is_retriable(&ClientError::Broker {
                code,
                remark: String::new()
            }));
        }
        let net = ClientError::Net {
            source: NetError::Timeout {
                code: 310,
                addr: "a:1".into(),
                timeout: Duration::from_secs(1),
            },
        };
        assert!(is_retriable(&net));
        assert!(!is_retriable(&ClientError::InvalidArgument {
            reason: String::new()
        }));
    }

    #[test]
    fn wire_properties_carry_tags_keys_wait_and_uniq_key() {
        let m = Message::new("T", "hi")
            .with_tags("TagA")
            .with_key("k1")
            .with_key("k2")
            .with_property("color", "red");
        let props = m.wire_properties("ID1");
        let pairs: Vec<_> = props.iter().collect();
        assert_eq!(
            pairs,
            [
                ("TAGS", "TagA"),
                ("KEYS", "k1 k2"),
                ("WAIT", "true"),
                ("color", "red"),
                ("UNIQ_KEY", "ID1")
            ]
        );
        let no_wait = Message::new("T", "x")
            .with_property("WAIT", "false")
            .wire_properties("I");
        assert_eq!(no_wait.get("WAIT"), Some("false"));
    }

    #[test]
    fn validation_follows_java_validators() {
        assert!(Message::new("T", "x").validate(10).is_ok());
        assert!(matches!(
            Message::new("T", "").validate(10),
            Err(ClientError::InvalidArgument { .. })
        ));
        assert!(matches!(
            Message::new("T", "0123456789a").validate(10),
            Err(ClientError::InvalidArgument { .. })
        ));
        assert!(matches!(
            Message::new("a b", "x").validate(10),
            Err(ClientError::Name { .. })
        ));
        assert!(matches!(
            Message::new("SCHEDULE_TOPIC_XXXX", "x").validate(10),
            Err(ClientError::InvalidArgument { .. })
        ));
        assert!(matches!(
            Message::new("rmq_sys_wheel_timer", "x").validate(10),
            Err(ClientError::InvalidArgument { .. })
        ));
    }

    #[test]
    fn timer_builders_set_rocketmq_5_properties() {
        let m = Message::new("T", "x").with_deliver_time_ms(1_700_000_000_123);
        assert_eq!(m.properties.get("TIMER_DELIVER_MS"), Some("1700000000123"));
        let m = Message::new("T", "x").with_delay(Duration::from_millis(2_500));
        assert_eq!(m.properties.get("TIMER_DELAY_MS"), Some("2500"));
        let m = Message::new("T", "x").with_delay(Duration::MAX);
        assert_eq!(
            m.properties.get("TIMER_DELAY_MS"),
            Some("9223372036854775807")
        );
    }
}
