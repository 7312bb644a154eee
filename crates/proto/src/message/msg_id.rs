//! offsetMsgId, the broker's message id (`wire-protocol.md` 3.8): uppercase hex of the store
//! host address (4 or 16 bytes), its port (i32) and the commit-log offset (i64).
//!
//! ```text
//! 192.168.1.10:10911, offset 0x1234 -> C0A8010A 00002A9F 0000000000001234
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::record::canonical;
use super::MessageCodecError;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Length of an IPv4 offsetMsgId (and of an IPv4 UNIQ_KEY).
pub const IPV4_MSG_ID_LEN: usize = 32;
/// Length of an IPv6 offsetMsgId.
pub const IPV6_MSG_ID_LEN: usize = 56;

/// Appends `bytes` as uppercase hex, written on the stack up to 28 bytes (the longest id) at a
/// time and appended at once: a push per character cost every send response about 300
/// instructions.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.chunks(28) {
        let mut buf = [0u8; 56];
        for (pair, &b) in buf.chunks_exact_mut(2).zip(chunk) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 0xF)];
        }
        // Only HEX digits were written.
        out.push_str(std::str::from_utf8(&buf[..2 * chunk.len()]).unwrap_or_default());
    }
}

/// Appends the offsetMsgId of `addr` + `offset` to `out` (no allocation if `out` has room).
pub fn write_offset_msg_id(out: &mut String, addr: SocketAddr, offset: i64) {
    // The id's bytes gathered first, so they are turned into hex in one call (one call per
    // part cost a send response about 200 instructions more).
    let mut raw = [0u8; 28];
    let host = match canonical(addr).ip() {
        IpAddr::V4(ip) => {
            raw[..4].copy_from_slice(&ip.octets());
            4
        }
        IpAddr::V6(ip) => {
            raw[..16].copy_from_slice(&ip.octets());
            16
        }
    };
    raw[host..host + 4].copy_from_slice(&i32::from(addr.port()).to_be_bytes());
    raw[host + 4..host + 12].copy_from_slice(&offset.to_be_bytes());
    push_hex(out, &raw[..host + 12]);
}

/// The offsetMsgId of a record stored at commit-log `offset` by the broker at `addr`.
pub fn encode_offset_msg_id(addr: SocketAddr, offset: i64) -> String {
    let mut out = String::with_capacity(IPV6_MSG_ID_LEN);
    write_offset_msg_id(&mut out, addr, offset);
    out
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn invalid(id: &str, reason: &'static str) -> MessageCodecError {
    MessageCodecError::InvalidMsgId {
        id: id.to_owned(),
        reason,
    }
}

/// Decodes an offsetMsgId into the store host and commit-log offset. Like Java, 32 characters
/// mean IPv4; anything else must be the 56-character IPv6 form. Either case of hex is accepted.
pub fn decode_offset_msg_id(id: &str) -> Result<(SocketAddr, i64), MessageCodecError> {
    let ip_len = match id.len() {
        IPV4_MSG_ID_LEN => 4,
        IPV6_MSG_ID_LEN => 16,
        _ => return Err(invalid(id, "length is neither 32 nor 56")),
    };
    let mut bytes = [0u8; 28];
    for (slot, pair) in bytes.iter_mut().zip(id.as_bytes().chunks_exact(2)) {
        let hi = hex_value(pair[0]).ok_or_else(|| invalid(id, "not hexadecimal"))?;
        let lo = hex_value(pair[1]).ok_or_else(|| invalid(id, "not hexadecimal"))?;
        *slot = hi << 4 | lo;
    }
    let ip = if ip_len == 4 {
        let mut a = [0u8; 4];
        a.copy_from_slice(&bytes[..4]);
        IpAddr::V4(Ipv4Addr::from(a))
    } else {
        let mut a = [0u8; 16];
        a.copy_from_slice(&bytes[..16]);
        IpAddr::V6(Ipv6Addr::from(a))
    };
    let mut port = [0u8; 4];
    port.copy_from_slice(&bytes[ip_len..ip_len + 4]);
    let port = i32::from_be_bytes(port);
    let port = u16::try_from(port).map_err(|_| invalid(id, "port out of range"))?;
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&bytes[ip_len + 4..ip_len + 12]);
    Ok((SocketAddr::new(ip, port), i64::from_be_bytes(offset)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_example() {
        let addr: SocketAddr = "192.168.1.10:10911".parse().unwrap();
        let id = encode_offset_msg_id(addr, 0x1234);
        assert_eq!(id, "C0A8010A00002A9F0000000000001234");
        assert_eq!(decode_offset_msg_id(&id).unwrap(), (addr, 0x1234));
        assert_eq!(
            decode_offset_msg_id(&id.to_lowercase()).unwrap(),
            (addr, 0x1234)
        );
    }

    #[test]
    fn ipv6_round_trip() {
        let addr: SocketAddr = "[2001:db8::7]:10911".parse().unwrap();
        let id = encode_offset_msg_id(addr, i64::MAX);
        assert_eq!(id.len(), 56);
        assert!(id.starts_with("20010DB8"));
        assert_eq!(decode_offset_msg_id(&id).unwrap(), (addr, i64::MAX));
    }

    #[test]
    fn rejects_malformed_ids() {
        assert!(decode_offset_msg_id("").is_err());
        assert!(decode_offset_msg_id("C0A8010A00002A9F000000000000123").is_err());
        assert!(decode_offset_msg_id("G0A8010A00002A9F0000000000001234").is_err());
        assert!(decode_offset_msg_id("C0A8010AFFFFFFFF0000000000001234").is_err());
        // 32 bytes but multi-byte characters: not hex.
        assert!(decode_offset_msg_id("éé0A8010A00002A9F00000000000012").is_err());
        for cut in 0..32 {
            assert!(decode_offset_msg_id(&"C0A8010A00002A9F0000000000001234"[..cut]).is_err());
        }
    }
}
