//! Store maintenance requested by admin tools (RocketMQ's `AdminBrokerProcessor`):
//! DELETE_EXPIRED_COMMITLOG (329, `mqadmin deleteExpiredCommitLog`) and
//! CLEAN_EXPIRED_CONSUMEQUEUE (306, `mqadmin cleanExpiredCQ`). Both answer SUCCESS with no body.

use std::sync::Arc;

use ferromq_proto::RemotingCommand;

use crate::{Broker, BrokerError};

/// DELETE_EXPIRED_COMMITLOG: the next retention rounds delete expired commit-log files whatever
/// the hour (`executeDeleteFilesManually`); the work happens on the store's retention thread.
pub fn delete_expired_commit_log(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    tracing::warn!("deleteExpiredCommitLog requested by an admin");
    b.store.delete_expired_files_manually();
    Ok(req.success_to())
}

/// CLEAN_EXPIRED_CONSUMEQUEUE: deletes consume-queue and index files behind the commit log's
/// first offset, and whole queues of topics the broker no longer has once all their messages
/// are gone. File work, so it runs off the runtime's workers.
pub async fn clean_expired_consume_queue(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let broker = Arc::clone(b);
    let cleaned = tokio::task::spawn_blocking(move || {
        broker
            .store
            .clean_expired_consume_queues(&|topic: &str| broker.topics.get(topic).is_some())
    })
    .await
    .map_err(|e| BrokerError::system(format!("cleanExpiredConsumeQueue task failed: {e}")))?;
    match cleaned {
        Ok(queues) => {
            tracing::info!(queues, "cleanExpiredConsumeQueue done");
            Ok(req.success_to())
        }
        Err(e) => Err(BrokerError::system(e.to_string())),
    }
}
