//! Name-server commands: `getNamesrvConfig`, `updateNamesrvConfig`, `updateKvConfig`, `deleteKvConfig`,
//! `wipeWritePerm`, `addWritePerm`, with RocketMQ's option letters. Each acts on every name
//! server of `-n` (or `NAMESRV_ADDR`).

use clap::Parser;
use ferromq_admin::namesrv::{
    delete_kv_config, namesrv_config, update_kv_config, update_namesrv_config, write_perm,
};
use ferromq_admin::AdminError;

use super::commands::Namesrv;

#[derive(Debug, Parser)]
#[command(
    name = "getNamesrvConfig",
    bin_name = "mqadmin getNamesrvConfig",
    about = "Get configs of name server."
)]
pub(super) struct GetNamesrvConfigArgs {
    #[command(flatten)]
    ns: Namesrv,
}

pub(super) async fn run_get_namesrv_config(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(GetNamesrvConfigArgs, args);
    print!("{}", namesrv_config(&a.ns.client()?).await?);
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "updateNamesrvConfig",
    bin_name = "mqadmin updateNamesrvConfig",
    about = "Update configs of name server."
)]
pub(super) struct UpdateNamesrvConfigArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// config key
    #[arg(short = 'k', long = "key", value_name = "arg")]
    key: String,
    /// config value
    #[arg(short = 'v', long = "value", value_name = "arg")]
    value: String,
}

pub(super) async fn run_update_namesrv_config(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(UpdateNamesrvConfigArgs, args);
    let named =
        a.ns.namesrv
            .as_deref()
            .is_some_and(|n| !n.trim().is_empty());
    print!(
        "{}",
        update_namesrv_config(&a.ns.client()?, named, &a.key, &a.value).await?
    );
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "updateKvConfig",
    bin_name = "mqadmin updateKvConfig",
    about = "Create or update KV config."
)]
pub(super) struct UpdateKvConfigArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// set the namespace
    #[arg(short = 's', long = "namespace", value_name = "arg")]
    namespace: String,
    /// set the key name
    #[arg(short = 'k', long = "key", value_name = "arg")]
    key: String,
    /// set the key value
    #[arg(short = 'v', long = "value", value_name = "arg")]
    value: String,
}

pub(super) async fn run_update_kv_config(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(UpdateKvConfigArgs, args);
    let done = update_kv_config(&a.ns.client()?, &a.namespace, &a.key, &a.value).await?;
    print!("{done}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "deleteKvConfig",
    bin_name = "mqadmin deleteKvConfig",
    about = "Delete KV config."
)]
pub(super) struct DeleteKvConfigArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// set the namespace
    #[arg(short = 's', long = "namespace", value_name = "arg")]
    namespace: String,
    /// set the key name
    #[arg(short = 'k', long = "key", value_name = "arg")]
    key: String,
}

pub(super) async fn run_delete_kv_config(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(DeleteKvConfigArgs, args);
    print!(
        "{}",
        delete_kv_config(&a.ns.client()?, &a.namespace, &a.key).await?
    );
    Ok(0)
}

/// `wipeWritePerm` and `addWritePerm` take the same option.
#[derive(Debug, Parser)]
#[command(
    name = "wipeWritePerm",
    bin_name = "mqadmin wipeWritePerm",
    about = "Wipe write perm of broker in all name server you defined in the -n param."
)]
pub(super) struct WipeWritePermArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// broker name
    #[arg(short = 'b', long = "brokerName", value_name = "arg")]
    broker_name: String,
}

#[derive(Debug, Parser)]
#[command(
    name = "addWritePerm",
    bin_name = "mqadmin addWritePerm",
    about = "Add write perm of broker in all name server you defined in the -n param."
)]
pub(super) struct AddWritePermArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// broker name
    #[arg(short = 'b', long = "brokerName", value_name = "arg")]
    broker_name: String,
}

/// Prints the per-name-server lines; failures also go to stderr (Java prints their stack
/// traces) and do not fail the command.
async fn run_write_perm(ns: &Namesrv, broker_name: &str, add: bool) -> Result<i32, AdminError> {
    let report = write_perm(&ns.client()?, broker_name, add).await;
    print!("{report}");
    for (addr, err) in report.failures() {
        eprintln!("{addr}: {err}");
    }
    Ok(0)
}

pub(super) async fn run_wipe_write_perm(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(WipeWritePermArgs, args);
    run_write_perm(&a.ns, &a.broker_name, false).await
}

pub(super) async fn run_add_write_perm(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(AddWritePermArgs, args);
    run_write_perm(&a.ns, &a.broker_name, true).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqadmin::commands::parse;

    fn p(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn namesrv_commands_parse_rocketmq_style_options() {
        assert!(parse::<GetNamesrvConfigArgs>(&p(&["-n", "a:9876;b:9876"])).is_ok());
        assert!(parse::<GetNamesrvConfigArgs>(&p(&[])).is_ok());

        let u = parse::<UpdateKvConfigArgs>(&p(&[
            "-s",
            "ORDER_TOPIC_CONFIG",
            "-k",
            "T",
            "-v",
            "broker-a:4",
        ]))
        .unwrap();
        assert_eq!(
            (u.namespace.as_str(), u.key.as_str(), u.value.as_str()),
            ("ORDER_TOPIC_CONFIG", "T", "broker-a:4")
        );
        assert!(parse::<UpdateKvConfigArgs>(&p(&["-s", "N", "-k", "K"])).is_err());
        let d = parse::<DeleteKvConfigArgs>(&p(&["--namespace", "N", "--key", "K"])).unwrap();
        assert_eq!((d.namespace.as_str(), d.key.as_str()), ("N", "K"));
        assert!(parse::<DeleteKvConfigArgs>(&p(&["-s", "N"])).is_err());

        let w = parse::<WipeWritePermArgs>(&p(&["-n", "a:9876", "-b", "broker-a"])).unwrap();
        assert_eq!(w.broker_name, "broker-a");
        assert!(parse::<WipeWritePermArgs>(&p(&[])).is_err());
        let w = parse::<AddWritePermArgs>(&p(&["--brokerName", "broker-a"])).unwrap();
        assert_eq!(w.broker_name, "broker-a");
    }
}
