//! The broker's side of master/slave replication (`brokerRole`): a master runs the HA service
//! of `ferromq-ha` on `haListenPort`, a SYNC_MASTER answers sends only once a slave holds them,
//! and a slave follows its master's commit log and, every 10 s, its topics, subscription groups,
//! consumer offsets and delay offsets (Java `SlaveSynchronize`).

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

/// This broker's replication role, once started.
#[derive(Debug, Clone)]
pub enum Ha {
    /// A master (ASYNC_MASTER or SYNC_MASTER) serving slaves.
    Master(Arc<HaMaster>),
    /// A slave following its master.
    Slave(Arc<HaSlave>),
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

    /// Starts the HA side of this broker's role. A master that cannot bind `haListenPort`
    /// does not start (its slaves would never reach it).
    pub(crate) async fn start_ha(self: &Arc<Self>) -> Result<(), BrokerError> {
        let ha = if self.config.broker_role == BrokerRole::Slave {
            Ha::Slave(HaSlave::start(
                Arc::clone(&self.store),
                self.ha_config(),
                Arc::clone(&self.epochs),
                self.config.broker_id,
                self.config.ha_master_address.clone(),
            ))
        } else {
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
            Ha::Master(master)
        };
        let _ = self.ha.set(ha);
        Ok(())
    }

    /// Stops the HA service (before the store shuts down).
    pub(crate) async fn stop_ha(&self) {
        match self.ha.get() {
            Some(Ha::Master(m)) => m.stop().await,
            Some(Ha::Slave(s)) => s.stop().await,
            None => {}
        }
    }

    /// The master's HA service, on a master.
    pub fn ha_master(&self) -> Option<&Arc<HaMaster>> {
        match self.ha.get() {
            Some(Ha::Master(m)) => Some(m),
            _ => None,
        }
    }

    /// The slave's HA client, on a slave.
    pub fn ha_slave(&self) -> Option<&Arc<HaSlave>> {
        match self.ha.get() {
            Some(Ha::Slave(s)) => Some(s),
            _ => None,
        }
    }

    /// The HA address advertised to name servers: the one bound on a master.
    pub fn advertised_ha_addr(&self) -> String {
        self.ha_addr.lock().clone()
    }

    /// The send response code for a stored put (SUCCESS before this): on a SYNC_MASTER, waits
    /// up to `syncFlushTimeout` for a slave to hold the bytes (Java `handleHA`).
    pub(crate) async fn replicate(&self, result: &PutResult, code: i32) -> i32 {
        if self.config.broker_role != BrokerRole::SyncMaster || code != response::SUCCESS {
            return code;
        }
        let Some(master) = self.ha_master() else {
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
        match self.ha.get() {
            Some(Ha::Master(m)) => {
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
            Some(Ha::Slave(s)) => {
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
            None => {}
        }
        info
    }

    /// On a slave: whether its master is reachable now (the HA stream is alive). Pulls are
    /// then steered back to the master.
    pub(crate) fn master_alive(&self) -> bool {
        self.ha_slave().is_some_and(|s| {
            let st = s.status();
            st.connected
                && st
                    .last_frame_ms_ago
                    .is_some_and(|ms| ms < self.config.ha_housekeeping_interval)
        })
    }

    /// A slave that does not know where its master is yet.
    pub(crate) fn waits_for_master(&self) -> bool {
        self.ha_slave()
            .is_some_and(|s| s.status().master_addr.is_none() || self.master_addr.lock().is_none())
    }

    /// A slave learns its master from the name servers' answer to its registration, unless
    /// `haMasterAddress` fixes it.
    pub(crate) fn master_learned(&self, master_addr: Option<String>, ha_addr: Option<String>) {
        let Some(slave) = self.ha_slave() else {
            return;
        };
        if let Some(ha) = ha_addr.filter(|a| !a.is_empty()) {
            if self.config.ha_master_address.is_none() {
                slave.set_master(Some(ha));
            }
        }
        *self.master_addr.lock() = master_addr.filter(|a| !a.is_empty());
    }

    /// On a slave: copies the master's metadata every 10 s until `stop`.
    /// Every second until the first copy succeeds (a new slave needs the master's topics
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

    /// Copies topics, subscription groups, consumer offsets and delay offsets from `master`.
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
        Ok(())
    }

    async fn fetch(&self, master: &str, code: i32) -> Result<Vec<u8>, BrokerError> {
        let cmd = RemotingCommand::bare_request(code);
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
