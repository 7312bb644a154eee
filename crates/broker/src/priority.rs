//! Priority messages: RocketMQ's `_SYS_MSG_PRIORITY_` (0-9, higher first) served through
//! priority lanes.
//!
//! ```text
//! send(T, queue q, priority p) ── T has +priority=true, not ordered, p in 1..=9 ──▶ lane p×1024+q
//!                              └─ otherwise ─────────────────────────────────────▶ queue q
//! send-back of a lane message (the group's %RETRY% copy keeps the property)   ──▶ retry lane
//! pull(T, q) ─▶ answer carries `priorityLanes=true` when q has lanes; a message landing in a
//!               lane of q wakes pulls parked on q, so a long-polling consumer sweeps at once
//! pull(T, lane) ─▶ served like any queue (offsets per group and lane)
//! ```
//!
//! The broker only places messages; ordering is the consumer's part: a lane-aware consumer (the
//! Rust push and lite pull consumers) pulls the lanes of each of its queues, highest first,
//! and pulls a normal queue only while no lane it owns has a backlog (see
//! `ferromq_client::priority`). Messages of one priority keep their queue order (one lane per
//! queue and level). Trade-offs:
//! - opt-in per topic: clients that know nothing of lanes (the C++ client, plain `PullConsumer`
//!   users) never see lane messages of a priority topic, so only lane-aware consumers should
//!   consume one; without the attribute the property is stored and nothing else happens;
//! - ordered topics (order flag) ignore priority: an orderly queue's order matters more, and
//!   batches keep every message in the chosen queue;
//! - retries keep their priority: the `%RETRY%` copy of a lane message goes to the retry topic's
//!   lane of the same level, and retry pulls announce lanes once one has messages;
//! - lane offsets are not listed by `consumerProgress` or `topicStatus` (they list visible
//!   queues), and a reset of offsets applies to visible queues only.

use ferromq_common::names;
use ferromq_proto::body::TopicConfig;
use ferromq_proto::message::properties::{property_value, RETRY_TOPIC};
pub use ferromq_proto::priority::{
    is_lane, lane_id, level_of, split, LANE_STRIDE, MAX_PRIORITY, PROPERTY_PRIORITY,
    PULL_LANES_FIELD, TOPIC_ATTRIBUTE,
};

use crate::Broker;

/// True when `config` keeps priority messages in lanes: attribute `priority=true`, not ordered.
pub fn enabled(config: &TopicConfig) -> bool {
    !config.order
        && config
            .attributes
            .get(TOPIC_ATTRIBUTE)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// True when messages of `topic` may go to lanes: the topic itself is priority-enabled, or it
/// is a retry topic and the message's original topic (`RETRY_TOPIC`) is.
fn lanes_for(b: &Broker, topic: &str, config: &TopicConfig, properties: &str) -> bool {
    if names::is_retry_topic(topic) {
        property_value(properties, RETRY_TOPIC)
            .and_then(|t| b.topics.get(t))
            .is_some_and(|c| enabled(&c))
    } else {
        enabled(config)
    }
}

/// The queue a message sent to `topic` queue `queue_id` is stored in: its lane when it has a
/// priority and the topic uses lanes, else `queue_id`.
pub fn store_queue(
    b: &Broker,
    topic: &str,
    config: &TopicConfig,
    properties: &str,
    queue_id: i32,
) -> i32 {
    if queue_id >= LANE_STRIDE {
        return queue_id;
    }
    let level = level_of(property_value(properties, PROPERTY_PRIORITY));
    if level == 0 || !lanes_for(b, topic, config, properties) {
        return queue_id;
    }
    lane_id(queue_id, level)
}

/// The retry-topic queue of a sent-back message: the lane of its priority when its original
/// topic uses lanes.
pub fn retry_queue(b: &Broker, original_topic: &str, priority: Option<&str>, queue_id: i32) -> i32 {
    let level = level_of(priority);
    if level == 0 || !b.topics.get(original_topic).is_some_and(|c| enabled(&c)) {
        return queue_id;
    }
    lane_id(queue_id, level)
}

/// True when `queue_id` is a lane a consumer may pull: a lane of a visible queue of a
/// priority-enabled topic or of a retry topic.
pub fn lane_readable(topic: &str, config: &TopicConfig, queue_id: i32) -> bool {
    let (base, _) = split(queue_id);
    is_lane(queue_id)
        && base < config.read_queue_nums
        && (enabled(config) || names::is_retry_topic(topic))
}

/// True when a pull of visible queue `queue_id` should announce lanes: the topic is
/// priority-enabled, or it is a retry topic one of whose lanes of that queue has messages.
pub fn announce_lanes(b: &Broker, topic: &str, config: &TopicConfig, queue_id: i32) -> bool {
    if queue_id >= LANE_STRIDE {
        return false;
    }
    if enabled(config) {
        return true;
    }
    names::is_retry_topic(topic)
        && (1..=MAX_PRIORITY).any(|l| b.store.max_offset_in_queue(topic, lane_id(queue_id, l)) > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unordered_topics_with_the_attribute_use_lanes() {
        let mut c = TopicConfig::new("T");
        assert!(!enabled(&c));
        c.attributes.insert(TOPIC_ATTRIBUTE.into(), "true".into());
        assert!(enabled(&c));
        c.read_queue_nums = 4;
        assert!(lane_readable("T", &c, lane_id(3, 9)));
        assert!(
            !lane_readable("T", &c, lane_id(4, 9)),
            "no such visible queue"
        );
        assert!(!lane_readable("T", &c, 3), "not a lane");
        c.order = true;
        assert!(!enabled(&c));
        assert!(!lane_readable("T", &c, lane_id(3, 9)));
    }
}
