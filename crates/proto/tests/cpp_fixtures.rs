//! Frames captured from the official RocketMQ C++ client (PyPI `rocketmq==0.4.4`) with
//! `wire-record.py`: every one must decode, and the typed headers and bodies FerroMQ reads from
//! them must come out right.

use bytes::BytesMut;
use ferromq_proto::body::{ConsumeFromWhere, ConsumeType, HeartbeatData, JsonBody, MessageModel};
use ferromq_proto::codes::request;
use ferromq_proto::command::DEFAULT_MAX_FRAME;
use ferromq_proto::headers::{
    PullMessageRequestHeader, QueryConsumerOffsetRequestHeader, SendMessageRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};
use ferromq_proto::message::{decode_batch, decode_properties};
use ferromq_proto::{RemotingCommand, SerializeType};

fn frame(name: &str) -> RemotingCommand {
    let path = format!("{}/tests/fixtures/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    let hex = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let hex: String = hex.split_whitespace().collect();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let mut buf = BytesMut::from(&bytes[..]);
    let cmd = RemotingCommand::decode(&mut buf, DEFAULT_MAX_FRAME)
        .unwrap()
        .unwrap();
    assert!(buf.is_empty(), "{name}: trailing bytes");
    assert_eq!(cmd.serialize_type, SerializeType::Json, "{name}");
    assert_eq!(cmd.language.name(), "CPP", "{name}");
    assert_eq!(cmd.version, 63, "{name}");
    cmd
}

#[test]
fn every_captured_frame_decodes() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "hex") {
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let cmd = frame(&name);
            assert!(!cmd.is_response());
            // The C++ client sends credentials fields even without ACL.
            assert!(cmd.ext_fields.get("OnsChannel").is_some(), "{name}");
            n += 1;
        }
    }
    assert!(n >= 10, "expected the captured fixtures, found {n}");
}

#[test]
fn send_message_header_with_numbers_and_string_booleans() {
    let cmd = frame("cpp_send_message");
    assert_eq!(cmd.code, request::SEND_MESSAGE);
    let h = SendMessageRequestHeader::read_for_code(cmd.code, &cmd.ext_fields).unwrap();
    assert_eq!(h.default_topic, "TBW102");
    assert_eq!(h.default_topic_queue_nums, 4);
    assert!(h.born_timestamp > 1_600_000_000_000);
    let props = decode_properties(h.properties.as_deref().unwrap());
    assert!(props.get("UNIQ_KEY").is_some_and(|u| u.len() == 32));
    assert_eq!(cmd.ext_fields.get("batch"), Some("0"));
}

#[test]
fn send_batch_is_code_10_with_batch_one_and_java_batch_body() {
    let cmd = frame("cpp_send_batch");
    assert_eq!(cmd.code, request::SEND_MESSAGE);
    assert_eq!(cmd.ext_fields.get("batch"), Some("1"));
    let items = decode_batch(&cmd.body).unwrap();
    assert!(items.len() >= 2, "{}", items.len());
}

#[test]
fn heartbeat_bodies_with_enum_ordinals_parse() {
    let cmd = frame("cpp_heartbeat_consumer");
    assert_eq!(cmd.code, request::HEART_BEAT);
    let hb = HeartbeatData::from_json(&cmd.body).unwrap();
    let c = &hb.consumer_data_set[0];
    assert_eq!(c.consume_type, ConsumeType::Passively);
    assert_eq!(c.message_model, MessageModel::Clustering);
    assert_eq!(c.consume_from_where, ConsumeFromWhere::LastOffset);
    assert!(c
        .subscription_data_set
        .iter()
        .any(|s| s.topic.starts_with("%RETRY%")));

    let b = HeartbeatData::from_json(&frame("cpp_heartbeat_broadcasting").body).unwrap();
    assert_eq!(
        b.consumer_data_set[0].message_model,
        MessageModel::Broadcasting
    );

    let p = HeartbeatData::from_json(&frame("cpp_heartbeat_producer").body).unwrap();
    assert!(p.consumer_data_set.is_empty());
    assert!(!p.producer_data_set.is_empty());
}

#[test]
fn pull_and_offset_headers_parse() {
    for name in [
        "cpp_pull_message_push",
        "cpp_pull_message_push_commit",
        "cpp_pull_message_pullconsumer",
    ] {
        let cmd = frame(name);
        let h: PullMessageRequestHeader = cmd.decode_header().unwrap();
        assert_eq!(h.max_msg_nums, 32, "{name}");
        assert!(h.subscription.is_some(), "{name}");
    }
    let q: QueryConsumerOffsetRequestHeader =
        frame("cpp_query_consumer_offset").decode_header().unwrap();
    assert_eq!(q.set_zero_if_not_found, None);
    let u: UpdateConsumerOffsetRequestHeader =
        frame("cpp_update_consumer_offset").decode_header().unwrap();
    assert!(u.commit_offset >= 0);
}

/// The C++ client signs with the secret key over the sorted ext values and the body
/// (`cpp_acl_*.txt`); these frames were captured with credentials ("RocketMQ", "12345678").
#[test]
fn acl_signatures_of_the_cpp_client_match_ours() {
    use ferromq_proto::acl;
    for (name, code, expected) in [
        (
            "cpp_acl_send_message",
            request::SEND_MESSAGE,
            "02Qqw2worFfgPoRtU8B5KT7iqbk=",
        ),
        (
            "cpp_acl_heartbeat",
            request::HEART_BEAT,
            "ZHfZ4FDUT1RXP3jrk/ZLqPDmsUg=",
        ),
    ] {
        let cmd = frame(name);
        assert_eq!(cmd.code, code, "{name}");
        assert_eq!(cmd.ext_fields.get(acl::ACCESS_KEY), Some("RocketMQ"));
        assert_eq!(cmd.ext_fields.get(acl::SIGNATURE), Some(expected), "{name}");
        assert_eq!(acl::signature(&cmd, "12345678", &[]), expected, "{name}");
        assert!(acl::verify(&cmd, "12345678", &[], expected), "{name}");
        assert!(!acl::verify(&cmd, "1234567", &[], expected), "{name}");
        // Re-signing what we decoded gives the same bytes back.
        let mut again = cmd.clone();
        acl::sign(&mut again, "RocketMQ", "12345678");
        assert_eq!(again.ext_fields.get(acl::SIGNATURE), Some(expected));
    }
    // The exact content of the send: values sorted by key (numbers as the C++ client's
    // decimal text), then the body.
    let send = frame("cpp_acl_send_message");
    let content = acl::signed_content(&send, &[]);
    let text = String::from_utf8(content).unwrap();
    assert!(text.starts_with("RocketMQALIYUN0"), "{text}");
    assert!(text.ends_with("0TopicCap0hello acl"), "{text}");
}
