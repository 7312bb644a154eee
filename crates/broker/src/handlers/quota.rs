//! UPDATE_QUOTA, GET_QUOTA and DELETE_QUOTA (FerroMQ's own codes 9101-9103, used by
//! `mqadmin updateQuota`, `getQuota` and `deleteQuota`).
//!
//! UPDATE_QUOTA's body is one [`QuotaEntry`] (JSON); GET_QUOTA answers a [`QuotaTable`], all
//! quotas or, with the ext fields `type` and `name`, that one; DELETE_QUOTA names its quota with
//! the same two fields.

use ferromq_proto::body::quota::{QuotaEntry, QuotaTarget};
use ferromq_proto::body::JsonBody;
use ferromq_proto::RemotingCommand;

use crate::{Broker, BrokerError};

/// Sets (replaces) a quota.
pub fn update(b: &Broker, req: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
    let entry = QuotaEntry::from_json(&req.body).map_err(|e| BrokerError::BadBody {
        what: "UPDATE_QUOTA",
        reason: e.to_string(),
    })?;
    b.quotas.set(entry.target, &entry.name, entry.limits)?;
    tracing::info!(target_kind = ?entry.target, name = %entry.name, "quota set");
    Ok(req.success_to())
}

/// Lists the quotas (or one) with their counters.
pub fn get(b: &Broker, req: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
    let filter = match (req.ext_fields.get("type"), req.ext_fields.get("name")) {
        (Some(t), Some(n)) => Some((target(t)?, n)),
        (None, None) => None,
        _ => {
            return Err(BrokerError::invalid(
                "GET_QUOTA takes both `type` and `name`, or neither",
            ))
        }
    };
    Ok(req.success_to().with_body(b.quotas.list(filter).to_json()))
}

/// Removes a quota.
pub fn delete(b: &Broker, req: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
    let kind = target(req.ext_fields.get("type").unwrap_or(""))?;
    let name = req
        .ext_fields
        .get("name")
        .ok_or_else(|| BrokerError::invalid("DELETE_QUOTA needs `name`"))?;
    b.quotas.remove(kind, name)?;
    tracing::info!(target_kind = ?kind, name, "quota removed");
    Ok(req.success_to())
}

fn target(raw: &str) -> Result<QuotaTarget, BrokerError> {
    match raw {
        "TOPIC" => Ok(QuotaTarget::Topic),
        "GROUP" => Ok(QuotaTarget::Group),
        other => Err(BrokerError::invalid(format!(
            "quota type must be TOPIC or GROUP, not `{other}`"
        ))),
    }
}
