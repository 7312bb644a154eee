//! `Producer`: every send mode with RocketMQ's queue selection, retries and fault tolerance
//! (Java `DefaultMQProducerImpl`).
//!
//! ```text
//! send / send_async / send_with_callback ─▶ route cache ─▶ fault-aware queue pick ─▶ SEND_MESSAGE_V2 (310)
//!        ▲ back-pressure (async: in-flight count and bytes)   │ retry codes / transport error
//!        │                                                    ▼
//!        └── TBW102 route when the topic is unknown     next queue on another broker (2 retries)
//! send_oneway ─▶ one attempt, no answer      send_with_selector / send_orderly ─▶ the chosen queue
//! send_batch ─▶ SEND_BATCH_MESSAGE (320)     send_batch_split ─▶ batches of at most 4 MiB
//! recall_message ─▶ RECALL_MESSAGE (370) to the master of the broker the handle names
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ferromq_common::names::{self, AUTO_CREATE_TOPIC};
use ferromq_common::now_millis;
use ferromq_proto::body::MessageQueue;
use ferromq_proto::codes::request;
use ferromq_proto::headers::{
    RecallMessageRequestHeader, RecallMessageResponseHeader, SendMessageRequestHeaderV2,
};
use ferromq_proto::message::RecallHandle;
use ferromq_proto::RemotingCommand;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::encode::{self, Encoded};
use crate::fault::LatencyFaultTolerance;
use crate::instance::{ClientInstance, DEFAULT_INSTANCE_NAME};
use crate::message::{is_retriable, send_result_from_response, DEFAULT_MAX_MESSAGE_SIZE};
use crate::rate_limit::{Pace, Pacer, PacerStats};
use crate::request::{
    create_reply, is_reply, make_request, new_correlation_id, Forget, ReplyFuture,
};
use crate::route::DEFAULT_TOPIC_QUEUE_NUMS;
use crate::rpc::{decode_header, expect_success, Credentials};
use crate::selector::{QueueSelector, SelectByHash};
use crate::trace::Tracer;
use crate::{ClientError, Message, MessageExt, NameServerList, SendResult};
use ferromq_proto::message::trace::{msg_type, TraceRecord, TraceType};

/// Java's default send timeout.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(3);
/// Java's default number of retries of a synchronous send (`retryTimesWhenSendFailed`).
pub const DEFAULT_RETRY_TIMES: u32 = 2;
/// Java's default number of retries of an asynchronous send (`retryTimesWhenSendAsyncFailed`).
pub const DEFAULT_RETRY_TIMES_ASYNC: u32 = 2;
/// Bodies at least this long are zlib-compressed (Java `compressMsgBodyOverHowmuch`).
pub const DEFAULT_COMPRESS_OVER: usize = 4096;
/// Async sends in flight at most (Java `backPressureForAsyncSendNum`).
pub const DEFAULT_ASYNC_MAX_IN_FLIGHT: usize = 10_000;
/// Body bytes of async sends in flight at most (Java `backPressureForAsyncSendSize`).
pub const DEFAULT_ASYNC_MAX_IN_FLIGHT_BYTES: usize = 100 * 1024 * 1024;

/// Settings of a [`Producer`].
#[derive(Debug, Clone)]
pub struct ProducerBuilder {
    group: String,
    namesrv: Option<String>,
    instance_name: Option<String>,
    credentials: Option<Credentials>,
    tls: Option<crate::TlsClient>,
    send_timeout: Duration,
    retry_times: u32,
    retry_times_async: u32,
    compress_over: usize,
    max_message_size: usize,
    latency_fault: bool,
    async_max_in_flight: usize,
    async_max_in_flight_bytes: usize,
    send_rate_limit: Option<(f64, Duration)>,
    msg_trace: bool,
    trace_topic: Option<String>,
}

impl ProducerBuilder {
    /// Writes a RocketMQ-format trace record of every successful send to the trace topic
    /// (Java's `enableMsgTrace`; off by default).
    pub fn enable_msg_trace(mut self, on: bool) -> Self {
        self.msg_trace = on;
        self
    }

    /// The trace topic (Java's `customizedTraceTopic`; default `RMQ_SYS_TRACE_TOPIC`).
    pub fn customized_trace_topic(mut self, topic: impl Into<String>) -> Self {
        self.trace_topic = Some(topic.into());
        self
    }

    /// Name-server list (`a:9876;b:9876`); `NAMESRV_ADDR` when not set.
    pub fn namesrv_addr(mut self, addr: impl Into<String>) -> Self {
        self.namesrv = Some(addr.into());
        self
    }

    /// Instance name: producers with different names are independent clients (own connections,
    /// own client id); the default gives every producer its own (`pid#nanos`).
    pub fn instance_name(mut self, name: impl Into<String>) -> Self {
        self.instance_name = Some(name.into());
        self
    }

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

    /// Deadline of one send, retries included (default 3 s).
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// Retries after a failed synchronous attempt (default 2, so 3 attempts).
    pub fn retry_times(mut self, times: u32) -> Self {
        self.retry_times = times;
        self
    }

    /// Retries after a failed asynchronous attempt (default 2).
    pub fn retry_times_async(mut self, times: u32) -> Self {
        self.retry_times_async = times;
        self
    }

    /// Compress bodies of at least this many bytes (default 4096); `usize::MAX` disables it.
    pub fn compress_over(mut self, bytes: usize) -> Self {
        self.compress_over = bytes;
        self
    }

    /// Largest body accepted (default 4 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Avoid brokers that just failed or answered slowly (Java `sendLatencyFaultEnable`,
    /// default off).
    pub fn send_latency_fault_enable(mut self, on: bool) -> Self {
        self.latency_fault = on;
        self
    }

    /// Back-pressure of async sends: at most `count` in flight (default 10 000).
    pub fn async_max_in_flight(mut self, count: usize) -> Self {
        self.async_max_in_flight = count.max(1);
        self
    }

    /// Back-pressure of async sends: at most `bytes` of bodies in flight (default 100 MiB).
    pub fn async_max_in_flight_bytes(mut self, bytes: usize) -> Self {
        self.async_max_in_flight_bytes = bytes.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// Limits this producer to `msgs_per_sec` messages a second (a batch counts each message),
    /// evenly spaced: a send early for its slot waits for it when that is at most
    /// `max_queueing` away, and fails with [`ClientError::RateLimited`] otherwise. Off by
    /// default; [`Producer::send_rate_limit_stats`] counts what it did.
    pub fn send_rate_limit(mut self, msgs_per_sec: f64, max_queueing: Duration) -> Self {
        self.send_rate_limit = Some((msgs_per_sec, max_queueing));
        self
    }

    /// Builds the producer. Fails on an invalid group name or when no name server is known.
    pub fn build(self) -> Result<Producer, ClientError> {
        names::validate_group(&self.group)?;
        let namesrv = NameServerList::resolve(self.namesrv.as_deref())?;
        let instance_name = match self.instance_name.as_deref() {
            Some(n) if n != DEFAULT_INSTANCE_NAME => n.to_owned(),
            _ => crate::client_id::default_instance_name(),
        };
        let instance = ClientInstance::acquire(
            namesrv,
            &instance_name,
            self.send_timeout,
            self.credentials.clone(),
            self.tls.clone(),
        );
        instance.register_producer(&self.group);
        let tracer = if self.msg_trace {
            Some(Tracer::new(
                self.namesrv.as_deref(),
                self.trace_topic.as_deref(),
            )?)
        } else {
            None
        };
        Ok(Producer {
            inner: Arc::new(Inner {
                tracer,
                fault: LatencyFaultTolerance::new(self.latency_fault),
                in_flight: Arc::new(Semaphore::new(self.async_max_in_flight)),
                in_flight_bytes: Arc::new(Semaphore::new(self.async_max_in_flight_bytes)),
                pacer: self.send_rate_limit.map(|(rate, q)| Pacer::new(rate, q)),
                instance,
                cfg: self,
                started: std::sync::Once::new(),
                announced: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }
}

struct Inner {
    cfg: ProducerBuilder,
    tracer: Option<Arc<Tracer>>,
    instance: Arc<ClientInstance>,
    fault: LatencyFaultTolerance,
    in_flight: Arc<Semaphore>,
    in_flight_bytes: Arc<Semaphore>,
    /// The send-rate limit, when one is set.
    pacer: Option<Pacer>,
    started: std::sync::Once,
    /// Set once the first heartbeat after a successful send went out.
    announced: std::sync::atomic::AtomicBool,
}

/// A message producer; cheap to clone, safe to share between tasks.
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

/// The result of an async send, as a future (Java `SendCallback`'s two outcomes).
pub struct SendFuture {
    handle: tokio::task::JoinHandle<Result<SendResult, ClientError>>,
}

impl Future for SendFuture {
    type Output = Result<SendResult, ClientError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.handle).poll(cx).map(|r| {
            r.unwrap_or_else(|e| {
                Err(ClientError::InvalidArgument {
                    reason: format!("the send task ended abnormally: {e}"),
                })
            })
        })
    }
}

impl Producer {
    /// What the send-rate limit decided so far; `None` without one.
    pub fn send_rate_limit_stats(&self) -> Option<PacerStats> {
        self.inner.pacer.as_ref().map(Pacer::stats)
    }

    /// Settings for a producer of `group`, with Java's defaults.
    pub fn builder(group: impl Into<String>) -> ProducerBuilder {
        ProducerBuilder {
            group: group.into(),
            namesrv: None,
            instance_name: None,
            credentials: None,
            tls: None,
            send_timeout: DEFAULT_SEND_TIMEOUT,
            retry_times: DEFAULT_RETRY_TIMES,
            retry_times_async: DEFAULT_RETRY_TIMES_ASYNC,
            compress_over: DEFAULT_COMPRESS_OVER,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            latency_fault: false,
            async_max_in_flight: DEFAULT_ASYNC_MAX_IN_FLIGHT,
            async_max_in_flight_bytes: DEFAULT_ASYNC_MAX_IN_FLIGHT_BYTES,
            send_rate_limit: None,
            msg_trace: false,
            trace_topic: None,
        }
    }

    /// The producer group.
    pub fn group(&self) -> &str {
        &self.inner.cfg.group
    }

    /// This client's id (`ip@instanceName`).
    pub fn client_id(&self) -> &str {
        self.inner.instance.client_id()
    }

    /// The queues `send` chooses from for `topic`.
    pub async fn publish_queues(&self, topic: &str) -> Result<Vec<MessageQueue>, ClientError> {
        Ok(self
            .inner
            .instance
            .routes()
            .publish_info(topic)
            .await?
            .queues
            .clone())
    }

    /// Requests (of this producer's client instance) still waiting for their reply.
    pub fn requests_waiting(&self) -> usize {
        self.inner.instance.requests().len()
    }

    /// Async sends still in flight.
    pub fn in_flight(&self) -> usize {
        self.inner.cfg.async_max_in_flight - self.inner.in_flight.available_permits()
    }

    /// After the first successful send (the route is cached then), tells the brokers about this
    /// producer group at once instead of at the first 30 s heartbeat (Java sends one at start).
    fn announce(&self) {
        use std::sync::atomic::Ordering;
        if !self.inner.announced.swap(true, Ordering::AcqRel) {
            let instance = Arc::clone(&self.inner.instance);
            tokio::spawn(async move { instance.send_heartbeat().await });
        }
    }

    pub(crate) fn ensure_started(&self) {
        self.inner.started.call_once(|| self.inner.instance.start());
    }

    /// The client instance this producer runs in.
    pub(crate) fn instance(&self) -> &Arc<ClientInstance> {
        &self.inner.instance
    }

    /// Sends a half message (sysFlag PREPARED), for [`crate::TransactionProducer`].
    pub(crate) async fn send_prepared(&self, msg: Message) -> Result<SendResult, ClientError> {
        msg.validate(self.inner.cfg.max_message_size)?;
        let mut encoded = self.encode(&msg)?;
        encoded.sys_flag = ferromq_proto::message::sys_flag::with_transaction_type(
            encoded.sys_flag,
            ferromq_proto::message::sys_flag::TRANSACTION_PREPARED_TYPE,
        );
        self.send_with_retries(&encoded, self.inner.cfg.retry_times)
            .await
    }

    /// Sends `msg` and waits for the broker's answer (Java "sync" send): a queue chosen round
    /// robin (avoiding faulty brokers when enabled), retried on another broker after a
    /// retriable failure (see [`crate::message::RETRY_RESPONSE_CODES`]).
    ///
    /// Returns the result of the first stored attempt; the error of a non-retriable failure at
    /// once; [`ClientError::SendFailed`] when every attempt failed or the deadline passed.
    pub async fn send(&self, msg: Message) -> Result<SendResult, ClientError> {
        msg.validate(self.inner.cfg.max_message_size)?;
        let encoded = self.encode(&msg)?;
        self.send_with_retries(&encoded, self.inner.cfg.retry_times)
            .await
    }

    /// Starts an async send and returns its future at once; the send runs whether or not the
    /// future is polled. Waits first while the back-pressure limits (in-flight count and bytes)
    /// are reached. Retries `retry_times_async` times.
    pub async fn send_async(&self, msg: Message) -> Result<SendFuture, ClientError> {
        msg.validate(self.inner.cfg.max_message_size)?;
        let encoded = self.encode(&msg)?;
        let permits = self.back_pressure(encoded.body.len()).await?;
        let this = self.clone();
        let handle = tokio::spawn(async move {
            let r = this
                .send_with_retries(&encoded, this.inner.cfg.retry_times_async)
                .await;
            drop(permits);
            r
        });
        Ok(SendFuture { handle })
    }

    /// Request-reply (Java `DefaultMQProducer.request`): sends `msg` as a request and waits up
    /// to `timeout` (send included) for the reply a responder makes with [`crate::create_reply`].
    ///
    /// Returns the reply message; [`ClientError::RequestTimeout`] when the request was sent but
    /// no reply came in time; the send's error when the request could not be sent.
    pub async fn request(
        &self,
        msg: Message,
        timeout: Duration,
    ) -> Result<MessageExt, ClientError> {
        self.request_async(msg, timeout).await?.await
    }

    /// Sends `msg` as a request and returns, once the request is stored, a future of its reply
    /// (with the rest of `timeout`), so that one task can keep many requests outstanding.
    pub async fn request_async(
        &self,
        msg: Message,
        timeout: Duration,
    ) -> Result<ReplyFuture, ClientError> {
        let started = Instant::now();
        let instance = &self.inner.instance;
        let id = new_correlation_id();
        let msg = make_request(msg, &id, instance.client_id(), timeout);
        msg.validate(self.inner.cfg.max_message_size)?;
        let encoded = self.encode(&msg)?;
        self.ensure_started();
        // The broker pushes the reply to the connection this producer heartbeats on: make sure
        // the brokers of the topic know it before the request can be answered.
        instance.routes().publish_info(&encoded.topic).await?;
        if !self
            .inner
            .announced
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            instance.send_heartbeat().await;
        }
        let pending = Arc::clone(instance.requests());
        let rx = pending.register(&id);
        // Forgets the request however this ends: a failed send, a dropped future, the reply.
        let forget = Forget { pending, id };
        self.send_with_retries(&encoded, self.inner.cfg.retry_times)
            .await?;
        let left = timeout.saturating_sub(started.elapsed());
        Ok(ReplyFuture::new(forget, rx, encoded.topic, timeout, left))
    }

    /// Answers a request message (one with `CORRELATION_ID` and `REPLY_TO_CLIENT`, as
    /// [`Producer::request`] sends) with `body`: builds the reply with [`crate::create_reply`]
    /// and sends it once, without retries (a reply is only useful to the requester waiting for
    /// it). Errors when `request` is not a request, or the broker could not deliver the reply
    /// (the requester is gone or stopped waiting: SYSTEM_ERROR with the reason).
    pub async fn reply(
        &self,
        request: &MessageExt,
        body: impl Into<bytes::Bytes>,
    ) -> Result<SendResult, ClientError> {
        let msg = create_reply(request, body)?;
        msg.validate(self.inner.cfg.max_message_size)?;
        let encoded = self.encode(&msg)?;
        self.send_with_retries(&encoded, 0).await
    }

    /// [`Producer::send_async`] with a callback instead of a future (Java `SendCallback`).
    pub async fn send_with_callback<F>(&self, msg: Message, callback: F) -> Result<(), ClientError>
    where
        F: FnOnce(Result<SendResult, ClientError>) + Send + 'static,
    {
        let fut = self.send_async(msg).await?;
        tokio::spawn(async move { callback(fut.await) });
        Ok(())
    }

    async fn back_pressure(
        &self,
        bytes: usize,
    ) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit), ClientError> {
        let closed = |_| ClientError::InvalidArgument {
            reason: "the producer is shut down".into(),
        };
        let count = Arc::clone(&self.inner.in_flight)
            .acquire_owned()
            .await
            .map_err(closed)?;
        let want = bytes.clamp(1, self.inner.cfg.async_max_in_flight_bytes) as u32;
        let size = Arc::clone(&self.inner.in_flight_bytes)
            .acquire_many_owned(want)
            .await
            .map_err(closed)?;
        Ok((count, size))
    }

    /// Sends `msg` without waiting for an answer or retrying (Java "oneway"): fine for logs,
    /// not for anything that must arrive.
    pub async fn send_oneway(&self, msg: Message) -> Result<(), ClientError> {
        msg.validate(self.inner.cfg.max_message_size)?;
        self.ensure_started();
        let encoded = self.encode(&msg)?;
        let info = self
            .inner
            .instance
            .routes()
            .publish_info(&encoded.topic)
            .await?;
        let queue = self
            .inner
            .fault
            .select(&info, None)
            .ok_or_else(|| no_queue(&info.topic))?;
        let (addr, cmd) = self.send_command(&encoded, &queue).await?;
        self.inner.instance.rpc().oneway(&addr, cmd).await
    }

    /// Sends `msg` to `queue` exactly once (Java `send(msg, mq)`: no retry).
    pub async fn send_to_queue(
        &self,
        msg: Message,
        queue: &MessageQueue,
    ) -> Result<SendResult, ClientError> {
        msg.validate(self.inner.cfg.max_message_size)?;
        if queue.topic != msg.topic {
            return Err(ClientError::InvalidArgument {
                reason: format!(
                    "message's topic [{}] is not equal with message queue's topic [{}]",
                    msg.topic, queue.topic
                ),
            });
        }
        let encoded = self.encode(&msg)?;
        self.send_once(&encoded, queue, self.inner.cfg.send_timeout)
            .await
    }

    /// Sends `msg` to the queue `selector` picks for `arg` among the topic's writable queues
    /// (Java `send(msg, selector, arg)`), once: an ordered send is not retried elsewhere.
    pub async fn send_with_selector(
        &self,
        msg: Message,
        selector: &dyn QueueSelector,
        arg: &str,
    ) -> Result<SendResult, ClientError> {
        msg.validate(self.inner.cfg.max_message_size)?;
        let info = self
            .inner
            .instance
            .routes()
            .publish_info(&msg.topic)
            .await?;
        if info.queues.is_empty() {
            return Err(no_queue(&msg.topic));
        }
        let index = selector.select(&info.queues, &msg, arg);
        let queue =
            info.queues
                .get(index)
                .cloned()
                .ok_or_else(|| ClientError::InvalidArgument {
                    reason: format!(
                        "the selector chose queue index {index} of {}",
                        info.queues.len()
                    ),
                })?;
        let encoded = self.encode(&msg)?;
        self.send_once(&encoded, &queue, self.inner.cfg.send_timeout)
            .await
    }

    /// Ordered send: every message with the same `sharding_key` goes to the same queue (Java's
    /// `SelectMessageQueueByHash` over the key).
    pub async fn send_orderly(
        &self,
        msg: Message,
        sharding_key: &str,
    ) -> Result<SendResult, ClientError> {
        self.send_with_selector(msg, &SelectByHash, sharding_key)
            .await
    }

    /// Sends `msgs` as one SEND_BATCH_MESSAGE (320), stored as consecutive records of one queue.
    ///
    /// All messages must share a topic, which may not be a retry topic, and none may be delayed
    /// (Java `MessageBatch.generateFromList`); the encoded batch must fit the maximum message
    /// size (see [`Producer::send_batch_split`]). The result's `msg_id` lists the messages' ids.
    pub async fn send_batch(&self, msgs: Vec<Message>) -> Result<SendResult, ClientError> {
        let encoded = self.encode_batch(&msgs)?;
        self.send_with_retries(&encoded, self.inner.cfg.retry_times)
            .await
    }

    /// Sends `msgs` as as many batches as needed to keep each under the maximum message size
    /// (RocketMQ's `ListSplitter` example), in order; returns one result per batch.
    pub async fn send_batch_split(
        &self,
        msgs: Vec<Message>,
    ) -> Result<Vec<SendResult>, ClientError> {
        let mut results = Vec::new();
        for chunk in encode::split_batch(msgs, self.inner.cfg.max_message_size) {
            results.push(self.send_batch(chunk).await?);
        }
        Ok(results)
    }

    /// Cancels a timer message before it is due (RocketMQ 5.3 `DefaultMQProducer.recallMessage`):
    /// RECALL_MESSAGE (370) with `handle`, the [`SendResult::recall_handle`] of its send, to the
    /// master of the broker the handle names, found in `topic`'s route. The broker answers
    /// once the recall is stored; the message is then never delivered.
    ///
    /// Returns the recalled message's id (its `UNIQ_KEY`). Errors with
    /// [`ClientError::InvalidArgument`] for a retry or dead-letter topic,
    /// [`ClientError::InvalidRecallHandle`] for a handle that is not a v1 handle, and
    /// [`ClientError::Broker`] when the broker refuses: NO_PERMISSION (16) when
    /// `recallMessageEnable` is off, ILLEGAL_OPERATION (604) when the topic or broker does not
    /// match the handle or the message is already due or delivered ("recall failed, timestamp
    /// invalid").
    pub async fn recall_message(&self, topic: &str, handle: &str) -> Result<String, ClientError> {
        names::validate_topic(topic)?;
        if names::is_retry_topic(topic) || names::is_dlq_topic(topic) {
            return Err(ClientError::InvalidArgument {
                reason: "topic is not supported".into(),
            });
        }
        let parsed = RecallHandle::decode(handle)
            .map_err(|source| ClientError::InvalidRecallHandle { source })?;
        self.ensure_started();
        let addr = self
            .inner
            .instance
            .routes()
            .broker_addr(topic, &parsed.broker_name, true)
            .await?;
        let header = RecallMessageRequestHeader {
            producer_group: Some(self.inner.cfg.group.clone()),
            topic: topic.to_owned(),
            recall_handle: handle.to_owned(),
            bname: Some(parsed.broker_name),
        };
        let cmd = RemotingCommand::request(request::RECALL_MESSAGE, &header);
        let resp = self
            .inner
            .instance
            .rpc()
            .call_timeout(&addr, cmd, self.inner.cfg.send_timeout)
            .await?;
        let resp = expect_success(resp)?;
        let answer: RecallMessageResponseHeader = decode_header(&resp, "RECALL_MESSAGE")?;
        Ok(answer.msg_id)
    }

    /// Unregisters the producer group from the brokers and releases the client.
    pub async fn shutdown(&self) {
        if let Some(tracer) = &self.inner.tracer {
            tracer.shutdown().await;
        }
        self.shutdown_untraced().await;
    }

    /// [`Producer::shutdown`] without flushing a tracer (that of a tracer's own producer).
    pub(crate) async fn shutdown_untraced(&self) {
        self.inner.in_flight.close();
        self.inner.in_flight_bytes.close();
        self.inner
            .instance
            .unregister(Some(self.group()), None)
            .await;
        self.inner.instance.release().await;
    }

    fn encode(&self, msg: &Message) -> Result<Encoded, ClientError> {
        encode::encode(
            self.inner.instance.uniq(),
            msg,
            self.inner.cfg.compress_over,
        )
    }

    fn encode_batch(&self, msgs: &[Message]) -> Result<Encoded, ClientError> {
        encode::encode_batch(
            self.inner.instance.uniq(),
            msgs,
            self.inner.cfg.max_message_size,
        )
    }

    async fn send_with_retries(
        &self,
        encoded: &Encoded,
        retries: u32,
    ) -> Result<SendResult, ClientError> {
        self.ensure_started();
        let cfg = &self.inner.cfg;
        if let Some(pacer) = &self.inner.pacer {
            match pacer.acquire(encoded.message_count()) {
                Pace::Wait(d) if d.is_zero() => {}
                Pace::Wait(d) => tokio::time::sleep(d).await,
                Pace::Reject => {
                    return Err(ClientError::RateLimited {
                        topic: encoded.topic.clone(),
                        rate: pacer.rate(),
                        max_queueing: cfg.send_rate_limit.map_or(Duration::ZERO, |(_, q)| q),
                    })
                }
            }
        }
        let start = Instant::now();
        let routes = self.inner.instance.routes();
        let mut info = routes.publish_info(&encoded.topic).await?;
        let attempts = retries + 1;
        let mut last_broker: Option<String> = None;
        let mut last_error = None;
        let mut made = 0;
        for _ in 0..attempts {
            let Some(remaining) = cfg
                .send_timeout
                .checked_sub(start.elapsed())
                .filter(|d| !d.is_zero())
            else {
                break;
            };
            if made > 0 {
                // A retry sees routes that changed meanwhile (e.g. a broker that went away).
                if let Ok(fresh) = routes.publish_info(&encoded.topic).await {
                    info = fresh;
                }
            }
            let queue = self
                .inner
                .fault
                .select(&info, last_broker.as_deref())
                .ok_or_else(|| no_queue(&info.topic))?;
            made += 1;
            let began = Instant::now();
            match self.send_once(encoded, &queue, remaining).await {
                Ok(result) => {
                    self.inner
                        .fault
                        .update(&queue.broker_name, began.elapsed(), false);
                    return Ok(result);
                }
                Err(e) if is_retriable(&e) => {
                    self.inner
                        .fault
                        .update(&queue.broker_name, began.elapsed(), true);
                    tracing::debug!(topic = %encoded.topic, broker = %queue.broker_name, error = %e, "send attempt failed, retrying");
                    if matches!(e, ClientError::Net { .. }) {
                        routes.invalidate(&encoded.topic);
                    }
                    last_broker = Some(queue.broker_name);
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        let source = last_error.unwrap_or(ClientError::InvalidArgument {
            reason: format!("send timed out after {:?}", cfg.send_timeout),
        });
        if info.from_default_topic || matches!(source, ClientError::Broker { code: 17, .. }) {
            routes.invalidate(&encoded.topic);
        }
        Err(ClientError::SendFailed {
            topic: encoded.topic.clone(),
            attempts: made,
            source: Box::new(source),
        })
    }

    async fn send_command(
        &self,
        m: &Encoded,
        queue: &MessageQueue,
    ) -> Result<(String, RemotingCommand), ClientError> {
        let addr = self
            .inner
            .instance
            .routes()
            .broker_addr(&m.topic, &queue.broker_name, true)
            .await?;
        let header = SendMessageRequestHeaderV2 {
            a: self.inner.cfg.group.as_str().into(),
            b: m.topic.as_str().into(),
            c: AUTO_CREATE_TOPIC.into(),
            d: DEFAULT_TOPIC_QUEUE_NUMS,
            e: queue.queue_id,
            f: m.sys_flag,
            g: now_millis(),
            h: m.flag,
            i: Some(m.properties.clone()),
            j: Some(0),
            k: Some(false),
            l: None,
            m: Some(m.batch),
            n: Some(queue.broker_name.as_str().into()),
        };
        let code = if m.batch {
            request::SEND_BATCH_MESSAGE
        } else if is_reply(&m.properties) {
            request::SEND_REPLY_MESSAGE_V2
        } else {
            request::SEND_MESSAGE_V2
        };
        Ok((
            addr,
            RemotingCommand::request(code, &header).with_body(m.body.clone()),
        ))
    }

    async fn send_once(
        &self,
        m: &Encoded,
        queue: &MessageQueue,
        timeout: Duration,
    ) -> Result<SendResult, ClientError> {
        self.ensure_started();
        let began = Instant::now();
        let (addr, cmd) = self.send_command(m, queue).await?;
        let resp = self
            .inner
            .instance
            .rpc()
            .call_timeout(&addr, cmd, timeout)
            .await?;
        let result =
            send_result_from_response(&resp, &m.topic, &queue.broker_name, m.msg_id.clone());
        if let Ok(r) = &result {
            self.announce();
            if let Some(tracer) = &self.inner.tracer {
                tracer.record(self.pub_record(m, r, &addr, began));
            }
        }
        result
    }

    /// Java `SendMessageTraceHookImpl`: the Pub record of a send that succeeded.
    fn pub_record(&self, m: &Encoded, r: &SendResult, addr: &str, began: Instant) -> TraceRecord {
        let prop = |k: &str| {
            ferromq_proto::message::property_value(&m.properties, k)
                .unwrap_or("")
                .to_owned()
        };
        TraceRecord {
            trace_type: TraceType::Pub,
            timestamp: now_millis(),
            group: self.inner.cfg.group.clone(),
            topic: m.topic.clone(),
            msg_id: r.msg_id.clone(),
            tags: prop(ferromq_proto::message::properties::TAGS),
            keys: prop(ferromq_proto::message::properties::KEYS),
            store_host: addr.to_owned(),
            body_length: i32::try_from(m.body.len()).unwrap_or(i32::MAX),
            cost_time: i32::try_from(began.elapsed().as_millis()).unwrap_or(i32::MAX),
            msg_type: if ferromq_proto::message::property_value(&m.properties, "DELAY").is_some() {
                msg_type::DELAY
            } else {
                msg_type::NORMAL
            },
            offset_msg_id: r.offset_msg_id.clone(),
            success: true,
            ..TraceRecord::default()
        }
    }
}

fn no_queue(topic: &str) -> ClientError {
    ClientError::NoRoute {
        topic: topic.to_owned(),
        reason: "no writable queue on a master broker",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn producer() -> Producer {
        Producer::builder("pg")
            .namesrv_addr("127.0.0.1:1")
            .build()
            .unwrap()
    }

    #[test]
    fn builder_has_java_defaults_and_checks_the_group() {
        let b = Producer::builder("pg");
        assert_eq!(b.send_timeout, Duration::from_secs(3));
        assert_eq!(b.retry_times, 2);
        assert!(matches!(
            Producer::builder("bad group").namesrv_addr("h:1").build(),
            Err(ClientError::Name { .. })
        ));
    }

    #[tokio::test]
    async fn recall_checks_the_topic_and_the_handle_before_any_request() {
        let p = producer();
        let err = p.recall_message("%RETRY%g", "x").await.unwrap_err();
        assert!(matches!(err, ClientError::InvalidArgument { .. }), "{err}");
        let err = p.recall_message("a b", "x").await.unwrap_err();
        assert!(matches!(err, ClientError::Name { .. }), "{err}");
        // "v1 a b c": four fields.
        let err = p.recall_message("T", "djEgYSBiIGM=").await.unwrap_err();
        assert!(
            matches!(err, ClientError::InvalidRecallHandle { .. }),
            "{err}"
        );
        assert_eq!(err.to_string(), "recall handle is invalid");
    }

    #[tokio::test]
    async fn send_to_queue_checks_the_topic() {
        let p = producer();
        let err = p
            .send_to_queue(Message::new("A", "x"), &MessageQueue::new("B", "b", 0))
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::InvalidArgument { .. }));
    }
}
