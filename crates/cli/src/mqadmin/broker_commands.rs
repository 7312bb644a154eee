//! Broker-side configuration and connection commands: `getBrokerConfig`, `haStatus`, `updateTopicPerm`,
//! `topicClusterList`, `producerConnection`, `getConsumerConfig`, with RocketMQ's option letters.

use clap::{ArgGroup, Parser};
use ferromq_admin::broker_config::broker_config;
use ferromq_admin::consumer::consumer_config;
use ferromq_admin::ha::ha_status;
use ferromq_admin::producer::producer_connection;
use ferromq_admin::topic::{topic_cluster_list, update_topic_perm};
use ferromq_admin::AdminError;

use super::commands::{selector_of, target_of, Namesrv};

#[derive(Debug, Parser)]
#[command(
    name = "getBrokerConfig",
    bin_name = "mqadmin getBrokerConfig",
    about = "Get broker config by cluster or special broker."
)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub(super) struct GetBrokerConfigArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// get which broker
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// get which cluster
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: Option<String>,
}

pub(super) async fn run_get_broker_config(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(GetBrokerConfigArgs, args);
    let Some(selector) = selector_of(a.broker_addr, a.cluster_name) else {
        return Ok(1);
    };
    print!("{}", broker_config(&a.ns.client()?, &selector).await?);
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "haStatus",
    bin_name = "mqadmin haStatus",
    about = "Fetch ha runtime status data."
)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub(super) struct HaStatusArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// which cluster
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: Option<String>,
    /// which broker to fetch
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// the interval(second) of get info
    #[arg(short = 'i', long = "interval", value_name = "arg", num_args = 0..=1, default_missing_value = "3")]
    interval: Option<u64>,
}

pub(super) async fn run_ha_status(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(HaStatusArgs, args);
    let Some(selector) = selector_of(a.broker_addr, a.cluster_name) else {
        return Ok(1);
    };
    let admin = a.ns.client()?;
    loop {
        print!("{}", ha_status(&admin, &selector).await?);
        match a.interval {
            Some(secs) => tokio::time::sleep(std::time::Duration::from_secs(secs.max(1))).await,
            None => return Ok(0),
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "updateTopicPerm",
    bin_name = "mqadmin updateTopicPerm",
    about = "Update topic perm."
)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub(super) struct UpdateTopicPermArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// create topic to which broker
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// create topic to which cluster
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: Option<String>,
    /// topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// set topic's permission(2|4|6), intro[2:W; 4:R; 6:RW]
    #[arg(short = 'p', long = "perm", value_name = "arg")]
    perm: i32,
}

pub(super) async fn run_update_topic_perm(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(UpdateTopicPermArgs, args);
    let Some(target) = target_of(&a.broker_addr, &a.cluster_name) else {
        return Ok(1);
    };
    let report = update_topic_perm(&a.ns.client()?, &target, &a.topic, a.perm).await?;
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "topicClusterList",
    bin_name = "mqadmin topicClusterList",
    about = "Get cluster info for topic."
)]
pub(super) struct TopicClusterListArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
}

pub(super) async fn run_topic_cluster_list(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(TopicClusterListArgs, args);
    print!("{}", topic_cluster_list(&a.ns.client()?, &a.topic).await?);
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "producerConnection",
    bin_name = "mqadmin producerConnection",
    about = "Query producer's socket connection and client version."
)]
pub(super) struct ProducerConnectionArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// producer group name
    #[arg(short = 'g', long = "producerGroup", value_name = "arg")]
    producer_group: String,
    /// topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
}

pub(super) async fn run_producer_connection(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(ProducerConnectionArgs, args);
    let report = producer_connection(&a.ns.client()?, &a.producer_group, &a.topic).await?;
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "getConsumerConfig",
    bin_name = "mqadmin getConsumerConfig",
    about = "Get consumer config by subscription group name."
)]
pub(super) struct GetConsumerConfigArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// subscription group name
    #[arg(short = 'g', long = "groupName", value_name = "arg")]
    group_name: String,
}

pub(super) async fn run_get_consumer_config(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(GetConsumerConfigArgs, args);
    print!("{}", consumer_config(&a.ns.client()?, &a.group_name).await?);
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
    fn broker_commands_parse_rocketmq_style_options() {
        let g = parse::<GetBrokerConfigArgs>(&p(&["-n", "ns:9876", "-b", "a:10911"])).unwrap();
        assert_eq!(g.broker_addr.as_deref(), Some("a:10911"));
        let g = parse::<GetBrokerConfigArgs>(&p(&["--clusterName", "DefaultCluster"])).unwrap();
        assert_eq!(g.cluster_name.as_deref(), Some("DefaultCluster"));
        assert!(parse::<GetBrokerConfigArgs>(&p(&[])).is_err());
        assert!(parse::<GetBrokerConfigArgs>(&p(&["-b", "a:1", "-c", "C"])).is_err());

        let u = parse::<UpdateTopicPermArgs>(&p(&["-b", "a:1", "-t", "T", "-p", "4"])).unwrap();
        assert_eq!((u.topic.as_str(), u.perm), ("T", 4));
        let u = parse::<UpdateTopicPermArgs>(&p(&[
            "--clusterName",
            "C",
            "--topic",
            "T",
            "--perm",
            "6",
        ]))
        .unwrap();
        assert_eq!(u.cluster_name.as_deref(), Some("C"));
        assert!(parse::<UpdateTopicPermArgs>(&p(&["-b", "a:1", "-t", "T"])).is_err());
        assert!(parse::<UpdateTopicPermArgs>(&p(&["-b", "a:1", "-t", "T", "-p", "rw"])).is_err());
        assert!(parse::<UpdateTopicPermArgs>(&p(&["-t", "T", "-p", "6"])).is_err());

        let t = parse::<TopicClusterListArgs>(&p(&["-t", "T"])).unwrap();
        assert_eq!(t.topic, "T");
        assert!(parse::<TopicClusterListArgs>(&p(&[])).is_err());

        let c = parse::<ProducerConnectionArgs>(&p(&["-g", "PG", "-t", "T"])).unwrap();
        assert_eq!((c.producer_group.as_str(), c.topic.as_str()), ("PG", "T"));
        assert!(parse::<ProducerConnectionArgs>(&p(&["--producerGroup", "PG"])).is_err());

        let g = parse::<GetConsumerConfigArgs>(&p(&["--groupName", "G"])).unwrap();
        assert_eq!(g.group_name, "G");
        assert!(parse::<GetConsumerConfigArgs>(&p(&["-n", "ns:9876"])).is_err());
    }
}
