//! `PullConsumer`: explicit pulls by queue and offset, offset queries and commits, and the
//! heartbeat that makes the broker know the group (Java `DefaultMQPullConsumer`, simplified).
//!
//! ```text
//! fetch_queues(topic) ─▶ readable queues ─▶ pull(mq, offset, max) ─▶ PULL_MESSAGE (11)
//!                                             │ 0 FOUND / 19 NO_NEW_MSG / 20 NO_MATCHED_MSG / 21 OFFSET_ILLEGAL
//!                                             ▼
//!                         stored records ─▶ MessageExt (decompressed, MIN/MAX_OFFSET, tags re-checked)
//! ```

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use ferromq_common::{java_string_hash, names, now_millis};
use ferromq_proto::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, ExpressionType, HeartbeatData, JsonBody,
    MessageModel, MessageQueue, SubscriptionData,
};
use ferromq_proto::codes::{request, response};
use ferromq_proto::header::NoHeader;
use ferromq_proto::headers::{
    pull_flag, GetEarliestMsgStoretimeResponseHeader, GetMaxOffsetRequestHeader,
    OffsetResponseHeader, PullMessageRequestHeader, PullMessageResponseHeader,
    QueryConsumerOffsetRequestHeader, SearchOffsetRequestHeader, TopicQueueRequestHeader,
    UnregisterClientRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use ferromq_proto::message::properties as keys;
use ferromq_proto::message::{decode_records, sys_flag, MessageExt};
use ferromq_proto::RemotingCommand;
use parking_lot::Mutex;

use crate::route::{subscribe_queues, RouteCache};
use crate::rpc::{decode_header, expect_success, Credentials, Rpc};
use crate::{client_id, ClientError, NameServerList};

/// Java's pull timeout (`consumerPullTimeoutMillis`).
pub const DEFAULT_PULL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the broker holds a blocking pull (`brokerSuspendMaxTimeMillis`).
pub const BROKER_SUSPEND: Duration = Duration::from_secs(20);
/// Client deadline of a blocking pull (`consumerTimeoutMillisWhenSuspend`).
pub const SUSPEND_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Java's heartbeat period.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);

/// What a pull found (Java `PullStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    /// Messages were returned.
    Found,
    /// Nothing at or after the offset yet.
    NoNewMsg,
    /// Messages were scanned but none matched the subscription.
    NoMatchedMsg,
    /// The offset is outside the queue; continue from `next_begin_offset`.
    OffsetIllegal,
}

impl PullStatus {
    /// The status of a pull response code; `None` for codes that are errors.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            response::SUCCESS => Some(PullStatus::Found),
            response::PULL_NOT_FOUND => Some(PullStatus::NoNewMsg),
            response::PULL_RETRY_IMMEDIATELY => Some(PullStatus::NoMatchedMsg),
            response::PULL_OFFSET_MOVED => Some(PullStatus::OffsetIllegal),
            _ => None,
        }
    }
}

/// The outcome of one pull.
#[derive(Debug, Clone)]
pub struct PullResult {
    /// What was found.
    pub status: PullStatus,
    /// Where the next pull should start.
    pub next_begin_offset: i64,
    /// The queue's first valid offset.
    pub min_offset: i64,
    /// The queue's next offset to be written.
    pub max_offset: i64,
    /// The messages, bodies decompressed (empty unless `status` is `Found`).
    pub messages: Vec<MessageExt>,
    /// The broker says the queue has priority lanes (`priorityLanes`, see [`crate::priority`]).
    pub priority_lanes: bool,
}

/// How a subscription selects the messages of its topic (Java `MessageSelector`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageSelector {
    /// Tags: `*` for all, or `TagA || TagB`.
    Tag(String),
    /// A SQL92 expression over the message's properties and `TAGS`, evaluated on the broker
    /// (which needs `enablePropertyFilter=true`), e.g. `a > 5 AND TAGS IN ('A', 'B')`.
    Sql92(String),
}

impl MessageSelector {
    /// A tag expression.
    pub fn by_tag(expression: impl Into<String>) -> Self {
        MessageSelector::Tag(expression.into())
    }

    /// A SQL92 expression.
    pub fn by_sql(expression: impl Into<String>) -> Self {
        MessageSelector::Sql92(expression.into())
    }
}

/// The subscription `selector` makes for `topic`. A SQL92 expression is compiled here first,
/// so one that would not parse is refused at once ([`ClientError::InvalidArgument`] with the
/// parse error) rather than by every pull.
pub fn build_subscription_with(
    topic: &str,
    selector: &MessageSelector,
) -> Result<SubscriptionData, ClientError> {
    match selector {
        MessageSelector::Tag(expr) => Ok(build_subscription(topic, expr)),
        MessageSelector::Sql92(expr) => {
            ferromq_filter::Filter::compile(expr).map_err(|e| ClientError::InvalidArgument {
                reason: format!("the SQL92 expression `{expr}` does not parse: {e}"),
            })?;
            Ok(SubscriptionData {
                topic: topic.to_owned(),
                sub_string: expr.trim().to_owned(),
                sub_version: now_millis(),
                expression_type: ExpressionType::Sql92,
                ..Default::default()
            })
        }
    }
}

/// CHECK_CLIENT_CONFIG (46) of a SQL92 subscription to the broker at `addr` (Java
/// `checkClientInBroker`): refused when the broker does not filter by SQL92 or cannot parse
/// the expression.
pub(crate) async fn check_client_config(
    rpc: &crate::Rpc,
    addr: &str,
    client_id: &str,
    group: &str,
    sub: &SubscriptionData,
) -> Result<(), ClientError> {
    let body = ferromq_proto::body::CheckClientRequestBody {
        client_id: client_id.to_owned(),
        group: group.to_owned(),
        namespace: None,
        subscription_data: sub.clone(),
    };
    let cmd = RemotingCommand::request(
        ferromq_proto::codes::request::CHECK_CLIENT_CONFIG,
        &ferromq_proto::header::NoHeader,
    )
    .with_body(ferromq_proto::body::JsonBody::to_json(&body));
    rpc.call_ok(addr, cmd).await.map(drop)
}

/// A subscription expression parsed as Java's `FilterAPI.buildSubscriptionData` does.
pub fn build_subscription(topic: &str, expression: &str) -> SubscriptionData {
    let expr = expression.trim();
    let mut data = SubscriptionData {
        topic: topic.to_owned(),
        sub_string: if expr.is_empty() {
            "*".to_owned()
        } else {
            expr.to_owned()
        },
        sub_version: now_millis(),
        expression_type: ExpressionType::Tag,
        ..Default::default()
    };
    if data.sub_string != "*" {
        for tag in data
            .sub_string
            .split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            data.tags_set.insert(tag.to_owned());
            data.code_set.insert(java_string_hash(tag));
        }
    }
    data
}

/// Turns a pull response into a result (Java `processPullResponse` + `processPullResult`).
///
/// Found records are decoded, zlib bodies inflated, `MIN_OFFSET`/`MAX_OFFSET` added, and
/// messages whose tag is not in `tags` dropped (the broker filters by hash only); when that leaves
/// nothing the status becomes `NoMatchedMsg`.
pub fn pull_result_from_response(
    resp: RemotingCommand,
    tags: &[String],
) -> Result<PullResult, ClientError> {
    let Some(mut status) = PullStatus::from_code(resp.code) else {
        return Err(ClientError::from_response(&resp));
    };
    let header: PullMessageResponseHeader = decode_header(&resp, "PULL_MESSAGE")?;
    let priority_lanes = resp
        .ext_fields
        .get(ferromq_proto::priority::PULL_LANES_FIELD)
        .is_some_and(|v| v == "true");
    let mut messages = Vec::new();
    if status == PullStatus::Found {
        let records = decode_records(resp.body).map_err(|e| ClientError::Records {
            reason: e.to_string(),
        })?;
        for mut m in records {
            if !tags.is_empty() && !m.tags().is_some_and(|t| tags.iter().any(|x| x == t)) {
                continue;
            }
            inflate(&mut m)?;
            m.properties
                .insert(keys::MIN_OFFSET, header.min_offset.to_string());
            m.properties
                .insert(keys::MAX_OFFSET, header.max_offset.to_string());
            messages.push(m);
        }
        if messages.is_empty() {
            status = PullStatus::NoMatchedMsg;
        }
    }
    Ok(PullResult {
        status,
        next_begin_offset: header.next_begin_offset,
        min_offset: header.min_offset,
        max_offset: header.max_offset,
        messages,
        priority_lanes,
    })
}

/// Inflates a zlib-compressed body and clears the compression bits (other compression types
/// are left as they are, flag included).
pub(crate) fn inflate(m: &mut MessageExt) -> Result<(), ClientError> {
    if sys_flag::compression_type(m.sys_flag) != 3 {
        return Ok(());
    }
    let mut out = Vec::with_capacity(m.body.len() * 2);
    flate2::read::ZlibDecoder::new(&m.body[..])
        .read_to_end(&mut out)
        .map_err(|e| ClientError::Records {
            reason: format!("cannot inflate the body of {}: {e}", m.msg_id()),
        })?;
    m.body = Bytes::from(out);
    m.sys_flag &= !(sys_flag::COMPRESSED | sys_flag::COMPRESSION_TYPE_MASK);
    Ok(())
}

/// Settings of a [`PullConsumer`].
#[derive(Debug, Clone)]
pub struct PullConsumerBuilder {
    group: String,
    namesrv: Option<String>,
    timeout: Duration,
    credentials: Option<Credentials>,
    tls: Option<crate::TlsClient>,
}

impl PullConsumerBuilder {
    /// Connects to name servers and brokers with TLS (see [`crate::TlsClient`]: verify with a
    /// CA file, or skip verification for self-signed test certificates). Clients sharing an
    /// instance name connect as the first one built.
    pub fn tls(mut self, tls: crate::TlsClient) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Signs every request with an ACL account of the brokers (`plain_acl.yml`'s `accessKey`
    /// and `secretKey`), as Java's `AclClientRPCHook` does. Clients sharing an instance name
    /// share the credentials of the first one built.
    pub fn credentials(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials::new(access_key, secret_key));
        self
    }

    /// Name-server list (`a:9876;b:9876`); `NAMESRV_ADDR` when not set.
    pub fn namesrv_addr(mut self, addr: impl Into<String>) -> Self {
        self.namesrv = Some(addr.into());
        self
    }

    /// Deadline of non-blocking calls (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the consumer. Fails on an invalid group name or when no name server is known.
    pub fn build(self) -> Result<PullConsumer, ClientError> {
        names::validate_group(&self.group)?;
        let namesrv = NameServerList::resolve(self.namesrv.as_deref())?;
        let ip = client_id::local_ip_for(&namesrv.addrs()[0]);
        let rpc = Rpc::with_remoting(
            ferromq_net::RemotingClient::default().with_tls(self.tls),
            namesrv,
            self.timeout,
        )
        .with_credentials(self.credentials);
        Ok(PullConsumer {
            inner: Arc::new(Inner {
                client_id: client_id::build_client_id(ip, &client_id::default_instance_name()),
                routes: RouteCache::new(rpc.clone()),
                rpc,
                group: self.group,
                subscriptions: Mutex::default(),
            }),
        })
    }
}

struct Inner {
    group: String,
    client_id: String,
    rpc: Rpc,
    routes: RouteCache,
    subscriptions: Mutex<BTreeMap<String, SubscriptionData>>,
}

/// A pull consumer; cheap to clone.
#[derive(Clone)]
pub struct PullConsumer {
    inner: Arc<Inner>,
}

impl PullConsumer {
    /// Settings for a consumer of `group`.
    pub fn builder(group: impl Into<String>) -> PullConsumerBuilder {
        PullConsumerBuilder {
            group: group.into(),
            namesrv: None,
            timeout: DEFAULT_PULL_TIMEOUT,
            credentials: None,
            tls: None,
        }
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.inner.group
    }

    /// This client's id (`ip@pid#nanos`), as brokers list it.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// Subscribes the group to `topic` with a tag expression (`*`, `TagA || TagB`); the
    /// subscription is what heartbeats report and what [`PullConsumer::pull`] filters by.
    pub fn subscribe(&self, topic: &str, expression: &str) -> Result<(), ClientError> {
        names::validate_topic(topic)?;
        self.inner
            .subscriptions
            .lock()
            .insert(topic.to_owned(), build_subscription(topic, expression));
        Ok(())
    }

    /// The readable queues of `topic` on every broker.
    pub async fn fetch_queues(&self, topic: &str) -> Result<Vec<MessageQueue>, ClientError> {
        let (route, _) = self.inner.routes.refresh(topic).await?;
        Ok(subscribe_queues(topic, &route))
    }

    /// Pulls up to `max` messages from `mq` starting at `offset`, with the topic's subscription
    /// (every tag when not subscribed). Returns at once when there is nothing.
    pub async fn pull(
        &self,
        mq: &MessageQueue,
        offset: i64,
        max: i32,
    ) -> Result<PullResult, ClientError> {
        let sub = self.subscription_of(&mq.topic, None);
        self.pull_impl(mq, &sub, offset, max, false).await
    }

    /// [`PullConsumer::pull`] with an explicit tag expression.
    pub async fn pull_with_filter(
        &self,
        mq: &MessageQueue,
        expression: &str,
        offset: i64,
        max: i32,
    ) -> Result<PullResult, ClientError> {
        let sub = self.subscription_of(&mq.topic, Some(expression));
        self.pull_impl(mq, &sub, offset, max, false).await
    }

    /// Like [`PullConsumer::pull`], but the broker holds the request (up to 20 s) until a message
    /// arrives (Java `pullBlockIfNotFound`).
    pub async fn pull_block_if_not_found(
        &self,
        mq: &MessageQueue,
        offset: i64,
        max: i32,
    ) -> Result<PullResult, ClientError> {
        let sub = self.subscription_of(&mq.topic, None);
        self.pull_impl(mq, &sub, offset, max, true).await
    }

    fn subscription_of(&self, topic: &str, expression: Option<&str>) -> SubscriptionData {
        match expression {
            Some(e) => build_subscription(topic, e),
            None => self
                .inner
                .subscriptions
                .lock()
                .get(topic)
                .cloned()
                .unwrap_or_else(|| build_subscription(topic, "*")),
        }
    }

    async fn pull_impl(
        &self,
        mq: &MessageQueue,
        sub: &SubscriptionData,
        offset: i64,
        max: i32,
        block: bool,
    ) -> Result<PullResult, ClientError> {
        let addr = self
            .inner
            .routes
            .broker_addr(&mq.topic, &mq.broker_name, false)
            .await?;
        let mut flags = pull_flag::SUBSCRIPTION;
        if block {
            flags |= pull_flag::SUSPEND;
        }
        let header = PullMessageRequestHeader {
            consumer_group: self.inner.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: max,
            sys_flag: flags,
            commit_offset: 0,
            suspend_timeout_millis: BROKER_SUSPEND.as_millis() as i64,
            subscription: Some(sub.sub_string.clone()),
            sub_version: sub.sub_version,
            expression_type: Some(sub.expression_type.as_str().to_owned()),
            max_msg_bytes: None,
        };
        let cmd = RemotingCommand::request(request::PULL_MESSAGE, &header);
        let timeout = if block {
            SUSPEND_CALL_TIMEOUT
        } else {
            self.inner.rpc.timeout()
        };
        let resp = self.inner.rpc.call_timeout(&addr, cmd, timeout).await?;
        let tags: Vec<String> = sub.tags_set.iter().cloned().collect();
        pull_result_from_response(resp, &tags)
    }

    /// QUERY_CONSUMER_OFFSET: the offset `group` committed for `mq`, `None` when there is none.
    pub async fn query_offset(
        &self,
        group: &str,
        mq: &MessageQueue,
    ) -> Result<Option<i64>, ClientError> {
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            set_zero_if_not_found: None,
        };
        let resp = self
            // The master, or a slave while there is none (Java `findBrokerAddressInSubscribe`).
            .broker_call(
                mq,
                false,
                RemotingCommand::request(request::QUERY_CONSUMER_OFFSET, &header),
            )
            .await?;
        if resp.code == response::QUERY_NOT_FOUND {
            return Ok(None);
        }
        Ok(Some(offset_of(
            expect_success(resp)?,
            "QUERY_CONSUMER_OFFSET",
        )?))
    }

    /// UPDATE_CONSUMER_OFFSET (synchronously, so failures are seen): commits `offset` for
    /// `group` on `mq`.
    pub async fn update_offset(
        &self,
        group: &str,
        mq: &MessageQueue,
        offset: i64,
    ) -> Result<(), ClientError> {
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            commit_offset: offset,
        };
        let resp = self
            .broker_call(
                mq,
                false,
                RemotingCommand::request(request::UPDATE_CONSUMER_OFFSET, &header),
            )
            .await?;
        expect_success(resp).map(drop)
    }

    /// GET_MAX_OFFSET: the next offset to be written in `mq`.
    pub async fn max_offset(&self, mq: &MessageQueue) -> Result<i64, ClientError> {
        let header = GetMaxOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            committed: Some(true),
        };
        let resp = self
            .broker_call(
                mq,
                false,
                RemotingCommand::request(request::GET_MAX_OFFSET, &header),
            )
            .await?;
        offset_of(expect_success(resp)?, "GET_MAX_OFFSET")
    }

    /// GET_MIN_OFFSET: the first valid offset of `mq`.
    pub async fn min_offset(&self, mq: &MessageQueue) -> Result<i64, ClientError> {
        let resp = self.queue_call(mq, request::GET_MIN_OFFSET).await?;
        offset_of(expect_success(resp)?, "GET_MIN_OFFSET")
    }

    /// A request of `code` with just the topic and queue id of `mq`, to any broker of its name.
    async fn queue_call(
        &self,
        mq: &MessageQueue,
        code: i32,
    ) -> Result<RemotingCommand, ClientError> {
        let header = TopicQueueRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
        };
        self.broker_call(mq, false, RemotingCommand::request(code, &header))
            .await
    }

    /// GET_EARLIEST_MSG_STORETIME: the store time (ms) of the first message still kept in `mq`;
    /// -1 when the queue holds none.
    pub async fn earliest_msg_store_time(&self, mq: &MessageQueue) -> Result<i64, ClientError> {
        let resp = self
            .queue_call(mq, request::GET_EARLIEST_MSG_STORETIME)
            .await?;
        let h = decode_header::<GetEarliestMsgStoretimeResponseHeader>(
            &expect_success(resp)?,
            "GET_EARLIEST_MSG_STORETIME",
        )?;
        Ok(h.timestamp)
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP: the first offset whose store time is at or after
    /// `timestamp_ms` (the max offset when there is none).
    pub async fn search_offset(
        &self,
        mq: &MessageQueue,
        timestamp_ms: i64,
    ) -> Result<i64, ClientError> {
        let header = SearchOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            timestamp: timestamp_ms,
            boundary_type: None,
        };
        let resp = self
            .broker_call(
                mq,
                false,
                RemotingCommand::request(request::SEARCH_OFFSET_BY_TIMESTAMP, &header),
            )
            .await?;
        offset_of(expect_success(resp)?, "SEARCH_OFFSET_BY_TIMESTAMP")
    }

    async fn broker_call(
        &self,
        mq: &MessageQueue,
        master: bool,
        cmd: RemotingCommand,
    ) -> Result<RemotingCommand, ClientError> {
        let addr = self
            .inner
            .routes
            .broker_addr(&mq.topic, &mq.broker_name, master)
            .await?;
        self.inner.rpc.call(&addr, cmd).await
    }

    /// The HEART_BEAT body this consumer sends: one pull-mode, clustering consumer of the group
    /// with its subscriptions.
    pub fn heartbeat_data(&self) -> HeartbeatData {
        let subs = self.inner.subscriptions.lock().values().cloned().collect();
        HeartbeatData {
            client_id: self.inner.client_id.clone(),
            consumer_data_set: vec![ConsumerData {
                consume_from_where: ConsumeFromWhere::LastOffset,
                consume_type: ConsumeType::Actively,
                group_name: self.inner.group.clone(),
                message_model: MessageModel::Clustering,
                subscription_data_set: subs,
                unit_mode: false,
            }],
            ..Default::default()
        }
    }

    /// Sends HEART_BEAT to every broker address of the subscribed topics (and of topics whose
    /// queues were fetched), so the brokers know the group, create its `%RETRY%` topic and list
    /// this client. Returns how many brokers acknowledged; fails only when none did and at least
    /// one was tried.
    pub async fn heartbeat(&self) -> Result<usize, ClientError> {
        let topics: Vec<String> = self.inner.subscriptions.lock().keys().cloned().collect();
        for topic in &topics {
            if let Err(e) = self.inner.routes.route(topic).await {
                tracing::debug!(%topic, error = %e, "no route for a subscribed topic");
            }
        }
        let body = self.heartbeat_data().to_json();
        let mut ok = 0;
        let mut last = None;
        for addr in self.inner.routes.cached_master_addrs() {
            let cmd =
                RemotingCommand::request(request::HEART_BEAT, &NoHeader).with_body(body.clone());
            match self.inner.rpc.call_ok(&addr, cmd).await {
                Ok(_) => ok += 1,
                Err(e) => last = Some(e),
            }
        }
        match last {
            Some(e) if ok == 0 => Err(e),
            _ => Ok(ok),
        }
    }

    /// Sends heartbeats every `interval` in a background task until the last handle of this
    /// consumer is dropped.
    pub fn spawn_heartbeat(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let consumer = PullConsumer { inner };
                if let Err(e) = consumer.heartbeat().await {
                    tracing::warn!(group = %consumer.group(), error = %e, "heartbeat failed");
                }
            }
        })
    }

    /// Sends UNREGISTER_CLIENT to the brokers this consumer talked to, so they drop it from the
    /// group at once instead of after the 120 s expiry.
    pub async fn shutdown(&self) {
        let header = UnregisterClientRequestHeader {
            client_id: self.inner.client_id.clone(),
            producer_group: None,
            consumer_group: Some(self.inner.group.clone()),
        };
        for addr in self.inner.routes.cached_master_addrs() {
            let cmd = RemotingCommand::request(request::UNREGISTER_CLIENT, &header);
            if let Err(e) = self.inner.rpc.call_ok(&addr, cmd).await {
                tracing::debug!(broker = %addr, error = %e, "unregister failed");
            }
        }
    }
}

fn offset_of(resp: RemotingCommand, what: &'static str) -> Result<i64, ClientError> {
    Ok(decode_header::<OffsetResponseHeader>(&resp, what)?.offset)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use bytes::BytesMut;
    use ferromq_proto::message::{encode_record_to, RecordInput};

    use super::*;

    fn record(queue_offset: i64, body: &[u8], sys_flag: i32, props: &str) -> Bytes {
        let input = RecordInput {
            topic: "T",
            queue_id: 0,
            flag: 0,
            queue_offset,
            physical_offset: 100 * queue_offset,
            sys_flag,
            born_timestamp: 1,
            born_host: "127.0.0.1:5000".parse().unwrap(),
            store_timestamp: 2,
            store_host: "127.0.0.1:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body,
            properties: props,
            body_crc: None,
        };
        let mut buf = BytesMut::new();
        encode_record_to(&mut buf, &input).unwrap();
        buf.freeze()
    }

    fn response(code: i32, body: Bytes) -> RemotingCommand {
        let header = PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: 7,
            min_offset: 0,
            max_offset: 9,
            ..Default::default()
        };
        RemotingCommand::bare_request(11)
            .response_to(code, None)
            .with_header(&header)
            .with_body(body)
    }

    #[test]
    fn codes_map_to_statuses() {
        for (code, status) in [
            (19, PullStatus::NoNewMsg),
            (20, PullStatus::NoMatchedMsg),
            (21, PullStatus::OffsetIllegal),
        ] {
            let r = pull_result_from_response(response(code, Bytes::new()), &[]).unwrap();
            assert_eq!(r.status, status);
            assert_eq!((r.next_begin_offset, r.min_offset, r.max_offset), (7, 0, 9));
            assert!(r.messages.is_empty());
        }
        let err = pull_result_from_response(response(24, Bytes::new()), &[]).unwrap_err();
        assert!(matches!(err, ClientError::Broker { code: 24, .. }));
    }

    #[test]
    fn found_records_are_decoded_inflated_and_tag_filtered() {
        let mut zipped = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(5));
        zipped.write_all(b"hello world").unwrap();
        let zipped = zipped.finish().unwrap();
        let mut body = BytesMut::new();
        body.extend_from_slice(&record(5, b"a", 0, "TAGS\u{1}TagA\u{2}"));
        body.extend_from_slice(&record(6, &zipped, 0x301, "TAGS\u{1}TagB\u{2}"));
        let body = body.freeze();

        let all = pull_result_from_response(response(0, body.clone()), &[]).unwrap();
        assert_eq!(all.status, PullStatus::Found);
        assert_eq!(all.messages.len(), 2);
        assert_eq!(&all.messages[1].body[..], b"hello world");
        assert_eq!(all.messages[1].sys_flag, 0);
        assert_eq!(all.messages[0].properties.get("MAX_OFFSET"), Some("9"));
        assert_eq!(all.messages[0].queue_offset, 5);

        let only_b =
            pull_result_from_response(response(0, body.clone()), &["TagB".into()]).unwrap();
        assert_eq!(only_b.messages.len(), 1);
        assert_eq!(only_b.messages[0].tags(), Some("TagB"));

        let none = pull_result_from_response(response(0, body), &["TagC".into()]).unwrap();
        assert_eq!(none.status, PullStatus::NoMatchedMsg);
    }

    #[test]
    fn truncated_records_are_an_error() {
        let r = record(1, b"abc", 0, "");
        let err = pull_result_from_response(response(0, r.slice(..r.len() - 1)), &[]).unwrap_err();
        assert!(matches!(err, ClientError::Records { .. }));
    }

    #[test]
    fn subscription_expressions_parse_like_filter_api() {
        let all = build_subscription("T", "");
        assert_eq!(all.sub_string, "*");
        assert!(all.tags_set.is_empty() && all.code_set.is_empty());
        let two = build_subscription("T", " TagA || TagB ||");
        assert_eq!(
            two.tags_set.iter().map(String::as_str).collect::<Vec<_>>(),
            ["TagA", "TagB"]
        );
        assert!(two.code_set.contains(&2_598_919));
        assert_eq!(two.expression_type, ExpressionType::Tag);
    }

    #[test]
    fn heartbeat_reports_a_pull_consumer_with_its_subscriptions() {
        let c = PullConsumer::builder("cg")
            .namesrv_addr("127.0.0.1:1")
            .build()
            .unwrap();
        c.subscribe("T", "TagA").unwrap();
        let hb = c.heartbeat_data();
        assert_eq!(hb.client_id, c.client_id());
        let cd = &hb.consumer_data_set[0];
        assert_eq!(cd.group_name, "cg");
        assert_eq!(cd.consume_type, ConsumeType::Actively);
        assert_eq!(cd.subscription_data_set[0].topic, "T");
        assert!(c.subscribe("bad topic", "*").is_err());
    }
}
