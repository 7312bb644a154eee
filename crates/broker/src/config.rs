//! `broker.conf`: RocketMQ's `BrokerConfig` and `MessageStoreConfig` keys in one struct.
//!
//! Unknown keys are reported as warnings; a value that does not parse stops start-up with an
//! error naming the key.

use std::path::PathBuf;

use ferromq_common::config::{ConfigError, Properties};

/// `brokerRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerRole {
    /// Master that replicates asynchronously (default).
    AsyncMaster,
    /// Master that waits for a slave.
    SyncMaster,
    /// Slave.
    Slave,
}

pub use crate::auth::keys::AuthKeys;
pub use ferromq_store::FlushDiskType;

pub use ferromq_metrics::MetricsExporterType;

/// Everything a broker is configured with.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub broker_cluster_name: String,
    pub broker_name: String,
    pub broker_id: i64,
    pub listen_port: u16,
    /// `bindAddress`: the address the broker listens on (`0.0.0.0`: every interface).
    pub bind_address: String,
    pub namesrv_addr: Option<String>,
    pub broker_ip1: String,
    pub broker_permission: i32,
    pub store_path_root_dir: PathBuf,
    pub store_path_commit_log: Option<PathBuf>,
    pub auto_create_topic_enable: bool,
    pub auto_create_subscription_group: bool,
    pub default_topic_queue_nums: i32,
    pub cluster_topic_enable: bool,
    pub broker_topic_enable: bool,
    pub flush_disk_type: FlushDiskType,
    pub broker_role: BrokerRole,
    pub delete_when: String,
    pub file_reserved_time: i64,
    pub max_message_size: i32,
    pub mapped_file_size_commit_log: u64,
    pub mapped_file_size_consume_queue: u64,
    pub flush_interval_commit_log: u64,
    pub sync_flush_timeout: u64,
    pub disk_max_used_space_ratio: i32,
    pub register_name_server_period: u64,
    /// `registerBrokerTimeoutMills` (default 24000): how long one REGISTER_BROKER may take.
    pub register_broker_timeout_mills: u64,
    /// `compressedRegister` (default false): send REGISTER_BROKER bodies in RocketMQ's zlib form.
    pub compressed_register: bool,
    /// `enableSplitRegistration` (default false): a full registration goes out in requests of
    /// `splitRegistrationSize` topics each.
    pub enable_split_registration: bool,
    /// `splitRegistrationSize` (default 800): topics per request with `enableSplitRegistration`.
    pub split_registration_size: usize,
    pub long_polling_enable: bool,
    pub short_polling_time_mills: u64,
    pub notify_consumer_ids_changed_enable: bool,
    pub channel_expired_timeout: u64,
    pub region_id: String,
    pub trace_on: bool,
    /// `msgTraceTopicName` (RocketMQ's key, default `RMQ_SYS_TRACE_TOPIC`): where message
    /// traces go.
    pub msg_trace_topic_name: String,
    /// `brokerTraceEnable` (FerroMQ, default false): the broker records a trace for every
    /// message it stores, delivers to a group, commits or rolls back, sends back or moves to a
    /// DLQ, whatever the client (see [`crate::trace`]).
    pub broker_trace_enable: bool,
    /// Keep a copy of every request-reply reply in `<cluster>_REPLY_TOPIC`.
    pub store_reply_message_enable: bool,
    pub enable_property_filter: bool,
    /// `filterSupportRetry`: pulls of `%RETRY%` topics are SQL92-filtered too.
    pub filter_support_retry: bool,
    /// `transactionTimeOut` (ms): a half message is checked back once it is this old.
    pub transaction_timeout: i64,
    /// `transactionCheckMax`: checks before a half message is discarded.
    pub transaction_check_max: i32,
    /// `transactionCheckInterval` (ms): time between check rounds.
    pub transaction_check_interval: u64,
    /// `rejectTransactionMessage`: refuse half messages.
    pub reject_transaction_message: bool,
    /// RocketMQ 5's arbitrary-delay timer (`timerWheelEnable`). When false, a send carrying a
    /// timer property is refused with MESSAGE_ILLEGAL (never delivered at once); messages
    /// already waiting are still delivered.
    pub timer_wheel_enable: bool,
    /// Longest timer delay accepted, in seconds (`timerMaxDelaySec`; 3 days).
    pub timer_max_delay_sec: i64,
    /// `timerPrecisionMs` (1-60 000): accepted and checked, but FerroMQ files and delivers timer
    /// messages at millisecond precision whatever it says.
    pub timer_precision_ms: i64,
    /// `recallMessageEnable` (RocketMQ 5.3, default false): serve RECALL_MESSAGE, which cancels
    /// a timer message before it is due; when false it is refused with NO_PERMISSION.
    pub recall_message_enable: bool,
    /// `haListenPort`: where a master takes its slaves (default `listenPort + 1`; 0 picks a
    /// free port, for tests).
    pub ha_listen_port: Option<u16>,
    /// `grpcListenPort` (8081, the RocketMQ proxy's default): where the RocketMQ 5 gRPC API
    /// (`apache.rocketmq.v2.MessagingService`) is served; 0 turns it off.
    pub grpc_listen_port: u16,
    /// `haMasterAddress`: a slave's fixed master HA address (`host:port`). When absent the
    /// slave follows the address the name servers give when it registers.
    pub ha_master_address: Option<String>,
    /// `haSendHeartbeatInterval` (ms, 5 000): idle time before a heartbeat on the HA stream.
    pub ha_send_heartbeat_interval: u64,
    /// `haHousekeepingInterval` (ms, 20 000): an HA connection silent this long is closed.
    pub ha_housekeeping_interval: u64,
    /// `haTransferBatchSize` (bytes, 32 KiB): commit-log bytes per HA frame.
    pub ha_transfer_batch_size: u64,
    /// `haMaxGapNotInSync` (bytes, 256 MiB): a slave further behind does not count for a
    /// SYNC_MASTER (SLAVE_NOT_AVAILABLE).
    pub ha_max_gap_not_in_sync: i64,
    /// `slaveReadEnable`: a slave serves pulls (and a master sends consumers that fall far
    /// behind to the group's `whichBrokerWhenConsumeSlowly`).
    pub slave_read_enable: bool,
    /// Flow control ([`crate::flow`]): `brokerFastFailureEnable`, the send budget and its wait,
    /// the page-cache busy limit, and the connection limits.
    pub flow: crate::flow::FlowConfig,
    /// `enableControllerMode`: the controller (RocketMQ 5's, `ferromq controller`) decides
    /// which broker of the group is master and elects a new one when it dies.
    pub enable_controller_mode: bool,
    /// `controllerAddr`: the controller nodes, `;`-separated.
    pub controller_addr: Option<String>,
    /// `brokerHeartbeatInterval` (ms, 1 000): heartbeats to the controller.
    pub broker_heartbeat_interval: u64,
    /// `controllerHeartBeatTimeoutMills` (ms, 10 000): silence after which the controller
    /// counts this broker dead (and a master cut off that long stops taking writes).
    pub controller_heartbeat_timeout_mills: u64,
    /// `syncBrokerMetadataPeriod` (ms, 5 000): how often the replica info is read back.
    pub sync_broker_metadata_period: u64,
    /// `checkSyncStateSetPeriod` (ms, 5 000): how often a master reports its in-sync replicas.
    pub check_sync_state_set_period: u64,
    /// `allAckInSyncStateSet`: a SYNC send waits for every in-sync replica, not just one.
    pub all_ack_in_sync_state_set: bool,
    /// `aclEnable` (default false): check every request against `plain_acl.yml` (RocketMQ 4.x
    /// plain ACL, see [`crate::acl`]).
    pub acl_enable: bool,
    /// `plainAclFile` (FerroMQ; RocketMQ takes the system property `rocketmq.acl.plain.file`):
    /// the ACL file, relative to `$ROCKETMQ_HOME` (or the working directory) unless absolute.
    /// Default `conf/plain_acl.yml`.
    pub plain_acl_file: Option<PathBuf>,
    /// ACL 2.0 (RocketMQ 5.3 `AuthConfig` keys, see [`crate::auth`]): `authenticationEnabled`,
    /// `authorizationEnabled`, the provider class names (only RocketMQ's defaults), the first
    /// super user, the inner client's credentials and the whitelists of request codes.
    pub auth: AuthKeys,
    /// Set when a master's `brokerId` was not 0 (RocketMQ forces it to 0); warned at start-up.
    pub master_broker_id_ignored: Option<i64>,
    /// `dashboardPort` (FerroMQ): the HTTP port of the dashboard and `/metrics`; 0 turns the
    /// dashboard off; `None` when not set ([`BrokerConfig::dashboard_port`] is then 8080). It
    /// listens on `bindAddress`.
    pub dashboard_port_setting: Option<u16>,
    /// `metricsExporterType`: with `PROM`, `/metrics` is also served on the exporter port.
    pub metrics_exporter_type: MetricsExporterType,
    /// `metricsPromExporterPort` (5557).
    pub metrics_prom_exporter_port: u16,
    /// `metricsPromExporterHost`; empty means `brokerIP1`, as in RocketMQ.
    pub metrics_prom_exporter_host: String,
    /// `metricsLabel`: `key:value` pairs separated by `,`, added to every series.
    pub metrics_label: Vec<(String, String)>,
    /// Further `MessageStoreConfig` keys (`maxIndexNum`, `diskSpaceWarningLevelRatio`, ...)
    /// passed to the store as written; checked by [`ferromq_store::StoreConfig::set_property`].
    pub store_settings: Vec<(String, String)>,
    /// `com.rocketmq.remoting.frameMaxLength` (RocketMQ's system property, 16 MiB): largest
    /// remoting frame, counting its length field; a larger one closes the connection.
    pub frame_max_length: usize,
    /// `remotingMaxHeaderSize` (FerroMQ, 1 MiB): largest request header; a larger one closes
    /// the connection.
    pub remoting_max_header_size: usize,
    /// `maxBatchMessageCount` (FerroMQ, 65 536): most messages in one batch send; more are
    /// refused with MESSAGE_ILLEGAL.
    pub max_batch_message_count: usize,
    /// The `tls.*` keys (and NettyClientConfig's `useTLS`): TLS on the remoting and dashboard
    /// ports, and on outgoing connections.
    pub tls: ferromq_net::tls::TlsSettings,
    /// Keys present in the file that RocketMQ 5 has and FerroMQ neither reads nor lists in
    /// [`ACCEPTED_KEYS`]: named in one start-up warning as not implemented.
    pub unimplemented_keys: Vec<String>,
    /// Keys present in the file that FerroMQ does not know.
    pub unknown_keys: Vec<String>,
    /// The file the configuration was read from (not a key): `updateBrokerConfig` writes
    /// accepted changes into it.
    pub config_file: Option<PathBuf>,
    /// Keys present in the file that RocketMQ has and FerroMQ accepts without acting on them
    /// (warned about at start-up).
    pub inert_keys: Vec<String>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
        BrokerConfig {
            broker_cluster_name: "DefaultCluster".into(),
            broker_name: default_broker_name(),
            broker_id: 0,
            listen_port: 10911,
            bind_address: "0.0.0.0".into(),
            namesrv_addr: std::env::var("NAMESRV_ADDR").ok().filter(|s| !s.is_empty()),
            broker_ip1: "127.0.0.1".into(),
            broker_permission: 6,
            store_path_root_dir: PathBuf::from(home).join("store"),
            store_path_commit_log: None,
            auto_create_topic_enable: true,
            auto_create_subscription_group: true,
            default_topic_queue_nums: 8,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            flush_disk_type: FlushDiskType::AsyncFlush,
            broker_role: BrokerRole::AsyncMaster,
            delete_when: "04".into(),
            file_reserved_time: 72,
            max_message_size: 4 * 1024 * 1024,
            mapped_file_size_commit_log: 1024 * 1024 * 1024,
            mapped_file_size_consume_queue: 300_000 * 20,
            flush_interval_commit_log: 500,
            sync_flush_timeout: 5000,
            disk_max_used_space_ratio: 75,
            register_name_server_period: 30_000,
            register_broker_timeout_mills: 24_000,
            compressed_register: false,
            enable_split_registration: false,
            split_registration_size: 800,
            long_polling_enable: true,
            short_polling_time_mills: 1000,
            notify_consumer_ids_changed_enable: true,
            channel_expired_timeout: 120_000,
            region_id: "DefaultRegion".into(),
            trace_on: true,
            msg_trace_topic_name: ferromq_common::names::TRACE_TOPIC.into(),
            broker_trace_enable: false,
            store_reply_message_enable: true,
            ha_listen_port: None,
            grpc_listen_port: 8081,
            ha_master_address: None,
            ha_send_heartbeat_interval: 5000,
            ha_housekeeping_interval: 20_000,
            ha_transfer_batch_size: 32 * 1024,
            ha_max_gap_not_in_sync: 256 * 1024 * 1024,
            slave_read_enable: false,
            flow: crate::flow::FlowConfig::default(),
            acl_enable: false,
            plain_acl_file: None,
            auth: AuthKeys::default(),
            master_broker_id_ignored: None,
            enable_controller_mode: false,
            controller_addr: None,
            broker_heartbeat_interval: 1000,
            controller_heartbeat_timeout_mills: 10_000,
            sync_broker_metadata_period: 5000,
            check_sync_state_set_period: 5000,
            all_ack_in_sync_state_set: false,
            enable_property_filter: false,
            filter_support_retry: false,
            transaction_timeout: 6_000,
            transaction_check_max: 15,
            transaction_check_interval: 30_000,
            reject_transaction_message: false,
            timer_wheel_enable: true,
            timer_max_delay_sec: 259_200,
            timer_precision_ms: 1000,
            recall_message_enable: false,
            dashboard_port_setting: None,
            metrics_exporter_type: MetricsExporterType::Disable,
            metrics_prom_exporter_port: 5557,
            metrics_prom_exporter_host: String::new(),
            metrics_label: Vec::new(),
            store_settings: Vec::new(),
            frame_max_length: ferromq_proto::command::DEFAULT_MAX_FRAME,
            remoting_max_header_size: 1024 * 1024,
            max_batch_message_count: 65_536,
            tls: Default::default(),
            unimplemented_keys: Vec::new(),
            unknown_keys: Vec::new(),
            config_file: None,
            inert_keys: Vec::new(),
        }
    }
}

fn default_broker_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "DEFAULT_BROKER".into())
}

/// Keys RocketMQ users commonly set that FerroMQ accepts but does not act on yet: not an error,
/// but named in a start-up warning ([`BrokerConfig::inert_keys`]) so nobody believes they act.
const ACCEPTED_KEYS: &[&str] = &[
    "brokerIP2",
    "storePathConsumeQueue",
    "storePathIndex",
    "storeCheckpoint",
    "abortFile",
    "flushIntervalConsumeQueue",
    "flushCommitLogLeastPages",
    "flushConsumeQueueLeastPages",
    "maxTransferBytesOnMessageInMemory",
    "maxTransferCountOnMessageInMemory",
    "pullMessageThreadPoolNums",
    "useReentrantLockWhenPutMessage",
    "transientStorePoolEnable",
    "messageDelayLevel",
    "traceTopicEnable",
    "diskSpaceWarningLevelRatio",
    "diskSpaceCleanForciblyRatio",
    "maxHashSlotNum",
    "maxIndexNum",
    "fetchNamesrvAddrByAddressServer",
    "metricsInDelta",
    "metricsGrpcExporterTarget",
    "metricsGrpcExporterHeader",
    "metricGrpcExporterTimeOutInMills",
    "metricGrpcExporterIntervalInMills",
    "metricLoggingExporterIntervalInMills",
    "metricsOtelCardinalityLimit",
];

/// True for a key accepted without effect ([`ACCEPTED_KEYS`]).
pub fn is_accepted_only(key: &str) -> bool {
    ACCEPTED_KEYS.contains(&key)
}

/// The keys [`BrokerConfig::from_properties`] reads itself (the store's keys and
/// [`ACCEPTED_KEYS`] come on top); a test checks that each is recognised.
pub const BROKER_KEYS: &[&str] = &[
    "brokerClusterName",
    "brokerName",
    "brokerId",
    "listenPort",
    "grpcListenPort",
    "bindAddress",
    "namesrvAddr",
    "brokerIP1",
    "brokerPermission",
    "storePathRootDir",
    "storePathCommitLog",
    "autoCreateTopicEnable",
    "autoCreateSubscriptionGroup",
    "defaultTopicQueueNums",
    "clusterTopicEnable",
    "brokerTopicEnable",
    "flushDiskType",
    "brokerRole",
    "deleteWhen",
    "fileReservedTime",
    "maxMessageSize",
    "mappedFileSizeCommitLog",
    "mappedFileSizeConsumeQueue",
    "flushIntervalCommitLog",
    "syncFlushTimeout",
    "diskMaxUsedSpaceRatio",
    "registerNameServerPeriod",
    "registerBrokerTimeoutMills",
    "compressedRegister",
    "enableSplitRegistration",
    "splitRegistrationSize",
    "longPollingEnable",
    "shortPollingTimeMills",
    "notifyConsumerIdsChangedEnable",
    "channelExpiredTimeout",
    "regionId",
    "traceOn",
    "msgTraceTopicName",
    "brokerTraceEnable",
    "storeReplyMessageEnable",
    "enablePropertyFilter",
    "filterSupportRetry",
    "transactionTimeOut",
    "transactionCheckMax",
    "transactionCheckInterval",
    "rejectTransactionMessage",
    "timerWheelEnable",
    "timerMaxDelaySec",
    "timerPrecisionMs",
    "recallMessageEnable",
    "haListenPort",
    "haMasterAddress",
    "haSendHeartbeatInterval",
    "haHousekeepingInterval",
    "haTransferBatchSize",
    "haMaxGapNotInSync",
    "slaveReadEnable",
    "brokerFastFailureEnable",
    "sendMessageThreadPoolNums",
    "sendThreadPoolQueueCapacity",
    "waitTimeMillsInSendQueue",
    "osPageCacheBusyTimeOutMills",
    "serverMaxConnections",
    "serverMaxInFlightPerConnection",
    "serverMaxInFlightBytesPerConnection",
    "enableControllerMode",
    "controllerAddr",
    "brokerHeartbeatInterval",
    "controllerHeartBeatTimeoutMills",
    "syncBrokerMetadataPeriod",
    "checkSyncStateSetPeriod",
    "allAckInSyncStateSet",
    "aclEnable",
    "plainAclFile",
    "authenticationEnabled",
    "authorizationEnabled",
    "authenticationProvider",
    "authorizationProvider",
    "initAuthenticationUser",
    "innerClientAuthenticationCredentials",
    "authenticationWhitelist",
    "authorizationWhitelist",
    "migrateAuthFromV1Enabled",
    "dashboardPort",
    "metricsExporterType",
    "metricsPromExporterPort",
    "metricsPromExporterHost",
    "metricsLabel",
    "com.rocketmq.remoting.frameMaxLength",
    "remotingMaxHeaderSize",
    "maxBatchMessageCount",
    "tls.server.mode",
    "tls.enable",
    "useTLS",
    "tls.config.file",
    "tls.test.mode.enable",
    "tls.server.need.client.auth",
    "tls.server.certPath",
    "tls.server.keyPath",
    "tls.server.keyPassword",
    "tls.server.authClient",
    "tls.server.trustCertPath",
    "tls.client.certPath",
    "tls.client.keyPath",
    "tls.client.keyPassword",
    "tls.client.authServer",
    "tls.client.trustCertPath",
];

impl BrokerConfig {
    /// Every key broker.conf may hold: the broker's, the store's, and those accepted without
    /// effect (for "did you mean" on an unknown key).
    pub fn known_keys() -> impl Iterator<Item = &'static str> {
        BROKER_KEYS
            .iter()
            .chain(ferromq_store::StoreConfig::KEYS)
            .chain(ACCEPTED_KEYS)
            .copied()
    }
}

/// `dashboardPort` when broker.conf does not set it.
pub const DEFAULT_DASHBOARD_PORT: u16 = 8080;

/// Upper bound of `timerMaxDelaySec`, so that the limit in ms stays far from overflowing.
const MAX_TIMER_DELAY_SEC: i64 = 10 * 365 * 24 * 3600;

fn err(key: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError {
        key: key.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

impl BrokerConfig {
    /// Builds a configuration from `broker.conf` entries over the defaults.
    pub fn from_properties(p: &Properties) -> Result<Self, ConfigError> {
        p.check()?;
        let mut c = BrokerConfig::default();
        for (key, value) in p.iter() {
            let v = value.trim();
            macro_rules! num {
                ($t:ty, $what:literal) => {
                    v.parse::<$t>()
                        .map_err(|_| err(key, value, concat!("expected ", $what)))?
                };
            }
            let boolean =
                || -> Result<bool, ConfigError> { p.parse_bool(key).map(|b| b.unwrap_or(false)) };
            match key {
                "brokerClusterName" => c.broker_cluster_name = printable_name(key, v)?,
                "brokerName" => c.broker_name = printable_name(key, v)?,
                "brokerId" => c.broker_id = num!(i64, "an integer"),
                "listenPort" => c.listen_port = num!(u16, "a port number (0-65535)"),
                "bindAddress" => {
                    c.bind_address = v
                        .parse::<std::net::IpAddr>()
                        .map_err(|_| err(key, value, "expected an IP address, e.g. 127.0.0.1"))?
                        .to_string()
                }
                "namesrvAddr" => c.namesrv_addr = Some(v.to_owned()).filter(|s| !s.is_empty()),
                "brokerIP1" => c.broker_ip1 = nonblank(key, v)?,
                "brokerPermission" => c.broker_permission = num!(i32, "a permission number"),
                "storePathRootDir" => c.store_path_root_dir = PathBuf::from(nonblank(key, v)?),
                // Empty (how `mqbroker -p` prints the unset default): under storePathRootDir.
                "storePathCommitLog" => {
                    c.store_path_commit_log = Some(v).filter(|v| !v.is_empty()).map(PathBuf::from)
                }
                "autoCreateTopicEnable" => c.auto_create_topic_enable = boolean()?,
                "autoCreateSubscriptionGroup" => c.auto_create_subscription_group = boolean()?,
                "defaultTopicQueueNums" => {
                    c.default_topic_queue_nums = positive(key, value, num!(i32, "an integer"))?
                }
                "clusterTopicEnable" => c.cluster_topic_enable = boolean()?,
                "brokerTopicEnable" => c.broker_topic_enable = boolean()?,
                "flushDiskType" => {
                    c.flush_disk_type = match v {
                        "ASYNC_FLUSH" => FlushDiskType::AsyncFlush,
                        "SYNC_FLUSH" => FlushDiskType::SyncFlush,
                        _ => return Err(err(key, value, "expected ASYNC_FLUSH or SYNC_FLUSH")),
                    }
                }
                "brokerRole" => {
                    c.broker_role = match v {
                        "ASYNC_MASTER" => BrokerRole::AsyncMaster,
                        "SYNC_MASTER" => BrokerRole::SyncMaster,
                        "SLAVE" => BrokerRole::Slave,
                        _ => {
                            return Err(err(
                                key,
                                value,
                                "expected ASYNC_MASTER, SYNC_MASTER or SLAVE",
                            ))
                        }
                    }
                }
                "deleteWhen" => {
                    let ok = v
                        .split(';')
                        .all(|h| h.parse::<u8>().map(|h| h < 24).unwrap_or(false));
                    if !ok {
                        return Err(err(
                            key,
                            value,
                            "expected hours of the day (00-23) separated by ;",
                        ));
                    }
                    c.delete_when = v.to_owned();
                }
                "fileReservedTime" => {
                    c.file_reserved_time = positive(key, value, num!(i64, "a number of hours"))?
                }
                "maxMessageSize" => {
                    c.max_message_size = positive(key, value, num!(i32, "a size in bytes"))?
                }
                "mappedFileSizeCommitLog" => {
                    c.mapped_file_size_commit_log = num!(u64, "a size in bytes")
                }
                "mappedFileSizeConsumeQueue" => {
                    c.mapped_file_size_consume_queue = num!(u64, "a size in bytes")
                }
                "flushIntervalCommitLog" => c.flush_interval_commit_log = num!(u64, "milliseconds"),
                "syncFlushTimeout" => c.sync_flush_timeout = num!(u64, "milliseconds"),
                "diskMaxUsedSpaceRatio" => c.disk_max_used_space_ratio = num!(i32, "a percentage"),
                "registerNameServerPeriod" => {
                    c.register_name_server_period = num!(u64, "milliseconds")
                }
                "registerBrokerTimeoutMills" => {
                    c.register_broker_timeout_mills = num!(u64, "milliseconds")
                }
                "compressedRegister" => c.compressed_register = boolean()?,
                "enableSplitRegistration" => c.enable_split_registration = boolean()?,
                "splitRegistrationSize" => {
                    c.split_registration_size =
                        positive(key, value, num!(i32, "a number of topics"))? as usize
                }
                "longPollingEnable" => c.long_polling_enable = boolean()?,
                "shortPollingTimeMills" => c.short_polling_time_mills = num!(u64, "milliseconds"),
                "notifyConsumerIdsChangedEnable" => {
                    c.notify_consumer_ids_changed_enable = boolean()?
                }
                "channelExpiredTimeout" => c.channel_expired_timeout = num!(u64, "milliseconds"),
                "regionId" => c.region_id = v.to_owned(),
                "traceOn" => c.trace_on = boolean()?,
                "msgTraceTopicName" => {
                    ferromq_common::names::validate_topic(v)
                        .map_err(|e| err(key, value, &format!("expected a topic name: {e}")))?;
                    c.msg_trace_topic_name = v.to_owned()
                }
                "brokerTraceEnable" => c.broker_trace_enable = boolean()?,
                "storeReplyMessageEnable" => c.store_reply_message_enable = boolean()?,
                "enablePropertyFilter" => c.enable_property_filter = boolean()?,
                "filterSupportRetry" => c.filter_support_retry = boolean()?,
                "transactionTimeOut" => {
                    c.transaction_timeout = positive(key, value, num!(i64, "milliseconds"))?
                }
                "transactionCheckMax" => {
                    c.transaction_check_max = positive(key, value, num!(i32, "a count"))?
                }
                "transactionCheckInterval" => {
                    c.transaction_check_interval = positive(key, value, num!(u64, "milliseconds"))?
                }
                "rejectTransactionMessage" => c.reject_transaction_message = boolean()?,
                "timerWheelEnable" => c.timer_wheel_enable = boolean()?,
                "timerMaxDelaySec" => {
                    c.timer_max_delay_sec = positive(key, value, num!(i64, "a number of seconds"))?;
                    if c.timer_max_delay_sec > MAX_TIMER_DELAY_SEC {
                        return Err(err(key, value, "must be at most 315360000 (10 years)"));
                    }
                }
                "timerPrecisionMs" => {
                    c.timer_precision_ms = positive(key, value, num!(i64, "milliseconds"))?;
                    if c.timer_precision_ms > 60_000 {
                        return Err(err(key, value, "must be at most 60000"));
                    }
                }
                "recallMessageEnable" => c.recall_message_enable = boolean()?,
                "haListenPort" => c.ha_listen_port = Some(num!(u16, "a port number (0-65535)")),
                "grpcListenPort" => c.grpc_listen_port = num!(u16, "a port number (0-65535)"),
                "haMasterAddress" => {
                    c.ha_master_address = Some(v.to_owned()).filter(|s| !s.is_empty())
                }
                "haSendHeartbeatInterval" => {
                    c.ha_send_heartbeat_interval = positive(key, value, num!(u64, "milliseconds"))?
                }
                "haHousekeepingInterval" => {
                    c.ha_housekeeping_interval = positive(key, value, num!(u64, "milliseconds"))?
                }
                "haTransferBatchSize" => {
                    c.ha_transfer_batch_size = positive(key, value, num!(u64, "a byte count"))?
                }
                "haMaxGapNotInSync" => {
                    c.ha_max_gap_not_in_sync = positive(key, value, num!(i64, "a byte count"))?
                }
                "slaveReadEnable" => c.slave_read_enable = boolean()?,
                "brokerFastFailureEnable" => c.flow.fast_failure_enable = boolean()?,
                "sendMessageThreadPoolNums" => {
                    c.flow.send_slots = positive(key, value, num!(usize, "a count"))?
                }
                "sendThreadPoolQueueCapacity" => {
                    c.flow.send_queue_capacity = positive(key, value, num!(usize, "a count"))?
                }
                "waitTimeMillsInSendQueue" => {
                    c.flow.send_queue_wait_ms = positive(key, value, num!(u64, "milliseconds"))?
                }
                "osPageCacheBusyTimeOutMills" => {
                    c.flow.page_cache_busy_ms = positive(key, value, num!(u64, "milliseconds"))?
                }
                "serverMaxConnections" => {
                    c.flow.max_connections = positive(key, value, num!(usize, "a count"))?
                }
                "serverMaxInFlightPerConnection" => {
                    c.flow.max_in_flight = positive(key, value, num!(usize, "a count"))?
                }
                "serverMaxInFlightBytesPerConnection" => {
                    c.flow.max_in_flight_bytes = positive(key, value, num!(usize, "bytes"))?
                }
                "enableControllerMode" => c.enable_controller_mode = boolean()?,
                "controllerAddr" => {
                    c.controller_addr = Some(v.to_owned()).filter(|s| !s.is_empty())
                }
                "brokerHeartbeatInterval" => {
                    c.broker_heartbeat_interval = positive(key, value, num!(u64, "milliseconds"))?
                }
                "controllerHeartBeatTimeoutMills" => {
                    c.controller_heartbeat_timeout_mills =
                        positive(key, value, num!(u64, "milliseconds"))?
                }
                "syncBrokerMetadataPeriod" => {
                    c.sync_broker_metadata_period = positive(key, value, num!(u64, "milliseconds"))?
                }
                "checkSyncStateSetPeriod" => {
                    c.check_sync_state_set_period = positive(key, value, num!(u64, "milliseconds"))?
                }
                "allAckInSyncStateSet" => c.all_ack_in_sync_state_set = boolean()?,
                "aclEnable" => c.acl_enable = boolean()?,
                "plainAclFile" => c.plain_acl_file = Some(PathBuf::from(nonblank(key, v)?)),
                k if AuthKeys::KEYS.contains(&k) => c
                    .auth
                    .set(k, v)
                    .map_err(|reason| err(key, value, &reason))?,
                "dashboardPort" => {
                    c.dashboard_port_setting = Some(num!(u16, "a port number (0 turns it off)"))
                }
                "metricsExporterType" => {
                    c.metrics_exporter_type = MetricsExporterType::parse(v).ok_or_else(|| {
                        err(key, value, "expected DISABLE, OTLP_GRPC, PROM or LOG")
                    })?
                }
                "metricsPromExporterPort" => {
                    c.metrics_prom_exporter_port = num!(u16, "a port number (0-65535)")
                }
                "metricsPromExporterHost" => c.metrics_prom_exporter_host = v.to_owned(),
                "metricsLabel" => {
                    c.metrics_label =
                        parse_metrics_label(v).map_err(|reason| err(key, value, &reason))?
                }
                "com.rocketmq.remoting.frameMaxLength" => {
                    c.frame_max_length = positive(key, value, num!(usize, "a size in bytes"))?;
                    if c.frame_max_length > i32::MAX as usize {
                        return Err(err(key, value, "must be at most 2147483647"));
                    }
                }
                "remotingMaxHeaderSize" => {
                    c.remoting_max_header_size =
                        positive(key, value, num!(usize, "a size in bytes"))?
                }
                "maxBatchMessageCount" => {
                    c.max_batch_message_count = positive(key, value, num!(usize, "a count"))?
                }
                k if ferromq_net::tls::TlsSettings::KEYS.contains(&k) => {
                    c.tls.set(k, v).map_err(|reason| err(key, value, &reason))?;
                }
                k if ferromq_store::StoreConfig::knows(k) => {
                    ferromq_store::StoreConfig::default()
                        .set_property(k, v)
                        .map_err(|reason| err(key, value, &reason))?;
                    c.store_settings.push((k.to_owned(), v.to_owned()));
                }
                k if ACCEPTED_KEYS.contains(&k) => c.inert_keys.push(k.to_owned()),
                k if crate::rocketmq_keys::is_rocketmq_key(k) => {
                    c.unimplemented_keys.push(k.to_owned())
                }
                k => c.unknown_keys.push(k.to_owned()),
            }
        }
        if c.mapped_file_size_commit_log < 4096 {
            return Err(err(
                "mappedFileSizeCommitLog",
                &c.mapped_file_size_commit_log.to_string(),
                "must be at least 4096 bytes",
            ));
        }
        if c.mapped_file_size_consume_queue < 20 || c.mapped_file_size_consume_queue % 20 != 0 {
            return Err(err(
                "mappedFileSizeConsumeQueue",
                &c.mapped_file_size_consume_queue.to_string(),
                "must be a positive multiple of 20",
            ));
        }
        c.settle_broker_id()?;
        Ok(c)
    }

    /// The dashboard's port: `dashboardPort`, 8080 when not set, 0 when off.
    pub fn dashboard_port(&self) -> u16 {
        self.dashboard_port_setting
            .unwrap_or(DEFAULT_DASHBOARD_PORT)
    }

    /// The address clients and admin tools use to reach this broker (`brokerIP1:listenPort`).
    pub fn broker_addr(&self) -> String {
        format!("{}:{}", self.broker_ip1, self.listen_port)
    }

    /// Start-up warnings about settings FerroMQ accepts but does not honour (yet): inert keys,
    /// roles without replication.
    pub fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .inert_keys
            .iter()
            .map(|k| {
                format!("broker.conf key `{k}` is accepted for compatibility but not implemented by FerroMQ yet: it has no effect")
            })
            .collect();
        out.extend(self.auth.warnings());
        if !self.unimplemented_keys.is_empty() {
            out.push(format!(
                "{} RocketMQ broker.conf key(s) are not implemented by FerroMQ and have no effect: {}",
                self.unimplemented_keys.len(),
                self.unimplemented_keys.join(", ")
            ));
        }
        if self.plain_acl_file.is_some() && !self.acl_enable {
            out.push(
                "plainAclFile is set but aclEnable=false: requests are served without ACL checks"
                    .into(),
            );
        }
        if let Some(id) = self.master_broker_id_ignored {
            out.push(format!(
                "brokerId={id} ignored: a master's brokerId is always 0 (slaves take 1 and up)"
            ));
        }
        if self.broker_role == BrokerRole::Slave && !self.slave_read_enable {
            out.push(
                "brokerRole=SLAVE with slaveReadEnable=false: this slave replicates but refuses pulls (SYSTEM_BUSY); set slaveReadEnable=true to let consumers read from it".into(),
            );
        }
        out.extend(self.metrics_exporter_type.warning());
        if self.tls.server_need_client_auth != ferromq_net::tls::ClientAuth::None
            && !self.tls.server_auth_client
        {
            out.push("tls.server.authClient=false has no effect: client certificates are verified against tls.server.trustCertPath whenever tls.server.need.client.auth asks for them".into());
        }
        out
    }

    /// RocketMQ's rule: a master is broker 0, a slave needs an id above 0.
    fn settle_broker_id(&mut self) -> Result<(), ConfigError> {
        if self.enable_controller_mode {
            // The controller assigns ids and roles; `brokerId` and `brokerRole` only say
            // whether a master waits for its slaves (SYNC_MASTER).
            if self.controller_addr.is_none() {
                return Err(err(
                    "controllerAddr",
                    "",
                    "enableControllerMode=true needs the controller addresses (host:port;host:port)",
                ));
            }
            return Ok(());
        }
        match self.broker_role {
            BrokerRole::Slave if self.broker_id <= 0 => Err(err(
                "brokerId",
                &self.broker_id.to_string(),
                "a slave's brokerId must be > 0 (0 is the master)",
            )),
            BrokerRole::Slave => Ok(()),
            BrokerRole::AsyncMaster | BrokerRole::SyncMaster => {
                if self.broker_id != 0 {
                    self.master_broker_id_ignored = Some(self.broker_id);
                    self.broker_id = 0;
                }
                Ok(())
            }
        }
    }

    /// `haListenPort`, or `listenPort + 1` when it is not set.
    pub fn ha_port(&self) -> u16 {
        self.ha_listen_port
            .unwrap_or_else(|| self.listen_port.wrapping_add(1))
    }

    /// The HA address advertised to name servers (`brokerIP1:haListenPort`).
    pub fn ha_addr(&self) -> String {
        format!("{}:{}", self.broker_ip1, self.ha_port())
    }

    /// The ACL file: `plainAclFile` (or `conf/plain_acl.yml`) under `$ROCKETMQ_HOME`, or under
    /// the working directory when ROCKETMQ_HOME is not set; an absolute `plainAclFile` as is.
    pub fn acl_file(&self) -> PathBuf {
        let file = self
            .plain_acl_file
            .clone()
            .unwrap_or_else(|| PathBuf::from("conf/plain_acl.yml"));
        if file.is_absolute() {
            return file;
        }
        match std::env::var_os("ROCKETMQ_HOME").filter(|h| !h.is_empty()) {
            Some(home) => PathBuf::from(home).join(file),
            None => file,
        }
    }

    /// Name-server addresses, split on `;`.
    pub fn namesrv_list(&self) -> Vec<String> {
        self.namesrv_addr
            .as_deref()
            .unwrap_or("")
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Directory for topics.json, consumerOffset.json and subscriptionGroup.json.
    pub fn config_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("config")
    }
}

/// `metricsLabel`: `k1:v1,k2:v2`; label names as Prometheus allows them.
fn parse_metrics_label(v: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, value)) = pair.split_once(':') else {
            return Err(format!("`{pair}` is not key:value"));
        };
        let valid = name
            .chars()
            .enumerate()
            .all(|(i, ch)| ch == '_' || ch.is_ascii_alphabetic() || (i > 0 && ch.is_ascii_digit()));
        if name.is_empty() || !valid || name.starts_with("__") {
            return Err(format!("`{name}` is not a Prometheus label name"));
        }
        out.push((name.to_owned(), value.to_owned()));
    }
    Ok(out)
}

fn nonblank(key: &str, v: &str) -> Result<String, ConfigError> {
    if v.is_empty() {
        return Err(err(key, v, "must not be empty"));
    }
    Ok(v.to_owned())
}

/// A name the broker writes into what it stores and answers: the cluster name becomes every
/// message's CLUSTER property, whose pairs are cut at U+0001 and U+0002, so a control character
/// there would forge or break properties.
fn printable_name(key: &str, v: &str) -> Result<String, ConfigError> {
    if v.chars().any(char::is_control) {
        // Shown escaped: the characters at fault are invisible as they are.
        let shown = v.escape_debug().to_string();
        return Err(err(key, &shown, "must not contain control characters"));
    }
    nonblank(key, v)
}

fn positive<T: PartialOrd + Default>(key: &str, raw: &str, v: T) -> Result<T, ConfigError> {
    if v <= T::default() {
        return Err(err(key, raw, "must be greater than 0"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rocketmq_keys_and_reports_unknown_ones() {
        let p = Properties::parse(
            "brokerClusterName=C1\nbrokerName=broker-a\nbrokerId=0\nlistenPort=10999\nflushDiskType=SYNC_FLUSH\ndeleteWhen=04\nfileReservedTime=48\nnoSuchKey=1\n",
        );
        let c = BrokerConfig::from_properties(&p).unwrap();
        assert_eq!(c.broker_cluster_name, "C1");
        assert_eq!(c.listen_port, 10999);
        assert_eq!(c.flush_disk_type, FlushDiskType::SyncFlush);
        assert_eq!(c.file_reserved_time, 48);
        assert_eq!(c.unknown_keys, vec!["noSuchKey".to_owned()]);
    }

    #[test]
    fn names_with_control_characters_are_refused() {
        // U+0001 and U+0002 cut the properties' pairs: a cluster name holding them would add
        // properties to every message stored.
        for line in [
            "brokerClusterName=C\u{1}x\u{2}WAIT\u{1}false",
            "brokerName=broker\u{2}a",
            "brokerClusterName=C\\u0001x",
            "brokerClusterName=tab\there",
        ] {
            let e = BrokerConfig::from_properties(&Properties::parse(line)).unwrap_err();
            assert!(
                e.to_string()
                    .contains("must not contain control characters"),
                "{line}: {e}"
            );
        }
        // Java's escapes are read as Java reads them; a malformed one refuses the file.
        let p = Properties::parse("brokerName=broker\\u002da\nbrokerClusterName=C\\u00");
        let e = BrokerConfig::from_properties(&p).unwrap_err();
        assert_eq!(e.key, "brokerClusterName");
        assert!(e.to_string().contains("malformed \\uxxxx"), "{e}");
        let p = Properties::parse("brokerName=broker\\u002da");
        assert_eq!(
            BrokerConfig::from_properties(&p).unwrap().broker_name,
            "broker-a"
        );
        let p = Properties::parse("brokerClusterName=Cluster-\u{e9} 1\nbrokerName=b_1");
        assert_eq!(
            BrokerConfig::from_properties(&p)
                .unwrap()
                .broker_cluster_name,
            "Cluster-\u{e9} 1"
        );
    }

    #[test]
    fn timer_keys_have_rocketmq_defaults_and_are_read() {
        let c = BrokerConfig::default();
        assert!(c.timer_wheel_enable);
        assert_eq!(
            (c.timer_max_delay_sec, c.timer_precision_ms),
            (259_200, 1000)
        );
        let p = Properties::parse(
            "timerWheelEnable=false\ntimerMaxDelaySec=60\ntimerPrecisionMs=100\n",
        );
        let c = BrokerConfig::from_properties(&p).unwrap();
        assert!(!c.timer_wheel_enable);
        assert_eq!((c.timer_max_delay_sec, c.timer_precision_ms), (60, 100));
        assert!(c.unknown_keys.is_empty());
    }

    #[test]
    fn recall_is_off_by_default_as_in_rocketmq() {
        assert!(!BrokerConfig::default().recall_message_enable);
        let c = BrokerConfig::from_properties(&Properties::parse("recallMessageEnable=true\n"))
            .unwrap();
        assert!(c.recall_message_enable);
        assert!(c.unknown_keys.is_empty());
        let e = BrokerConfig::from_properties(&Properties::parse("recallMessageEnable=on"))
            .unwrap_err();
        assert_eq!(e.key, "recallMessageEnable");
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, key) in [
            ("listenPort=abc", "listenPort"),
            ("flushDiskType=SOMETIMES", "flushDiskType"),
            ("autoCreateTopicEnable=yes", "autoCreateTopicEnable"),
            ("deleteWhen=25", "deleteWhen"),
            ("maxMessageSize=0", "maxMessageSize"),
            ("timerWheelEnable=maybe", "timerWheelEnable"),
            ("timerMaxDelaySec=0", "timerMaxDelaySec"),
            ("timerMaxDelaySec=999999999999", "timerMaxDelaySec"),
            ("timerPrecisionMs=-5", "timerPrecisionMs"),
        ] {
            let e = BrokerConfig::from_properties(&Properties::parse(text)).unwrap_err();
            assert_eq!(e.key, key, "{text}");
            assert!(e.to_string().contains(key));
        }
    }

    #[test]
    fn acl_is_off_by_default_and_read_with_its_file() {
        let c = BrokerConfig::default();
        assert!(!c.acl_enable);
        assert!(c.acl_file().ends_with("conf/plain_acl.yml"));
        let c = BrokerConfig::from_properties(&Properties::parse(
            "aclEnable=true\nplainAclFile=/etc/ferromq/acl.yml\n",
        ))
        .unwrap();
        assert!(c.acl_enable);
        assert_eq!(c.acl_file(), PathBuf::from("/etc/ferromq/acl.yml"));
        assert!(c.inert_keys.is_empty() && c.warnings().is_empty());
        let e = BrokerConfig::from_properties(&Properties::parse("aclEnable=yes")).unwrap_err();
        assert_eq!(e.key, "aclEnable");
    }

    #[test]
    fn metrics_keys_have_rocketmq_defaults_and_warn_when_unserved() {
        let c = BrokerConfig::default();
        assert_eq!((c.dashboard_port(), c.dashboard_port_setting), (8080, None));
        assert_eq!(c.metrics_exporter_type, MetricsExporterType::Disable);
        assert_eq!(c.metrics_prom_exporter_port, 5557);
        let c = BrokerConfig::from_properties(&Properties::parse(
            "dashboardPort=0\nmetricsExporterType=prom\nmetricsPromExporterPort=9100\nmetricsLabel=instance_id:a,zone:b\n",
        ))
        .unwrap();
        assert_eq!(c.dashboard_port(), 0);
        assert_eq!(c.metrics_exporter_type, MetricsExporterType::Prom);
        assert_eq!(c.metrics_prom_exporter_port, 9100);
        assert_eq!(c.metrics_label.len(), 2);
        assert!(c.warnings().is_empty(), "{:?}", c.warnings());
        let c = BrokerConfig::from_properties(&Properties::parse(
            "metricsExporterType=OTLP_GRPC\nmetricsInDelta=true\n",
        ))
        .unwrap();
        let w = c.warnings().join("\n");
        assert!(w.contains("OTLP_GRPC is not implemented"), "{w}");
        assert!(w.contains("`metricsInDelta`"), "{w}");
        for text in [
            "metricsExporterType=PROMETHEUS",
            "metricsLabel=novalue",
            "metricsLabel=1x:y",
        ] {
            let e = BrokerConfig::from_properties(&Properties::parse(text)).unwrap_err();
            assert!(text.starts_with(&e.key), "{text}: {e}");
        }
    }

    #[test]
    fn every_listed_key_is_recognised() {
        for key in BROKER_KEYS {
            // Any value: a key the parser knows is either taken or refused by name.
            match BrokerConfig::from_properties(&Properties::parse(&format!("{key}=x\n"))) {
                Ok(c) => assert!(c.unknown_keys.is_empty(), "{key} is not recognised"),
                Err(e) => assert_eq!(e.key, *key),
            }
        }
        assert!(BrokerConfig::known_keys().any(|k| k == "flushDiskType"));
        assert!(BrokerConfig::known_keys().any(|k| k == "maxIndexNum"));
    }
}
