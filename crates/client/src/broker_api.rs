//! The broker calls consumers make, as free functions over an [`Rpc`] and a [`RouteCache`]
//! (Java `MQClientAPIImpl`): pull, offsets, the consumer list, queue locks and send-back.

use std::collections::BTreeSet;
use std::time::Duration;

use ferromq_proto::body::{
    GetConsumerListByGroupResponseBody, JsonBody, LockBatchRequestBody, LockBatchResponseBody,
    MessageQueue, SubscriptionData, UnlockBatchRequestBody,
};
use ferromq_proto::codes::{request, response};
use ferromq_proto::header::NoHeader;
use ferromq_proto::headers::{
    pull_flag, ConsumerGroupHeader, ConsumerSendMsgBackRequestHeader, GetMaxOffsetRequestHeader,
    OffsetResponseHeader, PullMessageRequestHeader, QueryConsumerOffsetRequestHeader,
    SearchOffsetRequestHeader, SendMessageRequestHeaderV2, TopicQueueRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};
use ferromq_proto::message::properties as keys;
use ferromq_proto::message::MessageExt;
use ferromq_proto::RemotingCommand;

use crate::consumer::{pull_result_from_response, PullResult};
use crate::route::RouteCache;
use crate::rpc::{decode_body, decode_header, expect_success, Rpc};
use crate::ClientError;

/// A pull as a consumer sends it.
pub(crate) struct PullArgs<'a> {
    pub group: &'a str,
    pub mq: &'a MessageQueue,
    pub sub: &'a SubscriptionData,
    pub offset: i64,
    pub max: i32,
    /// Long-poll hold time on the broker; `None` answers at once.
    pub suspend: Option<Duration>,
    /// Client deadline.
    pub timeout: Duration,
    /// LITE_PULL_MESSAGE (361) instead of PULL_MESSAGE (11).
    pub lite: bool,
}

/// Pulls with the subscription in the request (flag 4), so the pull works before the broker
/// has seen a heartbeat. Messages come back decompressed, tag-filtered, with retry topics
/// restored to the original topic.
pub(crate) async fn pull(
    rpc: &Rpc,
    routes: &RouteCache,
    a: PullArgs<'_>,
) -> Result<PullResult, ClientError> {
    let addr = routes
        .broker_addr(&a.mq.topic, &a.mq.broker_name, false)
        .await?;
    let mut flags = pull_flag::SUBSCRIPTION;
    if a.suspend.is_some() {
        flags |= pull_flag::SUSPEND;
    }
    if a.lite {
        flags |= pull_flag::LITE_PULL;
    }
    let header = PullMessageRequestHeader {
        consumer_group: a.group.to_owned(),
        topic: a.mq.topic.clone(),
        queue_id: a.mq.queue_id,
        queue_offset: a.offset,
        max_msg_nums: a.max,
        sys_flag: flags,
        commit_offset: 0,
        suspend_timeout_millis: a.suspend.map(|d| d.as_millis() as i64).unwrap_or(0),
        subscription: Some(a.sub.sub_string.clone()),
        sub_version: a.sub.sub_version,
        expression_type: Some(a.sub.expression_type.as_str().to_owned()),
        max_msg_bytes: None,
    };
    let code = if a.lite {
        request::LITE_PULL_MESSAGE
    } else {
        request::PULL_MESSAGE
    };
    let resp = rpc
        .call_timeout(&addr, RemotingCommand::request(code, &header), a.timeout)
        .await?;
    let tags: Vec<String> = a.sub.tags_set.iter().cloned().collect();
    let mut result = pull_result_from_response(resp, &tags)?;
    for m in &mut result.messages {
        restore_retry_topic(m);
    }
    Ok(result)
}

/// A message pulled from `%RETRY%group` shows its original topic (Java `resetRetryAndNamespace`).
pub(crate) fn restore_retry_topic(m: &mut MessageExt) {
    if ferromq_common::names::is_retry_topic(&m.topic) {
        if let Some(t) = m.properties.get(keys::RETRY_TOPIC) {
            m.topic = t.to_owned();
        }
    }
}

async fn call_master(
    rpc: &Rpc,
    routes: &RouteCache,
    mq: &MessageQueue,
    cmd: RemotingCommand,
) -> Result<RemotingCommand, ClientError> {
    let addr = routes.broker_addr(&mq.topic, &mq.broker_name, true).await?;
    rpc.call(&addr, cmd).await
}

/// Consumer offsets go to the master, or to a slave while the group has no master (Java
/// `findBrokerAddressInSubscribe(brokerName, MASTER_ID, false)`), so consumption carries on
/// through a master failure; the slave's offsets reach the master again when the consumer
/// commits there after it returns.
async fn call_for_offsets(
    rpc: &Rpc,
    routes: &RouteCache,
    mq: &MessageQueue,
    cmd: RemotingCommand,
) -> Result<RemotingCommand, ClientError> {
    let addr = routes
        .broker_addr(&mq.topic, &mq.broker_name, false)
        .await?;
    rpc.call(&addr, cmd).await
}

/// QUERY_CONSUMER_OFFSET: `Ok(None)` when the broker has none (QUERY_NOT_FOUND).
pub(crate) async fn query_offset(
    rpc: &Rpc,
    routes: &RouteCache,
    group: &str,
    mq: &MessageQueue,
) -> Result<Option<i64>, ClientError> {
    let header = QueryConsumerOffsetRequestHeader {
        consumer_group: group.to_owned(),
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        set_zero_if_not_found: None,
    };
    let resp = call_for_offsets(
        rpc,
        routes,
        mq,
        RemotingCommand::request(request::QUERY_CONSUMER_OFFSET, &header),
    )
    .await?;
    if resp.code == response::QUERY_NOT_FOUND {
        return Ok(None);
    }
    let resp = expect_success(resp)?;
    Ok(Some(
        decode_header::<OffsetResponseHeader>(&resp, "QUERY_CONSUMER_OFFSET")?.offset,
    ))
}

/// UPDATE_CONSUMER_OFFSET, waiting for the answer.
pub(crate) async fn update_offset(
    rpc: &Rpc,
    routes: &RouteCache,
    group: &str,
    mq: &MessageQueue,
    offset: i64,
) -> Result<(), ClientError> {
    let header = UpdateConsumerOffsetRequestHeader {
        consumer_group: group.to_owned(),
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        commit_offset: offset,
    };
    let resp = call_for_offsets(
        rpc,
        routes,
        mq,
        RemotingCommand::request(request::UPDATE_CONSUMER_OFFSET, &header),
    )
    .await?;
    expect_success(resp).map(drop)
}

/// GET_MAX_OFFSET: the next offset to be written in `mq`.
pub(crate) async fn max_offset(
    rpc: &Rpc,
    routes: &RouteCache,
    mq: &MessageQueue,
) -> Result<i64, ClientError> {
    let header = GetMaxOffsetRequestHeader {
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        committed: Some(true),
    };
    let resp = call_master(
        rpc,
        routes,
        mq,
        RemotingCommand::request(request::GET_MAX_OFFSET, &header),
    )
    .await?;
    let resp = expect_success(resp)?;
    Ok(decode_header::<OffsetResponseHeader>(&resp, "GET_MAX_OFFSET")?.offset)
}

/// GET_MIN_OFFSET: the first valid offset of `mq`.
pub(crate) async fn min_offset(
    rpc: &Rpc,
    routes: &RouteCache,
    mq: &MessageQueue,
) -> Result<i64, ClientError> {
    let header = TopicQueueRequestHeader {
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
    };
    let resp = call_master(
        rpc,
        routes,
        mq,
        RemotingCommand::request(request::GET_MIN_OFFSET, &header),
    )
    .await?;
    let resp = expect_success(resp)?;
    Ok(decode_header::<OffsetResponseHeader>(&resp, "GET_MIN_OFFSET")?.offset)
}

/// SEARCH_OFFSET_BY_TIMESTAMP: the first offset stored at or after `timestamp_ms`.
pub(crate) async fn search_offset(
    rpc: &Rpc,
    routes: &RouteCache,
    mq: &MessageQueue,
    timestamp_ms: i64,
) -> Result<i64, ClientError> {
    let header = SearchOffsetRequestHeader {
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        timestamp: timestamp_ms,
        boundary_type: None,
    };
    let resp = call_master(
        rpc,
        routes,
        mq,
        RemotingCommand::request(request::SEARCH_OFFSET_BY_TIMESTAMP, &header),
    )
    .await?;
    let resp = expect_success(resp)?;
    Ok(decode_header::<OffsetResponseHeader>(&resp, "SEARCH_OFFSET_BY_TIMESTAMP")?.offset)
}

/// GET_CONSUMER_LIST_BY_GROUP on one broker of `topic` (Java `findConsumerIdList`), sorted.
pub(crate) async fn consumer_ids(
    rpc: &Rpc,
    routes: &RouteCache,
    group: &str,
    topic: &str,
) -> Result<Vec<String>, ClientError> {
    let route = routes.route(topic).await?;
    let mut addrs: Vec<&str> = route
        .broker_datas
        .iter()
        .filter_map(|b| b.master_addr())
        .collect();
    if addrs.is_empty() {
        return Err(ClientError::NoRoute {
            topic: topic.to_owned(),
            reason: "no master broker",
        });
    }
    let start = rand::random_range(0..addrs.len());
    addrs.rotate_left(start);
    let mut last = None;
    for addr in addrs {
        let cmd = RemotingCommand::request(
            request::GET_CONSUMER_LIST_BY_GROUP,
            &ConsumerGroupHeader {
                consumer_group: group.to_owned(),
            },
        );
        match rpc.call_ok(addr, cmd).await {
            Ok(resp) => {
                let body: GetConsumerListByGroupResponseBody =
                    decode_body(&resp, "GET_CONSUMER_LIST_BY_GROUP")?;
                let mut ids = body.consumer_id_list;
                ids.sort();
                ids.dedup();
                return Ok(ids);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(ClientError::NoBrokerAddress {
        broker_name: String::new(),
    }))
}

/// LOCK_BATCH_MQ on `addr`: the queues of `mqs` this client holds now.
pub(crate) async fn lock_batch(
    rpc: &Rpc,
    addr: &str,
    group: &str,
    client_id: &str,
    mqs: BTreeSet<MessageQueue>,
) -> Result<BTreeSet<MessageQueue>, ClientError> {
    let body = LockBatchRequestBody {
        client_id: client_id.to_owned(),
        consumer_group: group.to_owned(),
        mq_set: mqs,
        only_this_broker: false,
    };
    let cmd = RemotingCommand::request(request::LOCK_BATCH_MQ, &NoHeader).with_body(body.to_json());
    let resp = rpc.call_ok(addr, cmd).await?;
    let granted: LockBatchResponseBody = decode_body(&resp, "LOCK_BATCH_MQ")?;
    Ok(granted.lock_ok_mq_set)
}

/// UNLOCK_BATCH_MQ on `addr`.
pub(crate) async fn unlock_batch(
    rpc: &Rpc,
    addr: &str,
    group: &str,
    client_id: &str,
    mqs: BTreeSet<MessageQueue>,
) -> Result<(), ClientError> {
    let body = UnlockBatchRequestBody {
        client_id: client_id.to_owned(),
        consumer_group: group.to_owned(),
        mq_set: mqs,
        only_this_broker: false,
    };
    let cmd =
        RemotingCommand::request(request::UNLOCK_BATCH_MQ, &NoHeader).with_body(body.to_json());
    rpc.call_ok(addr, cmd).await.map(drop)
}

/// Producer group of the sends a consumer makes itself (Java `MixAll.CLIENT_INNER_PRODUCER_GROUP`).
pub const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";

/// Hands a failed message back for a retry: CONSUMER_SEND_MSG_BACK to the broker that stored
/// it, or, when that fails, a copy sent to `%RETRY%<group>` as a producer would (Java
/// `DefaultMQPushConsumerImpl.sendMessageBack` and its fallback). `delay_level` 0 lets the
/// broker choose, -1 asks for the dead-letter queue; `max_reconsume_times` `None` leaves the
/// limit to the group's `retryMaxTimes`.
pub(crate) async fn give_back(
    rpc: &Rpc,
    routes: &RouteCache,
    group: &str,
    msg: &MessageExt,
    delay_level: i32,
    max_reconsume_times: Option<i32>,
) -> Result<(), ClientError> {
    let err = match send_back(rpc, group, msg, delay_level, max_reconsume_times).await {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    tracing::debug!(msg_id = %msg.msg_id(), error = %err, "send-back failed, sending to the retry topic");
    send_to_retry_topic(rpc, routes, group, msg, delay_level, max_reconsume_times).await
}

/// The fallback of [`give_back`]: the message as a new send to `%RETRY%<group>` carrying
/// `RETRY_TOPIC`, `ORIGIN_MESSAGE_ID`, its id, and the reconsume count + 1 in the header, so
/// the broker applies the group's limit (and sends it to the DLQ past it).
async fn send_to_retry_topic(
    rpc: &Rpc,
    routes: &RouteCache,
    group: &str,
    msg: &MessageExt,
    delay_level: i32,
    max_reconsume_times: Option<i32>,
) -> Result<(), ClientError> {
    let topic = ferromq_common::names::retry_topic(group);
    let mut props = msg.properties.clone();
    props.insert(keys::RETRY_TOPIC, msg.topic.clone());
    if props
        .get(keys::ORIGIN_MESSAGE_ID)
        .is_none_or(|id| id.trim().is_empty())
    {
        props.insert(keys::ORIGIN_MESSAGE_ID, msg.msg_id());
    }
    props.remove(keys::TRAN_MSG);
    let level = if delay_level == 0 {
        3 + msg.reconsume_times
    } else {
        delay_level
    };
    props.insert(keys::DELAY, level.max(0).to_string());
    let publish = routes.publish_info(&topic).await?;
    let queue = publish.select(None).ok_or_else(|| ClientError::NoRoute {
        topic: topic.clone(),
        reason: "no writable queue",
    })?;
    let addr = routes.broker_addr(&topic, &queue.broker_name, true).await?;
    let header = SendMessageRequestHeaderV2 {
        a: CLIENT_INNER_PRODUCER_GROUP.into(),
        b: topic.as_str().into(),
        c: ferromq_common::names::AUTO_CREATE_TOPIC.into(),
        d: crate::route::DEFAULT_TOPIC_QUEUE_NUMS,
        e: queue.queue_id,
        // Inflating a pulled body cleared its compression bits: the flag matches the body.
        f: msg.sys_flag,
        g: msg.born_timestamp,
        h: msg.flag,
        i: Some(props.encode()),
        j: Some(msg.reconsume_times + 1),
        k: Some(false),
        l: max_reconsume_times,
        m: Some(false),
        n: Some(queue.broker_name.as_str().into()),
    };
    let cmd =
        RemotingCommand::request(request::SEND_MESSAGE_V2, &header).with_body(msg.body.clone());
    let resp = rpc.call_timeout(&addr, cmd, Duration::from_secs(3)).await?;
    expect_success(resp).map(drop)
}

/// CONSUMER_SEND_MSG_BACK for a message a listener failed on (Java `consumerSendMessageBack`),
/// sent to the broker that stored it. `delay_level` 0 lets the broker choose.
pub(crate) async fn send_back(
    rpc: &Rpc,
    group: &str,
    msg: &MessageExt,
    delay_level: i32,
    max_reconsume_times: Option<i32>,
) -> Result<(), ClientError> {
    let header = ConsumerSendMsgBackRequestHeader {
        offset: msg.commit_log_offset,
        group: group.to_owned(),
        delay_level,
        origin_msg_id: Some(msg.msg_id()),
        origin_topic: Some(msg.topic.clone()),
        unit_mode: Some(false),
        max_reconsume_times,
    };
    let addr = msg.store_host.to_string();
    let cmd = RemotingCommand::request(request::CONSUMER_SEND_MSG_BACK, &header);
    let resp = rpc.call_timeout(&addr, cmd, Duration::from_secs(3)).await?;
    expect_success(resp).map(drop)
}
