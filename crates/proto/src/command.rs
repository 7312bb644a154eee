//! `RemotingCommand`: one frame of the remoting protocol, and its two header encodings.
//!
//! ```text
//! +--------------+---------------------------+--------+------+
//! | length: i32  | type: u8 | hdrLength: u24 | header | body |
//! +--------------+---------------------------+--------+------+
//! ```
//! `length` counts everything after itself. Type 0 is a JSON header, type 1 the ROCKETMQ binary
//! header (see `wire-protocol.md` 1.2-1.4).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use compact_str::CompactString;
use serde::Deserialize;

use crate::bytescan;
use crate::header::{CommandHeader, ExtBuilder, ExtFields};
use crate::ProtoError;

/// Default largest frame, counting its length field (`com.rocketmq.remoting.frameMaxLength`).
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;
/// Most ext fields a header may carry. RocketMQ's largest header has about twenty; the bound
/// keeps a hostile header from costing quadratic time in the field table.
pub const MAX_EXT_FIELDS: usize = 256;

/// Most a partial frame reserves before any of its bytes beyond the first read arrived.
const FIRST_RESERVE: usize = 64 * 1024;
/// Version ordinal FerroMQ reports (`V5_3_3`).
pub const CURRENT_VERSION: i32 = 479;

const FLAG_RESPONSE: i32 = 1;
const FLAG_ONEWAY: i32 = 2;

/// How the header of a frame is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerializeType {
    /// Header is a JSON object (type byte 0).
    #[default]
    Json,
    /// Header is RocketMQ's binary layout (type byte 1).
    RocketMq,
}

impl SerializeType {
    fn code(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }
}

/// The sender's language (`LanguageCode`); informational.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LanguageCode(pub u8);

const LANGUAGE_NAMES: [&str; 14] = [
    "JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO", "PHP",
    "OMS", "RUST", "NODE_JS",
];

impl LanguageCode {
    /// Java (0): what FerroMQ puts in its own frames so old clients never meet an unknown value.
    pub const JAVA: LanguageCode = LanguageCode(0);
    /// Rust (12).
    pub const RUST: LanguageCode = LanguageCode(12);

    /// The enum name, e.g. `JAVA`; `OTHER` for codes this build does not know.
    pub fn name(self) -> &'static str {
        LANGUAGE_NAMES
            .get(usize::from(self.0))
            .copied()
            .unwrap_or("OTHER")
    }

    /// Parses an enum name; unknown names become `OTHER`.
    pub fn from_name(name: &str) -> LanguageCode {
        LanguageCode(LANGUAGE_NAMES.iter().position(|n| *n == name).unwrap_or(7) as u8)
    }
}

/// One request or response.
#[derive(Debug, Clone, Default)]
pub struct RemotingCommand {
    /// Request code, or response code for responses.
    pub code: i32,
    /// Sender language.
    pub language: LanguageCode,
    /// Sender version ordinal.
    pub version: i32,
    /// Request id; a response carries its request's value.
    pub opaque: i32,
    /// Bit 0: response; bit 1: one-way.
    pub flag: i32,
    /// Free text, mostly error messages.
    pub remark: Option<String>,
    /// Custom header fields.
    pub ext_fields: ExtFields,
    /// Body bytes; empty when absent.
    pub body: Bytes,
    /// Further body pieces sent after `body` without copying (pull responses hand stored records
    /// here). Decoding never fills it.
    pub body_tail: Vec<Bytes>,
    /// Header encoding used on the wire.
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    /// A new request with `code` and the given header.
    pub fn request(code: i32, header: &impl CommandHeader) -> Self {
        let mut cmd = RemotingCommand {
            code,
            language: LanguageCode::RUST,
            version: CURRENT_VERSION,
            // The largest request headers (sends) have 14 fields: one allocation, no regrowth.
            ext_fields: ExtFields::with_capacity(16),
            ..Default::default()
        };
        header.write(&mut cmd.ext_fields);
        cmd
    }

    /// A new request with no header fields.
    pub fn bare_request(code: i32) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::RUST,
            version: CURRENT_VERSION,
            ..Default::default()
        }
    }

    /// A response to `self` with `code` and `remark`, in the request's encoding.
    pub fn response_to(&self, code: i32, remark: Option<String>) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::JAVA,
            version: CURRENT_VERSION,
            opaque: self.opaque,
            flag: FLAG_RESPONSE,
            remark,
            serialize_type: self.serialize_type,
            ..Default::default()
        }
    }

    /// A success response to `self` with no header fields.
    pub fn success_to(&self) -> Self {
        self.response_to(crate::codes::response::SUCCESS, None)
    }

    /// Sets the body and returns `self`.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Adds the fields of `header` and returns `self`.
    pub fn with_header(mut self, header: &impl CommandHeader) -> Self {
        header.write(&mut self.ext_fields);
        self
    }

    /// Reads the typed header from the ext fields.
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H, ProtoError> {
        H::read(&self.ext_fields)
    }

    /// True for responses.
    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    /// True for one-way requests, which must never be answered.
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// Marks this request one-way.
    pub fn mark_oneway(&mut self) {
        self.flag |= FLAG_ONEWAY;
    }

    /// Total body length, including the tail pieces.
    pub fn body_len(&self) -> usize {
        self.body.len() + self.body_tail.iter().map(Bytes::len).sum::<usize>()
    }

    /// Decodes one frame from the front of `src`.
    ///
    /// Returns `Ok(None)` when `src` does not hold a whole frame yet (nothing is consumed), the
    /// command when it does (its bytes are consumed), and an error for malformed input; after an
    /// error the connection cannot be resynchronised and should be closed.
    pub fn decode(src: &mut BytesMut, max_frame: usize) -> Result<Option<Self>, ProtoError> {
        Self::decode_limited(src, max_frame, max_frame)
    }

    /// [`RemotingCommand::decode`], refusing also a header longer than `max_header` bytes.
    ///
    /// Memory for a frame is reserved as its bytes arrive (at most about twice what is
    /// buffered, and never past the frame), not up front from the announced length: a peer
    /// announcing a large frame and sending nothing makes no large allocation.
    pub fn decode_limited(
        src: &mut BytesMut,
        max_frame: usize,
        max_header: usize,
    ) -> Result<Option<Self>, ProtoError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let length = i32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        if length < 4 {
            return Err(ProtoError::BadFrameLength {
                length: i64::from(length),
            });
        }
        let length = length as usize;
        if length + 4 > max_frame {
            return Err(ProtoError::FrameTooLarge {
                length: length + 4,
                limit: max_frame,
            });
        }
        if src.len() >= 8 {
            let header_length =
                (u32::from_be_bytes([src[4], src[5], src[6], src[7]]) & 0x00FF_FFFF) as usize;
            if header_length > max_header {
                return Err(ProtoError::HeaderTooLarge {
                    header_length,
                    limit: max_header,
                });
            }
        }
        if src.len() < length + 4 {
            let missing = length + 4 - src.len();
            src.reserve(missing.min(src.len().max(FIRST_RESERVE)));
            return Ok(None);
        }
        src.advance(4);
        let frame = src.split_to(length).freeze();
        Self::decode_frame(frame).map(Some)
    }

    /// Decodes a frame whose length field has already been stripped.
    pub fn decode_frame(mut frame: Bytes) -> Result<Self, ProtoError> {
        if frame.len() < 4 {
            return Err(ProtoError::BadFrameLength {
                length: frame.len() as i64,
            });
        }
        let word = frame.get_u32();
        let kind = (word >> 24) as u8;
        let header_length = (word & 0x00FF_FFFF) as usize;
        if header_length > frame.len() {
            return Err(ProtoError::BadHeaderLength {
                header_length,
                frame_length: frame.len(),
            });
        }
        let header = frame.split_to(header_length);
        let mut cmd = match kind {
            0 => decode_json_header(&header)?,
            1 => decode_binary_header(header)?,
            found => return Err(ProtoError::UnknownSerializeType { found }),
        };
        cmd.body = frame;
        Ok(cmd)
    }

    /// Encodes the length field and header into `dst`; the body is written separately by the
    /// caller (`body` then each of `body_tail`), so stored bytes are never copied.
    pub fn encode_header(&self, dst: &mut BytesMut) {
        let start = dst.len();
        dst.put_u64(0); // length and type word, patched below
        match self.serialize_type {
            SerializeType::Json => write_json_header(self, dst),
            SerializeType::RocketMq => write_binary_header(self, dst),
        }
        let header_length = dst.len() - start - 8;
        let total = 4 + header_length + self.body_len();
        let word =
            (u32::from(self.serialize_type.code()) << 24) | (header_length as u32 & 0x00FF_FFFF);
        dst[start..start + 4].copy_from_slice(&(total as u32).to_be_bytes());
        dst[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
    }

    /// Encodes the whole frame, body included, into `dst` (copies the body; for tests and small
    /// messages).
    pub fn encode(&self, dst: &mut BytesMut) {
        self.encode_header(dst);
        dst.extend_from_slice(&self.body);
        for piece in &self.body_tail {
            dst.extend_from_slice(piece);
        }
    }

    /// The whole frame as one buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(128 + self.body_len());
        self.encode(&mut b);
        b.freeze()
    }
}

/// The `language` of a JSON header: an enum name (`"JAVA"`) or its ordinal.
struct JsonLanguage(LanguageCode);

impl<'de> Deserialize<'de> for JsonLanguage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = JsonLanguage;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a language name or code")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<JsonLanguage, E> {
                Ok(JsonLanguage(LanguageCode::from_name(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<JsonLanguage, E> {
                u8::try_from(v)
                    .map(|c| JsonLanguage(LanguageCode(c)))
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<JsonLanguage, E> {
                u8::try_from(v)
                    .map(|c| JsonLanguage(LanguageCode(c)))
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// One ext-field value as text: strings as they are, numbers and booleans as Java prints them,
/// other JSON as JSON text; `None` for null (Java drops null fields). Short text stays inline.
struct JsonExtValue(Option<CompactString>);

impl<'de> Deserialize<'de> for JsonExtValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonExtValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an ext field value")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<JsonExtValue, E> {
                Ok(JsonExtValue(Some(CompactString::new(v))))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<JsonExtValue, E> {
                Ok(JsonExtValue(Some(CompactString::from(v))))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<JsonExtValue, E> {
                Ok(JsonExtValue(Some(CompactString::const_new(if v {
                    "true"
                } else {
                    "false"
                }))))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<JsonExtValue, E> {
                Ok(JsonExtValue(Some(compact_str::format_compact!("{v}"))))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<JsonExtValue, E> {
                Ok(JsonExtValue(Some(compact_str::format_compact!("{v}"))))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<JsonExtValue, E> {
                Ok(JsonExtValue(
                    serde_json::Number::from_f64(v).map(|n| CompactString::from(n.to_string())),
                ))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<JsonExtValue, E> {
                Ok(JsonExtValue(None))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<JsonExtValue, E> {
                Ok(JsonExtValue(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                a: A,
            ) -> Result<JsonExtValue, A::Error> {
                let v = serde_json::Value::deserialize(
                    serde::de::value::SeqAccessDeserializer::new(a),
                )?;
                Ok(JsonExtValue(Some(CompactString::from(v.to_string()))))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                a: A,
            ) -> Result<JsonExtValue, A::Error> {
                let v = serde_json::Value::deserialize(
                    serde::de::value::MapAccessDeserializer::new(a),
                )?;
                Ok(JsonExtValue(Some(CompactString::from(v.to_string()))))
            }
        }
        d.deserialize_any(V)
    }
}

/// An object key, kept inline when short.
struct JsonKey(CompactString);

impl<'de> Deserialize<'de> for JsonKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = JsonKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<JsonKey, E> {
                Ok(JsonKey(CompactString::new(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The `extFields` object, read straight into [`ExtFields`] (no intermediate map).
struct JsonExtFields(ExtFields);

impl<'de> Deserialize<'de> for JsonExtFields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonExtFields;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of ext fields")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<JsonExtFields, E> {
                Ok(JsonExtFields(ExtFields::default()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<JsonExtFields, A::Error> {
                let mut ext = ExtFields::default();
                while let Some(JsonKey(key)) = a.next_key()? {
                    if ext.len() >= MAX_EXT_FIELDS {
                        return Err(serde::de::Error::custom(format_args!(
                            "more than {MAX_EXT_FIELDS} ext fields"
                        )));
                    }
                    if let JsonExtValue(Some(value)) = a.next_value()? {
                        ext.set(key, value);
                    } else {
                        // A later null must not leave an earlier value of the same key behind.
                        ext.remove(&key);
                    }
                }
                Ok(JsonExtFields(ext))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct JsonHeader {
    #[serde(default)]
    code: i32,
    #[serde(default)]
    language: Option<JsonLanguage>,
    #[serde(default)]
    version: i32,
    #[serde(default)]
    opaque: i32,
    #[serde(default)]
    flag: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default, rename = "extFields")]
    ext_fields: Option<JsonExtFields>,
}

fn decode_json_header(header: &[u8]) -> Result<RemotingCommand, ProtoError> {
    match crate::json_scan::decode(header) {
        Some(cmd) => Ok(cmd),
        None => decode_json_header_serde(header),
    }
}

/// The general JSON header decoder: every shape serde_json reads, and the errors.
pub(crate) fn decode_json_header_serde(header: &[u8]) -> Result<RemotingCommand, ProtoError> {
    let h: JsonHeader =
        serde_json::from_slice(header).map_err(|source| ProtoError::JsonHeader { source })?;
    Ok(RemotingCommand {
        code: h.code,
        language: h.language.map_or(LanguageCode::JAVA, |l| l.0),
        version: h.version,
        opaque: h.opaque,
        flag: h.flag,
        remark: h.remark.filter(|r| !r.is_empty()),
        ext_fields: h.ext_fields.map(|e| e.0).unwrap_or_default(),
        serialize_type: SerializeType::Json,
        ..Default::default()
    })
}

/// Writes the JSON header straight into `dst`: text that needs no escaping (all of it, in
/// practice) is copied as it is, numbers go through `itoa`; only text with a quote, a backslash
/// or a control character goes through serde_json's escaping.
fn write_json_header(cmd: &RemotingCommand, dst: &mut BytesMut) {
    // Key order follows fastjson (alphabetical).
    dst.put_slice(b"{\"code\":");
    put_int(dst, cmd.code);
    dst.put_slice(b",\"extFields\":{");
    for (i, (k, v)) in cmd.ext_fields.iter().enumerate() {
        if i > 0 {
            dst.put_u8(b',');
        }
        put_json_pair(dst, k, v);
    }
    dst.put_slice(b"},\"flag\":");
    put_int(dst, cmd.flag);
    dst.put_slice(b",\"language\":\"");
    dst.put_slice(cmd.language.name().as_bytes());
    dst.put_slice(b"\",\"opaque\":");
    put_int(dst, cmd.opaque);
    if let Some(remark) = &cmd.remark {
        dst.put_slice(b",\"remark\":");
        put_json_str(dst, remark);
    }
    dst.put_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    put_int(dst, cmd.version);
    dst.put_u8(b'}');
}

fn put_int(dst: &mut BytesMut, v: i32) {
    dst.put_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// `"k":"v"`, escaped as [`put_json_str`] escapes: when neither needs escaping (nearly always),
/// one reservation and the five pieces copied in turn.
fn put_json_pair(dst: &mut BytesMut, k: &str, v: &str) {
    if needs_escape(k) || needs_escape(v) {
        put_json_str(dst, k);
        dst.put_u8(b':');
        put_json_str(dst, v);
        return;
    }
    dst.reserve(k.len() + v.len() + 5);
    dst.put_u8(b'"');
    dst.put_slice(k.as_bytes());
    dst.put_slice(b"\":\"");
    dst.put_slice(v.as_bytes());
    dst.put_u8(b'"');
}

/// True when `s` holds a byte JSON escapes: a quote, a backslash or a control character.
/// Eight bytes at a time (the last word may overlap the one before): a byte loop over a send
/// answer's sixteen strings cost about 170 instructions more.
#[inline]
fn needs_escape(s: &str) -> bool {
    let b = s.as_bytes();
    let stops =
        |w: u64| bytescan::equal(w, b'"') | bytescan::equal(w, b'\\') | bytescan::below(w, 0x20);
    if b.len() < 8 {
        return b.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20);
    }
    let mut at = 0;
    while at + 8 <= b.len() {
        if bytescan::word_at(b, at).is_some_and(|w| stops(w) != 0) {
            return true;
        }
        at += 8;
    }
    at < b.len() && bytescan::word_at(b, b.len() - 8).is_some_and(|w| stops(w) != 0)
}

/// `s` as a JSON string, escaped exactly as serde_json escapes (quote, backslash, controls).
fn put_json_str(dst: &mut BytesMut, s: &str) {
    if needs_escape(s) {
        // Writing into a BytesMut cannot fail.
        let _ = serde_json::to_writer((&mut *dst).writer(), s);
    } else {
        dst.reserve(s.len() + 2);
        dst.extend_from_slice(b"\"");
        dst.extend_from_slice(s.as_bytes());
        dst.extend_from_slice(b"\"");
    }
}

fn take(buf: &mut Bytes, n: usize, what: &'static str) -> Result<Bytes, ProtoError> {
    if buf.len() < n {
        return Err(ProtoError::BinaryHeaderTruncated { what });
    }
    Ok(buf.split_to(n))
}

fn take_slice<'a>(
    buf: &mut &'a [u8],
    n: usize,
    what: &'static str,
) -> Result<&'a [u8], ProtoError> {
    if buf.len() < n {
        return Err(ProtoError::BinaryHeaderTruncated { what });
    }
    let (piece, rest) = buf.split_at(n);
    *buf = rest;
    Ok(piece)
}

fn take_i32(buf: &mut impl Buf, what: &'static str) -> Result<i32, ProtoError> {
    if buf.remaining() < 4 {
        return Err(ProtoError::BinaryHeaderTruncated { what });
    }
    Ok(buf.get_i32())
}

fn take_len(buf: &mut impl Buf, what: &'static str) -> Result<usize, ProtoError> {
    let n = take_i32(buf, what)?;
    if n < 0 || n as usize > buf.remaining() {
        return Err(ProtoError::BinaryHeaderTruncated { what });
    }
    Ok(n as usize)
}

fn str_of<'a>(b: &'a [u8], what: &'static str) -> Result<&'a str, ProtoError> {
    std::str::from_utf8(b).map_err(|_| ProtoError::NotUtf8 { what })
}

fn utf8(b: Bytes, what: &'static str) -> Result<String, ProtoError> {
    String::from_utf8(b.to_vec()).map_err(|_| ProtoError::NotUtf8 { what })
}

fn decode_binary_header(mut h: Bytes) -> Result<RemotingCommand, ProtoError> {
    if h.len() < 21 {
        return Err(ProtoError::BinaryHeaderTruncated { what: "fixed part" });
    }
    let code = i32::from(h.get_i16());
    let language = LanguageCode(h.get_u8());
    let version = i32::from(h.get_i16());
    let opaque = h.get_i32();
    let flag = h.get_i32();
    let remark_len = take_len(&mut h, "remark length")?;
    let remark = if remark_len == 0 {
        None
    } else {
        Some(utf8(take(&mut h, remark_len, "remark")?, "remark")?)
    };
    let ext_len = take_len(&mut h, "ext length")?;
    let ext_block = take(&mut h, ext_len, "ext fields")?;
    // Read as a slice: no reference count moves per key and value.
    let mut ext_bytes: &[u8] = &ext_block;
    let mut ext = ExtBuilder::with_capacity(16);
    while ext_bytes.has_remaining() {
        if ext_bytes.len() < 2 {
            return Err(ProtoError::BinaryHeaderTruncated {
                what: "ext key length",
            });
        }
        let klen = ext_bytes.get_i16();
        if klen < 0 {
            return Err(ProtoError::BinaryHeaderTruncated {
                what: "ext key length",
            });
        }
        let key = take_slice(&mut ext_bytes, klen as usize, "ext key")?;
        let vlen = take_len(&mut ext_bytes, "ext value length")?;
        let value = take_slice(&mut ext_bytes, vlen, "ext value")?;
        if key.is_empty() || value.is_empty() {
            // Java decodes a zero-length string as null and drops nulls when re-encoding.
            continue;
        }
        if ext.len() >= MAX_EXT_FIELDS {
            return Err(ProtoError::TooManyFields {
                limit: MAX_EXT_FIELDS,
            });
        }
        ext.put(
            str_of(key, "ext key")?,
            CompactString::new(str_of(value, "ext value")?),
        );
    }
    let ext = ext.finish();
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields: ext,
        serialize_type: SerializeType::RocketMq,
        ..Default::default()
    })
}

fn write_binary_header(cmd: &RemotingCommand, dst: &mut BytesMut) {
    dst.put_i16(cmd.code as i16);
    dst.put_u8(cmd.language.0);
    dst.put_i16(cmd.version as i16);
    dst.put_i32(cmd.opaque);
    dst.put_i32(cmd.flag);
    match &cmd.remark {
        Some(r) if !r.is_empty() => {
            dst.put_i32(r.len() as i32);
            dst.put_slice(r.as_bytes());
        }
        _ => dst.put_i32(0),
    }
    let ext_len: usize = cmd
        .ext_fields
        .iter()
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .map(|(k, v)| 2 + k.len() + 4 + v.len())
        .sum();
    dst.put_i32(ext_len as i32);
    for (k, v) in cmd.ext_fields.iter() {
        if k.is_empty() || v.is_empty() {
            continue;
        }
        dst.put_i16(k.len() as i16);
        dst.put_slice(k.as_bytes());
        dst.put_i32(v.len() as i32);
        dst.put_slice(v.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(kind: SerializeType) -> RemotingCommand {
        let mut c = RemotingCommand {
            code: 0,
            language: LanguageCode::JAVA,
            version: 479,
            opaque: 7,
            flag: 1,
            serialize_type: kind,
            ..Default::default()
        };
        c.ext_fields.insert("queueId", "1");
        c
    }

    #[test]
    fn binary_header_matches_worked_example() {
        // wire-protocol.md 1.4: 43 bytes in total.
        let bytes = sample(SerializeType::RocketMq).to_bytes();
        let expected: Vec<u8> = vec![
            0x00, 0x00, 0x00, 0x27, 0x01, 0x00, 0x00, 0x23, 0x00, 0x00, 0x00, 0x01, 0xDF, 0x00,
            0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x0E, 0x00, 0x07, b'q', b'u', b'e', b'u', b'e', b'I', b'd', 0x00, 0x00, 0x00, 0x01,
            b'1',
        ];
        assert_eq!(bytes.as_ref(), expected.as_slice());
    }

    #[test]
    fn needs_escape_agrees_with_a_byte_loop() {
        let reference = |s: &str| s.bytes().any(|c| c == b'"' || c == b'\\' || c < 0x20);
        for len in 0..40 {
            let plain: String = "aé-Z~0".chars().cycle().take(len).collect();
            assert!(!needs_escape(&plain), "{plain:?}");
            for at in 0..plain.chars().count() {
                for stop in ['"', '\\', '\u{0}', '\u{1}', '\u{1f}', '\n'] {
                    let s: String = plain
                        .chars()
                        .enumerate()
                        .map(|(i, c)| if i == at { stop } else { c })
                        .collect();
                    assert_eq!(needs_escape(&s), reference(&s), "{s:?}");
                    assert!(needs_escape(&s), "{s:?}");
                }
            }
        }
        assert!(!needs_escape("\u{7f} \u{80}\u{ff}\u{10ffff}"));
    }

    #[test]
    fn json_header_pinned() {
        let bytes = sample(SerializeType::Json).to_bytes();
        let text = std::str::from_utf8(&bytes[8..]).unwrap();
        assert_eq!(
            text,
            r#"{"code":0,"extFields":{"queueId":"1"},"flag":1,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}"#
        );
        assert_eq!(&bytes[..4], &(bytes.len() as u32 - 4).to_be_bytes());
    }

    #[test]
    fn round_trip_both_encodings_with_body() {
        for kind in [SerializeType::Json, SerializeType::RocketMq] {
            let mut c = sample(kind);
            c.remark = Some("héllo \"quoted\"".into());
            c.body = Bytes::from_static(b"payload");
            c.body_tail = vec![Bytes::from_static(b"-tail")];
            let mut buf = BytesMut::from(&c.to_bytes()[..]);
            let d = RemotingCommand::decode(&mut buf, DEFAULT_MAX_FRAME)
                .unwrap()
                .unwrap();
            assert!(buf.is_empty());
            assert_eq!(d.code, 0);
            assert_eq!(d.opaque, 7);
            assert_eq!(d.version, 479);
            assert_eq!(d.remark.as_deref(), Some("héllo \"quoted\""));
            assert_eq!(d.ext_fields.get("queueId"), Some("1"));
            assert_eq!(&d.body[..], b"payload-tail");
            assert_eq!(d.serialize_type, kind);
            assert!(d.is_response());
        }
    }

    #[test]
    fn every_truncation_is_incomplete_not_error() {
        for kind in [SerializeType::Json, SerializeType::RocketMq] {
            let full = sample(kind)
                .with_body(Bytes::from_static(b"xyz"))
                .to_bytes();
            for cut in 0..full.len() {
                let mut buf = BytesMut::from(&full[..cut]);
                assert!(RemotingCommand::decode(&mut buf, DEFAULT_MAX_FRAME)
                    .unwrap()
                    .is_none());
            }
        }
    }

    #[test]
    fn corrupted_headers_are_errors_not_panics() {
        let full = sample(SerializeType::RocketMq).to_bytes();
        // Shrink the announced header: every field boundary must fail cleanly.
        for hl in 0..35u32 {
            let mut f = full[4..].to_vec();
            f[1..4].copy_from_slice(&hl.to_be_bytes()[1..]);
            let _ = RemotingCommand::decode_frame(Bytes::from(f));
        }
        // Flip every byte of the header to 0xFF.
        for i in 4..full.len() {
            let mut f = full[4..].to_vec();
            f[i - 4] = 0xFF;
            let _ = RemotingCommand::decode_frame(Bytes::from(f));
        }
        let mut garbage = BytesMut::from(&b"\x00\x00\x00\x06\x00\x00\x00\x02{x"[..]);
        assert!(RemotingCommand::decode(&mut garbage, DEFAULT_MAX_FRAME).is_err());
    }

    #[test]
    fn headers_with_too_many_fields_are_rejected() {
        for kind in [SerializeType::Json, SerializeType::RocketMq] {
            let mut c = sample(kind);
            for i in 0..=MAX_EXT_FIELDS {
                c.ext_fields.insert(format!("k{i}"), "v");
            }
            let bytes = c.to_bytes();
            assert!(
                RemotingCommand::decode_frame(bytes.slice(4..)).is_err(),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn oversized_and_negative_lengths_are_rejected() {
        let mut big = BytesMut::from(&[0x01, 0x00, 0x00, 0x00][..]);
        assert!(matches!(
            RemotingCommand::decode(&mut big, DEFAULT_MAX_FRAME),
            Err(ProtoError::FrameTooLarge { .. })
        ));
        let mut neg = BytesMut::from(&[0xFF, 0xFF, 0xFF, 0xFF][..]);
        assert!(RemotingCommand::decode(&mut neg, DEFAULT_MAX_FRAME).is_err());
    }

    #[test]
    fn json_tolerates_cpp_client_quirks() {
        // Shape the C++ client sends (wire-protocol.md 6.12 item 11): language name, empty remark,
        // extra ext fields, and numbers are accepted too.
        let json = br#"{"code":105,"extFields":{"AccessKey":"","OnsChannel":"ALIYUN","Signature":"x","topic":"T","n":5},"flag":0,"language":"CPP","opaque":0,"remark":"","version":63}"#;
        let mut frame = BytesMut::new();
        frame.put_u32(4 + json.len() as u32);
        frame.put_u32(json.len() as u32);
        frame.put_slice(json);
        let c = RemotingCommand::decode(&mut frame, DEFAULT_MAX_FRAME)
            .unwrap()
            .unwrap();
        assert_eq!(c.code, 105);
        assert_eq!(c.language.name(), "CPP");
        assert_eq!(c.remark, None);
        assert_eq!(c.ext_fields.get("topic"), Some("T"));
        assert_eq!(c.ext_fields.get("n"), Some("5"));
    }

    #[test]
    fn json_ext_values_become_text_and_nulls_are_dropped() {
        let json = br#"{"code":1,"language":12,"extFields":{"s":"x\"y","i":-7,"u":18446744073709551615,"f":1.5,"b":true,"nul":null,"o":{"k":[1,2]},"d":"first","d":null},"opaque":3}"#;
        let c = RemotingCommand::decode_frame(Bytes::from(
            [&(json.len() as u32).to_be_bytes()[..], json].concat(),
        ))
        .unwrap();
        assert_eq!(c.language, LanguageCode::RUST);
        assert_eq!(c.ext_fields.get("s"), Some("x\"y"));
        assert_eq!(c.ext_fields.get("i"), Some("-7"));
        assert_eq!(c.ext_fields.get("u"), Some("18446744073709551615"));
        assert_eq!(c.ext_fields.get("f"), Some("1.5"));
        assert_eq!(c.ext_fields.get("b"), Some("true"));
        assert_eq!(c.ext_fields.get("nul"), None);
        assert_eq!(c.ext_fields.get("o"), Some(r#"{"k":[1,2]}"#));
        assert_eq!(c.ext_fields.get("d"), None);
        assert_eq!(c.ext_fields.len(), 6);
        assert!(RemotingCommand::decode_frame(Bytes::from(
            [&[0u8, 0, 0, 15][..], br#"{"language":[]}"#].concat()
        ))
        .is_err());
    }

    #[test]
    fn an_announced_frame_reserves_memory_as_its_bytes_arrive() {
        // 16 MiB announced, 8 bytes sent: no 16 MiB buffer.
        let mut buf = BytesMut::new();
        buf.put_i32(16 * 1024 * 1024 - 4);
        buf.put_u32(0x0100_0010);
        assert!(RemotingCommand::decode(&mut buf, DEFAULT_MAX_FRAME)
            .unwrap()
            .is_none());
        assert!(buf.capacity() <= 2 * FIRST_RESERVE, "{}", buf.capacity());
    }

    #[test]
    fn headers_over_the_limit_are_refused_before_the_frame_arrives() {
        let mut buf = BytesMut::new();
        buf.put_i32(100_000);
        buf.put_u32(0x0100_0000 | 90_000);
        let e =
            RemotingCommand::decode_limited(&mut buf, DEFAULT_MAX_FRAME, 64 * 1024).unwrap_err();
        assert!(
            matches!(
                e,
                ProtoError::HeaderTooLarge {
                    header_length: 90_000,
                    ..
                }
            ),
            "{e}"
        );
        // A whole frame within both limits still decodes.
        let cmd = RemotingCommand::bare_request(10).with_body(Bytes::from_static(b"x"));
        let mut buf = BytesMut::new();
        cmd.encode(&mut buf);
        let back = RemotingCommand::decode_limited(&mut buf, DEFAULT_MAX_FRAME, 64 * 1024)
            .unwrap()
            .unwrap();
        assert_eq!(back.code, 10);
    }
}
