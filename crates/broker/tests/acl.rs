//! RocketMQ 4.x plain ACL on an in-process broker (`aclEnable=true`, `plain_acl.yml`): requests
//! signed as Java's `AclClientRPCHook` signs them are served; unsigned, wrongly signed,
//! unknown-key and under-privileged ones get NO_PERMISSION with a remark that says why, and
//! are counted in runtime info; whitelists skip the checks as in Java; editing the file takes
//! effect without a restart, and a bad edit keeps the rules in force.

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ferromq_proto::acl::sign;
use ferromq_proto::codes::{request, response};
use ferromq_proto::header::NoHeader;
use ferromq_proto::RemotingCommand;
use support::{create_topic_request as create_topic, pull_request as pull};
use support::{start, TestBroker};

const ACL: &str = "
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
    groupPerms:
      - groupDenied=DENY
  - accessKey: adminKey1
    secretKey: adminSecret
    admin: true
  - accessKey: officeOnly
    secretKey: 12345678
    whiteRemoteAddress: 10.1.2.*
    defaultTopicPerm: PUB|SUB
";

/// Replaces the file the way editors and config tools do: a new file renamed over the old.
fn replace_file(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("yml.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A broker with ACL on, reading `text` from a file in its own temp dir.
async fn acl_broker(text: &str) -> (TestBroker, PathBuf, tempfile::TempDir) {
    let conf = tempfile::tempdir().unwrap();
    let path = conf.path().join("plain_acl.yml");
    std::fs::write(&path, text).unwrap();
    let p = path.clone();
    let t = start(move |c| {
        c.acl_enable = true;
        c.plain_acl_file = Some(p);
    })
    .await;
    (t, path, conf)
}

fn send(topic: &str, body: &str) -> RemotingCommand {
    support::send_request("PG_acl", topic, body)
}

fn signed(mut cmd: RemotingCommand, ak: &str, sk: &str) -> RemotingCommand {
    sign(&mut cmd, ak, sk);
    cmd
}

fn refused(resp: &RemotingCommand, why: &str) {
    assert_eq!(resp.code, response::NO_PERMISSION, "{:?}", resp.remark);
    let remark = resp.remark.as_deref().unwrap_or("");
    assert!(remark.contains(why), "remark {remark:?} lacks {why:?}");
    assert!(remark.contains("from 127.0.0.1"), "{remark}");
}

async fn runtime_info(t: &TestBroker) -> HashMap<String, String> {
    let cmd = signed(
        RemotingCommand::request(request::GET_BROKER_RUNTIME_INFO, &NoHeader),
        "adminKey1",
        "adminSecret",
    );
    let resp = t.call(cmd).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    v["table"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

#[tokio::test]
async fn refusals_say_why_and_are_counted() {
    let (t, _path, _conf) = acl_broker(ACL).await;
    // Create topicA and topicB as the admin so that only the ACL stands in the way.
    for topic in ["topicA", "topicB"] {
        let r = t
            .call(signed(create_topic(topic), "adminKey1", "adminSecret"))
            .await;
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    }

    refused(&t.call(send("topicB", "x")).await, "No accessKey");
    refused(
        &t.call(signed(send("topicB", "x"), "RocketMQ", "wrong-secret"))
            .await,
        "Check signature failed for accessKey=RocketMQ",
    );
    refused(
        &t.call(signed(send("topicB", "x"), "nobody123", "12345678"))
            .await,
        "No acl config for nobody123",
    );
    // A signature over other bytes: the body changed after signing.
    let mut tampered = signed(send("topicB", "x"), "RocketMQ", "12345678");
    tampered.body = bytes::Bytes::from_static(b"y");
    refused(&t.call(tampered).await, "Check signature failed");
    // Not on the account's whitelist (10.1.2.*), so the missing signature counts.
    let mut unsigned = send("topicB", "x");
    unsigned.ext_fields.insert_str("AccessKey", "officeOnly");
    refused(&t.call(unsigned).await, "Check signature failed");
    // DENY on topicA, nothing on topicC (default DENY), DENY on the group.
    refused(
        &t.call(signed(send("topicA", "x"), "RocketMQ", "12345678"))
            .await,
        "topic:topicA",
    );
    refused(
        &t.call(signed(send("topicC", "x"), "RocketMQ", "12345678"))
            .await,
        "topic:topicC",
    );
    refused(
        &t.call(signed(
            pull("topicB", "groupDenied"),
            "RocketMQ",
            "12345678",
        ))
        .await,
        "group:groupDenied",
    );
    // Admin requests need an admin.
    refused(
        &t.call(signed(create_topic("topicX"), "RocketMQ", "12345678"))
            .await,
        "Need admin permission for request code=17",
    );
    assert!(t.broker.topics.get("topicX").is_none());
    // Nothing refused was stored.
    assert!(t.read("topicA", 0, 0).is_empty() && t.read("topicB", 0, 0).is_empty());

    let info = runtime_info(&t).await;
    assert_eq!(info["aclRefusedNoAccessKey"], "1");
    assert_eq!(info["aclRefusedUnknownAccessKey"], "1");
    assert_eq!(info["aclRefusedBadSignature"], "3");
    assert_eq!(info["aclRefusedNoPermission"], "3");
    assert_eq!(info["aclRefusedNotAdmin"], "1");
    assert_eq!(info["aclRefusedTotal"], "9");
    t.stop().await;
}

#[tokio::test]
async fn permitted_sends_and_pulls_are_served() {
    let (t, _path, _conf) = acl_broker(ACL).await;
    let r = t
        .call(signed(create_topic("topicB"), "adminKey1", "adminSecret"))
        .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let r = t
        .call(signed(send("topicB", "hello"), "RocketMQ", "12345678"))
        .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(t.read("topicB", 0, 0).len(), 1);
    let r = t
        .call(signed(pull("topicB", "groupOk"), "RocketMQ", "12345678"))
        .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let records = ferromq_proto::message::record::decode_records(r.body.clone()).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(&records[0].body[..], b"hello");
    // An admin without topicPerms may use every topic.
    let r = t
        .call(signed(
            send("topicB", "by admin"),
            "adminKey1",
            "adminSecret",
        ))
        .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    t.stop().await;
}

#[tokio::test]
async fn global_whitelist_serves_unsigned_requests() {
    let text = format!("globalWhiteRemoteAddresses:\n  - 127.0.0.*\n{ACL}");
    let (t, _path, _conf) = acl_broker(&text).await;
    let r = t.call(create_topic("topicW")).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let r = t.call(send("topicW", "unsigned")).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    t.stop().await;
}

#[tokio::test]
async fn an_edited_file_takes_effect_and_a_bad_edit_is_ignored() {
    let (t, path, _conf) = acl_broker(ACL).await;
    let r = t
        .call(signed(create_topic("topicB"), "adminKey1", "adminSecret"))
        .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let send_b = || signed(send("topicB", "x"), "RocketMQ", "12345678");
    assert_eq!(t.call(send_b()).await.code, response::SUCCESS);

    // A file that does not parse: the old rules stay.
    replace_file(&path, &format!("{ACL}\n  - accessKey: [broken\n"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = runtime_info(&t).await;
        if info["aclFailedReloads"] == "1" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the bad edit was never looked at"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(t.call(send_b()).await.code, response::SUCCESS);

    // topicB denied now.
    replace_file(&path, &ACL.replace("topicB=PUB|SUB", "topicB=DENY"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = t.call(send_b()).await;
        if r.code == response::NO_PERMISSION {
            refused(&r, "topic:topicB");
            break;
        }
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
        assert!(
            Instant::now() < deadline,
            "the edited file never took effect"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(runtime_info(&t).await["aclReloads"], "1");
    t.stop().await;
}

#[tokio::test]
async fn a_bad_file_stops_start_up_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain_acl.yml");
    std::fs::write(
        &path,
        "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    topicPerms:\n      - topicA=READ\n",
    )
    .unwrap();
    let store = tempfile::tempdir().unwrap();
    let config = ferromq_broker::BrokerConfig {
        store_path_root_dir: store.path().to_path_buf(),
        mapped_file_size_commit_log: 1024 * 1024,
        acl_enable: true,
        plain_acl_file: Some(path),
        ..Default::default()
    };
    let e = ferromq_broker::Broker::open(config)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("line 5") && e.contains("accounts[0].topicPerms[0]"),
        "{e}"
    );
    let config = ferromq_broker::BrokerConfig {
        store_path_root_dir: store.path().to_path_buf(),
        mapped_file_size_commit_log: 1024 * 1024,
        acl_enable: true,
        plain_acl_file: Some(dir.path().join("missing.yml")),
        ..Default::default()
    };
    let e = ferromq_broker::Broker::open(config)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("missing.yml"), "{e}");
}

/// One whole frame recorded from the official C++ client (see the fixture's `.txt`).
fn captured_cpp_frame(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../proto/tests/fixtures/{name}.hex",
        env!("CARGO_MANIFEST_DIR")
    );
    let hex: String = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .split_whitespace()
        .collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// Writes `frame` as it is on a fresh connection and reads the one answer.
async fn raw_call(addr: &str, frame: &[u8]) -> RemotingCommand {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(frame).await.unwrap();
    let mut len = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut len))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    let mut buf = bytes::BytesMut::from(&len[..]);
    buf.resize(4 + u32::from_be_bytes(len) as usize, 0);
    s.read_exact(&mut buf[4..]).await.unwrap();
    RemotingCommand::decode(&mut buf, 16 << 20)
        .unwrap()
        .expect("a whole frame")
}

#[tokio::test]
async fn a_captured_cpp_client_frame_is_served_and_refused_with_any_byte_changed() {
    let (t, _path, _conf) = acl_broker(
        "
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    defaultTopicPerm: PUB|SUB
    defaultGroupPerm: SUB
  - accessKey: adminKey1
    secretKey: adminSecret
    admin: true
",
    )
    .await;
    let r = t
        .call(signed(create_topic("TopicCap"), "adminKey1", "adminSecret"))
        .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let frame = captured_cpp_frame("cpp_acl_send_message");
    let queue_id: i32 = {
        let mut buf = bytes::BytesMut::from(&frame[..]);
        let cmd = RemotingCommand::decode(&mut buf, 16 << 20)
            .unwrap()
            .unwrap();
        cmd.ext_fields.get("queueId").unwrap().parse().unwrap()
    };

    // As the client sent it: served and stored.
    let ok = raw_call(&t.addr, &frame).await;
    assert_eq!(ok.code, response::SUCCESS, "{:?}", ok.remark);
    assert_eq!(t.read("TopicCap", queue_id, 0).len(), 1);

    // One byte changed: in the body (the frame's last byte), in signed header values (the
    // topic, the tags in the properties), in the signature itself. Each is refused and nothing more is stored.
    let at = |needle: &[u8]| {
        frame
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap_or_else(|| panic!("{:?} not in the frame", String::from_utf8_lossy(needle)))
    };
    let positions = [
        frame.len() - 1,
        at(b"TopicCap") + 7,
        at(b"tagA") + 3,
        at(b"02Qqw2worFfgPoRtU8B5KT7iqbk=") + 5,
    ];
    for pos in positions {
        let mut tampered = frame.clone();
        tampered[pos] ^= 0x01;
        let resp = raw_call(&t.addr, &tampered).await;
        refused(&resp, "Check signature failed for accessKey=RocketMQ");
    }
    assert_eq!(
        t.read("TopicCap", queue_id, 0).len(),
        1,
        "a tampered frame was stored"
    );
    let info = runtime_info(&t).await;
    assert_eq!(info["aclRefusedBadSignature"], "4");
    t.stop().await;
}
