//! Java-properties configuration files (`broker.conf`, `namesrv.conf`).
//!
//! Supports what RocketMQ users write: `key=value`, `key: value` and `key value`, `#` and `!`
//! comments, blank lines, trailing-backslash continuation lines, and leading/trailing whitespace
//! around keys and values.

use std::collections::BTreeMap;

/// One configuration file as ordered `key -> value` pairs (later duplicates win).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: BTreeMap<String, String>,
}

/// Why a setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value `{value}` for `{key}`: {reason}")]
pub struct ConfigError {
    /// The key.
    pub key: String,
    /// The value found.
    pub value: String,
    /// What was expected.
    pub reason: String,
}

impl Properties {
    /// Parses properties text.
    pub fn parse(text: &str) -> Properties {
        let mut entries = BTreeMap::new();
        let mut logical = String::new();
        for raw in text.lines() {
            let line = raw.trim_start();
            if logical.is_empty()
                && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
            {
                continue;
            }
            if let Some(stripped) = line.strip_suffix('\\') {
                logical.push_str(stripped);
                continue;
            }
            logical.push_str(line);
            let (k, v) = split_entry(&logical);
            if !k.is_empty() {
                entries.insert(k.to_owned(), v.to_owned());
            }
            logical.clear();
        }
        if !logical.is_empty() {
            let (k, v) = split_entry(&logical);
            if !k.is_empty() {
                entries.insert(k.to_owned(), v.to_owned());
            }
        }
        Properties { entries }
    }

    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Sets `key` (used for command-line overrides).
    pub fn set(&mut self, key: &str, value: &str) {
        self.entries.insert(key.to_owned(), value.to_owned());
    }

    /// Iterates over all entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Parses `key` as `T`, or `None` when absent; the error names the key and the value.
    pub fn parse_value<T: std::str::FromStr>(
        &self,
        key: &str,
        expected: &str,
    ) -> Result<Option<T>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.trim().parse::<T>().map(Some).map_err(|_| ConfigError {
                key: key.to_owned(),
                value: v.to_owned(),
                reason: format!("expected {expected}"),
            }),
        }
    }

    /// Parses `key` as a Java boolean (`true`/`false`, any case); anything else is an error.
    pub fn parse_bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if v.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ConfigError {
                key: key.to_owned(),
                value: v.to_owned(),
                reason: "expected true or false".into(),
            }),
        }
    }
}

fn split_entry(line: &str) -> (&str, &str) {
    let line = line.trim();
    let sep = line
        .find(['=', ':'])
        .into_iter()
        .chain(line.find(char::is_whitespace))
        .min();
    match sep {
        None => (line, ""),
        Some(i) => {
            let key = line[..i].trim_end();
            let mut rest = line[i..].trim_start();
            if let Some(r) = rest.strip_prefix(['=', ':']) {
                rest = r.trim_start();
            }
            (key, rest.trim_end())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rocketmq_broker_conf() {
        let p = Properties::parse(
            "# comment\nbrokerClusterName = DefaultCluster\nbrokerName=broker-a\n! other\nbrokerId:0\n\n  deleteWhen  04\nnamesrvAddr=127.0.0.1:9876;\\\n   127.0.0.2:9876\n",
        );
        assert_eq!(p.get("brokerClusterName"), Some("DefaultCluster"));
        assert_eq!(p.get("brokerName"), Some("broker-a"));
        assert_eq!(p.get("brokerId"), Some("0"));
        assert_eq!(p.get("deleteWhen"), Some("04"));
        assert_eq!(p.get("namesrvAddr"), Some("127.0.0.1:9876;127.0.0.2:9876"));
        assert_eq!(
            p.parse_value::<i64>("brokerId", "an integer").unwrap(),
            Some(0)
        );
        let err = p
            .parse_value::<i64>("brokerName", "an integer")
            .unwrap_err();
        assert!(err.to_string().contains("brokerName"));
    }
}
