//! Fuzz entry point for `crates/filter/fuzz`, shared with the corpus replay test
//! (`tests/fuzz_corpus.rs`). Not part of the public API.

use crate::{EncodedProperties, Evaluation, Filter};

/// Target `compile_and_match`: random bytes as a SQL92 expression and a stored properties
/// string. Compiling returns a filter or a positioned error inside the expression, and
/// evaluating agrees with `matches`; nothing panics.
///
/// Input layout: `expression [NUL properties]`, properties as stored (`name U+0001 value
/// U+0002 ...`).
pub fn compile_and_match(data: &[u8]) {
    let (expr, props) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(expr) = std::str::from_utf8(expr) else {
        return;
    };
    let filter = match Filter::compile(expr) {
        Ok(filter) => filter,
        Err(e) => {
            let _ = e.to_string();
            assert!(e.position().is_none_or(|at| at.offset <= expr.len()));
            return;
        }
    };
    let props = String::from_utf8_lossy(props);
    let props = EncodedProperties::new(&props);
    let evaluation = filter.evaluate(&props);
    assert_eq!(filter.matches(&props), evaluation == Evaluation::True);
}
