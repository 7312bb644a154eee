//! Admin operations as a library, shared by `mqadmin` and the dashboard.
//!
//! ```text
//! CLI / dashboard ─▶ operation (async fn, one module per command family) ─▶ AdminClient calls
//!                         │
//!                         ▼
//!                  report struct (data) ──Display──▶ exactly what RocketMQ's mqadmin prints
//! ```
//!
//! | module | commands (RocketMQ names) |
//! |---|---|
//! | [`topic`] | `updateTopic`, `deleteTopic`, `topicList`, `topicRoute`, `topicStatus`, `updateTopicPerm`, `topicClusterList`, `updateOrderConf`, `allocateMQ` |
//! | [`offset`] | `resetOffsetByTime`, `skipAccumulatedMessage`, `cloneGroupOffset` |
//! | [`broker_consume_stats`] | `brokerConsumeStats` |
//! | [`cluster`] | `clusterList` |
//! | [`auth`] | `createUser`, `updateUser`, `deleteUser`, `getUser`, `listUser`, `createAcl`, `updateAcl`, `deleteAcl`, `getAcl`, `listAcl` |
//! | [`broker`] | `brokerStatus` |
//! | [`broker_config`] | `getBrokerConfig` |
//! | [`consumer`] | `consumerProgress`, `consumerConnection`, `updateSubGroup`, `deleteSubGroup`, `getConsumerConfig` |
//! | [`producer`] | `producerConnection` |
//! | [`namesrv`] | `getNamesrvConfig`, `updateKvConfig`, `deleteKvConfig`, `wipeWritePerm`, `addWritePerm` |
//! | [`message`] | `queryMsgById`, `queryMsgByKey`, `queryMsgByUniqueKey`, `queryMsgByOffset`, `printMsg`, `queryMsgTraceById` |
//! | [`store_admin`] | `deleteExpiredCommitLog`, `cleanExpiredCQ` |
//! | [`quota`] | `updateQuota`, `getQuota`, `deleteQuota` (FerroMQ's own) |
//! | [`controller`] | `getControllerMetaData`, `getSyncStateSet`, `getControllerConfig`, `updateControllerConfig`, `electMaster`, `cleanBrokerMetadata` |
//!
//! Each operation returns a report whose fields are the data (for the dashboard) and whose
//! `Display` reproduces the Java tool's `printf` output column for column (for the CLI). The
//! formats were read from `tools/.../command/**/*SubCommand.java` of Apache RocketMQ 5.3.
//! Times print in UTC where Java uses the JVM's zone.

pub mod auth;
pub mod broker;
pub mod broker_config;
pub mod broker_consume_stats;
pub mod broker_ops;
pub mod cluster;
pub mod consumer;
pub mod controller;
pub mod error;
pub mod format;
pub mod ha;
pub mod message;
pub mod namesrv;
pub mod offset;
pub mod producer;
pub mod quota;
pub mod store_admin;
pub mod topic;

pub use error::AdminError;
pub use ferromq_client::AdminClient;
