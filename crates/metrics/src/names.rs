//! RocketMQ 5's metric and label names, exactly as its Java constants spell them
//! (`BrokerMetricsConstant`, `RemotingMetricsConstant`, `DefaultStoreMetricsConstant`), so that
//! dashboards and alerts written for RocketMQ find FerroMQ's series.

/// Counter: messages stored (label `topic`, `message_type`, `is_system`).
pub const MESSAGES_IN_TOTAL: &str = "rocketmq_messages_in_total";
/// Counter: messages delivered to consumers (`topic`, `consumer_group`, `is_retry`, `is_system`).
pub const MESSAGES_OUT_TOTAL: &str = "rocketmq_messages_out_total";
/// Counter: bytes stored, as written to the commit log.
pub const THROUGHPUT_IN_TOTAL: &str = "rocketmq_throughput_in_total";
/// Counter: bytes delivered to consumers.
pub const THROUGHPUT_OUT_TOTAL: &str = "rocketmq_throughput_out_total";
/// Gauge: messages a group has not consumed yet (`topic`, `consumer_group`, `is_retry`,
/// `is_system`).
pub const CONSUMER_LAG_MESSAGES: &str = "rocketmq_consumer_lag_messages";
/// Gauge: age in ms of the oldest message a group has not consumed.
pub const CONSUMER_LAG_LATENCY: &str = "rocketmq_consumer_lag_latency";
/// Gauge: live producer connections (`language`, `version`, `protocol_type`).
pub const PRODUCER_CONNECTIONS: &str = "rocketmq_producer_connections";
/// Gauge: live consumer connections (`consumer_group`, `language`, `version`, `consume_mode`,
/// `protocol_type`, `is_system`).
pub const CONSUMER_CONNECTIONS: &str = "rocketmq_consumer_connections";
/// Gauge: the broker's permission (6 read and write, 4 read only, 2 write only).
pub const BROKER_PERMISSION: &str = "rocketmq_broker_permission";
/// Gauge: topics the broker serves.
pub const ACTIVE_TOPIC_NUMBER: &str = "rocketmq_active_topic_number";
/// Gauge: subscription groups the broker knows.
pub const ACTIVE_SUBSCRIPTION_NUMBER: &str = "rocketmq_active_subscription_number";
/// Counter: messages moved to a dead-letter queue.
pub const SEND_TO_DLQ_MESSAGES_TOTAL: &str = "rocketmq_send_to_dlq_messages_total";
/// Histogram: request latency in ms (`request_code`, `response_code`, `is_long_polling`,
/// `result`, `protocol_type`).
pub const RPC_LATENCY: &str = "rocketmq_rpc_latency";
/// Gauge: bytes used on the file system holding the store.
pub const STORAGE_SIZE: &str = "rocketmq_storage_size";
/// Gauge: commit-log bytes written but not flushed yet.
pub const STORAGE_FLUSH_BEHIND_BYTES: &str = "rocketmq_storage_flush_behind_bytes";
/// Gauge: commit-log bytes not dispatched to consume queues and the index yet.
pub const STORAGE_DISPATCH_BEHIND_BYTES: &str = "rocketmq_storage_dispatch_behind_bytes";
/// Gauge: age in ms of the oldest message kept.
pub const STORAGE_MESSAGE_RESERVE_TIME: &str = "rocketmq_storage_message_reserve_time";

// Flow control (FerroMQ's own; RocketMQ counts none of these).
/// Counter: sends answered SYSTEM_BUSY instead of being stored (label `reason`: the remark's
/// tag, `TIMEOUT_CLEAN_QUEUE`, `PCBUSY_CLEAN_QUEUE`, `REJECTREQUEST`, `OVERLOAD` or `QUOTA`).
pub const FLOW_SENDS_SHED_TOTAL: &str = "rocketmq_flow_sends_shed_total";
/// Counter: pulls held back by a consume quota, all quotas together.
pub const FLOW_PULLS_THROTTLED_TOTAL: &str = "rocketmq_flow_pulls_throttled_total";
/// Counter: pulls held back by one consume quota (labels `quota_type`, `quota_name`).
pub const FLOW_QUOTA_PULLS_THROTTLED_TOTAL: &str = "rocketmq_flow_quota_pulls_throttled_total";
/// Counter: sends refused by one produce quota (labels `quota_type`, `quota_name`).
pub const FLOW_QUOTA_SENDS_REJECTED_TOTAL: &str = "rocketmq_flow_quota_sends_rejected_total";
/// Counter: connections closed on accept because `serverMaxConnections` were open.
pub const FLOW_CONNECTIONS_REFUSED_TOTAL: &str = "rocketmq_flow_connections_refused_total";
/// Counter: times a connection stopped being read by write-side back-pressure (label
/// `reason`: `in_flight` or `bytes`).
pub const FLOW_CONNECTIONS_PAUSED_TOTAL: &str = "rocketmq_flow_connections_paused_total";
/// Gauge: connections not being read right now because of back-pressure.
pub const FLOW_PAUSED_CONNECTIONS: &str = "rocketmq_flow_paused_connections";
/// Label of the flow counters: why.
pub const LABEL_REASON: &str = "reason";
/// Label of the quota counters: `topic` or `group`.
pub const LABEL_QUOTA_TYPE: &str = "quota_type";
/// Label of the quota counters: the topic or group the quota limits.
pub const LABEL_QUOTA_NAME: &str = "quota_name";

/// Label: cluster name.
pub const LABEL_CLUSTER: &str = "cluster";
/// Label: `broker` (RocketMQ's `NODE_TYPE_BROKER`) or, in FerroMQ, `namesrv`.
pub const LABEL_NODE_TYPE: &str = "node_type";
/// Label: the node's name (`brokerName` for a broker).
pub const LABEL_NODE_ID: &str = "node_id";
/// Label: topic.
pub const LABEL_TOPIC: &str = "topic";
/// Label: consumer group.
pub const LABEL_CONSUMER_GROUP: &str = "consumer_group";
/// Label: `normal`, `fifo`, `delay` or `transaction`.
pub const LABEL_MESSAGE_TYPE: &str = "message_type";
/// Label: `true` for system topics and groups.
pub const LABEL_IS_SYSTEM: &str = "is_system";
/// Label: `true` for retry topics.
pub const LABEL_IS_RETRY: &str = "is_retry";
/// Label: client language.
pub const LABEL_LANGUAGE: &str = "language";
/// Label: client version.
pub const LABEL_VERSION: &str = "version";
/// Label: `push` or `pull` (RocketMQ writes `ConsumeType.getTypeCN()` in lower case).
pub const LABEL_CONSUME_MODE: &str = "consume_mode";
/// Label: `remoting` (`RemotingMetricsConstant.PROTOCOL_TYPE_REMOTING`).
pub const LABEL_PROTOCOL_TYPE: &str = "protocol_type";
/// The only protocol FerroMQ speaks.
pub const PROTOCOL_TYPE_REMOTING: &str = "remoting";
/// Label: request code, as RocketMQ's `RequestCode` field name in lower case.
pub const LABEL_REQUEST_CODE: &str = "request_code";
/// Label: response code, as RocketMQ's `ResponseCode` field name in lower case.
pub const LABEL_RESPONSE_CODE: &str = "response_code";
/// Label: whether the request was a parked (long-polling) pull.
pub const LABEL_IS_LONG_POLLING: &str = "is_long_polling";
/// Label: `success`, `oneway`, ...
pub const LABEL_RESULT: &str = "result";
/// Label of the store gauges: `local`.
pub const LABEL_STORAGE_TYPE: &str = "storage_type";
/// Label of the store gauges: `disk`.
pub const LABEL_STORAGE_MEDIUM: &str = "storage_medium";
