//! Replays the committed fuzz corpus (`crates/filter/fuzz/corpus/compile_and_match/`) through
//! the same check the `cargo fuzz` target runs, on stable Rust.

use std::path::Path;

#[test]
fn compile_and_match() {
    // Read when the test runs (cargo sets it): a test binary reused from a clone at another
    // path, through a shared target directory, would otherwise look in that clone.
    let root =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let dir = Path::new(&root).join("fuzz/corpus/compile_and_match");
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
