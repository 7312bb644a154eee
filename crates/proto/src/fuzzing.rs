//! Fuzz entry points: one function per `cargo fuzz` target in `crates/proto/fuzz`, shared with the
//! corpus replay test (`tests/fuzz_corpus.rs`) so stable CI runs the very same checks.
//!
//! Each function feeds untrusted bytes to the real decoder and panics only when an invariant
//! breaks: a decoder must return a value or an error (never panic), and what it decodes must
//! survive encode → decode unchanged. Not part of the public API.

use bytes::{Bytes, BytesMut};

use crate::command::{RemotingCommand, SerializeType, DEFAULT_MAX_FRAME};
use crate::header::{CommandHeader, ExtFields};
use crate::headers::*;
use crate::message::record::{canonical, encode_record_to, RecordInput, RecordView};
use crate::message::{
    decode_batch, decode_offset_msg_id, decode_properties, decode_records, encode_batch,
    encode_offset_msg_id, iter_properties, property_value, property_values, RecallHandle,
};

/// What two decodes of the same command must agree on. The language travels as its name in
/// JSON, so codes this build does not know come back as `OTHER`.
fn assert_same_command(a: &RemotingCommand, b: &RemotingCommand) {
    assert_eq!(a.code, b.code, "code");
    match a.serialize_type {
        SerializeType::Json => assert_eq!(a.language.name(), b.language.name(), "language"),
        SerializeType::RocketMq => assert_eq!(a.language, b.language, "language"),
    }
    assert_eq!(a.version, b.version, "version");
    assert_eq!(a.opaque, b.opaque, "opaque");
    assert_eq!(a.flag, b.flag, "flag");
    assert_eq!(a.remark, b.remark, "remark");
    let fa: Vec<_> = a.ext_fields.iter().collect();
    let fb: Vec<_> = b.ext_fields.iter().collect();
    assert_eq!(fa, fb, "ext fields");
    assert_eq!(a.body, b.body, "body");
    assert_eq!(a.serialize_type, b.serialize_type, "serialize type");
}

/// Encodes `cmd`, decodes it again as a stream would, and checks both agree; the re-encoded
/// frame must also be stable (encoding the second decode gives the same bytes).
fn assert_round_trip(cmd: &RemotingCommand) {
    let wire = cmd.to_bytes();
    let mut buf = BytesMut::from(&wire[..]);
    let back = RemotingCommand::decode(&mut buf, usize::MAX)
        .unwrap_or_else(|e| panic!("re-encoded frame does not decode: {e}"))
        .expect("re-encoded frame is complete");
    assert!(buf.is_empty(), "re-encoded frame has trailing bytes");
    assert_same_command(cmd, &back);
    assert_eq!(back.to_bytes(), wire, "encoding is not stable");
}

/// Target `frame`: a byte stream as a connection delivers it, decoded frame by frame with the
/// default frame limit. An incomplete frame consumes nothing; every decoded frame round-trips.
pub fn frame(data: &[u8]) {
    let mut src = BytesMut::from(data);
    loop {
        let before = src.len();
        match RemotingCommand::decode(&mut src, DEFAULT_MAX_FRAME) {
            Ok(Some(cmd)) => {
                assert!(src.len() < before, "a decoded frame consumed nothing");
                assert_round_trip(&cmd);
            }
            Ok(None) => {
                assert_eq!(src.len(), before, "an incomplete frame consumed bytes");
                return;
            }
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        }
    }
}

fn header_only(kind: u8, header: &[u8], body: &[u8]) {
    if header.len() > 0x00FF_FFFF {
        return;
    }
    let mut frame = Vec::with_capacity(4 + header.len() + body.len());
    frame.extend_from_slice(&((u32::from(kind) << 24) | header.len() as u32).to_be_bytes());
    frame.extend_from_slice(header);
    frame.extend_from_slice(body);
    match RemotingCommand::decode_frame(Bytes::from(frame)) {
        Ok(cmd) => {
            assert_eq!(&cmd.body[..], body, "body");
            assert_round_trip(&cmd);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// Target `header_json`: the bytes are a JSON header (serialize type 0) with a short body.
/// Whatever the fast scanner for common headers accepts, the general (serde) decoder must
/// decode to the same command.
pub fn header_json(data: &[u8]) {
    header_only(0, data, b"body");
    if let Some(fast) = crate::json_scan::decode(data) {
        let general = crate::command::decode_json_header_serde(data)
            .unwrap_or_else(|e| panic!("the scanner accepted a header serde refuses: {e}"));
        assert_same_command(&fast, &general);
        assert_eq!(fast.language, general.language, "language code");
    }
}

/// Target `header_rocketmq`: the bytes are a ROCKETMQ binary header (serialize type 1).
pub fn header_rocketmq(data: &[u8]) {
    header_only(1, data, b"body");
}

/// Reads ext fields from `key U+0001 value U+0002 ...` (the properties layout, so the fuzzer and
/// the dictionary work with plain text); later duplicates replace earlier ones.
fn ext_fields_of(data: &[u8]) -> ExtFields {
    let text = String::from_utf8_lossy(data);
    let mut ext = ExtFields::default();
    for pair in text.split('\u{2}') {
        let (k, v) = pair.split_once('\u{1}').unwrap_or((pair, ""));
        ext.insert(k, v);
    }
    ext
}

fn header_round_trip<H: CommandHeader + PartialEq + std::fmt::Debug>(ext: &ExtFields) {
    match H::read(ext) {
        Ok(h) => {
            let mut written = ExtFields::default();
            h.write(&mut written);
            let again = H::read(&written).unwrap_or_else(|e| {
                panic!("{}: written header does not read: {e}", type_name::<H>())
            });
            assert_eq!(again, h, "{}", type_name::<H>());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fn type_name<T>() -> &'static str {
    std::any::type_name::<T>()
}

macro_rules! every_header {
    ($ext:expr; $($h:ty),* $(,)?) => {$(header_round_trip::<$h>($ext);)*};
}

/// Target `request_headers`: ext fields (`key U+0001 value U+0002 ...`) read by every typed
/// header of this crate; each header that reads writes back fields that read to the same value.
pub fn request_headers(data: &[u8]) {
    let ext = ext_fields_of(data);
    every_header!(&ext;
        SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
        RecallMessageRequestHeader, RecallMessageResponseHeader, ReplyMessageRequestHeader,
        PullMessageRequestHeader, PullMessageResponseHeader, QueryConsumerOffsetRequestHeader,
        UpdateConsumerOffsetRequestHeader, OffsetResponseHeader, GetMaxOffsetRequestHeader,
        TopicQueueRequestHeader, SearchOffsetRequestHeader, GetEarliestMsgStoretimeResponseHeader,
        QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
        ConsumerGroupHeader, UnregisterClientRequestHeader, ConsumerSendMsgBackRequestHeader,
        EndTransactionRequestHeader, CheckTransactionStateRequestHeader, CreateTopicRequestHeader,
        TopicHeader, GetRouteInfoRequestHeader, DeleteTopicFromNamesrvRequestHeader,
        GetConsumeStatsRequestHeader, ProducerGroupHeader, GetTopicsByClusterRequestHeader,
        ResetOffsetRequestHeader, CloneGroupOffsetRequestHeader, GetConsumeStatsInBrokerHeader,
        RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, BrokerIdentityHeader,
        BrokerHeartbeatRequestHeader, QueryDataVersionResponseHeader, PutKvConfigRequestHeader,
        KvConfigKeyHeader, GetKvConfigResponseHeader, NamespaceHeader, BrokerNameHeader,
    );
    // The send family picks its key set by request code.
    for code in [10, 310, 320, 324, 325] {
        if let Ok(h) = SendMessageRequestHeader::read_for_code(code, &ext) {
            let v2: SendMessageRequestHeaderV2 = h.clone().into();
            assert_eq!(
                SendMessageRequestHeader::from(v2),
                h,
                "send header V1 -> V2 -> V1"
            );
        }
    }
}

/// Target `message`: stored records back to back (the commit log and PULL body format), plus
/// the same bytes as text for the message-id and recall-handle decoders. Every record that
/// parses is re-encoded; the re-encoding parses to the same fields and is stable.
pub fn message(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    let all = decode_records(bytes.clone());
    let mut pos = 0;
    let mut parsed = 0;
    while pos < data.len() {
        let Ok(view) = RecordView::parse(&data[pos..]) else {
            break;
        };
        assert_eq!(view.len(), usize::try_from(view.total_size).unwrap_or(0));
        record_round_trip(&view);
        pos += view.len();
        parsed += 1;
    }
    match all {
        Ok(msgs) => {
            assert_eq!(
                pos,
                data.len(),
                "decode_records accepted what RecordView did not"
            );
            assert_eq!(msgs.len(), parsed);
        }
        Err(e) => {
            assert!(
                pos < data.len(),
                "decode_records refused what RecordView parsed"
            );
            let _ = e.to_string();
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok((addr, offset)) = decode_offset_msg_id(text) {
            // An IPv4-mapped IPv6 host is written in the short IPv4 form.
            let id = encode_offset_msg_id(addr, offset);
            let (again, again_offset) = decode_offset_msg_id(&id).expect("re-encoded offsetMsgId");
            assert_eq!(
                (again, again_offset),
                (canonical(addr), offset),
                "offsetMsgId"
            );
        }
        if let Ok(handle) = RecallHandle::decode(text) {
            match RecallHandle::decode(&handle.encode()) {
                Ok(again) => assert_eq!(again, handle, "recall handle"),
                // Java's split drops trailing empty fields, so an empty last field (message id)
                // cannot survive re-encoding; anything else must.
                Err(e) => assert!(handle.message_id.is_empty(), "recall handle: {e}"),
            }
        }
    }
}

fn record_round_trip(view: &RecordView<'_>) {
    let input = RecordInput {
        topic: view.topic,
        queue_id: view.queue_id,
        flag: view.flag,
        queue_offset: view.queue_offset,
        physical_offset: view.physical_offset,
        sys_flag: view.sys_flag,
        born_timestamp: view.born_timestamp,
        born_host: view.born_host,
        store_timestamp: view.store_timestamp,
        store_host: view.store_host,
        reconsume_times: view.reconsume_times,
        prepared_transaction_offset: view.prepared_transaction_offset,
        body: view.body,
        properties: view.properties,
        body_crc: Some(view.body_crc),
    };
    let mut out = BytesMut::new();
    if encode_record_to(&mut out, &input).is_err() {
        return;
    }
    let again = RecordView::parse(&out).expect("re-encoded record parses");
    assert_eq!(again.len(), out.len());
    assert_eq!(again.topic, view.topic);
    assert_eq!(again.body, view.body);
    assert_eq!(again.properties, view.properties);
    assert_eq!(again.body_crc, view.body_crc);
    assert_eq!(
        (
            again.queue_id,
            again.flag,
            again.queue_offset,
            again.physical_offset
        ),
        (
            view.queue_id,
            view.flag,
            view.queue_offset,
            view.physical_offset
        )
    );
    assert_eq!(
        (
            again.born_timestamp,
            again.store_timestamp,
            again.reconsume_times
        ),
        (
            view.born_timestamp,
            view.store_timestamp,
            view.reconsume_times
        )
    );
    assert_eq!(
        again.prepared_transaction_offset,
        view.prepared_transaction_offset
    );
    assert_eq!(again.born_host.port(), view.born_host.port());
    assert_eq!(again.store_host.port(), view.store_host.port());
}

/// Target `batch`: a SEND_BATCH_MESSAGE body; what decodes re-encodes to items that decode the
/// same.
pub fn batch(data: &[u8]) {
    let body = Bytes::copy_from_slice(data);
    match decode_batch(&body) {
        Ok(items) => {
            let encoded = encode_batch(&items).expect("decoded items re-encode");
            let again = decode_batch(&encoded).expect("re-encoded batch decodes");
            assert_eq!(again, items);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// Target `properties`: a properties string (invalid UTF-8 replaced, as a lossy reader would).
/// The map, the iterator and the single-key lookup agree, and the map round-trips.
pub fn properties(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let props = decode_properties(&text);
    // Single-key lookups scan the text, so checking every key of a long input is quadratic
    // (about 100 inputs a second under the fuzzer); the first and last 16 pairs of each view
    // keep the cases that matter (the first pairs, the index past 16, duplicates at the end).
    let pairs: Vec<_> = iter_properties(&text).collect();
    for (i, (k, v)) in pairs.iter().enumerate() {
        assert!(!k.is_empty() && !v.is_empty());
        if i < 16 || i + 16 >= pairs.len() {
            assert_eq!(props.get(k), property_value(&text, k), "lookup of {k:?}");
        }
    }
    let n = props.iter().count();
    for (i, (k, v)) in props.iter().enumerate() {
        if i < 16 || i + 16 >= n {
            assert_eq!(property_value(&text, k), Some(v));
        }
    }
    // The one-pass lookup agrees with single lookups, for the first and last keys seen.
    let first = pairs.first().map_or("", |p| p.0);
    let last = pairs.last().map_or("", |p| p.0);
    let keys = [first, last, "KEYS"];
    assert_eq!(
        property_values(&text, keys),
        keys.map(|k| property_value(&text, k))
    );
    let encoded = props.encode();
    assert_eq!(encoded.len(), props.encoded_len());
    assert_eq!(decode_properties(&encoded), props, "properties round trip");
}
