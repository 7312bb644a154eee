//! Shared helpers for the filter's scenario tests.

#![allow(dead_code)]

use std::collections::HashMap;

use ferromq_filter::{EncodedProperties, Evaluation, Filter, ParseError};

/// Java's verdict for one evaluation: `T`rue, `F`alse, `N`ull or `E`xception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V {
    T,
    F,
    N,
    E,
}

pub fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn compile(expr: &str) -> Filter {
    match Filter::compile(expr) {
        Ok(filter) => filter,
        Err(e) => panic!("{expr:?} should compile: {e}"),
    }
}

pub fn refused(expr: &str) -> ParseError {
    match Filter::compile(expr) {
        Ok(filter) => panic!("{expr:?} should not compile: {filter:?}"),
        Err(e) => e,
    }
}

/// Evaluates `expr` against `pairs`, through a map and through the stored string encoding, and
/// checks both against `want`; `matches` must agree (true only for `T`).
pub fn check(expr: &str, pairs: &[(&str, &str)], want: V) {
    let filter = compile(expr);
    let map = props(pairs);
    let encoded: String = pairs
        .iter()
        .map(|(k, v)| format!("{k}\u{1}{v}\u{2}"))
        .collect();
    for (source, got) in [
        ("map", filter.evaluate(&map)),
        (
            "encoded",
            filter.evaluate(&EncodedProperties::new(&encoded)),
        ),
    ] {
        let got = match got {
            Evaluation::True => V::T,
            Evaluation::False => V::F,
            Evaluation::Unknown => V::N,
            Evaluation::Failed { .. } => V::E,
        };
        assert_eq!(got, want, "{expr:?} with {pairs:?} ({source})");
    }
    assert_eq!(filter.matches(&map), want == V::T, "{expr:?} matches");
}
