//! PULL_MESSAGE and LITE_PULL_MESSAGE with long polling (RocketMQ's `PullMessageProcessor`).
//!
//! The response body is the stored records themselves: slices of the mapped commit log handed
//! to the socket writer without copying.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_common::{java_string_hash, perm};
use ferromq_net::ConnectionHandle;
use ferromq_proto::body::ExpressionType;
use ferromq_proto::codes::response;
use ferromq_proto::headers::{pull_flag, PullMessageRequestHeader, PullMessageResponseHeader};
use ferromq_proto::RemotingCommand;
use ferromq_store::GetStatus;

use super::HandlerResult;
use crate::long_poll::HeldPull;
use crate::{Broker, BrokerError};

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
    if !perm::is_readable(b.config.broker_permission) {
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
    if h.queue_id < 0 || h.queue_id >= topic.read_queue_nums {
        return Err(BrokerError::invalid(format!(
            "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
            h.queue_id,
            h.topic,
            topic.read_queue_nums,
            conn.peer_addr()
        )));
    }
    let filter = subscription_filter(b, &h)?;

    let max_msgs = h.max_msg_nums.clamp(1, 1024);
    let check = |code: i64| filter.matches(code);
    let result = b
        .store
        .get_message(&h.topic, h.queue_id, h.queue_offset, max_msgs, Some(&check));

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
        suggest_which_broker_id: 0,
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
    if code == response::SUCCESS {
        b.stats.add_get(result.messages.len() as i64);
        resp.body_tail = result.messages;
    }
    Ok(Some(resp))
}

fn subscription_filter(b: &Broker, h: &PullMessageRequestHeader) -> Result<TagFilter, BrokerError> {
    if h.sys_flag & pull_flag::SUBSCRIPTION != 0 {
        let expr_type = h.expression_type.as_deref().unwrap_or("TAG");
        if !expr_type.eq_ignore_ascii_case("TAG") {
            return Err(BrokerError::system(
                "The broker does not support consumer to filter message by SQL92",
            ));
        }
        return Ok(TagFilter::parse(h.subscription.as_deref().unwrap_or("*")));
    }
    let group = b
        .clients
        .consumer_group(&h.consumer_group)
        .ok_or_else(|| BrokerError::Code {
            code: response::SUBSCRIPTION_NOT_EXIST,
            remark: format!(
                "the consumer's group info not exist, group: {}",
                h.consumer_group
            ),
        })?;
    let sub = group
        .subscriptions
        .get(&h.topic)
        .ok_or_else(|| BrokerError::Code {
            code: response::SUBSCRIPTION_NOT_EXIST,
            remark: format!(
                "the consumer's subscription not exist, group: {} topic: {}",
                h.consumer_group, h.topic
            ),
        })?;
    if sub.expression_type == ExpressionType::Sql92 {
        return Err(BrokerError::system(
            "The broker does not support consumer to filter message by SQL92",
        ));
    }
    if sub.sub_string.trim().is_empty() || sub.sub_string.trim() == "*" {
        return Ok(TagFilter::All);
    }
    if sub.code_set.is_empty() {
        return Ok(TagFilter::parse(&sub.sub_string));
    }
    Ok(TagFilter::Codes(sub.code_set.clone()))
}
