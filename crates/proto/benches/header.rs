//! The JSON header work of every send: decoding a producer's SEND_MESSAGE_V2 request into its
//! typed header, and encoding the broker's answer.
//!
//! ```text
//! cargo bench -p ferromq-proto --bench header
//! ```
//!
//! * `send_request_decode`: `RemotingCommand::decode_frame` of the header a Java or Rust producer
//!   sends for a 1 KiB message (14 fields, properties with UNIQ_KEY and WAIT), then
//!   `SendMessageRequestHeaderV2::read`, as the broker does before it stores the message.
//! * `send_response_encode`: `RemotingCommand::encode_header` of the SEND_OK answer (msgId,
//!   queueId, queueOffset, transactionId, MSG_REGION, TRACE_ON).
//!
//! For a count that does not move with the machine's noise, run the bench binary under
//! `valgrind --tool=callgrind` with `--bench --profile-time 5 send_request_decode`.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion};
use ferromq_proto::command::RemotingCommand;
use ferromq_proto::header::CommandHeader;
use ferromq_proto::headers::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use ferromq_proto::message::properties::encode_properties;

fn send_request() -> RemotingCommand {
    let properties = encode_properties(&[
        ("UNIQ_KEY", "7F00000100002A9F0000001A2B3C4D5E0001"),
        ("WAIT", "true"),
    ]);
    let header = SendMessageRequestHeaderV2 {
        a: "BenchProducerGroup".into(),
        b: "BenchTopic".into(),
        c: "TBW102".into(),
        d: 4,
        e: 3,
        f: 0,
        g: 1_765_000_000_123,
        h: 0,
        i: Some(properties),
        j: Some(0),
        k: Some(false),
        l: None,
        m: Some(false),
        n: Some("broker-a".into()),
    };
    RemotingCommand::request(310, &header).with_body(vec![7u8; 1024])
}

fn benches(c: &mut Criterion) {
    // The frame without its length word, as the connection hands it to the decoder.
    let frame = send_request().to_bytes().slice(4..);
    c.bench_function("send_request_decode", |b| {
        b.iter(|| {
            let cmd = RemotingCommand::decode_frame(frame.clone()).expect("decodes");
            SendMessageRequestHeaderV2::read(&cmd.ext_fields).expect("reads")
        })
    });

    let response = send_request()
        .response_to(0, None)
        .with_header(&SendMessageResponseHeader {
            msg_id: "7F00000100002A9F0000000000012C40".into(),
            queue_id: 3,
            queue_offset: 123_456,
            transaction_id: Some("7F00000100002A9F0000001A2B3C4D5E0001".into()),
            batch_uniq_id: None,
            recall_handle: None,
        });
    let mut response = response;
    response
        .ext_fields
        .insert_str("MSG_REGION", "DefaultRegion");
    response.ext_fields.insert_str("TRACE_ON", "true");
    let mut out = BytesMut::with_capacity(1024);
    c.bench_function("send_response_encode", |b| {
        b.iter(|| {
            out.clear();
            response.encode_header(&mut out);
            out.len()
        })
    });
}

criterion_group!(header, benches);
criterion_main!(header);
