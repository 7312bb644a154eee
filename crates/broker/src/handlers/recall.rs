//! RECALL_MESSAGE (370): cancels a timer message before it is due (RocketMQ 5.3
//! `RecallMessageProcessor`).
//!
//! Checks, in RocketMQ's order, each with its code and remark:
//!
//! | check | code | remark |
//! |---|---|---|
//! | `recallMessageEnable` off | NO_PERMISSION 16 | recall failed, operation is forbidden |
//! | a slave | SLAVE_NOT_AVAILABLE 11 | recall failed, broker service not available |
//! | topic unknown here | TOPIC_NOT_EXIST 17 | recall failed, the topic[T] not exist |
//! | handle not a v1 handle | ILLEGAL_OPERATION 604 | recall handle is invalid |
//! | handle for another topic | ILLEGAL_OPERATION 604 | recall failed, topic not match |
//! | handle for another broker | ILLEGAL_OPERATION 604 | recall failed, broker service not available |
//! | timestamp not in (now, now + timerMaxDelaySec) | ILLEGAL_OPERATION 604 | recall failed, timestamp invalid |
//!
//! Then the recall is reserved with the timer (refused as "timestamp invalid" too when the timer
//! has already decided about that due time, i.e. the message is delivered or going out), and a
//! delete marker is stored in `rmq_sys_wheel_timer`: tag `_RECALL_TAG_`, body "0",
//! `TIMER_DEL_UNIQKEY` = `<topic>+<msgId>`, `UNIQ_KEY` = msgId, `TIMER_DELIVER_MS` = the handle's
//! timestamp and `TIMER_OUT_MS` = timestamp - 1 (the due time the handle was made from). The
//! answer (msgId = the recalled message's id) comes once the marker is stored; a failed store is
//! SYSTEM_ERROR "recall failed, execute error" and the reservation is undone.
//!
//! Java also refuses before `startAcceptSendRequestTimeStamp` and, unless
//! `allowRecallWhenBrokerNotWriteable` (default true), on a broker without write permission;
//! FerroMQ has neither switch.

use std::sync::Arc;

use ferromq_common::{names, now_millis};
use ferromq_net::ConnectionHandle;
use ferromq_proto::headers::{RecallMessageRequestHeader, RecallMessageResponseHeader};
use ferromq_proto::message::encode_properties;
use ferromq_proto::message::properties::{
    MSG_REGION, PGROUP, REAL_QID, REAL_TOPIC, TAGS, TIMER_DELIVER_MS, TIMER_DEL_UNIQKEY,
    TIMER_OUT_MS, UNIQ_KEY,
};
use ferromq_proto::message::recall_handle::{delete_key, RecallHandle};
use ferromq_proto::RemotingCommand;
use ferromq_store::{MessageToStore, PutStatus};

use crate::config::BrokerRole;
use crate::{Broker, BrokerError};

/// Tag of a delete marker (Java `RECALL_MESSAGE_TAG`).
const RECALL_TAG: &str = "_RECALL_TAG_";
/// Born time property of the marker (Java `PROPERTY_BORN_TIMESTAMP`).
const BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";

fn illegal(reason: &str) -> BrokerError {
    BrokerError::IllegalOperation {
        reason: reason.to_owned(),
    }
}

/// Serves RECALL_MESSAGE.
pub async fn handle(
    b: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let h: RecallMessageRequestHeader = req.decode_header()?;
    if !b.config.recall_message_enable {
        return Err(BrokerError::NoPermission {
            reason: "recall failed, operation is forbidden".into(),
        });
    }
    if b.role() == BrokerRole::Slave {
        return Err(BrokerError::SlaveNotAvailable {
            reason: "recall failed, broker service not available".into(),
        });
    }
    if b.topics.get(&h.topic).is_none() {
        return Err(BrokerError::RecallTopicNotExist { topic: h.topic });
    }
    let handle = RecallHandle::decode(&h.recall_handle).map_err(|e| illegal(&e.to_string()))?;
    if h.topic != handle.topic {
        return Err(illegal("recall failed, topic not match"));
    }
    if b.config.broker_name != handle.broker_name {
        return Err(illegal("recall failed, broker service not available"));
    }
    let timestamp = handle.timestamp_ms();
    let now = now_millis();
    let left = timestamp.saturating_sub(now);
    if left <= 0 || left >= b.config.timer_max_delay_sec.saturating_mul(1000) {
        return Err(illegal("recall failed, timestamp invalid"));
    }
    let due = timestamp - 1;
    let key = delete_key(&handle.topic, &handle.message_id);
    let recalls = b.timer.recalls();
    if recalls.reserve(due, &key).is_err() {
        return Err(illegal("recall failed, timestamp invalid"));
    }
    let properties = marker_properties(&h, &handle, &key, due, now);
    let marker = MessageToStore {
        topic: names::TIMER_TOPIC,
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: now,
        born_host: conn.peer_addr(),
        store_host: b.store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: b"0",
        properties: &properties,
    };
    let result = b.store.put_message(marker).await;
    // Java answers SUCCESS for PUT_OK and the flush/slave timeouts: the marker is stored.
    if !matches!(
        result.status,
        PutStatus::PutOk | PutStatus::FlushDiskTimeout
    ) {
        recalls.cancel(due, &key);
        tracing::warn!(
            topic = %handle.topic,
            msg_id = %handle.message_id,
            status = result.status.as_str(),
            "storing a recall marker failed"
        );
        return Err(BrokerError::system("recall failed, execute error"));
    }
    b.stats.add_put(1);
    b.stats.add_recalled();
    let header = RecallMessageResponseHeader {
        msg_id: handle.message_id,
    };
    let mut resp = req.success_to().with_header(&header);
    resp.ext_fields
        .insert(MSG_REGION, b.config.region_id.clone());
    Ok(resp)
}

/// The delete marker's properties (Java `RecallMessageProcessor.buildMessage`, then the timer
/// hook's REAL_TOPIC, REAL_QID and TIMER_OUT_MS).
fn marker_properties(
    h: &RecallMessageRequestHeader,
    handle: &RecallHandle,
    key: &str,
    due: i64,
    now: i64,
) -> String {
    let due = due.to_string();
    let now = now.to_string();
    let mut pairs: Vec<(&str, &str)> = vec![
        (TAGS, RECALL_TAG),
        (TIMER_DEL_UNIQKEY, key),
        (UNIQ_KEY, &handle.message_id),
        (TIMER_DELIVER_MS, &handle.timestamp),
        (BORN_TIMESTAMP, &now),
    ];
    if let Some(group) = h.producer_group.as_deref().filter(|g| !g.is_empty()) {
        pairs.push((PGROUP, group));
    }
    pairs.extend([(REAL_TOPIC, handle.topic.as_str()), (REAL_QID, "0")]);
    pairs.push((TIMER_OUT_MS, &due));
    encode_properties(&pairs)
}
