//! Controller metadata and settings.

use ferromq_common::config::Properties;
use ferromq_proto::RemotingCommand;

use crate::codes::response;
use crate::config::RUNTIME_KEYS;
use crate::headers::GetMetaDataResponseHeader;
use crate::shared::Shared;

/// CONTROLLER_GET_METADATA_INFO: answered by every node, so brokers find the leader.
pub(super) fn metadata(shared: &Shared, request: &RemotingCommand) -> RemotingCommand {
    let leader = shared.leader();
    let config = shared.config.read();
    let peers: String = config
        .peers
        .iter()
        .map(|p| format!("{}:{};", p.name, p.addr))
        .collect();
    request
        .success_to()
        .with_header(&GetMetaDataResponseHeader {
            group: Some(config.group.clone()),
            controller_leader_id: leader.as_ref().map(|p| p.name.clone()),
            controller_leader_address: leader.as_ref().map(|p| p.addr.clone()),
            is_leader: shared.is_leader(),
            peers: Some(peers),
        })
}

/// GET_CONTROLLER_CONFIG: the settings as properties text.
pub(super) fn get_config(shared: &Shared, request: &RemotingCommand) -> RemotingCommand {
    let text = shared.config.read().to_properties_text();
    request.success_to().with_body(text.into_bytes())
}

/// UPDATE_CONTROLLER_CONFIG: changes run-time settings of this node only (as RocketMQ does).
/// Black-listed keys get NO_PERMISSION; keys that cannot change while running, unknown keys and
/// bad values get INVALID_PARAMETER, and nothing is changed.
pub(super) fn update_config(shared: &Shared, request: &RemotingCommand) -> RemotingCommand {
    let Ok(text) = std::str::from_utf8(&request.body) else {
        return request.response_to(response::SYSTEM_ERROR, Some("body is not UTF-8".into()));
    };
    let props = Properties::parse(text);
    let mut config = shared.config.write();
    let black: Vec<&str> = config
        .config_black_list
        .split(';')
        .chain(["configBlackList", "configStorePath", "rocketmqHome"])
        .collect();
    for (key, _) in props.iter() {
        if black.contains(&key) {
            return request.response_to(
                ferromq_proto::codes::response::NO_PERMISSION,
                Some(format!("Can not update config in black list: {key}")),
            );
        }
        if !RUNTIME_KEYS.contains(&key) {
            return request.response_to(
                response::INVALID_PARAMETER,
                Some(format!("{key} cannot be changed while the controller runs")),
            );
        }
    }
    let mut updated = config.clone();
    match updated.apply(&props) {
        Ok(_) => {
            tracing::info!(keys = %text.trim(), "controller config updated");
            *config = updated;
            request.success_to()
        }
        Err(e) => request.response_to(response::INVALID_PARAMETER, Some(e.to_string())),
    }
}
