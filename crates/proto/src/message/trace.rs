//! Message-trace records as RocketMQ's clients write them into `RMQ_SYS_TRACE_TOPIC` (Java
//! `TraceDataEncoder`, `TraceContext`, `TraceBean`).
//!
//! A trace message's body is a run of records, each ended by FIELD_SPLITOR (`\u{2}`), its fields
//! separated by CONTENT_SPLITOR (`\u{1}`). The field order depends on the record type:
//!
//! ```text
//! Pub            type|time|region|group|topic|msgId|tags|keys|storeHost|bodyLen|cost|msgType|offsetMsgId|success
//! SubBefore      type|time|region|group|requestId|msgId|retryTimes|keys
//! SubAfter       type|requestId|msgId|cost|success|keys|contextCode|time|group
//! EndTransaction type|time|region|group|topic|msgId|tags|keys|storeHost|msgType|txId|txState|fromCheck
//! ```
//!
//! The trace message's KEYS carry the traced message ids (and the traced messages' keys), so the
//! index finds a message's records by its id. The client host a viewer shows is the trace
//! message's born host.

use super::MessageCodecError;

/// Separates the fields of one record.
pub const CONTENT_SPLITOR: char = '\u{1}';
/// Ends each record.
pub const FIELD_SPLITOR: char = '\u{2}';

/// Java `MessageType` ordinals, as the `msgType` field carries them.
pub mod msg_type {
    /// `Normal_Msg`.
    pub const NORMAL: i32 = 0;
    /// `Trans_Msg_Half`.
    pub const TRANS_HALF: i32 = 1;
    /// `Trans_msg_Commit`.
    pub const TRANS_COMMIT: i32 = 2;
    /// `Delay_Msg`.
    pub const DELAY: i32 = 3;
    /// `Order_Msg`.
    pub const ORDER: i32 = 4;
}

/// Java `ConsumeReturnType` ordinals, as SubAfter's `contextCode` carries them.
pub mod context_code {
    /// `SUCCESS`.
    pub const SUCCESS: i32 = 0;
    /// `TIME_OUT`.
    pub const TIME_OUT: i32 = 1;
    /// `EXCEPTION`.
    pub const EXCEPTION: i32 = 2;
    /// `RETURNNULL`.
    pub const RETURN_NULL: i32 = 3;
    /// `FAILED`.
    pub const FAILED: i32 = 4;
}

/// Java `TraceType` (the record kinds this codec reads and writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceType {
    /// A message was sent (stored).
    #[default]
    Pub,
    /// A consumer is about to consume a message (or, recorded by a broker: a group pulled it).
    SubBefore,
    /// A consumer consumed a message, successfully or not.
    SubAfter,
    /// A producer committed or rolled back a transactional message.
    EndTransaction,
}

impl TraceType {
    /// Java's enum name.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceType::Pub => "Pub",
            TraceType::SubBefore => "SubBefore",
            TraceType::SubAfter => "SubAfter",
            TraceType::EndTransaction => "EndTransaction",
        }
    }

    fn parse(s: &str) -> Option<TraceType> {
        Some(match s {
            "Pub" => TraceType::Pub,
            "SubBefore" => TraceType::SubBefore,
            "SubAfter" => TraceType::SubAfter,
            "EndTransaction" => TraceType::EndTransaction,
            _ => return None,
        })
    }
}

/// One record: Java's `TraceContext` with its one `TraceBean`. Fields a type does not carry stay
/// at their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraceRecord {
    /// The record kind.
    pub trace_type: TraceType,
    /// Milliseconds since the epoch when the event happened.
    pub timestamp: i64,
    /// Region id (`DefaultRegion` unless configured).
    pub region_id: String,
    /// Producer group (Pub, EndTransaction) or consumer group (SubBefore, SubAfter).
    pub group: String,
    /// Ties a SubBefore to its SubAfter.
    pub request_id: String,
    /// Topic of the traced message.
    pub topic: String,
    /// The traced message's id (its UNIQ_KEY).
    pub msg_id: String,
    /// Its tags.
    pub tags: String,
    /// Its keys, space-separated.
    pub keys: String,
    /// The broker that stored it, `ip:port`.
    pub store_host: String,
    /// Body length in bytes.
    pub body_length: i32,
    /// Milliseconds the send or the consumption took.
    pub cost_time: i32,
    /// [`msg_type`] ordinal.
    pub msg_type: i32,
    /// The broker's offset message id.
    pub offset_msg_id: String,
    /// True when the send or the consumption succeeded.
    pub success: bool,
    /// How often the message had been redelivered (SubBefore).
    pub retry_times: i32,
    /// [`context_code`] ordinal (SubAfter).
    pub context_code: i32,
    /// Transaction id (EndTransaction).
    pub transaction_id: String,
    /// `COMMIT_MESSAGE`, `ROLLBACK_MESSAGE` or `UNKNOW` (EndTransaction).
    pub transaction_state: String,
    /// True when the state answered a broker's check (EndTransaction).
    pub from_transaction_check: bool,
    /// The client's address, when an old-style Pub record carries it (15th field).
    pub client_host: String,
}

impl TraceRecord {
    /// The record's fields, borrowed.
    pub fn view(&self) -> TraceView<'_> {
        TraceView {
            trace_type: self.trace_type,
            timestamp: self.timestamp,
            region_id: &self.region_id,
            group: &self.group,
            request_id: &self.request_id,
            topic: &self.topic,
            msg_id: &self.msg_id,
            tags: &self.tags,
            keys: &self.keys,
            store_host: &self.store_host,
            body_length: self.body_length,
            cost_time: self.cost_time,
            msg_type: self.msg_type,
            offset_msg_id: &self.offset_msg_id,
            success: self.success,
            retry_times: self.retry_times,
            context_code: self.context_code,
            transaction_id: &self.transaction_id,
            transaction_state: &self.transaction_state,
            from_transaction_check: self.from_transaction_check,
        }
    }

    /// Appends the record, FIELD_SPLITOR included, in Java's field order.
    pub fn encode_into(&self, out: &mut String) {
        self.view().encode_into(out);
    }

    /// The keys the trace message carrying this record is indexed under: the traced message id
    /// and each of its keys (Java `TraceTransferBean.transKey`).
    pub fn index_keys(&self) -> impl Iterator<Item = &str> {
        self.view().index_keys()
    }
}

/// A [`TraceRecord`] whose text fields are borrowed, for writers that build a record from data
/// they hold (the broker encodes each record it traces straight from the request, with no
/// owned copy of its fields). `client_host`, which only old Pub records carry, is not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TraceView<'a> {
    /// See [`TraceRecord::trace_type`].
    pub trace_type: TraceType,
    /// See [`TraceRecord::timestamp`].
    pub timestamp: i64,
    /// See [`TraceRecord::region_id`].
    pub region_id: &'a str,
    /// See [`TraceRecord::group`].
    pub group: &'a str,
    /// See [`TraceRecord::request_id`].
    pub request_id: &'a str,
    /// See [`TraceRecord::topic`].
    pub topic: &'a str,
    /// See [`TraceRecord::msg_id`].
    pub msg_id: &'a str,
    /// See [`TraceRecord::tags`].
    pub tags: &'a str,
    /// See [`TraceRecord::keys`].
    pub keys: &'a str,
    /// See [`TraceRecord::store_host`].
    pub store_host: &'a str,
    /// See [`TraceRecord::body_length`].
    pub body_length: i32,
    /// See [`TraceRecord::cost_time`].
    pub cost_time: i32,
    /// See [`TraceRecord::msg_type`].
    pub msg_type: i32,
    /// See [`TraceRecord::offset_msg_id`].
    pub offset_msg_id: &'a str,
    /// See [`TraceRecord::success`].
    pub success: bool,
    /// See [`TraceRecord::retry_times`].
    pub retry_times: i32,
    /// See [`TraceRecord::context_code`].
    pub context_code: i32,
    /// See [`TraceRecord::transaction_id`].
    pub transaction_id: &'a str,
    /// See [`TraceRecord::transaction_state`].
    pub transaction_state: &'a str,
    /// See [`TraceRecord::from_transaction_check`].
    pub from_transaction_check: bool,
}

impl<'a> TraceView<'a> {
    /// Appends the record, FIELD_SPLITOR included, in Java's field order.
    pub fn encode_into(&self, out: &mut String) {
        // Pushed field by field: `write!` with its formatting machinery cost the broker's trace
        // writer about 3,000 instructions a record.
        let mut f = Fields::start(out, self.trace_type.as_str());
        match self.trace_type {
            TraceType::Pub => {
                f.int(self.timestamp).str(self.region_id).str(self.group);
                f.str(self.topic).str(self.msg_id).str(self.tags);
                f.str(self.keys).str(self.store_host).int(self.body_length);
                f.int(self.cost_time)
                    .int(self.msg_type)
                    .str(self.offset_msg_id);
                f.bool(self.success);
            }
            TraceType::SubBefore => {
                f.int(self.timestamp).str(self.region_id).str(self.group);
                f.str(self.request_id)
                    .str(self.msg_id)
                    .int(self.retry_times);
                f.str(self.keys);
            }
            TraceType::SubAfter => {
                f.str(self.request_id).str(self.msg_id).int(self.cost_time);
                f.bool(self.success).str(self.keys).int(self.context_code);
                f.int(self.timestamp).str(self.group);
            }
            TraceType::EndTransaction => {
                f.int(self.timestamp).str(self.region_id).str(self.group);
                f.str(self.topic).str(self.msg_id).str(self.tags);
                f.str(self.keys).str(self.store_host).int(self.msg_type);
                f.str(self.transaction_id).str(self.transaction_state);
                f.bool(self.from_transaction_check);
            }
        }
        out.push(FIELD_SPLITOR);
    }

    /// The keys the trace message carrying this record is indexed under: the traced message id
    /// and each of its keys (Java `TraceTransferBean.transKey`).
    pub fn index_keys(&self) -> impl Iterator<Item = &'a str> {
        std::iter::once(self.msg_id)
            .chain(self.keys.split(' '))
            .filter(|k| !k.is_empty() && *k != "null")
    }
}

/// Appends a record's fields, each after a CONTENT_SPLITOR.
struct Fields<'a>(&'a mut String);

impl<'a> Fields<'a> {
    fn start(out: &'a mut String, trace_type: &str) -> Self {
        out.push_str(trace_type);
        Fields(out)
    }

    fn str(&mut self, v: &str) -> &mut Self {
        self.0.push(CONTENT_SPLITOR);
        self.0.push_str(v);
        self
    }

    fn int(&mut self, v: impl itoa::Integer) -> &mut Self {
        self.str(itoa::Buffer::new().format(v))
    }

    /// Java's `Boolean.toString`.
    fn bool(&mut self, v: bool) -> &mut Self {
        self.str(if v { "true" } else { "false" })
    }
}

/// Encodes `records` into one trace-message body.
pub fn encode_trace_data(records: &[TraceRecord]) -> String {
    let mut out = String::with_capacity(records.len() * 160);
    for r in records {
        r.encode_into(&mut out);
    }
    out
}

/// Decodes a trace-message body. Each record decodes on its own, so one malformed record does
/// not hide the others; records of a type this codec does not know are skipped, as Java does.
pub fn decode_trace_data(data: &str) -> Vec<Result<TraceRecord, MessageCodecError>> {
    data.split(FIELD_SPLITOR)
        .filter(|r| !r.is_empty())
        .filter_map(decode_record)
        .collect()
}

fn decode_record(text: &str) -> Option<Result<TraceRecord, MessageCodecError>> {
    let mut f: Vec<&str> = text.split(CONTENT_SPLITOR).collect();
    // Java's String.split drops trailing empty fields; lengths below are counted as it counts.
    while f.len() > 1 && f.last().is_some_and(|s| s.is_empty()) {
        f.pop();
    }
    let trace_type = TraceType::parse(f[0])?;
    Some(
        decode_fields(trace_type, &f).map_err(|reason| MessageCodecError::InvalidTrace {
            record: text.replace([CONTENT_SPLITOR, FIELD_SPLITOR], "|"),
            reason,
        }),
    )
}

fn decode_fields(trace_type: TraceType, f: &[&str]) -> Result<TraceRecord, &'static str> {
    let s = |i: usize| f.get(i).map_or_else(String::new, |v| (*v).to_owned());
    let int = |i: usize, what: &'static str| -> Result<i32, &'static str> {
        f.get(i).ok_or(what)?.trim().parse().map_err(|_| what)
    };
    let long = |i: usize, what: &'static str| -> Result<i64, &'static str> {
        f.get(i).ok_or(what)?.trim().parse().map_err(|_| what)
    };
    // Java's Boolean.parseBoolean: true only for "true", any case.
    let boolean = |i: usize| f.get(i).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut r = TraceRecord {
        trace_type,
        ..TraceRecord::default()
    };
    match trace_type {
        TraceType::Pub => {
            if f.len() < 12 {
                return Err("a Pub record has at least 12 fields");
            }
            r.timestamp = long(1, "timestamp is not a number")?;
            (r.region_id, r.group, r.topic, r.msg_id) = (s(2), s(3), s(4), s(5));
            (r.tags, r.keys, r.store_host) = (s(6), s(7), s(8));
            r.body_length = int(9, "body length is not a number")?;
            r.cost_time = int(10, "cost time is not a number")?;
            r.msg_type = int(11, "message type is not a number")?;
            match f.len() {
                13 => r.success = boolean(12),
                _ => {
                    r.offset_msg_id = s(12);
                    r.success = boolean(13);
                    r.client_host = s(14);
                }
            }
        }
        TraceType::SubBefore => {
            if f.len() < 7 {
                return Err("a SubBefore record has at least 7 fields");
            }
            r.timestamp = long(1, "timestamp is not a number")?;
            (r.region_id, r.group, r.request_id, r.msg_id) = (s(2), s(3), s(4), s(5));
            r.retry_times = int(6, "retry times is not a number")?;
            r.keys = s(7);
        }
        TraceType::SubAfter => {
            if f.len() < 5 {
                return Err("a SubAfter record has at least 5 fields");
            }
            (r.request_id, r.msg_id) = (s(1), s(2));
            r.cost_time = int(3, "cost time is not a number")?;
            r.success = boolean(4);
            r.keys = s(5);
            if f.len() >= 7 {
                r.context_code = int(6, "context code is not a number")?;
            }
            if f.len() >= 9 {
                r.timestamp = long(7, "timestamp is not a number")?;
                r.group = s(8);
            }
        }
        TraceType::EndTransaction => {
            if f.len() < 13 {
                return Err("an EndTransaction record has 13 fields");
            }
            r.timestamp = long(1, "timestamp is not a number")?;
            (r.region_id, r.group, r.topic, r.msg_id) = (s(2), s(3), s(4), s(5));
            (r.tags, r.keys, r.store_host) = (s(6), s(7), s(8));
            r.msg_type = int(9, "message type is not a number")?;
            (r.transaction_id, r.transaction_state) = (s(10), s(11));
            r.from_transaction_check = boolean(12);
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pub_record() -> TraceRecord {
        TraceRecord {
            trace_type: TraceType::Pub,
            timestamp: 1_700_000_000_123,
            region_id: "DefaultRegion".into(),
            group: "PG".into(),
            topic: "T".into(),
            msg_id: "7F0000010001".into(),
            tags: "TagA".into(),
            keys: "k1 k2".into(),
            store_host: "127.0.0.1:10911".into(),
            body_length: 5,
            cost_time: 3,
            msg_type: msg_type::NORMAL,
            offset_msg_id: "7F00000100002A9F0000000000000000".into(),
            success: true,
            ..TraceRecord::default()
        }
    }

    #[test]
    fn pub_record_has_javas_exact_bytes() {
        let text = encode_trace_data(&[pub_record()]);
        assert_eq!(
            text,
            "Pub\u{1}1700000000123\u{1}DefaultRegion\u{1}PG\u{1}T\u{1}7F0000010001\u{1}TagA\u{1}k1 k2\u{1}127.0.0.1:10911\u{1}5\u{1}3\u{1}0\u{1}7F00000100002A9F0000000000000000\u{1}true\u{2}"
        );
    }

    #[test]
    fn every_type_round_trips() {
        let records = vec![
            pub_record(),
            TraceRecord {
                trace_type: TraceType::SubBefore,
                timestamp: 5,
                region_id: "R".into(),
                group: "CG".into(),
                request_id: "req".into(),
                msg_id: "M".into(),
                retry_times: 2,
                keys: "k".into(),
                ..TraceRecord::default()
            },
            TraceRecord {
                trace_type: TraceType::SubAfter,
                request_id: "req".into(),
                msg_id: "M".into(),
                cost_time: 7,
                success: false,
                keys: "k".into(),
                context_code: context_code::FAILED,
                timestamp: 9,
                group: "CG".into(),
                ..TraceRecord::default()
            },
            TraceRecord {
                trace_type: TraceType::EndTransaction,
                timestamp: 11,
                region_id: "R".into(),
                group: "PG".into(),
                topic: "T".into(),
                msg_id: "M".into(),
                tags: "null".into(),
                keys: "null".into(),
                store_host: "127.0.0.1:1".into(),
                msg_type: msg_type::TRANS_HALF,
                transaction_id: "tx".into(),
                transaction_state: "COMMIT_MESSAGE".into(),
                from_transaction_check: true,
                ..TraceRecord::default()
            },
        ];
        let decoded: Vec<TraceRecord> = decode_trace_data(&encode_trace_data(&records))
            .into_iter()
            .map(|r| r.expect("decodes"))
            .collect();
        assert_eq!(decoded, records);
    }

    #[test]
    fn old_and_new_pub_lengths_are_read_as_java_reads_them() {
        let thirteen =
            "Pub\u{1}1\u{1}R\u{1}G\u{1}T\u{1}M\u{1}t\u{1}k\u{1}h\u{1}1\u{1}2\u{1}0\u{1}true\u{2}";
        let r = decode_trace_data(thirteen).remove(0).expect("decodes");
        assert!(r.success);
        assert_eq!(r.offset_msg_id, "");
        let fifteen = "Pub\u{1}1\u{1}R\u{1}G\u{1}T\u{1}M\u{1}t\u{1}k\u{1}h\u{1}1\u{1}2\u{1}0\u{1}OFF\u{1}false\u{1}10.0.0.1\u{2}";
        let r = decode_trace_data(fifteen).remove(0).expect("decodes");
        assert_eq!((r.offset_msg_id.as_str(), r.success), ("OFF", false));
        assert_eq!(r.client_host, "10.0.0.1");
    }

    #[test]
    fn a_malformed_record_does_not_hide_the_others() {
        let mut text = String::from("Pub\u{1}notanumber\u{1}x\u{2}Unknown\u{1}a\u{2}");
        pub_record().encode_into(&mut text);
        text.push_str("SubAfter\u{1}r\u{2}");
        let decoded = decode_trace_data(&text);
        assert_eq!(decoded.len(), 3, "{decoded:?}");
        assert!(decoded[0].is_err());
        assert_eq!(decoded[1].as_ref().ok(), Some(&pub_record()));
        assert!(decoded[2].is_err());
    }

    #[test]
    fn every_cut_of_a_body_decodes_without_panicking() {
        let text = encode_trace_data(&[pub_record(), pub_record()]);
        for cut in 0..=text.len() {
            if text.is_char_boundary(cut) {
                let _ = decode_trace_data(&text[..cut]);
            }
        }
    }

    #[test]
    fn index_keys_are_the_id_and_the_keys() {
        let r = pub_record();
        let keys: Vec<&str> = r.index_keys().collect();
        assert_eq!(keys, ["7F0000010001", "k1", "k2"]);
        let mut r = pub_record();
        r.keys = "null".into();
        assert_eq!(r.index_keys().count(), 1);
    }
}
