//! DELETE_DLQ_MESSAGE and GET_DLQ_TOMBSTONES (FerroMQ's own codes 9110-9111, used by
//! `mqadmin deleteDlqMessage` and the dashboard's DLQ page; see [`crate::dlq`]).
//!
//! DELETE_DLQ_MESSAGE names its message with the ext fields `topic` (a `%DLQ%<group>` topic)
//! and `commitLogOffset` (the offset an offsetMsgId encodes); the broker checks that a record of
//! that topic starts there, records a tombstone for its queue position and answers a
//! [`DeletedDeadLetter`]. GET_DLQ_TOMBSTONES answers the whole table (a slave copies it).

use std::sync::Arc;

use ferromq_common::names;
use ferromq_proto::body::dlq::DeletedDeadLetter;
use ferromq_proto::body::JsonBody;
use ferromq_proto::codes::response;
use ferromq_proto::message::record::RecordView;
use ferromq_proto::message::{encode_offset_msg_id, properties};
use ferromq_proto::RemotingCommand;

use crate::config::BrokerRole;
use crate::{Broker, BrokerError};

/// Deletes (hides) one dead letter.
pub fn delete(b: &Arc<Broker>, req: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
    let topic = req
        .ext_fields
        .get("topic")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| BrokerError::invalid("DELETE_DLQ_MESSAGE needs `topic`"))?;
    if !names::is_dlq_topic(topic) {
        return Err(crate::dlq::not_dlq(topic));
    }
    let raw = req
        .ext_fields
        .get("commitLogOffset")
        .ok_or_else(|| BrokerError::invalid("DELETE_DLQ_MESSAGE needs `commitLogOffset`"))?;
    let offset: i64 = raw
        .trim()
        .parse()
        .map_err(|_| BrokerError::invalid(format!("commitLogOffset `{raw}` is not a number")))?;
    if b.role() == BrokerRole::Slave {
        return Err(BrokerError::Code {
            code: response::NO_PERMISSION,
            remark: format!(
                "the broker[{}] is a slave: delete the dead letter on its master",
                b.config.broker_name
            ),
        });
    }
    if b.topics.get(topic).is_none() {
        return Err(BrokerError::TopicNotExist {
            topic: topic.to_owned(),
        });
    }
    let not_found = || BrokerError::Code {
        code: response::NO_MESSAGE,
        remark: format!("can not find message by the offset, {offset}"),
    };
    let record = b
        .store
        .look_message_by_offset(offset)
        .ok_or_else(not_found)?;
    let view = RecordView::parse(&record).map_err(|_| not_found())?;
    if view.physical_offset != offset {
        return Err(not_found());
    }
    if view.topic != topic {
        return Err(BrokerError::invalid(format!(
            "the message at offset {offset} belongs to topic {}, not {topic}",
            view.topic
        )));
    }
    let store = Arc::clone(&b.store);
    let added = b
        .dlq_tombstones
        .add(topic, view.queue_id, view.queue_offset, |t, q| {
            store.min_offset_in_queue(t, q)
        })?;
    let msg_id = view
        .property(properties::UNIQ_KEY)
        .map(str::to_owned)
        .unwrap_or_else(|| encode_offset_msg_id(view.store_host, offset));
    tracing::info!(
        topic,
        queue_id = view.queue_id,
        queue_offset = view.queue_offset,
        msg_id = %msg_id,
        "dead letter deleted"
    );
    let body = DeletedDeadLetter {
        topic: topic.to_owned(),
        queue_id: view.queue_id,
        queue_offset: view.queue_offset,
        commit_log_offset: offset,
        msg_id,
        already_deleted: !added,
    };
    Ok(req.success_to().with_body(body.to_json()))
}

/// Lists the deleted dead letters.
pub fn tombstones(b: &Broker, req: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
    Ok(req
        .success_to()
        .with_body(b.dlq_tombstones.table().to_json()))
}
