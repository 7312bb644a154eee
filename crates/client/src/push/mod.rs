//! `PushConsumer`: long-polling pulls under the hood, messages handed to a listener (Java
//! `DefaultMQPushConsumer`).
//!
//! ```text
//!            every 20 s / NOTIFY_CONSUMER_IDS_CHANGED
//! rebalance ─────────────────────────────────────▶ assigned queues (strategy over sorted ids)
//!    │ new queue: (lock it if orderly) offset from store / ConsumeFrom ─▶ ProcessQueue + pull loop
//!    │ lost queue: dropped, offset persisted, (orderly: unlocked after the listener returns)
//!    ▼
//! pull loop (per queue): flow control ─▶ PULL_MESSAGE (15 s long poll) ─▶ ProcessQueue.put
//!    ├─ concurrent: a task per batch ─▶ listener ─▶ remove ─▶ offset = first unconsumed
//!    │                 RECONSUME_LATER / error / panic ─▶ CONSUMER_SEND_MSG_BACK, else local retry in 5 s
//!    └─ orderly: one task per queue, holding the broker lock ─▶ listener ─▶ commit
//!                      failure ─▶ same messages again after 1 s
//! offsets: memory ─▶ broker (clustering) or local file (broadcasting) every 5 s and at shutdown
//! ```

mod concurrent;
mod orderly;
pub mod process_queue;
mod pull_loop;
mod rebalance;
mod running;
mod stats;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use ferromq_common::names;
use ferromq_proto::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, MessageModel, MessageQueue, SubscriptionData,
};
use ferromq_proto::message::MessageExt;
use parking_lot::Mutex;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::allocate::{AllocateStrategy, Averagely};
use crate::consumer::{build_subscription, build_subscription_with, MessageSelector};
use crate::instance::{ClientInstance, ConsumerHook, DEFAULT_INSTANCE_NAME};
use crate::listener::{ConsumeContext, IntoConsumeStatus, IntoOrderlyStatus, Listener};
use crate::offset_store::{default_local_dir, OffsetStore};
use crate::rate_limit::Pacer;
use crate::rpc::Credentials;
use crate::{ClientError, NameServerList};

pub use process_queue::{ProcessQueue, QueueStats};
pub(crate) use rebalance::{allocate_topic, forgotten_by_broker};

/// Where a group with no committed offset starts (Java `ConsumeFromWhere`). Note that a broker
/// answers "offset 0" for a new group while the queue still starts at 0, as RocketMQ does, so
/// these matter for queues whose first messages are gone, and for broadcasting consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeFrom {
    /// The end of the queue (default).
    LastOffset,
    /// The start of the queue.
    FirstOffset,
    /// The first message stored at or after this time (epoch ms).
    Timestamp(i64),
}

/// Settings of a [`PushConsumer`], with Java's defaults.
#[derive(Clone)]
pub struct PushConsumerBuilder {
    group: String,
    namesrv: Option<String>,
    instance_name: Option<String>,
    credentials: Option<Credentials>,
    tls: Option<crate::TlsClient>,
    message_model: MessageModel,
    consume_from: ConsumeFrom,
    strategy: Arc<dyn AllocateStrategy>,
    consume_thread_count: usize,
    consume_batch_max_size: usize,
    pull_batch_size: i32,
    pull_threshold_for_queue: usize,
    pull_threshold_size_for_queue: usize,
    consume_concurrently_max_span: i64,
    max_reconsume_times: Option<i32>,
    suspend_current_queue_time: Duration,
    offset_store_dir: Option<PathBuf>,
    subscriptions: Vec<(String, MessageSelector)>,
    rate_limits: Vec<(String, f64, Duration)>,
    listener: Option<Listener>,
    rpc_timeout: Duration,
    await_termination: Duration,
    msg_trace: bool,
    trace_topic: Option<String>,
}

impl PushConsumerBuilder {
    /// Writes RocketMQ-format trace records of every consumption (SubBefore when the listener
    /// is called, SubAfter with its outcome) to the trace topic (Java's `enableMsgTrace`; off
    /// by default). Concurrent listeners only.
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

    /// Instance name (client id `ip@name`). Default: `DEFAULT`, replaced by `pid#nanos` for
    /// clustering consumers; broadcasting consumers keep it, so their offset file is found again
    /// after a restart.
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

    /// Clustering (default) or broadcasting.
    pub fn message_model(mut self, model: MessageModel) -> Self {
        self.message_model = model;
        self
    }

    /// Where a queue without a committed offset starts.
    pub fn consume_from(mut self, from: ConsumeFrom) -> Self {
        self.consume_from = from;
        self
    }

    /// Queue allocation strategy (default [`Averagely`]).
    pub fn allocate_strategy(mut self, strategy: impl AllocateStrategy) -> Self {
        self.strategy = Arc::new(strategy);
        self
    }

    /// Listener calls running at once (Java `consumeThreadMax`, default 20).
    pub fn consume_thread_count(mut self, n: usize) -> Self {
        self.consume_thread_count = n.max(1);
        self
    }

    /// Messages per listener call (default 1).
    pub fn consume_batch_max_size(mut self, n: usize) -> Self {
        self.consume_batch_max_size = n.max(1);
        self
    }

    /// Messages asked for per pull (default 32).
    pub fn pull_batch_size(mut self, n: i32) -> Self {
        self.pull_batch_size = n.clamp(1, 1024);
        self
    }

    /// Pulling pauses while a queue caches more messages than this (default 1000).
    pub fn pull_threshold_for_queue(mut self, n: usize) -> Self {
        self.pull_threshold_for_queue = n;
        self
    }

    /// Pulling pauses while a queue caches more body bytes than this (default 100 MiB).
    pub fn pull_threshold_size_for_queue(mut self, bytes: usize) -> Self {
        self.pull_threshold_size_for_queue = bytes;
        self
    }

    /// Concurrent consumption: pulling pauses while cached offsets span more than this (default
    /// 2000).
    pub fn consume_concurrently_max_span(mut self, span: i64) -> Self {
        self.consume_concurrently_max_span = span;
        self
    }

    /// Retries before a failed message goes to the group's dead-letter queue `%DLQ%<group>`.
    /// Unset (or negative), a concurrent consumer leaves the limit to the broker, which applies
    /// the group's `retryMaxTimes` (16 unless changed with `mqadmin updateSubGroup`); an orderly
    /// consumer then uses 16.
    pub fn max_reconsume_times(mut self, n: i32) -> Self {
        self.max_reconsume_times = (n >= 0).then_some(n);
        self
    }

    /// Orderly: pause of a queue after a failure (default 1 s).
    pub fn suspend_current_queue_time(mut self, d: Duration) -> Self {
        self.suspend_current_queue_time = d;
        self
    }

    /// Directory of broadcasting offset files (default `~/.rocketmq_offsets`).
    pub fn offset_store_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.offset_store_dir = Some(dir.into());
        self
    }

    /// Subscribes to `topic` with a tag expression (`*`, `TagA || TagB`).
    pub fn subscribe(mut self, topic: impl Into<String>, expression: impl Into<String>) -> Self {
        self.subscriptions
            .push((topic.into(), MessageSelector::Tag(expression.into())));
        self
    }

    /// Subscribes to `topic` with a SQL92 expression over message properties (and `TAGS`),
    /// filtered on the broker, which needs `enablePropertyFilter=true`. The expression is
    /// checked when the consumer is built, and each broker is asked (CHECK_CLIENT_CONFIG) when
    /// it starts.
    pub fn subscribe_sql(
        mut self,
        topic: impl Into<String>,
        expression: impl Into<String>,
    ) -> Self {
        self.subscriptions
            .push((topic.into(), MessageSelector::Sql92(expression.into())));
        self
    }

    /// Paces consumption of `topic` to `permits_per_sec` messages per second; a message that
    /// would wait longer than `max_queueing` is handed back and offered again later.
    pub fn rate_limit(
        mut self,
        topic: impl Into<String>,
        permits_per_sec: f64,
        max_queueing: Duration,
    ) -> Self {
        self.rate_limits
            .push((topic.into(), permits_per_sec, max_queueing));
        self
    }

    /// How long shutdown waits for running listener calls (default 30 s).
    pub fn await_termination(mut self, d: Duration) -> Self {
        self.await_termination = d;
        self
    }

    /// A concurrent listener: an async closure over a batch of messages.
    pub fn listener_concurrently<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Vec<MessageExt>, ConsumeContext) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoConsumeStatus,
    {
        self.listener = Some(Listener::concurrent(f));
        self
    }

    /// An orderly listener: called for one queue at a time, in offset order, while this client
    /// holds the queue's broker lock.
    pub fn listener_orderly<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Vec<MessageExt>, ConsumeContext) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOrderlyStatus,
    {
        self.listener = Some(Listener::orderly(f));
        self
    }

    /// Builds the consumer (not started). Fails on a bad group or topic name, no listener, no
    /// subscription, or no name server.
    pub fn build(self) -> Result<PushConsumer, ClientError> {
        names::validate_group(&self.group)?;
        let Some(listener) = self.listener.clone() else {
            return Err(ClientError::InvalidArgument {
                reason: "messageListener is null: set a listener before building".into(),
            });
        };
        if self.subscriptions.is_empty() {
            return Err(ClientError::InvalidArgument {
                reason: "no subscription: call subscribe(topic, expression)".into(),
            });
        }
        let namesrv = NameServerList::resolve(self.namesrv.as_deref())?;
        let clustering = self.message_model == MessageModel::Clustering;
        let mut subs = BTreeMap::new();
        for (topic, selector) in &self.subscriptions {
            names::validate_topic(topic)?;
            subs.insert(topic.clone(), build_subscription_with(topic, selector)?);
        }
        if clustering {
            let retry = names::retry_topic(&self.group);
            subs.insert(retry.clone(), build_subscription(&retry, "*"));
        }
        let instance_name = match self.instance_name.as_deref() {
            Some(n) if !(clustering && n == DEFAULT_INSTANCE_NAME) => n.to_owned(),
            None if !clustering => DEFAULT_INSTANCE_NAME.to_owned(),
            _ => crate::client_id::default_instance_name(),
        };
        let instance = ClientInstance::acquire(
            namesrv,
            &instance_name,
            self.rpc_timeout,
            self.credentials.clone(),
            self.tls.clone(),
        );
        let offsets = if clustering {
            OffsetStore::remote(&self.group, Arc::clone(&instance))
        } else {
            let dir = self
                .offset_store_dir
                .clone()
                .unwrap_or_else(default_local_dir);
            OffsetStore::local(&self.group, Arc::clone(&instance), &dir)
        };
        let pacers = self
            .rate_limits
            .iter()
            .map(|(t, rate, q)| (t.clone(), Pacer::new(*rate, *q)))
            .collect();
        let tracer = if self.msg_trace {
            Some(crate::trace::Tracer::new(
                self.namesrv.as_deref(),
                self.trace_topic.as_deref(),
            )?)
        } else {
            None
        };
        let inner = Arc::new(PushInner {
            tracer,
            permits: Arc::new(Semaphore::new(self.consume_thread_count)),
            listener,
            instance,
            subs,
            offsets,
            table: Mutex::default(),
            lanes: Mutex::default(),
            gate: crate::priority::Gate::default(),
            pacers,
            rebalance_wake: Notify::new(),
            cancel: CancellationToken::new(),
            stopping: AtomicBool::new(false),
            tasks: TaskTracker::new(),
            background: TaskTracker::new(),
            state: Mutex::new(RunState::Created),
            stats: stats::ConsumerStats::default(),
            started_at: AtomicI64::new(0),
            cfg: self,
        });
        Ok(PushConsumer { inner })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunState {
    Created,
    Running,
    Stopped,
}

/// State shared by a push consumer's tasks.
pub(crate) struct PushInner {
    cfg: PushConsumerBuilder,
    /// Writes trace records when tracing is on.
    tracer: Option<Arc<crate::trace::Tracer>>,
    listener: Listener,
    instance: Arc<ClientInstance>,
    /// Topic → subscription (with `%RETRY%group` when clustering).
    subs: BTreeMap<String, SubscriptionData>,
    offsets: OffsetStore,
    table: Mutex<HashMap<MessageQueue, Arc<ProcessQueue>>>,
    /// Priority lanes of owned queues being pulled (see [`crate::priority`]).
    lanes: Mutex<HashMap<MessageQueue, Arc<ProcessQueue>>>,
    /// Queues draining their lanes hold back normal pulls.
    gate: crate::priority::Gate,
    permits: Arc<Semaphore>,
    pacers: HashMap<String, Pacer>,
    rebalance_wake: Notify,
    /// Stops pulls, timers and the background loops.
    cancel: CancellationToken,
    /// No listener call starts once set.
    stopping: AtomicBool,
    /// Listener calls and local redeliveries.
    tasks: TaskTracker,
    /// Pull loops and periodic jobs.
    background: TaskTracker,
    state: Mutex<RunState>,
    /// Pull and consume counters (running info's status table).
    stats: stats::ConsumerStats,
    /// When `start` ran (epoch ms), `PROP_CONSUMER_START_TIMESTAMP`.
    started_at: AtomicI64,
}

impl PushInner {
    fn clustering(&self) -> bool {
        self.cfg.message_model == MessageModel::Clustering
    }

    fn orderly(&self) -> bool {
        self.listener.is_orderly()
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    fn group(&self) -> &str {
        &self.cfg.group
    }

    /// Owned queues and their priority lanes: what offset commits cover.
    fn owned_with_lanes(&self) -> Vec<MessageQueue> {
        let mut mqs: Vec<MessageQueue> = self.table.lock().keys().cloned().collect();
        mqs.extend(self.lanes.lock().keys().cloned());
        mqs
    }

    /// Stops the lanes of `mq` and forgets them; returns them (offsets still to commit).
    fn drop_lanes(&self, mq: &MessageQueue) -> Vec<MessageQueue> {
        let mut lanes = self.lanes.lock();
        let gone: Vec<MessageQueue> = lanes
            .keys()
            .filter(|l| crate::priority::is_lane_of(l, mq))
            .cloned()
            .collect();
        for l in &gone {
            if let Some(pq) = lanes.remove(l) {
                pq.set_dropped();
                pq.clear();
            }
        }
        gone
    }

    /// When a message the pacer of `topic` refused is offered again.
    fn pacer_retry_delay(&self, topic: &str) -> Duration {
        self.cfg
            .rate_limits
            .iter()
            .find(|(t, _, _)| t == topic)
            .map(|(_, _, q)| (*q).max(Duration::from_millis(10)))
            .unwrap_or(Duration::from_millis(100))
    }
}

impl ConsumerHook for PushInner {
    fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            consume_from_where: match self.cfg.consume_from {
                ConsumeFrom::LastOffset => ConsumeFromWhere::LastOffset,
                ConsumeFrom::FirstOffset => ConsumeFromWhere::FirstOffset,
                ConsumeFrom::Timestamp(_) => ConsumeFromWhere::Timestamp,
            },
            consume_type: ConsumeType::Passively,
            group_name: self.cfg.group.clone(),
            message_model: self.cfg.message_model.clone(),
            subscription_data_set: self.subs.values().cloned().collect(),
            unit_mode: false,
        }
    }

    fn ids_changed(&self) {
        self.rebalance_wake.notify_one();
    }

    fn reset_offset(self: Arc<Self>, topic: String, offsets: BTreeMap<MessageQueue, i64>) {
        let inner = Arc::clone(&self);
        self.background
            .spawn(async move { rebalance::reset_offsets(&inner, &topic, &offsets).await });
    }

    fn running_info(&self) -> Option<ferromq_proto::body::ConsumerRunningInfo> {
        Some(running::running_info(self))
    }

    fn consume_directly(
        self: Arc<Self>,
        msg: MessageExt,
        broker_name: String,
    ) -> Option<ferromq_net::BoxFuture<'static, ferromq_proto::body::ConsumeMessageDirectlyResult>>
    {
        Some(running::consume_directly(self, msg, broker_name))
    }
}

/// Sleeps `d` unless `cancel` fires first; true when the whole time passed.
pub(crate) async fn sleep_or_cancel(cancel: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// A push consumer. Build it with [`PushConsumer::builder`], then [`PushConsumer::start`];
/// [`PushConsumer::shutdown`] commits offsets and releases everything.
pub struct PushConsumer {
    inner: Arc<PushInner>,
}

impl PushConsumer {
    /// What each topic's consumption rate limit ([`PushConsumerBuilder::rate_limit`]) decided
    /// so far, by topic.
    pub fn rate_limit_stats(&self) -> Vec<(String, crate::rate_limit::PacerStats)> {
        let mut out: Vec<_> = self
            .inner
            .pacers
            .iter()
            .map(|(t, p)| (t.clone(), p.stats()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Settings for a consumer of `group`, with Java's defaults.
    pub fn builder(group: impl Into<String>) -> PushConsumerBuilder {
        PushConsumerBuilder {
            group: group.into(),
            namesrv: None,
            instance_name: None,
            credentials: None,
            tls: None,
            message_model: MessageModel::Clustering,
            consume_from: ConsumeFrom::LastOffset,
            strategy: Arc::new(Averagely),
            consume_thread_count: 20,
            consume_batch_max_size: 1,
            pull_batch_size: 32,
            pull_threshold_for_queue: 1000,
            pull_threshold_size_for_queue: 100 * 1024 * 1024,
            consume_concurrently_max_span: 2000,
            max_reconsume_times: None,
            suspend_current_queue_time: Duration::from_secs(1),
            offset_store_dir: None,
            subscriptions: Vec::new(),
            rate_limits: Vec::new(),
            listener: None,
            rpc_timeout: Duration::from_secs(3),
            await_termination: Duration::from_secs(30),
            msg_trace: false,
            trace_topic: None,
        }
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        self.inner.group()
    }

    /// This client's id (`ip@instanceName`).
    pub fn client_id(&self) -> &str {
        self.inner.instance.client_id()
    }

    /// The broadcasting offset file (none for clustering).
    pub fn offset_file(&self) -> Option<PathBuf> {
        self.inner.offsets.file().map(|p| p.to_path_buf())
    }

    /// Starts consuming: registers with the brokers (heartbeat), rebalances, and keeps doing so
    /// until [`PushConsumer::shutdown`]. Fails when already started or when the group already
    /// has a consumer under this instance name.
    pub async fn start(&self) -> Result<(), ClientError> {
        {
            let mut st = self.inner.state.lock();
            if *st != RunState::Created {
                return Err(ClientError::InvalidArgument {
                    reason: "the push consumer was started before".into(),
                });
            }
            *st = RunState::Running;
        }
        self.inner
            .started_at
            .store(ferromq_common::now_millis(), Ordering::Release);
        let hook: Arc<dyn ConsumerHook> = self.inner.clone();
        let weak: Weak<dyn ConsumerHook> = Arc::downgrade(&hook);
        drop(hook);
        self.inner
            .instance
            .register_consumer(self.inner.group(), weak)?;
        self.inner.instance.start();
        for topic in self.inner.subs.keys() {
            if let Err(e) = self.inner.instance.routes().route(topic).await {
                tracing::debug!(%topic, error = %e, "no route yet for a subscribed topic");
            }
        }
        if let Err(e) = self.check_sql_subscriptions().await {
            // Not started after all: the group leaves the instance and the broker again.
            *self.inner.state.lock() = RunState::Stopped;
            self.inner
                .instance
                .unregister(None, Some(self.inner.group()))
                .await;
            return Err(e);
        }
        self.inner.instance.send_heartbeat().await;
        rebalance::spawn_background(&self.inner);
        tracing::info!(group = %self.inner.group(), client = %self.client_id(), "push consumer started");
        Ok(())
    }

    /// Asks every broker serving a SQL92-subscribed topic whether it takes the expression.
    async fn check_sql_subscriptions(&self) -> Result<(), ClientError> {
        let instance = &self.inner.instance;
        for (topic, sub) in &self.inner.subs {
            if sub.expression_type != ferromq_proto::body::ExpressionType::Sql92 {
                continue;
            }
            let route = instance.routes().route(topic).await?;
            for bd in &route.broker_datas {
                if let Some(addr) = bd.master_addr() {
                    crate::consumer::check_client_config(
                        instance.rpc(),
                        addr,
                        instance.client_id(),
                        self.inner.group(),
                        sub,
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Queues this consumer owns now.
    pub fn assigned_queues(&self) -> Vec<MessageQueue> {
        let mut v: Vec<_> = self.inner.table.lock().keys().cloned().collect();
        v.sort();
        v
    }

    /// Flow-control figures of each owned queue.
    pub fn queue_stats(&self) -> Vec<(MessageQueue, QueueStats)> {
        let mut v: Vec<_> = self
            .inner
            .table
            .lock()
            .iter()
            .map(|(mq, pq)| (mq.clone(), pq.stats()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Runs a rebalance now (normally every 20 s and on NOTIFY_CONSUMER_IDS_CHANGED).
    pub fn rebalance_now(&self) {
        self.inner.rebalance_wake.notify_one();
    }

    /// Stops pulling, lets running listener calls finish (up to the await-termination time),
    /// commits offsets, releases orderly locks and unregisters from the brokers.
    pub async fn shutdown(&self) {
        {
            let mut st = self.inner.state.lock();
            if *st != RunState::Running {
                *st = RunState::Stopped;
                return;
            }
            *st = RunState::Stopped;
        }
        let inner = &self.inner;
        inner.stopping.store(true, Ordering::Release);
        inner.cancel.cancel();
        inner.background.close();
        inner.background.wait().await;
        inner.tasks.close();
        if tokio::time::timeout(inner.cfg.await_termination, inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(group = %inner.group(), "listener calls still running at shutdown");
        }
        let mqs: Vec<MessageQueue> = inner.table.lock().keys().cloned().collect();
        if let Err(e) = inner.offsets.persist(&inner.owned_with_lanes()).await {
            tracing::warn!(group = %inner.group(), error = %e, "committing offsets at shutdown failed");
        }
        if inner.orderly() && inner.clustering() {
            rebalance::unlock_all(inner, &mqs).await;
        }
        for pq in inner.table.lock().drain().map(|(_, pq)| pq) {
            pq.set_dropped();
            pq.clear();
        }
        for pq in inner.lanes.lock().drain().map(|(_, pq)| pq) {
            pq.set_dropped();
            pq.clear();
        }
        if let Some(tracer) = &inner.tracer {
            tracer.shutdown().await;
        }
        inner.instance.unregister(None, Some(inner.group())).await;
        inner.instance.release().await;
        tracing::info!(group = %inner.group(), "push consumer stopped");
    }
}

impl Drop for PushConsumer {
    fn drop(&mut self) {
        // Without shutdown: stop every task; offsets since the last commit are not saved.
        self.inner.stopping.store(true, Ordering::Release);
        self.inner.cancel.cancel();
    }
}
