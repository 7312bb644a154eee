//! `LitePullConsumer`: the application polls (Java `DefaultLitePullConsumer`).
//!
//! ```text
//! subscribe(topic) ─▶ rebalance (20 s / NOTIFY) ─┐
//! assign(queues) ────────────────────────────────┴▶ a pull task per queue (LITE_PULL_MESSAGE,
//!     long poll) ─▶ cache of batches (bounded per queue and in all) ─▶ poll(timeout)
//! seek(mq, offset): the queue's pull restarts at offset; batches pulled before are discarded
//! commit: consumed offsets (what poll returned) ─▶ broker / local file; auto every 5 s in poll
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ferromq_common::names;
use ferromq_proto::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, MessageModel, MessageQueue, SubscriptionData,
};
use ferromq_proto::message::MessageExt;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::allocate::{AllocateStrategy, Averagely};
use crate::broker_api;
use crate::consumer::{build_subscription, build_subscription_with, MessageSelector};
use crate::instance::{ClientInstance, ConsumerHook, DEFAULT_INSTANCE_NAME};
use crate::offset_store::{default_local_dir, OffsetStore};
use crate::push::ConsumeFrom;
use crate::route::subscribe_queues;
use crate::rpc::Credentials;
use crate::{ClientError, NameServerList};

mod pull;

use pull::{new_queue, spawn_pull, Batch, LiteQueue};

/// Settings of a [`LitePullConsumer`], with Java's defaults.
#[derive(Clone)]
pub struct LitePullConsumerBuilder {
    group: String,
    namesrv: Option<String>,
    instance_name: Option<String>,
    credentials: Option<Credentials>,
    tls: Option<crate::TlsClient>,
    message_model: MessageModel,
    consume_from: ConsumeFrom,
    strategy: Arc<dyn AllocateStrategy>,
    auto_commit: bool,
    auto_commit_interval: Duration,
    pull_batch_size: i32,
    pull_threshold_for_queue: usize,
    pull_threshold_for_all: usize,
    offset_store_dir: Option<PathBuf>,
}

impl LitePullConsumerBuilder {
    /// Name-server list; `NAMESRV_ADDR` when not set.
    pub fn namesrv_addr(mut self, addr: impl Into<String>) -> Self {
        self.namesrv = Some(addr.into());
        self
    }

    /// Instance name (see the push consumer's).
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

    /// Queue allocation strategy of subscribe mode (default [`Averagely`]).
    pub fn allocate_strategy(mut self, strategy: impl AllocateStrategy) -> Self {
        self.strategy = Arc::new(strategy);
        self
    }

    /// Commit polled offsets automatically (default true), every `interval` (default 5 s).
    pub fn auto_commit(mut self, on: bool, interval: Duration) -> Self {
        self.auto_commit = on;
        self.auto_commit_interval = interval;
        self
    }

    /// Messages per pull, and so at most per poll (default 10).
    pub fn pull_batch_size(mut self, n: i32) -> Self {
        self.pull_batch_size = n.clamp(1, 1024);
        self
    }

    /// Messages cached per queue before its pulling pauses (default 1000).
    pub fn pull_threshold_for_queue(mut self, n: usize) -> Self {
        self.pull_threshold_for_queue = n;
        self
    }

    /// Directory of broadcasting offset files (default `~/.rocketmq_offsets`).
    pub fn offset_store_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.offset_store_dir = Some(dir.into());
        self
    }

    /// Builds the consumer (not started).
    pub fn build(self) -> Result<LitePullConsumer, ClientError> {
        names::validate_group(&self.group)?;
        let namesrv = NameServerList::resolve(self.namesrv.as_deref())?;
        let clustering = self.message_model == MessageModel::Clustering;
        let instance_name = match self.instance_name.as_deref() {
            Some(n) if !(clustering && n == DEFAULT_INSTANCE_NAME) => n.to_owned(),
            None if !clustering => DEFAULT_INSTANCE_NAME.to_owned(),
            _ => crate::client_id::default_instance_name(),
        };
        let instance = ClientInstance::acquire(
            namesrv,
            &instance_name,
            Duration::from_secs(3),
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
        Ok(LitePullConsumer {
            inner: Arc::new(LiteInner {
                instance,
                offsets,
                subs: Mutex::default(),
                mode: Mutex::new(Mode::Unset),
                queues: Mutex::default(),
                lanes: Mutex::default(),
                gate: crate::priority::Gate::default(),
                cache: Mutex::default(),
                cached: AtomicUsize::new(0),
                arrived: Notify::new(),
                last_commit: Mutex::new(Instant::now()),
                cancel: CancellationToken::new(),
                background: TaskTracker::new(),
                rebalance_wake: Notify::new(),
                started: AtomicBool::new(false),
                stopped: AtomicBool::new(false),
                cfg: self,
            }),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Unset,
    Subscribe,
    Assign,
}

struct LiteInner {
    cfg: LitePullConsumerBuilder,
    instance: Arc<ClientInstance>,
    offsets: OffsetStore,
    subs: Mutex<BTreeMap<String, SubscriptionData>>,
    mode: Mutex<Mode>,
    queues: Mutex<HashMap<MessageQueue, Arc<LiteQueue>>>,
    /// Priority lanes of the queues being pulled (see [`crate::priority`]).
    lanes: Mutex<HashMap<MessageQueue, Arc<LiteQueue>>>,
    /// Queues draining their lanes hold back normal pulls.
    gate: crate::priority::Gate,
    cache: Mutex<VecDeque<Batch>>,
    cached: AtomicUsize,
    arrived: Notify,
    last_commit: Mutex<Instant>,
    cancel: CancellationToken,
    background: TaskTracker,
    rebalance_wake: Notify,
    started: AtomicBool,
    stopped: AtomicBool,
}

impl ConsumerHook for LiteInner {
    fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            consume_from_where: match self.cfg.consume_from {
                ConsumeFrom::LastOffset => ConsumeFromWhere::LastOffset,
                ConsumeFrom::FirstOffset => ConsumeFromWhere::FirstOffset,
                ConsumeFrom::Timestamp(_) => ConsumeFromWhere::Timestamp,
            },
            consume_type: ConsumeType::Actively,
            group_name: self.cfg.group.clone(),
            message_model: self.cfg.message_model.clone(),
            subscription_data_set: self.subs.lock().values().cloned().collect(),
            unit_mode: false,
        }
    }

    fn ids_changed(&self) {
        self.rebalance_wake.notify_one();
    }

    /// As [`LitePullConsumer::seek`] for every assigned queue of `topic` in `offsets` (Java's
    /// lite consumer ignores the request; moving it too keeps `resetOffsetByTime` effective).
    fn reset_offset(self: Arc<Self>, topic: String, offsets: BTreeMap<MessageQueue, i64>) {
        let queues: Vec<(Arc<LiteQueue>, i64)> = self
            .queues
            .lock()
            .iter()
            .filter(|(mq, _)| mq.topic == topic)
            .filter_map(|(mq, q)| offsets.get(mq).map(|o| (Arc::clone(q), *o)))
            .collect();
        for (q, offset) in queues {
            q.generation.fetch_add(1, Ordering::AcqRel);
            q.pull_offset.store(offset, Ordering::Release);
            q.consume_offset.store(offset, Ordering::Release);
            self.offsets.update(&q.mq, offset, false);
            q.seeked.notify_waiters();
        }
    }
}

/// A consumer the application polls. See the module docs.
pub struct LitePullConsumer {
    inner: Arc<LiteInner>,
}

impl LitePullConsumer {
    /// Settings for a consumer of `group`.
    pub fn builder(group: impl Into<String>) -> LitePullConsumerBuilder {
        LitePullConsumerBuilder {
            group: group.into(),
            namesrv: None,
            instance_name: None,
            credentials: None,
            tls: None,
            message_model: MessageModel::Clustering,
            consume_from: ConsumeFrom::LastOffset,
            strategy: Arc::new(Averagely),
            auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            pull_batch_size: 10,
            pull_threshold_for_queue: 1000,
            pull_threshold_for_all: 10_000,
            offset_store_dir: None,
        }
    }

    /// This client's id.
    pub fn client_id(&self) -> &str {
        self.inner.instance.client_id()
    }

    /// Subscribes to `topic` (queues come from rebalancing). Not allowed after `assign`.
    pub fn subscribe(&self, topic: &str, expression: &str) -> Result<(), ClientError> {
        self.subscribe_with(topic, &MessageSelector::Tag(expression.to_owned()))
    }

    /// Subscribes to `topic` with a SQL92 expression filtered on the broker (which needs
    /// `enablePropertyFilter=true`); an expression that does not parse is refused here.
    pub fn subscribe_sql(&self, topic: &str, expression: &str) -> Result<(), ClientError> {
        self.subscribe_with(topic, &MessageSelector::Sql92(expression.to_owned()))
    }

    /// Subscribes to `topic` with `selector`; a later call for the same topic replaces it, and
    /// the next pulls use the new expression.
    pub fn subscribe_with(
        &self,
        topic: &str,
        selector: &MessageSelector,
    ) -> Result<(), ClientError> {
        names::validate_topic(topic)?;
        let sub = build_subscription_with(topic, selector)?;
        self.set_mode(Mode::Subscribe)?;
        self.inner.subs.lock().insert(topic.to_owned(), sub);
        self.inner.rebalance_wake.notify_one();
        Ok(())
    }

    /// Consumes exactly `queues` (no rebalancing). Not allowed after `subscribe`; a later call
    /// replaces the set.
    pub fn assign(&self, queues: Vec<MessageQueue>) -> Result<(), ClientError> {
        self.set_mode(Mode::Assign)?;
        {
            let mut subs = self.inner.subs.lock();
            for q in &queues {
                subs.entry(q.topic.clone())
                    .or_insert_with(|| build_subscription(&q.topic, "*"));
            }
        }
        let set: BTreeSet<MessageQueue> = queues.into_iter().collect();
        if self.inner.started.load(Ordering::Acquire) {
            update_assignment(&self.inner, None, &set);
        } else {
            let mut qs = self.inner.queues.lock();
            for mq in set {
                qs.entry(mq.clone()).or_insert_with(|| new_queue(mq));
            }
        }
        Ok(())
    }

    fn set_mode(&self, want: Mode) -> Result<(), ClientError> {
        let mut mode = self.inner.mode.lock();
        if *mode != Mode::Unset && *mode != want {
            return Err(ClientError::InvalidArgument {
                reason: "subscribe and assign are mutually exclusive".into(),
            });
        }
        *mode = want;
        Ok(())
    }

    /// Starts pulling.
    pub async fn start(&self) -> Result<(), ClientError> {
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return Err(ClientError::InvalidArgument {
                reason: "the lite pull consumer was started before".into(),
            });
        }
        let hook: Arc<dyn ConsumerHook> = self.inner.clone();
        let weak: Weak<dyn ConsumerHook> = Arc::downgrade(&hook);
        drop(hook);
        self.inner
            .instance
            .register_consumer(&self.inner.cfg.group, weak)?;
        self.inner.instance.start();
        let topics: Vec<String> = self.inner.subs.lock().keys().cloned().collect();
        for t in &topics {
            if let Err(e) = self.inner.instance.routes().route(t).await {
                tracing::debug!(topic = %t, error = %e, "no route yet");
            }
        }
        self.inner.instance.send_heartbeat().await;
        let queues: Vec<Arc<LiteQueue>> = self.inner.queues.lock().values().cloned().collect();
        for q in queues {
            spawn_pull(&self.inner, q);
        }
        let inner = Arc::clone(&self.inner);
        self.inner.background.spawn(async move {
            loop {
                if *inner.mode.lock() == Mode::Subscribe {
                    rebalance(&inner).await;
                }
                tokio::select! {
                    _ = inner.cancel.cancelled() => return,
                    _ = inner.rebalance_wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(20)) => {}
                }
            }
        });
        Ok(())
    }

    /// Waits up to `timeout` for messages; returns the next pulled batch of one queue (empty
    /// when none came). With auto commit, offsets of earlier polls are committed every interval.
    pub async fn poll(&self, timeout: Duration) -> Vec<MessageExt> {
        if self.inner.cfg.auto_commit {
            let due =
                self.inner.last_commit.lock().elapsed() >= self.inner.cfg.auto_commit_interval;
            if due {
                self.commit_sync().await;
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.arrived.notified();
            while let Some(b) = self.inner.cache.lock().pop_front() {
                let n = b.msgs.len();
                b.queue.cached.fetch_sub(n, Ordering::AcqRel);
                self.inner.cached.fetch_sub(n, Ordering::AcqRel);
                if b.queue.dropped.load(Ordering::Acquire)
                    || b.generation != b.queue.generation.load(Ordering::Acquire)
                {
                    continue;
                }
                if let Some(last) = b.msgs.last() {
                    b.queue
                        .consume_offset
                        .store(last.queue_offset + 1, Ordering::Release);
                }
                return b.msgs;
            }
            if self.inner.stopped.load(Ordering::Acquire) {
                return Vec::new();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Vec::new();
            }
        }
    }

    /// The queues being consumed.
    pub fn assignment(&self) -> Vec<MessageQueue> {
        let mut v: Vec<_> = self.inner.queues.lock().keys().cloned().collect();
        v.sort();
        v
    }

    /// The readable queues of `topic`.
    pub async fn fetch_message_queues(
        &self,
        topic: &str,
    ) -> Result<Vec<MessageQueue>, ClientError> {
        let route = self.inner.instance.routes().route(topic).await?;
        Ok(subscribe_queues(topic, &route))
    }

    fn queue(&self, mq: &MessageQueue) -> Result<Arc<LiteQueue>, ClientError> {
        self.inner
            .queues
            .lock()
            .get(mq)
            .cloned()
            .ok_or_else(|| ClientError::InvalidArgument {
                reason: format!("the message queue is not in assigned list: {mq:?}"),
            })
    }

    /// Makes the next poll of `mq` start at `offset` (within the queue's min and max offsets);
    /// messages pulled before are discarded.
    pub async fn seek(&self, mq: &MessageQueue, offset: i64) -> Result<(), ClientError> {
        let q = self.queue(mq)?;
        let (rpc, routes) = (self.inner.instance.rpc(), self.inner.instance.routes());
        let min = broker_api::min_offset(rpc, routes, mq).await?;
        let max = broker_api::max_offset(rpc, routes, mq).await?;
        if offset < min || offset > max {
            return Err(ClientError::InvalidArgument {
                reason: format!("seek offset illegal, seek offset = {offset}, min offset = {min}, max offset = {max}"),
            });
        }
        q.generation.fetch_add(1, Ordering::AcqRel);
        q.pull_offset.store(offset, Ordering::Release);
        q.consume_offset.store(offset, Ordering::Release);
        q.seeked.notify_waiters();
        Ok(())
    }

    /// [`LitePullConsumer::seek`] to the queue's first offset.
    pub async fn seek_to_begin(&self, mq: &MessageQueue) -> Result<(), ClientError> {
        let min =
            broker_api::min_offset(self.inner.instance.rpc(), self.inner.instance.routes(), mq)
                .await?;
        self.seek(mq, min).await
    }

    /// [`LitePullConsumer::seek`] to the queue's end.
    pub async fn seek_to_end(&self, mq: &MessageQueue) -> Result<(), ClientError> {
        let max =
            broker_api::max_offset(self.inner.instance.rpc(), self.inner.instance.routes(), mq)
                .await?;
        self.seek(mq, max).await
    }

    /// Stops pulling `queues` until resumed.
    pub fn pause(&self, queues: &[MessageQueue]) {
        for q in self.inner.queues.lock().values() {
            if queues.contains(&q.mq) {
                q.paused.store(true, Ordering::Release);
            }
        }
    }

    /// Resumes pulling `queues`.
    pub fn resume(&self, queues: &[MessageQueue]) {
        for q in self.inner.queues.lock().values() {
            if queues.contains(&q.mq) {
                q.paused.store(false, Ordering::Release);
            }
        }
    }

    /// Commits the offsets of everything polled so far (manual commit).
    pub async fn commit_sync(&self) {
        commit_all(&self.inner).await;
    }

    /// The committed offset of `mq` in the store (broker or file), `None` when there is none.
    pub async fn committed(&self, mq: &MessageQueue) -> Result<Option<i64>, ClientError> {
        self.inner.offsets.read_from_store(mq).await
    }

    /// Stops pulling, commits (with auto commit) and unregisters.
    pub async fn shutdown(&self) {
        if self.inner.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        self.inner.cancel.cancel();
        self.inner.arrived.notify_waiters();
        self.inner.background.close();
        self.inner.background.wait().await;
        if self.inner.cfg.auto_commit {
            commit_all(&self.inner).await;
        }
        if self.inner.started.load(Ordering::Acquire) {
            self.inner
                .instance
                .unregister(None, Some(&self.inner.cfg.group))
                .await;
        }
        self.inner.instance.release().await;
    }
}

impl Drop for LitePullConsumer {
    fn drop(&mut self) {
        self.inner.cancel.cancel();
    }
}

async fn commit_all(inner: &Arc<LiteInner>) {
    *inner.last_commit.lock() = Instant::now();
    let mut queues: Vec<Arc<LiteQueue>> = inner.queues.lock().values().cloned().collect();
    queues.extend(inner.lanes.lock().values().cloned());
    let mut mqs = Vec::new();
    for q in queues {
        let o = q.consume_offset.load(Ordering::Acquire);
        if o >= 0 {
            inner.offsets.update(&q.mq, o, false);
            mqs.push(q.mq.clone());
        }
    }
    if let Err(e) = inner.offsets.persist(&mqs).await {
        tracing::warn!(group = %inner.cfg.group, error = %e, "committing offsets failed");
    }
}

/// Replaces the queues of `topic` (all queues when `None`) by `target`.
fn update_assignment(inner: &Arc<LiteInner>, topic: Option<&str>, target: &BTreeSet<MessageQueue>) {
    let mut added = Vec::new();
    let mut removed = Vec::new();
    {
        let mut qs = inner.queues.lock();
        qs.retain(|mq, q| {
            let keep = topic.is_some_and(|t| mq.topic != t) || target.contains(mq);
            if !keep {
                q.dropped.store(true, Ordering::Release);
                q.seeked.notify_waiters();
                removed.push(Arc::clone(q));
            }
            keep
        });
        for mq in target {
            if !qs.contains_key(mq) {
                let q = new_queue(mq.clone());
                qs.insert(mq.clone(), Arc::clone(&q));
                added.push(q);
            }
        }
    }
    for q in added {
        spawn_pull(inner, q);
    }
    if !removed.is_empty() {
        let mut gone_lanes = Vec::new();
        inner.lanes.lock().retain(|l, lq| {
            let gone = removed
                .iter()
                .any(|q| crate::priority::is_lane_of(l, &q.mq));
            if gone {
                lq.dropped.store(true, Ordering::Release);
                gone_lanes.push(Arc::clone(lq));
            }
            !gone
        });
        removed.extend(gone_lanes);
    }
    if !removed.is_empty() {
        let i = Arc::clone(inner);
        inner.background.spawn(async move {
            let mut mqs = Vec::new();
            for q in removed {
                let o = q.consume_offset.load(Ordering::Acquire);
                if o >= 0 {
                    i.offsets.update(&q.mq, o, false);
                    mqs.push(q.mq.clone());
                }
            }
            if let Err(e) = i.offsets.persist(&mqs).await {
                tracing::debug!(error = %e, "committing offsets of released queues failed");
            }
            for mq in &mqs {
                i.offsets.remove(mq);
            }
        });
    }
}

async fn rebalance(inner: &Arc<LiteInner>) {
    let topics: Vec<String> = inner.subs.lock().keys().cloned().collect();
    for topic in topics {
        match crate::push::allocate_topic(
            &inner.instance,
            &inner.cfg.group,
            &inner.cfg.message_model,
            inner.cfg.strategy.as_ref(),
            &topic,
        )
        .await
        {
            Ok(target) => update_assignment(inner, Some(&topic), &target),
            Err(e) => {
                tracing::debug!(%topic, error = %e, "lite rebalance skipped");
                if crate::push::forgotten_by_broker(&e) {
                    inner.instance.send_heartbeat().await;
                }
            }
        }
    }
}
