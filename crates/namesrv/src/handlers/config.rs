//! Name server settings over the wire: GET_NAMESRV_CONFIG and UPDATE_NAMESRV_CONFIG, both as
//! properties text in the body.

use ferromq_common::config::Properties;
use ferromq_proto::codes::response;
use ferromq_proto::RemotingCommand;

use crate::server::Shared;
use crate::NamesrvError;

pub(super) fn get(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    let text = shared.config.read().to_properties_text();
    Ok(request.success_to().with_body(text.into_bytes()))
}

/// Applies the known keys at once (`orderMessageEnable`, `scanNotActiveBrokerInterval`, topic
/// list switches, ...); the listen port, bind address, idle timeout and the `metrics*` exporter
/// keys only matter at start-up,
/// and unknown keys are ignored like RocketMQ's reflection-based update does.
pub(super) fn update(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    if request.body.is_empty() {
        return Ok(request.success_to());
    }
    let Ok(text) = std::str::from_utf8(&request.body) else {
        return Ok(request.response_to(
            response::SYSTEM_ERROR,
            Some("string2Properties error".into()),
        ));
    };
    let props = Properties::parse(text);
    // Java's `string2Properties` fails on what its loader refuses (a malformed \uXXXX).
    if props.check().is_err() {
        return Ok(request.response_to(
            response::SYSTEM_ERROR,
            Some("string2Properties error".into()),
        ));
    }
    let mut config = shared.config.write();
    if props
        .iter()
        .any(|(k, _)| config.black_listed_keys().any(|b| b == k))
    {
        return Ok(request.response_to(
            response::NO_PERMISSION,
            Some("Can not update config in black list.".into()),
        ));
    }
    let mut updated = config.clone();
    match updated.apply(&props) {
        Ok(unknown) => {
            if !unknown.is_empty() {
                tracing::debug!(?unknown, "UPDATE_NAMESRV_CONFIG: unknown keys ignored");
            }
            tracing::info!(changes = %text.trim().replace('\n', "; "), "name server config updated");
            *config = updated;
            Ok(request.success_to())
        }
        Err(e) => Ok(request.response_to(response::INVALID_PARAMETER, Some(e.to_string()))),
    }
}
