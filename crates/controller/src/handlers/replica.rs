//! Replica state: syncStateSet changes, master elections, and the read requests.

use std::time::Instant;

use ferromq_proto::body::JsonBody;
use ferromq_proto::RemotingCommand;

use super::unexpected;
use crate::body::{
    BrokerNames, BrokerReplicasInfo, ElectMasterResponseBody, ReplicaIdentity, ReplicasInfo,
    SyncStateSet,
};
use crate::codes::{request as req, response};
use crate::error::RequestError;
use crate::headers::{
    AlterSyncStateSetRequestHeader, AlterSyncStateSetResponseHeader, ElectMasterRequestHeader,
    ElectMasterResponseHeader, GetReplicaInfoRequestHeader, GetReplicaInfoResponseHeader,
    NotifyBrokerRoleChangedRequestHeader,
};
use crate::replicas::{Command, Outcome};
use crate::shared::Shared;

/// CONTROLLER_ALTER_SYNC_STATE_SET: fenced by the master epoch and the syncStateSet epoch.
pub(super) async fn alter_sync_state_set(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, RequestError> {
    let h: AlterSyncStateSetRequestHeader = request.decode_header()?;
    let new_set = SyncStateSet::from_json(&request.body)?;
    let cluster = shared.cluster_of(&h.broker_name);
    let alive = shared.alive_ids(&cluster, &h.broker_name);
    let outcome = shared
        .propose(Command::AlterSyncStateSet {
            broker_name: h.broker_name,
            master_broker_id: h.master_broker_id,
            master_epoch: h.master_epoch,
            new_set: new_set.clone(),
            alive,
        })
        .await?;
    Ok(match outcome {
        Outcome::SyncStateSetAltered { new_epoch } => {
            let body = SyncStateSet {
                sync_state_set: new_set.sync_state_set,
                sync_state_set_epoch: new_epoch,
            };
            request
                .success_to()
                .with_header(&AlterSyncStateSetResponseHeader {
                    new_sync_state_set_epoch: new_epoch,
                })
                .with_body(body.to_json())
        }
        other => unexpected(request, other),
    })
}

/// CONTROLLER_ELECT_MASTER from a broker or an admin tool.
pub(super) async fn elect_master(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, RequestError> {
    let h: ElectMasterRequestHeader = request.decode_header()?;
    let outcome = elect_and_notify(
        shared,
        &h.broker_name,
        h.broker_id,
        h.designate_elect.unwrap_or(false),
    )
    .await?;
    Ok(elect_response(request, outcome))
}

/// Elects a master for `broker_name` (`broker_id` `None`: the controller's own trigger) and, on
/// a change, tells the live replicas when `notifyBrokerRoleChanged` is on.
pub(crate) async fn elect_and_notify(
    shared: &Shared,
    broker_name: &str,
    broker_id: Option<i64>,
    designate: bool,
) -> Result<Outcome, RequestError> {
    let cluster = shared.cluster_of(broker_name);
    let alive = shared.ranked_alive(&cluster, broker_name);
    let unclean = shared.config.read().enable_elect_unclean_master;
    let outcome = shared
        .propose(Command::ElectMaster {
            broker_name: broker_name.to_owned(),
            broker_id,
            designate,
            alive,
            unclean,
        })
        .await?;
    if let Outcome::Elected { changed: true, .. } = &outcome {
        if shared.config.read().notify_broker_role_changed {
            notify_role_changed(shared, broker_name, &outcome);
        }
    }
    Ok(outcome)
}

fn elect_response(request: &RemotingCommand, outcome: Outcome) -> RemotingCommand {
    match outcome {
        Outcome::Elected {
            changed,
            master_broker_id,
            master_address,
            master_epoch,
            sync_state,
            members,
        } => {
            let header = ElectMasterResponseHeader {
                master_broker_id: Some(master_broker_id),
                master_address: Some(master_address),
                master_epoch: Some(master_epoch),
                sync_state_set_epoch: Some(sync_state.sync_state_set_epoch),
            };
            let (code, remark, group) = if changed {
                (response::SUCCESS, None, Some(members))
            } else {
                (
                    response::CONTROLLER_MASTER_STILL_EXIST,
                    Some(format!(
                        "The old master {master_broker_id} is still alive, not need to elect new master for broker {}",
                        members.broker_name
                    )),
                    None,
                )
            };
            let body = ElectMasterResponseBody {
                broker_member_group: group,
                sync_state_set: sync_state.sync_state_set,
            };
            request
                .response_to(code, remark)
                .with_header(&header)
                .with_body(body.to_json())
        }
        Outcome::MasterLost => request.response_to(
            response::CONTROLLER_MASTER_NOT_AVAILABLE,
            Some("Old master has down and failed to elect a new broker master".into()),
        ),
        other => unexpected(request, other),
    }
}

/// Sends NOTIFY_BROKER_ROLE_CHANGED one-way to every live replica of the set, best effort and
/// without waiting (RocketMQ's `ControllerManager.notifyBrokerRoleChanged`).
fn notify_role_changed(shared: &Shared, broker_name: &str, outcome: &Outcome) {
    let Outcome::Elected {
        master_broker_id,
        master_address,
        master_epoch,
        sync_state,
        members,
        ..
    } = outcome
    else {
        return;
    };
    let header = NotifyBrokerRoleChangedRequestHeader {
        master_address: Some(master_address.clone()),
        master_epoch: Some(*master_epoch),
        sync_state_set_epoch: Some(sync_state.sync_state_set_epoch),
        master_broker_id: Some(*master_broker_id),
    };
    let body = sync_state.to_json();
    let now = Instant::now();
    let targets: Vec<String> = {
        let hb = shared.heartbeats.lock();
        members
            .broker_addrs
            .iter()
            .filter(|(id, _)| hb.is_active(&members.cluster, broker_name, **id, now))
            .map(|(_, addr)| addr.clone())
            .collect()
    };
    for addr in targets {
        let cmd = RemotingCommand::request(req::NOTIFY_BROKER_ROLE_CHANGED, &header)
            .with_body(body.clone());
        let client = shared.notifier.clone();
        tokio::spawn(async move {
            if let Err(e) = client.invoke_oneway(&addr, cmd).await {
                tracing::warn!(broker = %addr, error = %e, "role-change notice not sent");
            }
        });
    }
}

/// CONTROLLER_GET_REPLICA_INFO.
pub(super) async fn replica_info(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, RequestError> {
    let h: GetReplicaInfoRequestHeader = request.decode_header()?;
    shared.ensure_leader().await?;
    let state = shared.state.read();
    let Some(set) = state.table.get(&h.broker_name) else {
        return Ok(request.response_to(
            response::CONTROLLER_BROKER_METADATA_NOT_EXIST,
            Some("Broker metadata is not existed".into()),
        ));
    };
    let header = GetReplicaInfoResponseHeader {
        master_broker_id: set.master_broker_id,
        master_address: set.master_address().map(str::to_owned),
        master_epoch: Some(set.master_epoch),
    };
    Ok(request
        .success_to()
        .with_header(&header)
        .with_body(set.sync_state().to_json()))
}

/// CONTROLLER_GET_SYNC_STATE_DATA: body is a JSON list of broker names; unknown names are
/// left out of the answer.
pub(super) async fn sync_state_data(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, RequestError> {
    let names = BrokerNames::from_json(&request.body)?;
    if names.0.is_empty() {
        return Ok(request.response_to(
            response::SYSTEM_ERROR,
            Some("no broker names in the request body".into()),
        ));
    }
    shared.ensure_leader().await?;
    let now = Instant::now();
    let mut info = BrokerReplicasInfo::default();
    let state = shared.state.read();
    let hb = shared.heartbeats.lock();
    for name in names.0 {
        let Some(set) = state.table.get(&name) else {
            continue;
        };
        let mut entry = ReplicasInfo {
            master_address: set.master_address().map(str::to_owned),
            master_broker_id: set.master_broker_id,
            master_epoch: set.master_epoch,
            sync_state_set_epoch: set.sync_state_set_epoch,
            ..Default::default()
        };
        for (id, replica) in &set.replicas {
            let identity = ReplicaIdentity {
                alive: hb.is_active(&set.cluster_name, &name, *id, now),
                broker_address: replica.address.clone(),
                broker_id: *id,
                broker_name: name.clone(),
            };
            if set.sync_state_set.contains(id) {
                entry.in_sync_replicas.push(identity);
            } else {
                entry.not_in_sync_replicas.push(identity);
            }
        }
        info.replicas_info_table.insert(name, entry);
    }
    Ok(request.success_to().with_body(info.to_json()))
}
