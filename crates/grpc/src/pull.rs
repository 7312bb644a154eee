//! PullMessage: the offset-based pull of the v5 PullConsumer, on the store's queues as a
//! remoting PULL_MESSAGE reads them (the client keeps its offsets, with UpdateOffset /
//! GetOffset for the group's committed ones).
//!
//! ```text
//! PullMessageRequest{group, queue, offset, batch, filter, long_polling_timeout}
//!   ─▶ store.get_message(topic, queue, offset, batch) (tag filter applied)
//!   ─▶ Status OK, the messages, next_offset        (found)
//!      Status MESSAGE_NOT_FOUND, next_offset       (nothing new once the long poll is over)
//!      Status ILLEGAL_OFFSET, next_offset          (offset outside the queue: where to go)
//! ```

use std::time::Duration;

use ferromq_common::perm;
use ferromq_proto::message::properties as props;
use ferromq_proto::message::record::RecordView;
use ferromq_store::GetStatus;

use crate::convert::{self, duration_ms, Failure};
use crate::pb::{self, Code};
use crate::service::{group_of, resource_name, topic_of, Node, MAX_LONG_POLLING_MS};

/// Most messages one pull returns.
pub const MAX_BATCH: i32 = 1024;
/// How often a long-polling pull looks again.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// What a pull found: its status, the messages and the offset to pull from next.
pub struct Pulled {
    /// OK, MESSAGE_NOT_FOUND or ILLEGAL_OFFSET.
    pub status: pb::Status,
    /// The messages (empty unless OK).
    pub messages: Vec<pb::Message>,
    /// Where the next pull starts.
    pub next_offset: i64,
}

/// Serves one PullMessage request.
pub async fn pull(node: &Node, r: &pb::PullMessageRequest) -> Result<Pulled, Failure> {
    let b = &node.broker;
    group_of(b, resource_name(r.group.as_ref()))?;
    let q = r
        .message_queue
        .as_ref()
        .ok_or((Code::BadRequest, "no message queue".into()))?;
    let topic = topic_of(b, resource_name(q.topic.as_ref()))?;
    if q.id < 0 || q.id >= topic.read_queue_nums {
        return Err((
            Code::BadRequest,
            format!(
                "queue {} does not exist: topic `{}` has {} read queues",
                q.id, topic.topic_name, topic.read_queue_nums
            ),
        ));
    }
    if !perm::is_readable(topic.perm & b.config.broker_permission) {
        return Err((
            Code::Forbidden,
            format!("topic `{}` is not readable", topic.topic_name),
        ));
    }
    if r.offset < 0 {
        return Err((
            Code::IllegalOffset,
            format!("offset {} is negative", r.offset),
        ));
    }
    let filter = convert::TagFilter::parse(r.filter_expression.as_ref())?;
    let batch = if r.batch_size <= 0 {
        32
    } else {
        r.batch_size.min(MAX_BATCH)
    };
    let polling = r
        .long_polling_timeout
        .as_ref()
        .map_or(0, duration_ms)
        .clamp(0, MAX_LONG_POLLING_MS);
    let deadline = tokio::time::Instant::now() + Duration::from_millis(polling as u64);
    let name = topic.topic_name.as_str();
    let mut offset = r.offset;
    loop {
        let got = b.store.get_message(name, q.id, offset, batch, None);
        match got.status {
            GetStatus::Found => {
                let mut messages = Vec::with_capacity(got.messages.len());
                for record in &got.messages {
                    let Ok(view) = RecordView::parse(record) else {
                        continue;
                    };
                    if filter.matches(props::property_value(view.properties, props::TAGS)) {
                        messages.push(convert::to_pb(&view, None));
                    }
                }
                offset = got.next_begin_offset;
                if !messages.is_empty() {
                    return Ok(Pulled {
                        status: convert::ok(),
                        messages,
                        next_offset: offset,
                    });
                }
                // Everything read was filtered out: read on from there.
                continue;
            }
            GetStatus::OffsetTooSmall | GetStatus::OffsetOverflowBadly => {
                return Ok(Pulled {
                    status: convert::status(
                        Code::IllegalOffset,
                        format!(
                            "offset {} is outside queue {} of `{name}` ({} to {})",
                            r.offset, q.id, got.min_offset, got.max_offset
                        ),
                    ),
                    messages: Vec::new(),
                    next_offset: got.next_begin_offset,
                });
            }
            GetStatus::NoMatchedMessage | GetStatus::MessageWasRemoving
                if got.next_begin_offset > offset =>
            {
                offset = got.next_begin_offset;
                continue;
            }
            _ => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Pulled {
                status: convert::status(Code::MessageNotFound, "no new message"),
                messages: Vec::new(),
                next_offset: offset,
            });
        }
        tokio::time::sleep_until((tokio::time::Instant::now() + POLL_EVERY).min(deadline)).await;
    }
}
