//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42): queue locks for ordered consumption, kept in
//! [`crate::rebalance_lock::RebalanceLockManager`].

use std::sync::Arc;

use ferromq_proto::body::{
    JsonBody, LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody,
};
use ferromq_proto::RemotingCommand;

use crate::{Broker, BrokerError};

/// LOCK_BATCH_MQ: answers with the requested queues the client holds now.
pub fn lock_batch(b: &Arc<Broker>, req: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
    let body = LockBatchRequestBody::from_json(&req.body).map_err(|e| BrokerError::BadBody {
        what: "LockBatchRequestBody",
        reason: e.to_string(),
    })?;
    let granted = b
        .locks
        .try_lock_batch(&body.consumer_group, &body.mq_set, &body.client_id);
    tracing::debug!(group = %body.consumer_group, client = %body.client_id, asked = body.mq_set.len(), granted = granted.len(), "lock batch");
    Ok(req.success_to().with_body(
        LockBatchResponseBody {
            lock_ok_mq_set: granted,
        }
        .to_json(),
    ))
}

/// UNLOCK_BATCH_MQ: releases the client's locks on the listed queues.
pub fn unlock_batch(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let body = UnlockBatchRequestBody::from_json(&req.body).map_err(|e| BrokerError::BadBody {
        what: "UnlockBatchRequestBody",
        reason: e.to_string(),
    })?;
    b.locks
        .unlock_batch(&body.consumer_group, &body.mq_set, &body.client_id);
    Ok(req.success_to())
}
