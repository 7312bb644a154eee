//! Controller commands (RocketMQ 5 controller mode): `getControllerMetaData`,
//! `getSyncStateSet`, `getControllerConfig`, `updateControllerConfig`, `electMaster`,
//! `cleanBrokerMetadata`, with RocketMQ's option letters. Java's two-letter `-bn`
//! (`--brokerName`) is accepted as written.

use clap::{ArgGroup, Parser};
use ferromq_admin::controller::{
    broker_names_of_cluster, clean_broker_metadata, controller_config, controller_metadata,
    elect_master, sync_state_set, update_controller_config, ControllerAdmin,
};
use ferromq_admin::AdminError;

use super::commands::Namesrv;

/// Rewrites Java's two-letter option `-bn` (commons-cli allows it; clap does not) as
/// `--brokerName`, keeping `-bn=x` and `-bnx` forms working too.
fn long_broker_name(args: Vec<String>) -> Vec<String> {
    args.into_iter()
        .map(|a| match a.strip_prefix("-bn") {
            Some("") => "--brokerName".to_owned(),
            Some(rest) => format!("--brokerName={}", rest.strip_prefix('=').unwrap_or(rest)),
            None => a,
        })
        .collect()
}

#[derive(Debug, Parser)]
#[command(
    name = "getControllerMetaData",
    bin_name = "mqadmin getControllerMetaData",
    about = "Get controller cluster's metadata."
)]
pub(super) struct GetControllerMetaDataArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// the address of controller
    #[arg(short = 'a', long = "controllerAddress", value_name = "arg")]
    controller_address: String,
}

pub(super) async fn run_get_controller_meta_data(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(GetControllerMetaDataArgs, args);
    let ca = ControllerAdmin::new(&a.controller_address)?;
    print!("{}", controller_metadata(&ca).await?);
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "getSyncStateSet",
    bin_name = "mqadmin getSyncStateSet",
    about = "Fetch syncStateSet for target brokers."
)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_name", "cluster_name"])))]
pub(super) struct GetSyncStateSetArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// the address of controller
    #[arg(short = 'a', long = "controllerAddress", value_name = "arg")]
    controller_address: String,
    /// which cluster (its broker names come from the name server, -n)
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: Option<String>,
    /// which broker to fetch
    #[arg(short = 'b', long = "brokerName", value_name = "arg")]
    broker_name: Option<String>,
    /// the interval(second) of get info
    #[arg(short = 'i', long = "interval", value_name = "arg", num_args = 0..=1, default_missing_value = "3")]
    interval: Option<u64>,
}

pub(super) async fn run_get_sync_state_set(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(GetSyncStateSetArgs, args);
    let ca = ControllerAdmin::new(&a.controller_address)?;
    loop {
        let report = match (&a.broker_name, &a.cluster_name) {
            (Some(b), _) => sync_state_set(&ca, &[b.trim().to_owned()], true).await?,
            (None, Some(c)) => {
                let names = broker_names_of_cluster(&a.ns.client()?, c).await?;
                sync_state_set(&ca, &names, false).await?
            }
            (None, None) => return Ok(1),
        };
        print!("{report}");
        match a.interval {
            Some(secs) => tokio::time::sleep(std::time::Duration::from_secs(secs.max(1))).await,
            None => return Ok(0),
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "getControllerConfig",
    bin_name = "mqadmin getControllerConfig",
    about = "Get controller config."
)]
pub(super) struct GetControllerConfigArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Controller address list, eg: 192.168.0.1:9878;192.168.0.2:9878
    #[arg(short = 'a', long = "controllerAddress", value_name = "arg")]
    controller_address: String,
}

pub(super) async fn run_get_controller_config(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(GetControllerConfigArgs, args);
    let ca = ControllerAdmin::new(&a.controller_address)?;
    print!("{}", controller_config(&ca).await?);
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "updateControllerConfig",
    bin_name = "mqadmin updateControllerConfig",
    about = "Update controller config."
)]
pub(super) struct UpdateControllerConfigArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Controller address list, eg: 192.168.0.1:9878;192.168.0.2:9878
    #[arg(short = 'a', long = "controllerAddress", value_name = "arg")]
    controller_address: String,
    /// config key
    #[arg(short = 'k', long = "key", value_name = "arg")]
    key: String,
    /// config value
    #[arg(short = 'v', long = "value", value_name = "arg")]
    value: String,
}

pub(super) async fn run_update_controller_config(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(UpdateControllerConfigArgs, args);
    let ca = ControllerAdmin::new(&a.controller_address)?;
    print!("{}", update_controller_config(&ca, &a.key, &a.value).await?);
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "electMaster",
    bin_name = "mqadmin electMaster",
    about = "Re-elect the specified broker as master."
)]
pub(super) struct ElectMasterArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// The address of controller
    #[arg(short = 'a', long = "controllerAddress", value_name = "arg")]
    controller_address: String,
    /// The id of the broker which requires to become master
    #[arg(short = 'b', long = "brokerId", value_name = "arg")]
    broker_id: i64,
    /// (-bn) The broker name of the replicas that require to be manipulated
    #[arg(long = "brokerName", value_name = "arg")]
    broker_name: String,
    /// the clusterName of broker
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: String,
}

pub(super) async fn run_elect_master(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(ElectMasterArgs, long_broker_name(args));
    let ca = ControllerAdmin::new(&a.controller_address)?;
    let report = elect_master(&ca, &a.cluster_name, &a.broker_name, a.broker_id).await?;
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "cleanBrokerMetadata",
    bin_name = "mqadmin cleanBrokerMetadata",
    about = "Clean metadata of broker on controller."
)]
pub(super) struct CleanBrokerMetadataArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// The address of controller
    #[arg(short = 'a', long = "controllerAddress", value_name = "arg")]
    controller_address: String,
    /// The brokerController id list which requires to clean metadata. eg: 1;2;3, means that
    /// clean broker-1, broker-2 and broker-3
    #[arg(short = 'b', long = "brokerControllerIdsToClean", value_name = "arg")]
    ids: Option<String>,
    /// (-bn) The broker name of the replicas that require to be manipulated
    #[arg(long = "brokerName", value_name = "arg")]
    broker_name: String,
    /// The clusterName of broker
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: Option<String>,
    /// Whether clean up living brokers,default value is false
    #[arg(short = 'l', long = "cleanLivingBroker")]
    clean_living: bool,
}

pub(super) async fn run_clean_broker_metadata(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(CleanBrokerMetadataArgs, long_broker_name(args));
    let ca = ControllerAdmin::new(&a.controller_address)?;
    let report = clean_broker_metadata(
        &ca,
        a.cluster_name.as_deref(),
        &a.broker_name,
        a.ids.as_deref(),
        a.clean_living,
    )
    .await?;
    print!("{report}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqadmin::commands::parse;

    fn p(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn controller_commands_parse_rocketmq_style_options() {
        let m = parse::<GetControllerMetaDataArgs>(&p(&["-a", "127.0.0.1:9878"])).unwrap();
        assert_eq!(m.controller_address, "127.0.0.1:9878");
        assert!(parse::<GetControllerMetaDataArgs>(&p(&[])).is_err());

        let s = parse::<GetSyncStateSetArgs>(&p(&["-a", "c:1", "-b", "broker-a"])).unwrap();
        assert_eq!(s.broker_name.as_deref(), Some("broker-a"));
        assert_eq!(s.interval, None);
        let s = parse::<GetSyncStateSetArgs>(&p(&["-a", "c:1", "-c", "C", "-n", "ns:1", "-i"]))
            .unwrap();
        assert_eq!(
            (s.cluster_name.as_deref(), s.interval),
            (Some("C"), Some(3))
        );
        assert!(parse::<GetSyncStateSetArgs>(&p(&["-a", "c:1"])).is_err());
        assert!(parse::<GetSyncStateSetArgs>(&p(&["-b", "broker-a"])).is_err());

        let u =
            parse::<UpdateControllerConfigArgs>(&p(&["-a", "c:1", "-k", "k", "-v", "v"])).unwrap();
        assert_eq!((u.key.as_str(), u.value.as_str()), ("k", "v"));
        assert!(parse::<UpdateControllerConfigArgs>(&p(&["-a", "c:1", "-k", "k"])).is_err());

        let e = parse::<ElectMasterArgs>(&long_broker_name(p(&[
            "-a", "c:1", "-c", "C", "-bn", "broker-a", "-b", "2",
        ])))
        .unwrap();
        assert_eq!((e.broker_name.as_str(), e.broker_id), ("broker-a", 2));
        assert!(parse::<ElectMasterArgs>(&long_broker_name(p(&[
            "-a", "c:1", "-c", "C", "-bn", "broker-a", "-b", "x",
        ])))
        .is_err());
        assert!(parse::<ElectMasterArgs>(&p(&["-a", "c:1", "-c", "C", "-b", "2"])).is_err());

        let c = parse::<CleanBrokerMetadataArgs>(&long_broker_name(p(&[
            "-a",
            "c:1",
            "-bn=broker-a",
            "-b",
            "1;2",
            "-l",
        ])))
        .unwrap();
        assert_eq!(c.broker_name, "broker-a");
        assert_eq!(c.ids.as_deref(), Some("1;2"));
        assert!(c.clean_living && c.cluster_name.is_none());
    }
}
