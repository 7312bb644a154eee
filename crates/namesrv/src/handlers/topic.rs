//! Topic lists and topic admin: GET_ALL_TOPIC_LIST_FROM_NAMESERVER, GET_TOPICS_BY_CLUSTER,
//! GET_SYSTEM_TOPIC_LIST_FROM_NS, the GET_UNIT_TOPIC_LIST family, DELETE_TOPIC_IN_NAMESRV,
//! REGISTER_TOPIC_IN_NAMESRV, WIPE_WRITE_PERM_OF_BROKER and ADD_WRITE_PERM_OF_BROKER.

use ferromq_proto::body::{JsonBody, TopicRouteData};
use ferromq_proto::codes::response;
use ferromq_proto::define_header;
use ferromq_proto::headers::{
    BrokerNameHeader, DeleteTopicFromNamesrvRequestHeader, GetTopicsByClusterRequestHeader,
    TopicHeader,
};
use ferromq_proto::RemotingCommand;

use crate::route::UnitFilter;
use crate::server::Shared;
use crate::NamesrvError;

define_header! {
    /// Response of WIPE_WRITE_PERM_OF_BROKER (205).
    pub struct WipeWritePermResponseHeader {
        wipe_topic_count: i32 = "wipeTopicCount",
    }
}

define_header! {
    /// Response of ADD_WRITE_PERM_OF_BROKER (327).
    pub struct AddWritePermResponseHeader {
        add_topic_count: i32 = "addTopicCount",
    }
}

fn disabled(request: &RemotingCommand) -> RemotingCommand {
    request.response_to(response::SYSTEM_ERROR, Some("disable".into()))
}

pub(super) fn all_topics(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    if !shared.config.read().enable_all_topic_list {
        return Ok(disabled(request));
    }
    let list = shared.routes.read().all_topics();
    Ok(request.success_to().with_body(list.to_json()))
}

pub(super) fn topics_by_cluster(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    if !shared.config.read().enable_topic_list {
        return Ok(disabled(request));
    }
    let header: GetTopicsByClusterRequestHeader = request.decode_header()?;
    let list = shared.routes.read().topics_of_cluster(&header.cluster);
    Ok(request.success_to().with_body(list.to_json()))
}

pub(super) fn system_topics(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    let list = shared.routes.read().system_topics();
    Ok(request.success_to().with_body(list.to_json()))
}

pub(super) fn unit_topics(
    shared: &Shared,
    request: &RemotingCommand,
    filter: UnitFilter,
) -> Result<RemotingCommand, NamesrvError> {
    if !shared.config.read().enable_topic_list {
        return Ok(disabled(request));
    }
    let list = shared.routes.read().unit_topics(filter);
    Ok(request.success_to().with_body(list.to_json()))
}

pub(super) fn delete_topic(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    let header: DeleteTopicFromNamesrvRequestHeader = request.decode_header()?;
    let cluster = header.cluster_name.as_deref().filter(|c| !c.is_empty());
    if shared.routes.write().delete_topic(&header.topic, cluster) {
        tracing::info!(topic = %header.topic, cluster = cluster.unwrap_or("*"), "topic deleted");
    }
    Ok(request.success_to())
}

pub(super) fn register_topic(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    let header: TopicHeader = request.decode_header()?;
    if request.body.is_empty() {
        return Ok(request.success_to());
    }
    let route = TopicRouteData::from_json(&request.body).map_err(|source| NamesrvError::Body {
        what: "TopicRouteData",
        source,
    })?;
    shared
        .routes
        .write()
        .register_topic(&header.topic, route.queue_datas);
    Ok(request.success_to())
}

pub(super) fn write_perm(
    shared: &Shared,
    request: &RemotingCommand,
    writable: bool,
) -> Result<RemotingCommand, NamesrvError> {
    let header: BrokerNameHeader = request.decode_header()?;
    let count = shared
        .routes
        .write()
        .set_write_perm(&header.broker_name, writable);
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    tracing::info!(broker = %header.broker_name, writable, topics = count, "broker write permission changed");
    let resp = request.success_to();
    Ok(if writable {
        resp.with_header(&AddWritePermResponseHeader {
            add_topic_count: count,
        })
    } else {
        resp.with_header(&WipeWritePermResponseHeader {
            wipe_topic_count: count,
        })
    })
}
