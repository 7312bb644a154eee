//! The HA stream's frames (all integers big-endian). See the crate docs for the conversation.

use bytes::{Buf, BufMut, BytesMut};

use crate::epoch::Epoch;

/// First bytes of a slave's hello: "FMHA".
pub const MAGIC: [u8; 4] = *b"FMHA";
/// Protocol version this build speaks.
pub const VERSION: u16 = 2;
/// Size of a data frame's header: offset (8), length (4), master's log end (8).
pub const DATA_HEADER: usize = 20;
/// Size of an ack frame: the slave's log end.
pub const ACK: usize = 8;
/// Longest broker name accepted in a hello.
const MAX_NAME: usize = 255;
/// Longest refusal text.
const MAX_REASON: usize = 4096;
/// Most epochs a list may carry.
const MAX_EPOCHS: usize = 4096;

fn put_epochs(out: &mut BytesMut, epochs: &[Epoch]) {
    let n = epochs.len().min(MAX_EPOCHS);
    out.put_u16(n as u16);
    for e in &epochs[epochs.len() - n..] {
        out.put_i32(e.epoch);
        out.put_i64(e.start);
    }
}

/// An epoch list at the front of `b`: `Ok(None)` while incomplete, else the list and its size.
fn get_epochs(b: &[u8]) -> Result<Option<(Vec<Epoch>, usize)>, FrameError> {
    if b.len() < 2 {
        return Ok(None);
    }
    let n = u16::from_be_bytes([b[0], b[1]]) as usize;
    if n > MAX_EPOCHS {
        return Err(FrameError(format!("{n} epochs")));
    }
    let len = 2 + n * 12;
    if b.len() < len {
        return Ok(None);
    }
    let mut r = &b[2..len];
    let epochs = (0..n)
        .map(|_| Epoch {
            epoch: r.get_i32(),
            start: r.get_i64(),
        })
        .collect();
    Ok(Some((epochs, len)))
}

/// What a slave says first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub broker_name: String,
    pub broker_id: i64,
    /// The slave's `mappedFileSizeCommitLog`: both logs must cut segments at the same offsets.
    pub segment_size: i64,
    /// End of the slave's commit log (0 when empty).
    pub max_offset: i64,
    /// Start of the slave's commit log (its first byte kept).
    pub min_offset: i64,
    /// The epochs the slave's log holds data of (empty without a controller).
    pub epochs: Vec<Epoch>,
}

/// The master's answer to a hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelloReply {
    /// Data follows, from `start_offset`. When `truncate` is set the slave's log holds bytes
    /// past `start_offset` that the master does not: it must cut them before it appends.
    Accepted {
        start_offset: i64,
        master_max: i64,
        truncate: bool,
        /// The master's epochs, for the slave to keep.
        epochs: Vec<Epoch>,
    },
    /// The master will not replicate to this slave; the text says why.
    Refused { reason: String },
}

/// A frame that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed HA frame: {0}")]
pub struct FrameError(pub String);

fn need(buf: &[u8], n: usize) -> Option<()> {
    (buf.len() >= n).then_some(())
}

impl Hello {
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_slice(&MAGIC);
        out.put_u16(VERSION);
        out.put_u16(0);
        let name = &self.broker_name.as_bytes()[..self.broker_name.len().min(MAX_NAME)];
        out.put_u16(name.len() as u16);
        out.put_slice(name);
        out.put_i64(self.broker_id);
        out.put_i64(self.segment_size);
        out.put_i64(self.max_offset);
        out.put_i64(self.min_offset);
        put_epochs(out, &self.epochs);
    }

    /// Parses a hello from the front of `buf`: `Ok(None)` while incomplete, else the hello and
    /// the bytes it took.
    pub fn decode(buf: &[u8]) -> Result<Option<(Hello, usize)>, FrameError> {
        if need(buf, 10).is_none() {
            if buf.len() >= 4 && buf[..4] != MAGIC {
                return Err(FrameError("not a FerroMQ HA hello (bad magic)".into()));
            }
            return Ok(None);
        }
        let mut b = buf;
        if b[..4] != MAGIC {
            return Err(FrameError("not a FerroMQ HA hello (bad magic)".into()));
        }
        b.advance(4);
        let version = b.get_u16();
        if version != VERSION {
            return Err(FrameError(format!(
                "HA protocol version {version} (this broker speaks {VERSION})"
            )));
        }
        b.advance(2);
        let name_len = b.get_u16() as usize;
        if name_len > MAX_NAME {
            return Err(FrameError(format!("broker name of {name_len} bytes")));
        }
        if need(b, name_len + 32).is_none() {
            return Ok(None);
        }
        let broker_name = std::str::from_utf8(&b[..name_len])
            .map_err(|_| FrameError("broker name is not UTF-8".into()))?
            .to_owned();
        b.advance(name_len);
        let (broker_id, segment_size, max_offset, min_offset) =
            (b.get_i64(), b.get_i64(), b.get_i64(), b.get_i64());
        let Some((epochs, used)) = get_epochs(b)? else {
            return Ok(None);
        };
        let hello = Hello {
            broker_name,
            broker_id,
            segment_size,
            max_offset,
            min_offset,
            epochs,
        };
        Ok(Some((hello, 10 + name_len + 32 + used)))
    }
}

impl HelloReply {
    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            HelloReply::Accepted {
                start_offset,
                master_max,
                truncate,
                epochs,
            } => {
                out.put_u8(0);
                out.put_i64(*start_offset);
                out.put_i64(*master_max);
                out.put_u8(u8::from(*truncate));
                put_epochs(out, epochs);
            }
            HelloReply::Refused { reason } => {
                let r = &reason.as_bytes()[..floor_char_boundary(reason, MAX_REASON)];
                out.put_u8(1);
                out.put_u16(r.len() as u16);
                out.put_slice(r);
            }
        }
    }

    /// Parses a reply from the front of `buf`: `Ok(None)` while incomplete.
    pub fn decode(buf: &[u8]) -> Result<Option<(HelloReply, usize)>, FrameError> {
        let Some(&status) = buf.first() else {
            return Ok(None);
        };
        let mut b = &buf[1..];
        match status {
            0 => {
                if need(b, 17).is_none() {
                    return Ok(None);
                }
                let (start_offset, master_max, truncate) = (b.get_i64(), b.get_i64(), b.get_u8());
                let Some((epochs, used)) = get_epochs(b)? else {
                    return Ok(None);
                };
                Ok(Some((
                    HelloReply::Accepted {
                        start_offset,
                        master_max,
                        truncate: truncate != 0,
                        epochs,
                    },
                    18 + used,
                )))
            }
            1 => {
                if need(b, 2).is_none() {
                    return Ok(None);
                }
                let len = b.get_u16() as usize;
                if need(b, len).is_none() {
                    return Ok(None);
                }
                let reason = String::from_utf8_lossy(&b[..len]).into_owned();
                Ok(Some((HelloReply::Refused { reason }, 3 + len)))
            }
            other => Err(FrameError(format!("unknown hello reply status {other}"))),
        }
    }
}

/// The header of a data frame: `len` bytes of the master's log from `offset` follow; `len` 0 is
/// a heartbeat. `master_max` is the master's log end when it was sent (for lag reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataHeader {
    pub offset: i64,
    pub len: u32,
    pub master_max: i64,
}

impl DataHeader {
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_i64(self.offset);
        out.put_u32(self.len);
        out.put_i64(self.master_max);
    }

    pub fn decode(b: &[u8; DATA_HEADER]) -> DataHeader {
        let mut b = &b[..];
        DataHeader {
            offset: b.get_i64(),
            len: b.get_u32(),
            master_max: b.get_i64(),
        }
    }
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_round_trips_and_waits_for_more() {
        let h = Hello {
            broker_name: "broker-a".into(),
            broker_id: 1,
            segment_size: 1 << 30,
            max_offset: 12345,
            min_offset: 0,
            epochs: vec![
                Epoch { epoch: 1, start: 0 },
                Epoch {
                    epoch: 2,
                    start: 4096,
                },
            ],
        };
        let mut out = BytesMut::new();
        h.encode(&mut out);
        for cut in 0..out.len() {
            assert_eq!(Hello::decode(&out[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert_eq!(Hello::decode(&out).unwrap(), Some((h, out.len())));
    }

    #[test]
    fn bad_magic_and_version_are_refused() {
        assert!(Hello::decode(b"GET / HTTP/1.1\r\n").is_err());
        let mut out = BytesMut::new();
        out.put_slice(&MAGIC);
        out.put_u16(9);
        out.put_slice(&[0; 40]);
        let err = Hello::decode(&out).unwrap_err();
        assert!(err.0.contains("version 9"), "{err}");
    }

    #[test]
    fn replies_round_trip() {
        for r in [
            HelloReply::Accepted {
                start_offset: 7,
                master_max: 9,
                truncate: true,
                epochs: vec![Epoch { epoch: 3, start: 7 }],
            },
            HelloReply::Refused {
                reason: "brokerName mismatch".into(),
            },
        ] {
            let mut out = BytesMut::new();
            r.encode(&mut out);
            assert_eq!(HelloReply::decode(&out[..out.len() - 1]).unwrap(), None);
            assert_eq!(HelloReply::decode(&out).unwrap(), Some((r, out.len())));
        }
        assert!(HelloReply::decode(&[7]).is_err());
    }

    #[test]
    fn data_header_round_trips() {
        let h = DataHeader {
            offset: 1 << 40,
            len: 32768,
            master_max: (1 << 40) + 99,
        };
        let mut out = BytesMut::new();
        h.encode(&mut out);
        let arr: [u8; DATA_HEADER] = out[..].try_into().unwrap();
        assert_eq!(DataHeader::decode(&arr), h);
    }
}
