//! The generated tables of `docs/configuration.md`: every broker.conf and namesrv.conf key with
//! its default, its meaning and whether FerroMQ acts on it, rendered from the key tables in the
//! broker and name-server crates. The test `config_doc` compares the committed page with this
//! output; `FERROMQ_UPDATE_DOCS=1 cargo test -p ferromq-cli --test config_doc` rewrites it.

use ferromq_broker::config_keys::{default_text, key_effect, KeyEffect, KEY_DOCS};
use ferromq_namesrv::config::{inert_key_names, NamesrvConfig};

/// Start and end markers of a generated section called `name` in the page.
pub fn markers(name: &str) -> (String, String) {
    (
        format!("<!-- generated: {name} (do not edit; see crates/cli/src/config_doc.rs) -->"),
        format!("<!-- end of generated: {name} -->"),
    )
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn code_or_text(default: &str) -> String {
    if default.is_empty() {
        "(empty)".to_owned()
    } else if default.starts_with('`') || default.starts_with('(') {
        default.to_owned()
    } else {
        format!("`{}`", cell(default))
    }
}

/// The broker.conf table.
pub fn broker_table() -> String {
    let mut out = String::from("| key | default | meaning | FerroMQ |\n|---|---|---|---|\n");
    for (key, meaning) in KEY_DOCS {
        let (default, effect) = match key_effect(key) {
            Some(KeyEffect::Acted) => (
                code_or_text(&default_text(key).unwrap_or_default()),
                "acts on it",
            ),
            Some(KeyEffect::CheckedOnly) => (
                code_or_text(&default_text(key).unwrap_or_default()),
                "**checked only, no effect**",
            ),
            Some(KeyEffect::Inert) => (
                "".to_owned(),
                "**accepted, no effect** (warned at start-up)",
            ),
            None => ("".to_owned(), "**unknown**"),
        };
        out.push_str(&format!(
            "| `{key}` | {default} | {} | {effect} |\n",
            cell(meaning)
        ));
    }
    out
}

/// The namesrv.conf table, then the keys accepted without effect.
pub fn namesrv_table() -> String {
    let defaults = NamesrvConfig::default().to_properties_text();
    let default_of = |key: &str| -> String {
        match key {
            "kvConfigPath" => "`$HOME/namesrv/kvConfig.json`".to_owned(),
            "rocketmqHome" => "`$ROCKETMQ_HOME`".to_owned(),
            _ => defaults
                .lines()
                .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
                .map(code_or_text)
                .unwrap_or_default(),
        }
    };
    let mut out = String::from("| key | default | meaning |\n|---|---|---|\n");
    for (key, meaning) in ferromq_namesrv::config::KEY_DOCS {
        out.push_str(&format!(
            "| `{key}` | {} | {} |\n",
            default_of(key),
            cell(meaning)
        ));
    }
    out.push_str("\nAccepted without effect (they tune RocketMQ's Java thread pools and Netty): ");
    let inert: Vec<String> = inert_key_names().iter().map(|k| format!("`{k}`")).collect();
    out.push_str(&inert.join(", "));
    out.push_str(".\n");
    out
}

/// `page` with each generated section replaced by its current rendering; `Err` names a
/// section whose markers are missing.
pub fn render_page(page: &str) -> Result<String, String> {
    let mut page = page.to_owned();
    for (name, body) in [
        ("broker.conf", broker_table()),
        ("namesrv.conf", namesrv_table()),
    ] {
        let (start, end) = markers(name);
        let (Some(i), Some(j)) = (page.find(&start), page.find(&end)) else {
            return Err(format!(
                "markers of the `{name}` section missing:\n{start}\n{end}"
            ));
        };
        if j < i {
            return Err(format!("markers of the `{name}` section out of order"));
        }
        page = format!("{}{start}\n{body}{}", &page[..i], &page[j..]);
    }
    Ok(page)
}
