//! [`Scrape`]: the readings of one scrape, grouped into families, and their encoding as
//! OpenMetrics text by `prometheus-client`.

use std::borrow::Cow;
use std::collections::HashMap;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

/// A series' labels: `(name, value)` pairs, the sources' constant labels first.
pub type Labels = Vec<(Cow<'static, str>, String)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

#[derive(Debug)]
enum Value {
    Counter(u64),
    CounterF64(f64),
    Gauge(f64),
    /// Sum, count, and `(upper bound, count in this bucket)`; the last bound is `f64::MAX`.
    Histogram(f64, u64, Vec<(f64, u64)>),
}

#[derive(Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    series: Vec<(Labels, Value)>,
}

/// What the sources found in one scrape. Sources add series with [`Scrape::counter`],
/// [`Scrape::gauge`] and [`Scrape::histogram`]; series of the same metric name from several
/// sources end up in one family.
#[derive(Debug, Default)]
pub struct Scrape {
    families: Vec<Family>,
    by_name: HashMap<&'static str, usize>,
    /// Labels added in front of every series (the current source's `cluster`, `node_type`...).
    constant: Labels,
}

impl Scrape {
    /// Sets the labels put in front of every series added from now on.
    pub fn set_constant_labels(&mut self, labels: Labels) {
        self.constant = labels;
    }

    fn family(&mut self, name: &'static str, help: &'static str, kind: Kind) -> &mut Family {
        let i = *self.by_name.entry(name).or_insert_with(|| {
            self.families.push(Family {
                name,
                help,
                kind,
                series: Vec::new(),
            });
            self.families.len() - 1
        });
        &mut self.families[i]
    }

    /// The constant labels followed by `own`, values escaped (`prometheus-client` writes label
    /// values as given, and a client-supplied version string may hold a quote).
    fn labels(&self, own: Labels) -> Labels {
        self.constant
            .iter()
            .cloned()
            .chain(own)
            .map(|(k, v)| (k, escape(v)))
            .collect()
    }

    /// Adds a counter reading. `name` is the full sample name, ending in `_total`
    /// (`rocketmq_messages_in_total`), as RocketMQ spells it.
    pub fn counter(&mut self, name: &'static str, help: &'static str, labels: Labels, v: u64) {
        let labels = self.labels(labels);
        self.family(name, help, Kind::Counter)
            .series
            .push((labels, Value::Counter(v)));
    }

    /// Adds an unlabelled counter of fractional value (CPU seconds).
    pub(crate) fn counter_f64(&mut self, name: &'static str, help: &'static str, v: f64) {
        let labels = self.labels(Labels::new());
        self.family(name, help, Kind::Counter)
            .series
            .push((labels, Value::CounterF64(v)));
    }

    /// Adds a gauge reading.
    pub fn gauge(&mut self, name: &'static str, help: &'static str, labels: Labels, v: f64) {
        let labels = self.labels(labels);
        self.family(name, help, Kind::Gauge)
            .series
            .push((labels, Value::Gauge(v)));
    }

    /// Adds a histogram reading: `buckets` holds `(upper bound, observations in this bucket)`
    /// in increasing order, the last with bound `f64::MAX` (`+Inf`).
    pub fn histogram(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: Labels,
        sum: f64,
        count: u64,
        buckets: Vec<(f64, u64)>,
    ) {
        let labels = self.labels(labels);
        self.family(name, help, Kind::Histogram)
            .series
            .push((labels, Value::Histogram(sum, count, buckets)));
    }

    /// The OpenMetrics text of everything added (ending in `# EOF`).
    pub fn encode(self) -> String {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(Encoded(self.families)));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}

/// `v` escaped for a label value: backslash, double quote and line feed.
fn escape(v: String) -> String {
    if !v.contains(['\\', '"', '\n']) {
        return v;
    }
    let mut out = String::with_capacity(v.len() + 2);
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The families of one scrape, handed to `prometheus-client` as a collector.
#[derive(Debug)]
struct Encoded(Vec<Family>);

impl Collector for Encoded {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            let (name, metric_type) = match family.kind {
                // prometheus-client appends `_total` to a counter's samples itself.
                Kind::Counter => (
                    family.name.strip_suffix("_total").unwrap_or(family.name),
                    MetricType::Counter,
                ),
                Kind::Gauge => (family.name, MetricType::Gauge),
                Kind::Histogram => (family.name, MetricType::Histogram),
            };
            let mut metric = encoder.encode_descriptor(name, family.help, None, metric_type)?;
            if let [(labels, value)] = family.series.as_slice() {
                if labels.is_empty() {
                    // An unlabelled metric; `encode_family` would write `{}`.
                    Reading(value).encode(metric)?;
                    continue;
                }
            }
            for (labels, value) in &family.series {
                Reading(value).encode(metric.encode_family(labels)?)?;
            }
        }
        Ok(())
    }
}

struct Reading<'a>(&'a Value);

impl EncodeMetric for Reading<'_> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        match self.0 {
            Value::Counter(v) => encoder.encode_counter::<NoLabelSet, _, u64>(v, None),
            Value::CounterF64(v) => encoder.encode_counter::<NoLabelSet, _, u64>(v, None),
            // Whole numbers as integers (`12`, not `12.0`), as RocketMQ's long gauges read.
            Value::Gauge(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => {
                encoder.encode_gauge(&(*v as i64))
            }
            Value::Gauge(v) => encoder.encode_gauge(v),
            Value::Histogram(sum, count, buckets) => {
                encoder.encode_histogram::<NoLabelSet>(*sum, *count, buckets, None)
            }
        }
    }

    fn metric_type(&self) -> MetricType {
        match self.0 {
            Value::Counter(_) | Value::CounterF64(_) => MetricType::Counter,
            Value::Gauge(_) => MetricType::Gauge,
            Value::Histogram(..) => MetricType::Histogram,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&'static str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn families_merge_across_sources_and_counters_keep_rocketmq_names() {
        let mut s = Scrape::default();
        s.set_constant_labels(l(&[("node_type", "broker")]));
        s.counter("rocketmq_messages_in_total", "in", l(&[("topic", "a")]), 3);
        s.histogram(
            "rocketmq_rpc_latency",
            "rpc",
            l(&[("request_code", "send_message")]),
            2.5,
            2,
            vec![(1.0, 1), (3.0, 1), (f64::MAX, 0)],
        );
        s.set_constant_labels(l(&[("node_type", "namesrv")]));
        s.histogram(
            "rocketmq_rpc_latency",
            "rpc",
            l(&[("request_code", "register_broker")]),
            0.5,
            1,
            vec![(1.0, 1), (3.0, 0), (f64::MAX, 0)],
        );
        s.gauge("g", "a \"quoted\" help", l(&[("topic", "x\"y\\z\n")]), 1.5);
        let text = s.encode();
        assert!(
            text.contains("# TYPE rocketmq_messages_in counter\n"),
            "{text}"
        );
        assert!(
            text.contains("rocketmq_messages_in_total{node_type=\"broker\",topic=\"a\"} 3\n"),
            "{text}"
        );
        assert_eq!(
            text.matches("# TYPE rocketmq_rpc_latency histogram")
                .count(),
            1
        );
        assert!(text.contains(
            "rocketmq_rpc_latency_bucket{le=\"3.0\",node_type=\"broker\",request_code=\"send_message\"} 2\n"
        ), "{text}");
        assert!(text.contains(
            "rocketmq_rpc_latency_bucket{le=\"+Inf\",node_type=\"namesrv\",request_code=\"register_broker\"} 1\n"
        ), "{text}");
        assert!(
            text.contains(r#"g{node_type="namesrv",topic="x\"y\\z\n"} 1.5"#),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
