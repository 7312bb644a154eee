//! The message and store-maintenance commands: `queryMsgById`, `queryMsgByKey`,
//! `queryMsgByUniqueKey`, `queryMsgByOffset`, `printMsg`, `deleteExpiredCommitLog`,
//! `cleanExpiredCQ`, with RocketMQ's option letters.

use std::io::Write;

use clap::Parser;
use ferromq_admin::message::{
    message_track_detail, print_msg, query_msg_by_id, query_msg_by_key, query_msg_by_offset,
    query_msg_by_unique_key, write_body_file, MessageDetail, PrintMsgOptions, UniqueKeyDetail,
};
use ferromq_admin::store_admin::{
    clean_expired_consume_queue, delete_expired_commit_log, StoreTarget,
};
use ferromq_admin::{AdminClient, AdminError};
use ferromq_proto::message::MessageExt;

use super::commands::Namesrv;

fn unsupported(what: &str) -> AdminError {
    AdminError::InvalidArgument {
        reason: format!("{what} is not supported by FerroMQ yet"),
    }
}

fn java_long(name: &str, v: &str) -> Result<i64, AdminError> {
    v.trim().parse().map_err(|_| AdminError::InvalidArgument {
        reason: format!("For input string: \"{}\" ({name})", v.trim()),
    })
}

/// The body as text for `-f <charset>` (bodies are decoded as UTF-8 whatever the charset).
fn body_text(msg: &MessageExt, charset: Option<&str>) -> Option<String> {
    charset.map(|_| String::from_utf8_lossy(&msg.body).into_owned())
}

async fn detail(
    admin: &AdminClient,
    msg: MessageExt,
    charset: Option<&str>,
) -> Result<MessageDetail, AdminError> {
    let path = write_body_file(&msg, 0).map_err(|e| AdminError::InvalidArgument {
        reason: format!("cannot write the message body file: {e}"),
    })?;
    let tracks = message_track_detail(admin, &msg)
        .await
        .map_err(|e| e.to_string());
    if let Err(e) = &tracks {
        eprintln!("{e}");
    }
    Ok(MessageDetail {
        body_text: body_text(&msg, charset),
        body_path: path.display().to_string(),
        msg,
        tracks,
    })
}

#[derive(Debug, Parser)]
#[command(
    name = "queryMsgById",
    bin_name = "mqadmin queryMsgById",
    about = "Query Message by Id."
)]
pub(super) struct QueryMsgByIdArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// Message Id
    #[arg(short = 'i', long = "msgId", value_name = "arg")]
    msg_id: String,
    /// consumer group name
    #[arg(short = 'g', long = "consumerGroup", value_name = "arg")]
    consumer_group: Option<String>,
    /// The consumer's client id
    #[arg(short = 'd', long = "clientId", value_name = "arg")]
    client_id: Option<String>,
    /// resend message
    #[arg(short = 's', long = "sendMessage", value_name = "arg")]
    send_message: Option<String>,
    /// unit name
    #[arg(short = 'u', long = "unitName", value_name = "arg")]
    unit_name: Option<String>,
    /// print message body by the specified format
    #[arg(short = 'f', long = "bodyFormat", value_name = "arg")]
    body_format: Option<String>,
    /// Cluster name or lmq parent topic, lmq is used to find the route.
    #[arg(short = 'c', long = "cluster", value_name = "arg")]
    cluster: Option<String>,
}

pub(super) async fn run_query_msg_by_id(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(QueryMsgByIdArgs, args);
    if a.unit_name.is_some() {
        return Err(unsupported("unit names (-u)"));
    }
    let admin = a.ns.client()?;
    let topic = a.topic.trim();
    let cluster = a.cluster.as_deref().map(str::trim);
    let ids = a
        .msg_id
        .trim()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let (Some(group), Some(client)) = (&a.consumer_group, &a.client_id) {
        let ids: Vec<&str> = ids.collect();
        return super::client_commands::push_msgs(&admin, cluster, topic, group, client, &ids)
            .await;
    }
    // `-s` with a value other than true does nothing, as in Java.
    if let Some(send) = a.send_message.as_deref() {
        if send.trim().eq_ignore_ascii_case("true") {
            for id in ids {
                let msg = query_msg_by_id(&admin, cluster, topic, id).await?;
                print!(
                    "{}",
                    ferromq_admin::message::resend(&admin, id, &msg).await?
                );
                let _ = std::io::stdout().flush();
            }
        }
        return Ok(0);
    }
    for id in ids {
        let msg = query_msg_by_id(&admin, cluster, topic, id).await?;
        print!("{}", detail(&admin, msg, a.body_format.as_deref()).await?);
        let _ = std::io::stdout().flush();
    }
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "queryMsgByKey",
    bin_name = "mqadmin queryMsgByKey",
    about = "Query Message by Key."
)]
pub(super) struct QueryMsgByKeyArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// Message Key
    #[arg(short = 'k', long = "msgKey", value_name = "arg")]
    msg_key: String,
    /// Begin timestamp(ms). default:0, eg:1676730526212
    #[arg(short = 'b', long = "beginTimestamp", value_name = "arg")]
    begin: Option<String>,
    /// End timestamp(ms). default:Long.MAX_VALUE, eg:1676730526212
    #[arg(short = 'e', long = "endTimestamp", value_name = "arg")]
    end: Option<String>,
    /// The maximum number of messages returned by the query, default:64
    #[arg(short = 'm', long = "maxNum", value_name = "arg")]
    max_num: Option<String>,
    /// Cluster name or lmq parent topic, lmq is used to find the route.
    #[arg(short = 'c', long = "cluster", value_name = "arg")]
    cluster: Option<String>,
}

pub(super) async fn run_query_msg_by_key(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(QueryMsgByKeyArgs, args);
    let begin = a.begin.as_deref().map_or(Ok(0), |v| java_long("b", v))?;
    let end = a
        .end
        .as_deref()
        .map_or(Ok(i64::MAX), |v| java_long("e", v))?;
    let max = a.max_num.as_deref().map_or(Ok(64), |v| java_long("m", v))?;
    let report = query_msg_by_key(
        &a.ns.client()?,
        a.cluster.as_deref().map(str::trim),
        a.topic.trim(),
        a.msg_key.trim(),
        i32::try_from(max).unwrap_or(i32::MAX),
        begin,
        end,
    )
    .await?;
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "queryMsgByUniqueKey",
    bin_name = "mqadmin queryMsgByUniqueKey",
    about = "Query Message by Unique key."
)]
pub(super) struct QueryMsgByUniqueKeyArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Message Id
    #[arg(short = 'i', long = "msgId", value_name = "arg")]
    msg_id: String,
    /// consumer group name
    #[arg(short = 'g', long = "consumerGroup", value_name = "arg")]
    consumer_group: Option<String>,
    /// The consumer's client id
    #[arg(short = 'd', long = "clientId", value_name = "arg")]
    client_id: Option<String>,
    /// The topic of msg
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// Print all message, the limit is 32
    #[arg(short = 'a', long = "showAll")]
    show_all: bool,
    /// Cluster name or lmq parent topic, lmq is used to find the route.
    #[arg(short = 'c', long = "cluster", value_name = "arg")]
    cluster: Option<String>,
}

pub(super) async fn run_query_msg_by_unique_key(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(QueryMsgByUniqueKeyArgs, args);
    if a.consumer_group.is_some() && a.client_id.is_some() {
        return Err(unsupported("consuming a message directly (-g/-d)"));
    }
    let admin = a.ns.client()?;
    let found = query_msg_by_unique_key(
        &admin,
        a.cluster.as_deref().map(str::trim),
        a.topic.trim(),
        a.msg_id.trim(),
    )
    .await?;
    let shown = if a.show_all { found.len() } else { 1 };
    for (i, msg) in found.into_iter().take(shown).enumerate() {
        let path = write_body_file(&msg, i).map_err(|e| AdminError::InvalidArgument {
            reason: format!("cannot write the message body file: {e}"),
        })?;
        let tracks = message_track_detail(&admin, &msg)
            .await
            .map_err(|e| e.to_string());
        if let Err(e) = &tracks {
            eprintln!("{e}");
        }
        let d = UniqueKeyDetail {
            body_path: path.display().to_string(),
            msg,
            tracks,
        };
        print!("{d}");
        let _ = std::io::stdout().flush();
    }
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "queryMsgByOffset",
    bin_name = "mqadmin queryMsgByOffset",
    about = "Query Message by offset."
)]
pub(super) struct QueryMsgByOffsetArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// Broker Name
    #[arg(short = 'b', long = "brokerName", value_name = "arg")]
    broker_name: String,
    /// Queue Id
    #[arg(short = 'i', long = "queueId", value_name = "arg")]
    queue_id: String,
    /// Queue Offset
    #[arg(short = 'o', long = "offset", value_name = "arg")]
    offset: String,
    /// print message body by the specified format
    #[arg(short = 'f', long = "bodyFormat", value_name = "arg")]
    body_format: Option<String>,
}

pub(super) async fn run_query_msg_by_offset(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(QueryMsgByOffsetArgs, args);
    let queue_id = java_long("i", &a.queue_id)?;
    let offset = java_long("o", &a.offset)?;
    let admin = a.ns.client()?;
    let found = query_msg_by_offset(
        &admin,
        a.topic.trim(),
        a.broker_name.trim(),
        i32::try_from(queue_id).unwrap_or(-1),
        offset,
    )
    .await?;
    if let Some(msg) = found {
        print!("{}", detail(&admin, msg, a.body_format.as_deref()).await?);
    }
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "printMsg",
    bin_name = "mqadmin printMsg",
    about = "Print Message Detail."
)]
pub(super) struct PrintMsgArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
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
    /// print body
    #[arg(short = 'd', long = "printBody", value_name = "arg")]
    print_body: Option<String>,
    /// Lmq parent topic, lmq is used to find the route.
    #[arg(short = 'l', long = "lmqParentTopic", value_name = "arg")]
    lmq_parent_topic: Option<String>,
}

/// Java `PrintMessageSubCommand.timestampFormat`: epoch milliseconds, or
/// `yyyy-MM-dd#HH:mm:ss:SSS` (read as UTC).
pub(super) fn timestamp_format(v: &str) -> Result<i64, AdminError> {
    let v = v.trim();
    if let Ok(ms) = v.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || AdminError::InvalidArgument {
        reason: format!("Unparseable date: \"{v}\" (expected yyyy-MM-dd#HH:mm:ss:SSS)"),
    };
    let (date, time) = v.split_once('#').ok_or_else(bad)?;
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let t: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if d.len() != 3 || t.len() != 4 {
        return Err(bad());
    }
    // Howard Hinnant's days-from-civil.
    let (y, m, day) = (if d[1] <= 2 { d[0] - 1 } else { d[0] }, d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(((days * 24 + t[0]) * 60 + t[1]) * 60_000 + t[2] * 1000 + t[3])
}

pub(super) async fn run_print_msg(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(PrintMsgArgs, args);
    if a.lmq_parent_topic.is_some() {
        return Err(unsupported("LMQ topics (-l)"));
    }
    let _ = &a.charset_name;
    let opts = PrintMsgOptions {
        topic: a.topic.trim().to_owned(),
        print_body: a
            .print_body
            .as_deref()
            .is_none_or(|v| v.trim().eq_ignore_ascii_case("true")),
        sub_expression: a
            .sub_expression
            .as_deref()
            .map_or("*".to_owned(), |s| s.trim().to_owned()),
        begin: a.begin.as_deref().map(timestamp_format).transpose()?,
        end: a.end.as_deref().map(timestamp_format).transpose()?,
    };
    let mut stdout = std::io::stdout();
    print_msg(&a.ns.client()?, &opts, &mut |text| {
        let _ = stdout.write_all(text.as_bytes());
    })
    .await?;
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "deleteExpiredCommitLog",
    bin_name = "mqadmin deleteExpiredCommitLog",
    about = "Delete expired CommitLog files."
)]
pub(super) struct DeleteExpiredCommitLogArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Broker address
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// clustername
    #[arg(short = 'c', long = "cluster", value_name = "arg")]
    cluster: Option<String>,
}

fn store_target(broker: Option<String>, cluster: Option<String>) -> StoreTarget {
    match broker {
        Some(b) => StoreTarget::Broker(b.trim().to_owned()),
        None => StoreTarget::Cluster(cluster),
    }
}

pub(super) async fn run_delete_expired_commit_log(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(DeleteExpiredCommitLogArgs, args);
    let target = store_target(a.broker_addr, a.cluster);
    let ok = delete_expired_commit_log(&a.ns.client()?, &target).await?;
    print!("{}", if ok { "success" } else { "false" });
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "cleanExpiredCQ",
    bin_name = "mqadmin cleanExpiredCQ",
    about = "Clean expired ConsumeQueue on broker."
)]
pub(super) struct CleanExpiredCqArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Broker address
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// clustername
    #[arg(short = 'c', long = "cluster", value_name = "arg")]
    cluster: Option<String>,
}

pub(super) async fn run_clean_expired_cq(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(CleanExpiredCqArgs, args);
    let target = store_target(a.broker_addr, a.cluster);
    let ok = clean_expired_consume_queue(&a.ns.client()?, &target).await?;
    print!("{}", if ok { "success" } else { "false" });
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
    fn options_use_rocketmq_letters() {
        let a = parse::<QueryMsgByIdArgs>(&p(&["-t", "T", "-i", "A,B", "-f", "UTF-8"])).unwrap();
        assert_eq!((a.topic.as_str(), a.msg_id.as_str()), ("T", "A,B"));
        assert!(parse::<QueryMsgByIdArgs>(&p(&["-i", "A"])).is_err());
        let k = parse::<QueryMsgByKeyArgs>(&p(&["-t", "T", "-k", "K", "-m", "3"])).unwrap();
        assert_eq!(k.max_num.as_deref(), Some("3"));
        let u = parse::<QueryMsgByUniqueKeyArgs>(&p(&["-i", "U", "-t", "T", "-a"])).unwrap();
        assert!(u.show_all);
        let o =
            parse::<QueryMsgByOffsetArgs>(&p(&["-t", "T", "-b", "broker-a", "-i", "1", "-o", "5"]))
                .unwrap();
        assert_eq!(
            (o.broker_name.as_str(), o.offset.as_str()),
            ("broker-a", "5")
        );
        let m = parse::<PrintMsgArgs>(&p(&["-t", "T", "-s", "TagA", "-d", "false"])).unwrap();
        assert_eq!(m.print_body.as_deref(), Some("false"));
        assert!(parse::<DeleteExpiredCommitLogArgs>(&p(&["-b", "127.0.0.1:10911"])).is_ok());
        assert!(parse::<CleanExpiredCqArgs>(&p(&["-c", "DefaultCluster"])).is_ok());
    }

    #[test]
    fn print_msg_timestamps() {
        assert_eq!(
            timestamp_format("1700000000123").unwrap(),
            1_700_000_000_123
        );
        assert_eq!(
            timestamp_format("2023-11-14#22:13:20:123").unwrap(),
            1_700_000_000_123
        );
        assert_eq!(timestamp_format("1970-01-01#00:00:00:000").unwrap(), 0);
        assert!(timestamp_format("2023-11-14 22:13").is_err());
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "queryMsgTraceById",
    bin_name = "mqadmin queryMsgTraceById",
    about = "Query a message trace"
)]
pub(super) struct QueryMsgTraceByIdArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Message Id
    #[arg(short = 'i', long = "msgId", value_name = "arg")]
    msg_id: String,
    /// The name value of message trace topic
    #[arg(short = 't', long = "traceTopic", value_name = "arg")]
    trace_topic: Option<String>,
    /// Begin timestamp(ms). default:0, eg:1676730526212
    #[arg(short = 'b', long = "beginTimestamp", value_name = "arg")]
    begin: Option<String>,
    /// End timestamp(ms). default:Long.MAX_VALUE, eg:1676730526212
    #[arg(short = 'e', long = "endTimestamp", value_name = "arg")]
    end: Option<String>,
    /// The maximum number of messages returned by the query, default:64 (also -num)
    #[arg(long = "maxNum", value_name = "arg")]
    max_num: Option<String>,
}

pub(super) async fn run_query_msg_trace_by_id(args: Vec<String>) -> Result<i32, AdminError> {
    // Java's option is `-num` (a multi-letter short option).
    let args: Vec<String> = args
        .into_iter()
        .map(|a| if a == "-num" { "--maxNum".into() } else { a })
        .collect();
    let a = parse_or_return!(QueryMsgTraceByIdArgs, args);
    let begin = a.begin.as_deref().map_or(Ok(0), |v| java_long("b", v))?;
    let end = a
        .end
        .as_deref()
        .map_or(Ok(i64::MAX), |v| java_long("e", v))?;
    let max = a
        .max_num
        .as_deref()
        .map_or(Ok(64), |v| java_long("num", v))?;
    let max = i32::try_from(max).map_err(|_| AdminError::InvalidArgument {
        reason: format!("For input string: \"{max}\" (num)"),
    })?;
    let topic = a
        .trace_topic
        .as_deref()
        .map(str::trim)
        .unwrap_or(ferromq_common::names::TRACE_TOPIC);
    let report = ferromq_admin::message::query_msg_trace_by_id(
        &a.ns.client()?,
        topic,
        a.msg_id.trim(),
        max,
        begin,
        end,
    )
    .await?;
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "sendMessage",
    bin_name = "mqadmin sendMessage",
    about = "Send a message"
)]
pub(super) struct SendMessageArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// UTF-8 string format of the message body
    #[arg(short = 'p', long = "body", value_name = "arg")]
    body: String,
    /// Message keys
    #[arg(short = 'k', long = "key", value_name = "arg")]
    key: Option<String>,
    /// Message tags
    #[arg(short = 'c', long = "tags", value_name = "arg")]
    tags: Option<String>,
    /// Send message to target broker
    #[arg(short = 'b', long = "broker", value_name = "arg")]
    broker: Option<String>,
    /// Send message to target queue
    #[arg(short = 'i', long = "qid", value_name = "arg")]
    qid: Option<String>,
}

pub(super) async fn run_send_message(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(SendMessageArgs, args);
    let queue_id = match &a.qid {
        None => None,
        Some(_) if a.broker.is_none() => {
            // Java prints this (without a newline) and sends nothing; it still exits 0.
            print!("Broker name must be set if the queue is chosen!");
            return Ok(0);
        }
        Some(q) => {
            let q = java_long("i", q)?;
            Some(i32::try_from(q).map_err(|_| AdminError::InvalidArgument {
                reason: format!("For input string: \"{q}\" (i)"),
            })?)
        }
    };
    let opts = ferromq_admin::message::send::SendMessageOptions {
        topic: a.topic.trim().to_owned(),
        body: a.body.trim().to_owned(),
        keys: a.key.as_deref().map(|k| k.trim().to_owned()),
        tags: a.tags.as_deref().map(|t| t.trim().to_owned()),
        broker_name: a.broker.as_deref().map(|b| b.trim().to_owned()),
        queue_id,
    };
    let report = ferromq_admin::message::send::send_message(&a.ns.client()?, &opts).await?;
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "checkMsgSendRT",
    bin_name = "mqadmin checkMsgSendRT",
    about = "check message send response time"
)]
pub(super) struct CheckMsgSendRtArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// message amount | default 100
    #[arg(short = 'a', long = "amount", value_name = "arg")]
    amount: Option<String>,
    /// message size | default 128 Byte
    #[arg(short = 's', long = "size", value_name = "arg")]
    size: String,
}

pub(super) async fn run_check_msg_send_rt(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(CheckMsgSendRtArgs, args);
    let amount = a.amount.as_deref().map_or(Ok(100), |v| java_long("a", v))?;
    let size = java_long("s", &a.size)?;
    let amount = u64::try_from(amount).map_err(|_| AdminError::InvalidArgument {
        reason: format!("the amount must not be negative: {amount}"),
    })?;
    // A body must not be empty, nor larger than the 4 MiB a producer sends by default.
    let size = usize::try_from(size)
        .ok()
        .filter(|s| (1..=4 * 1024 * 1024).contains(s))
        .ok_or_else(|| AdminError::InvalidArgument {
            reason: format!("the message size must be between 1 and 4194304 bytes: {size}"),
        })?;
    let report = ferromq_admin::message::send::check_msg_send_rt(
        &a.ns.client()?,
        a.topic.trim(),
        amount,
        size,
    )
    .await?;
    print!("{report}");
    Ok(0)
}
