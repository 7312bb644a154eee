//! `queryMsgTraceById` (Java `QueryMsgTraceByIdSubCommand`, `TraceView`): the trace records of
//! one message, read from the trace topic through the key index (trace messages carry the
//! traced message ids in their KEYS).
//!
//! ```text
//! QUERY_MESSAGE(traceTopic, key = msgId) on every broker of the trace topic's route
//!   ─▶ trace messages ─▶ decode records (proto::message::trace) ─▶ keep those of msgId
//!   ─▶ RocketMQ's table (Pub rows, then Sub rows per consumer group)
//!      + the message's life: every record in time order (FerroMQ)
//! ```

use std::fmt;

use ferromq_proto::message::trace::{decode_trace_data, TraceRecord, TraceType};

use super::query::query_message;
use crate::format::human_seconds;
use crate::{AdminClient, AdminError};

/// One record of the traced message (Java `TraceView`): the record and the host of the client
/// that wrote it (the trace message's born host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceView {
    /// The decoded record.
    pub record: TraceRecord,
    /// The client's IP address (Java `getBornHostString`).
    pub client_host: String,
}

impl TraceView {
    /// `success` or `failed`, as Java's `TraceView.status`.
    pub fn status(&self) -> &'static str {
        if self.record.success {
            "success"
        } else {
            "failed"
        }
    }

    /// True for the broker's record of a copy stored in a `%RETRY%` or `%DLQ%` topic.
    pub fn is_redelivery_copy(&self) -> bool {
        self.record.trace_type == TraceType::Pub
            && (ferromq_common::names::is_retry_topic(&self.record.topic)
                || ferromq_common::names::is_dlq_topic(&self.record.topic))
    }

    /// Rank in a message's life, for records of the same millisecond.
    fn stage(&self) -> u8 {
        match self.record.trace_type {
            _ if self.is_redelivery_copy() => 4,
            TraceType::Pub => 0,
            TraceType::EndTransaction => 1,
            TraceType::SubBefore => 2,
            TraceType::SubAfter => 3,
        }
    }

    /// What happened, in words (the life view).
    pub fn event(&self) -> String {
        let r = &self.record;
        match r.trace_type {
            TraceType::Pub if ferromq_common::names::is_dlq_topic(&r.topic) => {
                "moved to the dead-letter queue".into()
            }
            TraceType::Pub if ferromq_common::names::is_retry_topic(&r.topic) => {
                "stored for redelivery".into()
            }
            TraceType::Pub => format!("sent, {}, {}ms", self.status(), r.cost_time),
            TraceType::SubBefore => format!("delivered (retry {})", r.retry_times),
            TraceType::SubAfter => format!("consumed, {}, {}ms", self.status(), r.cost_time),
            TraceType::EndTransaction => format!(
                "transaction {}{}",
                r.transaction_state,
                if r.from_transaction_check {
                    " (check)"
                } else {
                    ""
                }
            ),
        }
    }
}

/// The trace of one message.
#[derive(Debug, Clone, Default)]
pub struct MsgTraceReport {
    /// The records of the message, in the order the trace messages were found.
    pub views: Vec<TraceView>,
    /// Records that could not be decoded (skipped).
    pub malformed: usize,
}

/// The trace records of message `msg_id` in `trace_topic` (Java `queryTraceByMsgId`): at most
/// `max_num` trace messages stored between `begin` and `end` (ms). Fails as Java does
/// (`NO_MESSAGE`) when no trace message holds the id.
pub async fn query_msg_trace_by_id(
    admin: &AdminClient,
    trace_topic: &str,
    msg_id: &str,
    max_num: i32,
    begin: i64,
    end: i64,
) -> Result<MsgTraceReport, AdminError> {
    let messages =
        query_message(admin, None, trace_topic, msg_id, max_num, begin, end, false).await?;
    let mut report = MsgTraceReport::default();
    for m in messages {
        let host = m.born_host.ip().to_string();
        let body = String::from_utf8_lossy(&m.body);
        for r in decode_trace_data(&body) {
            match r {
                Ok(record) if record.msg_id == msg_id => report.views.push(TraceView {
                    record,
                    client_host: host.clone(),
                }),
                Ok(_) => {}
                Err(_) => report.malformed += 1,
            }
        }
    }
    // In time order; within one millisecond in the order a message's life goes.
    report
        .views
        .sort_by_key(|v| (v.record.timestamp, v.stage()));
    Ok(report)
}

const ROW: fn(&mut fmt::Formatter<'_>, [&str; 6]) -> fmt::Result = |f, c| {
    writeln!(
        f,
        "{:<10} {:<20} {:<20} {:<20} {:<10} {:<10}",
        c[0], c[1], c[2], c[3], c[4], c[5]
    )
};

impl fmt::Display for MsgTraceReport {
    /// RocketMQ's table, then the message's life in time order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut groups: Vec<(&str, Vec<&TraceView>)> = Vec::new();
        for v in &self.views {
            let r = &v.record;
            let time = human_seconds(r.timestamp);
            let cost = format!("{}ms", r.cost_time);
            match r.trace_type {
                // A copy for redelivery is not a send: it shows in the life only.
                TraceType::Pub if v.is_redelivery_copy() => {}
                TraceType::Pub => {
                    let head = [
                        "#Type",
                        "#ProducerGroup",
                        "#ClientHost",
                        "#SendTime",
                        "#CostTimes",
                        "#Status",
                    ];
                    ROW(f, head)?;
                    ROW(
                        f,
                        ["Pub", &r.group, &v.client_host, &time, &cost, v.status()],
                    )?;
                    writeln!(f)?;
                }
                TraceType::SubAfter => match groups.iter_mut().find(|(g, _)| *g == r.group) {
                    Some((_, list)) => list.push(v),
                    None => groups.push((&r.group, vec![v])),
                },
                _ => {}
            }
        }
        for (_, list) in &groups {
            let head = [
                "#Type",
                "#ConsumerGroup",
                "#ClientHost",
                "#ConsumerTime",
                "#CostTimes",
                "#Status",
            ];
            ROW(f, head)?;
            for v in list {
                let r = &v.record;
                let time = human_seconds(r.timestamp);
                let cost = format!("{}ms", r.cost_time);
                ROW(
                    f,
                    ["Sub", &r.group, &v.client_host, &time, &cost, v.status()],
                )?;
            }
            writeln!(f)?;
        }
        let mut life: Vec<&TraceView> = self.views.iter().collect();
        life.sort_by_key(|v| (v.record.timestamp, v.stage()));
        writeln!(f, "Life of the message (UTC):")?;
        writeln!(
            f,
            "{:<20} {:<15} {:<24} {:<24} {:<16} #Event",
            "#Time", "#Type", "#Group", "#Topic", "#ClientHost"
        )?;
        for v in life {
            let r = &v.record;
            writeln!(
                f,
                "{:<20} {:<15} {:<24} {:<24} {:<16} {}",
                human_seconds(r.timestamp),
                r.trace_type.as_str(),
                r.group,
                r.topic,
                v.client_host,
                v.event()
            )?;
        }
        if self.malformed > 0 {
            writeln!(f, "({} malformed trace records skipped)", self.malformed)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(t: TraceType, group: &str, ts: i64, success: bool) -> TraceView {
        TraceView {
            record: TraceRecord {
                trace_type: t,
                group: group.into(),
                topic: "T".into(),
                msg_id: "M".into(),
                timestamp: ts,
                cost_time: 2,
                success,
                ..TraceRecord::default()
            },
            client_host: "127.0.0.1".into(),
        }
    }

    #[test]
    fn prints_rocketmqs_table_and_the_life() {
        let report = MsgTraceReport {
            views: vec![
                view(TraceType::SubAfter, "CG", 2_000, true),
                view(TraceType::Pub, "PG", 0, true),
                view(TraceType::SubBefore, "CG", 1_000, false),
            ],
            malformed: 0,
        };
        let text = report.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "#Type      #ProducerGroup       #ClientHost          #SendTime            #CostTimes #Status   "
        );
        assert_eq!(
            lines[1],
            "Pub        PG                   127.0.0.1            1970-01-01 00:00:00  2ms        success   "
        );
        assert_eq!(lines[2], "");
        assert!(lines[3].starts_with("#Type      #ConsumerGroup"), "{text}");
        assert!(lines[4].starts_with("Sub        CG "), "{text}");
        assert!(lines[4].contains("1970-01-01 00:00:02"), "{text}");
        // The life is in time order: sent, delivered, consumed.
        let life: Vec<&&str> = lines
            .iter()
            .skip_while(|l| !l.starts_with("Life"))
            .collect();
        assert!(life[2].contains("sent, success"), "{text}");
        assert!(life[3].contains("delivered (retry 0)"), "{text}");
        assert!(life[4].contains("consumed, success"), "{text}");
    }
}
