//! `docs/configuration.md` holds the broker.conf and namesrv.conf key tables as the code
//! renders them (`ferromq_cli::config_doc`). When a key, default or meaning changes, this test
//! fails; `FERROMQ_UPDATE_DOCS=1 cargo test -p ferromq-cli --test config_doc` rewrites the
//! tables in place (the prose around them is kept).

use std::path::Path;

use ferromq_cli::config_doc::{markers, render_page};

#[test]
fn configuration_reference_matches_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let committed = std::fs::read_to_string(&path).unwrap();
    let rendered = render_page(&committed).unwrap();
    if std::env::var_os("FERROMQ_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
        return;
    }
    if rendered != committed {
        let diff: Vec<String> = rendered
            .lines()
            .zip(committed.lines().chain(std::iter::repeat("<missing>")))
            .filter(|(a, b)| a != b)
            .take(5)
            .map(|(want, have)| format!("  page: {have}\n  code: {want}"))
            .collect();
        panic!(
            "docs/configuration.md is out of date with the key tables; run\n  FERROMQ_UPDATE_DOCS=1 cargo test -p ferromq-cli --test config_doc\nfirst differences:\n{}",
            diff.join("\n")
        );
    }
}

#[test]
fn a_stale_table_is_noticed() {
    let (start, end) = markers("broker.conf");
    let (nstart, nend) = markers("namesrv.conf");
    let page = format!("# t\n{start}\n| stale |\n{end}\n{nstart}\n{nend}\n");
    let rendered = render_page(&page).unwrap();
    assert_ne!(rendered, page);
    assert!(
        rendered.contains("| `flushDiskType` | `ASYNC_FLUSH` |"),
        "{rendered}"
    );
    assert!(rendered.contains("| `traceTopicEnable` |  |"), "{rendered}");
    assert!(rendered.contains("| `aclEnable` | `false` |"), "{rendered}");
    assert!(rendered.contains("| `listenPort` | `9876` |"), "{rendered}");
    // Rendering is stable: a fresh page renders to itself.
    assert_eq!(render_page(&rendered).unwrap(), rendered);
    assert!(render_page("# no markers\n").is_err());
}
