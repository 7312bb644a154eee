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

/// GitHub's anchor of a heading: lower case, punctuation other than `-` and `_` dropped,
/// spaces turned into `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of the headings of a Markdown page (outside fenced code blocks).
fn anchors(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.push(slug(line.trim_start_matches('#')));
        }
    }
    out
}

/// Every Markdown page the repository documents itself with: the README and `docs/*.md`.
fn pages(root: &Path) -> Vec<PathBuf> {
    let mut pages = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    pages.sort();
    pages
}

#[test]
fn markdown_links_stay_inside_the_repository() {
    let root = repo_root();
    let pages = pages(&root);
    let mut bad = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for target in link_targets(&text) {
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with("mailto:")
                || target.starts_with('#')
            {
                if let Some(anchor) = target.strip_prefix('#') {
                    if !anchors(&text).iter().any(|a| a == anchor) {
                        bad.push(format!("{}: no heading for {target}", page.display()));
                    }
                }
                continue;
            }
            let (file, anchor) = match target.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (target.as_str(), None),
            };
            let resolved = page.parent().unwrap().join(file);
            match resolved.canonicalize() {
                Ok(p) if p.starts_with(&root) => {
                    if let (Some(anchor), true) = (anchor, p.extension().is_some_and(|e| e == "md"))
                    {
                        let linked = std::fs::read_to_string(&p).unwrap();
                        if !anchors(&linked).iter().any(|a| a == anchor) {
                            bad.push(format!("{}: no heading for {target}", page.display()));
                        }
                    }
                }
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

/// The pages are read from a clone, where nothing outside the repository exists: they must not
/// point at the shared notes the project was built from, linked or not.
#[test]
fn no_page_mentions_the_shared_notes() {
    let root = repo_root();
    for page in pages(&root) {
        let text = std::fs::read_to_string(&page).unwrap();
        for needle in ["../shared", "/work/shared", "shared/docs"] {
            assert!(
                !text.contains(needle),
                "{} mentions `{needle}`",
                page.display()
            );
        }
    }
}

/// Every page in `docs/` is reachable: the README links it.
#[test]
fn the_readme_links_every_docs_page() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let linked = link_targets(&readme);
    let mut missing = Vec::new();
    for page in pages(&root)
        .iter()
        .filter(|p| p.starts_with(root.join("docs")))
    {
        let name = format!("docs/{}", page.file_name().unwrap().to_string_lossy());
        if !linked
            .iter()
            .any(|t| t.split('#').next() == Some(name.as_str()))
        {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "README does not link {missing:?}");
}

#[test]
fn anchors_follow_github_slugs() {
    assert_eq!(
        anchors("# Top\n```\n# not a heading\n```\n## Unknown and misdirected requests\n### 1. Install (`cargo`)\n"),
        ["top", "unknown-and-misdirected-requests", "1-install-cargo"]
    );
}

#[test]
fn the_link_scanner_finds_links() {
    assert_eq!(
        link_targets("see [a](docs/a.md) and [b](https://x.y/z) and [c](../shared/x.md#s)"),
        ["docs/a.md", "https://x.y/z", "../shared/x.md#s"]
    );
}
