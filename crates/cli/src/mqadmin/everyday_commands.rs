//! `updateBrokerConfig`, `statsAll`, `cleanUnusedTopic`, `sendMsgStatus`, `clusterRT`,
//! `consumeMessage`, `printMsgByQueue` and `queryCq`, with RocketMQ's option letters.

use std::io::Write;
use std::time::Duration;

use clap::{ArgGroup, Parser};
use ferromq_admin::broker_ops::{
    cluster_rt, query_consume_queue, render_query_cq, send_msg_status, stats_all,
    update_broker_config, BrokerTarget, ClusterRtOptions,
};
use ferromq_admin::message::by_queue::{
    consume_message, print_msg_by_queue, ConsumeMessageOptions, PrintByQueueOptions,
};
use ferromq_admin::store_admin::{clean_unused_topic, StoreTarget};
use ferromq_admin::AdminError;

use super::commands::Namesrv;
use super::message_commands::timestamp_format;

fn bad(reason: String) -> AdminError {
    AdminError::InvalidArgument { reason }
}

/// Java `Boolean.parseBoolean`.
fn java_bool(v: Option<&str>) -> bool {
    v.is_some_and(|s| s.trim().eq_ignore_ascii_case("true"))
}

fn stdout_sink() -> impl FnMut(&str) {
    let mut stdout = std::io::stdout();
    move |text: &str| {
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "updateBrokerConfig",
    bin_name = "mqadmin updateBrokerConfig",
    about = "Update broker's config."
)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub(super) struct UpdateBrokerConfigArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// update which broker
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// update which cluster
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: Option<String>,
    /// config key
    #[arg(short = 'k', long = "key", value_name = "arg")]
    key: String,
    /// config value
    #[arg(short = 'v', long = "value", value_name = "arg")]
    value: String,
}

pub(super) async fn run_update_broker_config(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(UpdateBrokerConfigArgs, args);
    let (key, value) = (a.key.trim(), a.value.trim());
    if key.is_empty() {
        return Err(bad("the config key (-k) is empty".into()));
    }
    let target = match (a.broker_addr, a.cluster_name) {
        (Some(b), _) => BrokerTarget::Addr(b),
        (None, Some(c)) => BrokerTarget::Cluster(c),
        (None, None) => return Ok(1),
    };
    let report = update_broker_config(&a.ns.client()?, &target, key, value).await?;
    print!("{report}");
    for (addr, err) in &report.failed {
        eprintln!("update broker config failed, {addr}: {err}");
    }
    Ok(if report.failed.is_empty() { 0 } else { 1 })
}

#[derive(Debug, Parser)]
#[command(
    name = "statsAll",
    bin_name = "mqadmin statsAll",
    about = "Topic and Consumer tps stats."
)]
pub(super) struct StatsAllArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// print active topic only
    #[arg(short = 'a', long = "activeTopic")]
    active_topic: bool,
    /// print select topic only
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: Option<String>,
}

pub(super) async fn run_stats_all(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(StatsAllArgs, args);
    let topic = a.topic.as_deref().map(str::trim);
    print!(
        "{}",
        stats_all(&a.ns.client()?, topic, a.active_topic).await?
    );
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "cleanUnusedTopic",
    bin_name = "mqadmin cleanUnusedTopic",
    about = "Clean unused topic on broker."
)]
pub(super) struct CleanUnusedTopicArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Broker address
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// cluster name
    #[arg(short = 'c', long = "cluster", value_name = "arg")]
    cluster: Option<String>,
}

pub(super) async fn run_clean_unused_topic(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(CleanUnusedTopicArgs, args);
    let target = match a.broker_addr {
        Some(b) => StoreTarget::Broker(b.trim().to_owned()),
        None => StoreTarget::Cluster(a.cluster),
    };
    let ok = clean_unused_topic(&a.ns.client()?, &target).await?;
    print!("{}", if ok { "success" } else { "false" });
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "sendMsgStatus",
    bin_name = "mqadmin sendMsgStatus",
    about = "Send msg to broker."
)]
pub(super) struct SendMsgStatusArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Broker Name
    #[arg(short = 'b', long = "brokerName", value_name = "arg")]
    broker_name: String,
    /// Message Size, Default: 128
    #[arg(short = 's', long = "messageSize", value_name = "arg")]
    message_size: Option<usize>,
    /// send message count, Default: 50
    #[arg(short = 'c', long = "count", value_name = "arg")]
    count: Option<u32>,
}

pub(super) async fn run_send_msg_status(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(SendMsgStatusArgs, args);
    let mut out = stdout_sink();
    send_msg_status(
        &a.ns.client()?,
        a.broker_name.trim(),
        a.message_size.unwrap_or(128),
        a.count.unwrap_or(50),
        &mut out,
    )
    .await?;
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "clusterRT",
    bin_name = "mqadmin clusterRT",
    about = "List All clusters Message Send RT."
)]
pub(super) struct ClusterRtArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// message amout | default 100
    #[arg(short = 'a', long = "amout", value_name = "arg")]
    amount: Option<u64>,
    /// message size | default 128 Byte
    #[arg(short = 's', long = "size", value_name = "arg")]
    size: Option<usize>,
    /// cluster name | default display all cluster
    #[arg(short = 'c', long = "cluster", value_name = "arg")]
    cluster: Option<String>,
    /// print as tlog | default false
    #[arg(short = 'p', long = "printLog", value_name = "arg")]
    print_log: Option<String>,
    /// machine room name | default noname
    #[arg(short = 'm', long = "machineRoom", value_name = "arg")]
    machine_room: Option<String>,
    /// print interval | default 10 seconds
    #[arg(short = 'i', long = "interval", value_name = "arg")]
    interval: Option<u64>,
    /// stop after this many rounds (FerroMQ; default: run until interrupted, as RocketMQ)
    #[arg(long = "rounds", value_name = "arg")]
    rounds: Option<u64>,
}

pub(super) async fn run_cluster_rt(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(ClusterRtArgs, args);
    let amount = a.amount.unwrap_or(50);
    if amount == 0 {
        return Err(bad("the message amount (-a) must be at least 1".into()));
    }
    let opts = ClusterRtOptions {
        amount,
        size: a.size.unwrap_or(128),
        cluster: a.cluster,
        print_as_tlog: java_bool(a.print_log.as_deref()),
        machine_room: a
            .machine_room
            .map_or_else(|| "noname".to_owned(), |m| m.trim().to_owned()),
        interval: Duration::from_secs(a.interval.unwrap_or(10)),
        rounds: a.rounds,
    };
    let mut out = stdout_sink();
    cluster_rt(&a.ns.client()?, &opts, &mut out).await?;
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "consumeMessage",
    bin_name = "mqadmin consumeMessage",
    about = "Consume message."
)]
pub(super) struct ConsumeMessageArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// Broker name
    #[arg(short = 'b', long = "brokerName", value_name = "arg")]
    broker_name: Option<String>,
    /// Queue Id
    #[arg(short = 'i', long = "queueId", value_name = "arg")]
    queue_id: Option<i32>,
    /// Queue offset
    #[arg(short = 'o', long = "offset", value_name = "arg")]
    offset: Option<i64>,
    /// Consumer group name
    #[arg(short = 'g', long = "consumerGroup", value_name = "arg")]
    consumer_group: Option<String>,
    /// Begin timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]
    #[arg(short = 's', long = "beginTimestamp", value_name = "arg")]
    begin: Option<String>,
    /// End timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]
    #[arg(short = 'e', long = "endTimestamp", value_name = "arg")]
    end: Option<String>,
    /// Number of message to be consumed
    #[arg(short = 'c', long = "MessageNumber", value_name = "arg")]
    count: Option<i64>,
}

pub(super) async fn run_consume_message(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(ConsumeMessageArgs, args);
    let count = a.count.unwrap_or(128);
    if count <= 0 {
        return Err(bad("please input a positive messageNumber!".into()));
    }
    if a.queue_id.is_some() && a.broker_name.is_none() {
        return Err(bad("Please set the brokerName before queueId!".into()));
    }
    if a.offset.is_some() && a.queue_id.is_none() {
        return Err(bad("please set queueId before offset!".into()));
    }
    // The tool reads with its own group; `-g` only names who asks (Java reads `-b` for it).
    let _ = a.consumer_group;
    let opts = ConsumeMessageOptions {
        topic: a.topic.trim().to_owned(),
        broker_name: a.broker_name.map(|b| b.trim().to_owned()),
        queue_id: a.queue_id,
        offset: a.offset,
        begin: a.begin.as_deref().map(timestamp_format).transpose()?,
        end: a.end.as_deref().map(timestamp_format).transpose()?,
        count,
    };
    let mut out = stdout_sink();
    consume_message(&a.ns.client()?, &opts, &mut out).await?;
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "printMsgByQueue",
    bin_name = "mqadmin printMsgByQueue",
    about = "Print Message Detail by queueId."
)]
pub(super) struct PrintMsgByQueueArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// broker name
    #[arg(short = 'a', long = "brokerName", value_name = "arg")]
    broker_name: String,
    /// queue id
    #[arg(short = 'i', long = "queueId", value_name = "arg")]
    queue_id: i32,
    /// CharsetName(eg: UTF-8,GBK)
    #[arg(short = 'c', long = "charsetName", value_name = "arg")]
    charset_name: Option<String>,
    /// Subscribe Expression(eg: TagA || TagB)
    #[arg(short = 's', long = "subExpression", value_name = "arg")]
    sub_expression: Option<String>,
    /// Begin timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]
    #[arg(short = 'b', long = "beginTimestamp", value_name = "arg")]
    begin: Option<String>,
    /// End timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]
    #[arg(short = 'e', long = "endTimestamp", value_name = "arg")]
    end: Option<String>,
    /// print msg. eg: true | false(default)
    #[arg(short = 'p', long = "printMsg", value_name = "arg")]
    print_msg: Option<String>,
    /// print body. eg: true | false(default)
    #[arg(short = 'd', long = "printBody", value_name = "arg")]
    print_body: Option<String>,
    /// calculate by tag. eg: true | false(default)
    #[arg(short = 'f', long = "calculate", value_name = "arg")]
    calculate: Option<String>,
}

pub(super) async fn run_print_msg_by_queue(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(PrintMsgByQueueArgs, args);
    // Bodies are decoded as UTF-8 whatever the charset.
    let _ = a.charset_name;
    let opts = PrintByQueueOptions {
        topic: a.topic.trim().to_owned(),
        broker_name: a.broker_name.trim().to_owned(),
        queue_id: a.queue_id,
        sub_expression: a
            .sub_expression
            .map_or_else(|| "*".to_owned(), |s| s.trim().to_owned()),
        begin: a.begin.as_deref().map(timestamp_format).transpose()?,
        end: a.end.as_deref().map(timestamp_format).transpose()?,
        print_msg: java_bool(a.print_msg.as_deref()),
        print_body: java_bool(a.print_body.as_deref()),
        calculate_by_tag: java_bool(a.calculate.as_deref()),
    };
    let mut out = stdout_sink();
    print_msg_by_queue(&a.ns.client()?, &opts, &mut out).await?;
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "queryCq",
    bin_name = "mqadmin queryCq",
    about = "Query cq command."
)]
pub(super) struct QueryCqArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// queue num, ie. 1
    #[arg(short = 'q', long = "queue", value_name = "arg")]
    queue: i32,
    /// start queue index.
    #[arg(short = 'i', long = "index", value_name = "arg")]
    index: i64,
    /// how many.
    #[arg(short = 'c', long = "count", value_name = "arg")]
    count: Option<i32>,
    /// broker addr.
    #[arg(short = 'b', long = "broker", value_name = "arg")]
    broker: Option<String>,
    /// consumer group.
    #[arg(short = 'g', long = "consumer", value_name = "arg")]
    consumer: Option<String>,
}

pub(super) async fn run_query_cq(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(QueryCqArgs, args);
    let count = a.count.unwrap_or(10);
    if count <= 0 {
        return Err(bad(format!("the count (-c) must be positive, not {count}")));
    }
    let body = query_consume_queue(
        &a.ns.client()?,
        a.broker.as_deref(),
        a.topic.trim(),
        a.queue,
        a.index,
        count,
        a.consumer.as_deref().map(str::trim),
    )
    .await?;
    print!("{}", render_query_cq(&body, a.index));
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
    fn options_parse_as_rocketmq_spells_them() {
        let u = parse::<UpdateBrokerConfigArgs>(&p(&["-b", "a:1", "-k", "k", "-v", "v"])).unwrap();
        assert_eq!((u.key.as_str(), u.value.as_str()), ("k", "v"));
        assert!(parse::<UpdateBrokerConfigArgs>(&p(&["-k", "k", "-v", "v"])).is_err());
        assert!(
            parse::<StatsAllArgs>(&p(&["-a", "-t", "T"]))
                .unwrap()
                .active_topic
        );
        let q = parse::<QueryCqArgs>(&p(&["-t", "T", "-q", "1", "-i", "5", "-c", "3"])).unwrap();
        assert_eq!((q.queue, q.index, q.count), (1, 5, Some(3)));
        assert!(parse::<QueryCqArgs>(&p(&["-t", "T", "-q", "x", "-i", "5"])).is_err());
        let pq = parse::<PrintMsgByQueueArgs>(&p(&[
            "-t", "T", "-a", "b", "-i", "0", "-p", "true", "-f", "true",
        ]))
        .unwrap();
        assert!(java_bool(pq.print_msg.as_deref()) && java_bool(pq.calculate.as_deref()));
        let c =
            parse::<ConsumeMessageArgs>(&p(&["-t", "T", "-b", "b", "-i", "0", "-o", "3"])).unwrap();
        assert_eq!((c.queue_id, c.offset), (Some(0), Some(3)));
        let r = parse::<ClusterRtArgs>(&p(&["-a", "3", "-s", "16", "--rounds", "1"])).unwrap();
        assert_eq!((r.amount, r.size, r.rounds), (Some(3), Some(16), Some(1)));
        assert!(parse::<SendMsgStatusArgs>(&p(&["-s", "10"])).is_err());
        assert!(parse::<CleanUnusedTopicArgs>(&p(&["-b", "a:1"])).is_ok());
    }
}
