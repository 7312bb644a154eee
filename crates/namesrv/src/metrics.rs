//! The name server as a metrics source: request latency by request code
//! (`rocketmq_rpc_latency`, as RocketMQ's remoting layer records it) and the size of the route
//! table (FerroMQ names: RocketMQ's name server exports no metrics of its own).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Weak;

use ferromq_metrics::names::{LABEL_CLUSTER, LABEL_NODE_ID, LABEL_NODE_TYPE};
use ferromq_metrics::{Labels, Scrape, Source};

use crate::server::Shared;

/// Gauge: broker addresses registered, by cluster.
pub const NAMESRV_BROKERS: &str = "ferromq_namesrv_brokers";
/// Gauge: topics in the route table.
pub const NAMESRV_TOPICS: &str = "ferromq_namesrv_topics";

/// Reads a name server on each scrape; reports nothing once it is dropped.
pub(crate) struct NamesrvSource {
    pub(crate) shared: Weak<Shared>,
    /// `node_type="namesrv"`, `node_id` (the address it listens on).
    pub(crate) constant: Labels,
}

impl NamesrvSource {
    pub(crate) fn new(shared: Weak<Shared>, node_id: String) -> Self {
        NamesrvSource {
            shared,
            constant: vec![
                (Cow::Borrowed(LABEL_NODE_TYPE), "namesrv".into()),
                (Cow::Borrowed(LABEL_NODE_ID), node_id),
            ],
        }
    }
}

impl Source for NamesrvSource {
    fn collect(&self, out: &mut Scrape) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        out.set_constant_labels(self.constant.clone());
        shared
            .rpc
            .collect(out, ferromq_proto::codes::request_name, |code| {
                Some(ferromq_proto::codes::response_name(code)).filter(|n| *n != "UNKNOWN")
            });
        let (info, topics) = {
            let routes = shared.routes.read();
            (routes.cluster_info(), routes.all_topics().topic_list.len())
        };
        let mut per_cluster: BTreeMap<String, usize> = info
            .cluster_addr_table
            .keys()
            .map(|c| (c.clone(), 0))
            .collect();
        for broker in info.broker_addr_table.values() {
            *per_cluster.entry(broker.cluster.clone()).or_default() += broker.broker_addrs.len();
        }
        for (cluster, n) in per_cluster {
            out.gauge(
                NAMESRV_BROKERS,
                "Broker addresses registered with the name server",
                vec![(Cow::Borrowed(LABEL_CLUSTER), cluster)],
                n as f64,
            );
        }
        out.gauge(
            NAMESRV_TOPICS,
            "Topics in the name server's route table",
            Labels::new(),
            topics as f64,
        );
    }
}
