//! [`MetricsRegistry`]: the sources of one process, read on each scrape.

use std::sync::Arc;

use parking_lot::RwLock;

use crate::Scrape;

/// The content type of [`MetricsRegistry::render`]'s text (OpenMetrics 1.0, which Prometheus
/// asks for first and parses natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The content type of [`to_text_format`]'s text: Prometheus' classic text format 0.0.4, for
/// scrapers that do not ask for OpenMetrics.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Rewrites OpenMetrics text as Prometheus text format 0.0.4: counters' `# HELP` and `# TYPE`
/// name the `_total` samples, and the `# EOF` line goes.
pub fn to_text_format(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + counters.len() * 12);
    for line in openmetrics.lines() {
        if line == "# EOF" {
            continue;
        }
        let described = ["# HELP ", "# TYPE "].into_iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{p}{name}_total {tail}"))
        });
        match described {
            Some(l) => out.push_str(&l),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Something that reports metrics when scraped: a broker, a name server, the process.
pub trait Source: Send + Sync {
    /// Adds this source's current readings to `out` (set its constant labels first with
    /// [`Scrape::set_constant_labels`]). Runs on a blocking thread, never on a request path.
    fn collect(&self, out: &mut Scrape);
}

/// The sources of one process. Cheap to clone (all clones share the sources).
#[derive(Clone, Default)]
pub struct MetricsRegistry {
    sources: Arc<RwLock<Vec<Arc<dyn Source>>>>,
}

impl std::fmt::Debug for MetricsRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsRegistry")
            .field("sources", &self.sources.read().len())
            .finish()
    }
}

impl MetricsRegistry {
    /// A registry with no sources.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `source`; it is read on every scrape from now on.
    pub fn register(&self, source: Arc<dyn Source>) {
        self.sources.write().push(source);
    }

    /// Reads every source and returns the OpenMetrics text (see [`CONTENT_TYPE`]). It does
    /// file-system calls and walks offset tables: call it off the async runtime's workers.
    pub fn render(&self) -> String {
        let sources: Vec<Arc<dyn Source>> = self.sources.read().clone();
        let mut scrape = Scrape::default();
        for source in sources {
            source.collect(&mut scrape);
        }
        scrape.encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_names_counters_by_their_samples_and_drops_eof() {
        let om = "# HELP a_in In.\n# TYPE a_in counter\na_in_total{t=\"x\"} 3\n# HELP g G.\n# TYPE g gauge\ng 1\n# EOF\n";
        assert_eq!(
            to_text_format(om),
            "# HELP a_in_total In.\n# TYPE a_in_total counter\na_in_total{t=\"x\"} 3\n# HELP g G.\n# TYPE g gauge\ng 1\n"
        );
    }
}
