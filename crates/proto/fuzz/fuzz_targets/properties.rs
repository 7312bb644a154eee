//! See `ferromq_proto::fuzzing::properties` for the input layout and the invariants checked.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferromq_proto::fuzzing::properties(data));
