//! The few remoting calls the load tool makes, built straight on `ferromq_net` and
//! `ferromq_proto` so that the measured path is exactly one request per message (or batch) on a
//! connection that is looked up once, with no client-library policy (retries, route refreshes,
//! compression) in between.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use bytes::{Buf, Bytes};
use ferromq_common::names::AUTO_CREATE_TOPIC;
use ferromq_common::perm;
use ferromq_net::{ConnectionHandle, RemotingClient};
use ferromq_proto::body::{ClusterInfo, JsonBody, KVTable, TopicRouteData};
use ferromq_proto::codes::{request, response};
use ferromq_proto::command::SerializeType;
use ferromq_proto::headers::{
    pull_flag, CreateTopicRequestHeader, GetMaxOffsetRequestHeader, GetRouteInfoRequestHeader,
    OffsetResponseHeader, PullMessageRequestHeader, PullMessageResponseHeader,
    QueryConsumerOffsetRequestHeader, SendMessageRequestHeaderV2, TopicQueueRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};
use ferromq_proto::message::MAGIC_V1;
use ferromq_proto::message::MAGIC_V2;
use ferromq_proto::RemotingCommand;

/// Deadline of the set-up calls (routes, topic creation, offsets).
const SETUP_TIMEOUT: Duration = Duration::from_secs(5);

/// One queue of a topic and the broker that serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueTarget {
    /// Broker name.
    pub broker: String,
    /// Master address `ip:port`.
    pub addr: String,
    /// Queue id.
    pub queue_id: i32,
}

/// Calls to name servers and brokers over one connection pool.
#[derive(Clone)]
pub struct Wire {
    client: RemotingClient,
    namesrv: Arc<Vec<String>>,
    /// Header encoding of every request sent (the response comes back in the same one).
    pub serialize: SerializeType,
    /// `--ak` / `--sk`: every request is signed with them (ACL 1.0 and 2.0 brokers).
    pub credentials: Option<Credentials>,
}

/// An access key and secret key (ACL 2.0: a username and its password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Access key.
    pub access_key: String,
    /// Secret key.
    pub secret_key: String,
}

impl Credentials {
    /// Signs `cmd` (call it once the header and body are final).
    pub fn sign(&self, cmd: &mut RemotingCommand) {
        ferromq_proto::acl::sign(cmd, &self.access_key, &self.secret_key);
    }
}

impl Wire {
    /// Connections to the name servers of `namesrv` (`a:9876;b:9876`).
    pub fn new(namesrv: &str, serialize: SerializeType) -> anyhow::Result<Self> {
        let list: Vec<String> = namesrv
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if list.is_empty() {
            bail!("no name server address given (-n host:9876)");
        }
        Ok(Wire {
            client: RemotingClient::default(),
            namesrv: Arc::new(list),
            serialize,
            credentials: None,
        })
    }

    /// Signs every request with `credentials` (none: unsigned).
    pub fn with_credentials(mut self, credentials: Option<Credentials>) -> Self {
        self.credentials = credentials;
        self
    }

    /// The same connections made with TLS per `tls` (before any is made).
    pub fn with_tls(mut self, tls: Option<ferromq_net::TlsClient>) -> Self {
        self.client = self.client.with_tls(tls);
        self
    }

    /// The live connection to `addr` (made once and then reused).
    pub async fn conn(&self, addr: &str) -> anyhow::Result<ConnectionHandle> {
        self.client
            .connection(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))
    }

    /// Closes every connection (parked long polls are abandoned).
    pub async fn close(&self) {
        self.client.close_all().await;
    }

    fn stamp(&self, mut cmd: RemotingCommand) -> RemotingCommand {
        cmd.serialize_type = self.serialize;
        if let Some(c) = &self.credentials {
            c.sign(&mut cmd);
        }
        cmd
    }

    async fn call(
        &self,
        addr: &str,
        cmd: RemotingCommand,
        timeout: Duration,
    ) -> anyhow::Result<RemotingCommand> {
        let code = cmd.code;
        self.client
            .invoke(addr, self.stamp(cmd), timeout)
            .await
            .with_context(|| format!("request {code} to {addr} failed"))
    }

    async fn call_namesrv(&self, cmd: RemotingCommand) -> anyhow::Result<RemotingCommand> {
        let mut last = None;
        for addr in self.namesrv.iter() {
            match self.call(addr, cmd.clone(), SETUP_TIMEOUT).await {
                Ok(r) => return Ok(r),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("no name server")))
    }

    /// The route of `topic`; `None` when no name server knows it.
    pub async fn route(&self, topic: &str) -> anyhow::Result<Option<TopicRouteData>> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_owned(),
            accept_standard_json_only: None,
        };
        let resp = self
            .call_namesrv(RemotingCommand::request(
                request::GET_ROUTEINFO_BY_TOPIC,
                &header,
            ))
            .await?;
        match resp.code {
            response::SUCCESS => Ok(Some(
                TopicRouteData::from_json(&resp.body).context("malformed route body")?,
            )),
            response::TOPIC_NOT_EXIST => Ok(None),
            code => bail!("route of {topic}: {}", describe(code, &resp)),
        }
    }

    /// The route of `topic`, creating the topic with `queues` read and write queues on every
    /// master broker of the cluster when it does not exist yet.
    pub async fn ensure_topic(&self, topic: &str, queues: i32) -> anyhow::Result<TopicRouteData> {
        if let Some(route) = self.route(topic).await? {
            if !route.queue_datas.is_empty() {
                return Ok(route);
            }
        }
        let resp = self
            .call_namesrv(RemotingCommand::bare_request(
                request::GET_BROKER_CLUSTER_INFO,
            ))
            .await?;
        if resp.code != response::SUCCESS {
            bail!("cluster info: {}", describe(resp.code, &resp));
        }
        let info = ClusterInfo::from_json(&resp.body).context("malformed cluster info")?;
        let masters: Vec<String> = info
            .broker_addr_table
            .values()
            .filter_map(|b| b.master_addr().map(str::to_owned))
            .collect();
        if masters.is_empty() {
            bail!("no master broker is registered with the name server");
        }
        for addr in &masters {
            let header = CreateTopicRequestHeader {
                topic: topic.to_owned(),
                default_topic: AUTO_CREATE_TOPIC.to_owned(),
                read_queue_nums: queues,
                write_queue_nums: queues,
                perm: perm::READ_WRITE,
                topic_filter_type: "SINGLE_TAG".to_owned(),
                topic_sys_flag: Some(0),
                order: false,
                attributes: None,
                force: None,
            };
            let resp = self
                .call(
                    addr,
                    RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC, &header),
                    SETUP_TIMEOUT,
                )
                .await?;
            if resp.code != response::SUCCESS {
                bail!(
                    "creating topic {topic} on {addr}: {}",
                    describe(resp.code, &resp)
                );
            }
        }
        // The brokers register the new topic with the name servers right away; wait for it.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(route) = self.route(topic).await? {
                if !route.queue_datas.is_empty() {
                    return Ok(route);
                }
            }
            if Instant::now() > deadline {
                bail!("topic {topic} was created but never showed up in the name server's route");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The broker's runtime statistics (GET_BROKER_RUNTIME_INFO, RocketMQ's `KVTable`).
    pub async fn runtime_info(&self, addr: &str) -> anyhow::Result<BTreeMap<String, String>> {
        let cmd = RemotingCommand::bare_request(request::GET_BROKER_RUNTIME_INFO);
        let resp = self.call(addr, cmd, SETUP_TIMEOUT).await?;
        if resp.code != response::SUCCESS {
            bail!("runtime info of {addr}: {}", describe(resp.code, &resp));
        }
        Ok(KVTable::from_json(&resp.body)
            .context("malformed runtime info")?
            .table)
    }

    /// A queue's offset from GET_MAX_OFFSET (30) or GET_MIN_OFFSET (31).
    pub async fn queue_offset(
        &self,
        q: &QueueTarget,
        topic: &str,
        max: bool,
    ) -> anyhow::Result<i64> {
        let cmd = if max {
            RemotingCommand::request(
                request::GET_MAX_OFFSET,
                &GetMaxOffsetRequestHeader {
                    topic: topic.to_owned(),
                    queue_id: q.queue_id,
                    committed: None,
                },
            )
        } else {
            RemotingCommand::request(
                request::GET_MIN_OFFSET,
                &TopicQueueRequestHeader {
                    topic: topic.to_owned(),
                    queue_id: q.queue_id,
                },
            )
        };
        let resp = self.call(&q.addr, cmd, SETUP_TIMEOUT).await?;
        if resp.code != response::SUCCESS {
            bail!("queue offset: {}", describe(resp.code, &resp));
        }
        Ok(resp.decode_header::<OffsetResponseHeader>()?.offset)
    }

    /// The offset `group` committed for a queue; `None` when it has none.
    pub async fn committed_offset(
        &self,
        q: &QueueTarget,
        topic: &str,
        group: &str,
    ) -> anyhow::Result<Option<i64>> {
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.to_owned(),
            queue_id: q.queue_id,
            set_zero_if_not_found: Some(false),
        };
        let resp = self
            .call(
                &q.addr,
                RemotingCommand::request(request::QUERY_CONSUMER_OFFSET, &header),
                SETUP_TIMEOUT,
            )
            .await?;
        match resp.code {
            response::SUCCESS => Ok(Some(resp.decode_header::<OffsetResponseHeader>()?.offset)),
            response::QUERY_NOT_FOUND => Ok(None),
            code => bail!("committed offset: {}", describe(code, &resp)),
        }
    }

    /// Commits `offset` for `group` on a queue.
    pub async fn commit_offset(
        &self,
        q: &QueueTarget,
        topic: &str,
        group: &str,
        offset: i64,
    ) -> anyhow::Result<()> {
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.to_owned(),
            queue_id: q.queue_id,
            commit_offset: offset,
        };
        let resp = self
            .call(
                &q.addr,
                RemotingCommand::request(request::UPDATE_CONSUMER_OFFSET, &header),
                SETUP_TIMEOUT,
            )
            .await?;
        if resp.code != response::SUCCESS {
            bail!("commit offset: {}", describe(resp.code, &resp));
        }
        Ok(())
    }

    /// A PULL_MESSAGE request for up to `max` messages from `offset`; `suspend` lets the broker
    /// hold it (long polling) for up to `suspend_ms` when nothing is there.
    #[allow(clippy::too_many_arguments)] // one per header field the tool varies
    pub fn pull_request(
        &self,
        q: &QueueTarget,
        topic: &str,
        group: &str,
        offset: i64,
        max: i32,
        suspend_ms: Option<i64>,
        sql: Option<&str>,
    ) -> RemotingCommand {
        let mut flags = pull_flag::SUBSCRIPTION;
        if suspend_ms.is_some() {
            flags |= pull_flag::SUSPEND;
        }
        let header = PullMessageRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.to_owned(),
            queue_id: q.queue_id,
            queue_offset: offset,
            max_msg_nums: max,
            sys_flag: flags,
            commit_offset: 0,
            suspend_timeout_millis: suspend_ms.unwrap_or(0),
            subscription: Some(sql.unwrap_or("*").to_owned()),
            sub_version: 0,
            expression_type: Some(if sql.is_some() { "SQL92" } else { "TAG" }.to_owned()),
            max_msg_bytes: None,
        };
        self.stamp(RemotingCommand::request(request::PULL_MESSAGE, &header))
    }
}

/// The writable queues of masters in `route`, sorted by broker then queue id.
pub fn write_queues(route: &TopicRouteData) -> Vec<QueueTarget> {
    queues(route, true)
}

/// The readable queues of masters in `route`, sorted by broker then queue id.
pub fn read_queues(route: &TopicRouteData) -> Vec<QueueTarget> {
    queues(route, false)
}

fn queues(route: &TopicRouteData, write: bool) -> Vec<QueueTarget> {
    let mut out = Vec::new();
    for qd in &route.queue_datas {
        let (ok, n) = if write {
            (perm::is_writeable(qd.perm), qd.write_queue_nums)
        } else {
            (perm::is_readable(qd.perm), qd.read_queue_nums)
        };
        if !ok {
            continue;
        }
        let addr = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == qd.broker_name)
            .and_then(|b| b.master_addr());
        if let Some(addr) = addr {
            out.extend((0..n).map(|queue_id| QueueTarget {
                broker: qd.broker_name.clone(),
                addr: addr.to_owned(),
                queue_id,
            }));
        }
    }
    out.sort_by(|a, b| (&a.broker, a.queue_id).cmp(&(&b.broker, b.queue_id)));
    out
}

/// Everything of a SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE request that does not change between
/// messages.
#[derive(Debug, Clone)]
pub struct SendTemplate {
    /// Producer group.
    pub group: String,
    /// Topic.
    pub topic: String,
    /// Header encoding.
    pub serialize: SerializeType,
    /// Signs each request when set.
    pub credentials: Option<Credentials>,
}

impl SendTemplate {
    /// A request carrying `body` (one message, or a batch body when `batch`) with `properties`.
    pub fn request(
        &self,
        q: &QueueTarget,
        body: Bytes,
        properties: String,
        batch: bool,
    ) -> RemotingCommand {
        let header = SendMessageRequestHeaderV2 {
            a: self.group.as_str().into(),
            b: self.topic.as_str().into(),
            c: AUTO_CREATE_TOPIC.into(),
            d: 4,
            e: q.queue_id,
            f: 0,
            g: ferromq_common::now_millis(),
            h: 0,
            i: Some(properties),
            j: Some(0),
            k: Some(false),
            l: None,
            m: Some(batch),
            n: Some(q.broker.as_str().into()),
        };
        let code = if batch {
            request::SEND_BATCH_MESSAGE
        } else {
            request::SEND_MESSAGE_V2
        };
        let mut cmd = RemotingCommand::request(code, &header).with_body(body);
        cmd.serialize_type = self.serialize;
        if let Some(c) = &self.credentials {
            c.sign(&mut cmd);
        }
        cmd
    }
}

/// The response code and remark of a failed call, for messages.
pub fn describe(code: i32, resp: &RemotingCommand) -> String {
    format!(
        "code {code} ({})",
        resp.remark.as_deref().unwrap_or("no remark")
    )
}

/// What one pull brought back.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pulled {
    /// Response code (SUCCESS when messages came).
    pub code: i32,
    /// Where to pull next.
    pub next_offset: i64,
    /// Messages in the body.
    pub messages: u64,
    /// Body bytes.
    pub bytes: u64,
}

/// Reads a pull response: its code, next offset, and the records in its body, calling `each`
/// with every record's body. Errors for a malformed header or body.
pub fn read_pull(resp: &RemotingCommand, mut each: impl FnMut(&[u8])) -> anyhow::Result<Pulled> {
    let code = resp.code;
    match code {
        response::SUCCESS
        | response::PULL_NOT_FOUND
        | response::PULL_RETRY_IMMEDIATELY
        | response::PULL_OFFSET_MOVED => {}
        _ => bail!("pull failed: {}", describe(code, resp)),
    }
    let header: PullMessageResponseHeader = resp.decode_header()?;
    let mut pulled = Pulled {
        code,
        next_offset: header.next_begin_offset,
        ..Pulled::default()
    };
    if code != response::SUCCESS {
        return Ok(pulled);
    }
    let mut buf: &[u8] = &resp.body;
    pulled.bytes = buf.len() as u64;
    while !buf.is_empty() {
        let (size, body) = record_body(buf)?;
        each(body);
        pulled.messages += 1;
        buf.advance(size);
    }
    Ok(pulled)
}

/// The size and body of the record at the front of `buf` (`wire-protocol.md` 3.5), without
/// decoding the rest of it.
fn record_body(buf: &[u8]) -> anyhow::Result<(usize, &[u8])> {
    let word = |at: usize| -> anyhow::Result<i32> {
        buf.get(at..at + 4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| anyhow!("truncated record"))
    };
    let size = usize::try_from(word(0)?).map_err(|_| anyhow!("negative record size"))?;
    let magic = word(4)?;
    if (magic != MAGIC_V1 && magic != MAGIC_V2) || size > buf.len() {
        bail!("malformed record (magic {magic:#x}, size {size})");
    }
    let sys_flag = word(36)?;
    let born_host = ferromq_proto::message::sys_flag::born_host_len(sys_flag);
    let store_host = ferromq_proto::message::sys_flag::store_host_len(sys_flag);
    // TOTAL..SYSFLAG (40), BORNTIMESTAMP 8, born host, STORETIMESTAMP 8, store host,
    // RECONSUMETIMES 4, PREPARED 8, then BODYLEN.
    let at = 40 + 8 + born_host + 8 + store_host + 4 + 8;
    let len = usize::try_from(word(at)?).map_err(|_| anyhow!("negative body length"))?;
    let body = buf
        .get(at + 4..at + 4 + len)
        .filter(|_| at + 4 + len <= size)
        .ok_or_else(|| anyhow!("truncated record body"))?;
    Ok((size, body))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use ferromq_proto::message::{encode_record_to, RecordInput};

    use super::*;

    #[test]
    fn record_body_finds_the_body_of_v4_and_v6_records() {
        let v4: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let v6: SocketAddr = "[::1]:10911".parse().unwrap();
        for (born, store) in [(v4, v4), (v6, v4), (v4, v6)] {
            let input = RecordInput {
                topic: "T",
                queue_id: 1,
                flag: 0,
                queue_offset: 3,
                physical_offset: 100,
                sys_flag: 0,
                born_timestamp: 1,
                born_host: born,
                store_timestamp: 2,
                store_host: store,
                reconsume_times: 0,
                prepared_transaction_offset: 0,
                body: b"hello body",
                properties: "TAGS\u{1}a\u{2}",
                body_crc: None,
            };
            let mut buf = bytes::BytesMut::new();
            encode_record_to(&mut buf, &input).unwrap();
            let (size, body) = record_body(&buf).unwrap();
            assert_eq!(size, buf.len());
            assert_eq!(body, b"hello body");
            for cut in 0..buf.len() {
                assert!(record_body(&buf[..cut]).is_err(), "cut at {cut}");
            }
        }
    }
}
