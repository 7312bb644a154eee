//! The HTTP listeners started next to the servers: the dashboard (pages, its JSON API and
//! `/metrics`) on the broker's `dashboardPort`, and RocketMQ's Prometheus exporter port
//! (`metricsExporterType=PROM`, `metricsPromExporterHost:metricsPromExporterPort`) for the
//! broker and the name server.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferromq_broker::BrokerConfig;
use ferromq_dashboard::{ClusterTarget, Dashboard};
use ferromq_metrics::{MetricsExporterType, MetricsRegistry, ProcessSource};
use ferromq_namesrv::NamesrvConfig;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A process' metrics registry, with the process' own CPU and memory already in it.
pub fn process_registry() -> MetricsRegistry {
    let registry = MetricsRegistry::new();
    registry.register(Arc::new(ProcessSource));
    registry
}

/// The broker's dashboard: pages over the cluster of the name servers the broker registers
/// with (as `mqadmin -n` would), or only `/metrics` (with a warning) when it has none.
fn broker_dashboard(config: &BrokerConfig, registry: &MetricsRegistry) -> Dashboard {
    let namesrv = config.namesrv_list().join(";");
    if namesrv.is_empty() {
        tracing::warn!("dashboard: no name server address, so only /metrics is served");
        return Dashboard::metrics_only(registry.clone());
    }
    let target = ClusterTarget {
        namesrv,
        broker_addr: config.broker_addr(),
        broker_name: config.broker_name.clone(),
        cluster: config.broker_cluster_name.clone(),
    };
    match Dashboard::with_cluster(registry.clone(), target) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "dashboard: only /metrics is served");
            Dashboard::metrics_only(registry.clone())
        }
    }
}

/// The HTTP servers of one process; [`HttpServers::stop`] ends them.
#[derive(Default)]
pub struct HttpServers {
    tasks: Vec<JoinHandle<()>>,
    stop: CancellationToken,
}

impl HttpServers {
    /// Binds `address:port` and serves `dashboard` there; `what` names the listener in start-up
    /// lines and errors. A port that cannot be bound is an error, unless the port is only the
    /// default (`required` false): then a warning, and no listener.
    pub async fn start(
        &mut self,
        address: &str,
        port: u16,
        dashboard: Dashboard,
        what: &str,
        required: bool,
        tls: &ferromq_net::tls::TlsSettings,
    ) -> anyhow::Result<()> {
        let tls = tls
            .server()
            .with_context(|| format!("TLS settings of the {what}"))?;
        let listener = match TcpListener::bind((address, port)).await {
            Ok(l) => l,
            Err(e) if !required => {
                tracing::warn!(
                    error = %e,
                    "{what} NOT started: cannot listen on {address}:{port} (the default port); set dashboardPort to a free port, or 0 to turn it off"
                );
                return Ok(());
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot listen on {address}:{port} for the {what}"))
            }
        };
        let bound = listener
            .local_addr()
            .map_or_else(|_| format!("{address}:{port}"), |a| a.to_string());
        let scheme = match tls.mode() {
            ferromq_net::TlsMode::Disabled => "http",
            ferromq_net::TlsMode::Permissive => "http(s)",
            ferromq_net::TlsMode::Enforcing => "https",
        };
        println!("{what} listening on {scheme}://{bound}/metrics");
        let stop = self.stop.clone();
        let what = what.to_owned();
        self.tasks.push(tokio::spawn(async move {
            if let Err(e) = ferromq_dashboard::serve_tls(listener, tls, dashboard, stop).await {
                tracing::error!(error = %e, "{what} stopped");
            }
        }));
        Ok(())
    }

    /// The broker's listeners: the dashboard on `bindAddress:dashboardPort` unless the port is
    /// 0, and the exporter port with `metricsExporterType=PROM`.
    pub async fn start_for_broker(
        &mut self,
        config: &BrokerConfig,
        registry: &MetricsRegistry,
    ) -> anyhow::Result<()> {
        match config.dashboard_port() {
            0 => println!("dashboard off (dashboardPort=0)"),
            port => {
                let required = config.dashboard_port_setting.is_some();
                let address = &config.bind_address;
                let dashboard = broker_dashboard(config, registry);
                self.start(address, port, dashboard, "dashboard", required, &config.tls)
                    .await?
            }
        }
        if config.metrics_exporter_type == MetricsExporterType::Prom {
            let host = match config.metrics_prom_exporter_host.as_str() {
                "" => config.broker_ip1.as_str(),
                h => h,
            };
            self.start(
                host,
                config.metrics_prom_exporter_port,
                Dashboard::metrics_only(registry.clone()),
                "broker Prometheus exporter",
                true,
                &config.tls,
            )
            .await?;
        }
        Ok(())
    }

    /// The name server's exporter port with `metricsExporterType=PROM` (RocketMQ's name server
    /// has no dashboard; its controller takes these keys).
    pub async fn start_for_namesrv(
        &mut self,
        config: &NamesrvConfig,
        registry: &MetricsRegistry,
    ) -> anyhow::Result<()> {
        if let Some(warning) = config.metrics_exporter_type.warning() {
            tracing::warn!("name server: {warning}");
        }
        if config.metrics_exporter_type != MetricsExporterType::Prom {
            return Ok(());
        }
        let host = match config.metrics_prom_exporter_host.as_str() {
            "" => config.bind_address.as_str(),
            h => h,
        };
        self.start(
            host,
            config.metrics_prom_exporter_port,
            Dashboard::metrics_only(registry.clone()),
            "name server Prometheus exporter",
            true,
            &config.tls,
        )
        .await
    }

    /// Stops the listeners, giving open scrapes a second to finish.
    pub async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(1), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}
