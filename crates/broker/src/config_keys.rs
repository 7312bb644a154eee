//! What each `broker.conf` key means, and its default as text: the source of the configuration
//! reference (`docs/configuration.md`, rendered by `ferromq_cli::config_doc` and checked by a
//! test).
//!
//! [`KEY_DOCS`] holds one `(key, meaning)` line per key [`BrokerConfig::known_keys`] lists (the
//! broker's own, the store's, and those accepted without effect); a test fails when a key has no
//! line, so a new key in [`crate::config::BROKER_KEYS`] needs one here, and one arm in
//! [`default_text`] when the broker reads it itself.

use crate::config::{BrokerConfig, BrokerRole, FlushDiskType};
use ferromq_common::config::Properties;

/// `(key, meaning)`, one line per broker.conf key, in the order the reference lists them.
pub const KEY_DOCS: &[(&str, &str)] = &[
    // Identity and network.
    ("brokerClusterName", "Cluster this broker belongs to; also the name of a system topic"),
    ("brokerName", "Broker name; masters and slaves of one broker group share it"),
    ("brokerId", "0 for a master, above 0 for a slave"),
    ("listenPort", "TCP port for clients and admin tools"),
    ("grpcListenPort", "Port of the RocketMQ 5 gRPC API for the v5 clients (`0`: off)"),
    ("bindAddress", "Address to listen on (`0.0.0.0`: every interface)"),
    ("namesrvAddr", "Name servers to register with, `;`-separated"),
    ("brokerIP1", "Address clients are told to use (registered with the name servers, written into message ids)"),
    ("brokerIP2", "Address for slaves to replicate from"),
    ("haListenPort", "Port a master takes its slaves on (the HA stream)"),
    ("haMasterAddress", "A slave's fixed master HA address `host:port`; without it the slave follows what the name servers say"),
    ("haSendHeartbeatInterval", "Milliseconds of silence after which the HA stream sends a heartbeat"),
    ("haHousekeepingInterval", "Milliseconds of silence after which an HA connection is closed"),
    ("haTransferBatchSize", "Commit-log bytes per HA frame"),
    ("haMaxGapNotInSync", "Bytes a slave may be behind and still count for a `SYNC_MASTER`"),
    ("enableControllerMode", "Let the controller (`ferromq controller`) pick the master of the broker group and elect a new one when it dies; `brokerRole` then only says whether a master waits for its slaves"),
    ("controllerAddr", "Controller nodes, `;`-separated `host:port`"),
    ("brokerHeartbeatInterval", "Milliseconds between heartbeats to the controller"),
    ("controllerHeartBeatTimeoutMills", "Milliseconds of silence after which the controller counts the broker dead; a master cut off from the controller that long stops taking writes"),
    ("syncBrokerMetadataPeriod", "Milliseconds between reads of the replica info from the controller"),
    ("checkSyncStateSetPeriod", "Milliseconds between a master's reports of its in-sync replicas to the controller"),
    ("allAckInSyncStateSet", "A `SYNC_MASTER` in controller mode answers once every in-sync replica holds the message (not just one slave)"),
    ("brokerPermission", "Permission bits of the broker: 6 read and write, 4 read only, 2 write only"),
    ("regionId", "Region written into the `MSG_REGION` property of stored messages"),
    ("traceOn", "Value written into the `TRACE_ON` property of stored messages"),
    ("msgTraceTopicName", "Topic of message traces: the one the broker writes to and creates with `brokerTraceEnable`"),
    ("brokerTraceEnable", "FerroMQ: the broker records a RocketMQ-format trace of every message it stores, delivers to a group, commits or rolls back, sends back or moves to a DLQ, for any client; read it with `mqadmin queryMsgTraceById`"),
    ("registerNameServerPeriod", "Milliseconds between registrations with every name server"),
    ("registerBrokerTimeoutMills", "Milliseconds one registration with a name server may take"),
    ("compressedRegister", "Send registrations in RocketMQ's zlib form (about 30 times smaller with many topics; topics' `order` and `topicSysFlag` are not carried, as in RocketMQ). FerroMQ marks such a body `compressed=true` in the header so RocketMQ name servers decode it too"),
    ("enableSplitRegistration", "A full registration goes out as several requests of `splitRegistrationSize` topics each; do not combine with the name server's `deleteTopicWithBrokerRegistration`, which would keep only the last part's topics"),
    ("splitRegistrationSize", "Topics per registration request with `enableSplitRegistration`"),
    ("channelExpiredTimeout", "Milliseconds after which a client that sent no heartbeat is dropped; also the expiry the broker asks name servers to apply to it"),
    ("fetchNamesrvAddrByAddressServer", "Look up name servers through an HTTP address server"),
    ("dashboardPort", "HTTP port of the broker's dashboard and `/metrics` (FerroMQ); 0 turns it off; a taken default port is only warned about"),
    ("metricsExporterType", "`DISABLE` or `PROM` (also serve `/metrics` on the exporter port); `OTLP_GRPC` and `LOG` are warned about as not implemented"),
    ("metricsPromExporterPort", "Port of the Prometheus exporter with `metricsExporterType=PROM`"),
    ("metricsPromExporterHost", "Address of the Prometheus exporter (empty: `brokerIP1`)"),
    ("metricsLabel", "Extra labels on every series, `key:value` pairs separated by `,`"),
    ("metricsInDelta", "Delta temporality of OpenTelemetry exports"),
    ("metricsGrpcExporterTarget", "OpenTelemetry gRPC exporter endpoint"),
    ("metricsGrpcExporterHeader", "Headers of the OpenTelemetry gRPC exporter"),
    ("metricGrpcExporterTimeOutInMills", "Timeout of the OpenTelemetry gRPC exporter"),
    ("metricGrpcExporterIntervalInMills", "Interval of the OpenTelemetry gRPC exporter"),
    ("metricLoggingExporterIntervalInMills", "Interval of the logging exporter"),
    ("metricsOtelCardinalityLimit", "Series limit of the OpenTelemetry exporter"),
    ("aclEnable", "RocketMQ 4.x plain ACL: every request must come from a whitelisted address or be signed by an account of `plain_acl.yml` with the permissions it needs (refused with NO_PERMISSION)"),
    ("plainAclFile", "FerroMQ: the ACL file, relative to `$ROCKETMQ_HOME` (or the working directory) unless absolute; RocketMQ takes the system property `rocketmq.acl.plain.file` instead. Reloaded when it changes"),
    ("authenticationEnabled", "ACL 2.0: every request must be signed by an enabled user (AccessKey = username, HMAC-SHA1 under its password); refused with NO_PERMISSION"),
    ("authorizationEnabled", "ACL 2.0: every request must be allowed by the user's ACL (Super users may do everything); refused with NO_PERMISSION"),
    ("authenticationProvider", "ACL 2.0 authentication provider class: only RocketMQ's `DefaultAuthenticationProvider`; any other is refused at start-up"),
    ("authorizationProvider", "ACL 2.0 authorization provider class: only RocketMQ's `DefaultAuthorizationProvider`; any other is refused at start-up"),
    ("initAuthenticationUser", "ACL 2.0: `{\"username\":\"...\",\"password\":\"...\"}`, created as a Super user at start-up unless it exists"),
    ("innerClientAuthenticationCredentials", "ACL 2.0: `{\"accessKey\":\"...\",\"secretKey\":\"...\"}`, a Super user created at start-up unless it exists; a slave signs its metadata sync with it"),
    ("authenticationWhitelist", "ACL 2.0: request codes, comma-separated, that skip authentication"),
    ("authorizationWhitelist", "ACL 2.0: request codes, comma-separated, that skip authorization"),
    ("migrateAuthFromV1Enabled", "ACL 2.0: copy `plain_acl.yml` accounts into users and ACLs. Not implemented: warned at start-up when true"),
    // Request-size limits.
    ("com.rocketmq.remoting.frameMaxLength", "Largest remoting frame in bytes, its 4-byte length field included (RocketMQ's system property of this name); a client announcing a larger one is disconnected, with a warning naming it"),
    ("remotingMaxHeaderSize", "FerroMQ: largest request header in bytes; a larger one disconnects the client, with a warning"),
    ("maxBatchMessageCount", "FerroMQ: most messages in one batch send; a larger batch is refused with MESSAGE_ILLEGAL (13) and a remark (RocketMQ limits a batch by `maxMessageSize` only)"),
    // TLS (RocketMQ's `TlsSystemConfig` names; see "TLS" in the operations guide).
    ("tls.server.mode", "TLS on the remoting and dashboard ports: `disabled`, `permissive` (TLS and plaintext on one port) or `enforcing` (TLS only; a plaintext request is answered with an error saying so)"),
    ("tls.enable", "Outgoing connections (registration with name servers, a slave's link to its master) use TLS; unset: only when `tls.server.mode=enforcing`"),
    ("useTLS", "RocketMQ's client-side name for `tls.enable`"),
    ("tls.config.file", "A properties file of further `tls.*` keys, read at start-up when it exists; it overrides everything here but `tls.server.mode` and `tls.enable`"),
    ("tls.test.mode.enable", "Without `tls.server.certPath`, present a self-signed certificate made at start-up; outgoing TLS then does not verify certificates"),
    ("tls.server.need.client.auth", "Client certificates: `none`, `optional` (checked when presented) or `require`; checked against `tls.server.trustCertPath`"),
    ("tls.server.certPath", "PEM certificate chain the servers present"),
    ("tls.server.keyPath", "PEM private key (unencrypted, PKCS#8, PKCS#1 or SEC1) of `tls.server.certPath`"),
    ("tls.server.keyPassword", "Password of an encrypted server key: not supported, start-up fails when set"),
    ("tls.server.authClient", "Read but without effect: client certificates are always verified against `tls.server.trustCertPath` when `tls.server.need.client.auth` asks for them (RocketMQ accepts any with false)"),
    ("tls.server.trustCertPath", "PEM CA certificates that client certificates are checked against"),
    ("tls.client.certPath", "PEM certificate presented on outgoing TLS connections (not in test mode)"),
    ("tls.client.keyPath", "PEM private key of `tls.client.certPath`"),
    ("tls.client.keyPassword", "Password of an encrypted client key: not supported, start-up fails when set"),
    ("tls.client.authServer", "Outgoing TLS verifies the server's certificate against `tls.client.trustCertPath` (not in test mode)"),
    ("tls.client.trustCertPath", "PEM CA certificates that servers' certificates are checked against"),
    // Topics and groups.
    ("autoCreateTopicEnable", "Create a topic on the first send to it, from the `TBW102` template"),
    (
        "defaultTopicQueueNums",
        "Queues of the `TBW102` template; an auto-created topic gets the number the producer asks for (4 in the usual clients), at most this many",
    ),
    ("autoCreateSubscriptionGroup", "Create a consumer group when it first shows up"),
    ("clusterTopicEnable", "The cluster-name system topic is readable and writable"),
    ("brokerTopicEnable", "The broker-name system topic is readable and writable"),
    ("traceTopicEnable", "Message-trace topic"),
    // Roles and durability.
    ("brokerRole", "`ASYNC_MASTER`, `SYNC_MASTER` (answers a send once a slave holds it) or `SLAVE` (copies its master, refuses sends)"),
    ("flushDiskType", "`ASYNC_FLUSH`: answer once in the page cache; `SYNC_FLUSH`: answer once on disk"),
    ("flushIntervalCommitLog", "Milliseconds between background commit-log flushes (`ASYNC_FLUSH`)"),
    ("flushCommitLogLeastPages", "A background flush waits for at least this many dirty 4 KiB pages"),
    ("flushCommitLogThoroughInterval", "Milliseconds after which everything dirty is flushed regardless of the page count"),
    ("flushIntervalConsumeQueue", "Milliseconds between consume-queue and checkpoint flushes"),
    ("flushConsumeQueueLeastPages", "Least dirty pages for a consume-queue flush"),
    ("syncFlushTimeout", "Milliseconds a send waits for the disk (`SYNC_FLUSH`, then FLUSH_DISK_TIMEOUT) or for a slave (`SYNC_MASTER`, then FLUSH_SLAVE_TIMEOUT)"),
    // Store layout.
    ("storePathRootDir", "Root of the store: commit log, consume queues, index, `config/`, checkpoint"),
    ("storePathCommitLog", "Commit-log directory (default `<storePathRootDir>/commitlog`)"),
    ("storePathConsumeQueue", "Consume-queue directory (always `<storePathRootDir>/consumequeue`)"),
    ("storePathIndex", "Index directory (always `<storePathRootDir>/index`)"),
    ("storeCheckpoint", "Checkpoint file (always `<storePathRootDir>/checkpoint`)"),
    ("abortFile", "Crash marker (always `<storePathRootDir>/abort`)"),
    ("mappedFileSizeCommitLog", "Bytes of one commit-log segment file"),
    ("mappedFileSizeConsumeQueue", "Bytes of one consume-queue file (a multiple of 20, the entry size)"),
    ("preallocateCommitLog", "Create the next commit-log segment in the background before it is needed"),
    ("warmMapedFileEnable", "Touch every page of a new segment so first writes take no page faults"),
    ("mappedResidentLimitMb", "FerroMQ: MiB of mapped store files (commit log, consume queues, index) the broker keeps in its RSS; above it the pages consumers read and the index touched are dropped from the process (they stay in the page cache, so reads do not go to disk). 0 turns it off"),
    ("commitLogPageCacheMb", "FerroMQ: MiB of the newest flushed commit log left in the page cache; older flushed pages are dropped from it, so new log pages reuse memory the kernel just freed (on a VM, memory that stayed free for a while can cost a host fault per page to take back). Reads further back go to disk and count as on disk for the pull limits. The default is the share of RAM accessMessageInMemoryMaxRatio already counts as cached; 0 leaves the page cache to the kernel, as RocketMQ does"),
    ("transientStorePoolEnable", "Off-heap write buffer pool"),
    ("useReentrantLockWhenPutMessage", "Java lock choice for the commit-log writer"),
    ("maxMessageSize", "Largest message body in bytes"),
    ("checkCRCOnRecover", "Check body CRCs when recovering after a crash"),
    // Retention.
    ("fileReservedTime", "Hours a commit-log file is kept after its last write"),
    ("deleteWhen", "Hour(s) of the day, `;`-separated, when expired files are deleted"),
    ("diskMaxUsedSpaceRatio", "Disk usage (%) above which expired files are deleted at any hour"),
    ("diskSpaceCleanForciblyRatio", "Disk usage (%) above which commit-log files are deleted before they expire"),
    ("diskSpaceWarningLevelRatio", "Disk usage (%) above which sends are refused until space returns"),
    ("cleanFileForciblyEnable", "Allow the deletion before expiry above `diskSpaceCleanForciblyRatio`"),
    ("cleanResourceInterval", "Milliseconds between retention rounds (disk check, deletion)"),
    ("deleteFileBatchMax", "Most commit-log files deleted in one round"),
    // Index and queries.
    ("messageIndexEnable", "Index messages by `KEYS` and unique id (for queryMsgByKey / queryMsgByUniqueKey)"),
    ("maxHashSlotNum", "Hash slots of one index file"),
    ("maxIndexNum", "Entries of one index file"),
    ("maxMsgsNumBatch", "Most results of one key query"),
    ("defaultQueryMaxNum", "Results of a unique-key query"),
    // Pulls.
    ("longPollingEnable", "Park a pull that finds nothing until a message arrives or it times out"),
    ("shortPollingTimeMills", "Milliseconds a pull waits when long polling is off"),
    ("maxTransferBytesOnMessageInMemory", "Most bytes in one pull answer when the data is in memory"),
    ("maxTransferCountOnMessageInMemory", "Most messages in one pull answer when the data is in memory"),
    ("maxTransferBytesOnMessageInDisk", "Most bytes in one pull answer when the data is on disk"),
    ("maxTransferCountOnMessageInDisk", "Most messages in one pull answer when the data is on disk"),
    ("accessMessageInMemoryMaxRatio", "Data further behind the log head than this share (%) of RAM counts as on disk"),
    ("notifyConsumerIdsChangedEnable", "Tell a group's consumers when its membership changes (NOTIFY_CONSUMER_IDS_CHANGED)"),
    ("enablePropertyFilter", "Serve SQL92 subscriptions"),
    ("filterSupportRetry", "Apply SQL92 filters to `%RETRY%` topics too"),
    ("slaveReadEnable", "A slave serves pulls (refused with SYSTEM_BUSY otherwise); a master sends consumers far behind to `whichBrokerWhenConsumeSlowly`"),
    // Delays, timers, transactions, replies.
    ("messageDelayLevel", "Delay levels, space-separated, units s, m, h, d"),
    ("timerWheelEnable", "Serve timer messages (arbitrary delays); when false they are refused"),
    ("timerMaxDelaySec", "Longest timer delay accepted, in seconds"),
    ("timerPrecisionMs", "Checked (1-60000) only: FerroMQ delivers timer messages to the millisecond"),
    ("recallMessageEnable", "Serve RECALL_MESSAGE (cancel a timer message before it is due)"),
    ("transactionTimeOut", "Milliseconds before an open half message is first checked back"),
    ("transactionCheckMax", "Check-backs before a half message is given up"),
    ("transactionCheckInterval", "Milliseconds between check-back rounds"),
    ("rejectTransactionMessage", "Refuse half messages (NO_PERMISSION)"),
    ("storeReplyMessageEnable", "Keep a copy of each request-reply reply in `<cluster>_REPLY_TOPIC`"),
    // Thread pools and Java tuning.
    ("pullMessageThreadPoolNums", "Java pull thread pool"),
    // Flow control.
    ("brokerFastFailureEnable", "Answer sends SYSTEM_BUSY (`[TIMEOUT_CLEAN_QUEUE]`, `[PCBUSY_CLEAN_QUEUE]`) instead of letting them wait; when false they wait for a send slot without limit"),
    ("sendMessageThreadPoolNums", "Sends in progress at once (from admission to answer, including a SYNC_FLUSH disk wait); further sends queue"),
    ("sendThreadPoolQueueCapacity", "Sends that may queue for a slot; beyond that they are answered SYSTEM_BUSY `[OVERLOAD]`"),
    ("waitTimeMillsInSendQueue", "A send queued longer than this (ms) is answered SYSTEM_BUSY `[TIMEOUT_CLEAN_QUEUE]`"),
    ("osPageCacheBusyTimeOutMills", "An append holding the commit log longer than this (ms) makes queued and new sends answer SYSTEM_BUSY `[PCBUSY_CLEAN_QUEUE]`"),
    ("serverMaxConnections", "Most client connections at once; a connection beyond it is closed at once (logged)"),
    ("serverMaxInFlightPerConnection", "Requests of one connection in progress or with an unwritten answer; the broker stops reading a connection at the bound"),
    ("serverMaxInFlightBytesPerConnection", "Bytes of answers queued on one connection and not yet written to its socket; above it the broker serves no further request of that connection until the peer has read enough (4 MiB)"),
    // Test knobs.
    ("debugFlushDelayMs", "Test knob: every commit-log flush first sleeps this long (ms)"),
    ("debugDiskUsageFile", "Test knob: read the disk usage from this file instead of the file system"),
];

/// Whether FerroMQ acts on a broker.conf key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEffect {
    /// The broker or its store reads the value and behaves accordingly.
    Acted,
    /// Read and range-checked, but without effect on behaviour ([`CHECKED_ONLY`]).
    CheckedOnly,
    /// Accepted for compatibility with RocketMQ, without effect (named in a start-up warning).
    Inert,
}

/// Keys the broker reads and checks but does not act on otherwise.
pub const CHECKED_ONLY: &[&str] = &["timerPrecisionMs", "tls.server.authClient"];

/// How the broker treats `key`, found the way start-up finds it: by parsing it. `None` for a
/// key broker.conf does not take.
pub fn key_effect(key: &str) -> Option<KeyEffect> {
    let value = default_text(key).unwrap_or_default();
    let value = if value.starts_with('`') || value.starts_with('(') {
        String::new()
    } else {
        value
    };
    let c = match BrokerConfig::from_properties(&Properties::parse(&format!("{key}={value}\n"))) {
        Ok(c) => c,
        // The key is read (a value was checked against it), so it is acted on.
        Err(e) if e.key == key => return Some(KeyEffect::Acted),
        Err(_) => return None,
    };
    if CHECKED_ONLY.contains(&key) {
        Some(KeyEffect::CheckedOnly)
    } else if c.unknown_keys.iter().any(|k| k == key)
        || c.unimplemented_keys.iter().any(|k| k == key)
    {
        None
    } else if c.inert_keys.iter().any(|k| k == key) {
        Some(KeyEffect::Inert)
    } else {
        Some(KeyEffect::Acted)
    }
}

/// The default of `key` as the reference shows it: the value `BrokerConfig::default()` (or
/// the store's default) holds, or a description where it depends on the machine. `None` for a
/// key with no default to show (the keys accepted without effect).
pub fn default_text(key: &str) -> Option<String> {
    default_text_of(&BrokerConfig::default(), key)
}

fn default_text_of(c: &BrokerConfig, key: &str) -> Option<String> {
    let c = c.clone();
    let flush = |t: FlushDiskType| match t {
        FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
        FlushDiskType::SyncFlush => "SYNC_FLUSH",
    };
    let text = match key {
        // Taken from the machine: shown as where they come from.
        "brokerName" => "(host name)".into(),
        "namesrvAddr" => "`$NAMESRV_ADDR`".into(),
        "storePathRootDir" => "`$HOME/store`".into(),
        "storePathCommitLog" => "(none)".into(),
        "brokerClusterName" => c.broker_cluster_name,
        "brokerId" => c.broker_id.to_string(),
        "listenPort" => c.listen_port.to_string(),
        "grpcListenPort" => c.grpc_listen_port.to_string(),
        "bindAddress" => c.bind_address,
        "brokerIP1" => c.broker_ip1,
        "brokerPermission" => c.broker_permission.to_string(),
        "autoCreateTopicEnable" => c.auto_create_topic_enable.to_string(),
        "autoCreateSubscriptionGroup" => c.auto_create_subscription_group.to_string(),
        "defaultTopicQueueNums" => c.default_topic_queue_nums.to_string(),
        "clusterTopicEnable" => c.cluster_topic_enable.to_string(),
        "brokerTopicEnable" => c.broker_topic_enable.to_string(),
        "flushDiskType" => flush(c.flush_disk_type).into(),
        "brokerRole" => match c.broker_role {
            BrokerRole::AsyncMaster => "ASYNC_MASTER",
            BrokerRole::SyncMaster => "SYNC_MASTER",
            BrokerRole::Slave => "SLAVE",
        }
        .into(),
        "deleteWhen" => c.delete_when,
        "fileReservedTime" => c.file_reserved_time.to_string(),
        "maxMessageSize" => c.max_message_size.to_string(),
        "mappedFileSizeCommitLog" => c.mapped_file_size_commit_log.to_string(),
        "mappedFileSizeConsumeQueue" => c.mapped_file_size_consume_queue.to_string(),
        "flushIntervalCommitLog" => c.flush_interval_commit_log.to_string(),
        "syncFlushTimeout" => c.sync_flush_timeout.to_string(),
        "diskMaxUsedSpaceRatio" => c.disk_max_used_space_ratio.to_string(),
        "registerNameServerPeriod" => c.register_name_server_period.to_string(),
        "registerBrokerTimeoutMills" => c.register_broker_timeout_mills.to_string(),
        "compressedRegister" => c.compressed_register.to_string(),
        "enableSplitRegistration" => c.enable_split_registration.to_string(),
        "splitRegistrationSize" => c.split_registration_size.to_string(),
        "longPollingEnable" => c.long_polling_enable.to_string(),
        "shortPollingTimeMills" => c.short_polling_time_mills.to_string(),
        "notifyConsumerIdsChangedEnable" => c.notify_consumer_ids_changed_enable.to_string(),
        "channelExpiredTimeout" => c.channel_expired_timeout.to_string(),
        "regionId" => c.region_id,
        "traceOn" => c.trace_on.to_string(),
        "msgTraceTopicName" => c.msg_trace_topic_name,
        "brokerTraceEnable" => c.broker_trace_enable.to_string(),
        "storeReplyMessageEnable" => c.store_reply_message_enable.to_string(),
        "enablePropertyFilter" => c.enable_property_filter.to_string(),
        "filterSupportRetry" => c.filter_support_retry.to_string(),
        "transactionTimeOut" => c.transaction_timeout.to_string(),
        "transactionCheckMax" => c.transaction_check_max.to_string(),
        "transactionCheckInterval" => c.transaction_check_interval.to_string(),
        "rejectTransactionMessage" => c.reject_transaction_message.to_string(),
        "timerWheelEnable" => c.timer_wheel_enable.to_string(),
        "timerMaxDelaySec" => c.timer_max_delay_sec.to_string(),
        "timerPrecisionMs" => c.timer_precision_ms.to_string(),
        "recallMessageEnable" => c.recall_message_enable.to_string(),
        "haListenPort" => "(listenPort + 1)".into(),
        "haMasterAddress" => "(none)".into(),
        "haSendHeartbeatInterval" => c.ha_send_heartbeat_interval.to_string(),
        "haHousekeepingInterval" => c.ha_housekeeping_interval.to_string(),
        "haTransferBatchSize" => c.ha_transfer_batch_size.to_string(),
        "haMaxGapNotInSync" => c.ha_max_gap_not_in_sync.to_string(),
        "slaveReadEnable" => c.slave_read_enable.to_string(),
        "brokerFastFailureEnable" => c.flow.fast_failure_enable.to_string(),
        "sendMessageThreadPoolNums" => c.flow.send_slots.to_string(),
        "sendThreadPoolQueueCapacity" => c.flow.send_queue_capacity.to_string(),
        "waitTimeMillsInSendQueue" => c.flow.send_queue_wait_ms.to_string(),
        "osPageCacheBusyTimeOutMills" => c.flow.page_cache_busy_ms.to_string(),
        "serverMaxConnections" => c.flow.max_connections.to_string(),
        "serverMaxInFlightPerConnection" => c.flow.max_in_flight.to_string(),
        "serverMaxInFlightBytesPerConnection" => c.flow.max_in_flight_bytes.to_string(),
        "enableControllerMode" => c.enable_controller_mode.to_string(),
        "controllerAddr" => "(none)".into(),
        "brokerHeartbeatInterval" => c.broker_heartbeat_interval.to_string(),
        "controllerHeartBeatTimeoutMills" => c.controller_heartbeat_timeout_mills.to_string(),
        "syncBrokerMetadataPeriod" => c.sync_broker_metadata_period.to_string(),
        "checkSyncStateSetPeriod" => c.check_sync_state_set_period.to_string(),
        "allAckInSyncStateSet" => c.all_ack_in_sync_state_set.to_string(),
        "aclEnable" => c.acl_enable.to_string(),
        "dashboardPort" => c.dashboard_port().to_string(),
        "metricsExporterType" => "DISABLE".into(),
        "metricsPromExporterPort" => c.metrics_prom_exporter_port.to_string(),
        "metricsPromExporterHost" => "(brokerIP1)".into(),
        "metricsLabel" => "(none)".into(),
        "plainAclFile" => "`conf/plain_acl.yml`".into(),
        "authenticationEnabled" => c.auth.authentication_enabled.to_string(),
        "authorizationEnabled" => c.auth.authorization_enabled.to_string(),
        "migrateAuthFromV1Enabled" => c.auth.migrate_from_v1.to_string(),
        "authenticationProvider" => "`DefaultAuthenticationProvider`".into(),
        "authorizationProvider" => "`DefaultAuthorizationProvider`".into(),
        "initAuthenticationUser"
        | "innerClientAuthenticationCredentials"
        | "authenticationWhitelist"
        | "authorizationWhitelist" => "(none)".into(),
        "debugDiskUsageFile" => "(none)".into(),
        "commitLogPageCacheMb" => "(accessMessageInMemoryMaxRatio % of RAM)".into(),
        "tls.enable" | "useTLS" => "(true with tls.server.mode=enforcing)".into(),
        "com.rocketmq.remoting.frameMaxLength" => c.frame_max_length.to_string(),
        "remotingMaxHeaderSize" => c.remoting_max_header_size.to_string(),
        "maxBatchMessageCount" => c.max_batch_message_count.to_string(),
        k if k.starts_with("tls.") => Some(c.tls.get(k)?)
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "(none)".into()),
        k if ferromq_store::StoreConfig::knows(k) => {
            let store = serde_json::to_value(ferromq_store::StoreConfig::default()).ok()?;
            // serde spells a few names differently (`checkCrcOnRecover`).
            let (_, value) = store
                .as_object()?
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(k))?;
            match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "(none)".into(),
                v => v.to_string(),
            }
        }
        _ => return None,
    };
    Some(text)
}

/// The effective configuration as `key=value` lines, one per key the broker reads (what
/// `mqbroker -p` prints), then the keys given without effect as comments.
pub fn effective_text(c: &BrokerConfig) -> String {
    let mut store = ferromq_store::StoreConfig::default();
    for (k, v) in &c.store_settings {
        let _ = store.set_property(k, v);
    }
    let store = serde_json::to_value(store).unwrap_or_default();
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut out = String::new();
    for key in BrokerConfig::known_keys() {
        if crate::config::is_accepted_only(key) {
            continue;
        }
        let value = match key {
            "brokerName" => c.broker_name.clone(),
            "namesrvAddr" => opt(&c.namesrv_addr),
            "storePathRootDir" => c.store_path_root_dir.display().to_string(),
            "storePathCommitLog" => c
                .store_path_commit_log
                .clone()
                .unwrap_or_else(|| c.store_path_root_dir.join("commitlog"))
                .display()
                .to_string(),
            "haListenPort" => c.ha_port().to_string(),
            "haMasterAddress" => opt(&c.ha_master_address),
            "controllerAddr" => opt(&c.controller_addr),
            "metricsExporterType" => c.metrics_exporter_type.name().to_owned(),
            "metricsPromExporterHost" => c.metrics_prom_exporter_host.clone(),
            "metricsLabel" => c
                .metrics_label
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join(","),
            "plainAclFile" => c.acl_file().display().to_string(),
            "dashboardPort" => c.dashboard_port().to_string(),
            "deleteWhen" => c.delete_when.clone(),
            "brokerClusterName" => c.broker_cluster_name.clone(),
            "bindAddress" => c.bind_address.clone(),
            "brokerIP1" => c.broker_ip1.clone(),
            "regionId" => c.region_id.clone(),
            k if k.starts_with("tls.") || k == "useTLS" => c.tls.get(k).unwrap_or_default(),
            k if ferromq_store::StoreConfig::knows(k)
                && !crate::config::BROKER_KEYS.contains(&k) =>
            {
                let found = store
                    .as_object()
                    .and_then(|o| o.iter().find(|(name, _)| name.eq_ignore_ascii_case(k)));
                match found {
                    Some((_, serde_json::Value::String(s))) => s.clone(),
                    Some((_, serde_json::Value::Null)) | None => String::new(),
                    Some((_, v)) => v.to_string(),
                }
            }
            k => match value_of(c, k) {
                Some(v) => v,
                None => continue,
            },
        };
        out.push_str(key);
        out.push('=');
        out.push_str(&value);
        out.push('\n');
    }
    for (what, keys) in [
        ("accepted without effect", &c.inert_keys),
        ("RocketMQ keys not implemented", &c.unimplemented_keys),
        ("unknown keys", &c.unknown_keys),
    ] {
        if !keys.is_empty() {
            out.push_str(&format!("# {what}: {}\n", keys.join(", ")));
        }
    }
    out
}

/// `key`'s value in `c` where [`default_text`] shows a value (not a description).
fn value_of(c: &BrokerConfig, key: &str) -> Option<String> {
    default_text_of(c, key).filter(|v| !v.starts_with('(') && !v.starts_with('`'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_key_has_one_line() {
        for key in BrokerConfig::known_keys() {
            let n = KEY_DOCS.iter().filter(|(k, _)| *k == key).count();
            assert_eq!(
                n, 1,
                "broker.conf key `{key}` needs exactly one line in KEY_DOCS"
            );
        }
        for (key, _) in KEY_DOCS {
            assert!(
                BrokerConfig::known_keys().any(|k| k == *key),
                "KEY_DOCS lists `{key}`, which broker.conf does not take"
            );
            assert!(key_effect(key).is_some(), "{key}");
        }
    }

    #[test]
    fn every_acted_key_has_a_default_that_parses_back_to_it() {
        for (key, _) in KEY_DOCS {
            if !matches!(
                key_effect(key),
                Some(KeyEffect::Acted | KeyEffect::CheckedOnly)
            ) {
                continue;
            }
            let text = default_text(key).unwrap_or_else(|| panic!("`{key}` has no default"));
            if text.starts_with('`') || text.starts_with('(') {
                continue; // depends on the machine
            }
            let c = BrokerConfig::from_properties(&Properties::parse(&format!("{key}={text}\n")))
                .unwrap_or_else(|e| panic!("default of `{key}` does not parse: {e}"));
            assert!(
                c.unknown_keys.is_empty() && c.inert_keys.is_empty(),
                "{key}"
            );
        }
    }

    #[test]
    fn effects_match_the_parser() {
        assert_eq!(key_effect("flushDiskType"), Some(KeyEffect::Acted));
        assert_eq!(key_effect("maxIndexNum"), Some(KeyEffect::Acted));
        assert_eq!(key_effect("aclEnable"), Some(KeyEffect::Acted));
        assert_eq!(key_effect("plainAclFile"), Some(KeyEffect::Acted));
        assert_eq!(key_effect("traceTopicEnable"), Some(KeyEffect::Inert));
        assert_eq!(key_effect("timerPrecisionMs"), Some(KeyEffect::CheckedOnly));
        assert_eq!(key_effect("noSuchKey"), None);
        assert_eq!(default_text("maxIndexNum").as_deref(), Some("20000000"));
        assert_eq!(default_text("fileReservedTime").as_deref(), Some("72"));
        assert_eq!(default_text("aclEnable").as_deref(), Some("false"));
        assert_eq!(default_text("traceTopicEnable"), None);
    }
}
