//! Priority lanes: how a message's priority (`_SYS_MSG_PRIORITY_`, 0-9, higher first) maps to
//! hidden queues of its topic, shared by the broker (which stores into them) and the client
//! (which pulls them before the normal queue).
//!
//! A topic with the attribute `priority=true` (`mqadmin updateTopic -a +priority=true`) and
//! without the order flag keeps a message of priority `p` in 1..=9 sent to queue `q` in the
//! lane queue `p * 1024 + q` of the same topic; priority 0 (or none) stays in `q`. Lane ids lie
//! above every visible queue id (a topic has at most 1024 queues), so routes, rebalancing and
//! clients that know nothing of lanes see the topic unchanged. A lane is an ordinary consume
//! queue: its offsets are committed per group like any other.

use crate::body::MessageQueue;

/// RocketMQ's priority property (`MessageConst.PROPERTY_PRIORITY`, RIP-80): 0-9, higher first.
pub const PROPERTY_PRIORITY: &str = "_SYS_MSG_PRIORITY_";
/// The topic attribute that turns priority lanes on (`+priority=true`).
pub const TOPIC_ATTRIBUTE: &str = "priority";
/// The highest priority; higher values count as this.
pub const MAX_PRIORITY: i32 = 9;
/// Distance between the lanes of one level: lane id = level × stride + queue id.
pub const LANE_STRIDE: i32 = 1024;
/// Pull-response field set when the pulled queue has priority lanes (`"true"`); clients that do
/// not know it ignore it.
pub const PULL_LANES_FIELD: &str = "priorityLanes";

/// The priority level of a property value: 0 for none or a value that is not a number,
/// values above 9 count as 9.
pub fn level_of(value: Option<&str>) -> i32 {
    value
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|p| p.clamp(0, MAX_PRIORITY as i64) as i32)
        .unwrap_or(0)
}

/// The lane id of `level` (1..=9) for queue `queue_id`.
pub fn lane_id(queue_id: i32, level: i32) -> i32 {
    level * LANE_STRIDE + queue_id
}

/// `(queue id, level)` of a queue id: level 0 for a visible queue.
pub fn split(queue_id: i32) -> (i32, i32) {
    if queue_id < LANE_STRIDE {
        (queue_id, 0)
    } else {
        (queue_id % LANE_STRIDE, queue_id / LANE_STRIDE)
    }
}

/// True for the id of a lane (level 1..=9).
pub fn is_lane(queue_id: i32) -> bool {
    let (_, level) = split(queue_id);
    (1..=MAX_PRIORITY).contains(&level)
}

/// The lane of `mq` for `level`.
pub fn lane(mq: &MessageQueue, level: i32) -> MessageQueue {
    MessageQueue {
        broker_name: mq.broker_name.clone(),
        queue_id: lane_id(mq.queue_id, level),
        topic: mq.topic.clone(),
    }
}

/// True when `lane` is one of the lanes of `base`.
pub fn is_lane_of(lane: &MessageQueue, base: &MessageQueue) -> bool {
    is_lane(lane.queue_id)
        && split(lane.queue_id).0 == base.queue_id
        && lane.topic == base.topic
        && lane.broker_name == base.broker_name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_lane_ids() {
        assert_eq!(level_of(None), 0);
        assert_eq!(level_of(Some("x")), 0);
        assert_eq!(level_of(Some("-3")), 0);
        assert_eq!(level_of(Some(" 7 ")), 7);
        assert_eq!(level_of(Some("42")), 9);
        assert_eq!(lane_id(3, 9), 9 * 1024 + 3);
        assert_eq!(split(9 * 1024 + 3), (3, 9));
        assert_eq!(split(1023), (1023, 0));
        assert!(is_lane(1024) && !is_lane(5) && !is_lane(10 * 1024));
        let base = MessageQueue::new("T", "b", 2);
        assert!(is_lane_of(&lane(&base, 4), &base));
        assert!(!is_lane_of(
            &lane(&MessageQueue::new("T", "b", 1), 4),
            &base
        ));
    }
}
