//! [`MetricsRegistry`]: the sources of one process, read on each scrape.

use std::sync::Arc;

use parking_lot::RwLock;

use crate::Scrape;

/// The content type of [`MetricsRegistry::render`]'s text (OpenMetrics 1.0, which Prometheus
/// asks for first and parses natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

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
