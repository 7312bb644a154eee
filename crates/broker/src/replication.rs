//! The broker's side of master/slave replication (`brokerRole`): a master runs the HA service
//! of `ferromq-ha` on `haListenPort`, a SYNC_MASTER answers sends only once a slave holds them,
//! and a slave follows its master's commit log and, every 10 s, its topics, subscription groups,
//! consumer offsets, delay offsets and ACL 2.0 users and ACLs (Java `SlaveSynchronize`; RocketMQ
//! does not copy users and ACLs, FerroMQ does so a slave checks requests as its master does).

use std::sync::Arc;
use std::time::Duration;

use ferromq_ha::{HaConfig, HaMaster, HaSlave, SlaveWait};
use ferromq_proto::body::{
    HaClientRuntimeInfo, HaConnectionRuntimeInfo, HaRuntimeInfo, JsonBody,
    SubscriptionGroupWrapper, TopicConfigSerializeWrapper,
};
use ferromq_proto::codes::{request, response};
use ferromq_proto::RemotingCommand;
use ferromq_store::PutResult;
use tokio_util::sync::CancellationToken;

use crate::config::BrokerRole;
use crate::error::BrokerError;
use crate::Broker;

/// How often a slave copies its master's metadata (Java: every 10 s).
const METADATA_SYNC_PERIOD: Duration = Duration::from_secs(10);
const METADATA_TIMEOUT: Duration = Duration::from_secs(3);

/// The role a broker plays now. Fixed by `brokerRole` / `brokerId` in classic mode; in
/// controller mode the controller decides and it changes while the broker runs.
#[derive(Debug, Clone)]
pub struct RoleState {
    pub role: BrokerRole,
    /// The id registered with the name servers: 0 while master, the broker's own id otherwise.
    pub registered_id: i64,
    /// Controller mode: the master epoch this role belongs to.
    pub master_epoch: i32,
    /// Controller mode: a master that lost the controller takes no writes until it is back.
    pub fenced: bool,
}

impl RoleState {
    pub(crate) fn from_config(c: &crate::config::BrokerConfig) -> Self {
        RoleState {
            // In controller mode nothing is written before the controller says so.
            role: if c.enable_controller_mode {
                BrokerRole::Slave
            } else {
                c.broker_role
            },
            registered_id: c.broker_id,
            master_epoch: 0,
            fenced: false,
        }
    }
}

/// The services only a master runs, and how to stop them.
pub(crate) struct MasterServices {
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Broker {
    fn ha_config(&self) -> HaConfig {
        let c = &self.config;
        HaConfig {
            broker_name: c.broker_name.clone(),
            transfer_batch_size: c.ha_transfer_batch_size as usize,
            heartbeat_interval: Duration::from_millis(c.ha_send_heartbeat_interval),
            housekeeping_interval: Duration::from_millis(c.ha_housekeeping_interval),
            max_gap_not_in_sync: c.ha_max_gap_not_in_sync,
        }
    }

    /// The role this broker plays now.
    pub fn role(&self) -> BrokerRole {
        self.role.read().role
    }

    /// The role state (role, registered id, epoch, fencing).
    pub fn role_state(&self) -> RoleState {
        self.role.read().clone()
    }

    /// The broker id registered with the name servers now.
    pub fn registered_broker_id(&self) -> i64 {
        self.role.read().registered_id
    }

    /// True once `run` has started the HA side (tests wait for it).
    pub fn ha_ready(&self) -> bool {
        self.ha_started.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Starts the HA side of this broker's role: a master's HA service (every broker in
    /// controller mode, which may be elected at any time; a master that cannot bind
    /// `haListenPort` does not start), or a slave's HA client.
    pub(crate) async fn start_ha(self: &Arc<Self>) -> Result<(), BrokerError> {
        if self.config.enable_controller_mode || self.role() != BrokerRole::Slave {
            let bind = format!("{}:{}", self.config.bind_address, self.config.ha_port());
            let addr = bind.parse().map_err(|_| {
                BrokerError::invalid(format!("haListenPort: `{bind}` is not an address"))
            })?;
            let master = HaMaster::start(
                Arc::clone(&self.store),
                self.ha_config(),
                Arc::clone(&self.epochs),
                addr,
            )
            .await
            .map_err(|e| {
                BrokerError::system(format!(
                    "cannot listen for slaves on {bind} (haListenPort): {e}"
                ))
            })?;
            *self.ha_addr.lock() =
                format!("{}:{}", self.config.broker_ip1, master.local_addr().port());
            let _ = self.ha_master.set(master);
        }
        if !self.config.enable_controller_mode && self.role() == BrokerRole::Slave {
            self.follow(self.config.ha_master_address.clone());
        }
        self.ha_started
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Starts (or re-points) the slave's HA client at `master_ha` (`None`: wait to learn it).
    pub(crate) fn follow(&self, master_ha: Option<String>) {
        let mut slave = self.ha_slave.lock();
        match &*slave {
            Some(s) => s.set_master(master_ha),
            None => {
                *slave = Some(HaSlave::start(
                    Arc::clone(&self.store),
                    self.ha_config(),
                    Arc::clone(&self.epochs),
                    self.controller_broker_id().unwrap_or(self.config.broker_id),
                    master_ha,
                ))
            }
        }
    }

    /// Stops the slave's HA client, if one runs.
    pub(crate) async fn stop_following(&self) {
        let slave = self.ha_slave.lock().take();
        if let Some(s) = slave {
            s.stop().await;
        }
    }

    /// Stops the HA service and client (before the store shuts down).
    pub(crate) async fn stop_ha(&self) {
        self.stop_following().await;
        if let Some(m) = self.ha_master.get() {
            m.stop().await;
        }
    }

    /// The master's HA service while this broker is a master.
    pub fn ha_master(&self) -> Option<Arc<HaMaster>> {
        if self.role() == BrokerRole::Slave {
            return None;
        }
        self.ha_master.get().cloned()
    }

    /// The slave's HA client while this broker is a slave.
    pub fn ha_slave(&self) -> Option<Arc<HaSlave>> {
        self.ha_slave.lock().clone()
    }

    /// The HA address advertised to name servers: the one bound on a master.
    pub fn advertised_ha_addr(&self) -> String {
        self.ha_addr.lock().clone()
    }

    /// Starts what only a master runs: delay-level and timer delivery, transaction checks.
    pub(crate) fn start_master_services(self: &Arc<Self>) {
        let mut slot = self.master_services.lock();
        if slot.is_some() {
            return;
        }
        let stop = CancellationToken::new();
        let schedule = Arc::clone(&self.schedule).run(Arc::clone(&self.store), stop.clone());
        let checks = Arc::clone(&self.transactions).run(Arc::clone(self), stop.clone());
        let tasks = vec![
            tokio::spawn(schedule),
            tokio::spawn(checks),
            self.timer.spawn(Arc::clone(&self.store), stop.clone()),
        ];
        *slot = Some(MasterServices { stop, tasks });
    }

    /// Stops them and waits (each saves its progress as it stops).
    pub(crate) async fn stop_master_services(&self) {
        let services = self.master_services.lock().take();
        if let Some(s) = services {
            s.stop.cancel();
            for t in s.tasks {
                let _ = t.await;
            }
        }
    }

    /// The send response code for a stored put (SUCCESS before this): on a SYNC_MASTER, waits
    /// up to `syncFlushTimeout` for a slave to hold the bytes (Java `handleHA`).
    pub(crate) async fn replicate(&self, result: &PutResult, code: i32) -> i32 {
        if self.role() != BrokerRole::SyncMaster || code != response::SUCCESS {
            return code;
        }
        // The role was just checked: no second look at it.
        let Some(master) = self.ha_master.get() else {
            return response::SLAVE_NOT_AVAILABLE;
        };
        let timeout = Duration::from_millis(self.config.sync_flush_timeout);
        match master.wait_for_slaves(result.end_offset, timeout).await {
            SlaveWait::Replicated => code,
            SlaveWait::Timeout => {
                tracing::warn!(
                    end = result.end_offset,
                    acked = master.acked_offset(),
                    "no slave confirmed a SYNC_MASTER send in time (FLUSH_SLAVE_TIMEOUT)"
                );
                response::FLUSH_SLAVE_TIMEOUT
            }
            SlaveWait::NotAvailable => response::SLAVE_NOT_AVAILABLE,
        }
    }

    /// GET_BROKER_HA_STATUS (907): the master's slaves, or the slave's master.
    pub fn ha_status(&self) -> HaRuntimeInfo {
        let end = self.store.commit_log_max_offset();
        let mut info = HaRuntimeInfo {
            master_commit_log_max_offset: end,
            ..Default::default()
        };
        let slave = self.ha_slave();
        match (self.ha_master(), slave) {
            (Some(m), _) => {
                info.master = true;
                let gap = m.max_gap_not_in_sync();
                for s in m.slaves() {
                    let diff = end - s.acked;
                    info.in_sync_slave_nums += i32::from(diff < gap);
                    info.ha_connection_info.push(HaConnectionRuntimeInfo {
                        addr: s.addr.to_string(),
                        diff,
                        in_sync: diff < gap,
                        slave_ack_offset: s.acked,
                        transfer_from_where: s.transfer_from,
                        transferred_byte_in_second: s.bytes_per_second as i64,
                    });
                }
            }
            (None, Some(s)) => {
                let st = s.status();
                info.master_commit_log_max_offset = st.master_max;
                info.ha_client_runtime_info = HaClientRuntimeInfo {
                    activated: st.connected,
                    last_read_timestamp: st.last_read_timestamp,
                    last_write_timestamp: st.last_write_timestamp,
                    master_addr: st.master_addr.unwrap_or_default(),
                    master_flush_offset: st.master_max,
                    max_offset: end,
                    transferred_byte_in_second: st.bytes_per_second as i64,
                };
            }
            (None, None) => {}
        }
        info
    }

    /// On a slave: whether its master is reachable now (the HA stream is alive). Pulls are
    /// then steered back to the master.
    pub(crate) fn master_alive(&self) -> bool {
        let within = Duration::from_millis(self.config.ha_housekeeping_interval);
        self.ha_slave
            .lock()
            .as_ref()
            .is_some_and(|s| s.streaming(within))
    }

    /// A slave that does not know where its master is yet.
    pub(crate) fn waits_for_master(&self) -> bool {
        self.role() == BrokerRole::Slave
            && (self.master_addr.lock().is_none()
                || self
                    .ha_slave()
                    .is_some_and(|s| s.status().master_addr.is_none()))
    }

    /// A slave learns its master from the name servers' answer to its registration, unless
    /// `haMasterAddress` fixes it.
    pub(crate) fn master_learned(&self, master_addr: Option<String>, ha_addr: Option<String>) {
        // In controller mode the controller names the master; the name servers may lag.
        if self.role() != BrokerRole::Slave || self.config.enable_controller_mode {
            return;
        }
        if let (Some(slave), Some(ha)) = (self.ha_slave(), ha_addr.filter(|a| !a.is_empty())) {
            if self.config.ha_master_address.is_none() {
                slave.set_master(Some(ha));
            }
        }
        *self.master_addr.lock() = master_addr.filter(|a| !a.is_empty());
    }

    /// On a slave: copies the master's metadata every second until the first copy succeeds (a new slave needs the master's topics
    /// before it can serve a pull), then every 10 s.
    pub(crate) async fn sync_metadata_loop(self: Arc<Self>, stop: CancellationToken) {
        let mut synced_once = false;
        loop {
            let wait = if synced_once {
                METADATA_SYNC_PERIOD
            } else {
                Duration::from_secs(1)
            };
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            if self.role() != BrokerRole::Slave {
                synced_once = false;
                continue;
            }
            let master = self.master_addr.lock().clone();
            if let Some(master) = master {
                match self.sync_metadata_from(&master).await {
                    Ok(()) => synced_once = true,
                    Err(e) => {
                        tracing::warn!(master, error = %e, "syncing metadata from the master failed")
                    }
                }
            }
        }
    }

    /// Copies topics, subscription groups, consumer offsets, delay offsets, and ACL 2.0 users and
    /// ACLs from `master`.
    pub async fn sync_metadata_from(&self, master: &str) -> Result<(), BrokerError> {
        let topics = self.fetch(master, request::GET_ALL_TOPIC_CONFIG).await?;
        let topics = TopicConfigSerializeWrapper::from_json(&topics).map_err(|e| {
            BrokerError::system(format!("the master's topic table does not parse: {e}"))
        })?;
        self.topics.replace_from_master(topics.topic_config_table);

        let groups = self
            .fetch(master, request::GET_ALL_SUBSCRIPTIONGROUP_CONFIG)
            .await?;
        let groups = SubscriptionGroupWrapper::from_json(&groups).map_err(|e| {
            BrokerError::system(format!("the master's group table does not parse: {e}"))
        })?;
        self.groups
            .replace_from_master(groups.subscription_group_table);

        let offsets = self.fetch(master, request::GET_ALL_CONSUMER_OFFSET).await?;
        self.offsets.merge_from_master(&offsets)?;

        let delay = self.fetch(master, request::GET_ALL_DELAY_OFFSET).await?;
        self.schedule.replace_from_master(&delay)?;

        // Deleted dead letters; a master without them (an older version) stops nothing.
        match self.fetch(master, request::GET_DLQ_TOMBSTONES).await {
            Ok(t) => self.dlq_tombstones.replace_from_master(&t)?,
            Err(e) => {
                tracing::debug!(master, error = %e, "no deleted dead letters from the master")
            }
        }
        // A master without ACL 2.0 (an older version) must not stop the rest of the sync.
        if let Err(e) = self.sync_auth_from(master).await {
            tracing::warn!(master, error = %e, "copying ACL 2.0 users and ACLs from the master failed");
        }
        Ok(())
    }

    /// Copies the master's ACL 2.0 users and ACLs (AUTH_LIST_USER, AUTH_LIST_ACL).
    async fn sync_auth_from(&self, master: &str) -> Result<(), BrokerError> {
        use ferromq_proto::body::{AclInfo, JsonBody, UserInfo};
        let users = self.fetch(master, request::AUTH_LIST_USER).await?;
        let acls = self.fetch(master, request::AUTH_LIST_ACL).await?;
        let parse_err = |e: ferromq_proto::body::BodyError| {
            BrokerError::system(format!("the master's users or ACLs do not parse: {e}"))
        };
        let users = if users.is_empty() {
            Vec::new()
        } else {
            Vec::<UserInfo>::from_json(&users).map_err(parse_err)?
        };
        let acls = if acls.is_empty() {
            Vec::new()
        } else {
            Vec::<AclInfo>::from_json(&acls).map_err(parse_err)?
        };
        if self.auth.store.replace_from_master(&users, &acls)? {
            tracing::info!(
                master,
                users = users.len(),
                acls = acls.len(),
                "ACL 2.0 users and ACLs copied from the master"
            );
        }
        Ok(())
    }

    async fn fetch(&self, master: &str, code: i32) -> Result<Vec<u8>, BrokerError> {
        let mut cmd = RemotingCommand::bare_request(code);
        // A master with ACL 2.0 authentication wants the inner client's signature.
        if let Some(c) = &self.config.auth.inner_credentials {
            ferromq_proto::acl::sign(&mut cmd, &c.access_key, &c.secret_key);
        }
        let resp = self
            .namesrv
            .invoke(master, cmd, METADATA_TIMEOUT)
            .await
            .map_err(|e| BrokerError::system(format!("request {code} to {master}: {e}")))?;
        if resp.code != response::SUCCESS {
            return Err(BrokerError::system(format!(
                "request {code} to {master} answered {}: {}",
                resp.code,
                resp.remark.unwrap_or_default()
            )));
        }
        Ok(resp.body.to_vec())
    }
}
