//! The flow-control counters on `/metrics`: sends shed by reason, pulls paced by quotas, and
//! the remoting servers' connection refusals and back-pressure pauses. All are plain atomics
//! the request paths already keep; they are only read here, at scrape time.

use std::borrow::Cow;
use std::sync::atomic::Ordering;

use ferromq_metrics::names::*;
use ferromq_metrics::{Labels, Scrape};

use crate::Broker;

fn label(k: &'static str, v: &str) -> (Cow<'static, str>, String) {
    (Cow::Borrowed(k), v.to_owned())
}

/// Adds the flow counters of `b` (and of this process's remoting servers) to `out`.
pub fn collect(b: &Broker, out: &mut Scrape) {
    let c = &b.send_gate.counters;
    let (quota_rejected, quota_paced) = b.quotas.totals();
    for (reason, v) in [
        (
            "TIMEOUT_CLEAN_QUEUE",
            c.shed_timeout.load(Ordering::Relaxed),
        ),
        (
            "PCBUSY_CLEAN_QUEUE",
            c.shed_page_cache.load(Ordering::Relaxed),
        ),
        (
            "REJECTREQUEST",
            c.rejected_page_cache.load(Ordering::Relaxed),
        ),
        ("OVERLOAD", c.shed_overload.load(Ordering::Relaxed)),
        ("QUOTA", quota_rejected),
    ] {
        out.counter(
            FLOW_SENDS_SHED_TOTAL,
            "Sends answered SYSTEM_BUSY by flow control, by reason",
            vec![label(LABEL_REASON, reason)],
            v,
        );
    }
    out.counter(
        FLOW_PULLS_THROTTLED_TOTAL,
        "Pulls held back by a consume quota",
        Labels::new(),
        quota_paced,
    );
    b.quotas
        .for_each_counter(|target, name, rejected, paced, _paced_ms| {
            let labels = || {
                vec![
                    label(LABEL_QUOTA_TYPE, super::quota::target_word(target)),
                    label(LABEL_QUOTA_NAME, name),
                ]
            };
            out.counter(
                FLOW_QUOTA_SENDS_REJECTED_TOTAL,
                "Sends refused by this produce quota",
                labels(),
                rejected,
            );
            out.counter(
                FLOW_QUOTA_PULLS_THROTTLED_TOTAL,
                "Pulls held back by this consume quota",
                labels(),
                paced,
            );
        });
    let net = ferromq_net::flow_stats();
    out.counter(
        FLOW_CONNECTIONS_REFUSED_TOTAL,
        "Connections closed on accept at serverMaxConnections (all remoting servers of the process)",
        Labels::new(),
        net.connections_refused,
    );
    for (reason, v) in [
        ("in_flight", net.paused_in_flight),
        ("bytes", net.paused_bytes),
    ] {
        out.counter(
            FLOW_CONNECTIONS_PAUSED_TOTAL,
            "Times a connection stopped being read by write-side back-pressure",
            vec![label(LABEL_REASON, reason)],
            v,
        );
    }
    out.gauge(
        FLOW_PAUSED_CONNECTIONS,
        "Connections not being read right now because of write-side back-pressure",
        Labels::new(),
        net.paused_now as f64,
    );
}
