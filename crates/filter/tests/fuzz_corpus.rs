//! Replays the committed fuzz corpus (`crates/filter/fuzz/corpus/compile_and_match/`) through
//! the same check the `cargo fuzz` target runs, on stable Rust.

use std::path::Path;

#[test]
fn compile_and_match() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/compile_and_match");
    let mut inputs = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("corpus entry").path();
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome =
            std::panic::catch_unwind(|| ferromq_filter::fuzzing::compile_and_match(&data));
        assert!(outcome.is_ok(), "{} fails", path.display());
        inputs += 1;
    }
    assert!(inputs > 0, "empty corpus in {}", dir.display());
}
