//! FerroMQ's client library: producers, push and lite-pull consumers and admin calls, speaking
//! RocketMQ's remoting protocol to name servers and brokers (FerroMQ's or Apache RocketMQ's).
//!
//! ```text
//!                    ┌──────────── NameServerList (`a:9876;b:9876`, or env NAMESRV_ADDR)
//!                    ▼
//! Producer ─────────┐   ClientInstance (one per instance name): connections, RouteCache (30 s),
//! PushConsumer ─────┼─▶ heartbeat (30 s), broker→client requests (NOTIFY_CONSUMER_IDS_CHANGED)
//! LitePullConsumer ─┘
//! AdminClient, PullConsumer: plain typed calls over an Rpc
//! ```
//!
//! * [`Producer`]: `send` (wait for the result), `send_async` (a future) and
//!   `send_with_callback` with back-pressure, `send_oneway`, `send_with_selector` /
//!   `send_orderly` (sharding key), `send_to_queue`, `send_batch` / `send_batch_split`; retries
//!   on another broker, optional latency fault tolerance, zlib compression over 4 KiB.
//! * [`PushConsumer`]: subscriptions with tag expressions, clustering or broadcasting, a
//!   concurrent or orderly listener (an async closure), RocketMQ's flow control, rebalancing
//!   with the [`allocate`] strategies, offsets committed every 5 s and at shutdown, orderly
//!   queue locks, retries through CONSUMER_SEND_MSG_BACK or locally, a uniform [`rate_limit`]
//!   pacer per topic.
//! * [`LitePullConsumer`]: `subscribe` or `assign`, `poll`, `seek`, auto or manual commit.
//! * [`AdminClient`] and [`PullConsumer`]: one call per request, for tools.
//!
//! Errors are one enum, [`ClientError`]; a peer's error response is [`ClientError::Broker`],
//! displayed with RocketMQ's code name.

pub mod admin;
mod admin_auth;
pub mod allocate;
mod broker_api;
mod client_calls;
pub mod client_id;
pub mod consumer;
mod encode;
pub mod error;
pub mod fault;
pub mod instance;
pub mod listener;
pub mod lite;
pub mod message;
pub mod namesrv;
mod offset_store;
pub mod priority;
pub mod producer;
pub mod push;
pub mod rate_limit;
pub mod request;
pub mod route;
pub mod rpc;
pub mod selector;
mod trace;
pub mod transaction;

pub use admin::AdminClient;
pub use allocate::{
    AllocateStrategy, Averagely, AveragelyByCircle, ByConfig, ByMachineRoom, ConsistentHash,
};
pub use consumer::{MessageSelector, PullConsumer, PullConsumerBuilder, PullResult, PullStatus};
pub use encode::split_batch;
pub use error::{code_name, ClientError};
pub use ferromq_net::tls::{ServerTrust, TlsClient, TlsError};
pub use ferromq_proto::body::MessageModel;
pub use ferromq_proto::body::MessageQueue;
pub use ferromq_proto::message::MessageExt;
pub use listener::{ConsumeContext, ConsumeStatus, OrderlyStatus};
pub use lite::{LitePullConsumer, LitePullConsumerBuilder};
pub use message::{Message, SendResult, SendStatus};
pub use namesrv::{NameServerList, NAMESRV_ADDR_ENV};
pub use producer::{Producer, ProducerBuilder, SendFuture};
pub use push::{ConsumeFrom, PushConsumer, PushConsumerBuilder, QueueStats};
pub use request::{create_reply, ReplyFuture};
pub use rpc::{Credentials, Rpc};
pub use selector::{QueueSelector, SelectByHash, SelectByRandom};
pub use transaction::{LocalTransactionState, TransactionProducer, TransactionSendResult};
