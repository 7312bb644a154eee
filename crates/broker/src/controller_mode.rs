//! Controller mode (`enableControllerMode`, RocketMQ 5): the controller group decides which
//! broker of a broker name is master. This broker:
//!
//! * joins the group once (gets an id from the controller, kept in `config/controllerBrokerId`)
//!   and registers at every start;
//! * heartbeats every `brokerHeartbeatInterval` to every controller node, with its epoch and
//!   log end (the controller elects among in-sync replicas when a master stops beating);
//! * reads the replica info every `syncBrokerMetadataPeriod` and whenever a controller sends
//!   NOTIFY_BROKER_ROLE_CHANGED, asks for an election when the group has no master, and
//!   becomes master (new epoch in its epoch cache, writes, delivery services, name-server id 0)
//!   or slave (follows the named master's HA port, learnt with GET_BROKER_CONFIG);
//! * as master, reports every `checkSyncStateSetPeriod` which slaves are in sync (a slave joins
//!   once it holds everything written; with `allAckInSyncStateSet` every member must then hold
//!   each message before a SYNC send is answered);
//! * as master cut off from every controller for `controllerHeartBeatTimeoutMills`, stops taking
//!   writes (it may have been replaced): no two masters answer SEND_OK;
//! * as a slave told that its log holds bytes the master does not (written under an older
//!   master, never acknowledged with replication), stops, cuts its log back and starts again.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_common::config::Properties;
use ferromq_controller::body::SyncStateSet;
use ferromq_controller::client::{parse_addrs, ReplicaInfo};
use ferromq_controller::headers::ControllerHeartbeatRequestHeader;
use ferromq_controller::ControllerClient;
use ferromq_proto::codes::{request, response};
use ferromq_proto::RemotingCommand;
use tokio_util::sync::CancellationToken;

use crate::config::BrokerRole;
use crate::error::BrokerError;
use crate::Broker;

const ID_FILE: &str = "controllerBrokerId";

impl Broker {
    /// The id the controller gave this broker (controller mode), once known.
    pub fn controller_broker_id(&self) -> Option<i64> {
        *self.controller_id.lock()
    }

    /// Runs controller mode until `stop`.
    pub(crate) async fn controller_loop(self: Arc<Self>, stop: CancellationToken) {
        let addrs = parse_addrs(self.config.controller_addr.as_deref().unwrap_or(""));
        let client = ControllerClient::new(addrs).with_deadline(Duration::from_secs(5));
        // Join or register, retrying until a controller answers.
        let id = loop {
            match self.register_with(&client).await {
                Ok(id) => break id,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot register with the controller; retrying");
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        };
        *self.controller_id.lock() = Some(id);
        let mut beat =
            tokio::time::interval(Duration::from_millis(self.config.broker_heartbeat_interval));
        let mut metadata = tokio::time::interval(Duration::from_millis(
            self.config.sync_broker_metadata_period,
        ));
        let mut sync_set = tokio::time::interval(Duration::from_millis(
            self.config.check_sync_state_set_period,
        ));
        let mut last_beat_ok = Instant::now();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = beat.tick() => {
                    match self.heartbeat(&client, id).await {
                        Ok(()) => {
                            last_beat_ok = Instant::now();
                            if self.role_state().fenced {
                                // Back in touch: stay master only if the controller agrees.
                                self.refresh(&client, id).await;
                            }
                        }
                        Err(e) => {
                            let cut_off = last_beat_ok.elapsed()
                                > Duration::from_millis(self.config.controller_heartbeat_timeout_mills);
                            if cut_off && self.role() != BrokerRole::Slave && !self.role_state().fenced {
                                tracing::error!(error = %e, "this master has been cut off from every controller: it stops taking writes until the controller confirms it");
                                self.role.write().fenced = true;
                            }
                        }
                    }
                    self.check_cut();
                }
                _ = metadata.tick() => self.refresh(&client, id).await,
                _ = self.role_nudge.notified() => self.refresh(&client, id).await,
                _ = sync_set.tick() => self.report_sync_state(&client, id).await,
            }
        }
    }

    /// Joins (first start) or registers (later starts); applies what the controller says.
    async fn register_with(self: &Arc<Self>, client: &ControllerClient) -> Result<i64, String> {
        let c = &self.config;
        let addr = c.broker_addr();
        let id_path = c.config_dir().join(ID_FILE);
        let stored = std::fs::read_to_string(&id_path)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok());
        let (id, reg) = match stored {
            Some(id) => {
                let reg = client
                    .register_broker(&c.broker_cluster_name, &c.broker_name, id, &addr)
                    .await
                    .map_err(|e| e.to_string())?;
                (id, reg)
            }
            None => {
                let (id, reg) = client
                    .join(&c.broker_cluster_name, &c.broker_name, &addr)
                    .await
                    .map_err(|e| e.to_string())?;
                std::fs::create_dir_all(c.config_dir()).map_err(|e| e.to_string())?;
                std::fs::write(&id_path, format!("{id}\n")).map_err(|e| e.to_string())?;
                (id, reg)
            }
        };
        tracing::info!(broker_id = id, master = ?reg.master, "registered with the controller");
        *self.controller_id.lock() = Some(id);
        let info = ReplicaInfo {
            master_broker_id: reg.master.as_ref().map(|m| m.broker_id),
            master_address: reg.master.as_ref().map(|m| m.address.clone()),
            master_epoch: reg.master.as_ref().map_or(0, |m| m.master_epoch),
            sync_state: reg.sync_state,
        };
        self.apply(client, id, info).await;
        Ok(id)
    }

    async fn heartbeat(&self, client: &ControllerClient, id: i64) -> Result<(), String> {
        let c = &self.config;
        let end = self.store.commit_log_max_offset();
        let beat = ControllerHeartbeatRequestHeader {
            cluster_name: c.broker_cluster_name.clone(),
            broker_addr: c.broker_addr(),
            broker_name: c.broker_name.clone(),
            broker_id: Some(id),
            epoch: Some(self.epochs.last().map_or(0, |e| e.epoch)),
            max_offset: Some(end),
            confirm_offset: Some(end),
            heartbeat_timeout_mills: Some(c.controller_heartbeat_timeout_mills as i64),
            election_priority: None,
        };
        client
            .heartbeat(&beat)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Reads the replica info and acts on it.
    async fn refresh(self: &Arc<Self>, client: &ControllerClient, id: i64) {
        match client.replica_info(&self.config.broker_name).await {
            Ok(info) => self.apply(client, id, info).await,
            Err(e) => tracing::debug!(error = %e, "reading the replica info failed"),
        }
    }

    /// Becomes what `info` says: master, slave of its master, or asks for an election when
    /// the group has none.
    async fn apply(self: &Arc<Self>, client: &ControllerClient, id: i64, info: ReplicaInfo) {
        let c = &self.config;
        let (master_id, master_addr, epoch, set) = match (
            info.master_broker_id,
            info.master_address,
        ) {
            (Some(mid), Some(addr)) => {
                (mid, addr, info.master_epoch, info.sync_state.sync_state_set)
            }
            _ => {
                match client
                    .elect_master(&c.broker_cluster_name, &c.broker_name, Some(id), false)
                    .await
                {
                    Ok(e) => (
                        e.master.broker_id,
                        e.master.address,
                        e.master.master_epoch,
                        e.sync_state_set,
                    ),
                    Err(e) => {
                        tracing::info!(error = %e, "the broker group has no master and this broker was not elected");
                        return;
                    }
                }
            }
        };
        let now = self.role_state();
        if master_id == id {
            if now.role == BrokerRole::Slave || now.master_epoch != epoch || now.fenced {
                self.become_master(epoch, &set, id).await;
            }
        } else if now.role != BrokerRole::Slave
            || now.master_epoch != epoch
            || self.master_addr.lock().as_deref() != Some(master_addr.as_str())
        {
            self.become_slave(&master_addr, epoch, id).await;
        }
    }

    async fn become_master(self: &Arc<Self>, epoch: i32, set: &BTreeSet<i64>, id: i64) {
        let was = self.role_state();
        self.stop_following().await;
        self.store.set_replica(false);
        if was.role == BrokerRole::Slave || was.master_epoch != epoch {
            if let Err(e) = self.epochs.begin(epoch, self.store.commit_log_max_offset()) {
                tracing::error!(error = %e, "cannot record the new epoch; staying out of service");
                return;
            }
        }
        let role = if self.config.broker_role == BrokerRole::SyncMaster {
            BrokerRole::SyncMaster
        } else {
            BrokerRole::AsyncMaster
        };
        {
            let mut r = self.role.write();
            r.role = role;
            r.registered_id = 0;
            r.master_epoch = epoch;
            r.fenced = false;
        }
        *self.master_addr.lock() = None;
        *self.sync_state.lock() = set.clone();
        self.require_acks(set, id);
        self.start_master_services();
        tracing::warn!(
            epoch,
            log_end = self.store.commit_log_max_offset(),
            "this broker is now the master of {}",
            self.config.broker_name
        );
        let b = Arc::clone(self);
        tokio::spawn(async move { b.register_all(None).await });
    }

    async fn become_slave(self: &Arc<Self>, master_addr: &str, epoch: i32, id: i64) {
        let ha = match self.master_ha_addr(master_addr).await {
            Ok(ha) => ha,
            Err(e) => {
                tracing::warn!(master = master_addr, error = %e, "cannot learn the new master's HA address yet");
                return;
            }
        };
        let was_master = self.role() != BrokerRole::Slave;
        {
            let mut r = self.role.write();
            r.role = BrokerRole::Slave;
            r.registered_id = id;
            r.master_epoch = epoch;
            r.fenced = false;
        }
        if was_master {
            self.stop_master_services().await;
        }
        self.store.set_replica(true);
        *self.master_addr.lock() = Some(master_addr.to_owned());
        self.follow(Some(ha.clone()));
        tracing::warn!(
            epoch,
            master = master_addr,
            ha,
            "this broker is now a slave"
        );
        let b = Arc::clone(self);
        tokio::spawn(async move { b.register_all(None).await });
    }

    /// The master's HA address: its host and the `haListenPort` its GET_BROKER_CONFIG reports.
    async fn master_ha_addr(&self, master_addr: &str) -> Result<String, String> {
        let cmd = RemotingCommand::bare_request(request::GET_BROKER_CONFIG);
        let resp = self
            .namesrv
            .invoke(master_addr, cmd, Duration::from_secs(3))
            .await
            .map_err(|e| e.to_string())?;
        if resp.code != response::SUCCESS {
            return Err(format!("GET_BROKER_CONFIG answered {}", resp.code));
        }
        let props = Properties::parse(&String::from_utf8_lossy(&resp.body));
        let port = props
            .get("haListenPort")
            .ok_or("the master does not report haListenPort")?;
        let host = master_addr.rsplit_once(':').map_or(master_addr, |(h, _)| h);
        Ok(format!("{host}:{port}"))
    }

    /// With `allAckInSyncStateSet`, SYNC sends wait for every in-sync slave.
    fn require_acks(&self, set: &BTreeSet<i64>, id: i64) {
        if let Some(m) = self.ha_master.get() {
            m.require_acks_from(
                self.config
                    .all_ack_in_sync_state_set
                    .then(|| set.iter().copied().filter(|s| *s != id).collect()),
            );
        }
    }

    /// As master: tells the controller which replicas are in sync (this master, the slaves that
    /// hold everything written, and members still connected and within `haMaxGapNotInSync`).
    async fn report_sync_state(&self, client: &ControllerClient, id: i64) {
        let state = self.role_state();
        if state.role == BrokerRole::Slave || state.fenced {
            return;
        }
        let Some(master) = self.ha_master.get() else {
            return;
        };
        let end = self.store.commit_log_max_offset();
        let current = self.sync_state.lock().clone();
        let mut next: BTreeSet<i64> = BTreeSet::from([id]);
        next.extend(master.caught_up(end));
        for s in master.slaves() {
            if current.contains(&s.broker_id) && end - s.acked < master.max_gap_not_in_sync() {
                next.insert(s.broker_id);
            }
        }
        if next == current {
            return;
        }
        let epoch = match client.replica_info(&self.config.broker_name).await {
            Ok(info) => info.sync_state.sync_state_set_epoch,
            Err(_) => return,
        };
        let proposal = SyncStateSet {
            sync_state_set: next.clone(),
            sync_state_set_epoch: epoch,
        };
        match client
            .alter_sync_state_set(&self.config.broker_name, id, state.master_epoch, &proposal)
            .await
        {
            Ok(done) => {
                tracing::info!(from = ?current, to = ?done.sync_state_set, "in-sync replicas changed");
                // Shrinking takes effect for waits at once; growing only once agreed.
                *self.sync_state.lock() = done.sync_state_set.clone();
                self.require_acks(&done.sync_state_set, id);
            }
            Err(e) => {
                tracing::info!(error = %e, "the controller refused the in-sync replica change")
            }
        }
    }

    /// A slave told to cut its log back: record where and stop, so that the store can be cut
    /// closed and opened again (`ferromq_broker::run` restarts the broker).
    fn check_cut(&self) {
        let cut = self.ha_slave().and_then(|s| s.status().must_truncate_to);
        if let Some(cut) = cut {
            let mut slot = self.restart_cut.lock();
            if slot.is_none() {
                tracing::warn!(
                    cut,
                    log_end = self.store.commit_log_max_offset(),
                    "this log holds bytes the master does not (written under an older master): restarting to cut it back"
                );
                *slot = Some(cut);
                self.restart.cancel();
            }
        }
    }
}

/// Why a broker in controller mode could not start.
pub(crate) fn check_config(c: &crate::config::BrokerConfig) -> Result<(), BrokerError> {
    if c.enable_controller_mode && c.controller_addr.is_none() {
        return Err(BrokerError::invalid(
            "enableControllerMode=true needs controllerAddr",
        ));
    }
    Ok(())
}
