//! Topic and group names: RocketMQ's validation rules and well-known names (`TopicValidator`,
//! `MixAll`).

/// Template topic for auto-created topics.
pub const AUTO_CREATE_TOPIC: &str = "TBW102";
/// Topic of delayed messages.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Topic of RocketMQ 5's arbitrary-delay timer messages while they wait
/// (`TimerMessageStore.TIMER_TOPIC`).
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// Half messages of transactions.
pub const TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Commit/rollback markers of transactions.
pub const TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Half messages checked too often.
pub const TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// Self test topic.
pub const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
/// Offset-moved events.
pub const OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
/// Benchmark topic.
pub const BENCHMARK_TOPIC: &str = "BenchmarkTest";
/// Message trace topic.
pub const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// Prefix of retry topics: `%RETRY%<group>`.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// Suffix of a cluster's request-reply topic, `<cluster>_REPLY_TOPIC`.
pub const REPLY_TOPIC_POSTFIX: &str = "REPLY_TOPIC";
/// Prefix of dead-letter topics: `%DLQ%<group>`.
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";
/// Prefix of any system topic.
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";
/// Longest ordinary topic name.
pub const MAX_TOPIC_LENGTH: usize = 127;
/// Longest retry or DLQ topic name.
pub const MAX_RETRY_TOPIC_LENGTH: usize = 255;
/// Longest group name.
pub const MAX_GROUP_LENGTH: usize = 120;

/// Topics a client may not send to (`TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET`).
/// FerroMQ adds [`TIMER_TOPIC`]: a record sent there directly would be delivered by the timer.
pub const NOT_ALLOWED_SEND_TOPICS: &[&str] = &[
    SCHEDULE_TOPIC,
    TIMER_TOPIC,
    TRANS_HALF_TOPIC,
    TRANS_OP_HALF_TOPIC,
    TRANS_CHECK_MAX_TIME_TOPIC,
    SELF_TEST_TOPIC,
    OFFSET_MOVED_EVENT,
];

/// Fixed system topics (`TopicValidator.SYSTEM_TOPIC_SET`).
pub const SYSTEM_TOPICS: &[&str] = &[
    AUTO_CREATE_TOPIC,
    SCHEDULE_TOPIC,
    BENCHMARK_TOPIC,
    TRANS_HALF_TOPIC,
    TRANS_OP_HALF_TOPIC,
    TRANS_CHECK_MAX_TIME_TOPIC,
    SELF_TEST_TOPIC,
    OFFSET_MOVED_EVENT,
    TRACE_TOPIC,
    "CHECKPOINT_TOPIC",
];

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty or only whitespace.
    #[error("the {kind} name is blank")]
    Blank {
        /// "topic" or "group".
        kind: &'static str,
    },
    /// The name is longer than allowed.
    #[error("the {kind} name `{name}` is longer than {max} characters")]
    TooLong {
        /// "topic" or "group".
        kind: &'static str,
        /// The offending name.
        name: String,
        /// The limit.
        max: usize,
    },
    /// The name contains a character outside `[%|a-zA-Z0-9_-]`.
    #[error(
        "the {kind} name `{name}` contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
    )]
    IllegalCharacters {
        /// "topic" or "group".
        kind: &'static str,
        /// The offending name.
        name: String,
    },
}

fn legal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')
}

fn validate(kind: &'static str, name: &str, max: usize) -> Result<(), NameError> {
    if name.trim().is_empty() {
        return Err(NameError::Blank { kind });
    }
    if name.encode_utf16().count() > max {
        return Err(NameError::TooLong {
            kind,
            name: name.to_owned(),
            max,
        });
    }
    if !name.chars().all(legal_char) {
        return Err(NameError::IllegalCharacters {
            kind,
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Checks a topic name: not blank, `[%|a-zA-Z0-9_-]` only, at most 127 chars (255 for retry/DLQ).
pub fn validate_topic(topic: &str) -> Result<(), NameError> {
    let max = if is_retry_topic(topic) || is_dlq_topic(topic) {
        MAX_RETRY_TOPIC_LENGTH
    } else {
        MAX_TOPIC_LENGTH
    };
    validate("topic", topic, max)
}

/// Checks a group name: not blank, `[%|a-zA-Z0-9_-]` only, at most 120 chars.
pub fn validate_group(group: &str) -> Result<(), NameError> {
    validate("group", group, MAX_GROUP_LENGTH)
}

/// True for `%RETRY%...` topics.
pub fn is_retry_topic(topic: &str) -> bool {
    topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)
}

/// True for `%DLQ%...` topics.
pub fn is_dlq_topic(topic: &str) -> bool {
    topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
}

/// The request-reply topic of `cluster` (Java `MixAll.getReplyTopic`).
pub fn reply_topic(cluster: &str) -> String {
    format!("{cluster}_{REPLY_TOPIC_POSTFIX}")
}

/// The retry topic of `group`.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

/// The dead-letter topic of `group`.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_GROUP_TOPIC_PREFIX}{group}")
}

/// True for topics that are part of the system rather than the user's.
pub fn is_system_topic(topic: &str) -> bool {
    SYSTEM_TOPICS.contains(&topic) || topic.starts_with(SYSTEM_TOPIC_PREFIX)
}

/// True for topics clients may not send to.
pub fn is_not_allowed_send_topic(topic: &str) -> bool {
    NOT_ALLOWED_SEND_TOPICS.contains(&topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_rules() {
        assert!(validate_topic("tp_demo_06").is_ok());
        assert!(validate_topic("%RETRY%group-1").is_ok());
        assert!(matches!(validate_topic(""), Err(NameError::Blank { .. })));
        assert!(matches!(
            validate_topic("a b"),
            Err(NameError::IllegalCharacters { .. })
        ));
        assert!(matches!(
            validate_topic("a.b"),
            Err(NameError::IllegalCharacters { .. })
        ));
        assert!(validate_topic(&"a".repeat(127)).is_ok());
        assert!(matches!(
            validate_topic(&"a".repeat(128)),
            Err(NameError::TooLong { .. })
        ));
        assert!(validate_topic(&format!("%RETRY%{}", "a".repeat(200))).is_ok());
    }

    #[test]
    fn the_timer_topic_is_a_system_topic_clients_cannot_send_to() {
        assert!(is_system_topic(TIMER_TOPIC));
        assert!(is_not_allowed_send_topic(TIMER_TOPIC));
        assert!(validate_topic(TIMER_TOPIC).is_ok());
    }

    #[test]
    fn group_rules() {
        assert!(validate_group("CID_demo").is_ok());
        assert!(validate_group(&"g".repeat(121)).is_err());
    }
}
