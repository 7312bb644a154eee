//! See `ferromq_store::fuzzing::commit_log_recovery` for the input layout and the invariants.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferromq_store::fuzzing::commit_log_recovery(data));
