//! The SEND_BATCH_MESSAGE body (`wire-protocol.md` 3.2): one short record per inner message.
//!
//! ```text
//! TOTALSIZE i32 | MAGIC i32 (0) | BODYCRC i32 (0) | FLAG i32 | BODYLEN i32 | BODY | PROPLEN i16 | PROPS
//! ```
//! Like Java's `MessageDecoder.decodesBatch`, the decoder reads but does not trust TOTALSIZE,
//! MAGIC and BODYCRC: each item's extent comes from its body and properties lengths.

use bytes::{BufMut, Bytes, BytesMut};

use super::properties::MAX_PROPERTIES_LEN;
use super::MessageCodecError;

/// Fixed bytes of one batch item: TOTALSIZE, MAGIC, BODYCRC, FLAG, BODYLEN, PROPLEN.
pub const BATCH_ITEM_OVERHEAD: usize = 4 + 4 + 4 + 4 + 4 + 2;

/// One message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    /// User flag.
    pub flag: i32,
    /// Body, a slice of the batch body (never compressed).
    pub body: Bytes,
    /// Raw properties string of this message (it carries its own `UNIQ_KEY`).
    pub properties: String,
}

fn read<const N: usize>(
    buf: &[u8],
    pos: usize,
    what: &'static str,
    start: usize,
) -> Result<[u8; N], MessageCodecError> {
    buf.get(pos..pos + N)
        .and_then(|s| s.try_into().ok())
        .ok_or(MessageCodecError::Truncated {
            what,
            needed: pos + N - start,
            available: buf.len() - start,
        })
}

/// Decodes a batch body into its messages. An empty body gives an empty list. Errors when an
/// item is cut short, a length is negative or properties are not UTF-8.
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchItem>, MessageCodecError> {
    let mut items = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let start = pos;
        // TOTALSIZE, MAGIC and BODYCRC are ignored, as Java does.
        let _ = read::<12>(body, pos, "batch item header", start)?;
        pos += 12;
        let flag = i32::from_be_bytes(read(body, pos, "FLAG", start)?);
        pos += 4;
        let body_len = i32::from_be_bytes(read(body, pos, "BODY length", start)?);
        pos += 4;
        let body_len = usize::try_from(body_len).map_err(|_| MessageCodecError::InvalidLength {
            what: "BODY length",
            value: i64::from(body_len),
        })?;
        let body_end = pos
            .checked_add(body_len)
            .filter(|&e| e <= body.len())
            .ok_or(MessageCodecError::Truncated {
                what: "BODY",
                needed: (pos - start).saturating_add(body_len),
                available: body.len() - start,
            })?;
        let item_body = body.slice(pos..body_end);
        pos = body_end;
        let props_len = i16::from_be_bytes(read(body, pos, "PROPERTIES length", start)?);
        pos += 2;
        let props_len =
            usize::try_from(props_len).map_err(|_| MessageCodecError::InvalidLength {
                what: "PROPERTIES length",
                value: i64::from(props_len),
            })?;
        let props = body
            .get(pos..pos + props_len)
            .ok_or(MessageCodecError::Truncated {
                what: "PROPERTIES",
                needed: pos + props_len - start,
                available: body.len() - start,
            })?;
        let properties = std::str::from_utf8(props)
            .map_err(|_| MessageCodecError::NotUtf8 { what: "PROPERTIES" })?
            .to_owned();
        pos += props_len;
        items.push(BatchItem {
            flag,
            body: item_body,
            properties,
        });
    }
    Ok(items)
}

/// Appends one batch item as the Java client writes it (`MessageDecoder.encodeMessage`: MAGIC and
/// BODYCRC 0). Errors when the properties exceed 32 767 bytes or the item exceeds `i32::MAX`.
pub fn encode_batch_item(
    dst: &mut BytesMut,
    flag: i32,
    body: &[u8],
    properties: &str,
) -> Result<(), MessageCodecError> {
    if properties.len() > MAX_PROPERTIES_LEN {
        return Err(MessageCodecError::TooLong {
            what: "properties",
            len: properties.len(),
            max: MAX_PROPERTIES_LEN,
        });
    }
    let size = BATCH_ITEM_OVERHEAD + body.len() + properties.len();
    if size > i32::MAX as usize {
        return Err(MessageCodecError::TooLong {
            what: "batch item",
            len: size,
            max: i32::MAX as usize,
        });
    }
    dst.reserve(size);
    dst.put_i32(size as i32);
    dst.put_i32(0);
    dst.put_i32(0);
    dst.put_i32(flag);
    dst.put_i32(body.len() as i32);
    dst.put_slice(body);
    dst.put_i16(properties.len() as i16);
    dst.put_slice(properties.as_bytes());
    Ok(())
}

/// Encodes `items` as a batch body.
pub fn encode_batch(items: &[BatchItem]) -> Result<Bytes, MessageCodecError> {
    let mut dst = BytesMut::new();
    for item in items {
        encode_batch_item(&mut dst, item.flag, &item.body, &item.properties)?;
    }
    Ok(dst.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<BatchItem> {
        vec![
            BatchItem {
                flag: 7,
                body: Bytes::from_static(b"one"),
                properties: "UNIQ_KEY\u{1}A\u{2}".to_owned(),
            },
            BatchItem {
                flag: 0,
                body: Bytes::new(),
                properties: String::new(),
            },
        ]
    }

    #[test]
    fn round_trip() {
        let body = encode_batch(&items()).unwrap();
        assert_eq!(decode_batch(&body).unwrap(), items());
        assert!(decode_batch(&Bytes::new()).unwrap().is_empty());
    }

    #[test]
    fn pinned_bytes() {
        let body = encode_batch(&items()[..1]).unwrap();
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[0, 0, 0, 36][..],  // TOTALSIZE = 22 + 3 + 11
            &[0, 0, 0, 0],       // MAGIC
            &[0, 0, 0, 0],       // BODYCRC
            &[0, 0, 0, 7],       // FLAG
            &[0, 0, 0, 3], b"one",
            &[0, 11], b"UNIQ_KEY\x01A\x02",
        ]
        .concat();
        assert_eq!(&body[..], &expected[..]);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let body = encode_batch(&items()[..1]).unwrap();
        for cut in 1..body.len() {
            assert!(decode_batch(&body.slice(..cut)).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn total_size_is_not_trusted_but_lengths_are() {
        let mut raw = encode_batch(&items()[..1]).unwrap().to_vec();
        raw[0..4].copy_from_slice(&999i32.to_be_bytes());
        assert_eq!(decode_batch(&Bytes::from(raw.clone())).unwrap().len(), 1);
        raw[16..20].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(matches!(
            decode_batch(&Bytes::from(raw)),
            Err(MessageCodecError::InvalidLength { .. })
        ));
    }

    #[test]
    fn bodies_are_slices_of_the_batch() {
        let body = encode_batch(&items()).unwrap();
        let decoded = decode_batch(&body).unwrap();
        let p = decoded[0].body.as_ptr() as usize;
        assert!(p >= body.as_ptr() as usize && p < body.as_ptr() as usize + body.len());
    }
}
