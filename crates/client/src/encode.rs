//! Turning messages into SEND request bodies and properties (Java
//! `DefaultMQProducerImpl.sendKernelImpl` and `MessageBatch`): UNIQ_KEY, zlib compression of
//! large bodies, the batch encoding, and splitting a list into batches under the size limit.

use std::io::Write;

use bytes::{Bytes, BytesMut};
use ferromq_common::names;
use ferromq_proto::message::batch::BATCH_ITEM_OVERHEAD;
use ferromq_proto::message::properties::{self as keys, Properties};
use ferromq_proto::message::{encode_batch_item, sys_flag, UniqKeyGenerator};

use crate::{ClientError, Message};

/// zlib level Java uses.
const COMPRESS_LEVEL: u32 = 5;
/// sysFlag of a zlib-compressed body: COMPRESSED | ZLIB type (3 << 8).
const ZLIB_SYS_FLAG: i32 = sys_flag::COMPRESSED | (3 << sys_flag::COMPRESSION_TYPE_SHIFT);

/// A message ready for the wire: properties string, body, flags.
pub(crate) struct Encoded {
    pub topic: String,
    pub body: Bytes,
    pub properties: String,
    pub sys_flag: i32,
    pub flag: i32,
    pub batch: bool,
    pub msg_id: String,
}

impl Encoded {
    /// Messages it carries: one, or a batch's count (its ids are joined with `,`).
    pub fn message_count(&self) -> u32 {
        if self.batch {
            self.msg_id.split(',').count() as u32
        } else {
            1
        }
    }
}

/// Encodes one message: its UNIQ_KEY (a new one unless the message carries one already, as a
/// resent message does; Java `MessageClientIDSetter.setUniqID`), the properties string, and the
/// body zlib-compressed when it has at least `compress_over` bytes.
pub(crate) fn encode(
    uniq: &UniqKeyGenerator,
    msg: &Message,
    compress_over: usize,
) -> Result<Encoded, ClientError> {
    let msg_id = match msg.properties.get(keys::UNIQ_KEY) {
        Some(id) if !id.trim().is_empty() => id.to_owned(),
        _ => uniq.next_id(),
    };
    let properties = msg.wire_properties(&msg_id).encode();
    let (body, sys_flag) = if msg.body.len() >= compress_over {
        (compress(&msg.body)?, ZLIB_SYS_FLAG)
    } else {
        (msg.body.clone(), 0)
    };
    Ok(Encoded {
        topic: msg.topic.clone(),
        body,
        properties,
        sys_flag,
        flag: msg.flag,
        batch: false,
        msg_id,
    })
}

/// Encodes a SEND_BATCH_MESSAGE body (Java `MessageBatch.generateFromList` rules): one topic,
/// not a retry topic, no delay level, at most `max_size` bytes in all.
pub(crate) fn encode_batch(
    uniq: &UniqKeyGenerator,
    msgs: &[Message],
    max_size: usize,
) -> Result<Encoded, ClientError> {
    let invalid = |reason: &str| ClientError::InvalidArgument {
        reason: reason.to_owned(),
    };
    let first = msgs.first().ok_or_else(|| invalid("the batch is empty"))?;
    let topic = first.topic.clone();
    if names::is_retry_topic(&topic) {
        return Err(invalid("Retry Group is not supported for batching"));
    }
    let mut body = BytesMut::new();
    let mut ids = Vec::with_capacity(msgs.len());
    for m in msgs {
        m.validate(max_size)?;
        if m.topic != topic {
            return Err(invalid(
                "The topic of the messages in one batch should be the same",
            ));
        }
        if m.properties
            .get(keys::DELAY)
            .is_some_and(|d| d.trim().parse::<i32>().unwrap_or(0) > 0)
        {
            return Err(invalid("TimeDelayLevel is not supported for batching"));
        }
        let id = uniq.next_id();
        encode_batch_item(&mut body, m.flag, &m.body, &m.wire_properties(&id).encode())
            .map_err(|e| invalid(&e.to_string()))?;
        ids.push(id);
    }
    if body.len() > max_size {
        return Err(ClientError::InvalidArgument {
            reason: format!("the message body size over max value, MAX: {}", max_size),
        });
    }
    let mut batch_props = Properties::new();
    batch_props.insert(keys::WAIT, "true");
    batch_props.insert(keys::UNIQ_KEY, uniq.next_id());
    Ok(Encoded {
        topic,
        body: body.freeze(),
        properties: batch_props.encode(),
        sys_flag: 0,
        flag: 0,
        batch: true,
        msg_id: ids.join(","),
    })
}

/// Splits `msgs` into runs whose batch encoding stays within `max_bytes` (each message counted
/// with its record overhead and an allowance for the properties the producer adds). A message
/// too large on its own forms its own batch (and will be refused).
pub fn split_batch(msgs: Vec<Message>, max_bytes: usize) -> Vec<Vec<Message>> {
    const ADDED_PROPERTIES: usize = 64; // UNIQ_KEY, WAIT and separators
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut size = 0;
    for m in msgs {
        let props: usize = m
            .properties
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum::<usize>()
            + m.tags.as_ref().map_or(0, |t| t.len() + 6)
            + m.keys.iter().map(|k| k.len() + 1).sum::<usize>()
            + ADDED_PROPERTIES;
        let item = BATCH_ITEM_OVERHEAD + m.body.len() + props;
        if !cur.is_empty() && size + item > max_bytes {
            out.push(std::mem::take(&mut cur));
            size = 0;
        }
        size += item;
        cur.push(m);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// zlib at Java's level 5 (`Deflater` + zlib wrapper).
fn compress(body: &[u8]) -> Result<Bytes, ClientError> {
    let mut enc = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(body.len() / 2),
        flate2::Compression::new(COMPRESS_LEVEL),
    );
    enc.write_all(body)
        .and_then(|()| enc.finish())
        .map(Bytes::from)
        .map_err(|e| ClientError::InvalidArgument {
            reason: format!("compressing the body failed: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use ferromq_proto::message::decode_batch;

    use super::*;

    const MAX: usize = 4 * 1024 * 1024;

    #[test]
    fn large_bodies_are_zlib_compressed() {
        let uniq = UniqKeyGenerator::new("127.0.0.1".parse().unwrap());
        let body = vec![b'a'; 5000];
        let e = encode(&uniq, &Message::new("T", body.clone()), 4096).unwrap();
        assert_eq!(e.sys_flag, 0x301);
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&e.body[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
        let small = encode(&uniq, &Message::new("T", "hi"), 4096).unwrap();
        assert_eq!((small.sys_flag, &small.body[..]), (0, &b"hi"[..]));
        assert!(small.properties.contains("UNIQ_KEY\u{1}"));
        assert_eq!(small.msg_id.len(), 32);
    }

    #[test]
    fn batch_encoding_gives_each_message_its_own_id() {
        let uniq = UniqKeyGenerator::new("127.0.0.1".parse().unwrap());
        let e = encode_batch(
            &uniq,
            &[
                Message::new("T", "a").with_tags("x"),
                Message::new("T", "bb"),
            ],
            MAX,
        )
        .unwrap();
        assert!(e.batch);
        let items = decode_batch(&e.body).unwrap();
        assert_eq!(items.len(), 2);
        let ids: Vec<&str> = e.msg_id.split(',').collect();
        assert_eq!(ids.len(), 2);
        for (item, id) in items.iter().zip(&ids) {
            assert!(item.properties.contains(&format!("UNIQ_KEY\u{1}{id}\u{2}")));
        }
        assert_eq!(&items[1].body[..], b"bb");
        assert!(e.properties.starts_with("WAIT\u{1}true\u{2}UNIQ_KEY\u{1}"));
    }

    #[test]
    fn batch_rules() {
        let uniq = UniqKeyGenerator::new("127.0.0.1".parse().unwrap());
        assert!(encode_batch(&uniq, &[], MAX).is_err());
        let two_topics = [Message::new("A", "x"), Message::new("B", "x")];
        assert!(encode_batch(&uniq, &two_topics, MAX).is_err());
        let delayed = [Message::new("A", "x").with_delay_level(3)];
        assert!(encode_batch(&uniq, &delayed, MAX).is_err());
        let retry = [Message::new("%RETRY%g", "x")];
        assert!(encode_batch(&uniq, &retry, MAX).is_err());
        let big = [
            Message::new("A", vec![0u8; 600]),
            Message::new("A", vec![0u8; 600]),
        ];
        assert!(
            encode_batch(&uniq, &big, 1000).is_err(),
            "over the size limit"
        );
    }

    #[test]
    fn batches_split_under_the_limit() {
        let msgs: Vec<Message> = (0..10)
            .map(|_| Message::new("T", vec![0u8; 1000]))
            .collect();
        let parts = split_batch(msgs, 3500);
        assert_eq!(parts.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 3, 1]);
        let one = split_batch(vec![Message::new("T", vec![0u8; 5000])], 3500);
        assert_eq!(one.len(), 1);
        assert!(split_batch(Vec::new(), 10).is_empty());
    }
}
