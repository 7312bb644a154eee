//! The README and `docs/` link only to files in the repository (a clone has nothing beside it)
//! or to web addresses: every relative Markdown link must name a file or directory that exists
//! inside the repository.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Targets of `[text](target)` links in `text`.
fn link_targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find(')') {
            out.push(rest[..end].trim().to_owned());
            rest = &rest[end..];
        }
    }
    out
}

#[test]
fn markdown_links_stay_inside_the_repository() {
    let root = repo_root();
    let mut pages = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    let mut bad = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for target in link_targets(&text) {
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with("mailto:")
                || target.starts_with('#')
            {
                continue;
            }
            let file = target.split('#').next().unwrap_or("");
            let resolved = page.parent().unwrap().join(file);
            match resolved.canonicalize() {
                Ok(p) if p.starts_with(&root) => {}
                Ok(p) => bad.push(format!(
                    "{}: {target} leaves the repository ({})",
                    page.display(),
                    p.display()
                )),
                Err(_) => bad.push(format!("{}: {target} does not exist", page.display())),
            }
        }
    }
    assert!(
        bad.is_empty(),
        "broken or outside links:\n{}",
        bad.join("\n")
    );
    assert!(pages.len() >= 2, "no docs pages found");
}

#[test]
fn the_link_scanner_finds_links() {
    assert_eq!(
        link_targets("see [a](docs/a.md) and [b](https://x.y/z) and [c](../shared/x.md#s)"),
        ["docs/a.md", "https://x.y/z", "../shared/x.md#s"]
    );
}
