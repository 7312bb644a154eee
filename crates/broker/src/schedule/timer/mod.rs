//! RocketMQ 5's arbitrary-delay timer messages (Java `TimerMessageStore`, redone on files of
//! due-time buckets instead of a time wheel).
//!
//! ```text
//! SEND with TIMER_DELAY_SEC | TIMER_DELAY_MS | TIMER_DELIVER_MS | __STARTDELIVERTIME
//!   └─▶ rmq_sys_wheel_timer queue 0   (REAL_TOPIC, REAL_QID, TIMER_OUT_MS = due ms)
//!          │ timer thread: reads the queue in order from enqueueOffset
//!          ▼
//!   <storePathRootDir>/timer/<bucket start ms>.bkt   one append-only file per 10 s of due time
//!          │ buckets starting within 2 s are loaded, sorted by (due, offset), deduped
//!          ▼ at the due ms
//!   re-stored in REAL_TOPIC / REAL_QID ─▶ config/timerCheckpoint.json (atomic)
//! ```
//!
//! A bucket entry is 24 bytes: `due_ms i64 | commit-log offset i64 | size i32 | crc32 u32` (big
//! endian, the crc over the first 20 bytes). Memory holds only the loaded buckets (at most about
//! 12 s of due time, and at most [`wheel::MAX_PENDING`] entries of an overdue backlog), so it
//! does not grow with the number of messages waiting.
//!
//! Exactly once across kill -9: bucket files are fsynced before the checkpoint records how far
//! the queue was filed; the checkpoint also records a delivery frontier below which every filed
//! entry was delivered. At start-up, torn bucket tails are cut, entries with a bad crc skipped,
//! the queue is filed again from the saved offset (duplicates collapse in the sorted set), and an
//! overdue entry not below the frontier is delivered only when its copy is not already in the
//! real queue (the delay-level service's index check, [`super::already_delivered`]).
//!
//! Recall (RocketMQ 5.3 RECALL_MESSAGE, [`recall`]): a timer send is answered with a recall
//! handle; a recall stores a delete marker (`TIMER_DEL_UNIQKEY` = `<topic>+<UNIQ_KEY>`, due at
//! the same ms) in the timer queue, filed like any entry but with its size negated, and the
//! message it names is dropped at its due time instead of being delivered.
//!
//! RocketMQ rules kept: the highest-priority timer property decides (seconds, then ms, then the
//! absolute times); a due time not in the future is stored normally; more than
//! `timerMaxDelaySec` ahead is refused; transaction halves and a message with a delay level are
//! not timed (the level wins and the timer requests are cleared). FerroMQ differences: delivery
//! is at the due millisecond (`timerPrecisionMs` is only validated), `timerWheelEnable=false`
//! refuses timer sends with MESSAGE_ILLEGAL, and dead-letter topics are never timed.

mod bucket;
mod recall;
mod wheel;

use ferromq_common::names;
use ferromq_proto::message::properties::{
    self, REAL_QID, REAL_TOPIC, START_DELIVER_TIME, TIMER_DELAY_MS, TIMER_DELAY_SEC,
    TIMER_DELIVER_MS, TIMER_DEL_UNIQKEY, TIMER_OUT_MS,
};
use ferromq_proto::message::sys_flag;

use crate::{BrokerConfig, BrokerError};

pub use recall::{RecallBook, TooLate};
pub use wheel::{TimerProgress, TimerService};

/// The properties that ask for a timer, highest priority first (Java `transformTimerMessage`,
/// plus `__STARTDELIVERTIME` last).
pub const TIMER_REQUEST_KEYS: [&str; 4] = [
    TIMER_DELAY_SEC,
    TIMER_DELAY_MS,
    TIMER_DELIVER_MS,
    START_DELIVER_TIME,
];

/// What the send path checks timer requests against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerLimits {
    /// `timerWheelEnable`.
    pub enabled: bool,
    /// `timerMaxDelaySec` × 1000.
    pub max_delay_ms: i64,
}

impl TimerLimits {
    /// The limits `config` sets.
    pub fn of(config: &BrokerConfig) -> Self {
        TimerLimits {
            enabled: config.timer_wheel_enable,
            max_delay_ms: config.timer_max_delay_sec.saturating_mul(1000),
        }
    }
}

/// Where a timed send goes instead of its topic: `rmq_sys_wheel_timer` queue 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed {
    /// Due time, ms since the epoch (also in `TIMER_OUT_MS`).
    pub due_ms: i64,
    /// The properties to store: the originals with `REAL_TOPIC`, `REAL_QID` and `TIMER_OUT_MS`
    /// set (replacing any values already there).
    pub properties: String,
}

/// Decides whether a send is held by the timer (Java `HookUtils.handleScheduleMessage` and
/// `transformTimerMessage`), for a message the delay-level check has already let through.
///
/// Returns `Ok(None)` when the message carries no timer property, is a prepared or rolled-back
/// transaction half, goes to a dead-letter topic, or is due at or before `now_ms` (it is then
/// stored normally). Errors with MESSAGE_ILLEGAL when the timer is disabled, when the deciding
/// property is not a number, or when the due time is more than `max_delay_ms` ahead.
pub fn timer_for(
    properties: &str,
    topic: &str,
    queue_id: i32,
    msg_sys_flag: i32,
    limits: TimerLimits,
    now_ms: i64,
) -> Result<Option<Timed>, BrokerError> {
    let tx = sys_flag::transaction_type(msg_sys_flag);
    if tx != sys_flag::TRANSACTION_NOT_TYPE && tx != sys_flag::TRANSACTION_COMMIT_TYPE {
        return Ok(None);
    }
    // A dead letter waits for an operator, as the delay-level path decides too.
    if names::is_dlq_topic(topic) {
        return Ok(None);
    }
    let Some((key, raw)) = TIMER_REQUEST_KEYS
        .into_iter()
        .zip(timer_requests(properties))
        .find_map(|(k, v)| v.map(|v| (k, v)))
    else {
        return Ok(None);
    };
    if !limits.enabled {
        return Err(BrokerError::MessageIllegal {
            reason: format!(
                "timer message refused: the timer is disabled on this broker \
                 (timerWheelEnable=false), so {key} cannot be honoured"
            ),
        });
    }
    let value: i64 = raw
        .trim()
        .parse()
        .map_err(|_| BrokerError::MessageIllegal {
            reason: format!("timer message illegal: {key} `{raw}` is not a number"),
        })?;
    let due_ms = match key {
        TIMER_DELAY_SEC => now_ms.saturating_add(value.saturating_mul(1000)),
        TIMER_DELAY_MS => now_ms.saturating_add(value),
        _ => value,
    };
    // A delete marker (TIMER_DEL_UNIQKEY) must be due in the future, as RocketMQ checks.
    let marker_past =
        due_ms <= now_ms && properties::property_value(properties, TIMER_DEL_UNIQKEY).is_some();
    if due_ms <= now_ms && !marker_past {
        return Ok(None);
    }
    if marker_past || due_ms - now_ms > limits.max_delay_ms {
        return Err(BrokerError::MessageIllegal {
            reason: format!(
                "timer message illegal, the delay time should not be bigger than the max delay \
                 {}ms; or if set del msg, the delay time should be bigger than the current time",
                limits.max_delay_ms
            ),
        });
    }
    let properties = super::rewrite_properties(
        properties,
        &[],
        &[
            (REAL_TOPIC, topic),
            (REAL_QID, &queue_id.to_string()),
            (TIMER_OUT_MS, &due_ms.to_string()),
        ],
    );
    Ok(Some(Timed { due_ms, properties }))
}

/// True when any item property asks for a timer (batches may not carry one, as with levels).
pub fn has_timer_request(properties: &str) -> bool {
    timer_requests(properties).iter().any(Option::is_some)
}

/// The value of each of [`TIMER_REQUEST_KEYS`], as [`properties::property_value`] reads it (the
/// last non-empty value of the key), in one pass over the string instead of one per key: every
/// send asks, and nearly none has any.
fn timer_requests(props: &str) -> [Option<&str>; TIMER_REQUEST_KEYS.len()] {
    // Every one of the keys holds "TIME": one vectorised substring search answers for a string
    // without it (nearly every send), instead of a walk over its pairs.
    static TIME: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("TIME"));
    debug_assert!(TIMER_REQUEST_KEYS.iter().all(|k| k.contains("TIME")));
    if TIME.find(props.as_bytes()).is_none() {
        return [None; TIMER_REQUEST_KEYS.len()];
    }
    properties::property_values(props, TIMER_REQUEST_KEYS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_requests_read_as_property_value_does() {
        for props in [
            "",
            "TIMER_DELAY_SEC\u{1}5\u{2}",
            "TIMER_DELAY_SEC\u{1}5\u{2}TIMER_DELAY_SEC\u{1}6\u{2}TIMER_DELAY_MS\u{1}\u{2}",
            "KEYS\u{1}TIMER_DELAY_MS\u{1}7\u{2}TIMER_DELIVER_MS\u{1}9\u{1}x",
            "__STARTDELIVERTIME\u{1}1\u{2}TIMER_DELAY_MS\u{1}2\u{2}junk\u{2}\u{1}3",
            "TIMER_DELAY_SEC\u{2}TIMER_DELAY_SEC\u{1}\u{2}",
        ] {
            let want: Vec<_> = TIMER_REQUEST_KEYS
                .iter()
                .map(|k| properties::property_value(props, k))
                .collect();
            assert_eq!(timer_requests(props).to_vec(), want, "{props:?}");
        }
    }

    const NOW: i64 = 1_700_000_000_000;
    const LIMITS: TimerLimits = TimerLimits {
        enabled: true,
        max_delay_ms: 259_200_000,
    };

    fn due(props: &str) -> Option<i64> {
        timer_for(props, "T", 3, 0, LIMITS, NOW)
            .unwrap()
            .map(|t| t.due_ms)
    }

    fn illegal(props: &str, limits: TimerLimits) -> String {
        match timer_for(props, "T", 0, 0, limits, NOW) {
            Err(BrokerError::MessageIllegal { reason }) => reason,
            other => panic!("{props:?} gave {other:?}"),
        }
    }

    #[test]
    fn the_highest_priority_property_decides_the_exact_due_ms() {
        let all = format!(
            "TIMER_DELIVER_MS\u{1}{}\u{2}TIMER_DELAY_MS\u{1}1500\u{2}TIMER_DELAY_SEC\u{1}3\u{2}\
             __STARTDELIVERTIME\u{1}{}\u{2}",
            NOW + 7_777,
            NOW + 9_999
        );
        assert_eq!(due(&all), Some(NOW + 3_000));
        let no_sec = all.replace("TIMER_DELAY_SEC\u{1}3\u{2}", "");
        assert_eq!(due(&no_sec), Some(NOW + 1_500));
        let absolute = no_sec.replace("TIMER_DELAY_MS\u{1}1500\u{2}", "");
        // Not rounded to any precision.
        assert_eq!(due(&absolute), Some(NOW + 7_777));
        assert_eq!(
            due(&format!("__STARTDELIVERTIME\u{1}{}\u{2}", NOW + 9_999)),
            Some(NOW + 9_999)
        );
        assert_eq!(due("TAGS\u{1}a\u{2}"), None);
    }

    #[test]
    fn the_record_goes_to_its_real_queue_with_stale_values_replaced() {
        let props = "REAL_TOPIC\u{1}Stale\u{2}TIMER_DELAY_MS\u{1}10\u{2}REAL_QID\u{1}9\u{2}\
                     TIMER_OUT_MS\u{1}5\u{2}UNIQ_KEY\u{1}U\u{2}";
        let t = timer_for(props, "T", 3, 0, LIMITS, NOW).unwrap().unwrap();
        assert_eq!(t.due_ms, NOW + 10);
        assert_eq!(
            t.properties,
            format!(
                "TIMER_DELAY_MS\u{1}10\u{2}UNIQ_KEY\u{1}U\u{2}REAL_TOPIC\u{1}T\u{2}\
                 REAL_QID\u{1}3\u{2}TIMER_OUT_MS\u{1}{}\u{2}",
                NOW + 10
            )
        );
    }

    #[test]
    fn past_or_present_due_times_are_stored_normally() {
        assert_eq!(due(&format!("TIMER_DELIVER_MS\u{1}{NOW}\u{2}")), None);
        assert_eq!(due("TIMER_DELIVER_MS\u{1}12\u{2}"), None);
        assert_eq!(due("TIMER_DELAY_MS\u{1}0\u{2}"), None);
        assert_eq!(due("TIMER_DELAY_SEC\u{1}-5\u{2}"), None);
        assert_eq!(due("TIMER_DELAY_MS\u{1}-9223372036854775808\u{2}"), None);
    }

    #[test]
    fn a_delete_marker_must_be_due_in_the_future() {
        let past = format!("TIMER_DELIVER_MS\u{1}{NOW}\u{2}TIMER_DEL_UNIQKEY\u{1}T+U\u{2}");
        assert!(illegal(&past, LIMITS).contains("if set del msg"));
        let future = past.replace(&NOW.to_string(), &(NOW + 5).to_string());
        assert_eq!(due(&future), Some(NOW + 5));
    }

    #[test]
    fn bad_numbers_name_the_property() {
        for (props, key) in [
            (
                "TIMER_DELAY_SEC\u{1}soon\u{2}TIMER_DELAY_MS\u{1}5\u{2}",
                "TIMER_DELAY_SEC",
            ),
            ("TIMER_DELAY_MS\u{1}1.5\u{2}", "TIMER_DELAY_MS"),
            ("TIMER_DELIVER_MS\u{1}tomorrow\u{2}", "TIMER_DELIVER_MS"),
            ("__STARTDELIVERTIME\u{1}x\u{2}", "__STARTDELIVERTIME"),
        ] {
            assert!(illegal(props, LIMITS).contains(key), "{props:?}");
        }
    }

    #[test]
    fn beyond_the_max_delay_is_refused_with_rocketmq_s_remark() {
        let limits = TimerLimits {
            enabled: true,
            max_delay_ms: 60_000,
        };
        assert_eq!(
            illegal("TIMER_DELAY_SEC\u{1}61\u{2}", limits),
            "timer message illegal, the delay time should not be bigger than the max delay \
             60000ms; or if set del msg, the delay time should be bigger than the current time"
        );
        // Exactly the maximum is accepted; an overflowing delay is refused, not wrapped.
        assert!(
            timer_for("TIMER_DELAY_SEC\u{1}60\u{2}", "T", 0, 0, limits, NOW)
                .unwrap()
                .is_some()
        );
        illegal("TIMER_DELAY_SEC\u{1}9223372036854775807\u{2}", limits);
    }

    #[test]
    fn disabled_timer_refuses_instead_of_delivering_at_once() {
        let off = TimerLimits {
            enabled: false,
            ..LIMITS
        };
        assert!(illegal("TIMER_DELAY_MS\u{1}100\u{2}", off).contains("timerWheelEnable=false"));
        assert_eq!(
            timer_for("TAGS\u{1}a\u{2}", "T", 0, 0, off, NOW).unwrap(),
            None
        );
    }

    #[test]
    fn transaction_halves_and_dead_letters_are_not_timed() {
        let props = "TIMER_DELAY_MS\u{1}100\u{2}";
        for flag in [
            sys_flag::TRANSACTION_PREPARED_TYPE,
            sys_flag::TRANSACTION_ROLLBACK_TYPE,
        ] {
            assert_eq!(timer_for(props, "T", 0, flag, LIMITS, NOW).unwrap(), None);
        }
        let commit = sys_flag::TRANSACTION_COMMIT_TYPE;
        assert!(timer_for(props, "T", 0, commit, LIMITS, NOW)
            .unwrap()
            .is_some());
        assert_eq!(timer_for(props, "%DLQ%G", 0, 0, LIMITS, NOW).unwrap(), None);
    }

    #[test]
    fn batch_items_with_any_timer_request_are_detected() {
        assert!(has_timer_request("__STARTDELIVERTIME\u{1}1\u{2}"));
        assert!(has_timer_request("a\u{1}b\u{2}TIMER_DELAY_SEC\u{1}1\u{2}"));
        assert!(!has_timer_request("TIMER_OUT_MS\u{1}1\u{2}"));
    }
}
