//! Replays the committed fuzz corpora (`crates/proto/fuzz/corpus/<target>/`) through the same
//! checks the `cargo fuzz` targets run, on stable Rust, so every input the fuzzer kept stays
//! decodable without a panic and round-trips.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    // Read when the test runs (cargo sets it): a test binary reused from a clone at another
    // path, through a shared target directory, would otherwise look in that clone.
    let root =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let dir = Path::new(&root).join("fuzz/corpus").join(target);
    let mut inputs = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("corpus entry").path();
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{target}: {} fails", path.display());
        inputs += 1;
    }
    assert!(inputs > 0, "{target}: empty corpus in {}", dir.display());
}

#[test]
fn frame() {
    replay("frame", ferromq_proto::fuzzing::frame);
}

#[test]
fn header_json() {
    replay("header_json", ferromq_proto::fuzzing::header_json);
}

#[test]
fn header_rocketmq() {
    replay("header_rocketmq", ferromq_proto::fuzzing::header_rocketmq);
}

#[test]
fn request_headers() {
    replay("request_headers", ferromq_proto::fuzzing::request_headers);
}

#[test]
fn message() {
    replay("message", ferromq_proto::fuzzing::message);
}

#[test]
fn batch() {
    replay("batch", ferromq_proto::fuzzing::batch);
}

#[test]
fn properties() {
    replay("properties", ferromq_proto::fuzzing::properties);
}
