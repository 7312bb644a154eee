//! Random bytes as a SQL92 expression and a stored properties string; see
//! `ferromq_filter::fuzzing::compile_and_match` for the layout and the invariants. Run with the
//! keyword dictionary:
//!
//! ```text
//! cargo +nightly fuzz run compile_and_match -- -dict=sql92.dict
//! ```

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferromq_filter::fuzzing::compile_and_match(data));
