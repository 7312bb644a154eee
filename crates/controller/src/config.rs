//! Controller settings (`controller.conf`), RocketMQ's `ControllerConfig` keys and defaults.
//!
//! RocketMQ's DLedger keys name the Raft group: `controllerDLegerGroup`, `controllerDLegerPeers`
//! (`n0-127.0.0.1:9878;n1-127.0.0.1:9868;n2-127.0.0.1:9858`) and `controllerDLegerSelfId`. As
//! with DLedger, a node serves brokers and its Raft peers on the port of its own peer address.
//! Keys starting with `raft` are FerroMQ's own (openraft timings).

use std::path::PathBuf;
use std::time::Duration;

use ferromq_common::config::{ConfigError, Properties};

/// One controller node of the Raft group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its name in `controllerDLegerPeers` (`n0`).
    pub name: String,
    /// `host:port` it serves on.
    pub addr: String,
}

/// Controller settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerConfig {
    /// `controllerDLegerGroup`: name of the Raft group (reported by GET_METADATA_INFO).
    pub group: String,
    /// `controllerDLegerPeers`: every node of the group.
    pub peers: Vec<Peer>,
    /// `controllerDLegerSelfId`: this node's name among the peers.
    pub self_id: String,
    /// `controllerStorePath`: Raft log, vote and snapshot (`~/DLedgerController`).
    pub store_path: PathBuf,
    /// `scanNotActiveBrokerInterval`: heartbeat expiry sweep, ms (5000).
    pub scan_not_active_broker_interval_ms: u64,
    /// `scanInactiveMasterInterval`: the leader's scan for sets with a dead master, ms (5000).
    pub scan_inactive_master_interval_ms: u64,
    /// `electMasterMaxRetryCount`: tries of a controller-triggered election (3).
    pub elect_master_max_retry_count: u32,
    /// `enableElectUncleanMaster`: elect outside the syncStateSet when nobody in it is alive
    /// (false: messages may be lost).
    pub enable_elect_unclean_master: bool,
    /// `notifyBrokerRoleChanged`: send NOTIFY_BROKER_ROLE_CHANGED after elections (true).
    pub notify_broker_role_changed: bool,
    /// `configBlackList`: `;`-separated keys UPDATE_CONTROLLER_CONFIG may not change.
    pub config_black_list: String,
    /// `raftHeartbeatIntervalMs` (FerroMQ): leader heartbeat to followers (300).
    pub raft_heartbeat_interval_ms: u64,
    /// `raftElectionTimeoutMinMs` / `raftElectionTimeoutMaxMs` (FerroMQ): a follower that hears
    /// no leader for a random time in this range starts an election (1000..2000).
    pub raft_election_timeout_min_ms: u64,
    /// See `raft_election_timeout_min_ms`.
    pub raft_election_timeout_max_ms: u64,
    /// `raftSnapshotLogs` (FerroMQ): take a snapshot every this many applied entries (1000).
    pub raft_snapshot_logs: u64,
}

/// Default `heartbeatTimeoutMills` of a broker whose heartbeat carries none
/// (`DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`).
pub const DEFAULT_BROKER_TIMEOUT_MS: u64 = 10_000;

impl Default for ControllerConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        ControllerConfig {
            group: String::new(),
            peers: Vec::new(),
            self_id: String::new(),
            store_path: home.join("DLedgerController"),
            scan_not_active_broker_interval_ms: 5_000,
            scan_inactive_master_interval_ms: 5_000,
            elect_master_max_retry_count: 3,
            enable_elect_unclean_master: false,
            notify_broker_role_changed: true,
            config_black_list: "configBlackList;configStorePath".into(),
            raft_heartbeat_interval_ms: 300,
            raft_election_timeout_min_ms: 1_000,
            raft_election_timeout_max_ms: 2_000,
            raft_snapshot_logs: 1_000,
        }
    }
}

/// RocketMQ keys accepted without effect: Java thread pools, DLedger/JRaft file tuning and
/// metrics exporters. Reported at start-up as "accepted, not implemented".
pub const IGNORED_KEYS: &[&str] = &[
    "rocketmqHome",
    "configStorePath",
    "controllerType",
    "controllerThreadPoolNums",
    "controllerRequestThreadPoolQueueCapacity",
    "mappedFileSize",
    "isProcessReadEvent",
    "metricsExporterType",
    "metricsGrpcExporterTarget",
    "metricsGrpcExporterHeader",
    "metricGrpcExporterTimeOutInMills",
    "metricGrpcExporterIntervalInMills",
    "metricLoggingExporterIntervalInMills",
    "metricsPromExporterPort",
    "metricsPromExporterHost",
    "metricsLabel",
    "metricsInDelta",
    "jRaftGroupId",
    "jRaftServerId",
    "jRaftInitConf",
    "jRaftControllerRPCAddr",
    "jRaftElectionTimeoutMs",
    "jRaftSnapshotIntervalSecs",
];

/// Keys that act.
pub const KEYS: &[&str] = &[
    "controllerDLegerGroup",
    "controllerDLegerPeers",
    "controllerDLegerSelfId",
    "controllerStorePath",
    "scanNotActiveBrokerInterval",
    "scanInactiveMasterInterval",
    "electMasterMaxRetryCount",
    "enableElectUncleanMaster",
    "notifyBrokerRoleChanged",
    "configBlackList",
    "raftHeartbeatIntervalMs",
    "raftElectionTimeoutMinMs",
    "raftElectionTimeoutMaxMs",
    "raftSnapshotLogs",
];

/// Keys UPDATE_CONTROLLER_CONFIG may change while running.
pub const RUNTIME_KEYS: &[&str] = &[
    "scanNotActiveBrokerInterval",
    "scanInactiveMasterInterval",
    "electMasterMaxRetryCount",
    "enableElectUncleanMaster",
    "notifyBrokerRoleChanged",
];

/// Parses `controllerDLegerPeers`: `name-host:port` entries separated by `;`.
pub fn parse_peers(text: &str) -> Result<Vec<Peer>, ConfigError> {
    let bad = |reason: &str| ConfigError {
        key: "controllerDLegerPeers".into(),
        value: text.to_owned(),
        reason: reason.to_owned(),
    };
    let mut peers: Vec<Peer> = Vec::new();
    for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, addr) = entry
            .split_once('-')
            .ok_or_else(|| bad("expected id-host:port entries separated by ;"))?;
        let (name, addr) = (name.trim(), addr.trim());
        let port_ok = addr
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if name.is_empty() || !port_ok {
            return Err(bad("expected id-host:port entries separated by ;"));
        }
        if peers.iter().any(|p| p.name == name) {
            return Err(bad("a peer id appears twice"));
        }
        peers.push(Peer {
            name: name.to_owned(),
            addr: addr.to_owned(),
        });
    }
    if peers.is_empty() {
        return Err(bad("no peers"));
    }
    Ok(peers)
}

impl ControllerConfig {
    /// Builds a config from `controller.conf` properties over the defaults.
    ///
    /// Returns the config and the keys it did not recognise (for the caller to warn about), or
    /// an error naming the first bad key. `controllerDLegerPeers` and `controllerDLegerSelfId`
    /// are required and the self id must be one of the peers.
    pub fn from_properties(props: &Properties) -> Result<(Self, Vec<String>), ConfigError> {
        props.check()?;
        let mut config = ControllerConfig::default();
        let unknown = config.apply(props)?;
        config.validate()?;
        Ok((config, unknown))
    }

    /// Reads `controller.conf` at `path` (what `ferromq controller -c FILE` should call).
    ///
    /// Logs a warning for every unknown key (with the closest known key, when one is close)
    /// and one line listing the RocketMQ keys present that FerroMQ accepts without effect.
    /// Errors when the file cannot be read or a value is invalid.
    pub fn load(path: &std::path::Path) -> Result<Self, crate::ControllerError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| crate::ControllerError::ReadConfig {
                path: path.display().to_string(),
                source,
            })?;
        let props = Properties::parse(&text);
        let (config, unknown) = ControllerConfig::from_properties(&props)?;
        for key in unknown {
            match ferromq_common::suggest::closest(
                &key,
                KEYS.iter().copied().chain(IGNORED_KEYS.iter().copied()),
            ) {
                Some(hint) => {
                    tracing::warn!(%key, "unknown controller config key; did you mean {hint}?")
                }
                None => tracing::warn!(%key, "unknown controller config key"),
            }
        }
        let ignored: Vec<&str> = props
            .iter()
            .map(|(k, _)| k)
            .filter(|k| IGNORED_KEYS.contains(k))
            .collect();
        if !ignored.is_empty() {
            tracing::info!(keys = %ignored.join(","), "controller config keys accepted but not implemented");
        }
        Ok(config)
    }

    /// Applies every key of `props`; returns the unknown keys. On error `self` may be partly
    /// updated, so callers apply to a copy.
    pub fn apply(&mut self, props: &Properties) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        for (key, value) in props.iter() {
            let value = value.trim();
            match key {
                "controllerDLegerGroup" => self.group = value.to_owned(),
                "controllerDLegerPeers" => self.peers = parse_peers(value)?,
                "controllerDLegerSelfId" => self.self_id = value.to_owned(),
                "controllerStorePath" if !value.is_empty() => {
                    self.store_path = PathBuf::from(value)
                }
                "controllerStorePath" => {}
                "scanNotActiveBrokerInterval" => {
                    self.scan_not_active_broker_interval_ms = positive(props, key)?
                }
                "scanInactiveMasterInterval" => {
                    self.scan_inactive_master_interval_ms = positive(props, key)?
                }
                "electMasterMaxRetryCount" => {
                    self.elect_master_max_retry_count =
                        props.parse_value(key, "a count")?.unwrap_or(3)
                }
                "enableElectUncleanMaster" => {
                    self.enable_elect_unclean_master = props.parse_bool(key)?.unwrap_or(false)
                }
                "notifyBrokerRoleChanged" => {
                    self.notify_broker_role_changed = props.parse_bool(key)?.unwrap_or(true)
                }
                "configBlackList" => self.config_black_list = value.to_owned(),
                "raftHeartbeatIntervalMs" => {
                    self.raft_heartbeat_interval_ms = positive(props, key)?
                }
                "raftElectionTimeoutMinMs" => {
                    self.raft_election_timeout_min_ms = positive(props, key)?
                }
                "raftElectionTimeoutMaxMs" => {
                    self.raft_election_timeout_max_ms = positive(props, key)?
                }
                "raftSnapshotLogs" => self.raft_snapshot_logs = positive(props, key)?,
                k if IGNORED_KEYS.contains(&k) => {}
                other => unknown.push(other.to_owned()),
            }
        }
        Ok(unknown)
    }

    /// Checks what no single key can: the self id is a peer, timings are consistent.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.peers.is_empty() {
            return Err(ConfigError {
                key: "controllerDLegerPeers".into(),
                value: String::new(),
                reason: "required".into(),
            });
        }
        if self.self_peer().is_none() {
            return Err(ConfigError {
                key: "controllerDLegerSelfId".into(),
                value: self.self_id.clone(),
                reason: "must name one of controllerDLegerPeers".into(),
            });
        }
        if self.raft_election_timeout_min_ms <= self.raft_heartbeat_interval_ms
            || self.raft_election_timeout_max_ms <= self.raft_election_timeout_min_ms
        {
            return Err(ConfigError {
                key: "raftElectionTimeoutMinMs".into(),
                value: self.raft_election_timeout_min_ms.to_string(),
                reason: "need raftHeartbeatIntervalMs < raftElectionTimeoutMinMs < raftElectionTimeoutMaxMs".into(),
            });
        }
        Ok(())
    }

    /// This node's peer entry.
    pub fn self_peer(&self) -> Option<&Peer> {
        self.peers.iter().find(|p| p.name == self.self_id)
    }

    /// `controllerDLegerPeers` as RocketMQ writes it.
    pub fn peers_text(&self) -> String {
        self.peers
            .iter()
            .map(|p| format!("{}-{}", p.name, p.addr))
            .collect::<Vec<_>>()
            .join(";")
    }

    /// The heartbeat expiry sweep period.
    pub fn scan_not_active_broker_interval(&self) -> Duration {
        Duration::from_millis(self.scan_not_active_broker_interval_ms)
    }

    /// The leader's dead-master scan period.
    pub fn scan_inactive_master_interval(&self) -> Duration {
        Duration::from_millis(self.scan_inactive_master_interval_ms)
    }

    /// Settings as properties text (GET_CONTROLLER_CONFIG), keys sorted.
    pub fn to_properties_text(&self) -> String {
        let mut lines = [
            ("configBlackList", self.config_black_list.clone()),
            ("controllerDLegerGroup", self.group.clone()),
            ("controllerDLegerPeers", self.peers_text()),
            ("controllerDLegerSelfId", self.self_id.clone()),
            ("controllerStorePath", self.store_path.display().to_string()),
            (
                "electMasterMaxRetryCount",
                self.elect_master_max_retry_count.to_string(),
            ),
            (
                "enableElectUncleanMaster",
                self.enable_elect_unclean_master.to_string(),
            ),
            (
                "notifyBrokerRoleChanged",
                self.notify_broker_role_changed.to_string(),
            ),
            (
                "raftElectionTimeoutMaxMs",
                self.raft_election_timeout_max_ms.to_string(),
            ),
            (
                "raftElectionTimeoutMinMs",
                self.raft_election_timeout_min_ms.to_string(),
            ),
            (
                "raftHeartbeatIntervalMs",
                self.raft_heartbeat_interval_ms.to_string(),
            ),
            ("raftSnapshotLogs", self.raft_snapshot_logs.to_string()),
            (
                "scanInactiveMasterInterval",
                self.scan_inactive_master_interval_ms.to_string(),
            ),
            (
                "scanNotActiveBrokerInterval",
                self.scan_not_active_broker_interval_ms.to_string(),
            ),
        ];
        lines.sort_by(|a, b| a.0.cmp(b.0));
        lines.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
    }
}

fn positive(props: &Properties, key: &str) -> Result<u64, ConfigError> {
    match props.parse_value::<u64>(key, "a positive number of milliseconds")? {
        Some(v) if v > 0 => Ok(v),
        _ => Err(ConfigError {
            key: key.to_owned(),
            value: props.get(key).unwrap_or_default().to_owned(),
            reason: "expected a positive number".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rocketmq_controller_conf() {
        let props = Properties::parse(
            "controllerDLegerGroup = group1\ncontrollerDLegerPeers = n0-127.0.0.1:9878;n1-127.0.0.1:9868;n2-127.0.0.1:9858\ncontrollerDLegerSelfId = n1\ncontrollerStorePath = /tmp/c1\nenableElectUncleanMaster = true\nmetricsLabel=x\nbogus=1\n",
        );
        let (c, unknown) = ControllerConfig::from_properties(&props).unwrap();
        assert_eq!(c.group, "group1");
        assert_eq!(c.peers.len(), 3);
        assert_eq!(c.self_peer().unwrap().addr, "127.0.0.1:9868");
        assert_eq!(c.store_path, PathBuf::from("/tmp/c1"));
        assert!(c.enable_elect_unclean_master && c.notify_broker_role_changed);
        assert_eq!(c.scan_not_active_broker_interval_ms, 5_000);
        assert_eq!(unknown, vec!["bogus".to_owned()]);
        assert_eq!(
            c.peers_text(),
            "n0-127.0.0.1:9878;n1-127.0.0.1:9868;n2-127.0.0.1:9858"
        );
    }

    #[test]
    fn refuses_bad_peers_and_self_ids() {
        for peers in ["", "n0", "n0-host", "n0-h:x", "n0-h:1;n0-h:2", "-h:1"] {
            assert!(parse_peers(peers).is_err(), "{peers}");
        }
        let props = Properties::parse(
            "controllerDLegerPeers=n0-127.0.0.1:9878\ncontrollerDLegerSelfId=n9\n",
        );
        let err = ControllerConfig::from_properties(&props).unwrap_err();
        assert_eq!(err.key, "controllerDLegerSelfId");
        let props = Properties::parse("controllerDLegerPeers=n0-127.0.0.1:9878\ncontrollerDLegerSelfId=n0\nscanNotActiveBrokerInterval=0\n");
        assert!(ControllerConfig::from_properties(&props).is_err());
    }
}
