//! Transactional messages (Java `TransactionMQProducer`): a half message the broker keeps
//! invisible until the producer commits it, with the broker checking back on the producer when
//! it never hears.
//!
//! ```text
//! send_in_transaction(msg, execute)
//!   ├─ half message (TRAN_MSG=true, PGROUP, sysFlag PREPARED) ─▶ broker (SEND_OK or error)
//!   ├─ execute(&msg, &send result) ─▶ Commit / Rollback / Unknown   (not run when the send failed)
//!   └─ END_TRANSACTION one-way to that broker
//! broker ── CHECK_TRANSACTION_STATE (a half message left unknown) ─▶ check listener of the group
//!        ◀─ END_TRANSACTION (fromTransactionCheck) on the same connection
//! ```

use std::future::Future;
use std::sync::Arc;

use ferromq_net::{BoxFuture, ConnectionHandle};
use ferromq_proto::codes::request;
use ferromq_proto::headers::{CheckTransactionStateRequestHeader, EndTransactionRequestHeader};
use ferromq_proto::message::msg_id::decode_offset_msg_id;
use ferromq_proto::message::properties as keys;
use ferromq_proto::message::record::decode_record;
use ferromq_proto::message::{sys_flag, MessageExt};
use ferromq_proto::RemotingCommand;

use crate::listener::catch_panic;
use crate::{ClientError, Message, Producer, ProducerBuilder, SendResult, SendStatus};

/// What a local transaction (or a check) decided (Java `LocalTransactionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalTransactionState {
    /// Deliver the message.
    CommitMessage,
    /// Drop the message.
    RollbackMessage,
    /// Not known yet: the broker checks back later.
    Unknown,
}

impl LocalTransactionState {
    /// `commitOrRollback` of END_TRANSACTION: 8, 12 or 0.
    pub fn code(self) -> i32 {
        match self {
            LocalTransactionState::CommitMessage => sys_flag::TRANSACTION_COMMIT_TYPE,
            LocalTransactionState::RollbackMessage => sys_flag::TRANSACTION_ROLLBACK_TYPE,
            LocalTransactionState::Unknown => sys_flag::TRANSACTION_NOT_TYPE,
        }
    }
}

/// Answers the broker's checks of a group's unresolved half messages.
pub(crate) type CheckListener =
    Arc<dyn Fn(MessageExt) -> BoxFuture<'static, LocalTransactionState> + Send + Sync>;

/// The outcome of [`TransactionProducer::send_in_transaction`].
#[derive(Debug, Clone)]
pub struct TransactionSendResult {
    /// The half message's send result (its offsets identify it to the broker).
    pub send: SendResult,
    /// What was told to the broker.
    pub state: LocalTransactionState,
}

/// A producer of transactional messages; cheap to clone.
#[derive(Clone)]
pub struct TransactionProducer {
    producer: Producer,
}

impl TransactionProducer {
    /// Builds the producer from `builder` with `check_listener` answering the broker's checks
    /// of this group's unresolved transactions (also those of an earlier run of the process:
    /// the broker asks any live producer of the group).
    pub fn new<F, Fut>(builder: ProducerBuilder, check_listener: F) -> Result<Self, ClientError>
    where
        F: Fn(MessageExt) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = LocalTransactionState> + Send + 'static,
    {
        let producer = builder.build()?;
        let f = Arc::new(check_listener);
        let listener: CheckListener = Arc::new(move |msg| {
            let fut = Box::pin(f(msg));
            Box::pin(async move { catch_panic(fut, LocalTransactionState::Unknown).await })
        });
        producer
            .instance()
            .register_checker(producer.group(), listener);
        Ok(TransactionProducer { producer })
    }

    /// Announces the group to the brokers now (every broker serving `TBW102`, as Java's
    /// producers do), so that checks of transactions an earlier run left open reach this
    /// process before it sends anything. Sending also announces.
    pub async fn start(&self) {
        let instance = self.producer.instance();
        self.producer.ensure_started();
        if let Err(e) = instance
            .routes()
            .route(ferromq_common::names::AUTO_CREATE_TOPIC)
            .await
        {
            tracing::debug!(error = %e, "no TBW102 route to announce the producer with");
        }
        instance.send_heartbeat().await;
    }

    /// The underlying producer (plain sends use it as they are).
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Sends `msg` as a half message, runs `execute` (a panic counts as
    /// [`LocalTransactionState::Unknown`]) and tells the broker its outcome. When the half
    /// message is not stored the transaction is rolled back without running `execute` (Java:
    /// `ROLLBACK_MESSAGE` for a send that is not SEND_OK).
    pub async fn send_in_transaction<F, Fut>(
        &self,
        msg: Message,
        execute: F,
    ) -> Result<TransactionSendResult, ClientError>
    where
        F: FnOnce(Message, SendResult) -> Fut,
        Fut: Future<Output = LocalTransactionState> + Send + 'static,
    {
        let mut msg = msg;
        // Java clears a delay level on transactional sends.
        msg.properties.remove(keys::DELAY);
        msg.properties.insert(keys::TRAN_MSG, "true");
        msg.properties.insert(keys::PGROUP, self.producer.group());
        let send = self.producer.send_prepared(msg.clone()).await?;
        let state = if send.status == SendStatus::SendOk {
            let fut = Box::pin(execute(msg, send.clone()));
            catch_panic(fut, LocalTransactionState::Unknown).await
        } else {
            LocalTransactionState::RollbackMessage
        };
        let (_, commit_log_offset) =
            decode_offset_msg_id(&send.offset_msg_id).map_err(|e| ClientError::Records {
                reason: format!("bad offsetMsgId {}: {e}", send.offset_msg_id),
            })?;
        let header = EndTransactionRequestHeader {
            topic: Some(send.queue.topic.clone()),
            producer_group: self.producer.group().to_owned(),
            tran_state_table_offset: send.queue_offset,
            commit_log_offset,
            commit_or_rollback: state.code(),
            from_transaction_check: Some(false),
            msg_id: Some(send.msg_id.clone()),
            transaction_id: Some(
                send.transaction_id
                    .clone()
                    .unwrap_or_else(|| send.msg_id.clone()),
            ),
        };
        let addr = self
            .producer
            .instance()
            .routes()
            .broker_addr(&send.queue.topic, &send.queue.broker_name, true)
            .await?;
        let cmd = RemotingCommand::request(request::END_TRANSACTION, &header);
        // One-way, as Java sends it: a lost END_TRANSACTION is recovered by the broker's check.
        if let Err(e) = self.producer.instance().rpc().oneway(&addr, cmd).await {
            tracing::warn!(error = %e, transaction_id = %send.msg_id, "END_TRANSACTION not sent; the broker will check back");
        }
        Ok(TransactionSendResult { send, state })
    }

    /// Stops answering checks and shuts the producer down.
    pub async fn shutdown(&self) {
        self.producer
            .instance()
            .unregister_checker(self.producer.group());
        self.producer.shutdown().await;
    }
}

/// Serves CHECK_TRANSACTION_STATE: runs the group's check listener on the message and answers
/// with END_TRANSACTION on the connection the check came on (Java
/// `ClientRemotingProcessor.checkTransactionState`).
pub(crate) async fn serve_check(
    listener: Option<CheckListener>,
    credentials: Option<std::sync::Arc<crate::rpc::Credentials>>,
    conn: ConnectionHandle,
    req: RemotingCommand,
) {
    let Some(listener) = listener else {
        tracing::warn!("CHECK_TRANSACTION_STATE for a group with no transaction producer here");
        return;
    };
    let (h, msg) = match (
        req.decode_header::<CheckTransactionStateRequestHeader>(),
        decode_record(&req.body),
    ) {
        (Ok(h), Ok((msg, _))) => (h, msg),
        (Err(e), _) => {
            tracing::warn!(error = %e, "bad CHECK_TRANSACTION_STATE header");
            return;
        }
        (_, Err(e)) => {
            tracing::warn!(error = %e, "bad CHECK_TRANSACTION_STATE body");
            return;
        }
    };
    let group = msg.properties.get(keys::PGROUP).unwrap_or("").to_owned();
    let uniq = msg.properties.get(keys::UNIQ_KEY).map(str::to_owned);
    let state = listener(msg).await;
    let header = EndTransactionRequestHeader {
        topic: h.topic.clone(),
        producer_group: group,
        tran_state_table_offset: h.tran_state_table_offset,
        commit_log_offset: h.commit_log_offset,
        commit_or_rollback: state.code(),
        from_transaction_check: Some(true),
        msg_id: uniq,
        transaction_id: h.transaction_id.clone(),
    };
    let mut cmd = RemotingCommand::request(request::END_TRANSACTION, &header);
    if let Some(c) = credentials {
        c.sign(&mut cmd);
    }
    if let Err(e) = conn.send_oneway(cmd) {
        tracing::warn!(error = %e, "answering a transaction check failed");
    }
}
