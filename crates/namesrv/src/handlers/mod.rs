//! Request handlers, one module per request family, dispatched from one table.
//!
//! | module | codes |
//! |---|---|
//! | [`broker`] | REGISTER_BROKER 103, UNREGISTER_BROKER 104, BROKER_HEARTBEAT 904, QUERY_DATA_VERSION 322 |
//! | [`route`] | GET_ROUTEINFO_BY_TOPIC 105, GET_BROKER_CLUSTER_INFO 106, GET_BROKER_MEMBER_GROUP 901 |
//! | [`topic`] | topic lists 206/224/304/311/312/313, DELETE/REGISTER_TOPIC_IN_NAMESRV 216/217, write perms 205/327 |
//! | [`kv`] | PUT/GET/DELETE_KV_CONFIG 100/101/102, GET_KVLIST_BY_NAMESPACE 219 |
//! | [`config`] | UPDATE/GET_NAMESRV_CONFIG 318/319 |
//!
//! Handlers return `Result<RemotingCommand, NamesrvError>`; [`dispatch`] is the one place errors
//! become responses (`SYSTEM_ERROR` with the error's text, like RocketMQ's exception path).

mod broker;
mod config;
mod kv;
mod route;
mod topic;

use ferromq_net::ConnectionHandle;
use ferromq_proto::codes::{request as req, response};
use ferromq_proto::RemotingCommand;

use crate::route::UnitFilter;
use crate::server::Shared;
use crate::NamesrvError;

/// Serves one request; unknown codes get `REQUEST_CODE_NOT_SUPPORTED`.
pub(crate) async fn dispatch(
    shared: &Shared,
    conn: &ConnectionHandle,
    request: &RemotingCommand,
) -> RemotingCommand {
    let result = match request.code {
        req::REGISTER_BROKER => broker::register(shared, conn, request),
        req::UNREGISTER_BROKER => broker::unregister(shared, request),
        req::BROKER_HEARTBEAT => broker::heartbeat(shared, request),
        req::QUERY_DATA_VERSION => broker::query_data_version(shared, request),
        req::GET_ROUTEINFO_BY_TOPIC => route::route_by_topic(shared, request),
        req::GET_BROKER_CLUSTER_INFO => route::cluster_info(shared, request),
        req::GET_BROKER_MEMBER_GROUP => route::broker_member_group(shared, request),
        req::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => topic::all_topics(shared, request),
        req::GET_TOPICS_BY_CLUSTER => topic::topics_by_cluster(shared, request),
        req::GET_SYSTEM_TOPIC_LIST_FROM_NS => topic::system_topics(shared, request),
        req::GET_UNIT_TOPIC_LIST => topic::unit_topics(shared, request, UnitFilter::Unit),
        req::GET_HAS_UNIT_SUB_TOPIC_LIST => {
            topic::unit_topics(shared, request, UnitFilter::HasUnitSub)
        }
        req::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST => {
            topic::unit_topics(shared, request, UnitFilter::HasUnitSubNotUnit)
        }
        req::DELETE_TOPIC_IN_NAMESRV => topic::delete_topic(shared, request),
        req::REGISTER_TOPIC_IN_NAMESRV => topic::register_topic(shared, request),
        req::WIPE_WRITE_PERM_OF_BROKER => topic::write_perm(shared, request, false),
        req::ADD_WRITE_PERM_OF_BROKER => topic::write_perm(shared, request, true),
        req::PUT_KV_CONFIG => kv::put(shared, request).await,
        req::GET_KV_CONFIG => kv::get(shared, request),
        req::DELETE_KV_CONFIG => kv::delete(shared, request).await,
        req::GET_KVLIST_BY_NAMESPACE => kv::list(shared, request),
        req::UPDATE_NAMESRV_CONFIG => config::update(shared, request),
        req::GET_NAMESRV_CONFIG => config::get(shared, request),
        code => Ok(request.response_to(
            response::REQUEST_CODE_NOT_SUPPORTED,
            Some(ferromq_proto::codes::not_supported_remark(
                code,
                ferromq_proto::codes::Server::NameServer,
            )),
        )),
    };
    result.unwrap_or_else(|e| {
        match &e {
            NamesrvError::KvPersist { .. } => tracing::warn!(error = %e, "KV config not persisted"),
            _ => tracing::debug!(code = request.code, error = %e, "request failed"),
        }
        request.response_to(response::SYSTEM_ERROR, Some(e.to_string()))
    })
}
