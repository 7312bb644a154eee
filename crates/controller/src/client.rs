//! The broker's side: a client of the controller group that finds and follows the leader.
//!
//! Addresses come from the broker's `controllerAddr` (`;`-separated, see [`parse_addrs`]). A
//! call goes to the last known leader first, then to every address; a CONTROLLER_NOT_LEADER
//! answer that names the leader (`controllerLeaderAddress`) is followed at once. While an
//! election is under way (no leader anywhere) the call retries every 200 ms until its deadline.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use ferromq_net::RemotingClient;
use ferromq_proto::body::JsonBody;
use ferromq_proto::header::CommandHeader;
use ferromq_proto::RemotingCommand;

use crate::body::{
    BrokerMemberGroup, BrokerNames, BrokerReplicasInfo, ElectMasterResponseBody, SyncStateSet,
};
use crate::codes::{request as req, response};
use crate::error::ClientError;
use crate::headers::{
    AlterSyncStateSetRequestHeader, AlterSyncStateSetResponseHeader, ApplyBrokerIdRequestHeader,
    ControllerHeartbeatRequestHeader, ElectMasterRequestHeader, ElectMasterResponseHeader,
    GetMetaDataResponseHeader, GetNextBrokerIdRequestHeader, GetNextBrokerIdResponseHeader,
    GetReplicaInfoRequestHeader, GetReplicaInfoResponseHeader,
    RegisterBrokerToControllerRequestHeader, RegisterBrokerToControllerResponseHeader,
};

/// Splits a broker's `controllerAddr` (`host:port;host:port`) into addresses.
pub fn parse_addrs(controller_addr: &str) -> Vec<String> {
    controller_addr
        .split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The master of a broker set as the controller reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterInfo {
    /// Master id.
    pub broker_id: i64,
    /// Master address.
    pub address: String,
    /// Master epoch.
    pub master_epoch: i32,
    /// syncStateSet epoch.
    pub sync_state_set_epoch: i32,
}

/// Answer of CONTROLLER_REGISTER_BROKER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The live master, if the set has one (the caller is master when its id matches).
    pub master: Option<MasterInfo>,
    /// The set's syncStateSet.
    pub sync_state: SyncStateSet,
}

/// Answer of CONTROLLER_GET_REPLICA_INFO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaInfo {
    /// Master id, if the set has a master.
    pub master_broker_id: Option<i64>,
    /// Master address.
    pub master_address: Option<String>,
    /// Master epoch.
    pub master_epoch: i32,
    /// syncStateSet and its epoch.
    pub sync_state: SyncStateSet,
}

/// Answer of CONTROLLER_ELECT_MASTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Election {
    /// False when the old master stays (CONTROLLER_MASTER_STILL_EXIST).
    pub changed: bool,
    /// The master after the election.
    pub master: MasterInfo,
    /// syncStateSet after the election.
    pub sync_state_set: BTreeSet<i64>,
    /// All replicas of the set, when the master changed.
    pub members: Option<BrokerMemberGroup>,
}

/// A client of a controller group.
#[derive(Clone)]
pub struct ControllerClient {
    addrs: Vec<String>,
    leader: std::sync::Arc<parking_lot::Mutex<Option<String>>>,
    client: RemotingClient,
    deadline: Duration,
}

impl std::fmt::Debug for ControllerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControllerClient")
            .field("addrs", &self.addrs)
            .field("leader", &*self.leader.lock())
            .finish()
    }
}

fn field<T>(addr: &str, name: &str, v: Option<T>) -> Result<T, ClientError> {
    v.ok_or_else(|| ClientError::BadResponse {
        addr: addr.to_owned(),
        reason: format!("no {name}"),
    })
}

fn refused(resp: &RemotingCommand) -> ClientError {
    ClientError::Refused {
        code: resp.code,
        remark: resp.remark.clone().unwrap_or_default(),
    }
}

fn header<H: CommandHeader>(addr: &str, resp: &RemotingCommand) -> Result<H, ClientError> {
    resp.decode_header().map_err(|e| ClientError::BadResponse {
        addr: addr.to_owned(),
        reason: e.to_string(),
    })
}

fn body<B: JsonBody>(addr: &str, resp: &RemotingCommand) -> Result<B, ClientError> {
    B::from_json(&resp.body).map_err(|e| ClientError::BadResponse {
        addr: addr.to_owned(),
        reason: e.to_string(),
    })
}

impl ControllerClient {
    /// A client of the controllers at `addrs`; each call gives up after 10 s.
    pub fn new(addrs: Vec<String>) -> Self {
        ControllerClient {
            addrs,
            leader: Default::default(),
            client: RemotingClient::default(),
            deadline: Duration::from_secs(10),
        }
    }

    /// Sets how long one call may take, redirects and retries included.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The leader address last seen.
    pub fn leader_hint(&self) -> Option<String> {
        self.leader.lock().clone()
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.client.close_all().await;
    }

    /// Sends `cmd` to the leader; returns its address and response (any code but
    /// CONTROLLER_NOT_LEADER).
    pub async fn call_leader(
        &self,
        cmd: RemotingCommand,
    ) -> Result<(String, RemotingCommand), ClientError> {
        let start = Instant::now();
        let mut last = String::from("no controller address");
        loop {
            let mut queue: VecDeque<String> = VecDeque::new();
            if let Some(l) = self.leader_hint() {
                queue.push_back(l);
            }
            queue.extend(self.addrs.iter().cloned());
            let mut tried: Vec<String> = Vec::new();
            while let Some(addr) = queue.pop_front() {
                if tried.contains(&addr) {
                    continue;
                }
                tried.push(addr.clone());
                let left = self.deadline.saturating_sub(start.elapsed());
                if left.is_zero() {
                    break;
                }
                match self
                    .client
                    .invoke(&addr, cmd.clone(), left.min(Duration::from_secs(6)))
                    .await
                {
                    Ok(resp) if resp.code == response::CONTROLLER_NOT_LEADER => {
                        last = format!("{addr}: {}", resp.remark.clone().unwrap_or_default());
                        self.forget_leader(&addr);
                        if let Some(l) = resp.ext_fields.get("controllerLeaderAddress") {
                            if !tried.iter().any(|t| t == l) {
                                queue.push_front(l.to_owned());
                            }
                        }
                    }
                    Ok(resp) => {
                        *self.leader.lock() = Some(addr.clone());
                        return Ok((addr, resp));
                    }
                    Err(e) => {
                        last = e.to_string();
                        self.forget_leader(&addr);
                    }
                }
            }
            if start.elapsed() + Duration::from_millis(200) >= self.deadline {
                return Err(ClientError::NoLeader {
                    millis: self.deadline.as_millis() as u64,
                    last,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn forget_leader(&self, addr: &str) {
        let mut l = self.leader.lock();
        if l.as_deref() == Some(addr) {
            *l = None;
        }
    }

    /// CONTROLLER_GET_METADATA_INFO of one controller (no redirect).
    pub async fn metadata(&self, addr: &str) -> Result<GetMetaDataResponseHeader, ClientError> {
        let cmd = RemotingCommand::bare_request(req::CONTROLLER_GET_METADATA_INFO);
        let resp = self
            .client
            .invoke(addr, cmd, self.deadline)
            .await
            .map_err(|e| ClientError::NoLeader {
                millis: self.deadline.as_millis() as u64,
                last: e.to_string(),
            })?;
        if resp.code != response::SUCCESS {
            return Err(refused(&resp));
        }
        header(addr, &resp)
    }

    /// The id a new replica of `broker_name` should apply for.
    pub async fn next_broker_id(
        &self,
        cluster: &str,
        broker_name: &str,
    ) -> Result<i64, ClientError> {
        let cmd = RemotingCommand::request(
            req::CONTROLLER_GET_NEXT_BROKER_ID,
            &GetNextBrokerIdRequestHeader {
                cluster_name: cluster.to_owned(),
                broker_name: broker_name.to_owned(),
            },
        );
        let (addr, resp) = self.call_leader(cmd).await?;
        if resp.code != response::SUCCESS {
            return Err(refused(&resp));
        }
        let h: GetNextBrokerIdResponseHeader = header(&addr, &resp)?;
        field(&addr, "nextBrokerId", h.next_broker_id)
    }

    /// Claims `broker_id`; `check_code` is `brokerAddr;timestamp` and proves ownership later.
    pub async fn apply_broker_id(
        &self,
        cluster: &str,
        broker_name: &str,
        broker_id: i64,
        check_code: &str,
    ) -> Result<(), ClientError> {
        let cmd = RemotingCommand::request(
            req::CONTROLLER_APPLY_BROKER_ID,
            &ApplyBrokerIdRequestHeader {
                cluster_name: cluster.to_owned(),
                broker_name: broker_name.to_owned(),
                applied_broker_id: broker_id,
                register_check_code: check_code.to_owned(),
            },
        );
        let (_, resp) = self.call_leader(cmd).await?;
        match resp.code {
            response::SUCCESS => Ok(()),
            _ => Err(refused(&resp)),
        }
    }

    /// Registers replica `broker_id` at `broker_addr`; tells who the live master is.
    pub async fn register_broker(
        &self,
        cluster: &str,
        broker_name: &str,
        broker_id: i64,
        broker_addr: &str,
    ) -> Result<Registration, ClientError> {
        let cmd = RemotingCommand::request(
            req::CONTROLLER_REGISTER_BROKER,
            &RegisterBrokerToControllerRequestHeader {
                cluster_name: cluster.to_owned(),
                broker_name: broker_name.to_owned(),
                broker_id,
                broker_address: broker_addr.to_owned(),
                invoke_time: Some(ferromq_common::now_millis()),
            },
        );
        let (addr, resp) = self.call_leader(cmd).await?;
        if resp.code != response::SUCCESS {
            return Err(refused(&resp));
        }
        let h: RegisterBrokerToControllerResponseHeader = header(&addr, &resp)?;
        let sync_state: SyncStateSet = body(&addr, &resp)?;
        let master = match (h.master_broker_id, h.master_address) {
            (Some(id), Some(address)) => Some(MasterInfo {
                broker_id: id,
                address,
                master_epoch: h.master_epoch.unwrap_or_default(),
                sync_state_set_epoch: h.sync_state_set_epoch.unwrap_or_default(),
            }),
            _ => None,
        };
        Ok(Registration { master, sync_state })
    }

    /// RocketMQ 5.2's start-up sequence for a broker without a stored id: get the next id,
    /// apply for it with `brokerAddr;now` as check code (retrying with a fresh id when another
    /// replica won the race), then register. Returns the id and the registration.
    pub async fn join(
        &self,
        cluster: &str,
        broker_name: &str,
        broker_addr: &str,
    ) -> Result<(i64, Registration), ClientError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let id = self.next_broker_id(cluster, broker_name).await?;
            let check = format!("{broker_addr};{}", ferromq_common::now_millis());
            match self.apply_broker_id(cluster, broker_name, id, &check).await {
                Ok(()) => {
                    let reg = self
                        .register_broker(cluster, broker_name, id, broker_addr)
                        .await?;
                    return Ok((id, reg));
                }
                Err(ClientError::Refused { code, .. })
                    if code == response::CONTROLLER_BROKER_ID_INVALID && attempt < 5 => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends BROKER_HEARTBEAT to every controller (each keeps its own liveness table). Returns
    /// how many accepted it; an error only when none did. RocketMQ brokers send this every
    /// `brokerHeartbeatInterval` (1 s).
    pub async fn heartbeat(
        &self,
        beat: &ControllerHeartbeatRequestHeader,
    ) -> Result<usize, ClientError> {
        let mut set = tokio::task::JoinSet::new();
        for addr in &self.addrs {
            let client = self.client.clone();
            let addr = addr.clone();
            let cmd = RemotingCommand::request(req::BROKER_HEARTBEAT, beat);
            set.spawn(async move { client.invoke(&addr, cmd, Duration::from_secs(3)).await });
        }
        let mut ok = 0;
        let mut last = String::from("no controller address");
        while let Some(done) = set.join_next().await {
            match done {
                Ok(Ok(resp)) if resp.code == response::SUCCESS => ok += 1,
                Ok(Ok(resp)) => {
                    last = format!("code {}: {}", resp.code, resp.remark.unwrap_or_default())
                }
                Ok(Err(e)) => last = e.to_string(),
                Err(e) => last = e.to_string(),
            }
        }
        if ok == 0 {
            return Err(ClientError::NoController { last });
        }
        Ok(ok)
    }

    /// The master reports a new syncStateSet; `new_set.sync_state_set_epoch` must be the
    /// current epoch. Returns the set with its new epoch.
    pub async fn alter_sync_state_set(
        &self,
        broker_name: &str,
        master_broker_id: i64,
        master_epoch: i32,
        new_set: &SyncStateSet,
    ) -> Result<SyncStateSet, ClientError> {
        let cmd = RemotingCommand::request(
            req::CONTROLLER_ALTER_SYNC_STATE_SET,
            &AlterSyncStateSetRequestHeader {
                broker_name: broker_name.to_owned(),
                master_broker_id,
                master_epoch,
                invoke_time: Some(ferromq_common::now_millis()),
            },
        )
        .with_body(new_set.to_json());
        let (addr, resp) = self.call_leader(cmd).await?;
        if resp.code != response::SUCCESS {
            return Err(refused(&resp));
        }
        let h: AlterSyncStateSetResponseHeader = header(&addr, &resp)?;
        Ok(SyncStateSet {
            sync_state_set: new_set.sync_state_set.clone(),
            sync_state_set_epoch: h.new_sync_state_set_epoch,
        })
    }

    /// Master, epoch and syncStateSet of a broker set.
    pub async fn replica_info(&self, broker_name: &str) -> Result<ReplicaInfo, ClientError> {
        let cmd = RemotingCommand::request(
            req::CONTROLLER_GET_REPLICA_INFO,
            &GetReplicaInfoRequestHeader {
                broker_name: broker_name.to_owned(),
            },
        );
        let (addr, resp) = self.call_leader(cmd).await?;
        if resp.code != response::SUCCESS {
            return Err(refused(&resp));
        }
        let h: GetReplicaInfoResponseHeader = header(&addr, &resp)?;
        Ok(ReplicaInfo {
            master_broker_id: h.master_broker_id,
            master_address: h.master_address,
            master_epoch: h.master_epoch.unwrap_or_default(),
            sync_state: body(&addr, &resp)?,
        })
    }

    /// Asks for a master election. `broker_id`: the asking broker (elected if the set never had
    /// a master), or with `designate` the only acceptable winner (admin). CONTROLLER_MASTER_
    /// STILL_EXIST is an answer (`changed == false`), not an error.
    pub async fn elect_master(
        &self,
        cluster: &str,
        broker_name: &str,
        broker_id: Option<i64>,
        designate: bool,
    ) -> Result<Election, ClientError> {
        let cmd = RemotingCommand::request(
            req::CONTROLLER_ELECT_MASTER,
            &ElectMasterRequestHeader {
                cluster_name: Some(cluster.to_owned()),
                broker_name: broker_name.to_owned(),
                broker_id,
                designate_elect: Some(designate),
                invoke_time: Some(ferromq_common::now_millis()),
            },
        );
        let (addr, resp) = self.call_leader(cmd).await?;
        let changed = match resp.code {
            response::SUCCESS => true,
            response::CONTROLLER_MASTER_STILL_EXIST => false,
            _ => return Err(refused(&resp)),
        };
        let h: ElectMasterResponseHeader = header(&addr, &resp)?;
        let b: ElectMasterResponseBody = body(&addr, &resp)?;
        Ok(Election {
            changed,
            master: MasterInfo {
                broker_id: field(&addr, "masterBrokerId", h.master_broker_id)?,
                address: field(&addr, "masterAddress", h.master_address)?,
                master_epoch: field(&addr, "masterEpoch", h.master_epoch)?,
                sync_state_set_epoch: h.sync_state_set_epoch.unwrap_or_default(),
            },
            sync_state_set: b.sync_state_set,
            members: b.broker_member_group,
        })
    }

    /// Replica state of several broker sets (admin view).
    pub async fn sync_state_data(
        &self,
        broker_names: &[&str],
    ) -> Result<BrokerReplicasInfo, ClientError> {
        let names = BrokerNames(broker_names.iter().map(|s| (*s).to_owned()).collect());
        let cmd = RemotingCommand::bare_request(req::CONTROLLER_GET_SYNC_STATE_DATA)
            .with_body(names.to_json());
        let (addr, resp) = self.call_leader(cmd).await?;
        if resp.code != response::SUCCESS {
            return Err(refused(&resp));
        }
        body(&addr, &resp)
    }
}
