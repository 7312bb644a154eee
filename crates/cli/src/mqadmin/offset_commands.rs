//! Offset and consumption commands: `resetOffsetByTime`, `skipAccumulatedMessage`,
//! `cloneGroupOffset`, `brokerConsumeStats`, `updateOrderConf`, `allocateMQ`, with RocketMQ's
//! option letters.

use std::time::Duration;

use clap::Parser;
use ferromq_admin::broker_consume_stats::broker_consume_stats;
use ferromq_admin::offset::{
    clone_group_offset, parse_timestamp, reset_offset_by_time, ResetOffsetReport,
};
use ferromq_admin::topic::{allocate_mq, update_order_conf, OrderConfMethod};
use ferromq_admin::AdminError;

use super::commands::Namesrv;

/// Java `Boolean.parseBoolean` of an optional value, `default` when the option is absent.
fn java_bool_or(v: Option<&str>, default: bool) -> bool {
    v.map_or(default, |s| s.trim().eq_ignore_ascii_case("true"))
}

/// Java `Long.parseLong` of an option value.
fn java_long(v: &str, what: &str) -> Result<i64, AdminError> {
    v.trim().parse().map_err(|_| AdminError::InvalidArgument {
        reason: format!("For input string: \"{}\" ({what})", v.trim()),
    })
}

#[derive(Debug, Parser)]
#[command(
    name = "resetOffsetByTime",
    bin_name = "mqadmin resetOffsetByTime",
    about = "Reset consumer offset by timestamp(without client restart)."
)]
pub(super) struct ResetOffsetByTimeArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// set the consumer group
    #[arg(short = 'g', long = "group", value_name = "arg")]
    group: String,
    /// set the topic
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// set the timestamp[now|currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]
    #[arg(short = 's', long = "timestamp", value_name = "arg")]
    timestamp: String,
    /// set the force rollback by timestamp switch[true|false]. Deprecated.
    #[arg(short = 'f', long = "force", value_name = "arg")]
    force: Option<String>,
    /// Cluster name or lmq parent topic (RocketMQ uses it to route LMQ topics; FerroMQ has no
    /// LMQ, so it has no effect and says so)
    #[arg(short = 'c', long = "cluster", value_name = "arg")]
    cluster: Option<String>,
}

/// `-c` only routes LMQ topics in RocketMQ; FerroMQ has none, so the option does nothing.
fn note_cluster_ignored(cluster: Option<&str>) {
    if cluster.is_some() {
        eprintln!(
            "note: -c routes LMQ topics in RocketMQ; FerroMQ has no LMQ, so it has no effect here"
        );
    }
}

pub(super) async fn run_reset_offset_by_time(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(ResetOffsetByTimeArgs, args);
    note_cluster_ignored(a.cluster.as_deref());
    let timestamp = parse_timestamp(&a.timestamp, ferromq_common::now_millis())?;
    let force = java_bool_or(a.force.as_deref(), true);
    let admin = a.ns.client()?;
    let table = reset_offset_by_time(&admin, &a.group, &a.topic, timestamp, force).await?;
    let report = ResetOffsetReport {
        group: a.group.trim().to_owned(),
        topic: a.topic.trim().to_owned(),
        force,
        timestamp_text: a.timestamp.trim().to_owned(),
        timestamp,
        table,
    };
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "skipAccumulatedMessage",
    bin_name = "mqadmin skipAccumulatedMessage",
    about = "Skip all messages that are accumulated (not consumed) currently.",
    after_help = "Moves the group's offsets to the end of every queue of the topic (running consumers follow at once). \
This doubles as the way to skip a dead-letter backlog: run it on the group's dead-letter topic, -t %DLQ%<group>."
)]
pub(super) struct SkipAccumulatedMessageArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// set the consumer group
    #[arg(short = 'g', long = "group", value_name = "arg")]
    group: String,
    /// set the topic
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// set the force rollback by timestamp switch[true|false]
    #[arg(short = 'f', long = "force", value_name = "arg")]
    force: Option<String>,
    /// Cluster name or lmq parent topic (RocketMQ uses it to route LMQ topics; FerroMQ has no
    /// LMQ, so it has no effect and says so)
    #[arg(short = 'c', long = "cluster", value_name = "arg")]
    cluster: Option<String>,
}

pub(super) async fn run_skip_accumulated_message(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(SkipAccumulatedMessageArgs, args);
    note_cluster_ignored(a.cluster.as_deref());
    let force = java_bool_or(a.force.as_deref(), true);
    let admin = a.ns.client()?;
    print!(
        "{}",
        reset_offset_by_time(&admin, &a.group, &a.topic, -1, force).await?
    );
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "cloneGroupOffset",
    bin_name = "mqadmin cloneGroupOffset",
    about = "Clone offset from other group."
)]
pub(super) struct CloneGroupOffsetArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// set source consumer group
    #[arg(short = 's', long = "srcGroup", value_name = "arg")]
    src_group: String,
    /// set destination consumer group
    #[arg(short = 'd', long = "destGroup", value_name = "arg")]
    dest_group: String,
    /// set the topic
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// the group or the topic is offline
    #[arg(short = 'o', long = "offline", value_name = "arg")]
    offline: Option<String>,
}

pub(super) async fn run_clone_group_offset(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(CloneGroupOffsetArgs, args);
    let offline = java_bool_or(a.offline.as_deref(), false);
    let admin = a.ns.client()?;
    let report = clone_group_offset(&admin, &a.src_group, &a.dest_group, &a.topic, offline).await?;
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "brokerConsumeStats",
    bin_name = "mqadmin brokerConsumeStats",
    about = "Fetch broker consume stats data."
)]
pub(super) struct BrokerConsumeStatsArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Broker address
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: String,
    /// request timeout Millis
    #[arg(short = 't', long = "timeoutMillis", value_name = "arg")]
    timeout_millis: Option<String>,
    /// threshold of print diff
    #[arg(short = 'l', long = "level", value_name = "arg")]
    level: Option<String>,
    /// order topic
    #[arg(short = 'o', long = "order", value_name = "arg")]
    order: Option<String>,
}

pub(super) async fn run_broker_consume_stats(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(BrokerConsumeStatsArgs, args);
    let timeout = match &a.timeout_millis {
        Some(t) => java_long(t, "-t")?,
        None => 50_000,
    };
    let level = match &a.level {
        Some(l) => java_long(l, "-l")?,
        None => 0,
    };
    let order = java_bool_or(a.order.as_deref(), false);
    let admin = a.ns.client()?;
    let timeout = Duration::from_millis(timeout.max(1).unsigned_abs());
    print!(
        "{}",
        broker_consume_stats(&admin, &a.broker_addr, timeout, level, order).await?
    );
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "updateOrderConf",
    bin_name = "mqadmin updateOrderConf",
    about = "Create or update or delete order conf."
)]
pub(super) struct UpdateOrderConfArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// set order conf [eg. brokerName1:num;brokerName2:num]
    #[arg(short = 'v', long = "orderConf", value_name = "arg")]
    order_conf: Option<String>,
    /// option type [eg. put|get|delete
    #[arg(short = 'm', long = "method", value_name = "arg")]
    method: String,
}

pub(super) async fn run_update_order_conf(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(UpdateOrderConfArgs, args);
    let method = match a.method.trim() {
        "get" => OrderConfMethod::Get,
        "put" => OrderConfMethod::Put(a.order_conf.clone().unwrap_or_default()),
        "delete" => OrderConfMethod::Delete,
        _ => {
            // Java prints the usage and succeeds.
            print!("{}", super::commands::help_of::<UpdateOrderConfArgs>());
            return Ok(0);
        }
    };
    let admin = a.ns.client()?;
    print!("{}", update_order_conf(&admin, &a.topic, method).await?);
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "allocateMQ",
    bin_name = "mqadmin allocateMQ",
    about = "Allocate MQ."
)]
pub(super) struct AllocateMqArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// ipList
    #[arg(short = 'i', long = "ipList", value_name = "arg")]
    ip_list: String,
}

pub(super) async fn run_allocate_mq(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(AllocateMqArgs, args);
    let admin = a.ns.client()?;
    print!("{}", allocate_mq(&admin, &a.topic, &a.ip_list).await?);
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
    fn reset_and_skip_parse_rocketmq_style_options() {
        let r = parse::<ResetOffsetByTimeArgs>(&p(&[
            "-n", "ns:9876", "-g", "G", "-t", "T", "-s", "now", "-f", "false", "-c", "C",
        ]))
        .unwrap();
        assert_eq!((r.group.as_str(), r.topic.as_str()), ("G", "T"));
        assert_eq!(r.timestamp, "now");
        assert!(!java_bool_or(r.force.as_deref(), true));
        assert_eq!(r.cluster.as_deref(), Some("C"));
        let r = parse::<ResetOffsetByTimeArgs>(&p(&[
            "--group",
            "G",
            "--topic",
            "T",
            "--timestamp",
            "2023-11-14#22:13:20:000",
        ]))
        .unwrap();
        assert!(java_bool_or(r.force.as_deref(), true));
        assert!(parse::<ResetOffsetByTimeArgs>(&p(&["-g", "G", "-t", "T"])).is_err());
        assert!(parse::<ResetOffsetByTimeArgs>(&p(&["-g", "G", "-s", "now"])).is_err());

        let s = parse::<SkipAccumulatedMessageArgs>(&p(&["-g", "G", "-t", "%DLQ%G"])).unwrap();
        assert_eq!(s.topic, "%DLQ%G");
        assert!(parse::<SkipAccumulatedMessageArgs>(&p(&["-g", "G"])).is_err());
    }

    #[test]
    fn skip_help_mentions_dead_letters() {
        let help = super::super::commands::help_of::<SkipAccumulatedMessageArgs>();
        assert!(help.contains("%DLQ%<group>"), "{help}");
    }

    #[test]
    fn other_commands_parse_rocketmq_style_options() {
        let c = parse::<CloneGroupOffsetArgs>(&p(&["-s", "A", "-d", "B", "-t", "T", "-o", "true"]))
            .unwrap();
        assert_eq!(
            (
                c.src_group.as_str(),
                c.dest_group.as_str(),
                c.topic.as_str()
            ),
            ("A", "B", "T")
        );
        assert!(java_bool_or(c.offline.as_deref(), false));
        assert!(parse::<CloneGroupOffsetArgs>(&p(&["-s", "A", "-t", "T"])).is_err());

        let b = parse::<BrokerConsumeStatsArgs>(&p(&[
            "-b", "a:10911", "-t", "3000", "-l", "5", "-o", "true",
        ]))
        .unwrap();
        assert_eq!(b.broker_addr, "a:10911");
        assert_eq!(java_long(b.level.as_deref().unwrap(), "-l").unwrap(), 5);
        assert!(java_long("x", "-l").is_err());
        assert!(parse::<BrokerConsumeStatsArgs>(&p(&["-t", "3000"])).is_err());

        let o = parse::<UpdateOrderConfArgs>(&p(&["-t", "T", "-m", "put", "-v", "broker-a:4"]))
            .unwrap();
        assert_eq!(o.order_conf.as_deref(), Some("broker-a:4"));
        assert!(parse::<UpdateOrderConfArgs>(&p(&["-t", "T"])).is_err());

        let m = parse::<AllocateMqArgs>(&p(&["-t", "T", "-i", "1.1.1.1,2.2.2.2"])).unwrap();
        assert_eq!(m.ip_list, "1.1.1.1,2.2.2.2");
        assert!(parse::<AllocateMqArgs>(&p(&["-t", "T"])).is_err());
    }
}
