//! Broker registration and liveness: REGISTER_BROKER, UNREGISTER_BROKER, BROKER_HEARTBEAT,
//! QUERY_DATA_VERSION (RocketMQ `DefaultRequestProcessor`).

use std::time::{Duration, Instant};

use ferromq_common::hash::crc32_masked;
use ferromq_net::ConnectionHandle;
use ferromq_proto::body::{DataVersion, JsonBody, KVTable, RegisterBrokerBody};
use ferromq_proto::codes::response;
use ferromq_proto::headers::{
    BrokerHeartbeatRequestHeader, BrokerIdentityHeader, QueryDataVersionResponseHeader,
    RegisterBrokerRequestHeader, RegisterBrokerResponseHeader,
};
use ferromq_proto::RemotingCommand;

use crate::kv::NAMESPACE_ORDER_TOPIC_CONFIG;
use crate::route::Registration;
use crate::server::Shared;
use crate::NamesrvError;

/// Ext field carrying the broker's zone (`MixAll.ZONE_NAME`).
const ZONE_NAME: &str = "__ZONE_NAME";

pub(super) fn register(
    shared: &Shared,
    conn: &ConnectionHandle,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    let header: RegisterBrokerRequestHeader = request.decode_header()?;
    let crc = header.body_crc32.unwrap_or(0);
    if crc != 0 && crc32_masked(&request.body) != crc {
        tracing::warn!(broker = %header.broker_name, addr = %header.broker_addr, "register body crc32 mismatch");
        return Ok(request.response_to(response::SYSTEM_ERROR, Some("crc32 not match".into())));
    }
    let body = if request.body.is_empty() {
        RegisterBrokerBody::default()
    } else {
        RegisterBrokerBody::decode(&request.body, header.compressed.unwrap_or(false)).map_err(
            |source| NamesrvError::Body {
                what: "RegisterBrokerBody",
                source,
            },
        )?
    };
    let registration = Registration {
        cluster: header.cluster_name,
        broker_name: header.broker_name,
        broker_addr: header.broker_addr,
        broker_id: header.broker_id,
        ha_server_addr: header.ha_server_addr,
        heartbeat_timeout: header
            .heartbeat_timeout_millis
            .and_then(|ms| u64::try_from(ms).ok())
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis),
        enable_acting_master: header.enable_acting_master,
        zone_name: request.ext_fields.get(ZONE_NAME).map(str::to_owned),
        topics: body.topic_config_serialize_wrapper,
        filter_servers: body.filter_server_list,
    };
    let policy = shared.register_policy();
    let outcome =
        shared
            .routes
            .write()
            .register(registration, Some(conn.clone()), Instant::now(), policy);

    let mut resp = request
        .success_to()
        .with_header(&RegisterBrokerResponseHeader {
            ha_server_addr: outcome.ha_server_addr,
            master_addr: outcome.master_addr,
        });
    let send_order_conf = {
        let config = shared.config.read();
        config.order_message_enable && config.return_order_topic_config_to_broker
    };
    if send_order_conf {
        if let Some(table) = shared.kv.namespace(NAMESPACE_ORDER_TOPIC_CONFIG) {
            resp.body = KVTable { table }.to_json().into();
        }
    }
    Ok(resp)
}

pub(super) fn unregister(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    let header: BrokerIdentityHeader = request.decode_header()?;
    if shared.routes.write().unregister(
        &header.cluster_name,
        &header.broker_addr,
        &header.broker_name,
    ) {
        tracing::info!(
            cluster = %header.cluster_name, broker = %header.broker_name, addr = %header.broker_addr,
            "broker unregistered"
        );
    }
    Ok(request.success_to())
}

pub(super) fn heartbeat(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    let header: BrokerHeartbeatRequestHeader = request.decode_header()?;
    shared
        .routes
        .write()
        .touch(&header.cluster_name, &header.broker_addr, Instant::now());
    Ok(request.success_to())
}

pub(super) fn query_data_version(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    let header: BrokerIdentityHeader = request.decode_header()?;
    let version = if request.body.is_empty() {
        DataVersion::default()
    } else {
        DataVersion::from_json(&request.body).map_err(|source| NamesrvError::Body {
            what: "DataVersion",
            source,
        })?
    };
    let (changed, stored) = {
        let mut routes = shared.routes.write();
        let changed =
            routes.is_version_changed(&header.cluster_name, &header.broker_addr, &version);
        if !changed {
            routes.touch(&header.cluster_name, &header.broker_addr, Instant::now());
        }
        (
            changed,
            routes.data_version(&header.cluster_name, &header.broker_addr),
        )
    };
    let mut resp = request
        .success_to()
        .with_header(&QueryDataVersionResponseHeader { changed });
    if let Some(stored) = stored {
        resp.body = stored.to_json().into();
    }
    Ok(resp)
}
