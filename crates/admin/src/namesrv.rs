//! Name-server commands: `getNamesrvConfig`, `updateKvConfig`, `deleteKvConfig`,
//! `wipeWritePerm`, `addWritePerm` (Java `GetNamesrvConfigCommand`, `UpdateKvConfigCommand`,
//! `DeleteKvConfigCommand`, `WipeWritePermSubCommand`, `AddWritePermSubCommand`).

use std::fmt;

use ferromq_client::AdminClient;
use ferromq_common::config::Properties;

use crate::broker_config::write_settings;
use crate::AdminError;

/// The data of `getNamesrvConfig`: each name server's settings, in the order of `-n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamesrvConfigReport {
    /// Name-server address and its settings.
    pub servers: Vec<(String, Properties)>,
}

/// Runs `getNamesrvConfig`: GET_NAMESRV_CONFIG (319) to every name server of the client's list.
/// Java gathers all before printing, so any failure fails the command with nothing printed.
pub async fn namesrv_config(admin: &AdminClient) -> Result<NamesrvConfigReport, AdminError> {
    let mut servers = Vec::new();
    for addr in admin.namesrv().addrs() {
        servers.push((addr.clone(), admin.namesrv_config(addr).await?));
    }
    Ok(NamesrvConfigReport { servers })
}

impl fmt::Display for NamesrvConfigReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (addr, props) in &self.servers {
            writeln!(f, "============{addr}============")?;
            write_settings(f, props)?;
        }
        Ok(())
    }
}

/// Runs `updateNamesrvConfig` (Java `UpdateNamesrvConfigCommand`): UPDATE_NAMESRV_CONFIG
/// (318) with `key=value` to every name server; fails at the first that refuses. The success
/// text names the servers only when `-n` gave them, as Java does.
pub async fn update_namesrv_config(
    admin: &AdminClient,
    named: bool,
    key: &str,
    value: &str,
) -> Result<String, AdminError> {
    let (key, value) = (key.trim(), value.trim());
    let props = format!("{key}={value}\n");
    let servers = admin.namesrv().addrs().to_vec();
    for addr in &servers {
        admin.update_namesrv_config(addr, &props).await?;
    }
    let list = if named {
        format!("[{}]", servers.join(", "))
    } else {
        String::new()
    };
    Ok(format!(
        "update name server config success!{list}\n{key} : {value}\n"
    ))
}

/// What `updateKvConfig` or `deleteKvConfig` did; `Display` is the tool's success line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvConfigChange {
    /// PUT_KV_CONFIG succeeded on every name server.
    Updated,
    /// DELETE_KV_CONFIG succeeded on every name server.
    Deleted,
}

/// Runs `updateKvConfig`: PUT_KV_CONFIG (100) to every name server; fails if any refused.
pub async fn update_kv_config(
    admin: &AdminClient,
    namespace: &str,
    key: &str,
    value: &str,
) -> Result<KvConfigChange, AdminError> {
    admin
        .put_kv_config(namespace.trim(), key.trim(), value.trim())
        .await?;
    Ok(KvConfigChange::Updated)
}

/// Runs `deleteKvConfig`: DELETE_KV_CONFIG (102) to every name server; fails if any refused.
pub async fn delete_kv_config(
    admin: &AdminClient,
    namespace: &str,
    key: &str,
) -> Result<KvConfigChange, AdminError> {
    admin.delete_kv_config(namespace.trim(), key.trim()).await?;
    Ok(KvConfigChange::Deleted)
}

impl fmt::Display for KvConfigChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvConfigChange::Updated => {
                writeln!(f, "create or update kv config to namespace success.")
            }
            KvConfigChange::Deleted => writeln!(f, "delete kv config from namespace success."),
        }
    }
}

/// The data of `wipeWritePerm` / `addWritePerm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WritePermReport {
    /// The broker name.
    pub broker_name: String,
    /// `addWritePerm` (true) or `wipeWritePerm` (false).
    pub add: bool,
    /// Per name server: the number of topics changed, or why it failed (Java prints a
    /// `Failed` line and the stack trace, and goes on with the next name server).
    pub results: Vec<(String, Result<i32, String>)>,
}

/// Runs `wipeWritePerm` (`add` false: WIPE_WRITE_PERM_OF_BROKER 205) or `addWritePerm` (`add`
/// true: ADD_WRITE_PERM_OF_BROKER 327) on every name server of the client's list.
pub async fn write_perm(admin: &AdminClient, broker_name: &str, add: bool) -> WritePermReport {
    let broker_name = broker_name.trim();
    let mut results = Vec::new();
    for addr in admin.namesrv().addrs() {
        let result = if add {
            admin.add_write_perm(addr, broker_name).await
        } else {
            admin.wipe_write_perm(addr, broker_name).await
        };
        results.push((addr.clone(), result.map_err(|e| e.to_string())));
    }
    WritePermReport {
        broker_name: broker_name.to_owned(),
        add,
        results,
    }
}

impl WritePermReport {
    /// Per-name-server failures, for the CLI to print on stderr.
    pub fn failures(&self) -> impl Iterator<Item = (&str, &str)> {
        self.results
            .iter()
            .filter_map(|(a, r)| r.as_ref().err().map(|e| (a.as_str(), e.as_str())))
    }
}

impl fmt::Display for WritePermReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.add { "add" } else { "wipe" };
        for (addr, result) in &self.results {
            let broker = &self.broker_name;
            match result {
                Ok(count) => writeln!(
                    f,
                    "{verb} write perm of broker[{broker}] in name server[{addr}] OK, {count}"
                )?,
                Err(_) => writeln!(
                    f,
                    "{verb} write perm of broker[{broker}] in name server[{addr}] Failed"
                )?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namesrv_config_prints_a_rule_per_server_without_blank_lines() {
        let r = NamesrvConfigReport {
            servers: vec![
                ("a:9876".into(), Properties::parse("listenPort=9876\n")),
                ("b:9876".into(), Properties::parse("listenPort=9877\n")),
            ],
        };
        assert_eq!(
            r.to_string(),
            format!(
                "============a:9876============\n{0:<50}=  9876\n============b:9876============\n{0:<50}=  9877\n",
                "listenPort"
            )
        );
    }

    #[test]
    fn kv_lines_are_javas() {
        assert_eq!(
            KvConfigChange::Updated.to_string(),
            "create or update kv config to namespace success.\n"
        );
        assert_eq!(
            KvConfigChange::Deleted.to_string(),
            "delete kv config from namespace success.\n"
        );
    }

    #[test]
    fn write_perm_lines_per_name_server() {
        let r = WritePermReport {
            broker_name: "broker-a".into(),
            add: false,
            results: vec![
                ("a:9876".into(), Ok(3)),
                ("b:9876".into(), Err("connect refused".into())),
            ],
        };
        assert_eq!(
            r.to_string(),
            "wipe write perm of broker[broker-a] in name server[a:9876] OK, 3\n\
             wipe write perm of broker[broker-a] in name server[b:9876] Failed\n"
        );
        assert_eq!(
            r.failures().collect::<Vec<_>>(),
            [("b:9876", "connect refused")]
        );
        let add = WritePermReport {
            add: true,
            results: vec![("a:9876".into(), Ok(0))],
            ..r
        };
        assert_eq!(
            add.to_string(),
            "add write perm of broker[broker-a] in name server[a:9876] OK, 0\n"
        );
    }
}
