//! `consumerStatus` (Java `ConsumerStatusSubCommand`) and `queryMsgById -g -d` (Java
//! `QueryMsgByIdSubCommand.pushMsg`): calls that a broker passes on to one live consumer.
//!
//! ```text
//! consumerStatus -g G [-i id] ─▶ route of %RETRY%G ─▶ first broker ─GET_CONSUMER_RUNNING_INFO─▶ client
//!                 (no -i: GET_CONSUMER_CONNECTION_LIST first, then each client in turn)
//! queryMsgById -i id -g G -d c ─▶ the message ─▶ its store host ─CONSUME_MESSAGE_DIRECTLY─▶ client
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use ferromq_client::AdminClient;
use ferromq_common::names::retry_topic;
use ferromq_common::now_millis;
use ferromq_proto::body::running::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
    PROP_CONSUMER_START_TIMESTAMP, PROP_CONSUME_ORDERLY,
};
use ferromq_proto::body::{
    ConsumeMessageDirectlyResult, ConsumerRunningInfo, JsonBody, ProcessQueueInfo,
};
use ferromq_proto::codes::{request, response};
use ferromq_proto::RemotingCommand;

use super::connection::examine_consumer_connection;
use crate::format::{left, version_desc};
use crate::AdminError;

/// How long the tool waits: longer than the broker's 10 s wait for the client, so the broker's
/// own timeout answer (CONSUME_MSG_TIMEOUT) is what the user sees.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Java `DefaultMQAdminExtImpl.getConsumerRunningInfo`: GET_CONSUMER_RUNNING_INFO (307) to the
/// first broker of the `%RETRY%<group>` route (or to `broker_addr`).
pub async fn consumer_running_info(
    admin: &AdminClient,
    group: &str,
    client_id: &str,
    jstack: bool,
    broker_addr: Option<&str>,
) -> Result<ConsumerRunningInfo, AdminError> {
    let addr = match broker_addr {
        Some(a) => a.to_owned(),
        None => group_broker(admin, group).await?,
    };
    let header = GetConsumerRunningInfoRequestHeader {
        consumer_group: group.to_owned(),
        client_id: client_id.to_owned(),
        jstack_enable: Some(jstack),
    };
    let cmd = RemotingCommand::request(request::GET_CONSUMER_RUNNING_INFO, &header);
    let resp = admin.rpc().call_timeout(&addr, cmd, CALL_TIMEOUT).await?;
    let resp = ferromq_client::rpc::expect_success(resp)?;
    Ok(ferromq_client::rpc::decode_body(
        &resp,
        "ConsumerRunningInfo",
    )?)
}

async fn group_broker(admin: &AdminClient, group: &str) -> Result<String, AdminError> {
    let route = admin.topic_route(&retry_topic(group)).await?;
    route
        .broker_datas
        .iter()
        .find_map(|bd| {
            bd.master_addr()
                .or_else(|| bd.broker_addrs.values().next().map(String::as_str))
        })
        .map(str::to_owned)
        .ok_or_else(|| {
            AdminError::coded(
                response::CONSUMER_NOT_ONLINE,
                "Not found the consumer group connection",
            )
        })
}

/// One client's answer (or failure) in a `consumerStatus` without `-i`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientStatus {
    /// `ip@instance`.
    pub client_id: String,
    /// The client's version ordinal, from its connection.
    pub version: i32,
    /// Its running info, or why there is none.
    pub info: Result<ConsumerRunningInfo, String>,
}

/// The data of `consumerStatus`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsumerStatusReport {
    /// `-i`: one client's running info.
    One(ConsumerRunningInfo),
    /// Every client of the group. Java writes each client's running info to a file
    /// `<now>/<clientId>` and lists the paths; FerroMQ prints them after the list instead.
    All {
        /// When the command ran (epoch ms).
        now: i64,
        /// The clients, in connection order.
        clients: Vec<ClientStatus>,
    },
}

/// Runs `consumerStatus`.
pub async fn consumer_status(
    admin: &AdminClient,
    group: &str,
    client_id: Option<&str>,
    jstack: bool,
    broker_addr: Option<&str>,
) -> Result<ConsumerStatusReport, AdminError> {
    let group = group.trim();
    let broker_addr = broker_addr.map(str::trim);
    let cc = examine_consumer_connection(admin, group, broker_addr).await?;
    if let Some(id) = client_id {
        let info = consumer_running_info(admin, group, id.trim(), jstack, broker_addr).await?;
        return Ok(ConsumerStatusReport::One(info));
    }
    let mut clients = Vec::new();
    for conn in &cc.connection_set {
        let info = consumer_running_info(admin, group, &conn.client_id, jstack, broker_addr)
            .await
            .map_err(|e| e.to_string());
        clients.push(ClientStatus {
            client_id: conn.client_id.clone(),
            version: conn.version,
            info,
        });
    }
    Ok(ConsumerStatusReport::All {
        now: now_millis(),
        clients,
    })
}

impl fmt::Display for ConsumerStatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (now, clients) = match self {
            ConsumerStatusReport::One(info) => return f.write_str(&format_running_info(info)),
            ConsumerStatusReport::All { now, clients } => (*now, clients),
        };
        let answered: BTreeMap<&str, &ConsumerRunningInfo> = clients
            .iter()
            .filter_map(|c| c.info.as_ref().ok().map(|i| (c.client_id.as_str(), i)))
            .collect();
        for (i, c) in (1..).zip(clients.iter().filter(|c| c.info.is_ok())) {
            writeln!(
                f,
                "{i:03}  {} {}",
                left(&c.client_id, 40),
                version_desc(c.version)
            )?;
        }
        if answered.is_empty() {
            return Ok(());
        }
        if same_subscription(&answered, now) {
            write!(f, "\n\nSame subscription in the same group of consumer")?;
            writeln!(f, "\n\nRebalance OK")?;
            for (id, info) in &answered {
                f.write_str(&analyze_process_queue(id, info, now))?;
            }
        } else {
            write!(
                f,
                "\n\nWARN: Different subscription in the same group of consumer!!!"
            )?;
        }
        // FerroMQ also prints what Java leaves in the files.
        for (id, info) in &answered {
            write!(f, "\n\n#ClientId: {id}\n{}", format_running_info(info))?;
        }
        Ok(())
    }
}

/// Java `ConsumerRunningInfo.analyzeSubscription`: push consumers running for over two minutes
/// must all subscribe alike.
fn same_subscription(table: &BTreeMap<&str, &ConsumerRunningInfo>, now: i64) -> bool {
    let Some(first) = table.values().next() else {
        return true;
    };
    let started: i64 = first
        .properties
        .get(PROP_CONSUMER_START_TIMESTAMP)
        .and_then(|s| s.parse().ok())
        .unwrap_or(now);
    if !(first.is_push() && now - started > 2 * 60 * 1000) {
        return true;
    }
    let key = |i: &ConsumerRunningInfo| {
        let mut v: Vec<String> = i
            .subscription_set
            .iter()
            .map(|s| format!("{}\u{0}{}", s.topic, s.sub_string))
            .collect();
        v.sort();
        v
    };
    let want = key(first);
    table.values().all(|i| key(i) == want)
}

/// Java `ConsumerRunningInfo.analyzeProcessQueue`: queues of a push consumer that look stuck.
fn analyze_process_queue(client_id: &str, info: &ConsumerRunningInfo, now: i64) -> String {
    let mut out = String::new();
    if !info.is_push() {
        return out;
    }
    let orderly = info
        .properties
        .get(PROP_CONSUME_ORDERLY)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    for (q, pq) in &info.mq_table {
        // Java `MessageQueue.toString`.
        let mq = format!(
            "MessageQueue [topic={}, brokerName={}, queueId={}]",
            q.topic, q.broker_name, q.queue_id
        );
        if orderly {
            if !pq.locked {
                out += &format!(
                    "{client_id} {mq} can't lock for a while, {}ms\n",
                    now - pq.last_lock_timestamp
                );
            } else if pq.dropped && pq.try_unlock_times > 0 {
                out += &format!(
                    "{client_id} {mq} unlock {} times, still failed\n",
                    pq.try_unlock_times
                );
            }
        } else {
            let diff = now - pq.last_consume_timestamp;
            if diff > 60 * 1000 && pq.cached_msg_count > 0 {
                out += &format!(
                    "{client_id} {mq} can't consume for a while, maybe blocked, {diff}ms\n"
                );
            }
        }
    }
    out
}

/// Java `ProcessQueueInfo.toString` (times as `yyyyMMddHHmmssSSS`, UTC here).
pub fn process_queue_info_string(p: &ProcessQueueInfo) -> String {
    let t = ferromq_common::time::compact_millis;
    format!(
        "ProcessQueueInfo [commitOffset={}, cachedMsgMinOffset={}, cachedMsgMaxOffset={}, cachedMsgCount={}, cachedMsgSizeInMiB={}, transactionMsgMinOffset={}, transactionMsgMaxOffset={}, transactionMsgCount={}, locked={}, tryUnlockTimes={}, lastLockTimestamp={}, dropped={}, lastPullTimestamp={}, lastConsumeTimestamp={}]",
        p.commit_offset,
        p.cached_msg_min_offset,
        p.cached_msg_max_offset,
        p.cached_msg_count,
        p.cached_msg_size_in_mib,
        p.transaction_msg_min_offset,
        p.transaction_msg_max_offset,
        p.transaction_msg_count,
        p.locked,
        p.try_unlock_times,
        t(p.last_lock_timestamp),
        p.dropped,
        t(p.last_pull_timestamp),
        t(p.last_consume_timestamp)
    )
}

/// Java `ConsumerRunningInfo.formatString`.
pub fn format_running_info(info: &ConsumerRunningInfo) -> String {
    let mut s = String::from("#Consumer Properties#\n");
    for (k, v) in &info.properties {
        s += &format!("{}: {v}\n", left(k, 40));
    }
    s += "\n\n#Consumer Subscription#\n";
    for (i, sd) in info.subscription_set.iter().enumerate() {
        s += &format!(
            "{:03} Topic: {} ClassFilter: {} SubExpression: {}\n",
            i + 1,
            left(&sd.topic, 40),
            left(&sd.class_filter_mode.to_string(), 8),
            sd.sub_string
        );
    }
    s += "\n\n#Consumer Offset#\n";
    s += &format!(
        "{}  {}  {}  {}\n",
        left("#Topic", 64),
        left("#Broker Name", 32),
        left("#QID", 4),
        left("#Consumer Offset", 20)
    );
    for (mq, pq) in &info.mq_table {
        s += &format!(
            "{}  {}  {}  {}\n",
            left(&mq.topic, 32),
            left(&mq.broker_name, 32),
            left(&mq.queue_id.to_string(), 4),
            left(&pq.commit_offset.to_string(), 20)
        );
    }
    s += "\n\n#Consumer MQ Detail#\n";
    s += &format!(
        "{}  {}  {}  {}\n",
        left("#Topic", 64),
        left("#Broker Name", 32),
        left("#QID", 4),
        left("#ProcessQueueInfo", 20)
    );
    for (mq, pq) in &info.mq_table {
        s += &format!(
            "{}  {}  {}  {}\n",
            left(&mq.topic, 64),
            left(&mq.broker_name, 32),
            left(&mq.queue_id.to_string(), 4),
            process_queue_info_string(pq)
        );
    }
    s += "\n\n#Consumer Pop Detail#\n";
    s += &format!(
        "{}  {}  {}  {}\n",
        left("#Topic", 32),
        left("#Broker Name", 32),
        left("#QID", 4),
        left("#ProcessQueueInfo", 20)
    );
    s += "\n\n#Consumer RT&TPS#\n";
    s += &format!(
        "{}  {:>14} {:>14} {:>14} {:>14} {:>18} {:>25}\n",
        left("#Topic", 64),
        "#Pull RT",
        "#Pull TPS",
        "#Consume RT",
        "#ConsumeOK TPS",
        "#ConsumeFailed TPS",
        "#ConsumeFailedMsgsInHour"
    );
    for (topic, st) in &info.status_table {
        s += &format!(
            "{}  {:>14.2} {:>14.2} {:>14.2} {:>14.2} {:>18.2} {:>25}\n",
            left(topic, 32),
            st.pull_rt,
            st.pull_tps,
            st.consume_rt,
            st.consume_ok_tps,
            st.consume_failed_tps,
            st.consume_failed_msgs
        );
    }
    s += "\n\n#User Consume Info#\n";
    for (k, v) in &info.user_consumer_info {
        s += &format!("{}: {v}\n", left(k, 40));
    }
    if let Some(j) = &info.jstack {
        s += "\n\n#Consumer jstack#\n";
        s += j;
    }
    s
}

/// Java `DefaultMQAdminExtImpl.consumeMessageDirectly(group, clientId, topic, msgId)`: finds
/// the message (by offset message id, or by unique key), then CONSUME_MESSAGE_DIRECTLY (309)
/// to the broker that stores it, naming it by its offset message id.
pub async fn consume_message_directly(
    admin: &AdminClient,
    cluster: Option<&str>,
    topic: &str,
    group: &str,
    client_id: &str,
    msg_id: &str,
) -> Result<ConsumeMessageDirectlyResult, AdminError> {
    let msg = crate::message::query::query_msg_by_id(admin, cluster, topic, msg_id).await?;
    let header = ConsumeMessageDirectlyResultRequestHeader {
        consumer_group: group.trim().to_owned(),
        client_id: Some(client_id.trim().to_owned()),
        msg_id: Some(msg.offset_msg_id()),
        broker_name: None,
        topic: Some(topic.to_owned()),
        topic_sys_flag: None,
        group_sys_flag: None,
    };
    let cmd = RemotingCommand::request(request::CONSUME_MESSAGE_DIRECTLY, &header);
    let addr = msg.store_host.to_string();
    let resp = admin.rpc().call_timeout(&addr, cmd, CALL_TIMEOUT).await?;
    let resp = ferromq_client::rpc::expect_success(resp)?;
    if resp.body.is_empty() {
        return Err(AdminError::coded(
            response::SYSTEM_ERROR,
            "the consumer answered without a result",
        ));
    }
    ConsumeMessageDirectlyResult::from_json(&resp.body).map_err(|e| {
        AdminError::coded(
            response::SYSTEM_ERROR,
            &format!("cannot decode the consumer's result: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use ferromq_proto::body::running::PROP_CONSUME_TYPE;
    use ferromq_proto::body::{ConsumeStatus, MessageQueue, SubscriptionData};

    use super::*;

    fn info(start: i64, topic: &str) -> ConsumerRunningInfo {
        let mut i = ConsumerRunningInfo::default();
        i.properties
            .insert(PROP_CONSUME_TYPE.into(), "CONSUME_PASSIVELY".into());
        i.properties
            .insert(PROP_CONSUMER_START_TIMESTAMP.into(), start.to_string());
        i.subscription_set.push(SubscriptionData {
            topic: topic.into(),
            sub_string: "*".into(),
            ..Default::default()
        });
        i.mq_table.insert(
            MessageQueue::new(topic, "broker-a", 0),
            ProcessQueueInfo {
                commit_offset: 12,
                cached_msg_count: 3,
                last_consume_timestamp: 0,
                ..Default::default()
            },
        );
        i.status_table.insert(
            topic.into(),
            ConsumeStatus {
                pull_tps: 1.5,
                ..Default::default()
            },
        );
        i
    }

    #[test]
    fn formats_like_java() {
        let text = format_running_info(&info(1, "T"));
        assert!(text.starts_with("#Consumer Properties#\nPROP_CONSUMER_START_TIMESTAMP"));
        assert!(text.contains(&format!(
            "001 Topic: {} ClassFilter: false    SubExpression: *\n",
            left("T", 40)
        )));
        assert!(text.contains(&format!(
            "{}  {}  0     12",
            left("T", 32),
            left("broker-a", 32)
        )));
        assert!(text.contains("ProcessQueueInfo [commitOffset=12, cachedMsgMinOffset=0"));
        assert!(text.contains("lastConsumeTimestamp=19700101000000000]"));
        assert!(text.contains(&format!("{}            0.00           1.50", left("T", 32))));
        assert!(!text.contains("#Consumer jstack#"));
    }

    #[test]
    fn all_clients_report_analyzes_like_java() {
        let now = 10 * 60 * 1000;
        let report = ConsumerStatusReport::All {
            now,
            clients: vec![
                ClientStatus {
                    client_id: "a@1".into(),
                    version: 479,
                    info: Ok(info(0, "T")),
                },
                ClientStatus {
                    client_id: "b@2".into(),
                    version: 479,
                    info: Err("down".into()),
                },
            ],
        };
        let text = report.to_string();
        assert!(text.starts_with(&format!("001  {} V5_3_3\n", left("a@1", 40))));
        assert!(!text.contains("b@2"));
        assert!(text.contains("Rebalance OK"));
        assert!(text.contains("a@1 MessageQueue [topic=T, brokerName=broker-a, queueId=0] can't consume for a while, maybe blocked"));
        assert!(text.contains("#ClientId: a@1\n#Consumer Properties#"));

        let mixed = ConsumerStatusReport::All {
            now,
            clients: vec![
                ClientStatus {
                    client_id: "a@1".into(),
                    version: 479,
                    info: Ok(info(0, "T")),
                },
                ClientStatus {
                    client_id: "b@2".into(),
                    version: 479,
                    info: Ok(info(0, "U")),
                },
            ],
        };
        assert!(mixed
            .to_string()
            .contains("WARN: Different subscription in the same group of consumer!!!"));
    }
}
