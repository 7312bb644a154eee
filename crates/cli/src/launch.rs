//! Starting the servers: `mqnamesrv`, `mqbroker`, `mqcontroller` and `ferromq standalone`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ferromq_broker::BrokerConfig;
use ferromq_common::config::Properties;
use ferromq_namesrv::NamesrvConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::launch_http::{process_registry, HttpServers};

/// Sets up logging to stderr; `RUST_LOG` overrides the default `info` level (openraft's own
/// chatter at `warn`). Colours only when stderr is a terminal and `NO_COLOR` is not set, so a
/// log file holds plain text.
pub fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn"));
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .try_init();
}

/// A token cancelled on SIGINT or SIGTERM.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    let _ = tokio::signal::ctrl_c().await;
                    t.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutdown signal received");
        t.cancel();
    });
    token
}

fn read_properties(path: &Path) -> anyhow::Result<Properties> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    Ok(Properties::parse(&text))
}

/// Loads `namesrv.conf` (or the defaults).
pub fn namesrv_config(conf: Option<&Path>) -> anyhow::Result<NamesrvConfig> {
    let props = match conf {
        Some(p) => read_properties(p)?,
        None => Properties::default(),
    };
    let (config, unknown) =
        NamesrvConfig::from_properties(&props).context("invalid name server configuration")?;
    warn_about_namesrv(&props, unknown);
    Ok(config)
}

/// Start-up warnings about namesrv.conf: unknown keys, and keys accepted without effect.
fn warn_about_namesrv(props: &Properties, unknown: Vec<String>) {
    let known = || {
        ferromq_namesrv::config::KEY_DOCS
            .iter()
            .map(|(k, _)| *k)
            .chain(ferromq_namesrv::config::inert_key_names().iter().copied())
    };
    for key in unknown {
        match ferromq_common::suggest::closest(&key, known()) {
            Some(near) => tracing::warn!(
                key = %key,
                "unknown name server configuration key ignored; did you mean `{near}`?"
            ),
            None => tracing::warn!(key = %key, "unknown name server configuration key ignored"),
        }
    }
    for key in NamesrvConfig::inert_keys(props) {
        tracing::warn!(key = %key, "name server key accepted for compatibility but it has no effect in FerroMQ (it tunes Java's thread pools or Netty)");
    }
}

/// Loads `broker.conf` (or the defaults) and applies `-n`.
pub fn broker_config(conf: Option<&Path>, namesrv: Option<&str>) -> anyhow::Result<BrokerConfig> {
    let mut props = match conf {
        Some(p) => read_properties(p)?,
        None => Properties::default(),
    };
    if let Some(n) = namesrv {
        props.set("namesrvAddr", n);
    }
    let mut config =
        BrokerConfig::from_properties(&props).context("invalid broker configuration")?;
    config.config_file = conf.map(Path::to_path_buf);
    warn_about(&config);
    Ok(config)
}

/// Start-up warnings about broker.conf: unknown keys (with the nearest known one), and keys or
/// roles FerroMQ accepts without honouring them.
fn warn_about(config: &BrokerConfig) {
    for key in &config.unknown_keys {
        match ferromq_common::suggest::closest(key, BrokerConfig::known_keys()) {
            Some(near) => tracing::warn!(
                key = %key,
                "unknown broker configuration key ignored; did you mean `{near}`?"
            ),
            None => tracing::warn!(key = %key, "unknown broker configuration key ignored"),
        }
    }
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
}

async fn bind(address: &str, port: u16, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind((address, port))
        .await
        .with_context(|| format!("cannot listen on {address}:{port} for the {what}"))
}

/// What a listener is bound to, for start-up lines.
fn bound(listener: &TcpListener) -> String {
    listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string())
}

/// Runs a name server until a signal arrives.
pub async fn run_namesrv(config: NamesrvConfig) -> anyhow::Result<()> {
    let listener = bind(&config.bind_address, config.listen_port, "name server").await?;
    let registry = process_registry();
    let mut http = HttpServers::default();
    http.start_for_namesrv(&config, &registry).await?;
    let shutdown = shutdown_on_signal();
    let users = config
        .kv_config_path
        .parent()
        .map_or_else(|| PathBuf::from("auth.json"), |d| d.join("auth.json"));
    let guard = crate::launch_auth::namesrv_guard(&config, users, &shutdown)?;
    println!(
        "The Name Server boot success. serializeType=JSON, address {}",
        bound(&listener)
    );
    let result = ferromq_namesrv::run_guarded(listener, config, shutdown, Some(registry), guard)
        .await
        .context("name server failed");
    http.stop().await;
    result
}

/// Runs a broker until a signal arrives.
pub async fn run_broker(config: BrokerConfig) -> anyhow::Result<()> {
    if config.namesrv_list().is_empty() {
        tracing::warn!(
            "no name server address: set namesrvAddr in broker.conf, -n, or NAMESRV_ADDR"
        );
    }
    let listener = bind(&config.bind_address, config.listen_port, "broker").await?;
    let registry = process_registry();
    let mut http = HttpServers::default();
    http.start_for_broker(&config, &registry).await?;
    let shutdown = shutdown_on_signal();
    println!(
        "The broker[{}, {}] boot success. serializeType=JSON and name server is {} (listening on {})",
        config.broker_name,
        config.broker_addr(),
        config.namesrv_addr.clone().unwrap_or_default(),
        bound(&listener)
    );
    let grpc = GrpcApi::start(&config, &shutdown).await;
    let result = ferromq_broker::run_with_hook(
        config,
        listener,
        shutdown.clone(),
        Some(registry),
        grpc.hook(),
    )
    .await
    .context("broker failed");
    shutdown.cancel();
    grpc.stop().await;
    http.stop().await;
    result
}

/// The RocketMQ 5 gRPC API of a broker (`grpcListenPort`, 0: off).
#[derive(Default)]
struct GrpcApi {
    slot: Option<ferromq_grpc::BrokerSlot>,
    auth: Option<ferromq_grpc::auth::AuthSlot>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl GrpcApi {
    /// Listens on `grpcListenPort` unless it is 0. A port that cannot be bound is reported and
    /// the broker serves remoting clients without it. The port follows `tls.server.mode` and
    /// checks ACL 2.0 (`authenticationEnabled` / `authorizationEnabled`) as the remoting port
    /// does; ACL 1 (`aclEnable`) is not applied to gRPC requests, so it keeps the port closed.
    async fn start(config: &BrokerConfig, shutdown: &CancellationToken) -> GrpcApi {
        if config.grpc_listen_port == 0 {
            return GrpcApi::default();
        }
        if config.acl_enable {
            tracing::error!("the gRPC API is off: aclEnable=true (ACL 1, plain_acl.yml) is not applied to gRPC requests; use ACL 2.0 (authenticationEnabled/authorizationEnabled), which the gRPC API checks, or set grpcListenPort=0 to silence this");
            return GrpcApi::default();
        }
        let tls = match config.tls.server() {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "the gRPC API is off: its TLS cannot be set up");
                return GrpcApi::default();
            }
        };
        let auth = (config.auth.authentication_enabled || config.auth.authorization_enabled)
            .then(ferromq_grpc::auth::AuthSlot::default);
        let listener = match bind(&config.bind_address, config.grpc_listen_port, "gRPC API").await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(
                    "{e:#}: RocketMQ 5 (gRPC) clients cannot connect; set grpcListenPort to a free port, or 0 to turn the gRPC API off"
                );
                return GrpcApi::default();
            }
        };
        println!(
            "The gRPC API (RocketMQ 5 clients) is listening on {} (tls.server.mode={}{})",
            bound(&listener),
            tls.mode().name(),
            if auth.is_some() {
                ", ACL 2.0 checked"
            } else {
                ""
            }
        );
        let slot = ferromq_grpc::BrokerSlot::default();
        let security = ferromq_grpc::Security {
            tls,
            auth: auth.clone(),
        };
        let (s, stop) = (slot.clone(), shutdown.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = ferromq_grpc::serve_secured(listener, s, security, stop).await {
                tracing::error!(error = %e, "the gRPC API stopped");
            }
        });
        GrpcApi {
            slot: Some(slot),
            auth,
            task: Some(task),
        }
    }

    fn hook(&self) -> Option<ferromq_broker::OnOpen> {
        let hook = self.slot.as_ref().map(ferromq_grpc::BrokerSlot::hook)?;
        Some(match &self.auth {
            Some(a) => a.chain(hook),
            None => hook,
        })
    }

    async fn stop(self) {
        if let Some(t) = self.task {
            let _ = t.await;
        }
    }
}

/// Loads `controller.conf`. Without a file there is no Raft group to join, so RocketMQ's
/// required keys are asked for.
pub fn controller_config(
    conf: Option<&Path>,
) -> anyhow::Result<ferromq_controller::ControllerConfig> {
    let Some(path) = conf else {
        bail!("no controller config: pass -c controller.conf (with controllerDLegerPeers and controllerDLegerSelfId, see conf/controller/)");
    };
    ferromq_controller::ControllerConfig::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Runs a controller node until a signal arrives, then stops it (Raft included).
pub async fn run_controller(config: ferromq_controller::ControllerConfig) -> anyhow::Result<()> {
    let shutdown = shutdown_on_signal();
    let node = config.self_id.clone();
    let group = config.group.clone();
    let peers = config.peers_text();
    let store = config.store_path.display().to_string();
    // ControllerError's message already names its cause; no chain to add.
    let handle = ferromq_controller::start(config)
        .await
        .map_err(|e| anyhow::anyhow!("controller failed to start: {e}"))?;
    println!(
        "The Controller Server boot success. serializeType=JSON, node {node} of group {group} listening on {}, peers {peers}, store in {store}",
        handle.local_addr()
    );
    shutdown.cancelled().await;
    handle.stop().await;
    Ok(())
}

/// Options of `ferromq standalone`.
#[derive(Debug, Clone, Default)]
pub struct StandaloneOptions {
    /// Data directory (store and name-server KV file) when the config files do not say.
    pub data: PathBuf,
    /// Name-server port (overrides `--namesrv-conf`; default 9876).
    pub namesrv_port: Option<u16>,
    /// Broker port (overrides `-c`; default 10911).
    pub broker_port: Option<u16>,
    /// gRPC API port (overrides `-c`'s `grpcListenPort`; default 8081, 0 turns it off).
    pub grpc_port: Option<u16>,
    /// broker.conf, with the same keys as `mqbroker -c`.
    pub broker_conf: Option<PathBuf>,
    /// namesrv.conf, with the same keys as `mqnamesrv -c`.
    pub namesrv_conf: Option<PathBuf>,
    /// Copies of every message (`--replicas`): 1 is the broker alone, more adds slaves.
    pub replicas: usize,
}

/// The two configurations of `ferromq standalone`: the files' keys, then the standalone
/// defaults for what they leave out (`brokerName` broker-a, the store under `<data>/store`, the
/// KV file under `<data>/namesrv`, ports 9876 and 10911), then the port flags. The broker
/// always registers with the embedded name server.
pub fn standalone_configs(
    opts: &StandaloneOptions,
) -> anyhow::Result<(NamesrvConfig, BrokerConfig)> {
    let data = if opts.data.is_absolute() {
        opts.data.clone()
    } else {
        std::env::current_dir()?.join(&opts.data)
    };
    let mut ns_props = match &opts.namesrv_conf {
        Some(p) => read_properties(p)?,
        None => Properties::default(),
    };
    if let Some(port) = opts.namesrv_port {
        ns_props.set("listenPort", &port.to_string());
    }
    // The embedded name server listens where the broker does unless namesrv.conf says
    // otherwise: a broker kept on loopback should not bring a name server open to the network.
    let broker_props = match &opts.broker_conf {
        Some(p) => read_properties(p)?,
        None => Properties::default(),
    };
    if ns_props.get("bindAddress").is_none() {
        if let Some(addr) = broker_props.get("bindAddress") {
            ns_props.set("bindAddress", addr);
        }
    }
    if ns_props.get("kvConfigPath").is_none() {
        let kv = data.join("namesrv").join("kvConfig.json");
        ns_props.set("kvConfigPath", &kv.display().to_string());
    }
    let (ns_config, unknown) =
        NamesrvConfig::from_properties(&ns_props).context("invalid name server configuration")?;
    warn_about_namesrv(&ns_props, unknown);
    let mut props = broker_props;
    if props.get("brokerName").is_none() {
        props.set("brokerName", "broker-a");
    }
    if let Some(port) = opts.broker_port {
        props.set("listenPort", &port.to_string());
    }
    if let Some(port) = opts.grpc_port {
        props.set("grpcListenPort", &port.to_string());
    }
    let embedded = format!("127.0.0.1:{}", ns_config.listen_port);
    if let Some(other) = props.get("namesrvAddr").filter(|a| a.trim() != embedded) {
        tracing::warn!(
            configured = %other,
            used = %embedded,
            "standalone: the broker registers with the embedded name server, not namesrvAddr"
        );
    }
    props.set("namesrvAddr", &embedded);
    if props.get("storePathRootDir").is_none() {
        props.set(
            "storePathRootDir",
            &data.join("store").display().to_string(),
        );
    }
    if opts.replicas > 1 && props.get("brokerRole").is_none() {
        // Replicas are asked for so that a SEND_OK means two copies.
        props.set("brokerRole", "SYNC_MASTER");
    }
    let broker_config =
        BrokerConfig::from_properties(&props).context("invalid broker configuration")?;
    warn_about(&broker_config);
    Ok((ns_config, broker_config))
}

/// The slaves `--replicas` adds to `master`: slave i has brokerId i, listens on the master's
/// port + 10 × i (HA on the next port), keeps its store beside the master's with `-s<i>`,
/// follows the master's HA address directly and serves reads.
pub fn standalone_slaves(master: &BrokerConfig, replicas: usize) -> Vec<BrokerConfig> {
    (1..replicas)
        .map(|i| {
            let mut c = master.clone();
            let mut root = c.store_path_root_dir.clone().into_os_string();
            root.push(format!("-s{i}"));
            c.store_path_root_dir = root.into();
            c.store_path_commit_log = None;
            c.broker_id = i as i64;
            c.broker_role = ferromq_broker::config::BrokerRole::Slave;
            c.listen_port = master.listen_port.saturating_add(10 * i as u16);
            c.ha_listen_port = None;
            c.ha_master_address = Some(format!("127.0.0.1:{}", master.ha_port()));
            c.slave_read_enable = true;
            c.master_broker_id_ignored = None;
            c
        })
        .collect()
}

/// Runs a name server and a broker (and its `--replicas` slaves) in this process until a
/// signal arrives.
pub async fn run_standalone(opts: StandaloneOptions) -> anyhow::Result<()> {
    let (ns_config, broker_config) = standalone_configs(&opts)?;
    let slaves = standalone_slaves(&broker_config, opts.replicas);
    std::fs::create_dir_all(&broker_config.store_path_root_dir).with_context(|| {
        format!(
            "cannot create data directory {}",
            broker_config.store_path_root_dir.display()
        )
    })?;
    let ns_listener = bind(
        &ns_config.bind_address,
        ns_config.listen_port,
        "name server",
    )
    .await?;
    let broker_listener = bind(
        &broker_config.bind_address,
        broker_config.listen_port,
        "broker",
    )
    .await?;
    // One registry: the dashboard shows the name server's series next to the broker's.
    let registry = process_registry();
    let mut http = HttpServers::default();
    http.start_for_broker(&broker_config, &registry).await?;
    http.start_for_namesrv(&ns_config, &registry).await?;
    let shutdown = shutdown_on_signal();
    let ns_shutdown = CancellationToken::new();
    println!(
        "FerroMQ standalone: name server listening on {}, broker {} listening on {} (clients reach it at {}), store in {}",
        bound(&ns_listener),
        broker_config.broker_name,
        bound(&broker_listener),
        broker_config.broker_addr(),
        broker_config.store_path_root_dir.display()
    );
    let mut replicas = Vec::new();
    for slave in slaves {
        std::fs::create_dir_all(&slave.store_path_root_dir).with_context(|| {
            format!(
                "cannot create data directory {}",
                slave.store_path_root_dir.display()
            )
        })?;
        let listener = bind(&slave.bind_address, slave.listen_port, "slave").await?;
        println!(
            "  slave {} of {} listening on {}, store in {}",
            slave.broker_id,
            slave.broker_name,
            bound(&listener),
            slave.store_path_root_dir.display()
        );
        let stop = shutdown.clone();
        replicas.push(tokio::spawn(async move {
            ferromq_broker::run(slave, listener, stop).await
        }));
    }
    // The embedded name server reads the broker's users unless authConfigPath says otherwise.
    let ns_guard = crate::launch_auth::namesrv_guard(
        &ns_config,
        broker_config
            .config_dir()
            .join(ferromq_broker::auth::FILE_NAME),
        &ns_shutdown,
    )?;
    let ns = tokio::spawn(ferromq_namesrv::run_guarded(
        ns_listener,
        ns_config,
        ns_shutdown.clone(),
        Some(registry.clone()),
        ns_guard,
    ));
    let grpc = GrpcApi::start(&broker_config, &shutdown).await;
    let result = ferromq_broker::run_with_hook(
        broker_config,
        broker_listener,
        shutdown.clone(),
        Some(registry),
        grpc.hook(),
    )
    .await;
    // The master is gone (a signal, or it failed): its slaves stop too.
    shutdown.cancel();
    grpc.stop().await;
    for r in replicas {
        match r.await {
            Ok(Err(e)) => tracing::error!(error = %e, "slave failed"),
            Err(e) => tracing::error!(error = %e, "slave task failed"),
            Ok(Ok(())) => {}
        }
    }
    ns_shutdown.cancel();
    let _ = ns.await;
    http.stop().await;
    if let Err(e) = result {
        bail!("broker failed: {e}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(
        dir: &std::path::Path,
        broker_conf: &str,
        namesrv_conf: Option<&str>,
    ) -> StandaloneOptions {
        let b = dir.join("broker.conf");
        std::fs::write(&b, broker_conf).unwrap();
        let n = namesrv_conf.map(|text| {
            let n = dir.join("namesrv.conf");
            std::fs::write(&n, text).unwrap();
            n
        });
        StandaloneOptions {
            data: dir.to_path_buf(),
            namesrv_port: None,
            broker_port: None,
            grpc_port: None,
            broker_conf: Some(b),
            namesrv_conf: n,
            replicas: 1,
        }
    }

    #[test]
    fn the_embedded_name_server_follows_the_broker_bind_address() {
        let dir = tempfile::tempdir().unwrap();
        let (ns, broker) =
            standalone_configs(&options(dir.path(), "bindAddress=127.0.0.1\n", None)).unwrap();
        assert_eq!(broker.bind_address, "127.0.0.1");
        assert_eq!(ns.bind_address, "127.0.0.1");

        // namesrv.conf wins when it says where to listen.
        let (ns, _) = standalone_configs(&options(
            dir.path(),
            "bindAddress=127.0.0.1\n",
            Some("bindAddress=0.0.0.0\n"),
        ))
        .unwrap();
        assert_eq!(ns.bind_address, "0.0.0.0");

        // Neither says: RocketMQ's default, every interface.
        let (ns, _) = standalone_configs(&options(dir.path(), "", None)).unwrap();
        assert_eq!(ns.bind_address, "0.0.0.0");
    }
}
