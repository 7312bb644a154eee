//! FerroMQ's client library: admin calls, a producer and a simple pull consumer, speaking
//! RocketMQ's remoting protocol to name servers and brokers.
//!
//! ```text
//!                    ┌──────────── NameServerList (`a:9876;b:9876`, or env NAMESRV_ADDR)
//!                    ▼
//! AdminClient ─┐   Rpc: connection pool + deadline; name servers tried in turn
//! Producer  ───┼─▶ RouteCache (GET_ROUTEINFO_BY_TOPIC, 30 s) ─▶ broker addresses, queue lists
//! PullConsumer ┘
//! ```
//!
//! * [`AdminClient`]: one typed async call per admin request (route, cluster info, topic list,
//!   create/delete topic, stats, runtime info, consume stats, connections, KV config).
//! * [`Producer`]: `send` (SEND_MESSAGE_V2, round robin over the writable queues of masters,
//!   retries on another broker for RocketMQ's retry codes), `send_to_queue`, `send_batch`.
//! * [`PullConsumer`]: `fetch_queues`, `pull`, offsets, heartbeats.
//!
//! Errors are one enum, [`ClientError`]; a peer's error response is [`ClientError::Broker`],
//! displayed with RocketMQ's code name.

pub mod admin;
pub mod client_id;
pub mod consumer;
pub mod error;
pub mod message;
pub mod namesrv;
pub mod producer;
pub mod route;
pub mod rpc;

pub use admin::AdminClient;
pub use consumer::{PullConsumer, PullConsumerBuilder, PullResult, PullStatus};
pub use error::{code_name, ClientError};
pub use ferromq_proto::body::MessageQueue;
pub use ferromq_proto::message::MessageExt;
pub use message::{Message, SendResult, SendStatus};
pub use namesrv::{NameServerList, NAMESRV_ADDR_ENV};
pub use producer::{Producer, ProducerBuilder};
pub use rpc::Rpc;
