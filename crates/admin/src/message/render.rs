//! How the Java tools print a message: the detail block of `queryMsgById` / `queryMsgByOffset`
//! (`QueryMsgByIdSubCommand.printMsg`) and of `queryMsgByUniqueKey` (`showMessage`), and the
//! `MessageExt.toString()` line of `printMsg`.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use ferromq_common::java_string_hash;
use ferromq_proto::message::{MessageExt, Properties};

use super::java_hash_order;
use super::track::MessageTrack;
use crate::format::human_millis;

/// Where the Java tools write message bodies.
pub const BODY_DIR: &str = "/tmp/rocketmq/msgbodys";

/// `/tmp/rocketmq/msgbodys/<msgId>` (`_<index>` appended for the `index`-th of several).
pub fn body_file_path(msg: &MessageExt, index: usize) -> PathBuf {
    let mut name = msg.msg_id();
    if index > 0 {
        name.push_str(&format!("_{index}"));
    }
    PathBuf::from(BODY_DIR).join(name)
}

/// Writes the body where the Java tools do and returns the path.
pub fn write_body_file(msg: &MessageExt, index: usize) -> io::Result<PathBuf> {
    let path = body_file_path(msg, index);
    std::fs::create_dir_all(BODY_DIR)?;
    std::fs::write(&path, &msg.body)?;
    Ok(path)
}

/// Java `HashMap.toString()` of message properties decoded into `new HashMap<>(128)`:
/// `{k=v, k=v}` in Java's iteration order.
pub fn java_properties_string(props: &Properties) -> String {
    let entries: Vec<(&str, &str)> = props.iter().collect();
    let hashes: Vec<i32> = entries.iter().map(|(k, _)| java_string_hash(k)).collect();
    let body: Vec<String> = java_hash_order(&hashes, 128)
        .into_iter()
        .map(|i| format!("{}={}", entries[i].0, entries[i].1))
        .collect();
    format!("{{{}}}", body.join(", "))
}

/// `RemotingHelper.parseSocketAddressAddr`: `ip:port`.
fn host(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => a.to_string(),
        SocketAddr::V6(a) => format!("{}:{}", a.ip(), a.port()),
    }
}

/// `InetSocketAddress.toString()`: `/ip:port`.
fn java_socket(addr: &SocketAddr) -> String {
    format!("/{}", host(addr))
}

/// `Arrays.toString(byte[])`: signed bytes.
fn java_bytes(b: &[u8]) -> String {
    let items: Vec<String> = b.iter().map(|&x| (x as i8).to_string()).collect();
    format!("[{}]", items.join(", "))
}

/// `MessageExt.toString()` of a message as a Java client holds it (`brokerName` set by pulls,
/// `msgId` = offsetMsgId).
pub fn java_message_ext_string(msg: &MessageExt, broker_name: Option<&str>) -> String {
    format!(
        "MessageExt [brokerName={}, queueId={}, storeSize={}, queueOffset={}, sysFlag={}, bornTimestamp={}, bornHost={}, storeTimestamp={}, storeHost={}, msgId={}, commitLogOffset={}, bodyCRC={}, reconsumeTimes={}, preparedTransactionOffset={}, toString()=Message{{topic='{}', flag={}, properties={}, body={}, transactionId='null'}}]",
        broker_name.unwrap_or("null"),
        msg.queue_id,
        msg.store_size,
        msg.queue_offset,
        msg.sys_flag,
        msg.born_timestamp,
        java_socket(&msg.born_host),
        msg.store_timestamp,
        java_socket(&msg.store_host),
        msg.offset_msg_id(),
        msg.commit_log_offset,
        msg.body_crc,
        msg.reconsume_times,
        msg.prepared_transaction_offset,
        msg.topic,
        msg.flag,
        java_properties_string(&msg.properties),
        java_bytes(&msg.body),
    )
}

/// `[value]`, `[null]` when absent.
fn bracketed(v: Option<&str>) -> String {
    format!("[{}]", v.unwrap_or("null"))
}

fn common_lines(f: &mut fmt::Formatter<'_>, msg: &MessageExt, body_path: &str) -> fmt::Result {
    writeln!(f, "{:<20} {}", "Topic:", msg.topic)?;
    writeln!(f, "{:<20} {}", "Tags:", bracketed(msg.tags()))?;
    writeln!(f, "{:<20} {}", "Keys:", bracketed(msg.keys()))?;
    writeln!(f, "{:<20} {}", "Queue ID:", msg.queue_id)?;
    writeln!(f, "{:<20} {}", "Queue Offset:", msg.queue_offset)?;
    writeln!(f, "{:<20} {}", "CommitLog Offset:", msg.commit_log_offset)?;
    writeln!(f, "{:<20} {}", "Reconsume Times:", msg.reconsume_times)?;
    writeln!(
        f,
        "{:<20} {}",
        "Born Timestamp:",
        human_millis(msg.born_timestamp)
    )?;
    writeln!(
        f,
        "{:<20} {}",
        "Store Timestamp:",
        human_millis(msg.store_timestamp)
    )?;
    writeln!(f, "{:<20} {}", "Born Host:", host(&msg.born_host))?;
    writeln!(f, "{:<20} {}", "Store Host:", host(&msg.store_host))?;
    writeln!(f, "{:<20} {}", "System Flag:", msg.sys_flag)?;
    writeln!(
        f,
        "{:<20} {}",
        "Properties:",
        java_properties_string(&msg.properties)
    )?;
    writeln!(f, "{:<20} {}", "Message Body Path:", body_path)
}

/// One message as `queryMsgById` and `queryMsgByOffset` print it.
#[derive(Debug, Clone)]
pub struct MessageDetail {
    /// The message.
    pub msg: MessageExt,
    /// Where its body was written.
    pub body_path: String,
    /// The body as text, when `-f <charset>` asked for it.
    pub body_text: Option<String>,
    /// Who consumes it; `Err` holds the failure Java prints as a stack trace.
    pub tracks: Result<Vec<MessageTrack>, String>,
}

impl fmt::Display for MessageDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<20} {}", "OffsetID:", self.msg.offset_msg_id())?;
        common_lines(f, &self.msg, &self.body_path)?;
        if let Some(text) = &self.body_text {
            writeln!(f, "{:<20} {}", "Message Body:", text)?;
        }
        match &self.tracks {
            Ok(tracks) if tracks.is_empty() => write!(f, "\n\nWARN: No Consumer"),
            Ok(tracks) => {
                write!(f, "\n\n")?;
                for t in tracks {
                    writeln!(f, "{t}")?;
                }
                Ok(())
            }
            Err(_) => Ok(()),
        }
    }
}

/// One message as `queryMsgByUniqueKey` prints it (no OffsetID line; tracks without newlines).
#[derive(Debug, Clone)]
pub struct UniqueKeyDetail {
    /// The message.
    pub msg: MessageExt,
    /// Where its body was written.
    pub body_path: String,
    /// Who consumes it.
    pub tracks: Result<Vec<MessageTrack>, String>,
}

impl fmt::Display for UniqueKeyDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        common_lines(f, &self.msg, &self.body_path)?;
        match &self.tracks {
            Ok(tracks) if tracks.is_empty() => write!(f, "\n\nWARN: No Consumer"),
            Ok(tracks) => {
                write!(f, "\n\n")?;
                for t in tracks {
                    write!(f, "{t}")?;
                }
                Ok(())
            }
            Err(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use ferromq_proto::message::decode_properties;

    fn sample() -> MessageExt {
        MessageExt {
            store_size: 200,
            magic: ferromq_proto::message::MAGIC_V1,
            body_crc: 12345,
            queue_id: 2,
            flag: 0,
            queue_offset: 7,
            commit_log_offset: 4096,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_123,
            born_host: "10.0.0.5:40000".parse().unwrap(),
            store_timestamp: 1_700_000_000_456,
            store_host: "127.0.0.1:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(&[104, 105, 0xFF]),
            topic: "TopicTest".into(),
            properties: decode_properties(
                "KEYS\u{1}k1\u{2}UNIQ_KEY\u{1}AC11000100002A9F0000000000000001\u{2}TAGS\u{1}TagA\u{2}",
            ),
        }
    }

    #[test]
    fn detail_block_matches_the_java_layout() {
        let d = MessageDetail {
            msg: sample(),
            body_path: "/tmp/rocketmq/msgbodys/X".into(),
            body_text: None,
            tracks: Ok(vec![]),
        };
        let text = d.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "OffsetID:            7F00000100002A9F0000000000001000"
        );
        assert_eq!(lines[1], "Topic:               TopicTest");
        assert_eq!(lines[2], "Tags:                [TagA]");
        assert_eq!(lines[3], "Keys:                [k1]");
        assert_eq!(lines[8], "Born Timestamp:      2023-11-14 22:13:20,123");
        assert_eq!(lines[10], "Born Host:           10.0.0.5:40000");
        assert!(lines[13].starts_with("Properties:          {"));
        assert!(text.ends_with("\n\nWARN: No Consumer"));
        let u = UniqueKeyDetail {
            msg: sample(),
            body_path: "p".into(),
            tracks: Ok(vec![]),
        };
        assert!(u
            .to_string()
            .starts_with("Topic:               TopicTest\n"));
    }

    #[test]
    fn message_ext_string_is_javas() {
        let s = java_message_ext_string(&sample(), Some("broker-a"));
        assert!(s.starts_with("MessageExt [brokerName=broker-a, queueId=2, storeSize=200, queueOffset=7, sysFlag=0, bornTimestamp=1700000000123, bornHost=/10.0.0.5:40000, storeTimestamp=1700000000456, storeHost=/127.0.0.1:10911, msgId=7F00000100002A9F0000000000001000, commitLogOffset=4096, bodyCRC=12345, reconsumeTimes=0, preparedTransactionOffset=0, toString()=Message{topic='TopicTest', flag=0, properties={"), "{s}");
        assert!(
            s.ends_with("body=[104, 105, -1], transactionId='null'}]"),
            "{s}"
        );
        assert_eq!(
            body_file_path(&sample(), 2),
            PathBuf::from("/tmp/rocketmq/msgbodys/AC11000100002A9F0000000000000001_2")
        );
    }
}
