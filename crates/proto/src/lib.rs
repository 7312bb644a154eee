//! RocketMQ's remoting protocol as pure data: no sockets, no runtime.
//!
//! ```text
//! frame := length:i32 | serializeType:u8 | headerLength:u24 | header | body
//! ```
//!
//! * [`command`] decodes and encodes whole frames into [`RemotingCommand`]s, with both header
//!   encodings (JSON and the ROCKETMQ binary form); a frame that is not complete yet is reported
//!   as `Ok(None)`, kept apart from malformed input.
//! * [`acl`] signs requests and checks signatures as RocketMQ 4.x ACL does (HMAC-SHA1).
//! * [`codes`] holds the request and response codes.
//! * [`header`] turns ext fields into typed headers and back; [`headers`] defines one struct per
//!   request family.
//! * [`body`] holds the JSON bodies exactly as Java's fastjson writes and reads them.
//! * [`message`] holds message encodings: the properties string, the stored record (which is also
//!   the pull wire format), batches, offsetMsgId and UNIQ_KEY.

pub mod acl;
pub mod body;
mod bytescan;
pub mod codes;
pub mod command;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod header;
pub mod headers;
mod json_scan;
pub mod message;
pub mod priority;
mod stop_index;

pub use command::{LanguageCode, RemotingCommand, SerializeType};
pub use error::ProtoError;
pub use header::{CommandHeader, ExtFields};
