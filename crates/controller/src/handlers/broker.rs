//! Broker membership and liveness: heartbeats, broker ids, registration.

use std::time::Instant;

use ferromq_net::ConnectionHandle;
use ferromq_proto::RemotingCommand;

use super::unexpected;
use crate::codes::response;
use crate::error::RequestError;
use crate::headers::{
    ApplyBrokerIdRequestHeader, ApplyBrokerIdResponseHeader,
    CleanControllerBrokerDataRequestHeader, ControllerHeartbeatRequestHeader,
    GetNextBrokerIdRequestHeader, GetNextBrokerIdResponseHeader,
    RegisterBrokerToControllerRequestHeader, RegisterBrokerToControllerResponseHeader,
};
use crate::replicas::{Command, Outcome};
use crate::shared::Shared;
use ferromq_proto::body::JsonBody;

/// BROKER_HEARTBEAT: served by every node, leader or not.
pub(super) fn heartbeat(
    shared: &Shared,
    conn: &ConnectionHandle,
    request: &RemotingCommand,
) -> Result<RemotingCommand, RequestError> {
    let h: ControllerHeartbeatRequestHeader = request.decode_header()?;
    let Some(id) = h.broker_id else {
        return Ok(request.response_to(
            response::CONTROLLER_INVALID_REQUEST,
            Some("Heart beat with empty brokerId".into()),
        ));
    };
    shared
        .heartbeats
        .lock()
        .on_heartbeat(&h, id, conn.id(), Instant::now());
    Ok(request.response_to(response::SUCCESS, Some("Heart beat success".into())))
}

/// CONTROLLER_GET_NEXT_BROKER_ID.
pub(super) async fn next_broker_id(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, RequestError> {
    let h: GetNextBrokerIdRequestHeader = request.decode_header()?;
    shared.ensure_leader().await?;
    let next = shared.state.read().table.next_broker_id(&h.broker_name);
    Ok(request
        .success_to()
        .with_header(&GetNextBrokerIdResponseHeader {
            cluster_name: Some(h.cluster_name),
            broker_name: Some(h.broker_name),
            next_broker_id: Some(next),
        }))
}

/// CONTROLLER_APPLY_BROKER_ID.
pub(super) async fn apply_broker_id(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, RequestError> {
    let h: ApplyBrokerIdRequestHeader = request.decode_header()?;
    let outcome = shared
        .propose(Command::ApplyBrokerId {
            cluster_name: h.cluster_name.clone(),
            broker_name: h.broker_name.clone(),
            broker_id: h.applied_broker_id,
            register_check_code: h.register_check_code,
        })
        .await?;
    Ok(match outcome {
        Outcome::BrokerIdApplied => {
            request
                .success_to()
                .with_header(&ApplyBrokerIdResponseHeader {
                    cluster_name: Some(h.cluster_name),
                    broker_name: Some(h.broker_name),
                })
        }
        other => unexpected(request, other),
    })
}

/// CONTROLLER_REGISTER_BROKER: reports the live master and records a changed address.
pub(super) async fn register(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, RequestError> {
    let h: RegisterBrokerToControllerRequestHeader = request.decode_header()?;
    let alive = shared.alive_ids(&h.cluster_name, &h.broker_name);
    let outcome = shared
        .propose(Command::RegisterBroker {
            broker_name: h.broker_name.clone(),
            broker_id: h.broker_id,
            broker_address: h.broker_address,
            alive,
        })
        .await?;
    Ok(match outcome {
        Outcome::Registered { master, sync_state } => {
            let mut header = RegisterBrokerToControllerResponseHeader {
                cluster_name: Some(h.cluster_name),
                broker_name: Some(h.broker_name),
                ..Default::default()
            };
            if let Some((id, addr, epoch)) = master {
                header.master_broker_id = Some(id);
                header.master_address = Some(addr);
                header.master_epoch = Some(epoch);
                header.sync_state_set_epoch = Some(sync_state.sync_state_set_epoch);
            }
            request
                .success_to()
                .with_header(&header)
                .with_body(sync_state.to_json())
        }
        other => unexpected(request, other),
    })
}

/// CLEAN_BROKER_DATA: forgets a broker set or some of its replicas (admin).
pub(super) async fn clean_broker_data(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, RequestError> {
    let h: CleanControllerBrokerDataRequestHeader = request.decode_header()?;
    let ids = match h.broker_controller_ids_to_clean.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => {
            let parsed: Result<std::collections::BTreeSet<i64>, _> = text
                .split(';')
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.trim().parse::<i64>())
                .collect();
            match parsed {
                Ok(ids) => Some(ids),
                Err(e) => {
                    return Ok(request.response_to(
                        response::CONTROLLER_INVALID_CLEAN_BROKER_METADATA,
                        Some(format!(
                            "Please set the option <brokerControllerIdsToClean> according to the format, exception: {e}"
                        )),
                    ))
                }
            }
        }
    };
    let cluster = h
        .cluster_name
        .clone()
        .unwrap_or_else(|| shared.cluster_of(&h.broker_name));
    let alive = shared.alive_ids(&cluster, &h.broker_name);
    let outcome = shared
        .propose(Command::CleanBrokerData {
            broker_name: h.broker_name,
            ids,
            clean_living: h.is_clean_living_broker.unwrap_or(false),
            alive,
        })
        .await?;
    Ok(match outcome {
        Outcome::Cleaned => request.success_to(),
        other => unexpected(request, other),
    })
}
