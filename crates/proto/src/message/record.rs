//! The stored message record (`wire-protocol.md` 3.5): commit-log layout, PULL/QUERY/VIEW bodies.
//!
//! [`RecordView`] reads one record without allocating (the store's dispatch and recovery paths
//! use it); [`MessageExt`] is the owned form a client works with, its body a zero-copy slice of
//! the input. [`encode_record`] writes a record in place, as the store's append path needs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use super::properties::{self, decode_properties, Properties};
use super::sys_flag::{BORNHOST_V6, STOREHOST_V6};
use super::{msg_id, MessageCodecError, MAGIC_V1, MAGIC_V2};

/// Position of TOTALSIZE.
pub const POS_TOTAL_SIZE: usize = 0;
/// Position of MAGICCODE.
pub const POS_MAGIC: usize = 4;
/// Position of BODYCRC.
pub const POS_BODY_CRC: usize = 8;
/// Position of QUEUEID.
pub const POS_QUEUE_ID: usize = 12;
/// Position of FLAG.
pub const POS_FLAG: usize = 16;
/// Position of QUEUEOFFSET (the store patches it in place).
pub const POS_QUEUE_OFFSET: usize = 20;
/// Position of PHYSICALOFFSET (the store patches it in place).
pub const POS_PHYSICAL_OFFSET: usize = 28;
/// Position of SYSFLAG.
pub const POS_SYS_FLAG: usize = 36;
/// Position of BORNTIMESTAMP.
pub const POS_BORN_TIMESTAMP: usize = 40;
/// Position of BORNHOST.
pub const POS_BORN_HOST: usize = 48;
/// Smallest record: version 1, IPv4 hosts, empty body, topic and properties.
pub const MIN_RECORD_SIZE: usize = 91;
/// Topics longer than this many bytes need a version 2 record (2-byte topic length).
pub const MAX_V1_TOPIC_LEN: usize = i8::MAX as usize;

/// Position of STORETIMESTAMP in a record with this sysFlag (56 with an IPv4 born host).
pub fn store_timestamp_pos(sys_flag: i32) -> usize {
    POS_BORN_HOST + super::sys_flag::born_host_len(sys_flag)
}

/// Size in bytes of a record with these field lengths: `91 + body + topic + properties`, plus 1
/// for a version 2 record (topic longer than 127 bytes) and 12 for each IPv6 host.
pub fn record_size(
    body_len: usize,
    topic_len: usize,
    properties_len: usize,
    born_v6: bool,
    store_v6: bool,
) -> usize {
    MIN_RECORD_SIZE
        + body_len
        + topic_len
        + properties_len
        + usize::from(topic_len > MAX_V1_TOPIC_LEN)
        + if born_v6 { 12 } else { 0 }
        + if store_v6 { 12 } else { 0 }
}

/// CRC-32/IEEE of `body` masked with `0x7FFF_FFFF`, as stored in BODYCRC.
pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

/// Maps an IPv4-mapped IPv6 address to plain IPv4, as Java's `InetAddress` does.
pub(crate) fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// Everything the store writes into one record.
#[derive(Debug, Clone, Copy)]
pub struct RecordInput<'a> {
    /// Topic (UTF-8, at most 32 767 bytes).
    pub topic: &'a str,
    /// Queue id.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Consume-queue offset.
    pub queue_offset: i64,
    /// Commit-log byte offset of this record.
    pub physical_offset: i64,
    /// sysFlag; its IPv6 host bits are set from the host addresses when encoding.
    pub sys_flag: i32,
    /// Producer time, ms.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Broker time, ms.
    pub store_timestamp: i64,
    /// Broker address clients can reach (it becomes part of the offsetMsgId).
    pub store_host: SocketAddr,
    /// Retry count.
    pub reconsume_times: i32,
    /// Commit-log offset of the half message of a committed transaction, else 0.
    pub prepared_transaction_offset: i64,
    /// Stored (possibly compressed) body.
    pub body: &'a [u8],
    /// Properties string (at most 32 767 bytes).
    pub properties: &'a str,
    /// Precomputed [`body_crc`], so a caller can compute it outside a lock; `None` computes it.
    pub body_crc: Option<i32>,
}

impl RecordInput<'_> {
    /// The sysFlag actually written: the given one with the IPv6 bits set from the addresses.
    pub fn effective_sys_flag(&self) -> i32 {
        let mut f = self.sys_flag & !(BORNHOST_V6 | STOREHOST_V6);
        if canonical(self.born_host).is_ipv6() {
            f |= BORNHOST_V6;
        }
        if canonical(self.store_host).is_ipv6() {
            f |= STOREHOST_V6;
        }
        f
    }

    /// Size of the encoded record in bytes.
    pub fn encoded_len(&self) -> usize {
        record_size(
            self.body.len(),
            self.topic.len(),
            self.properties.len(),
            canonical(self.born_host).is_ipv6(),
            canonical(self.store_host).is_ipv6(),
        )
    }
}

struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        // The caller checked the total size, so this range is in bounds.
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }

    fn host(&mut self, addr: SocketAddr) {
        match canonical(addr).ip() {
            IpAddr::V4(ip) => self.put(&ip.octets()),
            IpAddr::V6(ip) => self.put(&ip.octets()),
        }
        self.put(&i32::from(addr.port()).to_be_bytes());
    }
}

/// Encodes `input` at the start of `dst`; returns the record size. Version 2 is chosen only when
/// the topic is longer than 127 bytes. Errors when a field is too long for its length word or
/// `dst` is too small; nothing is written then.
pub fn encode_record(dst: &mut [u8], input: &RecordInput<'_>) -> Result<usize, MessageCodecError> {
    check_len("topic", input.topic.len(), i16::MAX as usize)?;
    check_len(
        "properties",
        input.properties.len(),
        properties::MAX_PROPERTIES_LEN,
    )?;
    let size = input.encoded_len();
    check_len("record", size, i32::MAX as usize)?;
    if dst.len() < size {
        return Err(MessageCodecError::BufferTooSmall {
            needed: size,
            available: dst.len(),
        });
    }
    let v2 = input.topic.len() > MAX_V1_TOPIC_LEN;
    let crc = input.body_crc.unwrap_or_else(|| body_crc(input.body));
    let mut w = Writer {
        buf: &mut dst[..size],
        pos: 0,
    };
    w.put(&(size as i32).to_be_bytes());
    w.put(&(if v2 { MAGIC_V2 } else { MAGIC_V1 }).to_be_bytes());
    w.put(&crc.to_be_bytes());
    w.put(&input.queue_id.to_be_bytes());
    w.put(&input.flag.to_be_bytes());
    w.put(&input.queue_offset.to_be_bytes());
    w.put(&input.physical_offset.to_be_bytes());
    w.put(&input.effective_sys_flag().to_be_bytes());
    w.put(&input.born_timestamp.to_be_bytes());
    w.host(input.born_host);
    w.put(&input.store_timestamp.to_be_bytes());
    w.host(input.store_host);
    w.put(&input.reconsume_times.to_be_bytes());
    w.put(&input.prepared_transaction_offset.to_be_bytes());
    w.put(&(input.body.len() as i32).to_be_bytes());
    w.put(input.body);
    if v2 {
        w.put(&(input.topic.len() as i16).to_be_bytes());
    } else {
        w.put(&[input.topic.len() as u8]);
    }
    w.put(input.topic.as_bytes());
    w.put(&(input.properties.len() as i16).to_be_bytes());
    w.put(input.properties.as_bytes());
    debug_assert_eq!(w.pos, size);
    Ok(size)
}

/// Appends the encoded record to `dst`; returns its size.
pub fn encode_record_to(
    dst: &mut BytesMut,
    input: &RecordInput<'_>,
) -> Result<usize, MessageCodecError> {
    let size = input.encoded_len();
    let start = dst.len();
    dst.put_bytes(0, size);
    match encode_record(&mut dst[start..], input) {
        Ok(n) => Ok(n),
        Err(e) => {
            dst.truncate(start);
            Err(e)
        }
    }
}

fn check_len(what: &'static str, len: usize, max: usize) -> Result<(), MessageCodecError> {
    if len > max {
        return Err(MessageCodecError::TooLong { what, len, max });
    }
    Ok(())
}

/// A record read in place: scalar fields decoded, byte fields borrowed from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// TOTALSIZE: the record length in bytes.
    pub total_size: i32,
    /// MAGICCODE ([`MAGIC_V1`] or [`MAGIC_V2`]).
    pub magic: i32,
    /// BODYCRC as stored.
    pub body_crc: i32,
    /// Queue id.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Consume-queue offset.
    pub queue_offset: i64,
    /// Commit-log offset.
    pub physical_offset: i64,
    /// sysFlag.
    pub sys_flag: i32,
    /// Producer time, ms.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Broker time, ms.
    pub store_timestamp: i64,
    /// Broker address.
    pub store_host: SocketAddr,
    /// Retry count.
    pub reconsume_times: i32,
    /// Half-message offset of a committed transaction, else 0.
    pub prepared_transaction_offset: i64,
    /// The stored body.
    pub body: &'a [u8],
    /// Where the body sits inside the record.
    pub body_range: Range<usize>,
    /// Topic.
    pub topic: &'a str,
    /// Raw properties string.
    pub properties: &'a str,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], MessageCodecError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(MessageCodecError::Truncated {
                what,
                needed: self.pos.saturating_add(n),
                available: self.buf.len(),
            })?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], MessageCodecError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn i16(&mut self, what: &'static str) -> Result<i16, MessageCodecError> {
        self.array(what).map(i16::from_be_bytes)
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, MessageCodecError> {
        self.array(what).map(i32::from_be_bytes)
    }

    fn i64(&mut self, what: &'static str) -> Result<i64, MessageCodecError> {
        self.array(what).map(i64::from_be_bytes)
    }

    fn host(&mut self, v6: bool, what: &'static str) -> Result<SocketAddr, MessageCodecError> {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::from(self.array::<16>(what)?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.array::<4>(what)?))
        };
        // Java writes the port as an int; only the low 16 bits are meaningful.
        let port = self.i32(what)?;
        Ok(SocketAddr::new(ip, port as u16))
    }

    fn len_field(&mut self, value: i64, what: &'static str) -> Result<usize, MessageCodecError> {
        usize::try_from(value).map_err(|_| MessageCodecError::InvalidLength { what, value })
    }
}

/// Reads the TOTALSIZE and MAGICCODE words at the start of `buf`, if it has 8 bytes.
pub fn peek_size_and_magic(buf: &[u8]) -> Option<(i32, i32)> {
    let size = i32::from_be_bytes(buf.get(0..4)?.try_into().ok()?);
    let magic = i32::from_be_bytes(buf.get(4..8)?.try_into().ok()?);
    Some((size, magic))
}

impl<'a> RecordView<'a> {
    /// Parses the record at the start of `buf` (which may hold more after it). Errors when `buf`
    /// is shorter than the record, the magic is not a record version (the BLANK filler included),
    /// a length is negative, a string is not UTF-8 or the fields do not add up to TOTALSIZE.
    pub fn parse(buf: &'a [u8]) -> Result<Self, MessageCodecError> {
        let (total_size, magic) = peek_size_and_magic(buf).ok_or(MessageCodecError::Truncated {
            what: "record header",
            needed: 8,
            available: buf.len(),
        })?;
        if magic != MAGIC_V1 && magic != MAGIC_V2 {
            return Err(MessageCodecError::BadMagic {
                found: magic as u32,
            });
        }
        let total = usize::try_from(total_size)
            .ok()
            .filter(|&t| t >= MIN_RECORD_SIZE)
            .ok_or(MessageCodecError::InvalidLength {
                what: "TOTALSIZE",
                value: i64::from(total_size),
            })?;
        if total > buf.len() {
            return Err(MessageCodecError::Truncated {
                what: "record",
                needed: total,
                available: buf.len(),
            });
        }
        let mut r = Reader {
            buf: &buf[..total],
            pos: 8,
        };
        let body_crc = r.i32("BODYCRC")?;
        let queue_id = r.i32("QUEUEID")?;
        let flag = r.i32("FLAG")?;
        let queue_offset = r.i64("QUEUEOFFSET")?;
        let physical_offset = r.i64("PHYSICALOFFSET")?;
        let sys_flag = r.i32("SYSFLAG")?;
        let born_timestamp = r.i64("BORNTIMESTAMP")?;
        let born_host = r.host(sys_flag & BORNHOST_V6 != 0, "BORNHOST")?;
        let store_timestamp = r.i64("STORETIMESTAMP")?;
        let store_host = r.host(sys_flag & STOREHOST_V6 != 0, "STOREHOST")?;
        let reconsume_times = r.i32("RECONSUMETIMES")?;
        let prepared_transaction_offset = r.i64("PREPARED TRANSACTION OFFSET")?;
        let body_len = r.i32("BODY length")?;
        let body_len = r.len_field(i64::from(body_len), "BODY length")?;
        let body_start = r.pos;
        let body = r.take(body_len, "BODY")?;
        let topic_len = if magic == MAGIC_V2 {
            i64::from(r.i16("TOPIC length")?)
        } else {
            i64::from(r.array::<1>("TOPIC length")?[0] as i8)
        };
        let topic_len = r.len_field(topic_len, "TOPIC length")?;
        let topic = std::str::from_utf8(r.take(topic_len, "TOPIC")?)
            .map_err(|_| MessageCodecError::NotUtf8 { what: "TOPIC" })?;
        let props_len = i64::from(r.i16("PROPERTIES length")?);
        let props_len = r.len_field(props_len, "PROPERTIES length")?;
        let properties = std::str::from_utf8(r.take(props_len, "PROPERTIES")?)
            .map_err(|_| MessageCodecError::NotUtf8 { what: "PROPERTIES" })?;
        if r.pos != total {
            return Err(MessageCodecError::LengthMismatch {
                what: "record",
                declared: total,
                computed: r.pos,
            });
        }
        Ok(RecordView {
            total_size,
            magic,
            body_crc,
            queue_id,
            flag,
            queue_offset,
            physical_offset,
            sys_flag,
            born_timestamp,
            born_host,
            store_timestamp,
            store_host,
            reconsume_times,
            prepared_transaction_offset,
            body,
            body_range: body_start..body_start + body_len,
            topic,
            properties,
        })
    }

    /// The record length in bytes.
    pub fn len(&self) -> usize {
        self.total_size as usize
    }

    /// Always false: a parsed record has at least [`MIN_RECORD_SIZE`] bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// True when BODYCRC matches the body.
    pub fn body_crc_matches(&self) -> bool {
        body_crc(self.body) == self.body_crc
    }

    /// The value of property `key` (Java's parse rules), without allocating.
    pub fn property(&self, key: &str) -> Option<&'a str> {
        properties::property_value(self.properties, key)
    }
}

/// A decoded stored record (Java `MessageExt`). The body is a slice of the decoded buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageExt {
    /// TOTALSIZE.
    pub store_size: i32,
    /// MAGICCODE ([`MAGIC_V1`] or [`MAGIC_V2`]).
    pub magic: i32,
    /// BODYCRC as stored.
    pub body_crc: i32,
    /// Queue id.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Consume-queue offset.
    pub queue_offset: i64,
    /// Commit-log offset.
    pub commit_log_offset: i64,
    /// sysFlag.
    pub sys_flag: i32,
    /// Producer time, ms.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Broker time, ms.
    pub store_timestamp: i64,
    /// Broker address.
    pub store_host: SocketAddr,
    /// Retry count.
    pub reconsume_times: i32,
    /// Half-message offset of a committed transaction, else 0.
    pub prepared_transaction_offset: i64,
    /// The stored (possibly compressed) body.
    pub body: Bytes,
    /// Topic.
    pub topic: String,
    /// Properties, parsed with Java's rules.
    pub properties: Properties,
}

impl MessageExt {
    /// Builds the owned form from a view of `src` (the view must borrow from `src`'s bytes at
    /// offset `start`), slicing the body without copying.
    fn from_view(view: &RecordView<'_>, src: &Bytes, start: usize) -> Self {
        MessageExt {
            store_size: view.total_size,
            magic: view.magic,
            body_crc: view.body_crc,
            queue_id: view.queue_id,
            flag: view.flag,
            queue_offset: view.queue_offset,
            commit_log_offset: view.physical_offset,
            sys_flag: view.sys_flag,
            born_timestamp: view.born_timestamp,
            born_host: view.born_host,
            store_timestamp: view.store_timestamp,
            store_host: view.store_host,
            reconsume_times: view.reconsume_times,
            prepared_transaction_offset: view.prepared_transaction_offset,
            body: src.slice(start + view.body_range.start..start + view.body_range.end),
            topic: view.topic.to_owned(),
            properties: decode_properties(view.properties),
        }
    }

    /// The broker's id for this record: store host + commit-log offset (3.8).
    pub fn offset_msg_id(&self) -> String {
        msg_id::encode_offset_msg_id(self.store_host, self.commit_log_offset)
    }

    /// The id clients report: `UNIQ_KEY` when present, else the offsetMsgId.
    pub fn msg_id(&self) -> String {
        match self.properties.get(properties::UNIQ_KEY) {
            Some(k) => k.to_owned(),
            None => self.offset_msg_id(),
        }
    }

    /// The `TAGS` property.
    pub fn tags(&self) -> Option<&str> {
        self.properties.get(properties::TAGS)
    }

    /// The `KEYS` property.
    pub fn keys(&self) -> Option<&str> {
        self.properties.get(properties::KEYS)
    }
}

/// Decodes the record at the start of `buf`; returns it and its length. Errors as
/// [`RecordView::parse`] does.
pub fn decode_record(buf: &Bytes) -> Result<(MessageExt, usize), MessageCodecError> {
    let view = RecordView::parse(buf)?;
    Ok((MessageExt::from_view(&view, buf, 0), view.len()))
}

/// Decodes records stored back to back (a PULL/QUERY body). An empty buffer gives an empty list;
/// a partial record at the end is an error.
pub fn decode_records(buf: Bytes) -> Result<Vec<MessageExt>, MessageCodecError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let view = RecordView::parse(&buf[pos..])?;
        out.push(MessageExt::from_view(&view, &buf, pos));
        pos += view.len();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::sys_flag;

    fn sample(topic: &str, body: &'static [u8], props: &'static str) -> RecordInput<'static> {
        RecordInput {
            topic: Box::leak(topic.to_owned().into_boxed_str()),
            queue_id: 1,
            flag: 2,
            queue_offset: 3,
            physical_offset: 4,
            sys_flag: 0,
            born_timestamp: 5,
            born_host: "127.0.0.1:6".parse().unwrap(),
            store_timestamp: 7,
            store_host: "10.0.0.1:10911".parse().unwrap(),
            reconsume_times: 8,
            prepared_transaction_offset: 9,
            body,
            properties: props,
            body_crc: None,
        }
    }

    fn encode(input: &RecordInput<'_>) -> Bytes {
        let mut buf = BytesMut::new();
        encode_record_to(&mut buf, input).unwrap();
        buf.freeze()
    }

    #[test]
    fn pinned_bytes_of_a_small_v1_record() {
        let bytes = encode(&sample("T", b"hi", "a\u{1}b\u{2}"));
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[0, 0, 0, 98][..],              // TOTALSIZE = 91 + 2 + 1 + 4
            &[0xDA, 0xA3, 0x20, 0xA7],       // MAGIC v1
            &[0x58, 0x93, 0x2A, 0xAC],       // crc32("hi") & 0x7FFFFFFF
            &[0, 0, 0, 1],                   // QUEUEID
            &[0, 0, 0, 2],                   // FLAG
            &[0, 0, 0, 0, 0, 0, 0, 3],       // QUEUEOFFSET
            &[0, 0, 0, 0, 0, 0, 0, 4],       // PHYSICALOFFSET
            &[0, 0, 0, 0],                   // SYSFLAG
            &[0, 0, 0, 0, 0, 0, 0, 5],       // BORNTIMESTAMP
            &[127, 0, 0, 1, 0, 0, 0, 6],     // BORNHOST
            &[0, 0, 0, 0, 0, 0, 0, 7],       // STORETIMESTAMP
            &[10, 0, 0, 1, 0, 0, 0x2A, 0x9F],// STOREHOST
            &[0, 0, 0, 8],                   // RECONSUMETIMES
            &[0, 0, 0, 0, 0, 0, 0, 9],       // PREPARED TRANSACTION OFFSET
            &[0, 0, 0, 2], b"hi",            // BODY
            &[1], b"T",                      // TOPIC
            &[0, 4], b"a\x01b\x02",          // PROPERTIES
        ]
        .concat();
        assert_eq!(&bytes[..], &expected[..]);
        assert_eq!(bytes.len(), record_size(2, 1, 4, false, false));
        assert_eq!(store_timestamp_pos(0), 56);
        assert_eq!(
            &bytes[POS_QUEUE_OFFSET..POS_QUEUE_OFFSET + 8],
            &3i64.to_be_bytes()
        );
        assert_eq!(
            &bytes[POS_PHYSICAL_OFFSET..POS_PHYSICAL_OFFSET + 8],
            &4i64.to_be_bytes()
        );
    }

    #[test]
    fn round_trip_v1_ipv4() {
        let input = sample(
            "TopicTest",
            b"hello body",
            "TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}ID1\u{2}",
        );
        let bytes = encode(&input);
        let (m, n) = decode_record(&bytes).unwrap();
        assert_eq!(n, bytes.len());
        assert_eq!(m.store_size as usize, n);
        assert_eq!(m.magic, MAGIC_V1);
        assert_eq!(m.body_crc, body_crc(b"hello body"));
        assert_eq!(
            (m.queue_id, m.flag, m.queue_offset, m.commit_log_offset),
            (1, 2, 3, 4)
        );
        assert_eq!((m.born_timestamp, m.store_timestamp), (5, 7));
        assert_eq!(m.born_host, input.born_host);
        assert_eq!(m.store_host, input.store_host);
        assert_eq!((m.reconsume_times, m.prepared_transaction_offset), (8, 9));
        assert_eq!(&m.body[..], b"hello body");
        assert_eq!(m.topic, "TopicTest");
        assert_eq!(m.tags(), Some("TagA"));
        assert_eq!(m.msg_id(), "ID1");
        assert_eq!(m.offset_msg_id(), "0A00000100002A9F0000000000000004");
        let view = RecordView::parse(&bytes).unwrap();
        assert!(view.body_crc_matches());
        assert_eq!(view.property("TAGS"), Some("TagA"));
    }

    #[test]
    fn round_trip_ipv6_hosts_and_v2_topic() {
        let mut input = sample(&"t".repeat(200), b"", "");
        input.born_host = "[2001:db8::1]:1234".parse().unwrap();
        input.store_host = "[::1]:10911".parse().unwrap();
        input.sys_flag = sys_flag::COMPRESSED;
        let bytes = encode(&input);
        assert_eq!(bytes.len(), 91 + 200 + 1 + 24);
        let (m, _) = decode_record(&bytes).unwrap();
        assert_eq!(m.magic, MAGIC_V2);
        assert_eq!(
            m.sys_flag,
            sys_flag::COMPRESSED | sys_flag::BORNHOST_V6 | sys_flag::STOREHOST_V6
        );
        assert_eq!(m.born_host, input.born_host);
        assert_eq!(m.store_host, input.store_host);
        assert_eq!(m.topic.len(), 200);
        assert!(m.body.is_empty());
        assert_eq!(store_timestamp_pos(m.sys_flag), 68);
    }

    #[test]
    fn v1_topic_of_127_and_mapped_ipv4() {
        let mut input = sample(&"t".repeat(127), b"x", "");
        input.born_host = "[::ffff:1.2.3.4]:5".parse().unwrap();
        input.sys_flag = sys_flag::BORNHOST_V6; // corrected from the address
        let bytes = encode(&input);
        let (m, _) = decode_record(&bytes).unwrap();
        assert_eq!(m.magic, MAGIC_V1);
        assert_eq!(m.sys_flag, 0);
        assert_eq!(m.born_host, "1.2.3.4:5".parse::<SocketAddr>().unwrap());
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = encode(&sample("TopicTest", b"some body", "k\u{1}v\u{2}"));
        for cut in 0..bytes.len() {
            let part = bytes.slice(..cut);
            assert!(decode_record(&part).is_err(), "cut at {cut}");
            if cut > 0 {
                assert!(decode_records(part).is_err(), "cut at {cut}");
            }
        }
    }

    #[test]
    fn malformed_records_are_errors() {
        let bytes = encode(&sample("T", b"hi", ""));
        let mut blank = bytes.to_vec();
        blank[4..8].copy_from_slice(&crate::message::MAGIC_BLANK.to_be_bytes());
        assert!(matches!(
            RecordView::parse(&blank),
            Err(MessageCodecError::BadMagic { found: 0xCBD4_3194 })
        ));
        // A declared size larger than the fields, with bytes to spare after it.
        let mut long = bytes.to_vec();
        long.extend_from_slice(&[0; 4]);
        long[0..4].copy_from_slice(&((bytes.len() + 4) as i32).to_be_bytes());
        assert!(matches!(
            RecordView::parse(&long),
            Err(MessageCodecError::LengthMismatch { .. })
        ));
        // Negative body length.
        let mut neg = bytes.to_vec();
        neg[84..88].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(matches!(
            RecordView::parse(&neg),
            Err(MessageCodecError::InvalidLength { .. })
        ));
        // Negative total size.
        let mut tot = bytes.to_vec();
        tot[0..4].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(matches!(
            RecordView::parse(&tot),
            Err(MessageCodecError::InvalidLength { .. })
        ));
        // Topic not UTF-8.
        let mut bad = bytes.to_vec();
        bad[91] = 0xFF;
        assert!(matches!(
            RecordView::parse(&bad),
            Err(MessageCodecError::NotUtf8 { .. })
        ));
    }

    #[test]
    fn several_records_back_to_back_share_the_buffer() {
        let mut buf = BytesMut::new();
        for i in 0..3 {
            let mut input = sample("T", b"body", "");
            input.queue_offset = i;
            encode_record_to(&mut buf, &input).unwrap();
        }
        let buf = buf.freeze();
        let msgs = decode_records(buf.clone()).unwrap();
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[2].queue_offset, 2);
        let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
        for m in &msgs {
            assert!(
                range.contains(&(m.body.as_ptr() as usize)),
                "body must be a slice of the input"
            );
        }
        assert!(decode_records(Bytes::new()).unwrap().is_empty());
    }

    #[test]
    fn encode_refuses_oversized_fields_and_small_buffers() {
        let long_topic = "t".repeat(40_000);
        let input = sample(&long_topic, b"", "");
        let mut dst = vec![0u8; 100_000];
        assert!(matches!(
            encode_record(&mut dst, &input),
            Err(MessageCodecError::TooLong { .. })
        ));
        let input = sample("T", b"hi", "");
        let mut small = [0u8; 50];
        assert!(matches!(
            encode_record(&mut small, &input),
            Err(MessageCodecError::BufferTooSmall {
                needed: 94,
                available: 50
            })
        ));
        let mut crc_given = input;
        crc_given.body_crc = Some(body_crc(b"hi"));
        assert_eq!(encode(&crc_given), encode(&input));
    }
}
