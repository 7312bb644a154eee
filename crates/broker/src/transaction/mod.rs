//! Transactional messages (RocketMQ's `TransactionalMessageService` and its check-back loop).
//!
//! ```text
//! SEND (TRAN_MSG=true) ─▶ RMQ_SYS_TRANS_HALF_TOPIC q0 (REAL_TOPIC, REAL_QID, __transactionId__)
//!                              │ invisible to consumers
//! END_TRANSACTION commit  ─────┼─▶ real topic/queue (sysFlag COMMIT, same id) ─▶ op marker
//!                 rollback ────┼─▶ op marker only
//!                              ▼
//! check loop (every transactionCheckInterval): half messages without an op marker, older than
//! transactionTimeOut (or CHECK_IMMUNITY_TIME_IN_SECONDS):
//!     TRANSACTION_CHECK_TIMES ≥ transactionCheckMax ─▶ TRANS_CHECK_MAX_TIME_TOPIC (discarded)
//!     otherwise: a copy with the count + 1 at the end of the half queue, and
//!                CHECK_TRANSACTION_STATE to a live producer of its group, who answers with
//!                END_TRANSACTION for that copy
//! ```
//!
//! Op markers are RocketMQ's: a message in `RMQ_SYS_TRANS_OP_HALF_TOPIC` queue 0, tag `d`, body
//! the half-queue offset followed by `,`; FerroMQ adds the transaction id as a property so that
//! every copy of a half message counts as resolved once one is. Progress is kept, as in
//! RocketMQ, as the offsets of group `CID_RMQ_SYS_TRANS` on the two topics; both only move past
//! what is fully resolved, so after a crash the loop reads the op markers again and re-checks at
//! most what it had not finished.
//!
//! Exactly once: END_TRANSACTION is handled one at a time; a transaction id already resolved is
//! refused; and before a commit (and before a check) the real topic is searched for a committed
//! copy with the same id, which a crash between the commit and its op marker would leave behind.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use ferromq_common::{names, now_millis, perm};
use ferromq_proto::codes::request;
use ferromq_proto::headers::{CheckTransactionStateRequestHeader, EndTransactionRequestHeader};
use ferromq_proto::message::msg_id::encode_offset_msg_id;
use ferromq_proto::message::properties::{
    self as keys, decode_properties, Properties, CHECK_IMMUNITY_TIME_IN_SECONDS, PGROUP, REAL_QID,
    REAL_TOPIC, TRANSACTION_CHECK_TIMES, TRANSACTION_ID, TRAN_MSG, UNIQ_KEY,
};
use ferromq_proto::message::record::{encode_record_to, RecordInput, RecordView};
use ferromq_proto::message::sys_flag;
use ferromq_proto::RemotingCommand;
use ferromq_store::{GetStatus, MessageStore, MessageToStore, PutResult};
use tokio_util::sync::CancellationToken;

use crate::{schedule, Broker, BrokerError};

/// Consumer group under which the loop keeps its progress (Java `TransactionalMessageUtil`).
pub const SYS_TRANS_GROUP: &str = "CID_RMQ_SYS_TRANS";
/// Tag of op markers (Java `REMOVETAG`).
pub const OP_TAG: &str = "d";
/// `commitOrRollback` values.
pub const COMMIT: i32 = sys_flag::TRANSACTION_COMMIT_TYPE;
/// See [`COMMIT`].
pub const ROLLBACK: i32 = sys_flag::TRANSACTION_ROLLBACK_TYPE;
/// See [`COMMIT`].
pub const UNKNOWN: i32 = sys_flag::TRANSACTION_NOT_TYPE;
/// Half messages examined per read.
const BATCH: i32 = 32;

/// What the broker.conf keys of the transaction service say.
#[derive(Debug, Clone, Copy)]
pub struct TransactionSettings {
    /// `transactionTimeOut`: a half message is checked once it is this old (ms).
    pub timeout_ms: i64,
    /// `transactionCheckMax`: checks before a half message is discarded.
    pub check_max: i32,
    /// `transactionCheckInterval`: time between check rounds (ms).
    pub check_interval_ms: u64,
    /// `fileReservedTime` in ms: half messages born longer ago are discarded unchecked.
    pub reserved_ms: i64,
}

/// The properties and flag of a half message: `REAL_TOPIC`, `REAL_QID` and
/// `__transactionId__` = `uniq` added, transaction bits of sysFlag cleared (so the half queue
/// indexes it), stored in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0 (Java `parseHalfMessageInner`).
pub fn half_message(properties: &str, topic: &str, queue_id: i32, uniq: &str) -> String {
    let mut props = decode_properties(properties);
    props.insert(REAL_TOPIC, topic);
    props.insert(REAL_QID, queue_id.to_string());
    props.insert(TRANSACTION_ID, uniq);
    props.encode()
}

/// True when a send is a half message (`TRAN_MSG=true`).
pub fn is_half(properties: &str) -> bool {
    keys::property_value(properties, TRAN_MSG).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The transaction service: END_TRANSACTION and the check loop, one at a time.
pub struct TransactionService {
    settings: TransactionSettings,
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Next op-queue offset to read.
    op_read: i64,
    /// Resolved half-queue offsets at or after the half progress → their op-queue offset.
    resolved_offsets: BTreeMap<i64, i64>,
    /// Transaction ids resolved → (half-queue end when resolved: every copy of the message is
    /// before it; op-queue offset of the marker). Dropped once the half progress passes the end.
    resolved_ids: HashMap<String, (i64, i64)>,
    loaded: bool,
}

impl TransactionService {
    /// A service with `settings`.
    pub fn new(settings: TransactionSettings) -> Self {
        TransactionService {
            settings,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// Serves END_TRANSACTION from `client`.
    pub async fn end_transaction(
        &self,
        b: &Arc<Broker>,
        client: std::net::SocketAddr,
        req: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let h: EndTransactionRequestHeader = req.decode_header()?;
        if b.role() == crate::config::BrokerRole::Slave {
            return Err(BrokerError::Code {
                code: ferromq_proto::codes::response::SLAVE_NOT_AVAILABLE,
                remark: "Message store is slave mode, so end transaction is forbidden. ".into(),
            });
        }
        let action = match h.commit_or_rollback {
            COMMIT | ROLLBACK => h.commit_or_rollback,
            // Nothing happens for an unknown outcome: the check loop asks again later.
            UNKNOWN => return Ok(req.success_to()),
            other => {
                return Err(BrokerError::invalid(format!(
                    "commitOrRollback {other} is not 0 (unknown), 8 (commit) or 12 (rollback)"
                )))
            }
        };
        let mut state = self.state.lock().await;
        self.load(b, &mut state);
        let record = b
            .store
            .look_message_by_offset(h.commit_log_offset)
            .ok_or_else(|| half_not_found(&h))?;
        let half = RecordView::parse(&record).map_err(|_| half_not_found(&h))?;
        if half.topic != names::TRANS_HALF_TOPIC
            || half.queue_offset != h.tran_state_table_offset
            || half.physical_offset != h.commit_log_offset
        {
            return Err(half_not_found(&h));
        }
        if half.property(PGROUP) != Some(h.producer_group.as_str()) {
            return Err(BrokerError::system(format!(
                "the producer group wrong, half message's group is {}, the request's is {}",
                half.property(PGROUP).unwrap_or(""),
                h.producer_group
            )));
        }
        let id = transaction_id(&half).to_owned();
        if state.resolved_ids.contains_key(&id) {
            return Err(BrokerError::system(format!(
                "the transaction {id} is already resolved"
            )));
        }
        if action == COMMIT {
            if committed_copy_exists(&b.store, &half) {
                tracing::warn!(transaction_id = %id, "commit of a transaction whose committed message is already stored; not stored again");
            } else {
                let result = commit(b, &half).await;
                if !result.status.is_stored() {
                    return Err(BrokerError::system(format!(
                        "storing the committed message failed: {}",
                        result.status.as_str()
                    )));
                }
                b.stats.add_put(1);
            }
        }
        write_op_marker(b, &mut state, &half, &id).await?;
        let from_check = h.from_transaction_check.unwrap_or(false);
        b.tracer.ended(
            client,
            &h.producer_group,
            &half,
            action == COMMIT,
            from_check,
        );
        if action == ROLLBACK {
            tracing::debug!(transaction_id = %id, "transaction rolled back");
        }
        Ok(req.success_to())
    }

    /// Reads the op markers written since the progress was saved (once).
    fn load(&self, b: &Broker, state: &mut State) {
        if state.loaded {
            return;
        }
        state.op_read = b
            .offsets
            .query(SYS_TRANS_GROUP, names::TRANS_OP_HALF_TOPIC, 0)
            .unwrap_or(0);
        state.loaded = true;
        read_op_markers(&b.store, state);
    }

    /// Runs check rounds every `transactionCheckInterval` until `stop`.
    pub async fn run(self: Arc<Self>, b: Arc<Broker>, stop: CancellationToken) {
        let every = Duration::from_millis(self.settings.check_interval_ms.max(100));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = self.check_round(&b).await {
                tracing::error!(error = %e, "transaction check round failed");
            }
        }
    }

    /// One round of the check loop.
    pub async fn check_round(&self, b: &Arc<Broker>) -> Result<(), BrokerError> {
        let mut state = self.state.lock().await;
        self.load(b, &mut state);
        read_op_markers(&b.store, &mut state);
        let topic = names::TRANS_HALF_TOPIC;
        let mut offset = b.offsets.query(SYS_TRANS_GROUP, topic, 0).unwrap_or(0);
        let now = now_millis();
        // Copies this round appends for its checks wait for the next round.
        let end = b.store.max_offset_in_queue(topic, 0);
        'scan: while offset < end {
            let batch = BATCH.min((end - offset) as i32);
            let got = b.store.get_message(topic, 0, offset, batch, None);
            match got.status {
                GetStatus::Found => {}
                GetStatus::OffsetTooSmall if got.next_begin_offset > offset => {
                    offset = got.next_begin_offset;
                    continue;
                }
                _ => break,
            }
            for record in &got.messages {
                let Ok(half) = RecordView::parse(record) else {
                    tracing::error!(offset, "unreadable half message skipped");
                    offset += 1;
                    continue;
                };
                let q = half.queue_offset;
                let id = transaction_id(&half).to_owned();
                if state.resolved_offsets.contains_key(&q) || state.resolved_ids.contains_key(&id) {
                    offset = q + 1;
                    continue;
                }
                let immunity = half
                    .property(CHECK_IMMUNITY_TIME_IN_SECONDS)
                    .and_then(|s| s.trim().parse::<i64>().ok())
                    .map_or(self.settings.timeout_ms, |s| s * 1000);
                if now - half.born_timestamp < immunity {
                    // Younger messages follow: this round is done.
                    break 'scan;
                }
                if committed_copy_exists(&b.store, &half) {
                    // Committed before a crash that lost its op marker.
                    write_op_marker(b, &mut state, &half, &id).await?;
                } else {
                    let checks = half
                        .property(TRANSACTION_CHECK_TIMES)
                        .and_then(|s| s.trim().parse::<i32>().ok())
                        .unwrap_or(0);
                    if checks >= self.settings.check_max
                        || now - half.born_timestamp > self.settings.reserved_ms
                    {
                        discard(b, &half, checks).await?;
                    } else {
                        self.check(b, &half, checks + 1).await?;
                    }
                }
                offset = q + 1;
            }
            offset = offset.max(got.next_begin_offset);
        }
        b.offsets.commit(SYS_TRANS_GROUP, topic, 0, offset);
        // Op markers of half messages before `offset` are no longer needed.
        state.resolved_offsets = state.resolved_offsets.split_off(&offset);
        state.resolved_ids.retain(|_, (end, _)| *end > offset);
        let op_keep = state
            .resolved_offsets
            .values()
            .chain(state.resolved_ids.values().map(|(_, op)| op))
            .min()
            .copied()
            .unwrap_or(state.op_read);
        b.offsets
            .commit(SYS_TRANS_GROUP, names::TRANS_OP_HALF_TOPIC, 0, op_keep);
        Ok(())
    }

    /// Appends a copy of `half` with TRANSACTION_CHECK_TIMES = `checks` and asks a live
    /// producer of its group about that copy.
    async fn check(
        &self,
        b: &Broker,
        half: &RecordView<'_>,
        checks: i32,
    ) -> Result<(), BrokerError> {
        let mut props = decode_properties(half.properties);
        props.insert(TRANSACTION_CHECK_TIMES, checks.to_string());
        let result = put_half(b, half, &props).await;
        if !result.status.is_stored() {
            return Err(BrokerError::system(format!(
                "re-storing a half message for its check failed: {}",
                result.status.as_str()
            )));
        }
        let group = half.property(PGROUP).unwrap_or("");
        let Some(channel) = b
            .clients
            .producer_channels(group)
            .into_iter()
            .filter(|c| !c.conn.is_closed())
            .max_by_key(|c| c.last_update)
        else {
            tracing::warn!(group, transaction_id = %transaction_id(half), "no live producer of the group to check a transaction with");
            return Ok(());
        };
        let uniq = half.property(UNIQ_KEY).map(str::to_owned);
        let header = CheckTransactionStateRequestHeader {
            topic: half.property(REAL_TOPIC).map(str::to_owned),
            tran_state_table_offset: result.queue_offset,
            commit_log_offset: result.physical_offset,
            msg_id: uniq,
            transaction_id: Some(transaction_id(half).to_owned()),
            offset_msg_id: Some(result.msg_id.clone()),
            bname: Some(b.config.broker_name.clone()),
        };
        // The body is the copy as the producer sent it: real topic and queue (Java
        // `sendCheckMessage`), the copy's offsets and store time.
        let real_topic = half.property(REAL_TOPIC).unwrap_or(names::TRANS_HALF_TOPIC);
        let real_queue = half
            .property(REAL_QID)
            .and_then(|q| q.parse::<i32>().ok())
            .unwrap_or(0);
        let props = props.encode();
        let mut body = bytes::BytesMut::new();
        let encoded = encode_record_to(
            &mut body,
            &RecordInput {
                topic: real_topic,
                queue_id: real_queue,
                flag: half.flag,
                queue_offset: result.queue_offset,
                physical_offset: result.physical_offset,
                sys_flag: half.sys_flag,
                born_timestamp: half.born_timestamp,
                born_host: half.born_host,
                store_timestamp: result.store_timestamp,
                store_host: b.store_host,
                reconsume_times: half.reconsume_times,
                prepared_transaction_offset: 0,
                body: half.body,
                properties: &props,
                body_crc: None,
            },
        );
        if let Err(e) = encoded {
            tracing::error!(error = %e, "encoding a transaction check failed");
            return Ok(());
        }
        let cmd = RemotingCommand::request(request::CHECK_TRANSACTION_STATE, &header)
            .with_body(body.freeze());
        if let Err(e) = channel.conn.send_oneway(cmd) {
            tracing::warn!(group, error = %e, "sending CHECK_TRANSACTION_STATE failed");
        }
        Ok(())
    }
}

/// Creates one of the transaction topics (1 queue, read+write) on first use and registers it
/// with the name servers, as RocketMQ does.
pub(crate) fn ensure_system_topic(b: &Broker, topic: &str) -> Result<(), BrokerError> {
    let (_, created) = b.topics.ensure_internal(topic, 1, perm::READ_WRITE)?;
    if created {
        b.topics_changed(vec![topic.to_owned()]);
    }
    Ok(())
}

fn half_not_found(h: &EndTransactionRequestHeader) -> BrokerError {
    BrokerError::system(format!(
        "Find prepared transaction message failed: no half message at commit-log offset {} and half-queue offset {}",
        h.commit_log_offset, h.tran_state_table_offset
    ))
}

/// The id a half message's copies share.
fn transaction_id<'a>(half: &RecordView<'a>) -> &'a str {
    half.property(TRANSACTION_ID)
        .or_else(|| half.property(UNIQ_KEY))
        .unwrap_or("")
}

/// Reads op markers from `state.op_read` to the end of the op queue.
fn read_op_markers(store: &MessageStore, state: &mut State) {
    // Every copy of a message resolved by a marker read now is before the current end.
    let half_end = store.max_offset_in_queue(names::TRANS_HALF_TOPIC, 0);
    loop {
        let got = store.get_message(names::TRANS_OP_HALF_TOPIC, 0, state.op_read, BATCH, None);
        match got.status {
            GetStatus::Found => {}
            GetStatus::OffsetTooSmall if got.next_begin_offset > state.op_read => {
                state.op_read = got.next_begin_offset;
                continue;
            }
            _ => return,
        }
        for record in &got.messages {
            let Ok(op) = RecordView::parse(record) else {
                continue;
            };
            for q in std::str::from_utf8(op.body)
                .unwrap_or("")
                .split(',')
                .filter_map(|s| s.trim().parse::<i64>().ok())
            {
                state.resolved_offsets.insert(q, op.queue_offset);
            }
            if let Some(id) = op.property(TRANSACTION_ID) {
                state
                    .resolved_ids
                    .insert(id.to_owned(), (half_end, op.queue_offset));
            }
            state.op_read = op.queue_offset + 1;
        }
        state.op_read = state.op_read.max(got.next_begin_offset);
    }
}

/// Stores the op marker of `half` (Java `TransactionalMessageBridge.putOpMessage`).
async fn write_op_marker(
    b: &Broker,
    state: &mut State,
    half: &RecordView<'_>,
    id: &str,
) -> Result<(), BrokerError> {
    ensure_system_topic(b, names::TRANS_OP_HALF_TOPIC)?;
    let mut props = Properties::new();
    props.insert(keys::TAGS, OP_TAG);
    props.insert(TRANSACTION_ID, id);
    let props = props.encode();
    let body = format!("{},", half.queue_offset);
    let result = b
        .store
        .put_message(MessageToStore {
            topic: names::TRANS_OP_HALF_TOPIC,
            queue_id: 0,
            flag: 0,
            sys_flag: 0,
            born_timestamp: now_millis(),
            born_host: b.store_host,
            store_host: b.store_host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: body.as_bytes(),
            properties: &props,
        })
        .await;
    if !result.status.is_stored() {
        return Err(BrokerError::system(format!(
            "storing the transaction's op marker failed: {}",
            result.status.as_str()
        )));
    }
    state
        .resolved_offsets
        .insert(half.queue_offset, result.queue_offset);
    let half_end = b.store.max_offset_in_queue(names::TRANS_HALF_TOPIC, 0);
    state
        .resolved_ids
        .insert(id.to_owned(), (half_end, result.queue_offset));
    Ok(())
}

/// Stores the committed message (Java `endMessageTransaction`): real topic and queue, sysFlag
/// COMMIT, the half message's commit-log offset as prepared-transaction offset, the rest kept
/// (properties too, as Java keeps them, so consumers see `TRAN_MSG` and the transaction id).
async fn commit(b: &Broker, half: &RecordView<'_>) -> PutResult {
    let topic = half.property(REAL_TOPIC).unwrap_or("");
    let queue_id = half
        .property(REAL_QID)
        .and_then(|q| q.parse::<i32>().ok())
        .unwrap_or(0);
    let sys = sys_flag::with_transaction_type(half.sys_flag, sys_flag::TRANSACTION_COMMIT_TYPE);
    let levels = b.store.delay_levels_ms().len();
    // The level was checked when the half message was sent, so an error cannot happen here.
    let scheduled = schedule::schedule_for(half.properties, topic, queue_id, sys, levels)
        .ok()
        .flatten();
    let (topic, queue_id, props) = match &scheduled {
        Some(s) => (names::SCHEDULE_TOPIC, s.queue_id, s.properties.as_str()),
        None => (topic, queue_id, half.properties),
    };
    b.store
        .put_message(MessageToStore {
            sys_flag: sys,
            store_host: b.store_host,
            prepared_transaction_offset: half.physical_offset,
            ..MessageToStore::copy_of(half, topic, queue_id, props)
        })
        .await
}

/// Appends a copy of `half` with `props` to the half queue.
async fn put_half(b: &Broker, half: &RecordView<'_>, props: &Properties) -> PutResult {
    let props = props.encode();
    b.store
        .put_message(MessageToStore {
            store_host: b.store_host,
            prepared_transaction_offset: 0,
            ..MessageToStore::copy_of(half, names::TRANS_HALF_TOPIC, 0, &props)
        })
        .await
}

/// Moves a half message checked too often (or too old) to `TRANS_CHECK_MAX_TIME_TOPIC`, where
/// an operator can look at it; it is never checked again.
async fn discard(b: &Broker, half: &RecordView<'_>, checks: i32) -> Result<(), BrokerError> {
    ensure_system_topic(b, names::TRANS_CHECK_MAX_TIME_TOPIC)?;
    let result = b
        .store
        .put_message(MessageToStore {
            store_host: b.store_host,
            prepared_transaction_offset: 0,
            ..MessageToStore::copy_of(half, names::TRANS_CHECK_MAX_TIME_TOPIC, 0, half.properties)
        })
        .await;
    if !result.status.is_stored() {
        return Err(BrokerError::system(format!(
            "moving a half message to {} failed: {}",
            names::TRANS_CHECK_MAX_TIME_TOPIC,
            result.status.as_str()
        )));
    }
    tracing::warn!(
        transaction_id = %transaction_id(half),
        checks,
        offset_msg_id = %encode_offset_msg_id(half.store_host, half.physical_offset),
        "half message discarded after its last check; kept in {}",
        names::TRANS_CHECK_MAX_TIME_TOPIC
    );
    Ok(())
}

/// True when the real topic holds a committed copy of `half` (same id, stored after it).
fn committed_copy_exists(store: &MessageStore, half: &RecordView<'_>) -> bool {
    let (Some(topic), Some(uniq)) = (half.property(REAL_TOPIC), half.property(UNIQ_KEY)) else {
        return false;
    };
    let found = store.query_message(topic, uniq, 64, half.born_timestamp, i64::MAX, true);
    found.messages.iter().any(|bytes| {
        RecordView::parse(bytes).is_ok_and(|m| {
            m.topic == topic
                && sys_flag::transaction_type(m.sys_flag) == sys_flag::TRANSACTION_COMMIT_TYPE
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_messages_keep_where_they_go_and_their_id() {
        let p = half_message("TRAN_MSG\u{1}true\u{2}PGROUP\u{1}G\u{2}", "T", 3, "ID1");
        let props = decode_properties(&p);
        assert_eq!(props.get(REAL_TOPIC), Some("T"));
        assert_eq!(props.get(REAL_QID), Some("3"));
        assert_eq!(props.get(TRANSACTION_ID), Some("ID1"));
        assert_eq!(props.get(TRAN_MSG), Some("true"));
        assert!(is_half(&p));
        assert!(!is_half("TRAN_MSG\u{1}false\u{2}"));
        assert!(!is_half(""));
    }
}
