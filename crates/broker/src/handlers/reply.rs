//! SEND_REPLY_MESSAGE (324) and SEND_REPLY_MESSAGE_V2 (325): request-reply (RocketMQ's
//! `ReplyMessageProcessor`).
//!
//! ```text
//! requester ──SEND(request: CORRELATION_ID, REPLY_TO_CLIENT, TTL)──▶ broker ──pull──▶ responder
//! requester ◀──PUSH_REPLY_MESSAGE_TO_CLIENT (326)── broker ◀──SEND_REPLY(MSG_TYPE=reply)── responder
//! ```
//!
//! The reply goes back over the connection the requester's producer heartbeats on (found by the
//! client id in `REPLY_TO_CLIENT`), then is stored in `<cluster>_REPLY_TOPIC` for tracing (when
//! `storeReplyMessageEnable`, the default) whether or not the push succeeded. The responder is
//! told SUCCESS only when the requester took the reply; otherwise SYSTEM_ERROR with the reason
//! (requester gone, requester refused it, push timed out), as RocketMQ answers.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ferromq_common::now_millis;
use ferromq_net::ConnectionHandle;
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::{
    ReplyMessageRequestHeader, SendMessageRequestHeader, SendMessageResponseHeader,
};
use ferromq_proto::message::decode_properties;
use ferromq_proto::message::properties::{CORRELATION_ID, PUSH_REPLY_TIME, REPLY_TO_CLIENT};
use ferromq_proto::RemotingCommand;
use ferromq_store::{MessageToStore, PutStatus};

use super::send::{check_and_resolve_topic, check_body_size, complete_properties, pick_queue};
use crate::{Broker, BrokerError};

/// How long the broker waits for the requester to take a reply (Java `Broker2Client.callClient`).
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest correlation id accepted; Java's are 36-character UUIDs.
const MAX_CORRELATION_ID_LEN: usize = 255;

/// Serves one reply.
pub async fn handle(
    b: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h = SendMessageRequestHeader::read_for_code(req.code, &req.ext_fields)?;
    let topic_config = check_and_resolve_topic(b, &h)?;
    let queue_id = pick_queue(&topic_config, h.queue_id)?;
    check_body_size(b, req.body.len())?;
    let raw_props = h.properties.as_deref().unwrap_or("");
    let mut props = decode_properties(raw_props);
    let Some(requester) = props.get(REPLY_TO_CLIENT).map(str::to_owned) else {
        return Err(BrokerError::system(format!(
            "reply message properties[{REPLY_TO_CLIENT}] is null"
        )));
    };
    check_correlation_id(props.get(CORRELATION_ID))?;

    props.insert(PUSH_REPLY_TIME, now_millis().to_string());
    let pushed = push(b, conn, req, &h, &requester, props.encode()).await;

    let stored = if b.config.store_reply_message_enable {
        store(b, conn, req, &h, queue_id, raw_props).await
    } else {
        None
    };
    match pushed {
        Ok(()) => {
            b.stats.reply_pushed.fetch_add(1, Ordering::Relaxed);
            let (msg_id, queue_offset) = stored.unwrap_or_else(|| ("0".to_owned(), 0));
            let header = SendMessageResponseHeader {
                msg_id,
                queue_id,
                queue_offset,
                transaction_id: None,
                batch_uniq_id: None,
                recall_handle: None,
            };
            let mut resp = req
                .response_to(response::SUCCESS, None)
                .with_header(&header);
            resp.ext_fields
                .insert("MSG_REGION", b.config.region_id.clone());
            resp.ext_fields
                .insert("TRACE_ON", b.config.trace_on.to_string());
            Ok(resp)
        }
        Err(reason) => {
            b.stats.note_reply_dropped(&requester, &reason);
            Err(BrokerError::system(reason))
        }
    }
}

/// A reply must say which request it answers; anything else could never be matched.
fn check_correlation_id(id: Option<&str>) -> Result<(), BrokerError> {
    let ok = id.is_some_and(|id| {
        !id.is_empty()
            && id.len() <= MAX_CORRELATION_ID_LEN
            && id.bytes().all(|c| c.is_ascii_graphic())
    });
    if ok {
        Ok(())
    } else {
        Err(BrokerError::MessageIllegal {
            reason: format!(
                "reply message properties[{CORRELATION_ID}] must be 1 to \
                 {MAX_CORRELATION_ID_LEN} printable ASCII characters, got {id:?}"
            ),
        })
    }
}

/// Sends the reply to the requester's connection and waits for it to take it. `Err` holds
/// the remark RocketMQ gives the responder.
async fn push(
    b: &Broker,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
    h: &SendMessageRequestHeader,
    requester: &str,
    properties: String,
) -> Result<(), String> {
    let Some(target) = b.clients.producer_connection(requester) else {
        return Err(format!(
            "push reply message fail, channel of <{requester}> not found."
        ));
    };
    let header = ReplyMessageRequestHeader {
        producer_group: h.producer_group.clone(),
        topic: h.topic.clone(),
        default_topic: h.default_topic.clone(),
        default_topic_queue_nums: h.default_topic_queue_nums,
        queue_id: h.queue_id,
        sys_flag: h.sys_flag,
        born_timestamp: h.born_timestamp,
        flag: h.flag,
        properties: Some(properties),
        reconsume_times: h.reconsume_times,
        unit_mode: h.unit_mode.unwrap_or(false),
        born_host: conn.peer_addr().to_string(),
        store_host: b.store_host.to_string(),
        store_timestamp: now_millis(),
    };
    let cmd = RemotingCommand::request(request::PUSH_REPLY_MESSAGE_TO_CLIENT, &header)
        .with_body(req.body.clone());
    match target.invoke(cmd, PUSH_TIMEOUT).await {
        Ok(resp) if resp.code == response::SUCCESS => Ok(()),
        Ok(resp) => Err(format!(
            "push reply message to {requester} fail: the requester answered {} {}",
            resp.code,
            resp.remark.as_deref().unwrap_or("")
        )),
        Err(e) => Err(format!("push reply message to {requester} fail: {e}")),
    }
}

/// Stores the reply in its topic (normally `<cluster>_REPLY_TOPIC`); the offsetMsgId and queue
/// offset on success. A failure is logged, not answered: the push decides the response.
async fn store(
    b: &Broker,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
    h: &SendMessageRequestHeader,
    queue_id: i32,
    raw_props: &str,
) -> Option<(String, i64)> {
    let (properties, _) = match complete_properties(b, raw_props) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(topic = %h.topic, error = %e, "reply not stored");
            return None;
        }
    };
    let msg = MessageToStore {
        topic: &h.topic,
        queue_id,
        flag: h.flag,
        sys_flag: h.sys_flag,
        born_timestamp: h.born_timestamp,
        born_host: conn.peer_addr(),
        store_host: b.store_host,
        reconsume_times: h.reconsume_times.unwrap_or(0),
        prepared_transaction_offset: 0,
        body: &req.body,
        properties: &properties,
    };
    let result = b.store.put_message(msg).await;
    match result.status {
        PutStatus::PutOk | PutStatus::FlushDiskTimeout => {
            b.stats.add_put(1);
            let bytes = u64::try_from(result.size).unwrap_or(0);
            let kind = crate::metrics::MessageType::Normal;
            b.traffic.message_in(&h.topic, kind, 1, bytes);
            Some((result.msg_id, result.queue_offset))
        }
        status => {
            tracing::warn!(topic = %h.topic, ?status, "reply not stored");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_must_be_present_and_printable() {
        assert!(check_correlation_id(Some("2d1f0e3c-aaaa-bbbb-cccc-0123456789ab")).is_ok());
        for bad in [None, Some(""), Some("a b"), Some("x\u{1}y")] {
            assert!(check_correlation_id(bad).is_err(), "{bad:?}");
        }
        let long = "c".repeat(MAX_CORRELATION_ID_LEN + 1);
        assert!(check_correlation_id(Some(&long)).is_err());
    }
}
