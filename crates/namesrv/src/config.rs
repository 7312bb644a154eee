//! Name server settings (`namesrv.conf`), RocketMQ's `NamesrvConfig` plus the listen port of
//! `NettyServerConfig`.
//!
//! Keys are RocketMQ's. Keys RocketMQ knows but FerroMQ has no use for (thread pools, Netty
//! buffers) are accepted silently; other keys are returned as unknown so the caller can warn.

use std::path::PathBuf;
use std::time::Duration;

use ferromq_common::config::{ConfigError, Properties};

/// Default `heartbeatTimeoutMillis` of a broker that does not send one (RocketMQ's
/// `DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`).
pub const DEFAULT_BROKER_EXPIRED_MS: u64 = 120_000;

/// Name server settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamesrvConfig {
    /// `listenPort`: TCP port for clients and brokers (9876).
    pub listen_port: u16,
    /// `bindAddress`: address to bind (`0.0.0.0`).
    pub bind_address: String,
    /// `rocketmqHome`: accepted for compatibility, unused.
    pub rocketmq_home: Option<String>,
    /// `kvConfigPath`: JSON file holding the KV config (`~/namesrv/kvConfig.json`).
    pub kv_config_path: PathBuf,
    /// `orderMessageEnable`: add `orderTopicConf` from KV namespace `ORDER_TOPIC_CONFIG` to
    /// routes and return that namespace to registering brokers (false).
    pub order_message_enable: bool,
    /// `returnOrderTopicConfigToBroker`: with `orderMessageEnable`, send the namespace
    /// `ORDER_TOPIC_CONFIG` in register responses (true).
    pub return_order_topic_config_to_broker: bool,
    /// `scanNotActiveBrokerInterval`: how often expired brokers are swept, ms (5000).
    pub scan_not_active_broker_interval_ms: u64,
    /// `brokerChannelExpiredTime` (FerroMQ): expiry of a broker whose registration carries no
    /// `heartbeatTimeoutMillis`, ms (120000).
    pub broker_channel_expired_time_ms: u64,
    /// `serverChannelMaxIdleTimeSeconds`: close connections idle this long; 0 never (120).
    pub server_channel_max_idle_time_seconds: u64,
    /// `enableAllTopicList`: serve GET_ALL_TOPIC_LIST_FROM_NAMESERVER (true).
    pub enable_all_topic_list: bool,
    /// `enableTopicList`: serve GET_TOPICS_BY_CLUSTER (true).
    pub enable_topic_list: bool,
    /// `deleteTopicWithBrokerRegistration`: a master's registration removes its topics that the
    /// body no longer lists (false: registrations merge).
    pub delete_topic_with_broker_registration: bool,
    /// `configBlackList`: `;`-separated keys UPDATE_NAMESRV_CONFIG may not change.
    pub config_black_list: String,
    /// `metricsExporterType` (RocketMQ 5's controller key): with `PROM`, the name server serves
    /// Prometheus text at `/metrics` on `metricsPromExporterHost:metricsPromExporterPort`
    /// (`DISABLE` by default, as in RocketMQ). Read at start-up only.
    pub metrics_exporter_type: ferromq_metrics::MetricsExporterType,
    /// `metricsPromExporterPort` (5557).
    pub metrics_prom_exporter_port: u16,
    /// `metricsPromExporterHost`; empty means `bindAddress`.
    pub metrics_prom_exporter_host: String,
    /// The `tls.*` keys: TLS on the listening port (`tls.server.mode`, certificate, client
    /// certificates), read at start-up.
    pub tls: ferromq_net::tls::TlsSettings,
    /// The ACL 2.0 keys ([`AUTH_KEYS`]) as written, values that differ from the default only;
    /// checked and applied at start-up by the launcher.
    pub auth: std::collections::BTreeMap<String, String>,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        NamesrvConfig {
            listen_port: 9876,
            bind_address: "0.0.0.0".into(),
            rocketmq_home: std::env::var("ROCKETMQ_HOME").ok(),
            kv_config_path: home.join("namesrv").join("kvConfig.json"),
            order_message_enable: false,
            return_order_topic_config_to_broker: true,
            scan_not_active_broker_interval_ms: 5_000,
            broker_channel_expired_time_ms: DEFAULT_BROKER_EXPIRED_MS,
            server_channel_max_idle_time_seconds: 120,
            enable_all_topic_list: true,
            enable_topic_list: true,
            delete_topic_with_broker_registration: false,
            config_black_list: "configBlackList;configStorePath;kvConfigPath".into(),
            metrics_exporter_type: ferromq_metrics::MetricsExporterType::Disable,
            metrics_prom_exporter_port: 5557,
            metrics_prom_exporter_host: String::new(),
            tls: Default::default(),
            auth: Default::default(),
        }
    }
}

/// The ACL 2.0 keys of namesrv.conf (RocketMQ's `AuthConfig` names) with their defaults.
pub const AUTH_KEYS: &[(&str, &str)] = &[
    ("authenticationEnabled", "false"),
    ("authorizationEnabled", "false"),
    ("authConfigPath", ""),
    ("clusterName", "DefaultCluster"),
    ("authenticationProvider", ""),
    ("authorizationProvider", ""),
    ("initAuthenticationUser", ""),
    ("innerClientAuthenticationCredentials", ""),
    ("authenticationWhitelist", ""),
    ("authorizationWhitelist", ""),
    ("migrateAuthFromV1Enabled", "false"),
];

/// ACL 2.0 keys whose value holds a password: shown masked.
const SECRET_AUTH_KEYS: &[&str] = &[
    "initAuthenticationUser",
    "innerClientAuthenticationCredentials",
];

fn auth_default(key: &str) -> Option<&'static str> {
    AUTH_KEYS.iter().find(|(k, _)| *k == key).map(|(_, d)| *d)
}

/// RocketMQ keys accepted and ignored: they tune Java thread pools and Netty.
const IGNORED_KEYS: &[&str] = &[
    "configStorePath",
    "productEnvName",
    "clusterTest",
    "clientRequestThreadPoolNums",
    "defaultThreadPoolNums",
    "clientRequestThreadPoolQueueCapacity",
    "defaultThreadPoolQueueCapacity",
    "unRegisterBrokerQueueCapacity",
    "supportActingMaster",
    "notifyMinBrokerIdChanged",
    "enableControllerInNamesrv",
    "needWaitForService",
    "waitSecondsForService",
    "serverWorkerThreads",
    "serverCallbackExecutorThreads",
    "serverSelectorThreads",
    "serverOnewaySemaphoreValue",
    "serverAsyncSemaphoreValue",
    "serverSocketSndBufSize",
    "serverSocketRcvBufSize",
    "writeBufferHighWaterMark",
    "writeBufferLowWaterMark",
    "serverSocketBacklog",
    "serverPooledByteBufAllocatorEnable",
    "useEpollNativeSelector",
    "enableShutdownGracefully",
    "shutdownWaitTimeSeconds",
];

/// What each namesrv.conf key FerroMQ reads means: `(key, meaning)`, one line a key, for the
/// configuration reference (`docs/configuration.md`); a test checks it against
/// [`NamesrvConfig::apply`] and [`NamesrvConfig::to_properties_text`].
pub const KEY_DOCS: &[(&str, &str)] = &[
    ("listenPort", "TCP port for clients and brokers"),
    ("bindAddress", "Address to listen on (`0.0.0.0`: every interface)"),
    ("kvConfigPath", "JSON file holding the KV configuration (`updateKvConfig`)"),
    ("rocketmqHome", "Accepted and shown by `getNamesrvConfig`; unused"),
    ("orderMessageEnable", "Add the `ORDER_TOPIC_CONFIG` KV entries to routes and return them to registering brokers"),
    ("returnOrderTopicConfigToBroker", "With `orderMessageEnable`, send the `ORDER_TOPIC_CONFIG` namespace in register answers"),
    ("scanNotActiveBrokerInterval", "Milliseconds between sweeps for brokers that stopped registering"),
    ("brokerChannelExpiredTime", "Milliseconds without registration after which a broker that names no timeout is dropped"),
    ("serverChannelMaxIdleTimeSeconds", "Close connections idle this many seconds (0: never)"),
    ("enableAllTopicList", "Serve the list of all topics (`topicList`)"),
    ("enableTopicList", "Serve the topics of a cluster"),
    ("deleteTopicWithBrokerRegistration", "A master's registration removes its topics that it no longer lists (false: registrations add up)"),
    ("configBlackList", "`;`-separated keys `updateNamesrvConfig` may not change"),
    ("metricsExporterType", "`PROM` serves `/metrics` (Prometheus text) on the exporter port; `DISABLE` (default) does not"),
    ("metricsPromExporterPort", "Port of `/metrics` with `metricsExporterType=PROM`"),
    ("metricsPromExporterHost", "Address of `/metrics` (empty: `bindAddress`)"),
    ("tls.server.mode", "TLS on the listening port: `disabled`, `permissive` (TLS and plaintext) or `enforcing` (TLS only)"),
    ("tls.config.file", "Properties file of further `tls.*` keys, read at start-up when it exists"),
    ("tls.test.mode.enable", "Without `tls.server.certPath`, present a self-signed certificate made at start-up"),
    ("tls.server.need.client.auth", "Client certificates: `none`, `optional` or `require` (checked against `tls.server.trustCertPath`)"),
    ("tls.server.certPath", "PEM certificate chain presented to clients"),
    ("tls.server.keyPath", "Unencrypted PEM private key of `tls.server.certPath`"),
    ("tls.server.keyPassword", "Password of an encrypted key: not supported, start-up fails when set"),
    ("tls.server.authClient", "Read but without effect: client certificates are always verified when asked for"),
    ("tls.server.trustCertPath", "PEM CA certificates client certificates are checked against"),
    ("authenticationEnabled", "ACL 2.0: every request must be signed by a known user (read at start-up)"),
    ("authorizationEnabled", "ACL 2.0: every request is checked against its user's ACL (read at start-up)"),
    ("authConfigPath", "ACL 2.0 users and ACLs: a JSON file in the format of a broker's `config/auth.json` (it may be that file), read again when it changes (default `~/namesrv/auth.json`; standalone: the broker's)"),
    ("clusterName", "ACL 2.0: name of the `Cluster:` resource name-server-wide changes (KV config, name server config, write permissions) need Update on"),
    ("authenticationProvider", "Only RocketMQ's default provider class is accepted"),
    ("authorizationProvider", "Only RocketMQ's default provider class is accepted"),
    ("initAuthenticationUser", "`{\"username\":\"...\",\"password\":\"...\"}`: a super user of this name server (kept in memory, shown masked)"),
    ("innerClientAuthenticationCredentials", "`{\"accessKey\":\"...\",\"secretKey\":\"...\"}`: a super user, the one brokers sign their registrations with (shown masked)"),
    ("authenticationWhitelist", "Request codes, comma-separated, that skip authentication"),
    ("authorizationWhitelist", "Request codes, comma-separated, that skip authorization"),
    ("migrateAuthFromV1Enabled", "Accepted; not implemented (warned)"),
];

/// The `tls.*` keys a name server reads (it opens no TLS connections of its own).
const NAMESRV_TLS_KEYS: &[&str] = &[
    "tls.server.mode",
    "tls.config.file",
    "tls.test.mode.enable",
    "tls.server.need.client.auth",
    "tls.server.certPath",
    "tls.server.keyPath",
    "tls.server.keyPassword",
    "tls.server.authClient",
    "tls.server.trustCertPath",
];

/// The namesrv.conf keys RocketMQ has that FerroMQ accepts without effect (Java thread pools,
/// Netty tuning).
pub fn inert_key_names() -> &'static [&'static str] {
    IGNORED_KEYS
}

impl NamesrvConfig {
    /// Builds a config from `namesrv.conf` properties over the defaults.
    ///
    /// Returns the config and the keys it did not recognise (for the caller to warn about), or
    /// an error naming the first key whose value does not parse or is out of range.
    pub fn from_properties(props: &Properties) -> Result<(Self, Vec<String>), ConfigError> {
        props.check()?;
        let mut config = NamesrvConfig::default();
        let unknown = config.apply(props)?;
        Ok((config, unknown))
    }

    /// Applies every key of `props` to `self` (UPDATE_NAMESRV_CONFIG and file loading).
    ///
    /// On error `self` may be partly updated; callers apply to a copy. Returns unknown keys.
    pub fn apply(&mut self, props: &Properties) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        for (key, value) in props.iter() {
            match key {
                "listenPort" => self.listen_port = number(props, key, "a port number 0-65535")?,
                "bindAddress" => self.bind_address = value.trim().to_owned(),
                "rocketmqHome" => self.rocketmq_home = Some(value.trim().to_owned()),
                "kvConfigPath" => {
                    if value.trim().is_empty() {
                        return Err(invalid(key, value, "a file path"));
                    }
                    self.kv_config_path = PathBuf::from(value.trim());
                }
                "orderMessageEnable" => self.order_message_enable = boolean(props, key)?,
                "returnOrderTopicConfigToBroker" => {
                    self.return_order_topic_config_to_broker = boolean(props, key)?;
                }
                "scanNotActiveBrokerInterval" => {
                    self.scan_not_active_broker_interval_ms = positive(props, key)?;
                }
                "brokerChannelExpiredTime" => {
                    self.broker_channel_expired_time_ms = positive(props, key)?
                }
                "serverChannelMaxIdleTimeSeconds" => {
                    self.server_channel_max_idle_time_seconds =
                        number(props, key, "a number of seconds (0 = never)")?;
                }
                "enableAllTopicList" => self.enable_all_topic_list = boolean(props, key)?,
                "enableTopicList" => self.enable_topic_list = boolean(props, key)?,
                "deleteTopicWithBrokerRegistration" => {
                    self.delete_topic_with_broker_registration = boolean(props, key)?;
                }
                "configBlackList" => self.config_black_list = value.trim().to_owned(),
                "metricsExporterType" => {
                    self.metrics_exporter_type = ferromq_metrics::MetricsExporterType::parse(value)
                        .ok_or_else(|| invalid(key, value, "DISABLE, OTLP_GRPC, PROM or LOG"))?;
                }
                "metricsPromExporterPort" => {
                    self.metrics_prom_exporter_port = number(props, key, "a port number 0-65535")?
                }
                "metricsPromExporterHost" => {
                    self.metrics_prom_exporter_host = value.trim().to_owned()
                }
                k if NAMESRV_TLS_KEYS.contains(&k) => {
                    self.tls
                        .set(k, value)
                        .map_err(|reason| invalid(key, value, &reason))?;
                }
                k if auth_default(k).is_some() => {
                    let v = value.trim();
                    if auth_default(k) == Some(v) || v.is_empty() {
                        self.auth.remove(k);
                    } else {
                        self.auth.insert(k.to_owned(), v.to_owned());
                    }
                }
                k if IGNORED_KEYS.contains(&k) => {}
                k => unknown.push(k.to_owned()),
            }
        }
        Ok(unknown)
    }

    /// The keys of `props` that RocketMQ has and FerroMQ accepts without effect (they tune
    /// Java's thread pools and Netty), for a start-up notice.
    pub fn inert_keys(props: &Properties) -> Vec<String> {
        props
            .iter()
            .map(|(k, _)| k)
            .filter(|k| IGNORED_KEYS.contains(k))
            .map(str::to_owned)
            .collect()
    }

    /// Keys UPDATE_NAMESRV_CONFIG refuses to change.
    /// The ACL 2.0 keys are read at start-up only, so they are always refused.
    pub fn black_listed_keys(&self) -> impl Iterator<Item = &str> {
        self.config_black_list
            .split(';')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .chain(AUTH_KEYS.iter().map(|(k, _)| *k))
    }

    /// The settings as properties text, one `key=value` a line (GET_NAMESRV_CONFIG).
    pub fn to_properties_text(&self) -> String {
        let mut entries: Vec<(&str, String)> = vec![
            ("bindAddress", self.bind_address.clone()),
            (
                "brokerChannelExpiredTime",
                self.broker_channel_expired_time_ms.to_string(),
            ),
            ("configBlackList", self.config_black_list.clone()),
            (
                "deleteTopicWithBrokerRegistration",
                self.delete_topic_with_broker_registration.to_string(),
            ),
            ("enableAllTopicList", self.enable_all_topic_list.to_string()),
            ("enableTopicList", self.enable_topic_list.to_string()),
            ("kvConfigPath", self.kv_config_path.display().to_string()),
            ("listenPort", self.listen_port.to_string()),
            (
                "metricsExporterType",
                self.metrics_exporter_type.name().to_owned(),
            ),
            (
                "metricsPromExporterHost",
                self.metrics_prom_exporter_host.clone(),
            ),
            (
                "metricsPromExporterPort",
                self.metrics_prom_exporter_port.to_string(),
            ),
            ("orderMessageEnable", self.order_message_enable.to_string()),
            (
                "returnOrderTopicConfigToBroker",
                self.return_order_topic_config_to_broker.to_string(),
            ),
            (
                "rocketmqHome",
                self.rocketmq_home.clone().unwrap_or_default(),
            ),
            (
                "scanNotActiveBrokerInterval",
                self.scan_not_active_broker_interval_ms.to_string(),
            ),
            (
                "serverChannelMaxIdleTimeSeconds",
                self.server_channel_max_idle_time_seconds.to_string(),
            ),
        ];
        for key in NAMESRV_TLS_KEYS {
            entries.push((key, self.tls.get(key).unwrap_or_default()));
        }
        for (key, default) in AUTH_KEYS {
            let value = match self.auth.get(*key) {
                Some(_) if SECRET_AUTH_KEYS.contains(key) => "******".to_owned(),
                Some(v) => v.clone(),
                None => (*default).to_owned(),
            };
            entries.push((key, value));
        }
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut text = String::new();
        for (k, v) in entries {
            text.push_str(k);
            text.push('=');
            text.push_str(&v);
            text.push('\n');
        }
        text
    }

    /// The sweep period for expired brokers.
    pub fn scan_interval(&self) -> Duration {
        Duration::from_millis(self.scan_not_active_broker_interval_ms.max(1))
    }

    /// The expiry of brokers that register without `heartbeatTimeoutMillis`.
    pub fn default_broker_timeout(&self) -> Duration {
        Duration::from_millis(self.broker_channel_expired_time_ms)
    }

    /// The idle timeout of connections, `None` when disabled.
    pub fn idle_timeout(&self) -> Option<Duration> {
        match self.server_channel_max_idle_time_seconds {
            0 => None,
            s => Some(Duration::from_secs(s)),
        }
    }
}

fn invalid(key: &str, value: &str, expected: &str) -> ConfigError {
    ConfigError {
        key: key.to_owned(),
        value: value.to_owned(),
        reason: format!("expected {expected}"),
    }
}

fn number<T: std::str::FromStr>(
    props: &Properties,
    key: &str,
    expected: &str,
) -> Result<T, ConfigError> {
    props
        .parse_value::<T>(key, expected)?
        .ok_or_else(|| invalid(key, "", expected))
}

fn positive(props: &Properties, key: &str) -> Result<u64, ConfigError> {
    let expected = "a positive number of milliseconds";
    match number::<u64>(props, key, expected)? {
        0 => Err(invalid(key, "0", expected)),
        n => Ok(n),
    }
}

fn boolean(props: &Properties, key: &str) -> Result<bool, ConfigError> {
    props
        .parse_bool(key)?
        .ok_or_else(|| invalid(key, "", "true or false"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_rocketmq() {
        let c = NamesrvConfig::default();
        assert_eq!(c.listen_port, 9876);
        assert_eq!(c.scan_not_active_broker_interval_ms, 5000);
        assert!(!c.order_message_enable);
        assert!(c.kv_config_path.ends_with("namesrv/kvConfig.json"));
    }

    #[test]
    fn parses_known_keys_and_reports_unknown() {
        let p = Properties::parse(
            "listenPort=9877\norderMessageEnable=TRUE\nkvConfigPath=/tmp/kv.json\n\
             serverWorkerThreads=8\nscanNotActiveBrokerInterval=200\nbogusKey=1\n",
        );
        let (c, unknown) = NamesrvConfig::from_properties(&p).unwrap();
        assert_eq!(c.listen_port, 9877);
        assert!(c.order_message_enable);
        assert_eq!(c.kv_config_path, PathBuf::from("/tmp/kv.json"));
        assert_eq!(c.scan_interval(), Duration::from_millis(200));
        assert_eq!(unknown, vec!["bogusKey".to_owned()]);
    }

    #[test]
    fn bad_values_name_the_key() {
        for text in [
            "listenPort=70000",
            "orderMessageEnable=yes",
            "scanNotActiveBrokerInterval=0",
            "metricsExporterType=prometheus",
            "metricsPromExporterPort=x",
        ] {
            let err = NamesrvConfig::from_properties(&Properties::parse(text)).unwrap_err();
            assert_eq!(err.key, text.split('=').next().unwrap(), "{text}");
        }
    }

    #[test]
    fn every_key_has_one_documented_line() {
        let shown: Vec<String> = NamesrvConfig::default()
            .to_properties_text()
            .lines()
            .map(|l| l.split('=').next().unwrap().to_owned())
            .collect();
        let mut documented: Vec<&str> = KEY_DOCS.iter().map(|(k, _)| *k).collect();
        documented.sort_unstable();
        assert_eq!(
            shown, documented,
            "KEY_DOCS and to_properties_text disagree"
        );
        for (key, _) in KEY_DOCS {
            let (_, unknown) =
                NamesrvConfig::from_properties(&Properties::parse(&format!("{key}=1\n")))
                    .unwrap_or_else(|e| {
                        assert_eq!(e.key, *key);
                        (NamesrvConfig::default(), Vec::new())
                    });
            assert!(unknown.is_empty(), "{key} is not read");
            assert!(!IGNORED_KEYS.contains(key), "{key}");
        }
    }

    #[test]
    fn properties_text_round_trips() {
        let mut c = NamesrvConfig {
            listen_port: 1234,
            order_message_enable: true,
            metrics_exporter_type: ferromq_metrics::MetricsExporterType::Prom,
            metrics_prom_exporter_port: 9101,
            ..Default::default()
        };
        c.rocketmq_home = Some("/opt/rmq".into());
        let (back, unknown) =
            NamesrvConfig::from_properties(&Properties::parse(&c.to_properties_text())).unwrap();
        assert!(unknown.is_empty());
        assert_eq!(back, c);
    }
}
