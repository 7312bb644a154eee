//! Controller commands (RocketMQ 5 controller mode): `getControllerMetaData`,
//! `getSyncStateSet`, `getControllerConfig`, `updateControllerConfig`, `electMaster`,
//! `cleanBrokerMetadata` (Java `GetControllerMetaDataSubCommand`, `GetSyncStateSetSubCommand`,
//! `GetControllerConfigSubCommand`, `UpdateControllerConfigSubCommand`,
//! `ReElectMasterSubCommand`, `CleanControllerBrokerMetaSubCommand`).
//!
//! As in Java's `MQClientAPIImpl`, the reads and writes that only the Raft leader serves
//! (sync state data, elections, cleaning) first ask CONTROLLER_GET_METADATA_INFO for the
//! leader's address, then send the request there. Unlike Java, every address of `-a` is tried
//! for the metadata until one answers, so one stopped controller does not fail the command.
//! Settings (GET/UPDATE_CONTROLLER_CONFIG) are per node and go to every address of `-a`.

use std::fmt;
use std::time::Duration;

use ferromq_client::namesrv::check_addr;
use ferromq_client::{AdminClient, ClientError};
use ferromq_common::config::Properties;
use ferromq_controller::body::{
    BrokerMemberGroup, BrokerNames, BrokerReplicasInfo, ElectMasterResponseBody, ReplicaIdentity,
};
use ferromq_controller::codes::{request as req, response as code};
use ferromq_controller::headers::{
    CleanControllerBrokerDataRequestHeader, ElectMasterRequestHeader, ElectMasterResponseHeader,
    GetMetaDataResponseHeader,
};
use ferromq_net::RemotingClient;
use ferromq_proto::body::JsonBody;
use ferromq_proto::RemotingCommand;

use crate::broker_config::write_settings;
use crate::cluster::CLUSTER_ERROR;
use crate::AdminError;

/// Deadline of one controller call (Java's tools use 3 s).
pub const CONTROLLER_TIMEOUT: Duration = Duration::from_secs(3);

/// Connections to the controllers named by `-a`.
#[derive(Clone)]
pub struct ControllerAdmin {
    remoting: RemotingClient,
    addrs: Vec<String>,
    timeout: Duration,
}

impl fmt::Debug for ControllerAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControllerAdmin")
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

impl ControllerAdmin {
    /// A client of the controllers in `list` (`a:9878;b:9878`), 3 s per call.
    ///
    /// Errors when the list is empty or an entry is not `host:port`.
    pub fn new(list: &str) -> Result<Self, AdminError> {
        let mut addrs: Vec<String> = Vec::new();
        for a in list.split(';').map(str::trim).filter(|a| !a.is_empty()) {
            check_addr(a)?;
            if !addrs.iter().any(|x| x == a) {
                addrs.push(a.to_owned());
            }
        }
        if addrs.is_empty() {
            return Err(AdminError::InvalidArgument {
                reason: "no controller address: pass -a host:port (e.g. -a 127.0.0.1:9878)".into(),
            });
        }
        Ok(ControllerAdmin {
            remoting: RemotingClient::default(),
            addrs,
            timeout: CONTROLLER_TIMEOUT,
        })
    }

    /// Same client with another deadline per call.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The controller addresses, in the order given.
    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.remoting.close_all().await;
    }

    async fn call(&self, addr: &str, cmd: RemotingCommand) -> Result<RemotingCommand, AdminError> {
        self.remoting
            .invoke(addr, cmd, self.timeout)
            .await
            .map_err(|e| AdminError::from(ClientError::from(e)))
    }

    async fn call_ok(
        &self,
        addr: &str,
        cmd: RemotingCommand,
    ) -> Result<RemotingCommand, AdminError> {
        let resp = self.call(addr, cmd).await?;
        if resp.code == code::SUCCESS {
            Ok(resp)
        } else {
            Err(refused(&resp))
        }
    }

    /// CONTROLLER_GET_METADATA_INFO from the first address that answers; returns that address
    /// and the answer. Fails with the last error when none answers.
    pub async fn metadata(&self) -> Result<(String, GetMetaDataResponseHeader), AdminError> {
        let mut last = None;
        for addr in &self.addrs {
            let cmd = RemotingCommand::bare_request(req::CONTROLLER_GET_METADATA_INFO);
            match self.call_ok(addr, cmd).await {
                Ok(resp) => {
                    let h =
                        resp.decode_header::<GetMetaDataResponseHeader>()
                            .map_err(|source| ClientError::Header {
                                what: "controller metadata",
                                source,
                            })?;
                    return Ok((addr.clone(), h));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| AdminError::InvalidArgument {
            reason: "no controller address".into(),
        }))
    }

    /// The leader's address, as the first answering controller knows it.
    pub async fn leader(&self) -> Result<String, AdminError> {
        let (addr, meta) = self.metadata().await?;
        match meta.controller_leader_address.filter(|a| !a.is_empty()) {
            Some(leader) => Ok(leader),
            None => Err(AdminError::coded(
                code::CONTROLLER_NOT_LEADER,
                &format!("The controller group has no leader yet (asked {addr}); an election may be under way, try again"),
            )),
        }
    }
}

fn refused(resp: &RemotingCommand) -> AdminError {
    AdminError::coded(resp.code, resp.remark.as_deref().unwrap_or_default())
}

fn bad_body(what: &'static str, source: ferromq_proto::body::BodyError) -> AdminError {
    ClientError::Body { what, source }.into()
}

/// Java `printf("%s")` / `("%d")` of a nullable value.
fn or_null<T: fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "null".to_owned(), T::to_string)
}

// ---- getControllerMetaData ----------------------------------------------------------------

/// The data of `getControllerMetaData`: what one controller knows of its group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerMetaDataReport {
    /// The controller that answered.
    pub addr: String,
    /// `controllerDLegerGroup`.
    pub group: Option<String>,
    /// Leader's node id, when known.
    pub leader_id: Option<String>,
    /// Leader's address, when known.
    pub leader_address: Option<String>,
    /// Whether the answering node is the leader.
    pub is_leader: bool,
    /// `id:addr` of every node.
    pub peers: Vec<String>,
}

/// Runs `getControllerMetaData`: CONTROLLER_GET_METADATA_INFO (1005).
pub async fn controller_metadata(
    ca: &ControllerAdmin,
) -> Result<ControllerMetaDataReport, AdminError> {
    let (addr, h) = ca.metadata().await?;
    Ok(ControllerMetaDataReport {
        addr,
        group: h.group,
        leader_id: h.controller_leader_id,
        leader_address: h.controller_leader_address,
        is_leader: h.is_leader,
        peers: h
            .peers
            .unwrap_or_default()
            .split(';')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

impl fmt::Display for ControllerMetaDataReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n#ControllerGroup\t{}", or_null(&self.group))?;
        write!(f, "\n#ControllerLeaderId\t{}", or_null(&self.leader_id))?;
        write!(
            f,
            "\n#ControllerLeaderAddress\t{}",
            or_null(&self.leader_address)
        )?;
        for p in &self.peers {
            write!(f, "\n#Peer:\t{p}")?;
        }
        writeln!(f)
    }
}

// ---- getSyncStateSet ----------------------------------------------------------------------

/// The data of `getSyncStateSet`: replica state of the broker sets asked, as the leader holds
/// it (liveness as the leader sees heartbeats).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncStateSetReport {
    /// CONTROLLER_GET_SYNC_STATE_DATA's answer.
    pub info: BrokerReplicasInfo,
}

/// Runs `getSyncStateSet` for `broker_names`: CONTROLLER_GET_SYNC_STATE_DATA (1006) to the
/// leader. With `strict` (the names came from `-b`), a name the controller does not know fails
/// the command with CONTROLLER_BROKER_METADATA_NOT_EXIST; Java prints nothing and succeeds.
/// Without it (names from a cluster, `-c`) such names are left out, as Java does.
pub async fn sync_state_set(
    ca: &ControllerAdmin,
    broker_names: &[String],
    strict: bool,
) -> Result<SyncStateSetReport, AdminError> {
    if broker_names.is_empty() {
        return Ok(SyncStateSetReport::default());
    }
    let leader = ca.leader().await?;
    let cmd = RemotingCommand::bare_request(req::CONTROLLER_GET_SYNC_STATE_DATA)
        .with_body(BrokerNames(broker_names.to_vec()).to_json());
    let resp = ca.call_ok(&leader, cmd).await?;
    let info =
        BrokerReplicasInfo::from_json(&resp.body).map_err(|e| bad_body("sync state data", e))?;
    if strict {
        if let Some(missing) = broker_names
            .iter()
            .find(|n| !info.replicas_info_table.contains_key(*n))
        {
            return Err(AdminError::coded(
                code::CONTROLLER_BROKER_METADATA_NOT_EXIST,
                &format!("Broker metadata is not existed: broker-set {missing} hasn't been registered in controller"),
            ));
        }
    }
    Ok(SyncStateSetReport { info })
}

/// The broker names of `cluster` as the name servers know them
/// (`CommandUtil.fetchBrokerNameByClusterName`), for `getSyncStateSet -c`.
pub async fn broker_names_of_cluster(
    admin: &AdminClient,
    cluster: &str,
) -> Result<Vec<String>, AdminError> {
    let info = admin.cluster_info().await?;
    match info.cluster_addr_table.get(cluster.trim()) {
        Some(names) if !names.is_empty() => Ok(names.iter().cloned().collect()),
        _ => Err(AdminError::NotFound {
            message: CLUSTER_ERROR.trim_start_matches("[error] ").to_owned(),
        }),
    }
}

/// Java's `ReplicaIdentity.toString()`.
fn identity(r: &ReplicaIdentity) -> String {
    format!(
        "ReplicaIdentity{{brokerName='{}', brokerId={}, brokerAddress='{}', alive={}}}",
        r.broker_name, r.broker_id, r.broker_address, r.alive
    )
}

impl fmt::Display for SyncStateSetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, r) in &self.info.replicas_info_table {
            write!(
                f,
                "\n#brokerName\t{name}\n#MasterBrokerId\t{}\n#MasterAddr\t{}\n#MasterEpoch\t{}\n#SyncStateSetEpoch\t{}\n#SyncStateSetNums\t{}\n",
                or_null(&r.master_broker_id),
                or_null(&r.master_address),
                r.master_epoch,
                r.sync_state_set_epoch,
                r.in_sync_replicas.len()
            )?;
            for m in &r.in_sync_replicas {
                write!(f, "\nInSyncReplica:\t{}\n", identity(m))?;
            }
            for m in &r.not_in_sync_replicas {
                write!(f, "\nNotInSyncReplica:\t{}\n", identity(m))?;
            }
        }
        Ok(())
    }
}

// ---- getControllerConfig / updateControllerConfig -----------------------------------------

/// The data of `getControllerConfig`: each controller's settings, in the order of `-a`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerConfigReport {
    /// Controller address and its settings.
    pub servers: Vec<(String, Properties)>,
}

/// Runs `getControllerConfig`: GET_CONTROLLER_CONFIG (1010) to every controller of `-a`; any
/// failure fails the command with nothing printed (Java gathers all first).
pub async fn controller_config(ca: &ControllerAdmin) -> Result<ControllerConfigReport, AdminError> {
    let mut servers = Vec::new();
    for addr in ca.addrs() {
        let resp = ca
            .call_ok(
                addr,
                RemotingCommand::bare_request(req::GET_CONTROLLER_CONFIG),
            )
            .await?;
        let text = String::from_utf8_lossy(&resp.body);
        servers.push((addr.clone(), Properties::parse(&text)));
    }
    Ok(ControllerConfigReport { servers })
}

impl fmt::Display for ControllerConfigReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (addr, props) in &self.servers {
            writeln!(f, "============{addr}============")?;
            write_settings(f, props)?;
        }
        Ok(())
    }
}

/// What `updateControllerConfig` did; `Display` is Java's success line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateControllerConfigReport {
    /// The controllers updated.
    pub servers: Vec<String>,
    /// The key set.
    pub key: String,
    /// Its value.
    pub value: String,
}

/// Runs `updateControllerConfig`: UPDATE_CONTROLLER_CONFIG (1009) with `key=value` to every
/// controller of `-a` (each node keeps its own settings, as in RocketMQ). A refusal by any
/// fails the command after all were asked; an unreachable one fails it at once (as Java).
pub async fn update_controller_config(
    ca: &ControllerAdmin,
    key: &str,
    value: &str,
) -> Result<UpdateControllerConfigReport, AdminError> {
    let (key, value) = (key.trim(), value.trim());
    let body = format!("{key}={value}\n").into_bytes();
    let mut refusal = None;
    for addr in ca.addrs() {
        let cmd =
            RemotingCommand::bare_request(req::UPDATE_CONTROLLER_CONFIG).with_body(body.clone());
        let resp = ca.call(addr, cmd).await?;
        if resp.code != code::SUCCESS {
            refusal = Some(refused(&resp));
        }
    }
    if let Some(e) = refusal {
        return Err(e);
    }
    Ok(UpdateControllerConfigReport {
        servers: ca.addrs().to_vec(),
        key: key.to_owned(),
        value: value.to_owned(),
    })
}

impl fmt::Display for UpdateControllerConfigReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "update controller config success![{}]\n{} : {}",
            self.servers.join(", "),
            self.key,
            self.value
        )
    }
}

// ---- electMaster --------------------------------------------------------------------------

/// The data of `electMaster`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectMasterReport {
    /// `-c`.
    pub cluster: String,
    /// `-bn`.
    pub broker_name: String,
    /// The master after the election.
    pub header: ElectMasterResponseHeader,
    /// The replicas of the set.
    pub members: Option<BrokerMemberGroup>,
}

/// Runs `electMaster`: CONTROLLER_ELECT_MASTER (1002) to the leader with `brokerId` designated
/// (`ElectMasterRequestHeader.ofAdminTrigger`). Any answer but SUCCESS fails, as in Java,
/// including CONTROLLER_MASTER_STILL_EXIST when `broker_id` is already the master.
pub async fn elect_master(
    ca: &ControllerAdmin,
    cluster: &str,
    broker_name: &str,
    broker_id: i64,
) -> Result<ElectMasterReport, AdminError> {
    let (cluster, broker_name) = (cluster.trim(), broker_name.trim());
    let leader = ca.leader().await?;
    let cmd = RemotingCommand::request(
        req::CONTROLLER_ELECT_MASTER,
        &ElectMasterRequestHeader {
            cluster_name: Some(cluster.to_owned()),
            broker_name: broker_name.to_owned(),
            broker_id: Some(broker_id),
            designate_elect: Some(true),
            invoke_time: Some(ferromq_common::now_millis()),
        },
    );
    let resp = ca.call_ok(&leader, cmd).await?;
    let header = resp
        .decode_header::<ElectMasterResponseHeader>()
        .map_err(|source| ClientError::Header {
            what: "elect master",
            source,
        })?;
    // RocketMQ 5.3 controllers answer with `ElectMasterResponseBody`; older ones with the
    // `BrokerMemberGroup` alone.
    let members = match ElectMasterResponseBody::from_json(&resp.body) {
        Ok(b) if b.broker_member_group.is_some() => b.broker_member_group,
        _ => BrokerMemberGroup::from_json(&resp.body).ok(),
    };
    Ok(ElectMasterReport {
        cluster: cluster.to_owned(),
        broker_name: broker_name.to_owned(),
        header,
        members,
    })
}

impl fmt::Display for ElectMasterReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.header;
        write!(f, "\n#ClusterName\t{}", self.cluster)?;
        write!(f, "\n#BrokerName\t{}", self.broker_name)?;
        write!(f, "\n#BrokerMasterAddr\t{}", or_null(&h.master_address))?;
        write!(f, "\n#MasterEpoch\t{}", or_null(&h.master_epoch))?;
        writeln!(
            f,
            "\n#SyncStateSetEpoch\t{}",
            or_null(&h.sync_state_set_epoch)
        )?;
        if let Some(m) = &self.members {
            for (id, addr) in &m.broker_addrs {
                writeln!(f, "\t#Broker\t{id}\t{addr}")?;
            }
        }
        Ok(())
    }
}

// ---- cleanBrokerMetadata ------------------------------------------------------------------

/// What `cleanBrokerMetadata` did; `Display` is Java's success line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanBrokerMetadataReport {
    /// The broker set cleaned.
    pub broker_name: String,
}

/// Runs `cleanBrokerMetadata`: CLEAN_BROKER_DATA (1011) to the leader. `ids` is `-b`
/// (`1;2;3`, none for the whole set); without `clean_living` the cluster is required and live
/// replicas are kept (Java's checks, done before contacting anyone).
pub async fn clean_broker_metadata(
    ca: &ControllerAdmin,
    cluster: Option<&str>,
    broker_name: &str,
    ids: Option<&str>,
    clean_living: bool,
) -> Result<CleanBrokerMetadataReport, AdminError> {
    let cluster = cluster.map(str::trim).filter(|c| !c.is_empty());
    let ids = ids.map(str::trim);
    if let Some(ids) = ids {
        if ids
            .split(';')
            .any(|i| !i.trim().is_empty() && i.trim().parse::<i64>().is_err())
        {
            return Err(AdminError::InvalidArgument {
                reason: format!("please set the option <brokerControllerIdsToClean> according to the format (1;2;3), not `{ids}`"),
            });
        }
    }
    if !clean_living && cluster.is_none() {
        return Err(AdminError::InvalidArgument {
            reason: "cleanLivingBroker option is false, clusterName option can not be empty."
                .into(),
        });
    }
    let broker_name = broker_name.trim();
    let leader = ca.leader().await?;
    let cmd = RemotingCommand::request(
        req::CLEAN_BROKER_DATA,
        &CleanControllerBrokerDataRequestHeader {
            cluster_name: cluster.map(str::to_owned),
            broker_name: broker_name.to_owned(),
            broker_controller_ids_to_clean: ids.map(str::to_owned),
            is_clean_living_broker: Some(clean_living),
            invoke_time: Some(ferromq_common::now_millis()),
        },
    );
    ca.call_ok(&leader, cmd).await?;
    Ok(CleanBrokerMetadataReport {
        broker_name: broker_name.to_owned(),
    })
}

impl fmt::Display for CleanBrokerMetadataReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "clear broker {} metadata from controller success! ",
            self.broker_name
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ferromq_controller::body::ReplicasInfo;

    use super::*;

    #[test]
    fn addresses_are_checked_before_any_call() {
        assert!(ControllerAdmin::new("").is_err());
        assert!(ControllerAdmin::new(" ; ").is_err());
        assert!(ControllerAdmin::new("nohost").is_err());
        let ca = ControllerAdmin::new("127.0.0.1:9878; 127.0.0.1:9868;127.0.0.1:9878").unwrap();
        assert_eq!(ca.addrs(), ["127.0.0.1:9878", "127.0.0.1:9868"]);
    }

    #[test]
    fn metadata_prints_as_java() {
        let r = ControllerMetaDataReport {
            addr: "127.0.0.1:9878".into(),
            group: Some("group1".into()),
            leader_id: Some("n1".into()),
            leader_address: Some("127.0.0.1:9868".into()),
            is_leader: false,
            peers: vec!["n0:127.0.0.1:9878".into(), "n1:127.0.0.1:9868".into()],
        };
        assert_eq!(
            r.to_string(),
            "\n#ControllerGroup\tgroup1\n#ControllerLeaderId\tn1\n#ControllerLeaderAddress\t127.0.0.1:9868\n#Peer:\tn0:127.0.0.1:9878\n#Peer:\tn1:127.0.0.1:9868\n"
        );
        let none = ControllerMetaDataReport {
            leader_id: None,
            leader_address: None,
            peers: vec![],
            ..r
        };
        assert!(none.to_string().contains("#ControllerLeaderId\tnull\n"));
    }

    #[test]
    fn sync_state_set_prints_as_java() {
        let id = |i: i64, alive| ReplicaIdentity {
            alive,
            broker_address: format!("127.0.0.1:3091{i}"),
            broker_id: i,
            broker_name: "broker-a".into(),
        };
        let mut table = BTreeMap::new();
        table.insert(
            "broker-a".to_owned(),
            ReplicasInfo {
                in_sync_replicas: vec![id(1, true)],
                master_address: Some("127.0.0.1:30911".into()),
                master_broker_id: Some(1),
                master_epoch: 2,
                not_in_sync_replicas: vec![id(2, false)],
                sync_state_set_epoch: 3,
            },
        );
        let r = SyncStateSetReport {
            info: BrokerReplicasInfo {
                replicas_info_table: table,
            },
        };
        assert_eq!(
            r.to_string(),
            "\n#brokerName\tbroker-a\n#MasterBrokerId\t1\n#MasterAddr\t127.0.0.1:30911\n#MasterEpoch\t2\n#SyncStateSetEpoch\t3\n#SyncStateSetNums\t1\n\
             \nInSyncReplica:\tReplicaIdentity{brokerName='broker-a', brokerId=1, brokerAddress='127.0.0.1:30911', alive=true}\n\
             \nNotInSyncReplica:\tReplicaIdentity{brokerName='broker-a', brokerId=2, brokerAddress='127.0.0.1:30912', alive=false}\n"
        );
    }

    #[test]
    fn elect_update_and_clean_lines_read_as_java() {
        let r = ElectMasterReport {
            cluster: "C".into(),
            broker_name: "broker-a".into(),
            header: ElectMasterResponseHeader {
                master_broker_id: Some(2),
                master_address: Some("127.0.0.1:30912".into()),
                master_epoch: Some(2),
                sync_state_set_epoch: Some(3),
            },
            members: Some(BrokerMemberGroup {
                broker_addrs: [(1, "127.0.0.1:30911".to_owned())].into_iter().collect(),
                broker_name: "broker-a".into(),
                cluster: "C".into(),
            }),
        };
        assert_eq!(
            r.to_string(),
            "\n#ClusterName\tC\n#BrokerName\tbroker-a\n#BrokerMasterAddr\t127.0.0.1:30912\n#MasterEpoch\t2\n#SyncStateSetEpoch\t3\n\t#Broker\t1\t127.0.0.1:30911\n"
        );
        let u = UpdateControllerConfigReport {
            servers: vec!["a:1".into(), "b:2".into()],
            key: "k".into(),
            value: "v".into(),
        };
        assert_eq!(
            u.to_string(),
            "update controller config success![a:1, b:2]\nk : v\n"
        );
        let c = CleanBrokerMetadataReport {
            broker_name: "broker-a".into(),
        };
        assert_eq!(
            c.to_string(),
            "clear broker broker-a metadata from controller success! \n"
        );
    }

    #[tokio::test]
    async fn clean_checks_options_before_calling() {
        // Port 1 is never called: the option checks fail first.
        let ca = ControllerAdmin::new("127.0.0.1:1").unwrap();
        let e = clean_broker_metadata(&ca, None, "broker-a", None, false)
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("clusterName option can not be empty"),
            "{e}"
        );
        let e = clean_broker_metadata(&ca, Some("C"), "broker-a", Some("1;x"), false)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("brokerControllerIdsToClean"), "{e}");
    }
}
