//! The FerroMQ broker: serves producers, consumers and admin tools over the remoting protocol,
//! stores messages in [`ferromq_store`], and registers its topics with the name servers.
//!
//! ```text
//! socket ─▶ net::connection ─▶ acl (aclEnable) ─▶ handlers::dispatch ─▶ handlers/<family>.rs ─▶ store / managers
//!                                                      │ errors
//!                                                      ▼
//!                                                 response.rs (the one error→code mapping)
//! store dispatch ─▶ arrival channel ─▶ long_poll (wakes parked pulls)
//! ```
//!
//! State: [`topic::TopicManager`] (`topics.json`), [`subscription::GroupManager`]
//! (`subscriptionGroup.json`), [`offset::OffsetManager`] (`consumerOffset.json`), all written
//! atomically; [`clients::ClientManager`] (live producers and consumers, in memory).
//! Held messages: [`schedule`] delivers delay levels (`delayOffset.json`) and, on its own
//! thread, timer messages ([`schedule::timer`]: `timer/` buckets, `timerCheckpoint.json`).
//! Metrics: [`metrics::Traffic`] and the request latency table are counted on the request paths;
//! [`metrics::BrokerSource`] reads them with the offsets and the store when Prometheus scrapes.

pub mod acl;
pub mod auth;
pub mod clients;
pub mod config;
pub mod config_keys;
pub mod controller_mode;
pub mod dlq;
pub mod error;
pub mod flow;
pub mod handlers;
pub mod live_config;
pub mod long_poll;
pub mod metrics;
pub mod offset;
pub mod persist;
pub mod priority;
pub mod rebalance_lock;
pub mod register;
pub mod replication;
pub mod response;
pub mod rocketmq_keys;
pub mod schedule;
pub mod sql_filter;
pub mod stats;
pub mod stats_items;
pub mod subscription;
pub mod topic;
pub mod trace;
pub mod transaction;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_net::{ConnectionConfig, RemotingClient};
use ferromq_store::{MessageStore, StoreConfig};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use config::BrokerConfig;
pub use error::BrokerError;

/// A running broker's shared state.
pub struct Broker {
    /// Configuration.
    pub config: BrokerConfig,
    /// The message store.
    pub store: Arc<MessageStore>,
    /// Topics.
    pub topics: topic::TopicManager,
    /// Consumer groups' configs.
    pub groups: subscription::GroupManager,
    /// Committed offsets.
    pub offsets: offset::OffsetManager,
    /// Live clients.
    pub clients: clients::ClientManager,
    /// Parked pulls.
    pub hold: Arc<long_poll::PullHold>,
    /// Queue locks of ordered consumption (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ).
    pub locks: rebalance_lock::RebalanceLockManager,
    /// Compiled SQL92 subscriptions.
    pub filters: sql_filter::FilterCache,
    /// Counters for runtime info.
    pub stats: stats::BrokerStats,
    /// Sampled rates and windowed totals of the counters (`statsAll`, `putTps`).
    pub stats_items: stats_items::StatsItems,
    /// Settings changed while running (`updateBrokerConfig`).
    pub live: live_config::LiveConfig,
    /// The plain ACL when `aclEnable=true`: checked before every request is dispatched.
    pub acl: Option<Arc<acl::Acl>>,
    /// ACL 2.0 users and ACLs (always kept; checked when `authenticationEnabled` /
    /// `authorizationEnabled` are on).
    pub auth: auth::Auth,
    /// Messages and bytes in and out per topic and group, for `/metrics`.
    pub traffic: metrics::Traffic,
    /// The send family's budget and fast failure ([`flow`]).
    pub send_gate: Arc<flow::SendGate>,
    /// Topic and group quotas (`quotas.json`).
    pub quotas: flow::QuotaManager,
    /// Deleted dead letters (`dlqTombstones.json`).
    pub dlq_tombstones: dlq::DlqTombstones,
    /// Request latency by request and response code (`rocketmq_rpc_latency`).
    pub rpc: ferromq_metrics::RpcLatency,
    /// Delivery of delay-level messages.
    pub schedule: Arc<schedule::ScheduleService>,
    /// Transactional messages: END_TRANSACTION and the check-back loop.
    pub transactions: Arc<transaction::TransactionService>,
    /// Delivery of timer (arbitrary-delay) messages.
    pub timer: Arc<schedule::timer::TimerService>,
    /// Connections to name servers.
    pub namesrv: RemotingClient,
    /// The address written into stored records (clients reach the broker there).
    pub store_host: SocketAddr,
    /// Message traces the broker records itself (`brokerTraceEnable`).
    pub tracer: trace::BrokerTracer,
    /// Generates UNIQ_KEYs for messages that arrive without one.
    pub uniq_keys: ferromq_proto::message::UniqKeyGenerator,
    /// The role this broker plays now (controller mode changes it while running).
    pub(crate) role: parking_lot::RwLock<replication::RoleState>,
    /// A master's HA service (set by `run`; in controller mode on every broker, ready for when
    /// it is elected).
    pub(crate) ha_master: std::sync::OnceLock<Arc<ferromq_ha::HaMaster>>,
    /// A slave's HA client, while it is a slave.
    pub(crate) ha_slave: parking_lot::Mutex<Option<Arc<ferromq_ha::HaSlave>>>,
    /// The delivery and check services a master runs (delays, timers, transactions).
    pub(crate) master_services: parking_lot::Mutex<Option<replication::MasterServices>>,
    /// Set once `run` has started the HA side.
    pub(crate) ha_started: std::sync::atomic::AtomicBool,
    /// Set when the broker must stop and open its store again (controller mode: to cut a log
    /// that holds bytes the new master does not); the offset to cut at.
    pub(crate) restart_cut: parking_lot::Mutex<Option<i64>>,
    /// Cancelled to stop serving so that `ferromq_broker::run` opens the broker again.
    pub(crate) restart: CancellationToken,
    /// Controller mode: the id the controller gave this broker.
    pub(crate) controller_id: parking_lot::Mutex<Option<i64>>,
    /// Controller mode: woken by NOTIFY_BROKER_ROLE_CHANGED to read the replica info at once.
    pub(crate) role_nudge: tokio::sync::Notify,
    /// Controller mode, as master: the in-sync replicas the controller agreed to.
    pub(crate) sync_state: parking_lot::Mutex<std::collections::BTreeSet<i64>>,
    /// The HA address advertised to name servers (the bound one once a master listens).
    ha_addr: parking_lot::Mutex<String>,
    /// On a slave: its master's broker address, from the name servers (metadata sync).
    master_addr: parking_lot::Mutex<Option<String>>,
    /// Where each master epoch began in the commit log (controller mode; empty otherwise).
    pub epochs: Arc<ferromq_ha::EpochCache>,
    register_tx: mpsc::UnboundedSender<Vec<String>>,
    register_rx: parking_lot::Mutex<Option<mpsc::UnboundedReceiver<Vec<String>>>>,
    arrivals: parking_lot::Mutex<Option<mpsc::UnboundedReceiver<(String, i32, i64)>>>,
}

impl Broker {
    /// Opens the store (recovering it) and loads the persisted tables.
    pub fn open(config: BrokerConfig) -> Result<Arc<Broker>, BrokerError> {
        // A bad ACL file stops start-up before the store is touched.
        let acl = if config.acl_enable {
            let acl = acl::Acl::load(config.acl_file())
                .map_err(|e| BrokerError::invalid(format!("aclEnable=true: {e}")))?;
            Some(Arc::new(acl))
        } else {
            None
        };
        let auth = auth::open(&config)?;
        let store_host: SocketAddr =
            config
                .broker_addr()
                .parse()
                .map_err(|_| BrokerError::InvalidParameter {
                    reason: format!("brokerIP1 `{}` is not an IP address", config.broker_ip1),
                })?;
        controller_mode::check_config(&config)?;
        let store_config = store_config(&config)?;
        let (arrival_tx, arrival_rx) = mpsc::unbounded_channel();
        let store = MessageStore::open(store_config).map_err(|e| BrokerError::System {
            reason: format!("opening the store failed: {e}"),
        })?;
        // A slave's log is its master's: nothing here may append to it. In controller mode
        // nothing is written before the controller names this broker master.
        store.set_replica(
            config.broker_role == config::BrokerRole::Slave || config.enable_controller_mode,
        );
        let hold = Arc::new(long_poll::PullHold::default());
        let watched = Arc::clone(&hold);
        store.set_arrival_listener(Arc::new(move |a: &ferromq_store::Arrival<'_>| {
            // Only queues with parked pulls need waking; the rest cost one atomic load.
            if watched.is_watched(a.topic, a.queue_id) {
                let _ = arrival_tx.send((a.topic.to_owned(), a.queue_id, a.max_offset));
            }
            // A message in a priority lane wakes the pulls parked on the lane's visible queue:
            // they answer at once and their consumer pulls the lane (see `priority`).
            if a.queue_id >= priority::LANE_STRIDE {
                let (base, _) = priority::split(a.queue_id);
                if watched.is_watched(a.topic, base) {
                    let _ = arrival_tx.send((a.topic.to_owned(), base, i64::MAX));
                }
            }
        }));
        let (register_tx, register_rx) = mpsc::unbounded_channel();
        let broker = Broker {
            acl,
            auth,
            topics: topic::TopicManager::load(&config)?,
            groups: subscription::GroupManager::load(&config)?,
            offsets: offset::OffsetManager::load(&config)?,
            clients: clients::ClientManager::default(),
            hold,
            locks: rebalance_lock::RebalanceLockManager::default(),
            filters: sql_filter::FilterCache::default(),
            stats: stats::BrokerStats::default(),
            stats_items: stats_items::StatsItems::default(),
            live: live_config::LiveConfig::new(&config),
            traffic: metrics::Traffic::default(),
            send_gate: Arc::new(flow::SendGate::new(&config.flow)),
            quotas: flow::QuotaManager::load(&config)?,
            dlq_tombstones: dlq::DlqTombstones::load(&config)?,
            rpc: ferromq_metrics::RpcLatency::default(),
            schedule: Arc::new(schedule::ScheduleService::load(&config)?),
            transactions: Arc::new(transaction::TransactionService::new(
                transaction::TransactionSettings {
                    timeout_ms: config.transaction_timeout,
                    check_max: config.transaction_check_max,
                    check_interval_ms: config.transaction_check_interval,
                    reserved_ms: config.file_reserved_time.saturating_mul(3_600_000),
                },
            )),
            timer: Arc::new(schedule::timer::TimerService::load(&config)?),
            // Registration and the slave's metadata link to its master; TLS per `tls.enable`.
            namesrv: RemotingClient::default().with_tls(
                config
                    .tls
                    .client()
                    .map_err(|e| BrokerError::system(format!("outgoing TLS: {e}")))?,
            ),
            uniq_keys: ferromq_proto::message::UniqKeyGenerator::new(store_host.ip()),
            tracer: trace::BrokerTracer::new(&config, store_host),
            store_host,
            store,
            role: parking_lot::RwLock::new(replication::RoleState::from_config(&config)),
            ha_master: std::sync::OnceLock::new(),
            ha_slave: parking_lot::Mutex::new(None),
            master_services: parking_lot::Mutex::new(None),
            ha_started: std::sync::atomic::AtomicBool::new(false),
            restart_cut: parking_lot::Mutex::new(None),
            restart: CancellationToken::new(),
            controller_id: parking_lot::Mutex::new(None),
            role_nudge: tokio::sync::Notify::new(),
            sync_state: parking_lot::Mutex::new(std::collections::BTreeSet::new()),
            ha_addr: parking_lot::Mutex::new(config.ha_addr()),
            epochs: Arc::new(
                ferromq_ha::EpochCache::load(&config.store_path_root_dir)
                    .map_err(BrokerError::system)?,
            ),
            master_addr: parking_lot::Mutex::new(None),
            config,
            register_tx,
            register_rx: parking_lot::Mutex::new(Some(register_rx)),
            arrivals: parking_lot::Mutex::new(Some(arrival_rx)),
        };
        // Tombstones of messages retention deleted while the broker was down go now.
        let store = Arc::clone(&broker.store);
        broker
            .dlq_tombstones
            .prune(|t, q| store.min_offset_in_queue(t, q))?;
        Ok(Arc::new(broker))
    }

    /// Serves `listener` until `shutdown` is cancelled, then stops in order: stop accepting,
    /// unregister from name servers, persist offsets, shut the store down cleanly.
    pub async fn run(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), BrokerError> {
        // Before anything starts: a TLS setting that cannot be used stops start-up.
        let tls = self
            .config
            .tls
            .server()
            .map_err(|e| BrokerError::system(format!("TLS: {e}")))?;
        tracing::info!("{}", self.config.tls.describe());
        let tasks = CancellationToken::new();
        self.start_ha().await?;
        self.spawn_background(&tasks);
        if self.config.enable_controller_mode {
            tokio::spawn(Arc::clone(&self).controller_loop(tasks.clone()));
        }
        // Serving stops on shutdown, or when the broker must open its store again.
        let shutdown = {
            let serve = shutdown.child_token();
            let (restart, s) = (self.restart.clone(), serve.clone());
            // Ends with serving either way (it does not outlive a broker that never restarts).
            tokio::spawn(async move {
                tokio::select! {
                    _ = restart.cancelled() => s.cancel(),
                    _ = s.cancelled() => {}
                }
            });
            serve
        };
        let handler = Arc::new(handlers::BrokerHandler {
            broker: Arc::clone(&self),
        });
        tracing::info!(
            broker = %self.config.broker_name,
            addr = %self.config.broker_addr(),
            cluster = %self.config.broker_cluster_name,
            "broker started"
        );
        if let Some(acl) = &self.acl {
            let rules = acl.rules();
            tracing::info!(
                file = %acl.path().display(),
                accounts = rules.accounts.len(),
                global_whitelist = rules.global_white.len(),
                "ACL enabled: requests need a whitelisted address or a signed access key"
            );
            if rules.accounts.is_empty() && rules.global_white.is_empty() {
                tracing::warn!(file = %acl.path().display(), "the ACL file has no account and no whitelisted address: every request is refused until it has");
            }
        }
        if self.auth.enabled() {
            tracing::info!(
                file = %self.auth.store.path().display(),
                users = self.auth.store.user_count(),
                authentication = self.auth.settings.authentication,
                authorization = self.auth.settings.authorization,
                "ACL 2.0 enabled"
            );
            if self.auth.store.user_count() == 0 {
                tracing::warn!("ACL 2.0 is on but there is no user: every checked request is refused; set initAuthenticationUser to create the first super user");
            }
        }
        ferromq_net::serve(
            listener,
            handler,
            ConnectionConfig {
                max_in_flight: self.config.flow.max_in_flight,
                max_in_flight_bytes: self.config.flow.max_in_flight_bytes,
                max_connections: self.config.flow.max_connections,
                tls,
                max_frame: self.config.frame_max_length,
                max_header: self.config.remoting_max_header_size,
                ..ConnectionConfig::default()
            },
            shutdown.clone(),
        )
        .await;
        tracing::info!("broker shutting down");
        tasks.cancel();
        // They save their progress as they stop; the store must still be open for that.
        self.stop_master_services().await;
        self.unregister_all().await;
        self.stop_ha().await;
        if let Err(e) = self.offsets.persist() {
            tracing::error!(error = %e, "persisting consumer offsets at shutdown failed");
        }
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || store.shutdown())
            .await
            .map_err(|e| BrokerError::system(format!("store shutdown task failed: {e}")))?
            .map_err(|e| BrokerError::system(format!("store shutdown failed: {e}")))?;
        Ok(())
    }

    fn spawn_background(self: &Arc<Self>, stop: &CancellationToken) {
        // A slave copies its master's metadata; a master runs the delivery services.
        tokio::spawn(Arc::clone(self).sync_metadata_loop(stop.clone()));
        let store = Arc::clone(&self.store);
        tokio::spawn(
            Arc::clone(&self.send_gate)
                .watch_page_cache(move || store.append_lock_held_ms(), stop.clone()),
        );
        trace::BrokerTracer::spawn_writer(self, stop);
        stats_items::StatsItems::spawn_sampler(self, stop);
        if self.role() != config::BrokerRole::Slave && !self.config.enable_controller_mode {
            self.start_master_services();
        }
        // Registration: at once, then every period, and incrementally on topic changes.
        let b = Arc::clone(self);
        let s = stop.clone();
        let mut rx = self.register_rx.lock().take();
        tokio::spawn(async move {
            b.register_all(None).await;
            let period =
                Duration::from_millis(b.config.register_name_server_period.clamp(10_000, 60_000));
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            // A slave that registered before its master learns the master's address only from
            // a later registration: until it has one, it asks every 2 s.
            let mut lonely = tokio::time::interval(Duration::from_secs(2));
            loop {
                tokio::select! {
                    _ = s.cancelled() => return,
                    _ = tick.tick() => b.register_all(None).await,
                    _ = lonely.tick(), if b.waits_for_master() => b.register_all(None).await,
                    Some(mut topics) = async { match rx.as_mut() { Some(r) => r.recv().await, None => None } } => {
                        if let Some(r) = rx.as_mut() {
                            while let Ok(more) = r.try_recv() {
                                topics.extend(more);
                            }
                        }
                        topics.sort();
                        topics.dedup();
                        b.register_all(Some(&topics)).await;
                    }
                }
            }
        });
        if let Some(acl) = &self.acl {
            tokio::spawn(Arc::clone(acl).watch(acl::POLL_EVERY, stop.clone()));
        }
        // Offsets persisted every 5 s; idle clients expired every 10 s.
        let b = Arc::clone(self);
        let s = stop.clone();
        tokio::spawn(async move {
            let mut persist = tokio::time::interval(Duration::from_secs(5));
            let mut expire = tokio::time::interval(Duration::from_secs(10));
            loop {
                tokio::select! {
                    _ = s.cancelled() => return,
                    _ = persist.tick() => {
                        if let Err(e) = b.offsets.persist_if_dirty() {
                            tracing::error!(error = %e, "persisting consumer offsets failed");
                        }
                    }
                    _ = expire.tick() => b.clients.expire(Duration::from_millis(b.config.channel_expired_timeout)),
                }
            }
        });
        // Long polling: wake parked pulls on arrival, and answer expired ones.
        let b = Arc::clone(self);
        let s = stop.clone();
        let mut arrivals = self.arrivals.lock().take();
        tokio::spawn(async move {
            let sweep_every = if b.config.long_polling_enable {
                250
            } else {
                b.config.short_polling_time_mills.max(100)
            };
            let mut sweep = tokio::time::interval(Duration::from_millis(sweep_every));
            loop {
                tokio::select! {
                    _ = s.cancelled() => return,
                    _ = sweep.tick() => {
                        for held in b.hold.take_expired(Instant::now()) {
                            answer_held_safely(&b, held);
                        }
                    }
                    Some((topic, queue_id, max_offset)) = async { match arrivals.as_mut() { Some(r) => r.recv().await, None => None } } => {
                        for held in b.hold.take_ready(&topic, queue_id, max_offset) {
                            answer_held_safely(&b, held);
                        }
                    }
                }
            }
        });
    }
}

/// Answers a parked pull; a panic is logged instead of ending the long-polling task, which
/// every other parked pull depends on.
fn answer_held_safely(b: &Arc<Broker>, held: long_poll::HeldPull) {
    let answer = std::panic::AssertUnwindSafe(|| handlers::pull::answer_held(b, held));
    if std::panic::catch_unwind(answer).is_err() {
        tracing::error!("answering a parked pull panicked");
    }
}

/// The store settings of a broker configuration.
fn store_config(config: &BrokerConfig) -> Result<StoreConfig, BrokerError> {
    let mut store_config = StoreConfig {
        store_path_root_dir: config.store_path_root_dir.clone(),
        store_path_commit_log: config.store_path_commit_log.clone(),
        mapped_file_size_commit_log: config.mapped_file_size_commit_log as usize,
        mapped_file_size_consume_queue: config.mapped_file_size_consume_queue as usize,
        flush_disk_type: config.flush_disk_type,
        flush_interval_commit_log_ms: config.flush_interval_commit_log,
        sync_flush_timeout_ms: config.sync_flush_timeout,
        max_message_size: config.max_message_size as usize,
        file_reserved_time_hours: config.file_reserved_time as u64,
        delete_when: config.delete_when.clone(),
        disk_max_used_space_ratio: config.disk_max_used_space_ratio as u32,
        ..StoreConfig::default()
    };
    for (key, value) in &config.store_settings {
        store_config
            .set_property(key, value)
            .map_err(|reason| BrokerError::invalid(format!("{key}={value}: {reason}")))?;
    }
    Ok(store_config)
}

/// Opens a broker from `config` and serves `listener` until `shutdown`. In controller mode a
/// slave whose log holds bytes its new master does not is stopped, its log cut back while the
/// store is closed, and the broker opened again on the same address.
pub async fn run(
    config: BrokerConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), BrokerError> {
    run_with_metrics(config, listener, shutdown, None).await
}

/// [`run`], with the broker added to `metrics` (read by `/metrics`) each time it is open.
pub async fn run_with_metrics(
    config: BrokerConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
    metrics: Option<ferromq_metrics::MetricsRegistry>,
) -> Result<(), BrokerError> {
    run_with_hook(config, listener, shutdown, metrics, None).await
}

/// Called with the broker each time it is opened (before it serves) and with `None` once it is
/// closed: how services outside this crate (the gRPC API) reach the current broker.
pub type OnOpen = Arc<dyn Fn(Option<Arc<Broker>>) + Send + Sync>;

/// [`run_with_metrics`], telling `on_open` about each broker it opens and closes.
pub async fn run_with_hook(
    config: BrokerConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
    metrics: Option<ferromq_metrics::MetricsRegistry>,
    on_open: Option<OnOpen>,
) -> Result<(), BrokerError> {
    let mut listener = listener;
    loop {
        let c = config.clone();
        let broker = tokio::task::spawn_blocking(move || Broker::open(c))
            .await
            .map_err(|e| BrokerError::system(format!("broker start-up task failed: {e}")))??;
        if let Some(registry) = &metrics {
            registry.register(Arc::new(metrics::BrokerSource::new(&broker)));
        }
        let addr = listener
            .local_addr()
            .map_err(|e| BrokerError::system(format!("listener address: {e}")))?;
        if let Some(hook) = &on_open {
            hook(Some(Arc::clone(&broker)));
        }
        let served = Arc::clone(&broker).run(listener, shutdown.clone()).await;
        if let Some(hook) = &on_open {
            hook(None);
        }
        served?;
        let cut = broker.restart_cut.lock().take();
        let Some(cut) = cut else {
            return Ok(());
        };
        drop(broker);
        if shutdown.is_cancelled() {
            return Ok(());
        }
        let store_config = store_config(&config)?;
        // Tasks still holding the old broker let go of the store within moments.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match MessageStore::truncate_closed(&store_config, cut) {
                Ok(_) => break,
                Err(ferromq_store::StoreError::Locked { .. }) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => {
                    return Err(BrokerError::system(format!(
                        "cutting the commit log back to {cut} failed: {e}"
                    )))
                }
            }
        }
        listener = loop {
            match TcpListener::bind(addr).await {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %e, "rebinding the broker port");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(BrokerError::system(format!("rebinding {addr}: {e}"))),
            }
        };
        tracing::warn!(cut, "broker opened again after cutting its log back");
    }
}
