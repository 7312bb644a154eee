//! ACL 2.0 on the gRPC API: every RPC is authenticated and authorized against the broker's
//! users and ACLs (`authenticationEnabled` / `authorizationEnabled`, the same store and
//! counters as the remoting port) before [`Messaging`] serves it.
//!
//! v5 clients sign each call in its metadata (RocketMQ's `DefaultAuthenticationContextBuilder`
//! reads the same):
//!
//! ```text
//! x-mq-date-time: 20260101T120000Z
//! authorization:  MQv2-HMAC-SHA1 Credential=<user>, SignedHeaders=x-mq-date-time, Signature=<hex of HmacSHA1(password, x-mq-date-time)>
//! ```
//!
//! What each RPC needs (RocketMQ's `DefaultAuthorizationContextBuilder` for gRPC, plus the
//! offset RPCs, which RocketMQ's proxy leaves to authentication, checked as their remoting
//! counterparts are):
//!
//! | RPC | needs |
//! |---|---|
//! | SendMessage | Pub on each message's topic |
//! | EndTransaction, RecallMessage | Pub on the topic |
//! | QueryRoute | Pub or Sub on the topic |
//! | Heartbeat | of a consumer: Sub on the group |
//! | ReceiveMessage, AckMessage, ForwardMessageToDeadLetterQueue, QueryAssignment, PullMessage | Sub on the group and the topic |
//! | ChangeInvisibleDuration, NotifyClientTermination (with a group) | Sub on the group |
//! | UpdateOffset | Sub or Update on the group and the topic |
//! | GetOffset | Sub or Get on the group and the topic |
//! | QueryOffset | Sub or Get on the topic |
//! | Telemetry, SyncLiteSubscription | authentication only (the stream's settings are not authorized) |
//!
//! A refused call is answered with the RPC's own response and status UNAUTHORIZED (40100:
//! authentication) or FORBIDDEN (40300: authorization), whose message says what was refused.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use ferromq_broker::auth::model::{Action, Resource, ResourceType};
use ferromq_broker::auth::surface::Caller;
use ferromq_broker::{Broker, OnOpen};
use hmac::{Hmac, Mac};
use parking_lot::RwLock;
use tonic::{Request, Response, Status, Streaming};

use crate::convert::status;
use crate::pb::messaging_service_server::MessagingService;
use crate::pb::{self, Code};
use crate::service::Messaging;

/// Metadata key of the signature.
pub const AUTHORIZATION: &str = "authorization";
/// Metadata key of the signed date-time.
pub const DATE_TIME: &str = "x-mq-date-time";

type Needs = Result<Vec<(Resource, Vec<Action>)>, String>;

/// The broker whose users and ACLs are checked, set by the broker's open hook.
#[derive(Clone, Default)]
pub struct AuthSlot(Arc<RwLock<Option<Arc<Broker>>>>);

impl AuthSlot {
    /// `hook`, also keeping the broker it is given for the checks.
    pub fn chain(&self, hook: OnOpen) -> OnOpen {
        let slot = self.clone();
        Arc::new(move |broker: Option<Arc<Broker>>| {
            *slot.0.write() = broker.clone();
            hook(broker);
        })
    }
}

/// [`Messaging`] behind the ACL 2.0 checks.
pub struct Guarded {
    inner: Messaging,
    slot: AuthSlot,
}

impl Guarded {
    /// Checks every call to `inner` against the broker in `slot`.
    pub fn new(inner: Messaging, slot: AuthSlot) -> Self {
        Guarded { inner, slot }
    }

    /// `None`: go on; `Some(status)`: answer the call with it.
    fn refuse<T>(&self, request: &Request<T>, what: &str, needed: Needs) -> Option<pb::Status> {
        let broker = self.slot.0.read().clone()?;
        let auth = &broker.auth;
        if !auth.enabled() {
            return None;
        }
        let peer = request
            .remote_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
        let what = format!("{what} (gRPC)");
        let header = match Signed::from_metadata(request.metadata()) {
            Ok(h) => h,
            Err(reason) => {
                auth.refused(true, &what, peer, &reason);
                return Some(status(
                    Code::Unauthorized,
                    format!("Authentication refused {what} from {peer}: {reason}"),
                ));
            }
        };
        let signed = |password: &str| header.signed_with(password);
        auth.check_caller(
            peer,
            &what,
            &Caller {
                username: header.username.as_deref(),
                signed_with: &signed,
            },
            needed,
            false,
            false,
        )
        .err()
        .map(|r| {
            let code = if r.authentication {
                Code::Unauthorized
            } else {
                Code::Forbidden
            };
            status(code, r.message)
        })
    }
}

/// The signature of a call, from its metadata.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Signed {
    /// `Credential=` (up to a `/`); `None` when the call is not signed.
    pub username: Option<String>,
    /// `Signature=`, decoded from hex.
    pub signature: Vec<u8>,
    /// `x-mq-date-time`, the signed content.
    pub date_time: String,
}

impl Signed {
    /// Reads `authorization` and `x-mq-date-time`; `Err` says what is malformed.
    pub fn from_metadata(md: &tonic::metadata::MetadataMap) -> Result<Signed, String> {
        let text = |k: &str| -> Result<Option<String>, String> {
            match md.get(k) {
                None => Ok(None),
                Some(v) => v
                    .to_str()
                    .map(|s| Some(s.to_owned()))
                    .map_err(|_| format!("the `{k}` header is not text.")),
            }
        };
        let Some(authorization) = text(AUTHORIZATION)?.filter(|a| !a.is_empty()) else {
            return Ok(Signed::default());
        };
        let date_time = text(DATE_TIME)?
            .filter(|d| !d.is_empty())
            .ok_or("datetime is null (the x-mq-date-time header is missing).")?;
        Self::parse(&authorization, date_time)
    }

    /// Parses an `authorization` value as RocketMQ does: a scheme, a space, then
    /// `key=value` pairs separated by commas.
    pub fn parse(authorization: &str, date_time: String) -> Result<Signed, String> {
        let (_, pairs) = authorization
            .split_once(' ')
            .ok_or("authentication header is incorrect.")?;
        let mut out = Signed {
            date_time,
            ..Default::default()
        };
        for pair in pairs.split(',') {
            let (k, v) = pair
                .trim()
                .split_once('=')
                .ok_or("authentication keyValues length is incorrect.")?;
            match k {
                "Credential" => {
                    out.username = v.split('/').next().map(str::to_owned);
                }
                "Signature" => {
                    out.signature = hex(v).ok_or("the Signature is not hexadecimal.")?;
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Whether the signature is HmacSHA1(`password`, date-time).
    pub fn signed_with(&self, password: &str) -> bool {
        let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(password.as_bytes()) else {
            return false;
        };
        mac.update(self.date_time.as_bytes());
        mac.verify_slice(&self.signature).is_ok()
    }
}

fn hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn named<'a>(r: Option<&'a pb::Resource>, what: &str) -> Result<&'a str, String> {
    r.map(|r| r.name.as_str())
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| format!("{what} is null."))
}

fn topic(r: Option<&pb::Resource>, actions: &[Action]) -> Needs {
    Ok(vec![(
        Resource::of(ResourceType::Topic, named(r, "topic")?),
        actions.to_vec(),
    )])
}

fn group(r: Option<&pb::Resource>, actions: &[Action]) -> Needs {
    Ok(vec![(
        Resource::group(named(r, "group")?),
        actions.to_vec(),
    )])
}

fn group_and_topic(g: Option<&pb::Resource>, t: Option<&pb::Resource>, a: &[Action]) -> Needs {
    let mut v = group(g, a)?;
    v.extend(topic(t, a)?);
    Ok(v)
}

fn queue_topic(q: Option<&pb::MessageQueue>) -> Option<&pb::Resource> {
    q.and_then(|q| q.topic.as_ref())
}

/// What a SendMessage needs: Pub on every topic it sends to.
pub fn send_needs(r: &pb::SendMessageRequest) -> Needs {
    if r.messages.is_empty() {
        return Err("message is null.".into());
    }
    let mut out: Vec<(Resource, Vec<Action>)> = Vec::new();
    for m in &r.messages {
        for (res, a) in topic(m.topic.as_ref(), &[Action::Pub])? {
            if !out.iter().any(|(o, _)| o.key() == res.key()) {
                out.push((res, a));
            }
        }
    }
    Ok(out)
}

fn is_consumer(client_type: i32) -> bool {
    use pb::ClientType::*;
    matches!(
        pb::ClientType::try_from(client_type),
        Ok(PushConsumer | SimpleConsumer | PullConsumer | LitePushConsumer | LiteSimpleConsumer)
    )
}

type BoxStream<T> =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send + 'static>>;

fn one<T: Send + 'static>(item: T) -> BoxStream<T> {
    Box::pin(tokio_stream::iter(std::iter::once(Ok(item))))
}

#[tonic::async_trait]
impl MessagingService for Guarded {
    async fn query_route(
        &self,
        request: Request<pb::QueryRouteRequest>,
    ) -> Result<Response<pb::QueryRouteResponse>, Status> {
        let needs = topic(
            request.get_ref().topic.as_ref(),
            &[Action::Pub, Action::Sub],
        );
        if let Some(s) = self.refuse(&request, "QueryRoute", needs) {
            return Ok(Response::new(pb::QueryRouteResponse {
                status: Some(s),
                ..Default::default()
            }));
        }
        self.inner.query_route(request).await
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let r = request.get_ref();
        let needs = if is_consumer(r.client_type) {
            group(r.group.as_ref(), &[Action::Sub])
        } else {
            Ok(Vec::new())
        };
        if let Some(s) = self.refuse(&request, "Heartbeat", needs) {
            return Ok(Response::new(pb::HeartbeatResponse { status: Some(s) }));
        }
        self.inner.heartbeat(request).await
    }

    async fn send_message(
        &self,
        request: Request<pb::SendMessageRequest>,
    ) -> Result<Response<pb::SendMessageResponse>, Status> {
        let needs = send_needs(request.get_ref());
        if let Some(s) = self.refuse(&request, "SendMessage", needs) {
            return Ok(Response::new(pb::SendMessageResponse {
                status: Some(s),
                ..Default::default()
            }));
        }
        self.inner.send_message(request).await
    }

    async fn query_assignment(
        &self,
        request: Request<pb::QueryAssignmentRequest>,
    ) -> Result<Response<pb::QueryAssignmentResponse>, Status> {
        let r = request.get_ref();
        let needs = group_and_topic(r.group.as_ref(), r.topic.as_ref(), &[Action::Sub]);
        if let Some(s) = self.refuse(&request, "QueryAssignment", needs) {
            return Ok(Response::new(pb::QueryAssignmentResponse {
                status: Some(s),
                ..Default::default()
            }));
        }
        self.inner.query_assignment(request).await
    }

    type ReceiveMessageStream = BoxStream<pb::ReceiveMessageResponse>;

    async fn receive_message(
        &self,
        request: Request<pb::ReceiveMessageRequest>,
    ) -> Result<Response<Self::ReceiveMessageStream>, Status> {
        let r = request.get_ref();
        let needs = if r.message_queue.is_none() {
            Err("messageQueue is null.".to_owned())
        } else {
            group_and_topic(
                r.group.as_ref(),
                queue_topic(r.message_queue.as_ref()),
                &[Action::Sub],
            )
        };
        if let Some(s) = self.refuse(&request, "ReceiveMessage", needs) {
            return Ok(Response::new(one(pb::ReceiveMessageResponse {
                content: Some(pb::receive_message_response::Content::Status(s)),
            })));
        }
        self.inner.receive_message(request).await
    }

    async fn ack_message(
        &self,
        request: Request<pb::AckMessageRequest>,
    ) -> Result<Response<pb::AckMessageResponse>, Status> {
        let r = request.get_ref();
        let needs = group_and_topic(r.group.as_ref(), r.topic.as_ref(), &[Action::Sub]);
        if let Some(s) = self.refuse(&request, "AckMessage", needs) {
            return Ok(Response::new(pb::AckMessageResponse {
                status: Some(s),
                ..Default::default()
            }));
        }
        self.inner.ack_message(request).await
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        request: Request<pb::ForwardMessageToDeadLetterQueueRequest>,
    ) -> Result<Response<pb::ForwardMessageToDeadLetterQueueResponse>, Status> {
        let r = request.get_ref();
        let needs = group_and_topic(r.group.as_ref(), r.topic.as_ref(), &[Action::Sub]);
        if let Some(s) = self.refuse(&request, "ForwardMessageToDeadLetterQueue", needs) {
            return Ok(Response::new(pb::ForwardMessageToDeadLetterQueueResponse {
                status: Some(s),
            }));
        }
        self.inner
            .forward_message_to_dead_letter_queue(request)
            .await
    }

    type PullMessageStream = BoxStream<pb::PullMessageResponse>;

    async fn pull_message(
        &self,
        request: Request<pb::PullMessageRequest>,
    ) -> Result<Response<Self::PullMessageStream>, Status> {
        let r = request.get_ref();
        let needs = group_and_topic(
            r.group.as_ref(),
            queue_topic(r.message_queue.as_ref()),
            &[Action::Sub],
        );
        if let Some(s) = self.refuse(&request, "PullMessage", needs) {
            return Ok(Response::new(one(pb::PullMessageResponse {
                content: Some(pb::pull_message_response::Content::Status(s)),
            })));
        }
        self.inner.pull_message(request).await
    }

    async fn update_offset(
        &self,
        request: Request<pb::UpdateOffsetRequest>,
    ) -> Result<Response<pb::UpdateOffsetResponse>, Status> {
        let r = request.get_ref();
        let needs = group_and_topic(
            r.group.as_ref(),
            queue_topic(r.message_queue.as_ref()),
            &[Action::Sub, Action::Update],
        );
        if let Some(s) = self.refuse(&request, "UpdateOffset", needs) {
            return Ok(Response::new(pb::UpdateOffsetResponse { status: Some(s) }));
        }
        self.inner.update_offset(request).await
    }

    async fn get_offset(
        &self,
        request: Request<pb::GetOffsetRequest>,
    ) -> Result<Response<pb::GetOffsetResponse>, Status> {
        let r = request.get_ref();
        let needs = group_and_topic(
            r.group.as_ref(),
            queue_topic(r.message_queue.as_ref()),
            &[Action::Sub, Action::Get],
        );
        if let Some(s) = self.refuse(&request, "GetOffset", needs) {
            return Ok(Response::new(pb::GetOffsetResponse {
                status: Some(s),
                ..Default::default()
            }));
        }
        self.inner.get_offset(request).await
    }

    async fn query_offset(
        &self,
        request: Request<pb::QueryOffsetRequest>,
    ) -> Result<Response<pb::QueryOffsetResponse>, Status> {
        let needs = topic(
            queue_topic(request.get_ref().message_queue.as_ref()),
            &[Action::Sub, Action::Get],
        );
        if let Some(s) = self.refuse(&request, "QueryOffset", needs) {
            return Ok(Response::new(pb::QueryOffsetResponse {
                status: Some(s),
                ..Default::default()
            }));
        }
        self.inner.query_offset(request).await
    }

    async fn end_transaction(
        &self,
        request: Request<pb::EndTransactionRequest>,
    ) -> Result<Response<pb::EndTransactionResponse>, Status> {
        let needs = topic(request.get_ref().topic.as_ref(), &[Action::Pub]);
        if let Some(s) = self.refuse(&request, "EndTransaction", needs) {
            return Ok(Response::new(pb::EndTransactionResponse {
                status: Some(s),
            }));
        }
        self.inner.end_transaction(request).await
    }

    type TelemetryStream = BoxStream<pb::TelemetryCommand>;

    async fn telemetry(
        &self,
        request: Request<Streaming<pb::TelemetryCommand>>,
    ) -> Result<Response<Self::TelemetryStream>, Status> {
        if let Some(s) = self.refuse(&request, "Telemetry", Ok(Vec::new())) {
            return Ok(Response::new(one(pb::TelemetryCommand {
                status: Some(s),
                command: None,
            })));
        }
        self.inner.telemetry(request).await
    }

    async fn notify_client_termination(
        &self,
        request: Request<pb::NotifyClientTerminationRequest>,
    ) -> Result<Response<pb::NotifyClientTerminationResponse>, Status> {
        let g = request.get_ref().group.as_ref();
        let needs = match g.filter(|g| !g.name.trim().is_empty()) {
            Some(_) => group(g, &[Action::Sub]),
            None => Ok(Vec::new()),
        };
        if let Some(s) = self.refuse(&request, "NotifyClientTermination", needs) {
            return Ok(Response::new(pb::NotifyClientTerminationResponse {
                status: Some(s),
            }));
        }
        self.inner.notify_client_termination(request).await
    }

    async fn change_invisible_duration(
        &self,
        request: Request<pb::ChangeInvisibleDurationRequest>,
    ) -> Result<Response<pb::ChangeInvisibleDurationResponse>, Status> {
        let needs = group(request.get_ref().group.as_ref(), &[Action::Sub]);
        if let Some(s) = self.refuse(&request, "ChangeInvisibleDuration", needs) {
            return Ok(Response::new(pb::ChangeInvisibleDurationResponse {
                status: Some(s),
                ..Default::default()
            }));
        }
        self.inner.change_invisible_duration(request).await
    }

    async fn recall_message(
        &self,
        request: Request<pb::RecallMessageRequest>,
    ) -> Result<Response<pb::RecallMessageResponse>, Status> {
        let needs = topic(request.get_ref().topic.as_ref(), &[Action::Pub]);
        if let Some(s) = self.refuse(&request, "RecallMessage", needs) {
            return Ok(Response::new(pb::RecallMessageResponse {
                status: Some(s),
                ..Default::default()
            }));
        }
        self.inner.recall_message(request).await
    }

    async fn sync_lite_subscription(
        &self,
        request: Request<pb::SyncLiteSubscriptionRequest>,
    ) -> Result<Response<pb::SyncLiteSubscriptionResponse>, Status> {
        if let Some(s) = self.refuse(&request, "SyncLiteSubscription", Ok(Vec::new())) {
            return Ok(Response::new(pb::SyncLiteSubscriptionResponse {
                status: Some(s),
            }));
        }
        self.inner.sync_lite_subscription(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HmacSHA1("secret", "20240101T000000Z"), in hex, as the Python client computes it.
    fn python_signature(secret: &str, date: &str) -> String {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(date.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn authorization_header_parses_and_verifies() {
        let date = "20240101T000000Z";
        let header = format!(
            "MQv2-HMAC-SHA1 Credential=alice, SignedHeaders=x-mq-date-time, Signature={}",
            python_signature("alice-pw", date)
        );
        let s = Signed::parse(&header, date.into()).unwrap();
        assert_eq!(s.username.as_deref(), Some("alice"));
        assert!(s.signed_with("alice-pw"));
        assert!(!s.signed_with("wrong"));
        // Another date-time, same signature: refused.
        let replay = Signed::parse(&header, "20240101T000001Z".into()).unwrap();
        assert!(!replay.signed_with("alice-pw"));
        assert!(Signed::parse("nospace", date.into()).is_err());
        assert!(Signed::parse("MQv2-HMAC-SHA1 Credential", date.into()).is_err());
        assert!(Signed::parse("MQv2-HMAC-SHA1 Signature=zz", date.into()).is_err());
        // A credential with a scope keeps the user part.
        let s = Signed::parse("X Credential=bob/2024/x, Signature=00", date.into()).unwrap();
        assert_eq!(s.username.as_deref(), Some("bob"));
    }

    #[test]
    fn rpcs_need_what_rocketmq_asks() {
        let res = |n: &str| pb::Resource {
            name: n.into(),
            ..Default::default()
        };
        let send = pb::SendMessageRequest {
            messages: vec![
                pb::Message {
                    topic: Some(res("A")),
                    ..Default::default()
                },
                pb::Message {
                    topic: Some(res("A")),
                    ..Default::default()
                },
            ],
        };
        let keys: Vec<String> = send_needs(&send)
            .unwrap()
            .iter()
            .map(|(r, _)| r.key())
            .collect();
        assert_eq!(keys, vec!["Topic:A".to_owned()]);
        assert!(send_needs(&pb::SendMessageRequest::default()).is_err());
        let v = group_and_topic(Some(&res("G")), Some(&res("T")), &[Action::Sub]).unwrap();
        assert_eq!(v[0].0.key(), "Group:G");
        assert_eq!(v[1].0.key(), "Topic:T");
        assert!(group(None, &[Action::Sub]).is_err());
        assert!(is_consumer(pb::ClientType::SimpleConsumer as i32));
        assert!(!is_consumer(pb::ClientType::Producer as i32));
    }
}
