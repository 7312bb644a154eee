//! Quota commands (FerroMQ's own; RocketMQ has no quotas): `updateQuota`, `getQuota`,
//! `deleteQuota`, on one broker (`-b`) or every master of a cluster (`-c`), for a topic (`-t`)
//! or a consumer group (`-g`).

use clap::{ArgGroup, Args, Parser};
use ferromq_admin::quota::{delete_quota, get_quota, update_quota};
use ferromq_admin::AdminError;
use ferromq_proto::body::quota::{QuotaLimits, QuotaTarget};

use super::commands::{selector_of, Namesrv};

/// `-t topic` or `-g group`.
#[derive(Debug, Args)]
pub(super) struct QuotaSubject {
    /// the topic whose quota it is
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: Option<String>,
    /// the consumer group whose quota it is
    #[arg(short = 'g', long = "groupName", value_name = "arg")]
    group: Option<String>,
}

impl QuotaSubject {
    fn target(&self) -> Option<(QuotaTarget, &str)> {
        match (&self.topic, &self.group) {
            (Some(t), _) => Some((QuotaTarget::Topic, t.trim())),
            (None, Some(g)) => Some((QuotaTarget::Group, g.trim())),
            (None, None) => None,
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "updateQuota",
    bin_name = "mqadmin updateQuota",
    about = "Set the quota of a topic or consumer group (replaces its previous quota)."
)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
#[command(group(ArgGroup::new("subject").required(true).args(["topic", "group"])))]
pub(super) struct UpdateQuotaArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// update which broker
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// update every master of this cluster
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: Option<String>,
    #[command(flatten)]
    subject: QuotaSubject,
    /// messages a topic stores per second
    #[arg(long = "produceMsgsPerSec", value_name = "arg")]
    produce_msgs: Option<u64>,
    /// body bytes a topic stores per second
    #[arg(long = "produceBytesPerSec", value_name = "arg")]
    produce_bytes: Option<u64>,
    /// messages pulls deliver per second
    #[arg(long = "consumeMsgsPerSec", value_name = "arg")]
    consume_msgs: Option<u64>,
    /// bytes pulls deliver per second
    #[arg(long = "consumeBytesPerSec", value_name = "arg")]
    consume_bytes: Option<u64>,
}

pub(super) async fn run_update_quota(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(UpdateQuotaArgs, args);
    let (Some(selector), Some((target, name))) = (
        selector_of(a.broker_addr, a.cluster_name),
        a.subject.target(),
    ) else {
        return Ok(1);
    };
    let limits = QuotaLimits {
        produce_msgs_per_sec: a.produce_msgs,
        produce_bytes_per_sec: a.produce_bytes,
        consume_msgs_per_sec: a.consume_msgs,
        consume_bytes_per_sec: a.consume_bytes,
    };
    let report = update_quota(&a.ns.client()?, &selector, target, name, limits).await?;
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "getQuota",
    bin_name = "mqadmin getQuota",
    about = "Show the quotas of a broker or cluster, with what they refused and paced."
)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub(super) struct GetQuotaArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// which broker
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// every master of this cluster
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: Option<String>,
    #[command(flatten)]
    subject: QuotaSubject,
}

pub(super) async fn run_get_quota(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(GetQuotaArgs, args);
    let Some(selector) = selector_of(a.broker_addr, a.cluster_name) else {
        return Ok(1);
    };
    let report = get_quota(&a.ns.client()?, &selector, a.subject.target()).await?;
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "deleteQuota",
    bin_name = "mqadmin deleteQuota",
    about = "Remove the quota of a topic or consumer group."
)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
#[command(group(ArgGroup::new("subject").required(true).args(["topic", "group"])))]
pub(super) struct DeleteQuotaArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// delete from which broker
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// delete from every master of this cluster
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: Option<String>,
    #[command(flatten)]
    subject: QuotaSubject,
}

pub(super) async fn run_delete_quota(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(DeleteQuotaArgs, args);
    let (Some(selector), Some((target, name))) = (
        selector_of(a.broker_addr, a.cluster_name),
        a.subject.target(),
    ) else {
        return Ok(1);
    };
    let report = delete_quota(&a.ns.client()?, &selector, target, name).await?;
    print!("{report}");
    Ok(0)
}
