//! Request dispatch: one table from request code to the handler of its family.

pub mod admin_more;
pub mod admin_topic;
pub mod auth_admin;
pub mod client;
pub mod client_call;
pub mod dlq;
pub mod group_offsets;
pub mod lock;
pub mod offsets;
pub mod pull;
pub mod query;
pub mod quota;
pub mod recall;
pub mod reply;
pub mod send;
pub mod send_back;
pub mod stats;
pub mod store_admin;

use std::sync::Arc;
use std::time::Instant;

use ferromq_net::{BoxFuture, ConnectionHandle, Handler};
use ferromq_proto::codes::{request, response};
use ferromq_proto::RemotingCommand;

use crate::response::error_response;
use crate::{Broker, BrokerError};

/// What a handler produces: a response, or nothing yet (a parked pull answers later).
pub type HandlerResult = Result<Option<RemotingCommand>, BrokerError>;

/// The broker's [`Handler`] for the network layer.
pub struct BrokerHandler {
    /// Shared broker state.
    pub broker: Arc<Broker>,
}

/// Counts `req`, answered with `response` code, in the request latency metric.
fn observe(broker: &Broker, req: &RemotingCommand, response: i32, started: Option<Instant>) {
    if let Some(started) = started {
        let elapsed = started.elapsed();
        broker
            .rpc
            .observe(req.code, response, req.is_oneway(), false, elapsed);
    }
}

impl Handler for BrokerHandler {
    fn handle(
        &self,
        conn: ConnectionHandle,
        req: RemotingCommand,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        let broker = Arc::clone(&self.broker);
        Box::pin(async move {
            if let Some(acl) = &broker.acl {
                if let Err(reason) = acl.check(conn.peer_addr().ip(), &req) {
                    return Some(error_response(&req, &BrokerError::NoPermission { reason }));
                }
            }
            if broker.auth.enabled() {
                if let Err(reason) = broker.auth.check(conn.peer_addr().ip(), &req) {
                    return Some(error_response(&req, &BrokerError::NoPermission { reason }));
                }
            }
            let started = (!cfg!(feature = "no-observability")).then(Instant::now);
            // The send family runs on its own budget; other families never wait behind it.
            let slot = if is_send_family(req.code) {
                let store = Arc::clone(&broker.store);
                match broker
                    .send_gate
                    .admit(move || store.append_lock_held_ms())
                    .await
                {
                    Ok(slot) => Some(slot),
                    Err(e) => {
                        let resp = error_response(&req, &e);
                        observe(&broker, &req, resp.code, started);
                        return Some(resp);
                    }
                }
            } else {
                None
            };
            let result = dispatch(&broker, &conn, &req).await;
            drop(slot);
            let resp = match result {
                Ok(resp) => resp,
                Err(e) => {
                    tracing::debug!(code = req.code, error = %e, "request failed");
                    Some(error_response(&req, &e))
                }
            };
            // A parked pull (no response yet) is not timed: its wait is the consumer's choice.
            if let Some(r) = &resp {
                observe(&broker, &req, r.code, started);
            }
            resp
        })
    }

    fn on_close(&self, conn: &ConnectionHandle) {
        self.broker.clients.connection_closed(conn);
    }

    /// Sends and pulls do microseconds of work and never block (a SYNC_FLUSH wait or a parked
    /// pull makes the future pending, and it then gets a task), so the reader runs them at once.
    fn poll_inline(&self, req: &RemotingCommand) -> bool {
        use request::*;
        matches!(
            req.code,
            SEND_MESSAGE | SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE | PULL_MESSAGE | LITE_PULL_MESSAGE
        )
    }

    /// Everything but what producers and consumers send in their normal course (sends,
    /// pulls, heartbeats, offsets, locks, send-backs, transactions, replies) counts as
    /// administration, which one connection may have only a few of in flight: it is what a
    /// peer could pipeline to make the broker compute large answers nobody reads.
    fn is_admin(&self, req: &RemotingCommand) -> bool {
        use request::*;
        !matches!(
            req.code,
            SEND_MESSAGE
                | SEND_MESSAGE_V2
                | SEND_BATCH_MESSAGE
                | PULL_MESSAGE
                | LITE_PULL_MESSAGE
                | QUERY_CONSUMER_OFFSET
                | UPDATE_CONSUMER_OFFSET
                | SEARCH_OFFSET_BY_TIMESTAMP
                | GET_MAX_OFFSET
                | GET_MIN_OFFSET
                | GET_EARLIEST_MSG_STORETIME
                | HEART_BEAT
                | UNREGISTER_CLIENT
                | CONSUMER_SEND_MSG_BACK
                | END_TRANSACTION
                | GET_CONSUMER_LIST_BY_GROUP
                | LOCK_BATCH_MQ
                | UNLOCK_BATCH_MQ
                | CHECK_CLIENT_CONFIG
                | SEND_REPLY_MESSAGE
                | RECALL_MESSAGE
        )
    }
}

/// Requests served on the send budget ([`crate::flow::SendGate`]), as Java's send thread
/// pool serves them.
fn is_send_family(code: i32) -> bool {
    use request::*;
    matches!(
        code,
        SEND_MESSAGE | SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE | CONSUMER_SEND_MSG_BACK
    )
}

fn done(r: Result<RemotingCommand, BrokerError>) -> HandlerResult {
    r.map(Some)
}

async fn dispatch(
    b: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> HandlerResult {
    use request::*;
    match req.code {
        SEND_MESSAGE | SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE => {
            done(send::handle(b, conn, req).await)
        }
        SEND_REPLY_MESSAGE | SEND_REPLY_MESSAGE_V2 => done(reply::handle(b, conn, req).await),
        CONSUMER_SEND_MSG_BACK => done(send_back::handle(b, conn.peer_addr(), req).await),
        RECALL_MESSAGE => done(recall::handle(b, conn, req).await),
        END_TRANSACTION => done(
            b.transactions
                .end_transaction(b, conn.peer_addr(), req)
                .await,
        ),
        PULL_MESSAGE | LITE_PULL_MESSAGE => {
            // A consume quota in debt paces the pull: it waits here, then is served.
            let field = |k: &str| req.ext_fields.get(k).unwrap_or("");
            let wanted = field("maxMsgNums").parse().unwrap_or(32).clamp(1, 1024);
            let wait = b
                .quotas
                .consume_wait(field("consumerGroup"), field("topic"), wanted);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            pull::handle(b, conn, req)
        }
        UPDATE_QUOTA => done(quota::update(b, req)),
        GET_QUOTA => done(quota::get(b, req)),
        DELETE_QUOTA => done(quota::delete(b, req)),
        DELETE_DLQ_MESSAGE => done(dlq::delete(b, req)),
        GET_DLQ_TOMBSTONES => done(dlq::tombstones(b, req)),
        QUERY_CONSUMER_OFFSET => done(offsets::query_consumer_offset(b, req)),
        UPDATE_CONSUMER_OFFSET => done(offsets::update_consumer_offset(b, req)),
        GET_MAX_OFFSET => done(offsets::max_offset(b, req)),
        GET_MIN_OFFSET => done(offsets::min_offset(b, req)),
        SEARCH_OFFSET_BY_TIMESTAMP => done(offsets::search_offset(b, req)),
        GET_EARLIEST_MSG_STORETIME => done(offsets::earliest_store_time(b, req)),
        HEART_BEAT => done(client::heartbeat(b, conn, req)),
        UNREGISTER_CLIENT => done(client::unregister(b, conn, req)),
        GET_CONSUMER_LIST_BY_GROUP => done(client::consumer_list(b, req)),
        CHECK_CLIENT_CONFIG => done(client::check_client_config(b, req)),
        LOCK_BATCH_MQ => done(lock::lock_batch(b, req)),
        UNLOCK_BATCH_MQ => done(lock::unlock_batch(b, req)),
        AUTH_CREATE_USER..=AUTH_LIST_ACL => done(auth_admin::handle(b, req).await),
        UPDATE_AND_CREATE_TOPIC => done(admin_topic::create_topic(b, req)),
        UPDATE_AND_CREATE_TOPIC_LIST => done(admin_topic::create_topic_list(b, req)),
        DELETE_TOPIC_IN_BROKER => done(admin_topic::delete_topic(b, req)),
        GET_ALL_TOPIC_CONFIG => done(admin_topic::all_topic_config(b, req)),
        GET_TOPIC_CONFIG => done(admin_topic::topic_config(b, req)),
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => done(admin_topic::create_group(b, req)),
        GET_ALL_SUBSCRIPTIONGROUP_CONFIG => done(admin_topic::all_group_config(b, req)),
        DELETE_SUBSCRIPTIONGROUP => done(admin_topic::delete_group(b, req)),
        GET_TOPIC_STATS_INFO => done(stats::topic_stats(b, req)),
        GET_BROKER_RUNTIME_INFO => done(stats::runtime_info(b, req)),
        GET_CONSUME_STATS => done(stats::consume_stats(b, req)),
        GET_BROKER_CONSUME_STATS => done(stats::broker_consume_stats(b, req)),
        INVOKE_BROKER_TO_RESET_OFFSET => done(group_offsets::reset_offset(b, req)),
        CLONE_GROUP_OFFSET => done(group_offsets::clone_group_offset(b, req)),
        GET_CONSUMER_CONNECTION_LIST => done(stats::consumer_connections(b, req)),
        GET_PRODUCER_CONNECTION_LIST => done(stats::producer_connections(b, req)),
        QUERY_TOPIC_CONSUME_BY_WHO => done(stats::consumed_by_who(b, req)),
        GET_BROKER_CONFIG => done(stats::broker_config(b, req)),
        VIEW_MESSAGE_BY_ID => done(query::view_by_id(b, req)),
        QUERY_MESSAGE => done(query::query_message(b, req)),
        ferromq_controller::codes::request::NOTIFY_BROKER_ROLE_CHANGED => {
            // The controller changed this group's master: read the replica info now.
            b.role_nudge.notify_one();
            Ok(Some(req.success_to()))
        }
        GET_BROKER_HA_STATUS => Ok(Some(
            req.success_to()
                .with_body(ferromq_proto::body::JsonBody::to_json(&b.ha_status())),
        )),
        GET_ALL_CONSUMER_OFFSET => Ok(Some(req.success_to().with_body(b.offsets.to_json()))),
        GET_ALL_DELAY_OFFSET => Ok(Some(
            req.success_to()
                .with_body(ferromq_proto::body::JsonBody::to_json(&b.schedule.table())),
        )),
        GET_CONSUMER_RUNNING_INFO => done(client_call::consumer_running_info(b, req).await),
        CONSUME_MESSAGE_DIRECTLY => done(client_call::consume_message_directly(b, req).await),
        DELETE_EXPIRED_COMMITLOG => done(store_admin::delete_expired_commit_log(b, req)),
        CLEAN_EXPIRED_CONSUMEQUEUE => done(store_admin::clean_expired_consume_queue(b, req).await),
        UPDATE_BROKER_CONFIG => done(admin_more::update_broker_config(b, req)),
        VIEW_BROKER_STATS_DATA => done(admin_more::view_broker_stats_data(b, req)),
        CLEAN_UNUSED_TOPIC => done(admin_more::clean_unused_topic(b, req).await),
        QUERY_CONSUME_QUEUE => done(admin_more::query_consume_queue(b, req)),
        code => Ok(Some(req.response_to(
            response::REQUEST_CODE_NOT_SUPPORTED,
            Some(ferromq_proto::codes::not_supported_remark(
                code,
                ferromq_proto::codes::Server::Broker,
            )),
        ))),
    }
}
