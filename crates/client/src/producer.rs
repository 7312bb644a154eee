//! `Producer`: synchronous sends with RocketMQ's queue selection and retries
//! (Java `DefaultMQProducerImpl.sendDefaultImpl`).
//!
//! ```text
//! send(msg) ─▶ route cache ─▶ PublishInfo.select(last broker) ─▶ SEND_MESSAGE_V2 (310) to the master
//!                  ▲                                                  │ retry codes / transport error
//!                  └── TBW102 route when the topic is unknown          ▼
//!                                                          next queue on another broker
//! ```

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferromq_common::names::{self, AUTO_CREATE_TOPIC};
use ferromq_common::now_millis;
use ferromq_proto::body::MessageQueue;
use ferromq_proto::codes::request;
use ferromq_proto::headers::SendMessageRequestHeaderV2;
use ferromq_proto::message::properties::{self as keys, Properties};
use ferromq_proto::message::{encode_batch_item, sys_flag, UniqKeyGenerator};
use ferromq_proto::RemotingCommand;

use crate::message::{is_retriable, send_result_from_response, DEFAULT_MAX_MESSAGE_SIZE};
use crate::route::{PublishInfo, RouteCache, DEFAULT_TOPIC_QUEUE_NUMS};
use crate::rpc::Rpc;
use crate::{client_id, ClientError, Message, NameServerList, SendResult};

/// Java's default send timeout.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(3);
/// Java's default number of retries of a synchronous send.
pub const DEFAULT_RETRY_TIMES: u32 = 2;
/// Bodies at least this long are zlib-compressed (Java `compressMsgBodyOverHowmuch`).
pub const DEFAULT_COMPRESS_OVER: usize = 4096;
/// zlib level Java uses.
const COMPRESS_LEVEL: u32 = 5;
/// sysFlag of a zlib-compressed body: COMPRESSED | ZLIB type (3 << 8).
const ZLIB_SYS_FLAG: i32 = sys_flag::COMPRESSED | (3 << sys_flag::COMPRESSION_TYPE_SHIFT);

/// Settings of a [`Producer`].
#[derive(Debug, Clone)]
pub struct ProducerBuilder {
    group: String,
    namesrv: Option<String>,
    send_timeout: Duration,
    retry_times: u32,
    compress_over: usize,
    max_message_size: usize,
}

impl ProducerBuilder {
    /// Name-server list (`a:9876;b:9876`); `NAMESRV_ADDR` when not set.
    pub fn namesrv_addr(mut self, addr: impl Into<String>) -> Self {
        self.namesrv = Some(addr.into());
        self
    }

    /// Deadline of one send, retries included (default 3 s).
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// Retries after a failed attempt (default 2, so 3 attempts).
    pub fn retry_times(mut self, times: u32) -> Self {
        self.retry_times = times;
        self
    }

    /// Compress bodies of at least this many bytes (default 4096); `usize::MAX` disables it.
    pub fn compress_over(mut self, bytes: usize) -> Self {
        self.compress_over = bytes;
        self
    }

    /// Largest body accepted (default 4 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Builds the producer. Fails on an invalid group name or when no name server is known.
    pub fn build(self) -> Result<Producer, ClientError> {
        names::validate_group(&self.group)?;
        let namesrv = NameServerList::resolve(self.namesrv.as_deref())?;
        let ip = client_id::local_ip_for(&namesrv.addrs()[0]);
        let rpc = Rpc::new(namesrv, self.send_timeout);
        Ok(Producer {
            inner: Arc::new(Inner {
                routes: RouteCache::new(rpc.clone()),
                rpc,
                uniq: UniqKeyGenerator::new(ip),
                cfg: self,
            }),
        })
    }
}

struct Inner {
    cfg: ProducerBuilder,
    rpc: Rpc,
    routes: RouteCache,
    uniq: UniqKeyGenerator,
}

/// A message producer; cheap to clone, safe to share between tasks.
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

/// A message ready for the wire: properties string, body, flags.
struct Encoded {
    topic: String,
    body: Bytes,
    properties: String,
    sys_flag: i32,
    flag: i32,
    batch: bool,
    msg_id: String,
}

impl Producer {
    /// Settings for a producer of `group`, with Java's defaults.
    pub fn builder(group: impl Into<String>) -> ProducerBuilder {
        ProducerBuilder {
            group: group.into(),
            namesrv: None,
            send_timeout: DEFAULT_SEND_TIMEOUT,
            retry_times: DEFAULT_RETRY_TIMES,
            compress_over: DEFAULT_COMPRESS_OVER,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }

    /// The producer group.
    pub fn group(&self) -> &str {
        &self.inner.cfg.group
    }

    /// The queues `send` chooses from for `topic`.
    pub async fn publish_queues(&self, topic: &str) -> Result<Vec<MessageQueue>, ClientError> {
        Ok(self.inner.routes.publish_info(topic).await?.queues.clone())
    }

    /// Sends `msg` to a queue chosen round robin, retrying on another broker's queue after a
    /// retriable failure (see [`crate::message::RETRY_RESPONSE_CODES`]).
    ///
    /// Returns the result of the first stored attempt; the error of a non-retriable failure at
    /// once; [`ClientError::SendFailed`] when every attempt failed or the deadline passed.
    pub async fn send(&self, msg: Message) -> Result<SendResult, ClientError> {
        msg.validate(self.inner.cfg.max_message_size)?;
        let encoded = self.encode(&msg)?;
        self.send_with_retries(encoded).await
    }

    /// Sends `msg` to `queue` exactly once (Java `send(msg, mq)`: no retry).
    pub async fn send_to_queue(
        &self,
        msg: Message,
        queue: &MessageQueue,
    ) -> Result<SendResult, ClientError> {
        msg.validate(self.inner.cfg.max_message_size)?;
        if queue.topic != msg.topic {
            return Err(ClientError::InvalidArgument {
                reason: format!(
                    "message's topic [{}] is not equal with message queue's topic [{}]",
                    msg.topic, queue.topic
                ),
            });
        }
        let encoded = self.encode(&msg)?;
        self.send_once(&encoded, queue, self.inner.cfg.send_timeout)
            .await
    }

    /// Sends `msgs` as one SEND_BATCH_MESSAGE (320), stored as consecutive records of one queue.
    ///
    /// All messages must share a topic, which may not be a retry topic, and none may be delayed
    /// (Java `MessageBatch.generateFromList`). The result's `msg_id` lists the messages' ids.
    pub async fn send_batch(&self, msgs: Vec<Message>) -> Result<SendResult, ClientError> {
        let encoded = self.encode_batch(&msgs)?;
        self.send_with_retries(encoded).await
    }

    fn encode(&self, msg: &Message) -> Result<Encoded, ClientError> {
        let msg_id = self.inner.uniq.next_id();
        let properties = msg.wire_properties(&msg_id).encode();
        let (body, sys_flag) = if msg.body.len() >= self.inner.cfg.compress_over {
            (compress(&msg.body)?, ZLIB_SYS_FLAG)
        } else {
            (msg.body.clone(), 0)
        };
        Ok(Encoded {
            topic: msg.topic.clone(),
            body,
            properties,
            sys_flag,
            flag: msg.flag,
            batch: false,
            msg_id,
        })
    }

    fn encode_batch(&self, msgs: &[Message]) -> Result<Encoded, ClientError> {
        let invalid = |reason: &str| ClientError::InvalidArgument {
            reason: reason.to_owned(),
        };
        let first = msgs.first().ok_or_else(|| invalid("the batch is empty"))?;
        let topic = first.topic.clone();
        if names::is_retry_topic(&topic) {
            return Err(invalid("Retry Group is not supported for batching"));
        }
        let mut body = BytesMut::new();
        let mut ids = Vec::with_capacity(msgs.len());
        for m in msgs {
            m.validate(self.inner.cfg.max_message_size)?;
            if m.topic != topic {
                return Err(invalid(
                    "The topic of the messages in one batch should be the same",
                ));
            }
            if m.properties
                .get(keys::DELAY)
                .is_some_and(|d| d.trim().parse::<i32>().unwrap_or(0) > 0)
            {
                return Err(invalid("TimeDelayLevel is not supported for batching"));
            }
            let id = self.inner.uniq.next_id();
            encode_batch_item(&mut body, m.flag, &m.body, &m.wire_properties(&id).encode())
                .map_err(|e| invalid(&e.to_string()))?;
            ids.push(id);
        }
        if body.len() > self.inner.cfg.max_message_size {
            return Err(ClientError::InvalidArgument {
                reason: format!(
                    "the message body size over max value, MAX: {}",
                    self.inner.cfg.max_message_size
                ),
            });
        }
        let mut batch_props = Properties::new();
        batch_props.insert(keys::WAIT, "true");
        batch_props.insert(keys::UNIQ_KEY, self.inner.uniq.next_id());
        Ok(Encoded {
            topic,
            body: body.freeze(),
            properties: batch_props.encode(),
            sys_flag: 0,
            flag: 0,
            batch: true,
            msg_id: ids.join(","),
        })
    }

    async fn send_with_retries(&self, encoded: Encoded) -> Result<SendResult, ClientError> {
        let cfg = &self.inner.cfg;
        let start = Instant::now();
        let info = self.inner.routes.publish_info(&encoded.topic).await?;
        let attempts = cfg.retry_times + 1;
        let mut last_broker: Option<String> = None;
        let mut last_error = None;
        let mut made = 0;
        for _ in 0..attempts {
            let Some(remaining) = cfg
                .send_timeout
                .checked_sub(start.elapsed())
                .filter(|d| !d.is_zero())
            else {
                break;
            };
            let queue = pick_queue(&info, last_broker.as_deref())?;
            made += 1;
            match self.send_once(&encoded, &queue, remaining).await {
                Ok(result) => return Ok(result),
                Err(e) if is_retriable(&e) => {
                    tracing::debug!(topic = %encoded.topic, broker = %queue.broker_name, error = %e, "send attempt failed, retrying");
                    last_broker = Some(queue.broker_name);
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        let source = last_error.unwrap_or(ClientError::InvalidArgument {
            reason: format!("send timed out after {:?}", cfg.send_timeout),
        });
        if info.from_default_topic || matches!(source, ClientError::Broker { code: 17, .. }) {
            self.inner.routes.invalidate(&encoded.topic);
        }
        Err(ClientError::SendFailed {
            topic: encoded.topic,
            attempts: made,
            source: Box::new(source),
        })
    }

    async fn send_once(
        &self,
        m: &Encoded,
        queue: &MessageQueue,
        timeout: Duration,
    ) -> Result<SendResult, ClientError> {
        let addr = self
            .inner
            .routes
            .broker_addr(&m.topic, &queue.broker_name, true)
            .await?;
        let header = SendMessageRequestHeaderV2 {
            a: self.inner.cfg.group.clone(),
            b: m.topic.clone(),
            c: AUTO_CREATE_TOPIC.to_owned(),
            d: DEFAULT_TOPIC_QUEUE_NUMS,
            e: queue.queue_id,
            f: m.sys_flag,
            g: now_millis(),
            h: m.flag,
            i: Some(m.properties.clone()),
            j: Some(0),
            k: Some(false),
            l: None,
            m: Some(m.batch),
            n: Some(queue.broker_name.clone()),
        };
        let code = if m.batch {
            request::SEND_BATCH_MESSAGE
        } else {
            request::SEND_MESSAGE_V2
        };
        let cmd = RemotingCommand::request(code, &header).with_body(m.body.clone());
        let resp = self.inner.rpc.call_timeout(&addr, cmd, timeout).await?;
        send_result_from_response(&resp, &m.topic, &queue.broker_name, m.msg_id.clone())
    }
}

fn pick_queue(info: &PublishInfo, last_broker: Option<&str>) -> Result<MessageQueue, ClientError> {
    info.select(last_broker)
        .cloned()
        .ok_or_else(|| ClientError::NoRoute {
            topic: info.topic.clone(),
            reason: "no writable queue on a master broker",
        })
}

/// zlib at Java's level 5 (`Deflater` + zlib wrapper).
fn compress(body: &[u8]) -> Result<Bytes, ClientError> {
    let mut enc = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(body.len() / 2),
        flate2::Compression::new(COMPRESS_LEVEL),
    );
    enc.write_all(body)
        .and_then(|()| enc.finish())
        .map(Bytes::from)
        .map_err(|e| ClientError::InvalidArgument {
            reason: format!("compressing the body failed: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use ferromq_proto::message::decode_batch;

    use super::*;

    fn producer() -> Producer {
        Producer::builder("pg")
            .namesrv_addr("127.0.0.1:1")
            .build()
            .unwrap()
    }

    #[test]
    fn builder_has_java_defaults_and_checks_the_group() {
        let b = Producer::builder("pg");
        assert_eq!(b.send_timeout, Duration::from_secs(3));
        assert_eq!(b.retry_times, 2);
        assert!(matches!(
            Producer::builder("bad group").namesrv_addr("h:1").build(),
            Err(ClientError::Name { .. })
        ));
    }

    #[test]
    fn large_bodies_are_zlib_compressed() {
        let p = producer();
        let body = vec![b'a'; 5000];
        let e = p.encode(&Message::new("T", body.clone())).unwrap();
        assert_eq!(e.sys_flag, 0x301);
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&e.body[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
        let small = p.encode(&Message::new("T", "hi")).unwrap();
        assert_eq!((small.sys_flag, &small.body[..]), (0, &b"hi"[..]));
        assert!(small.properties.contains("UNIQ_KEY\u{1}"));
        assert_eq!(small.msg_id.len(), 32);
    }

    #[test]
    fn batch_encoding_gives_each_message_its_own_id() {
        let p = producer();
        let e = p
            .encode_batch(&[
                Message::new("T", "a").with_tags("x"),
                Message::new("T", "bb"),
            ])
            .unwrap();
        assert!(e.batch);
        let items = decode_batch(&e.body).unwrap();
        assert_eq!(items.len(), 2);
        let ids: Vec<&str> = e.msg_id.split(',').collect();
        assert_eq!(ids.len(), 2);
        for (item, id) in items.iter().zip(&ids) {
            assert!(item.properties.contains(&format!("UNIQ_KEY\u{1}{id}\u{2}")));
        }
        assert_eq!(&items[1].body[..], b"bb");
        assert!(e.properties.starts_with("WAIT\u{1}true\u{2}UNIQ_KEY\u{1}"));
    }

    #[test]
    fn batch_rules() {
        let p = producer();
        assert!(p.encode_batch(&[]).is_err());
        assert!(p
            .encode_batch(&[Message::new("A", "x"), Message::new("B", "x")])
            .is_err());
        assert!(p
            .encode_batch(&[Message::new("A", "x").with_delay_level(3)])
            .is_err());
        assert!(p.encode_batch(&[Message::new("%RETRY%g", "x")]).is_err());
    }

    #[tokio::test]
    async fn send_to_queue_checks_the_topic() {
        let p = producer();
        let err = p
            .send_to_queue(Message::new("A", "x"), &MessageQueue::new("B", "b", 0))
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::InvalidArgument { .. }));
    }
}
