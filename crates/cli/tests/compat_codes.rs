//! `docs/compatibility.md` lists the request codes the broker and the name server serve. This
//! test holds the page to the servers: a running `ferromq standalone` answers every listed code
//! with something other than REQUEST_CODE_NOT_SUPPORTED, and answers every other code of
//! RocketMQ's broker (name-server) table with it.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::*;
use ferromq_net::RemotingClient;
use ferromq_proto::codes::{response, BROKER_REQUESTS, NAMESRV_REQUESTS};
use ferromq_proto::RemotingCommand;

/// `NAME code` pairs in the table rows of the section headed `heading`.
fn listed_codes(page: &str, heading: &str) -> BTreeMap<i32, String> {
    let start = page
        .find(heading)
        .unwrap_or_else(|| panic!("no `{heading}` section"));
    let section = &page[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut out = BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with('|')) {
        let words: Vec<&str> = row
            .split(|c: char| c.is_whitespace() || c == ',' || c == '|')
            .filter(|w| !w.is_empty())
            .collect();
        for pair in words.windows(2) {
            let name_like = pair[0].len() > 2
                && pair[0]
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if let (true, Ok(code)) = (name_like, pair[1].parse::<i32>()) {
                out.insert(code, pair[0].to_owned());
            }
        }
    }
    out
}

fn check(
    rt: &tokio::runtime::Runtime,
    addr: &str,
    listed: &BTreeMap<i32, String>,
    table: &[(i32, &str)],
) {
    assert!(listed.len() >= 10, "too few codes found: {listed:?}");
    let client = RemotingClient::default();
    let call = |code: i32| {
        rt.block_on(client.invoke(
            addr,
            RemotingCommand::bare_request(code),
            Duration::from_secs(5),
        ))
        .unwrap_or_else(|e| panic!("code {code}: {e}"))
    };
    let mut wrong = Vec::new();
    for (code, name) in listed {
        match table.iter().find(|(c, _)| c == code) {
            Some((_, n)) if n == name => {}
            other => wrong.push(format!("{name} {code}: the code table says {other:?}")),
        }
        let resp = call(*code);
        if resp.code == response::REQUEST_CODE_NOT_SUPPORTED {
            wrong.push(format!("{name} {code} is listed but not served"));
        }
    }
    for (code, name) in table.iter().filter(|(c, _)| !listed.contains_key(c)) {
        let resp = call(*code);
        if resp.code != response::REQUEST_CODE_NOT_SUPPORTED {
            wrong.push(format!(
                "{name} {code} is served (answer {}) but not listed",
                resp.code
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_compatibility_page_lists_exactly_the_served_codes() {
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/compatibility.md"),
    )
    .unwrap();
    let broker = listed_codes(&page, "## Request codes the broker serves");
    let namesrv = listed_codes(&page, "## Request codes the name server serves");
    let dir = tempfile::tempdir().unwrap();
    let sa = start_standalone(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    check(&rt, &sa.broker, &broker, BROKER_REQUESTS);
    check(&rt, &sa.namesrv, &namesrv, NAMESRV_REQUESTS);
}

#[test]
fn the_code_scanner_reads_table_rows_only() {
    let page = "## A\n| x | SEND_MESSAGE 10, PULL_MESSAGE 11 |\nnot a row: HEART_BEAT 34\n## B\n| GET_KV_CONFIG 101 |\n";
    let a = listed_codes(page, "## A");
    assert_eq!(
        a.into_iter().collect::<Vec<_>>(),
        [(10, "SEND_MESSAGE".into()), (11, "PULL_MESSAGE".into())]
    );
}
