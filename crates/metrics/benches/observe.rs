//! What one request costs the metrics on the hot path: `RpcLatency::observe` on an existing
//! series (a read lock, a map lookup, two relaxed atomic adds), alone and with a scrape
//! rendering the table at the same time.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ferromq_metrics::{RpcLatency, Scrape};

fn observe(c: &mut Criterion) {
    let rpc = RpcLatency::default();
    for code in [10, 11, 310, 34, 15] {
        rpc.observe(code, 0, false, false, Duration::from_micros(200));
    }
    c.bench_function("rpc_observe_existing_series", |b| {
        b.iter(|| rpc.observe(310, 0, false, false, Duration::from_micros(250)))
    });
    c.bench_function("rpc_collect_5_series", |b| {
        b.iter(|| {
            let mut out = Scrape::default();
            rpc.collect(&mut out, |_| Some("SEND_MESSAGE_V2"), |_| Some("SUCCESS"));
            out.encode().len()
        })
    });
}

criterion_group!(benches, observe);
criterion_main!(benches);
