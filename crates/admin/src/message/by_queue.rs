//! `printMsgByQueue` and `consumeMessage` (Java `PrintMessageByQueueCommand`,
//! `ConsumeMessageCommand`): read one queue, or the queues of a topic, between offsets or
//! store times, through pulls with the tools' consumer group (no offsets are committed).

use std::collections::BTreeMap;

use ferromq_proto::body::MessageQueue;
use ferromq_proto::codes::request;
use ferromq_proto::headers::{
    GetMaxOffsetRequestHeader, SearchOffsetRequestHeader, TopicQueueRequestHeader,
};
use ferromq_proto::message::MessageExt;
use ferromq_proto::RemotingCommand;

use super::java_hash_order;
use super::query::{broker_addr, mq_hash, mq_string, offset_call, pull_one_queue, PullStatus};
use super::render::java_message_ext_string;
use crate::{AdminClient, AdminError};

async fn min_offset(admin: &AdminClient, addr: &str, mq: &MessageQueue) -> Result<i64, AdminError> {
    let h = TopicQueueRequestHeader {
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
    };
    offset_call(
        admin,
        addr,
        RemotingCommand::request(request::GET_MIN_OFFSET, &h),
    )
    .await
}

async fn max_offset(admin: &AdminClient, addr: &str, mq: &MessageQueue) -> Result<i64, AdminError> {
    let h = GetMaxOffsetRequestHeader {
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        committed: None,
    };
    offset_call(
        admin,
        addr,
        RemotingCommand::request(request::GET_MAX_OFFSET, &h),
    )
    .await
}

async fn search_offset(
    admin: &AdminClient,
    addr: &str,
    mq: &MessageQueue,
    timestamp: i64,
) -> Result<i64, AdminError> {
    let h = SearchOffsetRequestHeader {
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        timestamp,
        boundary_type: None,
    };
    let cmd = RemotingCommand::request(request::SEARCH_OFFSET_BY_TIMESTAMP, &h);
    offset_call(admin, addr, cmd).await
}

/// Java `PrintMessageByQueueCommand.printMessage`'s line.
fn message_line(m: &MessageExt, broker_name: &str, print_body: bool) -> String {
    let body = if print_body {
        String::from_utf8_lossy(&m.body).into_owned()
    } else {
        "NOT PRINT BODY".to_owned()
    };
    format!(
        "MSGID: {} {} BODY: {body}\n",
        m.msg_id(),
        java_message_ext_string(m, Some(broker_name))
    )
}

/// Options of `printMsgByQueue`.
#[derive(Debug, Clone, Default)]
pub struct PrintByQueueOptions {
    /// Topic (`-t`).
    pub topic: String,
    /// Broker name (`-a`).
    pub broker_name: String,
    /// Queue (`-i`).
    pub queue_id: i32,
    /// Subscription expression (`-s`, default `*`).
    pub sub_expression: String,
    /// Start at the first message stored at or after this time (`-b`).
    pub begin: Option<i64>,
    /// Stop at the first message stored at or after this time (`-e`).
    pub end: Option<i64>,
    /// Print the messages (`-p true`).
    pub print_msg: bool,
    /// Print their bodies (`-d true`).
    pub print_body: bool,
    /// Count messages per tag (`-f true`).
    pub calculate_by_tag: bool,
}

async fn queue_addr(
    admin: &AdminClient,
    topic: &str,
    broker_name: &str,
) -> Result<String, AdminError> {
    let route = admin.topic_route(topic).await?;
    broker_addr(&route, broker_name).ok_or_else(|| AdminError::NotFound {
        message: format!("The broker[{broker_name}] not exist"),
    })
}

/// Runs `printMsgByQueue`, handing the output to `out` as it comes.
pub async fn print_msg_by_queue(
    admin: &AdminClient,
    opts: &PrintByQueueOptions,
    out: &mut dyn FnMut(&str),
) -> Result<(), AdminError> {
    let addr = queue_addr(admin, &opts.topic, &opts.broker_name).await?;
    let mq = MessageQueue::new(&opts.topic, &opts.broker_name, opts.queue_id);
    let mut min = min_offset(admin, &addr, &mq).await?;
    let mut max = max_offset(admin, &addr, &mq).await?;
    if let Some(b) = opts.begin {
        min = search_offset(admin, &addr, &mq, b).await?;
    }
    if let Some(e) = opts.end {
        max = search_offset(admin, &addr, &mq, e).await?;
    }
    let mut tags: BTreeMap<String, u64> = BTreeMap::new();
    let mut offset = min;
    while offset < max {
        let pulled = match pull_one_queue(admin, &addr, &mq, &opts.sub_expression, offset, 32).await
        {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                break;
            }
        };
        offset = pulled.next_begin_offset;
        if pulled.status != PullStatus::Found {
            break;
        }
        if opts.calculate_by_tag {
            for m in &pulled.messages {
                if let Some(t) = m.tags().filter(|t| !t.trim().is_empty()) {
                    *tags.entry(t.to_owned()).or_default() += 1;
                }
            }
        }
        if opts.print_msg {
            for m in &pulled.messages {
                out(&message_line(m, &opts.broker_name, opts.print_body));
            }
        }
    }
    if opts.calculate_by_tag {
        let mut list: Vec<(String, u64)> = tags.into_iter().collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for (tag, count) in list {
            out(&format!("Tag: {tag:<30} Count: {count}\n"));
        }
    }
    Ok(())
}

/// Options of `consumeMessage`.
#[derive(Debug, Clone, Default)]
pub struct ConsumeMessageOptions {
    /// Topic (`-t`).
    pub topic: String,
    /// Broker name (`-b`), needed with a queue.
    pub broker_name: Option<String>,
    /// Queue (`-i`).
    pub queue_id: Option<i32>,
    /// Start offset in that queue (`-o`).
    pub offset: Option<i64>,
    /// Start at the first message stored at or after this time (`-s`).
    pub begin: Option<i64>,
    /// Stop at the first message stored at or after this time (`-e`).
    pub end: Option<i64>,
    /// Most messages to read (`-c`, default 128).
    pub count: i64,
}

/// Java `ConsumeMessageCommand.pullMessageByQueue`: reads `[min, max]`, printing each batch.
async fn pull_range(
    admin: &AdminClient,
    addr: &str,
    mq: &MessageQueue,
    min: i64,
    max: i64,
    out: &mut dyn FnMut(&str),
) {
    let mut offset = min;
    while offset <= max {
        let want = i32::try_from(max - offset + 1)
            .unwrap_or(i32::MAX)
            .clamp(1, 32);
        let pulled = match pull_one_queue(admin, addr, mq, "*", offset, want).await {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                return;
            }
        };
        offset = pulled.next_begin_offset;
        match pulled.status {
            PullStatus::Found => {
                out("Consume ok\n");
                for m in &pulled.messages {
                    out(&message_line(m, &mq.broker_name, true));
                }
            }
            PullStatus::NoMatchedMsg => out(&format!(
                "{} no matched msg. status={}, offset={offset}\n",
                mq_string(mq),
                pulled.status.as_str()
            )),
            PullStatus::NoNewMsg | PullStatus::OffsetIllegal => {
                out(&format!(
                    "{} print msg finished. status={}, offset={offset}\n",
                    mq_string(mq),
                    pulled.status.as_str()
                ));
                return;
            }
        }
    }
}

/// Runs `consumeMessage`: with `-b`/`-i` (and `-o`) one queue, else every readable queue of
/// the topic until `count` messages were read.
pub async fn consume_message(
    admin: &AdminClient,
    opts: &ConsumeMessageOptions,
    out: &mut dyn FnMut(&str),
) -> Result<(), AdminError> {
    let route = admin.topic_route(&opts.topic).await?;
    let bounds = |addr: String, mq: MessageQueue| async move {
        let mut min = min_offset(admin, &addr, &mq).await?;
        let mut max = max_offset(admin, &addr, &mq).await?;
        if let Some(b) = opts.begin.filter(|b| *b > 0) {
            min = search_offset(admin, &addr, &mq, b).await?;
        }
        if let Some(e) = opts.end.filter(|e| *e > 0) {
            max = search_offset(admin, &addr, &mq, e).await?;
        }
        Ok::<_, AdminError>((addr, mq, min, max))
    };
    if let (Some(broker), Some(queue_id)) = (&opts.broker_name, opts.queue_id) {
        let addr = broker_addr(&route, broker).ok_or_else(|| AdminError::NotFound {
            message: format!("The broker[{broker}] not exist"),
        })?;
        let mq = MessageQueue::new(&opts.topic, broker, queue_id);
        let (addr, mq, min, mut max) = bounds(addr, mq).await?;
        let offset = opts.offset.unwrap_or(0);
        if offset > max {
            out(&format!(
                "{} no matched msg, offset={offset}\n",
                mq_string(&mq)
            ));
            return Ok(());
        }
        let min = min.max(offset);
        if max - min > opts.count {
            out(&format!(
                "The oldler {} message will be provided\n",
                opts.count
            ));
            max = min + opts.count - 1;
        }
        pull_range(admin, &addr, &mq, min, max, out).await;
        return Ok(());
    }
    let mut queues = Vec::new();
    for qd in &route.queue_datas {
        if !ferromq_common::perm::is_readable(qd.perm) {
            continue;
        }
        for q in 0..qd.read_queue_nums {
            queues.push(MessageQueue::new(&opts.topic, &qd.broker_name, q));
        }
    }
    let hashes: Vec<i32> = queues.iter().map(mq_hash).collect();
    let mut left = opts.count;
    for i in java_hash_order(&hashes, 16) {
        if left == 0 {
            break;
        }
        let mq = queues[i].clone();
        let Some(addr) = broker_addr(&route, &mq.broker_name) else {
            continue;
        };
        let (addr, mq, min, mut max) = bounds(addr, mq).await?;
        if max - min > left {
            out(&format!(
                "The older {left} message of the {} queue will be provided\n",
                mq.queue_id
            ));
            max = min + left - 1;
            left = 0;
        } else {
            left = (left - (max - min + 1)).max(0);
        }
        pull_range(admin, &addr, &mq, min, max, out).await;
    }
    Ok(())
}
