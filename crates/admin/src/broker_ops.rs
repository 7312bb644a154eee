//! Everyday broker operations of mqadmin: `updateBrokerConfig`, `statsAll`, `cleanUnusedTopic`,
//! `sendMsgStatus`, `clusterRT` and `queryCq` (Java `UpdateBrokerConfigSubCommand`,
//! `StatsAllSubCommand`, `CleanUnusedTopicCommand`, `SendMsgStatusCommand`,
//! `CLusterSendMsgRTCommand`, `QueryConsumeQueueCommand`).

use std::time::{Duration, Instant};

use ferromq_client::{ClientError, Message, Producer, SendResult};
use ferromq_common::names;
use ferromq_proto::body::broker_stats::{
    QueryConsumeQueueRequestHeader, ViewBrokerStatsDataRequestHeader,
};
use ferromq_proto::body::route::MASTER_ID;
use ferromq_proto::body::{BrokerStatsData, JsonBody, QueryConsumeQueueResponseBody};
use ferromq_proto::codes::request;
use ferromq_proto::RemotingCommand;

use crate::broker_config::masters_and_slaves;
use crate::{AdminClient, AdminError};

/// `-b` or `-c` of a command that writes to brokers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerTarget {
    /// One broker address.
    Addr(String),
    /// Every master of a cluster.
    Cluster(String),
}

/// The masters of `cluster` (Java `CommandUtil.fetchMasterAddrByClusterName`); an unknown
/// cluster is an error, as in Java.
pub async fn cluster_masters(
    admin: &AdminClient,
    cluster: &str,
) -> Result<Vec<String>, AdminError> {
    let info = admin.cluster_info().await?;
    let map = masters_and_slaves(&info, cluster).ok_or_else(|| AdminError::NotFound {
        message: format!("Make sure the specified clusterName exists or the name server connected to is correct: {cluster}"),
    })?;
    Ok(map
        .into_keys()
        .filter(|m| m != crate::broker_config::NO_MASTER)
        .collect())
}

async fn target_addrs(
    admin: &AdminClient,
    target: &BrokerTarget,
) -> Result<Vec<String>, AdminError> {
    match target {
        BrokerTarget::Addr(a) => Ok(vec![a.trim().to_owned()]),
        BrokerTarget::Cluster(c) => cluster_masters(admin, c.trim()).await,
    }
}

fn broker_error(resp: &RemotingCommand) -> AdminError {
    ClientError::Broker {
        code: resp.code,
        remark: resp.remark.clone().unwrap_or_default(),
    }
    .into()
}

/// What `updateBrokerConfig` did: per broker, success or the broker's refusal.
#[derive(Debug, Default)]
pub struct UpdateBrokerConfigReport {
    /// Brokers that took the change.
    pub updated: Vec<String>,
    /// Brokers that refused or could not be reached, with why.
    pub failed: Vec<(String, AdminError)>,
}

impl std::fmt::Display for UpdateBrokerConfigReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for addr in &self.updated {
            writeln!(f, "update broker config success, {addr}")?;
        }
        Ok(())
    }
}

/// UPDATE_BROKER_CONFIG (25) with `key=value` to the broker or every master of the cluster.
pub async fn update_broker_config(
    admin: &AdminClient,
    target: &BrokerTarget,
    key: &str,
    value: &str,
) -> Result<UpdateBrokerConfigReport, AdminError> {
    let mut report = UpdateBrokerConfigReport::default();
    let body = format!("{key}={value}\n");
    for addr in target_addrs(admin, target).await? {
        let cmd = RemotingCommand::bare_request(request::UPDATE_BROKER_CONFIG)
            .with_body(body.clone().into_bytes());
        match admin.rpc().call(&addr, cmd).await {
            Ok(resp) if resp.code == 0 => report.updated.push(addr),
            Ok(resp) => report.failed.push((addr, broker_error(&resp))),
            Err(e) => report.failed.push((addr, e.into())),
        }
    }
    Ok(report)
}

/// VIEW_BROKER_STATS_DATA (315): one stats item of a broker.
pub async fn view_broker_stats_data(
    admin: &AdminClient,
    addr: &str,
    stats_name: &str,
    stats_key: &str,
) -> Result<BrokerStatsData, AdminError> {
    let header = ViewBrokerStatsDataRequestHeader {
        stats_name: stats_name.to_owned(),
        stats_key: stats_key.to_owned(),
    };
    let cmd = RemotingCommand::request(request::VIEW_BROKER_STATS_DATA, &header);
    let resp = admin.rpc().call(addr, cmd).await?;
    if resp.code != 0 {
        return Err(broker_error(&resp));
    }
    BrokerStatsData::from_json(&resp.body).map_err(|e| AdminError::NotFound {
        message: format!("malformed BrokerStatsData: {e}"),
    })
}

/// Java `StatsAllSubCommand.compute24HourSum`.
fn day_sum(d: &BrokerStatsData) -> i64 {
    [d.stats_day.sum, d.stats_hour.sum, d.stats_minute.sum]
        .into_iter()
        .find(|s| *s != 0)
        .unwrap_or(0)
}

/// One line of `statsAll`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsAllRow {
    /// Topic.
    pub topic: String,
    /// Consumer group; `None` for a topic nobody consumes.
    pub group: Option<String>,
    /// Messages not yet consumed by the group.
    pub accumulation: i64,
    /// Messages stored per second over the last minute.
    pub in_tps: f64,
    /// Messages pulled by the group per second over the last minute.
    pub out_tps: f64,
    /// Messages stored over the last 24 hours.
    pub in_msg_24h: i64,
    /// Messages pulled by the group over the last 24 hours.
    pub out_msg_24h: i64,
}

/// The rows of `statsAll`.
#[derive(Debug, Clone, Default)]
pub struct StatsAllReport {
    /// In topic-list order.
    pub rows: Vec<StatsAllRow>,
}

/// Java `UtilAll.frontStringAtLeast`: the first `size` characters.
fn front(s: &str, size: usize) -> String {
    s.chars().take(size).collect()
}

impl std::fmt::Display for StatsAllReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<32}  {:<32} {:>12} {:>11} {:>11} {:>14} {:>14}",
            "#Topic",
            "#Consumer Group",
            "#Accumulation",
            "#InTPS",
            "#OutTPS",
            "#InMsg24Hour",
            "#OutMsg24Hour"
        )?;
        for r in &self.rows {
            match &r.group {
                Some(g) => writeln!(
                    f,
                    "{:<64}  {:<64} {:>12} {:>11.2} {:>11.2} {:>14} {:>14}",
                    front(&r.topic, 64),
                    front(g, 64),
                    r.accumulation,
                    r.in_tps,
                    r.out_tps,
                    r.in_msg_24h,
                    r.out_msg_24h
                )?,
                None => writeln!(
                    f,
                    "{:<64}  {:<32} {:>12} {:>11.2} {:>11} {:>14} {:>14}",
                    front(&r.topic, 64),
                    "",
                    0,
                    r.in_tps,
                    "",
                    r.in_msg_24h,
                    "NO_CONSUMER"
                )?,
            }
        }
        Ok(())
    }
}

/// Runs `statsAll`: for every topic (or `only_topic`) of the name server, its in-rate and
/// 24-hour count from each master (TOPIC_PUT_NUMS), and per consuming group its out-rate, count
/// (GROUP_GET_NUMS, key `topic@group`) and backlog. With `active_only`, idle topics are left
/// out. Retry and dead-letter topics are skipped, as in Java.
pub async fn stats_all(
    admin: &AdminClient,
    only_topic: Option<&str>,
    active_only: bool,
) -> Result<StatsAllReport, AdminError> {
    let topics = admin.topic_list().await?;
    let mut report = StatsAllReport::default();
    for topic in &topics.topic_list {
        if names::is_retry_topic(topic) || names::is_dlq_topic(topic) {
            continue;
        }
        if only_topic.is_some_and(|t| !t.is_empty() && t != topic.as_str()) {
            continue;
        }
        // Java skips a topic whose detail fails.
        let _ = topic_detail(admin, topic, active_only, &mut report.rows).await;
    }
    Ok(report)
}

async fn topic_detail(
    admin: &AdminClient,
    topic: &str,
    active_only: bool,
    rows: &mut Vec<StatsAllRow>,
) -> Result<(), AdminError> {
    let route = admin.topic_route(topic).await?;
    let masters: Vec<String> = route
        .broker_datas
        .iter()
        .filter_map(|bd| bd.broker_addrs.get(&MASTER_ID).cloned())
        .collect();
    let mut groups: Vec<String> = Vec::new();
    for addr in &masters {
        if let Ok(list) = admin.topic_consumed_by(addr, topic).await {
            for g in list.group_list {
                if !groups.contains(&g) {
                    groups.push(g);
                }
            }
        }
    }
    let (mut in_tps, mut in_24h) = (0.0, 0);
    for addr in &masters {
        if let Ok(d) = view_broker_stats_data(admin, addr, "TOPIC_PUT_NUMS", topic).await {
            in_tps += d.stats_minute.tps;
            in_24h += day_sum(&d);
        }
    }
    if groups.is_empty() {
        if !active_only || in_24h > 0 {
            rows.push(StatsAllRow {
                topic: topic.to_owned(),
                group: None,
                accumulation: 0,
                in_tps,
                out_tps: 0.0,
                in_msg_24h: in_24h,
                out_msg_24h: 0,
            });
        }
        return Ok(());
    }
    for group in groups {
        let (mut out_tps, mut out_24h) = (0.0, 0);
        let key = format!("{topic}@{group}");
        let mut accumulation = 0;
        for addr in &masters {
            if let Ok(d) = view_broker_stats_data(admin, addr, "GROUP_GET_NUMS", &key).await {
                out_tps += d.stats_minute.tps;
                out_24h += day_sum(&d);
            }
            if let Ok(stats) = admin.consume_stats(addr, &group, Some(topic)).await {
                accumulation += stats
                    .offset_table
                    .values()
                    .map(|o| o.broker_offset - o.consumer_offset)
                    .sum::<i64>();
            }
        }
        if !active_only || in_24h > 0 || out_24h > 0 {
            rows.push(StatsAllRow {
                topic: topic.to_owned(),
                group: Some(group),
                accumulation: accumulation.max(0),
                in_tps,
                out_tps,
                in_msg_24h: in_24h,
                out_msg_24h: out_24h,
            });
        }
    }
    Ok(())
}

/// QUERY_CONSUME_QUEUE (321): `count` units of queue `queue_id` of `topic` from `index`, on
/// `broker` or (without it) the first broker of the topic's route.
pub async fn query_consume_queue(
    admin: &AdminClient,
    broker: Option<&str>,
    topic: &str,
    queue_id: i32,
    index: i64,
    count: i32,
    group: Option<&str>,
) -> Result<QueryConsumeQueueResponseBody, AdminError> {
    let addr = match broker.map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => b.to_owned(),
        None => {
            let route = admin.topic_route(topic).await?;
            route
                .broker_datas
                .first()
                .and_then(|bd| bd.broker_addrs.get(&MASTER_ID).cloned())
                .ok_or_else(|| AdminError::NotFound {
                    message: "No topic route data!".into(),
                })?
        }
    };
    let header = QueryConsumeQueueRequestHeader {
        topic: topic.to_owned(),
        queue_id,
        index,
        count,
        consumer_group: group.map(str::to_owned),
    };
    let cmd = RemotingCommand::request(request::QUERY_CONSUME_QUEUE, &header);
    let resp = admin.rpc().call(&addr, cmd).await?;
    if resp.code != 0 {
        return Err(broker_error(&resp));
    }
    QueryConsumeQueueResponseBody::from_json(&resp.body).map_err(|e| AdminError::NotFound {
        message: format!("malformed QueryConsumeQueueResponseBody: {e}"),
    })
}

/// `queryCq`'s text (Java `QueryConsumeQueueCommand`).
pub fn render_query_cq(body: &QueryConsumeQueueResponseBody, index: i64) -> String {
    const RULE: &str = "======================================\n";
    let mut out = String::new();
    if let Some(s) = &body.subscription_data {
        let json = serde_json::to_string_pretty(s).unwrap_or_default();
        out.push_str(&format!("Subscription data: \n{json}\n{RULE}"));
    }
    if let Some(fd) = &body.filter_data {
        out.push_str(&format!("Filter data: \n{fd}\n{RULE}"));
    }
    out.push_str(&format!(
        "Queue data: \nmax: {}, min: {}\n{RULE}",
        body.max_queue_index, body.min_queue_index
    ));
    for (i, d) in body.queue_data.iter().enumerate() {
        out.push_str(&format!(
            "idx: {}\n{}\n{RULE}",
            index + i as i64,
            d.java_string()
        ));
    }
    out
}

/// Java `SendResult.toString()`.
pub fn java_send_result(r: &SendResult) -> String {
    format!(
        "SendResult [sendStatus={}, msgId={}, offsetMsgId={}, messageQueue=MessageQueue [topic={}, brokerName={}, queueId={}], queueOffset={}]",
        r.status.as_str(),
        r.msg_id,
        r.offset_msg_id,
        r.queue.topic,
        r.queue.broker_name,
        r.queue.queue_id,
        r.queue_offset
    )
}

fn tool_producer(admin: &AdminClient, group: &str) -> Result<Producer, AdminError> {
    Ok(Producer::builder(group)
        .namesrv_addr(admin.namesrv().joined())
        .instance_name(format!("{group}_{}", ferromq_common::now_millis()))
        .build()?)
}

/// Java `SendMsgStatusCommand.buildMessage`: "hello jodie" repeated to at least `size` bytes.
fn hello_body(size: usize) -> Vec<u8> {
    "hello jodie".repeat(size.div_ceil(11)).into_bytes()
}

/// Runs `sendMsgStatus`: one warm-up send of 16 bytes, then `count` sends of `size` bytes to the
/// topic named after the broker, each printed through `out` as `rt:<ms>ms, SendResult=...`.
pub async fn send_msg_status(
    admin: &AdminClient,
    broker_name: &str,
    size: usize,
    count: u32,
    out: &mut dyn FnMut(&str),
) -> Result<(), AdminError> {
    let producer = tool_producer(admin, "PID_SMSC")?;
    let result = async {
        producer
            .send(Message::new(broker_name, hello_body(16)))
            .await?;
        for _ in 0..count {
            let start = Instant::now();
            let r = producer
                .send(Message::new(broker_name, hello_body(size)))
                .await?;
            out(&format!(
                "rt:{}ms, SendResult={}\n",
                start.elapsed().as_millis(),
                java_send_result(&r)
            ));
        }
        Ok::<(), AdminError>(())
    }
    .await;
    producer.shutdown().await;
    result
}

/// Options of `clusterRT`.
#[derive(Debug, Clone)]
pub struct ClusterRtOptions {
    /// Messages per broker per round (`-a`, default 100 in the help, 50 in Java's code).
    pub amount: u64,
    /// Body size (`-s`, default 128).
    pub size: usize,
    /// Only this cluster (`-c`), else every cluster.
    pub cluster: Option<String>,
    /// Print as `time|room|cluster|broker|rt` lines (`-p true`).
    pub print_as_tlog: bool,
    /// Machine room name for those lines (`-m`, default `noname`).
    pub machine_room: String,
    /// Pause between rounds (`-i`, default 10 s).
    pub interval: Duration,
    /// Rounds to run; `None` runs until interrupted, as Java does.
    pub rounds: Option<u64>,
}

/// Java `CLusterSendMsgRTCommand.getCurTime`: `yyyy-MM-dd HH:mm:ss` in GMT+8.
fn gmt8_now() -> String {
    let secs = ferromq_common::now_millis() / 1000 + 8 * 3600;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Runs `clusterRT`: each round sends `amount` messages to the topic of every broker of the
/// chosen clusters and prints the mean send time (the first send of each broker left out).
pub async fn cluster_rt(
    admin: &AdminClient,
    opts: &ClusterRtOptions,
    out: &mut dyn FnMut(&str),
) -> Result<(), AdminError> {
    let info = admin.cluster_info().await?;
    let clusters: Vec<String> = match &opts.cluster {
        Some(c) => vec![c.trim().to_owned()],
        None => info.cluster_addr_table.keys().cloned().collect(),
    };
    let producer = tool_producer(admin, &ferromq_common::now_millis().to_string())?;
    if !opts.print_as_tlog {
        out(&format!(
            "{:<24}  {:<24}  {:<4}  {:<8}  {:<8}\n",
            "#Cluster Name", "#Broker Name", "#RT", "#successCount", "#failCount"
        ));
    }
    let body = "a".repeat(opts.size);
    let mut round = 0;
    loop {
        for cluster in &clusters {
            let Some(brokers) = info.cluster_addr_table.get(cluster) else {
                out(&format!("cluster [{cluster}] not exist"));
                break;
            };
            for broker in brokers {
                let (mut elapsed_ms, mut ok, mut failed) = (0u128, 0u64, 0u64);
                for i in 0..opts.amount {
                    let start = Instant::now();
                    match producer
                        .send(Message::new(broker, body.clone().into_bytes()))
                        .await
                    {
                        Ok(_) => ok += 1,
                        Err(_) => failed += 1,
                    }
                    if i != 0 {
                        elapsed_ms += start.elapsed().as_millis();
                    }
                }
                let rt = elapsed_ms as f64 / opts.amount.saturating_sub(1).max(1) as f64;
                if opts.print_as_tlog {
                    out(&format!(
                        "{}|{}|{cluster}|{broker}|{}\n",
                        gmt8_now(),
                        opts.machine_room,
                        rt.round() as i64
                    ));
                } else {
                    out(&format!(
                        "{:<24}  {:<24}  {:<8}  {:<16}  {:<16}\n",
                        cluster,
                        broker,
                        format!("{rt:.2}"),
                        ok,
                        failed
                    ));
                }
            }
        }
        round += 1;
        if opts.rounds.is_some_and(|n| round >= n) {
            break;
        }
        tokio::time::sleep(opts.interval).await;
    }
    producer.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_proto::body::BrokerStatsItem;

    #[test]
    fn day_sum_falls_back_as_java_does() {
        let item = |sum| BrokerStatsItem {
            sum,
            ..Default::default()
        };
        let mut d = BrokerStatsData {
            stats_minute: item(3),
            ..Default::default()
        };
        assert_eq!(day_sum(&d), 3);
        d.stats_day = item(9);
        assert_eq!(day_sum(&d), 9);
    }

    #[test]
    fn stats_all_prints_javas_columns() {
        let r = StatsAllReport {
            rows: vec![StatsAllRow {
                topic: "T".into(),
                group: None,
                accumulation: 0,
                in_tps: 1.5,
                out_tps: 0.0,
                in_msg_24h: 4,
                out_msg_24h: 0,
            }],
        };
        let text = r.to_string();
        let line = text.lines().nth(1).unwrap();
        assert!(line.starts_with(&format!("{:<64}  {:<32} {:>12} {:>11}", "T", "", 0, "1.50")));
        assert!(line.ends_with(&format!("{:>14} {:>14}", 4, "NO_CONSUMER")));
    }

    #[test]
    fn hello_bodies_and_clock() {
        assert_eq!(hello_body(16).len(), 22);
        assert_eq!(hello_body(11).len(), 11);
        assert_eq!(gmt8_now().len(), 19);
    }
}
