//! Admin requests the broker passes on to one live consumer (Java
//! `AdminBrokerProcessor.callConsumer`): GET_CONSUMER_RUNNING_INFO (307) and
//! CONSUME_MESSAGE_DIRECTLY (309).
//!
//! ```text
//! mqadmin ──307/309 (consumerGroup, clientId)──▶ broker: find the client's heartbeat connection
//!                                                  │ 309: add brokerName, body = the stored record
//!                                                  ▼
//!                                    same code over that connection, 10 s at most
//! mqadmin ◀── the client's answer, as it came ◀───┘
//! ```
//!
//! A client that is not connected is SYSTEM_ERROR "The Consumer <g> <c> not online"; one that
//! does not answer in time is CONSUME_MSG_TIMEOUT (207); a connection that fails is
//! SYSTEM_ERROR, as RocketMQ answers.

use std::sync::Arc;
use std::time::Duration;

use ferromq_net::NetError;
use ferromq_proto::body::running::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
};
use ferromq_proto::codes::{request, response};
use ferromq_proto::message::decode_offset_msg_id;
use ferromq_proto::RemotingCommand;

use crate::{Broker, BrokerError};

/// How long the broker waits for the client (Java `Broker2Client.callClient`).
pub const CALL_CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// GET_CONSUMER_RUNNING_INFO: the client's [`ConsumerRunningInfo`] JSON.
///
/// [`ConsumerRunningInfo`]: ferromq_proto::body::ConsumerRunningInfo
pub async fn consumer_running_info(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: GetConsumerRunningInfoRequestHeader = req.decode_header()?;
    let forward = forward_of(request::GET_CONSUMER_RUNNING_INFO, req);
    call_consumer(b, req, forward, &h.consumer_group, &h.client_id).await
}

/// CONSUME_MESSAGE_DIRECTLY: the message `msgId` (an offset message id of this broker) handed
/// to the client's listener; the client's `ConsumeMessageDirectlyResult` JSON.
pub async fn consume_message_directly(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: ConsumeMessageDirectlyResultRequestHeader = req.decode_header()?;
    let msg_id = h.msg_id.as_deref().unwrap_or("").trim();
    let (_, offset) = decode_offset_msg_id(msg_id)
        .map_err(|e| BrokerError::system(format!("bad msgId {msg_id:?}: {e}")))?;
    let record = b.store.look_message_by_offset(offset).ok_or_else(|| {
        BrokerError::system(format!("can not find message by the offset, {offset}"))
    })?;
    let mut forward = forward_of(request::CONSUME_MESSAGE_DIRECTLY, req);
    forward
        .ext_fields
        .insert_str("brokerName", &b.config.broker_name);
    forward.body = record;
    let client_id = h.client_id.as_deref().unwrap_or("");
    call_consumer(b, req, forward, &h.consumer_group, client_id).await
}

/// A new request with `req`'s fields and body.
fn forward_of(code: i32, req: &RemotingCommand) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(code, &ferromq_proto::header::NoHeader);
    cmd.ext_fields = req.ext_fields.clone();
    cmd.body = req.body.clone();
    cmd
}

async fn call_consumer(
    b: &Arc<Broker>,
    req: &RemotingCommand,
    forward: RemotingCommand,
    group: &str,
    client_id: &str,
) -> Result<RemotingCommand, BrokerError> {
    let channel = b.clients.consumer_group(group).and_then(|g| {
        g.channels
            .into_values()
            .filter(|c| c.client_id == client_id)
            .max_by_key(|c| c.last_update)
    });
    let Some(channel) = channel else {
        return Err(BrokerError::Code {
            code: response::SYSTEM_ERROR,
            remark: format!("The Consumer <{group}> <{client_id}> not online"),
        });
    };
    match channel.conn.invoke(forward, CALL_CLIENT_TIMEOUT).await {
        Ok(answer) => {
            let mut resp = req.response_to(answer.code, answer.remark);
            resp.ext_fields = answer.ext_fields;
            resp.body = answer.body;
            Ok(resp)
        }
        Err(e @ NetError::Timeout { .. }) => Err(BrokerError::Code {
            code: response::CONSUME_MSG_TIMEOUT,
            remark: format!("consumer <{group}> <{client_id}> Timeout: {e}"),
        }),
        Err(e) => Err(BrokerError::Code {
            code: response::SYSTEM_ERROR,
            remark: format!("invoke consumer <{group}> <{client_id}> Exception: {e}"),
        }),
    }
}
