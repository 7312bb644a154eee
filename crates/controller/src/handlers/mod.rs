//! Request handlers, one module per request family, dispatched from one table.
//!
//! | module | codes |
//! |---|---|
//! | [`broker`] | BROKER_HEARTBEAT 904, CONTROLLER_GET_NEXT_BROKER_ID 1012, CONTROLLER_APPLY_BROKER_ID 1013, CONTROLLER_REGISTER_BROKER 1003, CLEAN_BROKER_DATA 1011 |
//! | [`replica`] | CONTROLLER_ALTER_SYNC_STATE_SET 1001, CONTROLLER_ELECT_MASTER 1002, CONTROLLER_GET_REPLICA_INFO 1004, CONTROLLER_GET_SYNC_STATE_DATA 1006 |
//! | [`admin`] | CONTROLLER_GET_METADATA_INFO 1005, UPDATE_CONTROLLER_CONFIG 1009, GET_CONTROLLER_CONFIG 1010 |
//! | [`crate::raft::network`] | Raft RPCs 60001..=60009 |
//!
//! Handlers return `Result<RemotingCommand, RequestError>`; [`dispatch`] is the one place a
//! [`RequestError`] becomes a response code.

mod admin;
mod broker;
mod replica;

use ferromq_net::ConnectionHandle;
use ferromq_proto::RemotingCommand;

use crate::codes::{raft, request as req, response};
use crate::error::RequestError;
use crate::replicas::Outcome;
use crate::shared::Shared;

pub(crate) use replica::elect_and_notify;

/// Serves one request; unknown codes get REQUEST_CODE_NOT_SUPPORTED.
pub(crate) async fn dispatch(
    shared: &Shared,
    conn: &ConnectionHandle,
    request: &RemotingCommand,
) -> RemotingCommand {
    let result = match request.code {
        code if (raft::FIRST..=raft::LAST).contains(&code) => {
            Ok(crate::raft::network::serve(&shared.raft, request).await)
        }
        req::BROKER_HEARTBEAT => broker::heartbeat(shared, conn, request),
        req::CONTROLLER_GET_NEXT_BROKER_ID => broker::next_broker_id(shared, request).await,
        req::CONTROLLER_APPLY_BROKER_ID => broker::apply_broker_id(shared, request).await,
        req::CONTROLLER_REGISTER_BROKER => broker::register(shared, request).await,
        req::CONTROLLER_ALTER_SYNC_STATE_SET => {
            replica::alter_sync_state_set(shared, request).await
        }
        req::CONTROLLER_ELECT_MASTER => replica::elect_master(shared, request).await,
        req::CONTROLLER_GET_REPLICA_INFO => replica::replica_info(shared, request).await,
        req::CONTROLLER_GET_SYNC_STATE_DATA => replica::sync_state_data(shared, request).await,
        req::CLEAN_BROKER_DATA => broker::clean_broker_data(shared, request).await,
        req::CONTROLLER_GET_METADATA_INFO => Ok(admin::metadata(shared, request)),
        req::GET_CONTROLLER_CONFIG => Ok(admin::get_config(shared, request)),
        req::UPDATE_CONTROLLER_CONFIG => Ok(admin::update_config(shared, request)),
        code => Ok(request.response_to(
            response::REQUEST_CODE_NOT_SUPPORTED,
            Some(format!(" request type {code} not supported")),
        )),
    };
    result.unwrap_or_else(|e| error_response(request, e))
}

/// RocketMQ's remark for CONTROLLER_NOT_LEADER.
const NOT_LEADER: &str = "The controller is not in leader state";

/// The response for a failed request: CONTROLLER_NOT_LEADER naming the leader (remark and the
/// `controllerLeaderId`/`controllerLeaderAddress` ext fields), SYSTEM_ERROR otherwise, as
/// RocketMQ's exception path answers.
fn error_response(request: &RemotingCommand, e: RequestError) -> RemotingCommand {
    match e {
        RequestError::NotLeader { leader } => {
            let remark = match &leader {
                Some(p) => format!("{NOT_LEADER}, the leader is {} ({})", p.name, p.addr),
                None => format!("{NOT_LEADER}, no leader is known"),
            };
            let mut resp = request.response_to(response::CONTROLLER_NOT_LEADER, Some(remark));
            if let Some(p) = leader {
                resp.ext_fields.insert("controllerLeaderId", p.name);
                resp.ext_fields.insert("controllerLeaderAddress", p.addr);
            }
            resp
        }
        other => {
            tracing::debug!(code = request.code, error = %other, "controller request failed");
            request.response_to(response::SYSTEM_ERROR, Some(other.to_string()))
        }
    }
}

/// The response for an outcome the handler did not expect (a refusal, or a kind that belongs
/// to another command).
fn unexpected(request: &RemotingCommand, outcome: Outcome) -> RemotingCommand {
    match outcome {
        Outcome::Refused { code, remark } => request.response_to(code, Some(remark)),
        other => request.response_to(
            response::SYSTEM_ERROR,
            Some(format!("unexpected outcome {other:?}")),
        ),
    }
}
