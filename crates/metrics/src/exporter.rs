//! [`MetricsExporterType`]: RocketMQ 5's `metricsExporterType` key, read by both the broker's
//! and the name server's configuration.

/// `metricsExporterType` (RocketMQ's `MetricsExporterType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricsExporterType {
    /// No separate exporter (RocketMQ's default).
    #[default]
    Disable,
    /// OpenTelemetry over gRPC: not implemented by FerroMQ (its configs warn at start-up).
    OtlpGrpc,
    /// Prometheus text on `metricsPromExporterHost:metricsPromExporterPort`.
    Prom,
    /// Metrics written to the log: not implemented by FerroMQ (warned about at start-up).
    Log,
}

impl MetricsExporterType {
    /// Reads a value as RocketMQ takes it: the name in any case, or its number (0-3). `None`
    /// for anything else.
    pub fn parse(v: &str) -> Option<Self> {
        Some(match v.trim().to_ascii_uppercase().as_str() {
            "DISABLE" | "0" => MetricsExporterType::Disable,
            "OTLP_GRPC" | "1" => MetricsExporterType::OtlpGrpc,
            "PROM" | "2" => MetricsExporterType::Prom,
            "LOG" | "3" => MetricsExporterType::Log,
            _ => return None,
        })
    }

    /// RocketMQ's name of the value (`PROM`).
    pub fn name(self) -> &'static str {
        match self {
            MetricsExporterType::Disable => "DISABLE",
            MetricsExporterType::OtlpGrpc => "OTLP_GRPC",
            MetricsExporterType::Prom => "PROM",
            MetricsExporterType::Log => "LOG",
        }
    }

    /// A start-up warning when the value asks for an exporter FerroMQ does not have.
    pub fn warning(self) -> Option<String> {
        matches!(self, MetricsExporterType::OtlpGrpc | MetricsExporterType::Log).then(|| {
            format!(
                "metricsExporterType={} is not implemented by FerroMQ: metrics are served only as Prometheus text at /metrics (dashboardPort, and metricsPromExporterPort with metricsExporterType=PROM)",
                self.name()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_in_any_case_and_numbers() {
        assert_eq!(
            MetricsExporterType::parse("prom"),
            Some(MetricsExporterType::Prom)
        );
        assert_eq!(
            MetricsExporterType::parse("2"),
            Some(MetricsExporterType::Prom)
        );
        assert_eq!(
            MetricsExporterType::parse("OTLP_GRPC"),
            Some(MetricsExporterType::OtlpGrpc)
        );
        assert_eq!(MetricsExporterType::parse("prometheus"), None);
        assert!(MetricsExporterType::Log.warning().is_some());
        assert!(MetricsExporterType::Prom.warning().is_none());
    }
}
