//! JSON bodies of the remoting protocol, as Java's fastjson 1.2.x writes and reads them.
//!
//! ```text
//! bytes ──fastjson::normalize──▶ standard JSON ──serde_json──▶ typed body
//! typed body ──JsonBody::to_json──▶ bytes (fastjson's key order, no whitespace)
//! ```
//!
//! **Reading.** Every body first goes through [`fastjson::normalize`], which rewrites the two
//! non-standard map forms fastjson emits — bare number keys `{0:"a"}` and object keys
//! `{{"brokerName":"b","queueId":0,"topic":"T"}:{..}}` — into standard JSON; serde_json then
//! decodes it. Decoders are as tolerant as fastjson: unknown keys are ignored, absent keys take the
//! Java field's initial value, enum names match ignoring ASCII case and unknown names are kept
//! verbatim ([`ConsumeType::Other`] and friends). Bodies that non-Java clients send (heartbeat,
//! lock, check-client) also accept `null` for collections and numbers written as strings (the C++
//! client writes `subVersion` as a string, the Go client writes `codeSet` entries as strings).
//!
//! **Writing.** Keys in alphabetical order without whitespace, as fastjson does. Route and cluster
//! data use quoted number keys (`{"0":"addr"}`): standard JSON, which jsoncpp in the C++ client
//! requires. Maps keyed by [`MessageQueue`] ([`TopicStatsTable`], [`ConsumeStats`],
//! [`ResetOffsetBody`]) use the object-key form a Java broker sends, which fastjson's
//! `MapDeserializer` reads back; their `serde::Serialize` impls instead give the standard form
//! with the key's JSON text as a string key, which fastjson also accepts.
//!
//! | module | bodies |
//! |---|---|
//! | [`queue`] | [`MessageQueue`] |
//! | [`topic`] | [`DataVersion`], [`TopicConfig`], [`TopicConfigSerializeWrapper`] (`topics.json`), [`TopicList`] |
//! | [`register`] | [`RegisterBrokerBody`], plain and zlib-compressed |
//! | [`route`] | [`QueueData`], [`BrokerData`], [`TopicRouteData`] |
//! | [`cluster`] | [`ClusterInfo`] |
//! | [`stats`] | [`TopicOffset`], [`TopicStatsTable`], [`OffsetWrapper`], [`ConsumeStats`] |
//! | [`heartbeat`] | [`HeartbeatData`], [`ConsumerData`], [`ProducerData`], [`SubscriptionData`], [`CheckClientRequestBody`] and the enums |
//! | [`consumer`] | connections, group and consumer lists, lock bodies, [`ResetOffsetBody`] |
//! | [`kv`] | [`KVTable`] |
//! | [`subscription`] | [`SubscriptionGroupConfig`], [`SubscriptionGroupWrapper`] (`subscriptionGroup.json`) |
//! | [`offsets`] | [`ConsumerOffsetWrapper`] (`consumerOffset.json`), [`DelayOffsetTable`] (`delayOffset.json`) |

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Declares an enum that travels as its Java constant name, with a fallback variant that keeps
/// names this version does not know, so they survive a decode/encode round trip.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
        default = $default:ident;
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A name this version does not know, kept verbatim and written back unchanged.
            Other(String),
        }

        impl $name {
            /// The Java constant's name, as written on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )+
                    Self::Other(name) => name,
                }
            }

            /// Matches `name` against the Java names ignoring ASCII case, as fastjson's enum
            /// reader does (the Go client sends `Clustering`); anything else is kept in `Other`.
            pub fn from_name(name: &str) -> Self {
                $( if name.eq_ignore_ascii_case($text) { return Self::$variant; } )+
                Self::Other(name.to_owned())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::$default
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl $name {
            /// The variant with Java ordinal `ordinal` (declaration order); the C++ client sends
            /// enums as ordinals.
            pub fn from_ordinal(ordinal: i64) -> Self {
                const ALL: &[$name] = &[$( $name::$variant, )+];
                usize::try_from(ordinal)
                    .ok()
                    .and_then(|i| ALL.get(i).cloned())
                    .unwrap_or_else(|| Self::Other(ordinal.to_string()))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                #[derive(serde::Deserialize)]
                #[serde(untagged)]
                enum NameOrOrdinal {
                    Name(String),
                    Ordinal(i64),
                }
                Ok(match NameOrOrdinal::deserialize(deserializer)? {
                    NameOrOrdinal::Name(name) => Self::from_name(&name),
                    NameOrOrdinal::Ordinal(n) => Self::from_ordinal(n),
                })
            }
        }
    };
}

pub mod auth;
pub mod broker_stats;
pub mod cluster;
pub mod consumer;
mod de;
pub mod dlq;
pub mod fastjson;
pub mod ha;
pub mod heartbeat;
pub mod kv;
pub mod offsets;
pub mod queue;
pub mod quota;
pub mod register;
pub mod route;
pub mod running;
pub mod stats;
pub mod subscription;
pub mod topic;

pub use auth::{AclInfo, PolicyEntryInfo, PolicyInfo, UserInfo};
pub use broker_stats::{
    BrokerStatsData, BrokerStatsItem, ConsumeQueueData, QueryConsumeQueueResponseBody,
};
pub use cluster::ClusterInfo;
pub use consumer::{
    Connection, ConsumerConnection, GetConsumerListByGroupResponseBody, GroupList,
    LockBatchRequestBody, LockBatchResponseBody, ProducerConnection, ResetOffsetBody,
    UnlockBatchRequestBody,
};
pub use ha::{HaClientRuntimeInfo, HaConnectionRuntimeInfo, HaRuntimeInfo};
pub use heartbeat::{
    CheckClientRequestBody, ConsumeFromWhere, ConsumeType, ConsumerData, ExpressionType,
    HeartbeatData, MessageModel, ProducerData, SubscriptionData,
};
pub use kv::KVTable;
pub use offsets::{ConsumerOffsetWrapper, DelayOffsetTable};
pub use queue::MessageQueue;
pub use register::RegisterBrokerBody;
pub use route::{BrokerData, QueueData, TopicRouteData};
pub use running::{
    CMResult, ConsumeMessageDirectlyResult, ConsumeStatus, ConsumerRunningInfo, ProcessQueueInfo,
};
pub use stats::{ConsumeStats, ConsumeStatsList, OffsetWrapper, TopicOffset, TopicStatsTable};
pub use subscription::{GroupRetryPolicy, SubscriptionGroupConfig, SubscriptionGroupWrapper};
pub use topic::{
    CreateTopicListRequestBody, DataVersion, TopicConfig, TopicConfigSerializeWrapper,
    TopicFilterType, TopicList,
};

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is not UTF-8 (this includes a body cut inside a multi-byte character).
    #[error("body is not valid UTF-8")]
    NotUtf8 {
        #[source]
        source: std::str::Utf8Error,
    },
    /// The body is not JSON, even by fastjson's looser rules; a truncated body lands here.
    #[error("malformed JSON at byte {offset}: {reason}")]
    Syntax { offset: usize, reason: &'static str },
    /// The body is JSON but does not have the shape of `body` (wrong value types, bad keys).
    #[error("cannot decode {body}")]
    Decode {
        body: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A zlib-compressed REGISTER_BROKER body whose inflated content is malformed.
    #[error("compressed register body: {reason}")]
    Compressed { reason: &'static str },
    /// A zlib-compressed REGISTER_BROKER body that does not inflate.
    #[error("compressed register body does not inflate")]
    Inflate {
        #[source]
        source: std::io::Error,
    },
}

/// A JSON body: encoding as a Java peer writes it, decoding whatever a Java, C++ or Go peer sends.
pub trait JsonBody: Serialize + DeserializeOwned {
    /// Returns the body's bytes: standard JSON (quoted number keys) with keys in fastjson's
    /// alphabetical order, except that maps keyed by [`MessageQueue`] use fastjson's object-key
    /// form.
    fn to_json(&self) -> Vec<u8> {
        fastjson::to_vec(self)
    }

    /// Decodes a body in standard JSON or in any of fastjson's forms.
    ///
    /// Returns [`BodyError`] for non-UTF-8 input, malformed or truncated JSON, and JSON whose
    /// values have the wrong types. Unknown keys are ignored; absent keys take their defaults.
    fn from_json(bytes: &[u8]) -> Result<Self, BodyError> {
        fastjson::from_slice(bytes)
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::JsonBody;
    use std::fmt::Debug;

    /// Decodes `full`, then checks that every strict prefix of it is an error (and not a panic).
    pub(crate) fn every_prefix_fails<T: JsonBody + Debug>(full: &[u8]) {
        if let Err(e) = T::from_json(full) {
            panic!("the full body does not decode: {e:?}");
        }
        for end in 0..full.len() {
            assert!(
                T::from_json(&full[..end]).is_err(),
                "a prefix of {end} of {} bytes decoded",
                full.len()
            );
        }
    }

    /// Encodes `value`, decodes the bytes and checks that the same value comes back.
    pub(crate) fn round_trip<T: JsonBody + PartialEq + Debug>(value: &T) {
        let bytes = value.to_json();
        let back = T::from_json(&bytes).unwrap();
        assert_eq!(&back, value, "{}", String::from_utf8_lossy(&bytes));
    }

    /// Joins a wrapped example from the docs into one line (drops newlines and the indentation
    /// after them; the examples have no whitespace inside strings).
    pub(crate) fn one_line(wrapped: &str) -> String {
        wrapped.lines().map(str::trim).collect()
    }
}
