//! Configuration changes while the broker runs: UPDATE_BROKER_CONFIG (25, `mqadmin
//! updateBrokerConfig`).
//!
//! ```text
//! body "key=value\n..." ─▶ every key checked first (known? changeable live? value valid?)
//!                         ─▶ all applied (broker, flow control, store) ─▶ broker.conf rewritten
//! ```
//!
//! Only keys whose readers look at the live value can change; any other known key is refused
//! with a remark saying it needs a restart, and an unknown key is refused (with the nearest
//! known key), so nothing is silently accepted. Accepted changes are written into the file the
//! broker was started with (the key's line rewritten in place, the rest kept), so they survive
//! a restart.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use ferromq_common::config::Properties;
use parking_lot::Mutex;

use crate::{Broker, BrokerConfig, BrokerError};

/// Broker keys that change live (besides [`crate::flow::LIVE_FLOW_KEYS`] and the store's
/// [`ferromq_store::LIVE_STORE_KEYS`]).
pub const LIVE_BROKER_KEYS: &[&str] = &["brokerPermission"];

/// Every key `updateBrokerConfig` accepts.
pub fn live_keys() -> impl Iterator<Item = &'static str> {
    LIVE_BROKER_KEYS
        .iter()
        .chain(crate::flow::LIVE_FLOW_KEYS)
        .chain(ferromq_store::LIVE_STORE_KEYS)
        .copied()
}

/// The broker's own live settings and where its configuration file is.
#[derive(Debug)]
pub struct LiveConfig {
    broker_permission: AtomicI32,
    config_file: Mutex<Option<PathBuf>>,
}

impl LiveConfig {
    /// The values of `c`, no configuration file yet.
    pub fn new(c: &BrokerConfig) -> LiveConfig {
        LiveConfig {
            broker_permission: AtomicI32::new(c.broker_permission),
            config_file: Mutex::new(c.config_file.clone()),
        }
    }

    /// `brokerPermission` now.
    pub fn broker_permission(&self) -> i32 {
        self.broker_permission.load(Ordering::Relaxed)
    }

    /// The file the broker was started with: accepted changes are written into it.
    pub fn set_config_file(&self, path: Option<PathBuf>) {
        *self.config_file.lock() = path;
    }
}

/// The value of a live key now, as getBrokerConfig shows it.
pub fn live_value(b: &Broker, key: &str) -> Option<String> {
    match key {
        "brokerPermission" => Some(b.live.broker_permission().to_string()),
        _ => b
            .send_gate
            .live_value(key)
            .or_else(|| b.store.live_value(key)),
    }
}

fn refuse(reason: String) -> BrokerError {
    BrokerError::InvalidParameter { reason }
}

/// Checks one key and value; `Ok` with the validated configuration holding it.
fn check(key: &str, value: &str) -> Result<BrokerConfig, BrokerError> {
    let mut props = Properties::default();
    props.set(key, value);
    let c = BrokerConfig::from_properties(&props)
        .map_err(|e| refuse(format!("updateBrokerConfig: {e}")))?;
    if c.unknown_keys.iter().any(|k| k == key) {
        let hint = ferromq_common::suggest::closest(key, BrokerConfig::known_keys())
            .map(|near| format!("; did you mean `{near}`?"))
            .unwrap_or_default();
        return Err(refuse(format!(
            "updateBrokerConfig: unknown broker config key `{key}`{hint}"
        )));
    }
    if c.unimplemented_keys
        .iter()
        .chain(&c.inert_keys)
        .any(|k| k == key)
    {
        return Err(refuse(format!(
            "updateBrokerConfig: `{key}` is a RocketMQ key FerroMQ does not act on; nothing to change"
        )));
    }
    if !live_keys().any(|k| k == key) {
        return Err(refuse(format!(
            "updateBrokerConfig: `{key}` cannot change while the broker runs; set it in the broker's config file and restart it (keys that change live: {})",
            live_keys().collect::<Vec<_>>().join(", ")
        )));
    }
    if key == "brokerPermission" && !(0..=7).contains(&c.broker_permission) {
        return Err(refuse(format!(
            "updateBrokerConfig: brokerPermission={value}: expected 2 (write), 4 (read) or 6 (read and write)"
        )));
    }
    if ferromq_store::LIVE_STORE_KEYS.contains(&key) {
        // The store's own check (ranges, hour lists).
        let mut probe = ferromq_store::StoreConfig::default();
        probe
            .set_property(key, value.trim())
            .map_err(|reason| refuse(format!("updateBrokerConfig: {key}={value}: {reason}")))?;
    }
    Ok(c)
}

/// UPDATE_BROKER_CONFIG: applies every pair of the properties `body`, or none of them.
/// Returns the pairs applied.
pub fn update(b: &Arc<Broker>, body: &[u8]) -> Result<Vec<(String, String)>, BrokerError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| refuse("updateBrokerConfig: the body is not UTF-8 text".into()))?;
    let props = Properties::parse(text);
    // Java's loader throws on a malformed \uXXXX and the broker answers SYSTEM_ERROR with this
    // remark; nothing is applied.
    props
        .check()
        .map_err(|e| BrokerError::system(format!("string2Properties error: {e}")))?;
    let pairs: Vec<(String, String)> = props
        .iter()
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    if pairs.is_empty() {
        return Err(refuse(
            "updateBrokerConfig: no key=value pair in the request".into(),
        ));
    }
    let checked = pairs
        .iter()
        .map(|(k, v)| check(k, v).map(|c| (k.as_str(), v.as_str(), c)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut reregister = false;
    for (key, value, c) in &checked {
        if *key == "brokerPermission" {
            b.live
                .broker_permission
                .store(c.broker_permission, Ordering::Relaxed);
            reregister = true;
        } else if !b.send_gate.set_live(key, &c.flow) {
            b.store
                .set_live(key, value)
                .map_err(|reason| refuse(format!("updateBrokerConfig: {key}={value}: {reason}")))?;
        }
        tracing::warn!(key, value, "broker config changed by an admin");
    }
    if reregister {
        // The name servers learn the new permission now, as in RocketMQ.
        let broker = Arc::clone(b);
        tokio::spawn(async move { broker.register_all(None).await });
    }
    let file = b.live.config_file.lock().clone();
    match file {
        Some(path) => persist(&path, &pairs).map_err(|e| {
            BrokerError::system(format!(
                "updateBrokerConfig: applied, but writing {} failed: {e}",
                path.display()
            ))
        })?,
        None => tracing::warn!(
            "updateBrokerConfig: the broker was started without a config file; the change lasts until it stops"
        ),
    }
    Ok(pairs)
}

/// Writes `pairs` into the properties file at `path` (see [`rewrite_properties`]), through a
/// temporary file renamed over it.
fn persist(path: &Path, pairs: &[(String, String)]) -> std::io::Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    // Escaped, so that reading the file back gives the values as they were applied.
    let escaped: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.clone(), ferromq_common::config::escape_value(v)))
        .collect();
    let new = rewrite_properties(&text, &escaped);
    let tmp = path.with_extension("updating");
    std::fs::write(&tmp, new)?;
    std::fs::rename(&tmp, path)
}

/// `text` with each key's line (`key=value`, `key = value` or `key: value`, the last one when
/// repeated) replaced by `key=value`, keys not there appended; comments and other lines kept.
pub fn rewrite_properties(text: &str, pairs: &[(String, String)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let key_of = |line: &str| -> Option<String> {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') || t.starts_with('!') {
            return None;
        }
        let end = t
            .find(|c: char| c == '=' || c == ':' || c.is_whitespace())
            .unwrap_or(t.len());
        Some(t[..end].to_owned())
    };
    for (key, value) in pairs {
        let at = lines
            .iter()
            .rposition(|l| key_of(l).as_deref() == Some(key.as_str()));
        let line = format!("{key}={value}");
        match at {
            Some(i) => lines[i] = line,
            None => lines.push(line),
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewriting_keeps_the_rest_of_the_file() {
        let text =
            "# broker\nbrokerName = broker-a\nflushIntervalCommitLog=500\n\nlistenPort: 10911\n";
        let out = rewrite_properties(
            text,
            &[
                ("flushIntervalCommitLog".into(), "200".into()),
                ("brokerPermission".into(), "4".into()),
            ],
        );
        assert_eq!(
            out,
            "# broker\nbrokerName = broker-a\nflushIntervalCommitLog=200\n\nlistenPort: 10911\nbrokerPermission=4\n"
        );
        // A key that is the prefix of another is not confused with it.
        let out = rewrite_properties(
            "deleteWhenX=1\ndeleteWhen=04\n",
            &[("deleteWhen".into(), "05".into())],
        );
        assert_eq!(out, "deleteWhenX=1\ndeleteWhen=05\n");
    }

    #[test]
    fn keys_are_checked_before_anything_changes() {
        assert!(check("fileReservedTime", "48").is_ok());
        assert!(check("brokerPermission", "4").is_ok());
        let unknown = check("flushIntervalCommitLogg", "1")
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("unknown broker config key"), "{unknown}");
        let restart = check("listenPort", "10000").unwrap_err().to_string();
        assert!(
            restart.contains("cannot change while the broker runs"),
            "{restart}"
        );
        let bad = check("fileReservedTime", "many").unwrap_err().to_string();
        assert!(bad.contains("fileReservedTime"), "{bad}");
    }
}
