//! Random bytes as a SQL92 expression and a stored properties string: compiling must return
//! a filter or a positioned error, and evaluating must agree with `matches`; nothing panics.
//!
//! Input layout: `expression [NUL properties]`, properties as stored (`name U+0001 value
//! U+0002 ...`). Run with the keyword dictionary:
//!
//! ```text
//! cargo +nightly fuzz run compile_and_match -- -dict=sql92.dict
//! ```

#![no_main]

use ferromq_filter::{EncodedProperties, Evaluation, Filter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
});
