//! Starting the servers: `mqnamesrv`, `mqbroker` and `ferromq standalone`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ferromq_broker::BrokerConfig;
use ferromq_common::config::Properties;
use ferromq_namesrv::NamesrvConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Sets up logging to stderr; `RUST_LOG` overrides the default `info` level.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
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
    for key in unknown {
        tracing::warn!(key = %key, "unknown name server configuration key ignored");
    }
    Ok(config)
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
    let config = BrokerConfig::from_properties(&props).context("invalid broker configuration")?;
    for key in &config.unknown_keys {
        tracing::warn!(key = %key, "unknown broker configuration key ignored");
    }
    Ok(config)
}

async fn bind(port: u16, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(("0.0.0.0", port))
        .await
        .with_context(|| format!("cannot listen on port {port} for the {what}"))
}

/// Runs a name server until a signal arrives.
pub async fn run_namesrv(config: NamesrvConfig) -> anyhow::Result<()> {
    let listener = bind(config.listen_port, "name server").await?;
    let shutdown = shutdown_on_signal();
    println!(
        "The Name Server boot success. serializeType=JSON, address 0.0.0.0:{}",
        config.listen_port
    );
    ferromq_namesrv::run(listener, config, shutdown)
        .await
        .context("name server failed")
}

/// Runs a broker until a signal arrives.
pub async fn run_broker(config: BrokerConfig) -> anyhow::Result<()> {
    if config.namesrv_list().is_empty() {
        tracing::warn!(
            "no name server address: set namesrvAddr in broker.conf, -n, or NAMESRV_ADDR"
        );
    }
    let listener = bind(config.listen_port, "broker").await?;
    let shutdown = shutdown_on_signal();
    println!(
        "The broker[{}, {}] boot success. serializeType=JSON and name server is {}",
        config.broker_name,
        config.broker_addr(),
        config.namesrv_addr.clone().unwrap_or_default()
    );
    ferromq_broker::run(config, listener, shutdown)
        .await
        .context("broker failed")
}

/// Options of `ferromq standalone`.
#[derive(Debug, Clone)]
pub struct StandaloneOptions {
    /// Data directory (store and name-server KV file).
    pub data: PathBuf,
    /// Name-server port.
    pub namesrv_port: u16,
    /// Broker port.
    pub broker_port: u16,
}

/// Runs a name server and a broker in this process until a signal arrives.
pub async fn run_standalone(opts: StandaloneOptions) -> anyhow::Result<()> {
    let data = if opts.data.is_absolute() {
        opts.data.clone()
    } else {
        std::env::current_dir()?.join(&opts.data)
    };
    std::fs::create_dir_all(&data)
        .with_context(|| format!("cannot create data directory {}", data.display()))?;
    let mut ns_props = Properties::default();
    ns_props.set("listenPort", &opts.namesrv_port.to_string());
    ns_props.set(
        "kvConfigPath",
        &data
            .join("namesrv")
            .join("kvConfig.json")
            .display()
            .to_string(),
    );
    let (ns_config, _) = NamesrvConfig::from_properties(&ns_props)?;
    let mut props = Properties::default();
    props.set("brokerName", "broker-a");
    props.set("listenPort", &opts.broker_port.to_string());
    props.set("namesrvAddr", &format!("127.0.0.1:{}", opts.namesrv_port));
    props.set(
        "storePathRootDir",
        &data.join("store").display().to_string(),
    );
    let broker_config = BrokerConfig::from_properties(&props)?;

    let ns_listener = bind(opts.namesrv_port, "name server").await?;
    let broker_listener = bind(opts.broker_port, "broker").await?;
    let shutdown = shutdown_on_signal();
    let ns_shutdown = CancellationToken::new();
    let ns = tokio::spawn(ferromq_namesrv::run(
        ns_listener,
        ns_config,
        ns_shutdown.clone(),
    ));
    println!(
        "FerroMQ standalone: name server on 127.0.0.1:{}, broker broker-a on {}, data in {}",
        opts.namesrv_port,
        broker_config.broker_addr(),
        data.display()
    );
    let result = ferromq_broker::run(broker_config, broker_listener, shutdown).await;
    ns_shutdown.cancel();
    let _ = ns.await;
    if let Err(e) = result {
        bail!("broker failed: {e}");
    }
    Ok(())
}
