//! Route lookups: GET_ROUTEINFO_BY_TOPIC, GET_BROKER_CLUSTER_INFO, GET_BROKER_MEMBER_GROUP
//! (RocketMQ `ClientRequestProcessor`, `DefaultRequestProcessor`).

use std::collections::BTreeMap;

use ferromq_proto::body::{fastjson, JsonBody};
use ferromq_proto::codes::response;
use ferromq_proto::define_header;
use ferromq_proto::headers::GetRouteInfoRequestHeader;
use ferromq_proto::RemotingCommand;
use serde::Serialize;

use crate::kv::NAMESPACE_ORDER_TOPIC_CONFIG;
use crate::server::Shared;
use crate::NamesrvError;

/// RocketMQ's hint appended to "no route" remarks (`FAQUrl.APPLY_TOPIC_URL`).
const APPLY_TOPIC_HINT: &str =
    "\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details.";

define_header! {
    /// GET_BROKER_MEMBER_GROUP (901).
    pub struct GetBrokerMemberGroupRequestHeader {
        cluster_name: String = "clusterName",
        broker_name: String = "brokerName",
    }
}

/// `GetBrokerMemberGroupResponseBody`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberGroupBody {
    broker_member_group: MemberGroup,
}

/// `BrokerMemberGroup`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberGroup {
    broker_addrs: BTreeMap<i64, String>,
    broker_name: String,
    cluster: String,
}

/// Always answers in standard JSON (quoted broker-id keys), whatever the client's version: every
/// client parses it, and jsoncpp in the C++ client parses nothing else.
pub(super) fn route_by_topic(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    let header: GetRouteInfoRequestHeader = request.decode_header()?;
    let Some(mut route) = shared.routes.read().route(&header.topic) else {
        return Ok(request.response_to(
            response::TOPIC_NOT_EXIST,
            Some(format!(
                "No topic route info in name server for the topic: {}{APPLY_TOPIC_HINT}",
                header.topic
            )),
        ));
    };
    if shared.config.read().order_message_enable {
        route.order_topic_conf = shared.kv.get(NAMESPACE_ORDER_TOPIC_CONFIG, &header.topic);
    }
    Ok(request.success_to().with_body(route.to_json()))
}

pub(super) fn cluster_info(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    let info = shared.routes.read().cluster_info();
    Ok(request.success_to().with_body(info.to_json()))
}

pub(super) fn broker_member_group(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    let header: GetBrokerMemberGroupRequestHeader = request.decode_header()?;
    let addrs = shared
        .routes
        .read()
        .broker_group(&header.cluster_name, &header.broker_name)
        .map(|b| b.broker_addrs)
        .unwrap_or_default();
    let body = MemberGroupBody {
        broker_member_group: MemberGroup {
            broker_addrs: addrs,
            broker_name: header.broker_name,
            cluster: header.cluster_name,
        },
    };
    Ok(request.success_to().with_body(fastjson::to_vec(&body)))
}
