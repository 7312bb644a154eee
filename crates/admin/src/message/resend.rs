//! `queryMsgById -s true`: send a stored message again (Java `QueryMsgByIdSubCommand.sendMsg`).
//!
//! Java sends the message back to the topic it was read from, so a dead letter resent that way
//! lands in `%DLQ%<group>` again. FerroMQ resends a message read from a retry or dead-letter
//! topic to the topic it was first sent to (its `RETRY_TOPIC` property), which is what an
//! operator working the DLQ wants; any other message goes to its own topic, as in Java.
//! The copy keeps body, flag, tags, keys, user properties and its message id; the properties
//! the broker added on the way (delay, retry and scheduling bookkeeping) are left out.

use std::fmt;

use ferromq_client::{AdminClient, Message, Producer, SendResult};
use ferromq_common::names;
use ferromq_proto::message::properties as keys;
use ferromq_proto::message::MessageExt;

use crate::AdminError;

/// Producer group of resends (Java's `ReSendMsgById`).
pub const RESEND_PRODUCER_GROUP: &str = "ReSendMsgById";

/// Properties the broker writes while a message travels; not carried into a resend.
const BROKER_PROPERTIES: &[&str] = &[
    keys::DELAY,
    keys::REAL_TOPIC,
    keys::REAL_QID,
    keys::RETRY_TOPIC,
    keys::CLUSTER,
    keys::MIN_OFFSET,
    keys::MAX_OFFSET,
    keys::TIMER_OUT_MS,
    keys::TIMER_DELIVER_MS,
    keys::TIMER_DELAY_SEC,
    keys::TIMER_DELAY_MS,
    keys::TAGS,
    keys::KEYS,
    keys::WAIT,
];

/// The message a resend of `msg` sends.
pub fn resend_message(msg: &MessageExt) -> Message {
    let topic = if names::is_retry_topic(&msg.topic) || names::is_dlq_topic(&msg.topic) {
        msg.properties
            .get(keys::RETRY_TOPIC)
            .filter(|t| !t.is_empty())
            .unwrap_or(&msg.topic)
            .to_owned()
    } else {
        msg.topic.clone()
    };
    let mut out = Message::new(topic, msg.body.clone()).with_flag(msg.flag);
    if let Some(tags) = msg.properties.get(keys::TAGS).filter(|t| !t.is_empty()) {
        out = out.with_tags(tags);
    }
    if let Some(k) = msg.properties.get(keys::KEYS) {
        for key in k.split(keys::KEY_SEPARATOR).filter(|k| !k.is_empty()) {
            out = out.with_key(key);
        }
    }
    for (k, v) in msg.properties.iter() {
        if !BROKER_PROPERTIES.contains(&k) {
            out = out.with_property(k, v);
        }
    }
    out
}

/// What a resend did.
#[derive(Debug, Clone)]
pub struct ResendReport {
    /// The id asked for.
    pub original_id: String,
    /// The send's result.
    pub result: SendResult,
}

impl fmt::Display for ResendReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.result;
        write!(f, "prepare resend msg. originalMsgId={}", self.original_id)?;
        writeln!(
            f,
            "SendResult [sendStatus={}, msgId={}, offsetMsgId={}, messageQueue=MessageQueue [topic={}, brokerName={}, queueId={}], queueOffset={}]",
            r.status.as_str(),
            r.msg_id,
            r.offset_msg_id,
            r.queue.topic,
            r.queue.broker_name,
            r.queue.queue_id,
            r.queue_offset
        )
    }
}

/// Sends [`resend_message`] of `msg` with a producer on the admin client's name servers.
pub async fn resend(
    admin: &AdminClient,
    original_id: &str,
    msg: &MessageExt,
) -> Result<ResendReport, AdminError> {
    let producer = Producer::builder(RESEND_PRODUCER_GROUP)
        .namesrv_addr(admin.namesrv().joined())
        .instance_name(format!("resend-{}", std::process::id()))
        .build()?;
    let sent = producer.send(resend_message(msg)).await;
    producer.shutdown().await;
    Ok(ResendReport {
        original_id: original_id.to_owned(),
        result: sent?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_letter_goes_back_to_its_first_topic_without_broker_bookkeeping() {
        let mut m = MessageExt {
            store_size: 0,
            magic: ferromq_proto::message::MAGIC_V1,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            commit_log_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: "10.0.0.5:40000".parse().unwrap(),
            store_timestamp: 0,
            store_host: "127.0.0.1:10911".parse().unwrap(),
            reconsume_times: 3,
            prepared_transaction_offset: 0,
            body: bytes::Bytes::from_static(b"b"),
            topic: "%DLQ%G".into(),
            properties: Default::default(),
        };
        for (k, v) in [
            ("TAGS", "TagA"),
            ("KEYS", "k1 k2"),
            ("RETRY_TOPIC", "T"),
            ("DELAY", "0"),
            ("UNIQ_KEY", "ID1"),
            ("color", "red"),
            ("CLUSTER", "C"),
        ] {
            m.properties.insert(k, v);
        }
        let out = resend_message(&m);
        assert_eq!(out.topic, "T");
        assert_eq!(out.tags.as_deref(), Some("TagA"));
        assert_eq!(out.keys, ["k1", "k2"]);
        assert_eq!(out.properties.get("color"), Some("red"));
        assert_eq!(out.properties.get("UNIQ_KEY"), Some("ID1"));
        for gone in ["DELAY", "RETRY_TOPIC", "CLUSTER", "TAGS"] {
            assert_eq!(out.properties.get(gone), None, "{gone}");
        }
        m.topic = "Plain".into();
        assert_eq!(resend_message(&m).topic, "Plain");
    }
}
