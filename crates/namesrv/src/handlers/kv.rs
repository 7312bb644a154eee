//! KV config: PUT_KV_CONFIG, GET_KV_CONFIG, DELETE_KV_CONFIG, GET_KVLIST_BY_NAMESPACE.

use ferromq_proto::body::{JsonBody, KVTable};
use ferromq_proto::codes::response;
use ferromq_proto::headers::{
    GetKvConfigResponseHeader, KvConfigKeyHeader, NamespaceHeader, PutKvConfigRequestHeader,
};
use ferromq_proto::RemotingCommand;

use crate::server::Shared;
use crate::NamesrvError;

pub(super) async fn put(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    let header: PutKvConfigRequestHeader = request.decode_header()?;
    shared
        .kv
        .put(&header.namespace, &header.key, &header.value)
        .await?;
    Ok(request.success_to())
}

pub(super) fn get(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    let header: KvConfigKeyHeader = request.decode_header()?;
    Ok(match shared.kv.get(&header.namespace, &header.key) {
        Some(value) => request
            .success_to()
            .with_header(&GetKvConfigResponseHeader { value: Some(value) }),
        None => request.response_to(
            response::QUERY_NOT_FOUND,
            Some(format!(
                "No config item, Namespace: {} Key: {}",
                header.namespace, header.key
            )),
        ),
    })
}

pub(super) async fn delete(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    let header: KvConfigKeyHeader = request.decode_header()?;
    shared.kv.delete(&header.namespace, &header.key).await?;
    Ok(request.success_to())
}

pub(super) fn list(
    shared: &Shared,
    request: &RemotingCommand,
) -> Result<RemotingCommand, NamesrvError> {
    let header: NamespaceHeader = request.decode_header()?;
    Ok(match shared.kv.namespace(&header.namespace) {
        Some(table) => request.success_to().with_body(KVTable { table }.to_json()),
        None => request.response_to(
            response::QUERY_NOT_FOUND,
            Some(format!("No config item, Namespace: {}", header.namespace)),
        ),
    })
}
