//! `ClientInstance`: what the producers and consumers of one client id share (Java
//! `MQClientInstance`): the connection pool, the route cache, the heartbeat, and the handler of
//! requests brokers send back over our connections.
//!
//! ```text
//! Producer ─┐                        ┌─▶ heartbeat every 30 s to every master of the cached routes
//! PushConsumer ─┼─▶ ClientInstance ──┤
//! LitePullConsumer ┘  (ip@instance)  └─◀ NOTIFY_CONSUMER_IDS_CHANGED ─▶ that group's rebalance
//! ```
//!
//! Clients built with the same instance name in one process share one instance (and so one
//! client id, one set of connections); different instance names give independent instances. The
//! instance lives while a client holds it; the last release (at shutdown) stops its
//! heartbeat and closes its connections.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use ferromq_net::{BoxFuture, ConnectionHandle, Handler, RemotingClient};
use ferromq_proto::body::{
    ConsumerData, HeartbeatData, JsonBody, MessageQueue, ProducerData, ResetOffsetBody,
};
use ferromq_proto::codes::{request, response};
use ferromq_proto::header::NoHeader;
use ferromq_proto::headers::{
    ConsumerGroupHeader, ResetOffsetRequestHeader, UnregisterClientRequestHeader,
};
use ferromq_proto::message::UniqKeyGenerator;
use ferromq_proto::RemotingCommand;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::request::{serve_push, PendingRequests};
use crate::route::RouteCache;
use crate::rpc::{Credentials, Rpc};
use crate::transaction::CheckListener;
use crate::{client_id, ClientError, NameServerList};

/// Java's heartbeat period (`heartbeatBrokerInterval`).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);

/// Java's default instance name; producers and clustering consumers replace it with
/// `pid#nanos` so that every client of a process is distinct (`changeInstanceNameToPID`).
pub const DEFAULT_INSTANCE_NAME: &str = "DEFAULT";

/// What a consumer tells its instance.
pub(crate) trait ConsumerHook: Send + Sync {
    /// The consumer's entry in heartbeats.
    fn consumer_data(&self) -> ConsumerData;
    /// A broker said the group's membership changed: rebalance now.
    fn ids_changed(&self);
    /// RESET_CONSUMER_CLIENT_OFFSET: an admin moved the group's offsets of `topic`; drop what
    /// is cached for those queues and continue from `offsets`. Default: ignored.
    fn reset_offset(self: Arc<Self>, topic: String, offsets: BTreeMap<MessageQueue, i64>) {
        let _ = (topic, offsets);
    }
    /// GET_CONSUMER_RUNNING_INFO: the consumer's view of itself. Default: none.
    fn running_info(&self) -> Option<ferromq_proto::body::ConsumerRunningInfo> {
        None
    }
    /// CONSUME_MESSAGE_DIRECTLY: runs the listener on `msg` (stored on `broker_name`).
    /// Default: none (no listener).
    fn consume_directly(
        self: Arc<Self>,
        msg: ferromq_proto::message::MessageExt,
        broker_name: String,
    ) -> Option<BoxFuture<'static, ferromq_proto::body::ConsumeMessageDirectlyResult>> {
        let _ = (msg, broker_name);
        None
    }
}

/// Shared state of one client id.
pub struct ClientInstance {
    client_id: String,
    rpc: Rpc,
    routes: RouteCache,
    uniq: UniqKeyGenerator,
    users: AtomicUsize,
    started: AtomicBool,
    producers: Mutex<BTreeMap<String, usize>>,
    consumers: Mutex<HashMap<String, Weak<dyn ConsumerHook>>>,
    requests: Arc<PendingRequests>,
    /// Producer group → the listener answering the broker's transaction checks.
    checkers: Mutex<HashMap<String, CheckListener>>,
    cancel: CancellationToken,
}

fn registry() -> &'static Mutex<HashMap<String, Weak<ClientInstance>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, Weak<ClientInstance>>>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

/// Serves requests brokers send to this client (section 2.2 of the protocol notes).
struct ServerRequests {
    instance: Weak<ClientInstance>,
}

impl Handler for ServerRequests {
    fn handle(
        &self,
        conn: ConnectionHandle,
        req: RemotingCommand,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        let resp = match req.code {
            request::NOTIFY_CONSUMER_IDS_CHANGED => {
                match (
                    req.decode_header::<ConsumerGroupHeader>(),
                    self.instance.upgrade(),
                ) {
                    (Ok(h), Some(instance)) => {
                        tracing::debug!(group = %h.consumer_group, "consumer ids changed");
                        instance.ids_changed(&h.consumer_group);
                    }
                    (Err(e), _) => tracing::debug!(error = %e, "bad NOTIFY_CONSUMER_IDS_CHANGED"),
                    _ => {}
                }
                None
            }
            request::RESET_CONSUMER_CLIENT_OFFSET => {
                match self.instance.upgrade() {
                    Some(instance) => instance.reset_offset(&req),
                    None => tracing::debug!("RESET_CONSUMER_CLIENT_OFFSET while shutting down"),
                }
                None
            }
            request::GET_CONSUMER_RUNNING_INFO => Some(match self.instance.upgrade() {
                Some(instance) => crate::client_calls::running_info(&instance, &req),
                None => shutting_down(&req),
            }),
            request::CONSUME_MESSAGE_DIRECTLY => {
                let instance = self.instance.upgrade();
                return Box::pin(async move {
                    Some(match instance {
                        Some(i) => crate::client_calls::consume_directly(&i, &req).await,
                        None => shutting_down(&req),
                    })
                });
            }
            request::PUSH_REPLY_MESSAGE_TO_CLIENT => Some(match self.instance.upgrade() {
                Some(instance) => serve_push(&instance.requests, &req),
                None => req.response_to(
                    response::SYSTEM_ERROR,
                    Some("the client is shutting down".into()),
                ),
            }),
            request::CHECK_TRANSACTION_STATE => {
                // One-way: the answer is an END_TRANSACTION request on the same connection.
                let listener = self.instance.upgrade().and_then(|i| {
                    let group = ferromq_proto::message::record::decode_record(&req.body)
                        .ok()
                        .and_then(|(m, _)| {
                            m.properties
                                .get(ferromq_proto::message::properties::PGROUP)
                                .map(str::to_owned)
                        })?;
                    i.checkers.lock().get(&group).cloned()
                });
                let credentials = self
                    .instance
                    .upgrade()
                    .and_then(|i| i.rpc.credentials().cloned());
                return Box::pin(async move {
                    crate::transaction::serve_check(listener, credentials, conn, req).await;
                    None
                });
            }
            code => Some(req.response_to(
                response::REQUEST_CODE_NOT_SUPPORTED,
                Some(format!(" request type {code} not supported")),
            )),
        };
        Box::pin(async move { resp })
    }
}

fn shutting_down(req: &RemotingCommand) -> RemotingCommand {
    req.response_to(
        response::SYSTEM_ERROR,
        Some("the client is shutting down".into()),
    )
}

impl ClientInstance {
    /// The live consumer of `group` in this instance.
    pub(crate) fn consumer_hook(&self, group: &str) -> Option<Arc<dyn ConsumerHook>> {
        self.consumers.lock().get(group).and_then(Weak::upgrade)
    }

    /// The instance for `instance_name` in this process, created on first use. The caller holds
    /// one use of it until [`ClientInstance::release`].
    pub(crate) fn acquire(
        namesrv: NameServerList,
        instance_name: &str,
        timeout: Duration,
        credentials: Option<Credentials>,
        tls: Option<ferromq_net::TlsClient>,
    ) -> Arc<ClientInstance> {
        let ip = client_id::local_ip_for(&namesrv.addrs()[0]);
        let id = client_id::build_client_id(ip, instance_name);
        let mut reg = registry().lock();
        if let Some(existing) = reg.get(&id).and_then(Weak::upgrade) {
            if !existing.cancel.is_cancelled() {
                if existing.rpc.credentials().map(|c| &**c) != credentials.as_ref() {
                    // Java's MQClientInstance keeps the RPC hook of the first client too.
                    tracing::warn!(client_id = %id, "a client with other ACL credentials joins an instance: it signs with the instance's");
                }
                if existing.rpc.remoting().uses_tls() != tls.is_some() {
                    tracing::warn!(client_id = %id, "a client with another TLS setting joins an instance: it connects as the instance does");
                }
                existing.users.fetch_add(1, Ordering::AcqRel);
                return existing;
            }
        }
        let instance = Arc::new_cyclic(|weak: &Weak<ClientInstance>| {
            let remoting = RemotingClient::new(Arc::new(ServerRequests {
                instance: weak.clone(),
            }))
            .with_tls(tls);
            let rpc = Rpc::with_remoting(remoting, namesrv, timeout).with_credentials(credentials);
            ClientInstance {
                client_id: id.clone(),
                routes: RouteCache::new(rpc.clone()),
                rpc,
                uniq: UniqKeyGenerator::new(ip),
                users: AtomicUsize::new(1),
                started: AtomicBool::new(false),
                producers: Mutex::default(),
                consumers: Mutex::default(),
                requests: Arc::default(),
                checkers: Mutex::default(),
                cancel: CancellationToken::new(),
            }
        });
        reg.insert(id, Arc::downgrade(&instance));
        instance
    }

    /// `ip@instanceName`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Connections and name servers.
    pub fn rpc(&self) -> &Rpc {
        &self.rpc
    }

    /// The route cache.
    pub fn routes(&self) -> &RouteCache {
        &self.routes
    }

    /// Requests waiting for their reply (request-reply).
    pub(crate) fn requests(&self) -> &Arc<PendingRequests> {
        &self.requests
    }

    /// The UNIQ_KEY generator.
    pub(crate) fn uniq(&self) -> &UniqKeyGenerator {
        &self.uniq
    }

    /// Starts the periodic heartbeat and route refresh unless they run already.
    pub(crate) fn start(self: &Arc<Self>) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(self);
        let cancel = self.cancel.clone();
        tokio::spawn(async move {
            let start = tokio::time::Instant::now() + HEARTBEAT_INTERVAL;
            let mut tick = tokio::time::interval_at(start, HEARTBEAT_INTERVAL);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let Some(instance) = weak.upgrade() else {
                    break;
                };
                instance.refresh_routes().await;
                instance.send_heartbeat().await;
            }
        });
    }

    /// Makes `listener` answer the broker's transaction checks for producer `group`.
    pub(crate) fn register_checker(&self, group: &str, listener: CheckListener) {
        self.checkers.lock().insert(group.to_owned(), listener);
    }

    /// Stops answering transaction checks for `group`.
    pub(crate) fn unregister_checker(&self, group: &str) {
        self.checkers.lock().remove(group);
    }

    /// Registers a producer group for heartbeats.
    pub(crate) fn register_producer(&self, group: &str) {
        *self.producers.lock().entry(group.to_owned()).or_insert(0) += 1;
    }

    /// Registers a consumer; fails when the group already has a consumer in this instance (Java:
    /// "The consumer group has been created before").
    pub(crate) fn register_consumer(
        &self,
        group: &str,
        hook: Weak<dyn ConsumerHook>,
    ) -> Result<(), ClientError> {
        let mut consumers = self.consumers.lock();
        if consumers.get(group).is_some_and(|w| w.strong_count() > 0) {
            return Err(ClientError::InvalidArgument {
                reason: format!(
                    "the consumer group[{group}] has been created before, specify another instance name"
                ),
            });
        }
        consumers.insert(group.to_owned(), hook);
        Ok(())
    }

    /// Serves RESET_CONSUMER_CLIENT_OFFSET (Java `ClientRemotingProcessor.resetOffset`): hands
    /// the new offsets to the group's consumer in this instance.
    fn reset_offset(&self, req: &RemotingCommand) {
        let header = match req.decode_header::<ResetOffsetRequestHeader>() {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "bad RESET_CONSUMER_CLIENT_OFFSET header");
                return;
            }
        };
        let body = if req.body.is_empty() {
            ResetOffsetBody::default()
        } else {
            match ResetOffsetBody::from_json(&req.body) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "bad RESET_CONSUMER_CLIENT_OFFSET body");
                    return;
                }
            }
        };
        let hook = self
            .consumers
            .lock()
            .get(&header.group)
            .and_then(Weak::upgrade);
        match hook {
            Some(h) => {
                tracing::info!(group = %header.group, topic = %header.topic, queues = body.offset_table.len(), "reset offset requested by the broker");
                h.reset_offset(header.topic, body.offset_table);
            }
            None => {
                tracing::info!(group = %header.group, "reset offset for a group with no consumer here")
            }
        }
    }

    fn ids_changed(&self, group: &str) {
        let hook = self.consumers.lock().get(group).and_then(Weak::upgrade);
        if let Some(h) = hook {
            h.ids_changed();
        }
    }

    /// Refreshes the routes of every cached topic older than the route TTL.
    async fn refresh_routes(&self) {
        for topic in self.routes.cached_topics() {
            if let Err(e) = self.routes.route(&topic).await {
                tracing::debug!(%topic, error = %e, "route refresh failed");
            }
        }
    }

    /// The heartbeat body: every producer group and consumer of this instance.
    pub(crate) fn heartbeat_data(&self) -> HeartbeatData {
        let producer_data_set = self
            .producers
            .lock()
            .keys()
            .map(|g| ProducerData {
                group_name: g.clone(),
            })
            .collect();
        let hooks: Vec<_> = self
            .consumers
            .lock()
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        HeartbeatData {
            client_id: self.client_id.clone(),
            consumer_data_set: hooks.iter().map(|h| h.consumer_data()).collect(),
            producer_data_set,
            ..Default::default()
        }
    }

    /// Sends HEART_BEAT to every master of the cached routes; returns how many answered.
    pub(crate) async fn send_heartbeat(&self) -> usize {
        let data = self.heartbeat_data();
        if data.consumer_data_set.is_empty() && data.producer_data_set.is_empty() {
            return 0;
        }
        let body = bytes::Bytes::from(data.to_json());
        let mut ok = 0;
        for addr in self.routes.cached_master_addrs() {
            let cmd =
                RemotingCommand::request(request::HEART_BEAT, &NoHeader).with_body(body.clone());
            match self.rpc.call_ok(&addr, cmd).await {
                Ok(_) => ok += 1,
                Err(e) => tracing::debug!(broker = %addr, error = %e, "heartbeat failed"),
            }
        }
        ok
    }

    /// Sends UNREGISTER_CLIENT for a group to every master of the cached routes.
    pub(crate) async fn unregister(
        &self,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) {
        if let Some(g) = producer_group {
            let mut producers = self.producers.lock();
            if let Some(n) = producers.get_mut(g) {
                *n -= 1;
                if *n == 0 {
                    producers.remove(g);
                }
            }
        }
        if let Some(g) = consumer_group {
            self.consumers.lock().remove(g);
        }
        let header = UnregisterClientRequestHeader {
            client_id: self.client_id.clone(),
            producer_group: producer_group.map(str::to_owned),
            consumer_group: consumer_group.map(str::to_owned),
        };
        for addr in self.routes.cached_master_addrs() {
            let cmd = RemotingCommand::request(request::UNREGISTER_CLIENT, &header);
            if let Err(e) = self
                .rpc
                .call_timeout(&addr, cmd, Duration::from_secs(3))
                .await
            {
                tracing::debug!(broker = %addr, error = %e, "unregister failed");
            }
        }
    }

    /// Gives back one use; the last one stops the heartbeat and closes every connection.
    pub(crate) async fn release(&self) {
        if self.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.cancel.cancel();
            {
                let mut reg = registry().lock();
                if reg
                    .get(&self.client_id)
                    .is_some_and(|w| std::ptr::eq(w.as_ptr(), self))
                {
                    reg.remove(&self.client_id);
                }
            }
            self.rpc.remoting().close_all().await;
        }
    }
}

impl Drop for ClientInstance {
    fn drop(&mut self) {
        self.cancel.cancel();
        // Connection tasks hold their own handles; close them so nothing outlives the client.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let remoting = self.rpc.remoting().clone();
            rt.spawn(async move { remoting.close_all().await });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn same_instance_name_shares_and_different_names_do_not() {
        let ns = || NameServerList::parse("127.0.0.1:1").unwrap();
        let a = ClientInstance::acquire(ns(), "shared-x", Duration::from_secs(1), None, None);
        let b = ClientInstance::acquire(ns(), "shared-x", Duration::from_secs(1), None, None);
        let c = ClientInstance::acquire(ns(), "other-y", Duration::from_secs(1), None, None);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(a.client_id().ends_with("@shared-x"));
        a.release().await;
        assert!(!b.cancel.is_cancelled(), "one user left");
        b.release().await;
        assert!(b.cancel.is_cancelled());
        let d = ClientInstance::acquire(ns(), "shared-x", Duration::from_secs(1), None, None);
        assert!(
            !Arc::ptr_eq(&a, &d),
            "a released instance is not handed out again"
        );
        d.release().await;
        c.release().await;
    }
}
