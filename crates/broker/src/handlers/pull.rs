//! PULL_MESSAGE and LITE_PULL_MESSAGE with long polling (RocketMQ's `PullMessageProcessor`).
//!
//! The response body is the stored records themselves: slices of the mapped commit log handed
//! to the socket writer without copying.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_common::{java_string_hash, perm};
use ferromq_net::ConnectionHandle;
use ferromq_proto::body::route::MASTER_ID;
use ferromq_proto::body::{ExpressionType, SubscriptionGroupConfig};
use ferromq_proto::codes::response;
use ferromq_proto::headers::{pull_flag, PullMessageRequestHeader, PullMessageResponseHeader};
use ferromq_proto::RemotingCommand;
use ferromq_store::{GetResult, GetStatus};

use super::HandlerResult;
use crate::clients::SubscriptionMissing;
use crate::long_poll::HeldPull;
use crate::{sql_filter, Broker, BrokerError};
use ferromq_proto::message::properties;
use ferromq_proto::message::record::RecordView;

/// Which tag codes a pull accepts: all, or a set.
enum TagFilter {
    All,
    Codes(BTreeSet<i32>),
}

impl TagFilter {
    fn parse(expr: &str) -> TagFilter {
        let expr = expr.trim();
        if expr.is_empty() || expr == "*" {
            return TagFilter::All;
        }
        let codes = expr
            .split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(java_string_hash)
            .collect::<BTreeSet<_>>();
        if codes.is_empty() {
            TagFilter::All
        } else {
            TagFilter::Codes(codes)
        }
    }

    fn matches(&self, tags_code: i64) -> bool {
        match self {
            TagFilter::All => true,
            TagFilter::Codes(c) => c.contains(&(tags_code as i32)),
        }
    }
}

/// What a pull filters by: tag hash codes in the consume queue, or a SQL92 expression over the
/// properties of each record (after the consume queue); `retry_sql` also filters a `%RETRY%`
/// pull with the expression of each message's first topic (`filterSupportRetry`).
enum PullFilter {
    Tags(TagFilter),
    Sql(Arc<ferromq_filter::Filter>),
    RetrySql { group: String },
}

impl PullFilter {
    fn matches_code(&self, tags_code: i64) -> bool {
        match self {
            PullFilter::Tags(t) => t.matches(tags_code),
            PullFilter::Sql(_) | PullFilter::RetrySql { .. } => true,
        }
    }

    /// Drops the found records the expression refuses; a pull left with none becomes
    /// NO_MATCHED_MESSAGE (answered PULL_RETRY_IMMEDIATELY with the offset past them).
    fn apply(&self, b: &Broker, result: &mut ferromq_store::GetResult) {
        let keep = |record: &bytes::Bytes| -> bool {
            let Ok(view) = RecordView::parse(record) else {
                return true;
            };
            match self {
                PullFilter::Tags(_) => true,
                PullFilter::Sql(f) => sql_filter::matches(f, view.properties),
                PullFilter::RetrySql { group } => {
                    let Some(first) = view.property(properties::RETRY_TOPIC) else {
                        return true;
                    };
                    match b.clients.subscription(group, first) {
                        Some(sub) if sub.expression_type == ExpressionType::Sql92 => b
                            .filters
                            .get(group, first, &sub.sub_string)
                            .map(|f| sql_filter::matches(&f, view.properties))
                            .unwrap_or(false),
                        _ => true,
                    }
                }
            }
        };
        if matches!(self, PullFilter::Tags(_)) || result.status != GetStatus::Found {
            return;
        }
        result.messages.retain(|r| keep(r));
        result.buffer_total_size = result.messages.iter().map(|r| r.len()).sum();
        if result.messages.is_empty() {
            result.status = GetStatus::NoMatchedMessage;
        }
    }
}

/// Serves a pull; `Ok(None)` means it was parked and is answered later.
pub fn handle(b: &Arc<Broker>, conn: &ConnectionHandle, req: &RemotingCommand) -> HandlerResult {
    run(b, conn, req, Pass::First)
}

/// Which run of a pull request this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// As it arrived: commits its offset, may long-poll or wait for the dispatcher.
    First,
    /// Woken after waiting for the dispatcher: may still long-poll.
    AfterDispatchWait,
    /// Woken from a long poll: answers whatever it finds.
    Rerun,
}

/// How long a pull past the end waits for the dispatcher before hearing PULL_OFFSET_MOVED.
const DISPATCH_GRACE: Duration = Duration::from_millis(500);

/// Parks `req` until a message for its queue is dispatched or `hold` passes.
fn park(
    b: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
    h: &PullMessageRequestHeader,
    hold: Duration,
    awaiting_dispatch: bool,
) {
    b.hold.park(
        &h.topic,
        h.queue_id,
        HeldPull {
            conn: conn.clone(),
            request: req.clone(),
            offset: h.queue_offset,
            deadline: Instant::now() + hold,
            awaiting_dispatch,
        },
    );
    // A message may have landed between the lookup and the parking: check once more.
    let max_now = b.store.max_offset_in_queue(&h.topic, h.queue_id);
    if max_now > h.queue_offset {
        for ready in b.hold.take_ready(&h.topic, h.queue_id, max_now) {
            answer_held(b, ready);
        }
    }
}

/// Answers a parked pull by running it again without suspension.
pub fn answer_held(b: &Arc<Broker>, held: HeldPull) {
    let pass = if held.awaiting_dispatch {
        Pass::AfterDispatchWait
    } else {
        Pass::Rerun
    };
    let resp = match run(b, &held.conn, &held.request, pass) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => crate::response::error_response(&held.request, &e),
    };
    if !held.request.is_oneway() {
        let _ = held.conn.send(resp);
    }
}

/// NO_PERMISSION with the `forbiddenType` RocketMQ reports (1 broker, 2 group, 3 topic).
fn forbidden(req: &RemotingCommand, reason: String, forbidden_type: i32) -> HandlerResult {
    let mut resp = req.response_to(response::NO_PERMISSION, Some(reason));
    resp.ext_fields
        .insert("forbiddenType", forbidden_type.to_string());
    Ok(Some(resp))
}

fn run(
    b: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
    pass: Pass,
) -> HandlerResult {
    let h: PullMessageRequestHeader = req.decode_header()?;
    if b.role() == crate::config::BrokerRole::Slave && !b.config.slave_read_enable {
        // RocketMQ 5 rejects the request before reading it.
        return Ok(Some(req.response_to(
            response::SYSTEM_BUSY,
            Some("[REJECTREQUEST]system busy, start flow control for a while (this broker is a slave and slaveReadEnable=false)".into()),
        )));
    }
    if !perm::is_readable(b.live.broker_permission()) {
        return forbidden(
            req,
            format!(
                "the broker[{}] pulling message is forbidden",
                b.config.broker_ip1
            ),
            1,
        );
    }
    let group =
        b.groups
            .find_or_create(&h.consumer_group)?
            .ok_or_else(|| BrokerError::GroupNotExist {
                group: h.consumer_group.clone(),
            })?;
    if !group.consume_enable {
        return forbidden(
            req,
            format!("subscription group no permission, {}", h.consumer_group),
            2,
        );
    }
    // `mqadmin updateSubGroup -d false`: the group may not be consumed by broadcasting.
    if !group.consume_broadcast_enable && b.clients.is_broadcasting(&h.consumer_group) {
        return Ok(Some(req.response_to(
            response::NO_PERMISSION,
            Some(format!(
                "the consumer group[{}] can not consume by broadcast way",
                h.consumer_group
            )),
        )));
    }
    let topic = b
        .topics
        .get(&h.topic)
        .ok_or_else(|| BrokerError::TopicNotExist {
            topic: h.topic.clone(),
        })?;
    if !perm::is_readable(topic.perm) {
        return forbidden(
            req,
            format!("the topic[{}] pulling message is forbidden", h.topic),
            3,
        );
    }
    if (h.queue_id < 0 || h.queue_id >= topic.read_queue_nums)
        && !crate::priority::lane_readable(&h.topic, &topic, h.queue_id)
    {
        return Err(BrokerError::invalid(format!(
            "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
            h.queue_id,
            h.topic,
            topic.read_queue_nums,
            conn.peer_addr()
        )));
    }
    let filter = subscription_filter(b, &h)?;

    let max_msgs =
        b.quotas
            .consume_allowance(&h.consumer_group, &h.topic, h.max_msg_nums.clamp(1, 1024));
    let check = |code: i64| filter.matches_code(code);
    let mut result =
        b.store
            .get_message(&h.topic, h.queue_id, h.queue_offset, max_msgs, Some(&check));
    filter.apply(b, &mut result);
    hide_deleted_dead_letters(b, &h.topic, &mut result);

    let (code, next) = match result.status {
        GetStatus::Found => (response::SUCCESS, result.next_begin_offset),
        GetStatus::NoMatchedMessage | GetStatus::MessageWasRemoving => {
            (response::PULL_RETRY_IMMEDIATELY, result.next_begin_offset)
        }
        GetStatus::NoMessageInQueue | GetStatus::NoMatchedLogicQueue => {
            if h.queue_offset != 0 {
                (response::PULL_OFFSET_MOVED, result.next_begin_offset)
            } else {
                (response::PULL_NOT_FOUND, result.next_begin_offset)
            }
        }
        GetStatus::OffsetTooSmall | GetStatus::OffsetOverflowBadly => {
            (response::PULL_OFFSET_MOVED, result.next_begin_offset)
        }
        GetStatus::OffsetOverflowOne | GetStatus::OffsetFoundNull => {
            (response::PULL_NOT_FOUND, result.next_begin_offset)
        }
    };

    let (code, suggest) = steer(b, &group, &result, code);

    // The first pass stores the offset the consumer says it has processed.
    if pass == Pass::First && h.sys_flag & pull_flag::COMMIT_OFFSET != 0 && h.commit_offset >= 0 {
        b.offsets
            .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    }

    if code == response::PULL_NOT_FOUND
        && pass != Pass::Rerun
        && h.sys_flag & pull_flag::SUSPEND != 0
    {
        let hold = if b.config.long_polling_enable {
            Duration::from_millis(h.suspend_timeout_millis.clamp(0, 60_000) as u64)
        } else {
            Duration::from_millis(b.config.short_polling_time_mills)
        };
        park(b, conn, req, &h, hold, false);
        return Ok(None);
    }
    // An offset past the end while the dispatcher has not caught up with the commit log is
    // most likely a message acknowledged a moment ago: wait briefly instead of telling the
    // consumer its offset moved. A parked pull re-runs without this wait, so a real overflow is
    // still reported, at most a sweep later.
    let past_end = matches!(result.status, GetStatus::OffsetOverflowBadly)
        || (code == response::PULL_OFFSET_MOVED && h.queue_offset > result.max_offset);
    if past_end && pass == Pass::First && b.store.dispatch_behind_bytes() > 0 {
        park(b, conn, req, &h, DISPATCH_GRACE, true);
        return Ok(None);
    }

    b.offsets
        .record_pull(&h.consumer_group, &h.topic, h.queue_id, next);
    let header = PullMessageResponseHeader {
        suggest_which_broker_id: suggest,
        next_begin_offset: next,
        min_offset: result.min_offset,
        max_offset: result.max_offset,
        topic_sys_flag: Some(topic.topic_sys_flag),
        group_sys_flag: Some(group.group_sys_flag),
        forbidden_type: None,
    };
    let mut resp = req
        .response_to(code, Some(result.status.as_str().to_owned()))
        .with_header(&header);
    if crate::priority::announce_lanes(b, &h.topic, &topic, h.queue_id) {
        resp.ext_fields
            .insert(crate::priority::PULL_LANES_FIELD, "true".to_owned());
    }
    if code == response::SUCCESS {
        b.stats.add_get(result.messages.len() as i64);
        let bytes: usize = result.messages.iter().map(|m| m.len()).sum();
        let count = result.messages.len() as u64;
        b.traffic
            .message_out(&h.topic, &h.consumer_group, count, bytes as u64);
        b.quotas
            .charge_consume(&h.consumer_group, &h.topic, count, bytes as u64);
        if b.tracer.on() {
            b.tracer
                .delivered(conn.peer_addr(), &h.consumer_group, &result.messages);
        }
        resp.body_tail = result.messages;
    }
    Ok(Some(resp))
}

/// Leaves out the deleted messages of a `%DLQ%` topic ([`crate::dlq`]); a pull left with none
/// moves past them as a filtered pull does (PULL_RETRY_IMMEDIATELY with the next offset).
fn hide_deleted_dead_letters(b: &Broker, topic: &str, result: &mut GetResult) {
    if result.status != GetStatus::Found || !b.dlq_tombstones.has(topic) {
        return;
    }
    if b.dlq_tombstones.retain_live(topic, &mut result.messages) == 0 {
        return;
    }
    result.buffer_total_size = result.messages.iter().map(|r| r.len()).sum();
    if result.messages.is_empty() {
        result.status = GetStatus::NoMatchedMessage;
    }
}

/// Which broker the consumer should pull this queue from next (`suggestWhichBrokerId`), and
/// the response code once that is decided (Java `composeResponseHeader`). With
/// `slaveReadEnable`, a consumer reading data too far behind the head for memory goes to the
/// group's `whichBrokerWhenConsumeSlowly`; a slave whose master is alive sends consumers back
/// to it, and answers PULL_RETRY_IMMEDIATELY rather than holding a pull that found nothing.
fn steer(b: &Broker, group: &SubscriptionGroupConfig, result: &GetResult, code: i32) -> (i32, i64) {
    let mut suggest = MASTER_ID;
    if b.config.slave_read_enable {
        suggest = if result.suggest_pulling_from_slave {
            group.which_broker_when_consume_slowly
        } else {
            group.broker_id
        };
    }
    if b.registered_broker_id() != MASTER_ID
        && !result.suggest_pulling_from_slave
        && b.master_alive()
    {
        suggest = MASTER_ID;
        if result.status != GetStatus::Found {
            return (response::PULL_RETRY_IMMEDIATELY, suggest);
        }
    }
    (code, suggest)
}

fn subscription_filter(
    b: &Broker,
    h: &PullMessageRequestHeader,
) -> Result<PullFilter, BrokerError> {
    let sub = if h.sys_flag & pull_flag::SUBSCRIPTION != 0 {
        let expr_type = h.expression_type.as_deref().unwrap_or("TAG");
        let expression = h.subscription.as_deref().unwrap_or("*");
        if expr_type.eq_ignore_ascii_case("TAG") {
            return Ok(retry_or(b, h, TagFilter::parse(expression)));
        }
        if !expr_type.eq_ignore_ascii_case("SQL92") {
            return Err(BrokerError::Code {
                code: response::SUBSCRIPTION_PARSE_FAILED,
                remark: format!("the expression type {expr_type} is not TAG or SQL92"),
            });
        }
        return sql(b, h, expression);
    } else {
        b.clients
            .subscription_of(&h.consumer_group, &h.topic)
            .map_err(|missing| BrokerError::Code {
                code: response::SUBSCRIPTION_NOT_EXIST,
                remark: match missing {
                    SubscriptionMissing::Group => format!(
                        "the consumer's group info not exist, group: {}",
                        h.consumer_group
                    ),
                    SubscriptionMissing::Topic => format!(
                        "the consumer's subscription not exist, group: {} topic: {}",
                        h.consumer_group, h.topic
                    ),
                },
            })?
    };
    if sub.expression_type == ExpressionType::Sql92 {
        return sql(b, h, &sub.sub_string);
    }
    let tags = if sub.sub_string.trim().is_empty() || sub.sub_string.trim() == "*" {
        TagFilter::All
    } else if sub.code_set.is_empty() {
        TagFilter::parse(&sub.sub_string)
    } else {
        TagFilter::Codes(sub.code_set)
    };
    Ok(retry_or(b, h, tags))
}

/// A tag filter, or for a `%RETRY%` pull with `filterSupportRetry` the group's SQL92
/// expressions per first topic.
fn retry_or(b: &Broker, h: &PullMessageRequestHeader, tags: TagFilter) -> PullFilter {
    if b.config.filter_support_retry
        && b.config.enable_property_filter
        && ferromq_common::names::is_retry_topic(&h.topic)
    {
        return PullFilter::RetrySql {
            group: h.consumer_group.clone(),
        };
    }
    PullFilter::Tags(tags)
}

/// The compiled SQL92 filter of a pull; refused when `enablePropertyFilter` is off or the
/// expression does not parse.
fn sql(
    b: &Broker,
    h: &PullMessageRequestHeader,
    expression: &str,
) -> Result<PullFilter, BrokerError> {
    if !b.config.enable_property_filter {
        return Err(BrokerError::system(
            "The broker does not support consumer to filter message by SQL92",
        ));
    }
    b.filters
        .get(&h.consumer_group, &h.topic, expression)
        .map(PullFilter::Sql)
        .map_err(|e| BrokerError::Code {
            code: response::SUBSCRIPTION_PARSE_FAILED,
            remark: format!(
                "parse the consumer's subscription[{expression}] failed, group: {}: {e}",
                h.consumer_group
            ),
        })
}
