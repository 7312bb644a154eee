//! Evaluating a compiled SQL92 filter against one message's stored properties string, as the
//! broker does once per message on the pull path.
//!
//! ```text
//! cargo bench -p ferromq-filter --bench filter
//! ```
//!
//! * `match_encoded`: `a > 5 AND b = 'x'` over a realistic properties string (system keys plus
//!   the two user keys), read in place with `EncodedProperties`; the message matches.
//! * `miss_encoded`: the same filter, a message whose `a` is too small (short circuit).
//! * `match_in_list`: `TAGS IN (...)` with 16 tags, looked up in a hash set.
//! * `compile`: compiling the first expression (once per subscription).

use criterion::{criterion_group, criterion_main, Criterion};
use ferromq_filter::{EncodedProperties, Filter};

const PROPS_MATCH: &str = "UNIQ_KEY\u{1}7F0000011A2B18B4AAC2123456780000\u{2}WAIT\u{1}true\u{2}\
TAGS\u{1}tagA\u{2}KEYS\u{1}order-1001\u{2}CLUSTER\u{1}DefaultCluster\u{2}a\u{1}10\u{2}b\u{1}x\u{2}";
const PROPS_MISS: &str = "UNIQ_KEY\u{1}7F0000011A2B18B4AAC2123456780000\u{2}WAIT\u{1}true\u{2}\
TAGS\u{1}tagA\u{2}KEYS\u{1}order-1001\u{2}CLUSTER\u{1}DefaultCluster\u{2}a\u{1}3\u{2}b\u{1}x\u{2}";

fn bench(c: &mut Criterion) {
    let Ok(filter) = Filter::compile("a > 5 AND b = 'x'") else {
        panic!("bench expression must compile");
    };
    let hit = EncodedProperties::new(PROPS_MATCH);
    let miss = EncodedProperties::new(PROPS_MISS);
    assert!(filter.matches(&hit) && !filter.matches(&miss));
    c.bench_function("match_encoded", |b| {
        b.iter(|| filter.matches(std::hint::black_box(&hit)))
    });
    c.bench_function("miss_encoded", |b| {
        b.iter(|| filter.matches(std::hint::black_box(&miss)))
    });

    let tags: Vec<String> = (0..16).map(|i| format!("'tag{i}'")).collect();
    let in_expr = format!("TAGS IN ({}, 'tagA')", tags.join(", "));
    let Ok(in_filter) = Filter::compile(&in_expr) else {
        panic!("bench IN expression must compile");
    };
    c.bench_function("match_in_list", |b| {
        b.iter(|| in_filter.matches(std::hint::black_box(&hit)))
    });

    c.bench_function("compile", |b| {
        b.iter(|| Filter::compile(std::hint::black_box("a > 5 AND b = 'x'")).is_ok())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
