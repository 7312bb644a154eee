//! Rebalancing of a push consumer (Java `RebalanceImpl` / `RebalancePushImpl`), its periodic
//! jobs (offset commits every 5 s, orderly lock renewal every 20 s), and the queue locks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ferromq_common::names;
use ferromq_proto::body::{MessageModel, MessageQueue};

use super::process_queue::ProcessQueue;
use super::{pull_loop, sleep_or_cancel, ConsumeFrom, PushInner};
use crate::allocate::AllocateStrategy;
use crate::broker_api;
use crate::instance::ClientInstance;
use crate::route::subscribe_queues;
use crate::ClientError;

/// Java `rebalanceInterval`.
pub const REBALANCE_INTERVAL: Duration = Duration::from_secs(20);
/// Java `persistConsumerOffsetInterval`.
pub const PERSIST_INTERVAL: Duration = Duration::from_secs(5);
/// Java `REBALANCE_LOCK_INTERVAL`.
pub const LOCK_RENEW_INTERVAL: Duration = Duration::from_secs(20);
/// Retry delay of a rebalance that could not lock or release every queue.
const REBALANCE_LATER: Duration = Duration::from_millis(500);
/// How long a rebalance waits for a running orderly listener before giving up on a queue for now.
const UNLOCK_WAIT: Duration = Duration::from_secs(1);

/// Starts the rebalance loop (at once, every 20 s, and when woken), the offset commits and, for
/// orderly clustering consumers, the lock renewal.
pub(crate) fn spawn_background(inner: &Arc<PushInner>) {
    let i = Arc::clone(inner);
    inner.background.spawn(async move {
        loop {
            let retry_soon = rebalance(&i).await;
            let wait = if retry_soon {
                REBALANCE_LATER
            } else {
                REBALANCE_INTERVAL
            };
            tokio::select! {
                _ = i.cancel.cancelled() => return,
                _ = i.rebalance_wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    });
    let i = Arc::clone(inner);
    inner.background.spawn(async move {
        while sleep_or_cancel(&i.cancel, PERSIST_INTERVAL).await {
            let mqs = i.owned_with_lanes();
            if let Err(e) = i.offsets.persist(&mqs).await {
                tracing::debug!(group = %i.group(), error = %e, "periodic offset commit failed");
            }
        }
    });
    if inner.orderly() && inner.clustering() {
        let i = Arc::clone(inner);
        inner.background.spawn(async move {
            while sleep_or_cancel(&i.cancel, LOCK_RENEW_INTERVAL).await {
                lock_all(&i).await;
            }
        });
    }
}

/// One rebalance over every subscribed topic. Returns true when it should run again soon (a
/// queue could not be locked or released).
pub(crate) async fn rebalance(inner: &Arc<PushInner>) -> bool {
    let mut retry_soon = false;
    for topic in inner.subs.keys() {
        if inner.cancel.is_cancelled() {
            return false;
        }
        match target_queues(inner, topic).await {
            Ok(target) => retry_soon |= update_table(inner, topic, &target).await,
            Err(e) => {
                tracing::debug!(group = %inner.group(), %topic, error = %e, "rebalance of topic skipped");
                if forgotten_by_broker(&e) {
                    // A restarted broker lost the group: register again now, not in 30 s.
                    inner.instance.send_heartbeat().await;
                    retry_soon = true;
                }
            }
        }
    }
    retry_soon
}

async fn target_queues(
    inner: &Arc<PushInner>,
    topic: &str,
) -> Result<BTreeSet<MessageQueue>, ClientError> {
    allocate_topic(
        &inner.instance,
        inner.group(),
        &inner.cfg.message_model,
        inner.cfg.strategy.as_ref(),
        topic,
    )
    .await
}

/// True for GET_CONSUMER_LIST_BY_GROUP's "no consumer for this group" (SYSTEM_ERROR), what a
/// broker that has not seen this client's heartbeat answers.
pub(crate) fn forgotten_by_broker(e: &ClientError) -> bool {
    e.response_code() == Some(ferromq_proto::codes::response::SYSTEM_ERROR)
}

/// The queues of `topic` this client should own: all of them when broadcasting, its share by
/// `strategy` over the group's sorted client ids when clustering.
pub(crate) async fn allocate_topic(
    instance: &ClientInstance,
    group: &str,
    model: &MessageModel,
    strategy: &dyn AllocateStrategy,
    topic: &str,
) -> Result<BTreeSet<MessageQueue>, ClientError> {
    let routes = instance.routes();
    let route = routes.route(topic).await?;
    let mqs = subscribe_queues(topic, &route);
    if *model == MessageModel::Broadcasting {
        return Ok(mqs.into_iter().collect());
    }
    let cids = broker_api::consumer_ids(instance.rpc(), routes, group, topic).await?;
    let mine = strategy.allocate(group, instance.client_id(), &mqs, &cids);
    tracing::debug!(group, %topic, consumers = cids.len(), queues = mqs.len(), mine = mine.len(), "allocated");
    Ok(mine.into_iter().collect())
}

/// Drops queues no longer assigned, creates the newly assigned ones (Java
/// `updateProcessQueueTableInRebalance`). Returns true when something must be retried soon.
async fn update_table(
    inner: &Arc<PushInner>,
    topic: &str,
    target: &BTreeSet<MessageQueue>,
) -> bool {
    let mut retry = false;
    let current: Vec<(MessageQueue, Arc<ProcessQueue>)> = inner
        .table
        .lock()
        .iter()
        .filter(|(mq, _)| mq.topic == topic)
        .map(|(mq, pq)| (mq.clone(), Arc::clone(pq)))
        .collect();
    for (mq, pq) in current {
        if target.contains(&mq) && !pq.dropped() && !pq.pull_expired() {
            continue;
        }
        pq.set_dropped();
        if remove_queue(inner, &mq, &pq).await {
            let mut table = inner.table.lock();
            if table.get(&mq).is_some_and(|p| Arc::ptr_eq(p, &pq)) {
                table.remove(&mq);
            }
            tracing::info!(group = %inner.group(), queue = ?mq, "queue released");
        } else {
            retry = true;
        }
    }
    for mq in target {
        if inner.cancel.is_cancelled() {
            break;
        }
        if inner.table.lock().contains_key(mq) {
            continue;
        }
        let orderly_locked = inner.orderly() && inner.clustering();
        if orderly_locked && !lock_queue(inner, mq).await {
            tracing::debug!(group = %inner.group(), queue = ?mq, "queue still locked by another consumer");
            retry = true;
            continue;
        }
        inner.offsets.remove(mq);
        match compute_pull_from_where(inner, mq).await {
            Ok(offset) => {
                let pq = Arc::new(ProcessQueue::default());
                if orderly_locked {
                    pq.set_locked(true);
                }
                inner.table.lock().insert(mq.clone(), Arc::clone(&pq));
                tracing::info!(group = %inner.group(), queue = ?mq, offset, "queue assigned");
                pull_loop::spawn(inner, mq.clone(), pq, offset);
            }
            Err(e) => {
                tracing::warn!(group = %inner.group(), queue = ?mq, error = %e, "cannot find where to start, will retry");
                retry = true;
            }
        }
    }
    retry
}

/// RESET_CONSUMER_CLIENT_OFFSET (Java `MQClientInstance.resetOffset`): every owned queue of
/// `topic` named in `offsets` is dropped with its cached messages, the new offset is committed,
/// and the queue is given up; the rebalance that follows at once takes it back and starts
/// pulling from the committed offset. Java waits 10 s for running listener calls; here a
/// dropped queue's calls no longer move its offset, so the reset applies at once.
pub(crate) async fn reset_offsets(
    inner: &Arc<PushInner>,
    topic: &str,
    offsets: &BTreeMap<MessageQueue, i64>,
) {
    let affected: Vec<(MessageQueue, Arc<ProcessQueue>, i64)> = inner
        .table
        .lock()
        .iter()
        .filter(|(mq, _)| mq.topic == topic)
        .filter_map(|(mq, pq)| offsets.get(mq).map(|o| (mq.clone(), Arc::clone(pq), *o)))
        .collect();
    for (mq, pq, offset) in affected {
        pq.set_dropped();
        pq.clear();
        inner.offsets.update(&mq, offset, false);
        if remove_queue(inner, &mq, &pq).await {
            let mut table = inner.table.lock();
            if table.get(&mq).is_some_and(|p| Arc::ptr_eq(p, &pq)) {
                table.remove(&mq);
            }
        }
        tracing::info!(group = %inner.group(), queue = ?mq, offset, "offset reset by the broker");
    }
    inner.rebalance_wake.notify_one();
}

/// Gives a queue up: commits its offset and, for orderly consumption, releases the broker lock
/// once no listener call runs on it. False when a listener call is still running (try again).
async fn remove_queue(inner: &Arc<PushInner>, mq: &MessageQueue, pq: &Arc<ProcessQueue>) -> bool {
    let _guard = if inner.orderly() && inner.clustering() {
        match tokio::time::timeout(UNLOCK_WAIT, pq.consume_lock.lock()).await {
            Ok(g) => Some(g),
            Err(_) => return false,
        }
    } else {
        None
    };
    let mut mqs = vec![mq.clone()];
    mqs.extend(inner.drop_lanes(mq));
    if let Err(e) = inner.offsets.persist(&mqs).await {
        tracing::warn!(group = %inner.group(), queue = ?mq, error = %e, "committing the offset of a released queue failed");
    }
    for m in &mqs {
        inner.offsets.remove(m);
    }
    if inner.orderly() && inner.clustering() {
        unlock_all(inner, std::slice::from_ref(mq)).await;
    }
    pq.clear();
    true
}

/// Where a newly assigned queue starts (Java `computePullFromWhereWithException`).
pub(super) async fn compute_pull_from_where(
    inner: &Arc<PushInner>,
    mq: &MessageQueue,
) -> Result<i64, ClientError> {
    if let Some(offset) = inner.offsets.read_from_store(mq).await? {
        return Ok(offset);
    }
    let (rpc, routes) = (inner.instance.rpc(), inner.instance.routes());
    let retry = names::is_retry_topic(&mq.topic);
    match inner.cfg.consume_from {
        ConsumeFrom::LastOffset if retry => Ok(0),
        ConsumeFrom::LastOffset => broker_api::max_offset(rpc, routes, mq).await,
        ConsumeFrom::FirstOffset => Ok(0),
        ConsumeFrom::Timestamp(_) if retry => broker_api::max_offset(rpc, routes, mq).await,
        ConsumeFrom::Timestamp(ts) => broker_api::search_offset(rpc, routes, mq, ts).await,
    }
}

/// LOCK_BATCH_MQ for one queue; true when this client holds it now.
pub(crate) async fn lock_queue(inner: &Arc<PushInner>, mq: &MessageQueue) -> bool {
    let routes = inner.instance.routes();
    let addr = match routes.broker_addr(&mq.topic, &mq.broker_name, true).await {
        Ok(a) => a,
        Err(e) => {
            tracing::debug!(queue = ?mq, error = %e, "no broker to lock the queue on");
            return false;
        }
    };
    let granted = broker_api::lock_batch(
        inner.instance.rpc(),
        &addr,
        inner.group(),
        inner.instance.client_id(),
        BTreeSet::from([mq.clone()]),
    )
    .await;
    let ok = granted.is_ok_and(|g| g.contains(mq));
    if let Some(pq) = inner.table.lock().get(mq) {
        pq.set_locked(ok);
    }
    ok
}

fn by_broker(
    mqs: impl IntoIterator<Item = MessageQueue>,
) -> BTreeMap<String, BTreeSet<MessageQueue>> {
    let mut map: BTreeMap<String, BTreeSet<MessageQueue>> = BTreeMap::new();
    for mq in mqs {
        map.entry(mq.broker_name.clone()).or_default().insert(mq);
    }
    map
}

/// Renews the locks of every owned queue, broker by broker (Java `lockAll`).
async fn lock_all(inner: &Arc<PushInner>) {
    let owned: Vec<(MessageQueue, Arc<ProcessQueue>)> = inner
        .table
        .lock()
        .iter()
        .map(|(mq, pq)| (mq.clone(), Arc::clone(pq)))
        .collect();
    let groups = by_broker(owned.iter().map(|(mq, _)| mq.clone()));
    for (broker, mqs) in groups {
        let Some(topic) = mqs.first().map(|m| m.topic.clone()) else {
            continue;
        };
        let routes = inner.instance.routes();
        let Ok(addr) = routes.broker_addr(&topic, &broker, true).await else {
            continue;
        };
        match broker_api::lock_batch(
            inner.instance.rpc(),
            &addr,
            inner.group(),
            inner.instance.client_id(),
            mqs.clone(),
        )
        .await
        {
            Ok(granted) => {
                for (mq, pq) in owned.iter().filter(|(m, _)| mqs.contains(m)) {
                    let ok = granted.contains(mq);
                    if !ok && pq.lock_valid() {
                        tracing::warn!(group = %inner.group(), queue = ?mq, "lost the lock of a queue");
                    }
                    pq.set_locked(ok);
                }
            }
            Err(e) => tracing::debug!(%broker, error = %e, "lock renewal failed"),
        }
    }
}

/// UNLOCK_BATCH_MQ for `mqs`, broker by broker.
pub(crate) async fn unlock_all(inner: &Arc<PushInner>, mqs: &[MessageQueue]) {
    for (broker, set) in by_broker(mqs.iter().cloned()) {
        let Some(topic) = set.first().map(|m| m.topic.clone()) else {
            continue;
        };
        let routes = inner.instance.routes();
        let Ok(addr) = routes.broker_addr(&topic, &broker, true).await else {
            continue;
        };
        if let Err(e) = broker_api::unlock_batch(
            inner.instance.rpc(),
            &addr,
            inner.group(),
            inner.instance.client_id(),
            set,
        )
        .await
        {
            tracing::debug!(%broker, error = %e, "unlock failed");
        }
    }
}
