//! Request-reply over the broker (RocketMQ 4.6+ `DefaultMQProducer.request`, `MessageUtil
//! .createReplyMessage`, `ClientRemotingProcessor.receiveReplyMessage`).
//!
//! ```text
//! Producer::request ── SEND(CORRELATION_ID, REPLY_TO_CLIENT = our client id, TTL) ──▶ topic
//!        ▲                                                                          │
//!  ReplyFuture ◀── PendingRequests ◀── PUSH_REPLY_MESSAGE_TO_CLIENT (326) ◀── broker ◀┘
//!                                         (the responder's reply, MSG_TYPE=reply, code 325)
//! ```
//!
//! The requester registers the correlation id *before* sending (a fast responder's reply can
//! arrive before the send's own response) and heartbeats to the broker first, since the broker
//! finds the requester's connection through its producer heartbeat.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use ferromq_common::{names, now_millis};
use ferromq_proto::codes::response;
use ferromq_proto::headers::ReplyMessageRequestHeader;
use ferromq_proto::message::properties::{
    self as keys, ARRIVE_TIME, CLUSTER, CORRELATION_ID, MSG_TYPE, REPLY_MESSAGE_FLAG,
    REPLY_TO_CLIENT, TTL,
};
use ferromq_proto::message::{decode_properties, MessageExt};
use ferromq_proto::RemotingCommand;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::consumer::inflate;
use crate::{ClientError, Message};

/// Requests of one client instance waiting for their reply, by correlation id.
#[derive(Default)]
pub(crate) struct PendingRequests {
    waiting: Mutex<HashMap<String, oneshot::Sender<MessageExt>>>,
}

impl PendingRequests {
    /// Registers `id`; the receiver gets the reply.
    pub(crate) fn register(&self, id: &str) -> oneshot::Receiver<MessageExt> {
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().insert(id.to_owned(), tx);
        rx
    }

    /// Forgets `id` (timed out, failed or answered).
    pub(crate) fn remove(&self, id: &str) {
        self.waiting.lock().remove(id);
    }

    /// Hands a pushed reply to its waiting request. `Err` says why no one took it.
    pub(crate) fn complete(&self, reply: MessageExt) -> Result<(), String> {
        let Some(id) = reply.properties.get(CORRELATION_ID).map(str::to_owned) else {
            return Err(format!("the reply has no {CORRELATION_ID}"));
        };
        let Some(tx) = self.waiting.lock().remove(&id) else {
            return Err(format!(
                "no request is waiting for the reply with {CORRELATION_ID} {id} \
                 (it timed out, or was never sent by this client)"
            ));
        };
        tx.send(reply)
            .map_err(|_| format!("the request {id} stopped waiting for its reply"))
    }

    /// Requests waiting now.
    pub(crate) fn len(&self) -> usize {
        self.waiting.lock().len()
    }
}

/// Serves PUSH_REPLY_MESSAGE_TO_CLIENT: SUCCESS when a request took the reply, SYSTEM_ERROR
/// with the reason otherwise (unmatched, malformed). Java's client answers SUCCESS even for an
/// unmatched reply; saying so lets the broker tell the responder its reply went nowhere.
pub(crate) fn serve_push(pending: &PendingRequests, req: &RemotingCommand) -> RemotingCommand {
    let outcome = reply_from_push(req).and_then(|reply| pending.complete(reply));
    match outcome {
        Ok(()) => req.response_to(response::SUCCESS, None),
        Err(reason) => {
            tracing::debug!(%reason, "reply not taken");
            req.response_to(response::SYSTEM_ERROR, Some(reason))
        }
    }
}

/// Builds the reply message a 326 request carries: the header's fields, the body inflated when
/// the responder compressed it with zlib, and `ARRIVE_TIME` set to now.
pub(crate) fn reply_from_push(req: &RemotingCommand) -> Result<MessageExt, String> {
    let h: ReplyMessageRequestHeader = req
        .decode_header()
        .map_err(|e| format!("malformed reply header: {e}"))?;
    let addr = |s: &str| s.parse().map_err(|e| format!("bad address {s:?}: {e}"));
    let mut properties = decode_properties(h.properties.as_deref().unwrap_or(""));
    properties.insert(ARRIVE_TIME, now_millis().to_string());
    let mut reply = MessageExt {
        store_size: 0,
        magic: 0,
        body_crc: 0,
        queue_id: h.queue_id,
        flag: h.flag,
        queue_offset: 0,
        commit_log_offset: 0,
        sys_flag: h.sys_flag,
        born_timestamp: h.born_timestamp,
        born_host: addr(&h.born_host)?,
        store_timestamp: h.store_timestamp,
        store_host: addr(&h.store_host)?,
        reconsume_times: h.reconsume_times.unwrap_or(0),
        prepared_transaction_offset: 0,
        body: req.body.clone(),
        topic: h.topic.into_string(),
        properties,
    };
    // The same inflation as pulled messages get (zlib; other types are left as they are).
    inflate(&mut reply).map_err(|e| e.to_string())?;
    Ok(reply)
}

/// A fresh correlation id: a random UUID in its usual text form, as Java's `CorrelationIdUtil`.
pub(crate) fn new_correlation_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Marks `msg` as a request from `client_id` that waits `timeout` for its reply.
pub(crate) fn make_request(
    msg: Message,
    correlation_id: &str,
    client_id: &str,
    timeout: Duration,
) -> Message {
    msg.with_property(CORRELATION_ID, correlation_id)
        .with_property(REPLY_TO_CLIENT, client_id)
        .with_property(TTL, timeout.as_millis().to_string())
}

/// The reply to `request` carrying `body` (Java `MessageUtil.createReplyMessage`): sent to the
/// requester's cluster's `<cluster>_REPLY_TOPIC`, with `MSG_TYPE=reply` and the request's
/// `CORRELATION_ID`, `REPLY_TO_CLIENT` and `TTL`. Send it with any producer; the broker pushes it
/// to the requester. Errors when the request lacks `CLUSTER` (it did not come from a broker) or
/// is not a request.
pub fn create_reply(request: &MessageExt, body: impl Into<Bytes>) -> Result<Message, ClientError> {
    let props = &request.properties;
    let Some(cluster) = props.get(CLUSTER).filter(|c| !c.is_empty()) else {
        return Err(ClientError::InvalidArgument {
            reason: format!(
                "create reply message fail, requestMessage error, property[{CLUSTER}] is null."
            ),
        });
    };
    let mut reply =
        Message::new(names::reply_topic(cluster), body).with_property(MSG_TYPE, REPLY_MESSAGE_FLAG);
    for key in [CORRELATION_ID, REPLY_TO_CLIENT, TTL] {
        match props.get(key) {
            Some(v) => reply = reply.with_property(key, v),
            None if key == TTL => {}
            None => {
                return Err(ClientError::InvalidArgument {
                    reason: format!(
                        "create reply message fail: the message {} is not a request (no {key})",
                        request.msg_id()
                    ),
                })
            }
        }
    }
    Ok(reply)
}

/// True when `properties` mark a reply (sent with SEND_REPLY_MESSAGE_V2, 325).
pub(crate) fn is_reply(properties: &str) -> bool {
    keys::property_value(properties, MSG_TYPE) == Some(REPLY_MESSAGE_FLAG)
}

/// The reply to one [`crate::Producer::request_async`]: resolves to the reply message, or
/// [`ClientError::RequestTimeout`] when none arrived in time. Dropping it abandons the request.
pub struct ReplyFuture {
    inner: Pin<Box<dyn Future<Output = Result<MessageExt, ClientError>> + Send>>,
}

impl ReplyFuture {
    pub(crate) fn new(
        guard: Forget,
        rx: oneshot::Receiver<MessageExt>,
        topic: String,
        timeout: Duration,
        left: Duration,
    ) -> ReplyFuture {
        let inner = async move {
            let got = tokio::time::timeout(left, rx).await;
            drop(guard);
            match got {
                Ok(Ok(reply)) => Ok(reply),
                _ => Err(ClientError::RequestTimeout { topic, timeout }),
            }
        };
        ReplyFuture {
            inner: Box::pin(inner),
        }
    }
}

impl Future for ReplyFuture {
    type Output = Result<MessageExt, ClientError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

/// Removes a request's entry however its wait ends.
pub(crate) struct Forget {
    pub(crate) pending: Arc<PendingRequests>,
    pub(crate) id: String,
}

impl Drop for Forget {
    fn drop(&mut self) {
        self.pending.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_proto::codes::request;
    use ferromq_proto::message::encode_properties;

    fn push(props: &str, body: &'static [u8], sys: i32) -> RemotingCommand {
        let h = ReplyMessageRequestHeader {
            producer_group: "pg".into(),
            topic: "C_REPLY_TOPIC".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 0,
            sys_flag: sys,
            born_timestamp: 5,
            flag: 0,
            properties: Some(props.into()),
            reconsume_times: None,
            unit_mode: false,
            born_host: "127.0.0.1:4000".into(),
            store_host: "127.0.0.1:10911".into(),
            store_timestamp: 6,
        };
        RemotingCommand::request(request::PUSH_REPLY_MESSAGE_TO_CLIENT, &h)
            .with_body(Bytes::from_static(body))
    }

    #[test]
    fn a_pushed_reply_reaches_its_request_once() {
        let pending = PendingRequests::default();
        let mut rx = pending.register("c-1");
        let props = encode_properties(&[(CORRELATION_ID, "c-1"), (MSG_TYPE, "reply")]);
        let resp = serve_push(&pending, &push(&props, b"pong", 0));
        assert_eq!(resp.code, response::SUCCESS);
        let reply = rx.try_recv().unwrap();
        assert_eq!(&reply.body[..], b"pong");
        assert_eq!(reply.topic, "C_REPLY_TOPIC");
        assert!(reply.properties.get(ARRIVE_TIME).is_some());
        assert_eq!(pending.len(), 0);
        // The same reply again, or one nobody asked for, is refused with the reason.
        let again = serve_push(&pending, &push(&props, b"pong", 0));
        assert_eq!(again.code, response::SYSTEM_ERROR);
        assert!(again.remark.unwrap().contains("no request is waiting"));
    }

    #[test]
    fn malformed_pushes_are_refused() {
        let pending = PendingRequests::default();
        let mut bad = push("", b"x", 0);
        bad.ext_fields.remove("bornHost");
        assert_eq!(serve_push(&pending, &bad).code, response::SYSTEM_ERROR);
        let no_id = push("", b"x", 0);
        assert_eq!(serve_push(&pending, &no_id).code, response::SYSTEM_ERROR);
        let zlib_garbage = push("CORRELATION_ID\u{1}c\u{2}", b"not zlib", 0x1 | (3 << 8));
        assert_eq!(
            serve_push(&pending, &zlib_garbage).code,
            response::SYSTEM_ERROR
        );
    }

    #[test]
    fn replies_copy_the_request_keys_and_need_a_cluster() {
        let mut req = reply_from_push(&push("", b"", 0)).unwrap();
        req.properties = decode_properties(&encode_properties(&[
            (CLUSTER, "DefaultCluster"),
            (CORRELATION_ID, "c-9"),
            (REPLY_TO_CLIENT, "10.0.0.1@1"),
            (TTL, "3000"),
            ("other", "x"),
        ]));
        let reply = create_reply(&req, "ok").unwrap();
        assert_eq!(reply.topic, "DefaultCluster_REPLY_TOPIC");
        assert_eq!(reply.properties.get(MSG_TYPE), Some("reply"));
        assert_eq!(reply.properties.get(CORRELATION_ID), Some("c-9"));
        assert_eq!(reply.properties.get(TTL), Some("3000"));
        assert_eq!(reply.properties.get("other"), None);
        req.properties = decode_properties(&encode_properties(&[(CORRELATION_ID, "c")]));
        assert!(create_reply(&req, "ok").is_err());
    }

    #[test]
    fn correlation_ids_look_like_uuids() {
        let a = new_correlation_id();
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
        assert_ne!(a, new_correlation_id());
    }
}
