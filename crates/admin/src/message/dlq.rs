//! `deleteDlqMessage`: deletes one dead letter of `%DLQ%<group>` (FerroMQ's own; RocketMQ
//! cannot delete a single message). The message is looked up as `queryMsgById` does (an
//! offsetMsgId, else a unique key), optionally resent to its first topic, then the broker that
//! stores it records a tombstone (DELETE_DLQ_MESSAGE, 9110): pulls, `printMsg`, `queryMsgById`
//! and the dashboard no longer show it.

use std::fmt;

use ferromq_client::AdminClient;
use ferromq_common::names;
use ferromq_proto::body::dlq::{DeletedDeadLetter, DlqTombstoneTable};
use ferromq_proto::body::JsonBody;
use ferromq_proto::codes::request;
use ferromq_proto::header::NoHeader;
use ferromq_proto::message::MessageExt;
use ferromq_proto::RemotingCommand;

use super::query::query_msg_by_id;
use super::resend::{resend, ResendReport};
use crate::AdminError;

/// What `deleteDlqMessage` did.
#[derive(Debug, Clone)]
pub struct DeleteDlqReport {
    /// The resend, when asked for (`-s true`).
    pub resent: Option<ResendReport>,
    /// The broker that deleted it.
    pub broker_addr: String,
    /// What it deleted.
    pub deleted: DeletedDeadLetter,
}

impl fmt::Display for DeleteDlqReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = &self.resent {
            write!(f, "{r}")?;
        }
        let d = &self.deleted;
        writeln!(
            f,
            "{} dead letter {} from {}: topic={}, queueId={}, queueOffset={}",
            if d.already_deleted {
                "already deleted"
            } else {
                "delete"
            },
            d.msg_id,
            self.broker_addr,
            d.topic,
            d.queue_id,
            d.queue_offset
        )
    }
}

/// Deletes the dead letter `msg` (read from `%DLQ%<group>`) on `broker_addr`, else on the
/// broker that stored it.
pub async fn delete_dead_letter(
    admin: &AdminClient,
    msg: &MessageExt,
    broker_addr: Option<&str>,
) -> Result<(String, DeletedDeadLetter), AdminError> {
    let addr = broker_addr
        .map(|a| a.trim().to_owned())
        .unwrap_or_else(|| msg.store_host.to_string());
    let mut cmd = RemotingCommand::request(request::DELETE_DLQ_MESSAGE, &NoHeader);
    cmd.ext_fields.insert("topic", msg.topic.clone());
    cmd.ext_fields
        .insert("commitLogOffset", msg.commit_log_offset.to_string());
    let resp = admin.rpc().call_ok(&addr, cmd).await?;
    let deleted = DeletedDeadLetter::from_json(&resp.body).map_err(|e| AdminError::NotFound {
        message: format!("the broker's answer to DELETE_DLQ_MESSAGE does not parse: {e}"),
    })?;
    Ok((addr, deleted))
}

/// Runs `deleteDlqMessage -g group -i msgId [-s true] [-b addr] [-c cluster]`.
pub async fn delete_dlq_message(
    admin: &AdminClient,
    cluster: Option<&str>,
    group: &str,
    msg_id: &str,
    resend_first: bool,
    broker_addr: Option<&str>,
) -> Result<DeleteDlqReport, AdminError> {
    let group = group.trim();
    if group.is_empty() || names::is_retry_topic(group) || names::is_dlq_topic(group) {
        return Err(AdminError::InvalidArgument {
            reason: format!(
                "-g takes the consumer group (not `{group}`): its dead letters are in %DLQ%<group>"
            ),
        });
    }
    let topic = names::dlq_topic(group);
    let msg = query_msg_by_id(admin, cluster, &topic, msg_id.trim()).await?;
    let resent = if resend_first {
        Some(resend(admin, msg_id.trim(), &msg).await?)
    } else {
        None
    };
    let done = resent.as_ref().map(ToString::to_string).unwrap_or_default();
    let (broker_addr, deleted) = delete_dead_letter(admin, &msg, broker_addr)
        .await
        .map_err(|e| e.after(done))?;
    Ok(DeleteDlqReport {
        resent,
        broker_addr,
        deleted,
    })
}

/// The deleted dead letters a broker holds (GET_DLQ_TOMBSTONES, 9111).
pub async fn dlq_tombstones(
    admin: &AdminClient,
    broker_addr: &str,
) -> Result<DlqTombstoneTable, AdminError> {
    let cmd = RemotingCommand::request(request::GET_DLQ_TOMBSTONES, &NoHeader);
    let resp = admin.rpc().call_ok(broker_addr, cmd).await?;
    DlqTombstoneTable::from_json(&resp.body).map_err(|e| AdminError::NotFound {
        message: format!("the broker's deleted dead letters do not parse: {e}"),
    })
}
