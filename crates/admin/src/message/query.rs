//! The message lookups behind the commands (Java `MQAdminImpl.queryMessage` / `viewMessage`,
//! `DefaultMQPullConsumer.pull`), over raw requests of the admin client's connection pool.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use ferromq_client::AdminClient;
use ferromq_common::java_string_hash;
use ferromq_proto::body::{BrokerData, MessageQueue, TopicRouteData};
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::{
    pull_flag, GetMaxOffsetRequestHeader, OffsetResponseHeader, PullMessageRequestHeader,
    PullMessageResponseHeader, QueryMessageRequestHeader, SearchOffsetRequestHeader,
    TopicQueueRequestHeader, ViewMessageRequestHeader,
};
use ferromq_proto::message::{decode_offset_msg_id, decode_records, MessageExt};
use ferromq_proto::RemotingCommand;

use super::java_hash_order;
use super::render::java_message_ext_string;
use crate::AdminError;

/// The consumer group the tools pull with (Java `MixAll.TOOLS_CONSUMER_GROUP`).
pub const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";
/// Ext field of a unique-key query.
const UNIQUE_MSG_QUERY_FLAG: &str = "_UNIQUE_KEY_QUERY";

/// Java `BrokerData.selectBrokerAddr`: the master, else any slave.
fn select_addr(bd: &BrokerData) -> Option<&str> {
    bd.master_addr()
        .or_else(|| bd.broker_addrs.values().next().map(String::as_str))
}

fn no_message() -> AdminError {
    AdminError::coded(
        response::NO_MESSAGE,
        "query message by key finished, but no message.",
    )
}

fn decode_body(resp: &RemotingCommand) -> Result<Vec<MessageExt>, AdminError> {
    decode_records(Bytes::copy_from_slice(&resp.body)).map_err(|e| AdminError::NotFound {
        message: format!("malformed message in the broker's answer: {e}"),
    })
}

/// Java `MQAdminImpl.queryMessage`: QUERY_MESSAGE to every broker of `topic`'s route (of
/// `cluster` only, when given), keeping results whose `UNIQ_KEY` is `key` (`unique`) or whose
/// `KEYS` holds `key` in `topic`. No match is Java's `NO_MESSAGE` error.
#[allow(clippy::too_many_arguments)]
pub async fn query_message(
    admin: &AdminClient,
    cluster: Option<&str>,
    topic: &str,
    key: &str,
    max_num: i32,
    begin: i64,
    end: i64,
    unique: bool,
) -> Result<Vec<MessageExt>, AdminError> {
    let route = admin.topic_route(topic).await.map_err(|_| {
        AdminError::coded(
            response::TOPIC_NOT_EXIST,
            &format!("The topic[{topic}] not matched route info"),
        )
    })?;
    let addrs: Vec<&str> = route
        .broker_datas
        .iter()
        .filter(|bd| cluster.is_none_or(|c| c.is_empty() || c == bd.cluster))
        .filter_map(select_addr)
        .collect();
    if addrs.is_empty() {
        return Err(AdminError::coded(
            response::TOPIC_NOT_EXIST,
            &format!("The topic[{topic}] not matched route info"),
        ));
    }
    let header = QueryMessageRequestHeader {
        topic: topic.to_owned(),
        key: key.to_owned(),
        max_num,
        begin_timestamp: begin,
        end_timestamp: end,
        unique_key_query: None,
    };
    let mut found = Vec::new();
    for addr in addrs {
        let mut cmd = RemotingCommand::request(request::QUERY_MESSAGE, &header);
        cmd.ext_fields
            .insert(UNIQUE_MSG_QUERY_FLAG, unique.to_string());
        // Java waits three times the usual deadline; a broker that fails is skipped.
        let timeout = admin.rpc().timeout() * 3;
        match admin.rpc().call_timeout(addr, cmd, timeout).await {
            Ok(resp) if resp.code == response::SUCCESS => found.extend(decode_body(&resp)?),
            Ok(_) | Err(_) => {}
        }
    }
    found.retain(|m| {
        if unique {
            m.msg_id() == key
        } else {
            m.topic == topic && m.keys().is_some_and(|k| k.split(' ').any(|t| t == key))
        }
    });
    if found.is_empty() {
        return Err(no_message());
    }
    Ok(found)
}

/// Java `MQAdminImpl.viewMessage`: VIEW_MESSAGE_BY_ID (33) to the address encoded in the
/// offsetMsgId `msg_id`.
pub async fn view_message(
    admin: &AdminClient,
    topic: &str,
    msg_id: &str,
) -> Result<MessageExt, AdminError> {
    let (addr, offset) = decode_offset_msg_id(msg_id).map_err(|_| {
        AdminError::coded(
            response::NO_MESSAGE,
            "query message by id finished, but no message.",
        )
    })?;
    let header = ViewMessageRequestHeader {
        topic: Some(topic.to_owned()),
        offset,
    };
    let cmd = RemotingCommand::request(request::VIEW_MESSAGE_BY_ID, &header);
    let resp = admin.rpc().call_ok(&addr.to_string(), cmd).await?;
    decode_body(&resp)?
        .into_iter()
        .next()
        .ok_or_else(|| AdminError::coded(response::NO_MESSAGE, "no message in the answer"))
}

/// Java `DefaultMQAdminExtImpl.queryMessage(cluster, topic, msgId)`: by offsetMsgId when `msg_id`
/// is one and the broker has it, else the first message whose unique key is `msg_id` (searched
/// over the last three days, as Java does).
pub async fn query_msg_by_id(
    admin: &AdminClient,
    cluster: Option<&str>,
    topic: &str,
    msg_id: &str,
) -> Result<MessageExt, AdminError> {
    if let Ok(m) = view_message(admin, topic, msg_id).await {
        return Ok(m);
    }
    let begin = ferromq_common::now_millis() - 3 * 24 * 3_600_000;
    let mut found = query_message(admin, cluster, topic, msg_id, 32, begin, i64::MAX, true).await?;
    Ok(found.swap_remove(0))
}

/// Java `QueryMsgByUniqueKeySubCommand.queryById`: every message with unique key `msg_id`
/// (at most 32), oldest first.
pub async fn query_msg_by_unique_key(
    admin: &AdminClient,
    cluster: Option<&str>,
    topic: &str,
    msg_id: &str,
) -> Result<Vec<MessageExt>, AdminError> {
    let mut found = query_message(admin, cluster, topic, msg_id, 32, 0, i64::MAX, true).await?;
    found.sort_by_key(|m| m.store_timestamp);
    Ok(found)
}

/// The data of `queryMsgByKey`.
#[derive(Debug, Clone)]
pub struct QueryByKeyReport {
    /// Matching messages, as the brokers returned them.
    pub messages: Vec<MessageExt>,
}

impl fmt::Display for QueryByKeyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<50} {:>4} {:>40}", "#Message ID", "#QID", "#Offset")?;
        for m in &self.messages {
            writeln!(
                f,
                "{:<50} {:>4} {:>40}",
                m.msg_id(),
                m.queue_id,
                m.queue_offset
            )?;
        }
        Ok(())
    }
}

/// Runs `queryMsgByKey -t topic -k key [-b begin] [-e end] [-m maxNum] [-c cluster]`.
pub async fn query_msg_by_key(
    admin: &AdminClient,
    cluster: Option<&str>,
    topic: &str,
    key: &str,
    max_num: i32,
    begin: i64,
    end: i64,
) -> Result<QueryByKeyReport, AdminError> {
    let messages = query_message(admin, cluster, topic, key, max_num, begin, end, false).await?;
    Ok(QueryByKeyReport { messages })
}

/// Java `PullStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    /// Messages returned.
    Found,
    /// Nothing at the offset yet.
    NoNewMsg,
    /// Units read but all filtered out.
    NoMatchedMsg,
    /// The offset is outside the queue.
    OffsetIllegal,
}

impl PullStatus {
    /// Java's enum name.
    pub fn as_str(self) -> &'static str {
        match self {
            PullStatus::Found => "FOUND",
            PullStatus::NoNewMsg => "NO_NEW_MSG",
            PullStatus::NoMatchedMsg => "NO_MATCHED_MSG",
            PullStatus::OffsetIllegal => "OFFSET_ILLEGAL",
        }
    }
}

/// What one pull returned.
#[derive(Debug, Clone)]
pub struct PullOutcome {
    /// Status.
    pub status: PullStatus,
    /// Where the next pull starts.
    pub next_begin_offset: i64,
    /// Queue min offset.
    pub min_offset: i64,
    /// Queue max offset.
    pub max_offset: i64,
    /// The messages, with `MIN_OFFSET`/`MAX_OFFSET` added and tags filtered as the Java
    /// client does.
    pub messages: Vec<MessageExt>,
}

/// Tags of a subscription expression (`*` = all).
fn tag_set(expr: &str) -> Option<BTreeSet<String>> {
    let expr = expr.trim();
    if expr.is_empty() || expr == "*" {
        return None;
    }
    Some(
        expr.split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// Java `DefaultMQPullConsumer.pull(mq, expression, offset, maxNums)` against `addr` with the
/// tools' consumer group.
pub async fn pull_one_queue(
    admin: &AdminClient,
    addr: &str,
    mq: &MessageQueue,
    expression: &str,
    offset: i64,
    max_nums: i32,
) -> Result<PullOutcome, AdminError> {
    let header = PullMessageRequestHeader {
        consumer_group: TOOLS_CONSUMER_GROUP.to_owned(),
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        queue_offset: offset,
        max_msg_nums: max_nums,
        sys_flag: pull_flag::SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: 20_000,
        subscription: Some(expression.to_owned()),
        sub_version: 0,
        expression_type: Some("TAG".to_owned()),
        max_msg_bytes: None,
    };
    let cmd = RemotingCommand::request(request::PULL_MESSAGE, &header);
    let resp = admin
        .rpc()
        .call_timeout(addr, cmd, Duration::from_secs(10))
        .await?;
    let status = match resp.code {
        response::SUCCESS => PullStatus::Found,
        response::PULL_NOT_FOUND => PullStatus::NoNewMsg,
        response::PULL_RETRY_IMMEDIATELY => PullStatus::NoMatchedMsg,
        response::PULL_OFFSET_MOVED => PullStatus::OffsetIllegal,
        code => {
            return Err(ferromq_client::ClientError::Broker {
                code,
                remark: resp.remark.clone().unwrap_or_default(),
            }
            .into())
        }
    };
    let h: PullMessageResponseHeader = resp.decode_header().map_err(|e| AdminError::NotFound {
        message: format!("malformed pull response: {e}"),
    })?;
    let mut messages = if status == PullStatus::Found {
        decode_body(&resp)?
    } else {
        Vec::new()
    };
    if let Some(tags) = tag_set(expression) {
        messages.retain(|m| m.tags().is_some_and(|t| tags.contains(t)));
    }
    for m in &mut messages {
        m.properties.insert("MIN_OFFSET", h.min_offset.to_string());
        m.properties.insert("MAX_OFFSET", h.max_offset.to_string());
    }
    // A Java client reports FOUND with nothing left after its own tag check as NO_MATCHED_MSG.
    let status = if status == PullStatus::Found && messages.is_empty() {
        PullStatus::NoMatchedMsg
    } else {
        status
    };
    Ok(PullOutcome {
        status,
        next_begin_offset: h.next_begin_offset,
        min_offset: h.min_offset,
        max_offset: h.max_offset,
        messages,
    })
}

pub(crate) fn broker_addr(route: &TopicRouteData, broker_name: &str) -> Option<String> {
    route
        .broker_datas
        .iter()
        .find(|bd| bd.broker_name == broker_name)
        .and_then(select_addr)
        .map(str::to_owned)
}

/// Java `QueryMsgByOffsetSubCommand`: the message at `offset` of queue `queue_id` of
/// `broker_name`, or `None` when that pull finds nothing.
pub async fn query_msg_by_offset(
    admin: &AdminClient,
    topic: &str,
    broker_name: &str,
    queue_id: i32,
    offset: i64,
) -> Result<Option<MessageExt>, AdminError> {
    let route = admin.topic_route(topic).await?;
    let addr = broker_addr(&route, broker_name).ok_or_else(|| {
        AdminError::coded(
            response::TOPIC_NOT_EXIST,
            &format!("The broker[{broker_name}] not exist"),
        )
    })?;
    let mq = MessageQueue::new(topic, broker_name, queue_id);
    let pulled = pull_one_queue(admin, &addr, &mq, "*", offset, 1).await?;
    Ok(pulled.messages.into_iter().next())
}

/// Options of `printMsg`.
#[derive(Debug, Clone)]
pub struct PrintMsgOptions {
    /// Topic.
    pub topic: String,
    /// Print bodies (`-d`, default true).
    pub print_body: bool,
    /// Subscription expression (`-s`, default `*`).
    pub sub_expression: String,
    /// Start at the first message stored at or after this time (`-b`).
    pub begin: Option<i64>,
    /// Stop at the first message stored at or after this time (`-e`).
    pub end: Option<i64>,
}

pub(crate) async fn offset_call(
    admin: &AdminClient,
    addr: &str,
    cmd: RemotingCommand,
) -> Result<i64, AdminError> {
    let resp = admin.rpc().call_ok(addr, cmd).await?;
    let h: OffsetResponseHeader = resp.decode_header().map_err(|e| AdminError::NotFound {
        message: format!("malformed offset response: {e}"),
    })?;
    Ok(h.offset)
}

/// Java `MessageQueue.hashCode`.
pub(crate) fn mq_hash(mq: &MessageQueue) -> i32 {
    let mut r: i32 = 1;
    r = r
        .wrapping_mul(31)
        .wrapping_add(java_string_hash(&mq.broker_name));
    r = r.wrapping_mul(31).wrapping_add(mq.queue_id);
    r.wrapping_mul(31).wrapping_add(java_string_hash(&mq.topic))
}

/// `MessageQueue.toString()`.
pub(crate) fn mq_string(mq: &MessageQueue) -> String {
    format!(
        "MessageQueue [topic={}, brokerName={}, queueId={}]",
        mq.topic, mq.broker_name, mq.queue_id
    )
}

/// Runs `printMsg`, handing each piece of output to `out` as it comes (a queue can hold many
/// messages). Queues are visited in the order of Java's `HashSet<MessageQueue>`.
pub async fn print_msg(
    admin: &AdminClient,
    opts: &PrintMsgOptions,
    out: &mut dyn FnMut(&str),
) -> Result<(), AdminError> {
    let route = admin.topic_route(&opts.topic).await?;
    let mut queues = Vec::new();
    for qd in &route.queue_datas {
        if !ferromq_common::perm::is_readable(qd.perm) {
            continue;
        }
        for q in 0..qd.read_queue_nums {
            queues.push(MessageQueue::new(&opts.topic, &qd.broker_name, q));
        }
    }
    let hashes: Vec<i32> = queues.iter().map(mq_hash).collect();
    for i in java_hash_order(&hashes, 16) {
        let mq = &queues[i];
        let Some(addr) = broker_addr(&route, &mq.broker_name) else {
            continue;
        };
        let tq = || TopicQueueRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
        };
        let search = |ts: i64| SearchOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            timestamp: ts,
            boundary_type: None,
        };
        let mut min = offset_call(
            admin,
            &addr,
            RemotingCommand::request(request::GET_MIN_OFFSET, &tq()),
        )
        .await?;
        let max_header = GetMaxOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            committed: None,
        };
        let mut max = offset_call(
            admin,
            &addr,
            RemotingCommand::request(request::GET_MAX_OFFSET, &max_header),
        )
        .await?;
        if let Some(b) = opts.begin {
            let cmd = RemotingCommand::request(request::SEARCH_OFFSET_BY_TIMESTAMP, &search(b));
            min = offset_call(admin, &addr, cmd).await?;
        }
        if let Some(e) = opts.end {
            let cmd = RemotingCommand::request(request::SEARCH_OFFSET_BY_TIMESTAMP, &search(e));
            max = offset_call(admin, &addr, cmd).await?;
        }
        out(&format!(
            "minOffset={min}, maxOffset={max}, {}\n",
            mq_string(mq)
        ));
        let mut offset = min;
        while offset < max {
            let pulled =
                match pull_one_queue(admin, &addr, mq, &opts.sub_expression, offset, 32).await {
                    Ok(p) => p,
                    Err(e) => {
                        // Java prints the stack trace and leaves this queue.
                        eprintln!("{e}");
                        break;
                    }
                };
            offset = pulled.next_begin_offset;
            match pulled.status {
                PullStatus::Found => {
                    for m in &pulled.messages {
                        let body = if opts.print_body {
                            String::from_utf8_lossy(&m.body).into_owned()
                        } else {
                            "NOT PRINT BODY".to_owned()
                        };
                        out(&format!(
                            "MSGID: {} {} BODY: {body}\n",
                            m.msg_id(),
                            java_message_ext_string(m, Some(&mq.broker_name))
                        ));
                    }
                }
                PullStatus::NoMatchedMsg => out(&format!(
                    "{} no matched msg. status={}, offset={offset}\n",
                    mq_string(mq),
                    pulled.status.as_str()
                )),
                PullStatus::NoNewMsg | PullStatus::OffsetIllegal => {
                    out(&format!(
                        "{} print msg finished. status={}, offset={offset}\n",
                        mq_string(mq),
                        pulled.status.as_str()
                    ));
                    break;
                }
            }
        }
        out("--------------------------------------------------------\n");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_sets_and_queue_strings() {
        assert_eq!(tag_set("*"), None);
        assert_eq!(tag_set(""), None);
        assert_eq!(
            tag_set("TagA || TagB"),
            Some(["TagA".to_owned(), "TagB".to_owned()].into())
        );
        let mq = MessageQueue::new("T", "broker-a", 3);
        assert_eq!(
            mq_string(&mq),
            "MessageQueue [topic=T, brokerName=broker-a, queueId=3]"
        );
        // 31*(31*(31*1 + h("broker-a")) + 3) + h("T")
        let expected = 31i32
            .wrapping_mul(
                31i32
                    .wrapping_mul(31i32.wrapping_add(java_string_hash("broker-a")))
                    .wrapping_add(3),
            )
            .wrapping_add(java_string_hash("T"));
        assert_eq!(mq_hash(&mq), expected);
    }

    #[test]
    fn key_report_columns() {
        let r = QueryByKeyReport { messages: vec![] };
        assert_eq!(
            r.to_string(),
            format!("{:<50} {:>4} {:>40}\n", "#Message ID", "#QID", "#Offset")
        );
    }
}
