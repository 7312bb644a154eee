//! The client against scripted name-server/broker stand-ins on loopback: real frames, real
//! sockets, no FerroMQ broker needed.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use ferromq_client::{
    AdminClient, ClientError, Message, MessageQueue, Producer, PullConsumer, PullStatus, SendStatus,
};
use ferromq_net::{serve, BoxFuture, ConnectionConfig, ConnectionHandle, Handler};
use ferromq_proto::body::{
    BrokerData, ClusterInfo, HeartbeatData, JsonBody, QueueData, TopicRouteData,
};
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::{
    GetRouteInfoRequestHeader, OffsetResponseHeader, PullMessageRequestHeader,
    PullMessageResponseHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use ferromq_proto::message::{decode_batch, encode_record_to, property_value, RecordInput};
use ferromq_proto::{CommandHeader, RemotingCommand};
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A scripted peer: answers name-server codes from `routes` and broker codes from the scripts.
#[derive(Default)]
struct Mock {
    broker_name: String,
    routes: Mutex<HashMap<String, TopicRouteData>>,
    /// Codes the next sends answer with (SUCCESS when empty).
    send_codes: Mutex<VecDeque<i32>>,
    /// Every request received.
    seen: Mutex<Vec<RemotingCommand>>,
}

impl Handler for Mock {
    fn handle(
        &self,
        _conn: ConnectionHandle,
        req: RemotingCommand,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        self.seen.lock().push(req.clone());
        let resp = self.answer(&req);
        Box::pin(async move { Some(resp) })
    }
}

impl Mock {
    fn answer(&self, req: &RemotingCommand) -> RemotingCommand {
        match req.code {
            request::GET_ROUTEINFO_BY_TOPIC => {
                let h = GetRouteInfoRequestHeader::read(&req.ext_fields).unwrap();
                match self.routes.lock().get(&h.topic) {
                    Some(r) => req.success_to().with_body(r.to_json()),
                    None => req.response_to(
                        response::TOPIC_NOT_EXIST,
                        Some(format!(
                            "No topic route info in name server for the topic: {}",
                            h.topic
                        )),
                    ),
                }
            }
            request::GET_BROKER_CLUSTER_INFO => {
                req.success_to().with_body(ClusterInfo::default().to_json())
            }
            request::SEND_MESSAGE_V2 | request::SEND_BATCH_MESSAGE => {
                let h = SendMessageRequestHeaderV2::read(&req.ext_fields).unwrap();
                let code = self
                    .send_codes
                    .lock()
                    .pop_front()
                    .unwrap_or(response::SUCCESS);
                if ![0, 10, 11, 12].contains(&code) {
                    return req.response_to(
                        code,
                        Some(format!("scripted failure on {}", self.broker_name)),
                    );
                }
                let header = SendMessageResponseHeader {
                    msg_id: "7F00000100002A9F0000000000000000".into(),
                    queue_id: h.e,
                    queue_offset: 7,
                    transaction_id: h
                        .i
                        .as_deref()
                        .and_then(|p| property_value(p, "UNIQ_KEY"))
                        .map(str::to_owned),
                    batch_uniq_id: None,
                    recall_handle: None,
                };
                req.response_to(code, None).with_header(&header)
            }
            request::PULL_MESSAGE => {
                let h = PullMessageRequestHeader::read(&req.ext_fields).unwrap();
                let header = PullMessageResponseHeader {
                    next_begin_offset: h.queue_offset + 2,
                    min_offset: 0,
                    max_offset: 10,
                    ..Default::default()
                };
                if h.queue_offset >= 10 {
                    return req
                        .response_to(response::PULL_NOT_FOUND, Some("OFFSET_OVERFLOW_ONE".into()))
                        .with_header(&header);
                }
                let mut body = BytesMut::new();
                for (i, tag) in ["TagA", "TagB"].iter().enumerate() {
                    let props = format!("TAGS\u{1}{tag}\u{2}UNIQ_KEY\u{1}ID{i}\u{2}");
                    let input = RecordInput {
                        topic: &h.topic,
                        queue_id: h.queue_id,
                        flag: 0,
                        queue_offset: h.queue_offset + i as i64,
                        physical_offset: 1000 + i as i64,
                        sys_flag: 0,
                        born_timestamp: 1,
                        born_host: "127.0.0.1:5000".parse().unwrap(),
                        store_timestamp: 2,
                        store_host: "127.0.0.1:10911".parse().unwrap(),
                        reconsume_times: 0,
                        prepared_transaction_offset: 0,
                        body: b"payload",
                        properties: &props,
                        body_crc: None,
                    };
                    encode_record_to(&mut body, &input).unwrap();
                }
                req.success_to()
                    .with_header(&header)
                    .with_body(body.freeze())
            }
            request::QUERY_CONSUMER_OFFSET => {
                req.response_to(response::QUERY_NOT_FOUND, Some("Not found".into()))
            }
            request::GET_MAX_OFFSET => req
                .success_to()
                .with_header(&OffsetResponseHeader { offset: 10 }),
            request::HEART_BEAT | request::UPDATE_CONSUMER_OFFSET | request::UNREGISTER_CLIENT => {
                req.success_to()
            }
            other => req.response_to(
                response::REQUEST_CODE_NOT_SUPPORTED,
                Some(format!(" request type {other} not supported")),
            ),
        }
    }

    fn codes_seen(&self) -> Vec<i32> {
        self.seen.lock().iter().map(|r| r.code).collect()
    }
}

async fn start(broker_name: &str) -> (String, Arc<Mock>, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mock = Arc::new(Mock {
        broker_name: broker_name.into(),
        ..Default::default()
    });
    let stop = CancellationToken::new();
    tokio::spawn(serve(
        listener,
        mock.clone(),
        ConnectionConfig::default(),
        stop.clone(),
    ));
    (addr, mock, stop)
}

fn route(brokers: &[(&str, &str)], queues: i32) -> TopicRouteData {
    TopicRouteData {
        broker_datas: brokers
            .iter()
            .map(|(name, addr)| BrokerData {
                broker_addrs: BTreeMap::from([(0, addr.to_string())]),
                broker_name: name.to_string(),
                cluster: "DefaultCluster".into(),
                ..Default::default()
            })
            .collect(),
        queue_datas: brokers
            .iter()
            .map(|(name, _)| QueueData {
                broker_name: name.to_string(),
                perm: 6,
                read_queue_nums: queues,
                write_queue_nums: queues,
                topic_sys_flag: 0,
            })
            .collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn send_reaches_the_master_with_v2_header_and_uniq_key() {
    let (addr, mock, stop) = start("broker-a").await;
    mock.routes
        .lock()
        .insert("T".into(), route(&[("broker-a", &addr)], 4));
    let producer = Producer::builder("pg")
        .namesrv_addr(addr.clone())
        .build()
        .unwrap();

    let result = producer
        .send(Message::new("T", "hello").with_tags("TagA").with_key("k1"))
        .await
        .unwrap();
    assert_eq!(result.status, SendStatus::SendOk);
    assert_eq!(result.queue.broker_name, "broker-a");
    assert_eq!(result.queue_offset, 7);
    assert_eq!(
        result.transaction_id.as_deref(),
        Some(result.msg_id.as_str())
    );
    assert_eq!(result.msg_id.len(), 32);

    let sends: Vec<RemotingCommand> = mock
        .seen
        .lock()
        .iter()
        .filter(|r| r.code == request::SEND_MESSAGE_V2)
        .cloned()
        .collect();
    assert_eq!(sends.len(), 1);
    let h = SendMessageRequestHeaderV2::read(&sends[0].ext_fields).unwrap();
    assert_eq!(
        (h.a.as_str(), h.b.as_str(), h.c.as_str(), h.d),
        ("pg", "T", "TBW102", 4)
    );
    let props = h.i.unwrap();
    assert_eq!(property_value(&props, "TAGS"), Some("TagA"));
    assert_eq!(property_value(&props, "KEYS"), Some("k1"));
    assert_eq!(
        property_value(&props, "UNIQ_KEY"),
        Some(result.msg_id.as_str())
    );
    assert_eq!(&sends[0].body[..], b"hello");

    // Queues rotate round robin across sends.
    let mut queues = vec![result.queue.queue_id];
    for _ in 0..3 {
        queues.push(
            producer
                .send(Message::new("T", "x"))
                .await
                .unwrap()
                .queue
                .queue_id,
        );
    }
    queues.sort();
    assert_eq!(queues, [0, 1, 2, 3]);
    stop.cancel();
}

#[tokio::test]
async fn retriable_failure_moves_to_another_broker() {
    let (ns, ns_mock, stop_ns) = start("ns").await;
    let (a, mock_a, stop_a) = start("broker-a").await;
    let (b, mock_b, stop_b) = start("broker-b").await;
    ns_mock
        .routes
        .lock()
        .insert("T".into(), route(&[("broker-a", &a), ("broker-b", &b)], 1));
    mock_a.send_codes.lock().extend([response::SYSTEM_BUSY; 8]);
    mock_b.send_codes.lock().extend([response::SYSTEM_BUSY; 8]);
    let producer = Producer::builder("pg").namesrv_addr(ns).build().unwrap();

    // Both fail: three attempts alternating brokers, then SendFailed carrying the last error.
    let err = producer.send(Message::new("T", "x")).await.unwrap_err();
    match &err {
        ClientError::SendFailed {
            attempts, source, ..
        } => {
            assert_eq!(*attempts, 3);
            assert_eq!(source.response_code(), Some(response::SYSTEM_BUSY));
        }
        other => panic!("unexpected {other:?}"),
    }
    let tried = mock_a.codes_seen().len() + mock_b.codes_seen().len();
    assert_eq!(tried, 3);

    // Now only broker-a keeps failing: whichever comes first, the send ends on broker-b.
    mock_b.send_codes.lock().clear();
    let ok = producer.send(Message::new("T", "x")).await.unwrap();
    assert_eq!(ok.queue.broker_name, "broker-b");

    // A non-retriable code fails at once.
    mock_b
        .send_codes
        .lock()
        .push_back(response::MESSAGE_ILLEGAL);
    mock_a.send_codes.lock().clear();
    mock_a
        .send_codes
        .lock()
        .push_back(response::MESSAGE_ILLEGAL);
    let err = producer.send(Message::new("T", "x")).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Broker { code: 13, .. }),
        "{err:?}"
    );
    for s in [stop_ns, stop_a, stop_b] {
        s.cancel();
    }
}

#[tokio::test]
async fn unknown_topic_is_sent_through_the_tbw102_route() {
    let (addr, mock, stop) = start("broker-a").await;
    mock.routes
        .lock()
        .insert("TBW102".into(), route(&[("broker-a", &addr)], 8));
    let producer = Producer::builder("pg").namesrv_addr(addr).build().unwrap();
    let queues = producer.publish_queues("NewTopic").await.unwrap();
    assert_eq!(queues.len(), 4, "capped at defaultTopicQueueNums");
    assert!(queues.iter().all(|q| q.topic == "NewTopic"));
    let r = producer.send(Message::new("NewTopic", "x")).await.unwrap();
    assert_eq!(r.queue.topic, "NewTopic");
    stop.cancel();
}

#[tokio::test]
async fn batch_is_one_request_with_every_message() {
    let (addr, mock, stop) = start("broker-a").await;
    mock.routes
        .lock()
        .insert("T".into(), route(&[("broker-a", &addr)], 1));
    let producer = Producer::builder("pg").namesrv_addr(addr).build().unwrap();
    let r = producer
        .send_batch(vec![
            Message::new("T", "a"),
            Message::new("T", "b"),
            Message::new("T", "c"),
        ])
        .await
        .unwrap();
    assert_eq!(r.msg_id.split(',').count(), 3);
    let batch = mock
        .seen
        .lock()
        .iter()
        .find(|r| r.code == request::SEND_BATCH_MESSAGE)
        .cloned()
        .unwrap();
    assert_eq!(
        SendMessageRequestHeaderV2::read(&batch.ext_fields)
            .unwrap()
            .m,
        Some(true)
    );
    assert_eq!(decode_batch(&batch.body).unwrap().len(), 3);
    stop.cancel();
}

#[tokio::test]
async fn pull_offsets_and_heartbeat() {
    let (addr, mock, stop) = start("broker-a").await;
    mock.routes
        .lock()
        .insert("T".into(), route(&[("broker-a", &addr)], 2));
    let consumer = PullConsumer::builder("cg")
        .namesrv_addr(addr)
        .build()
        .unwrap();
    let queues = consumer.fetch_queues("T").await.unwrap();
    assert_eq!(
        queues,
        [
            MessageQueue::new("T", "broker-a", 0),
            MessageQueue::new("T", "broker-a", 1)
        ]
    );

    let r = consumer.pull(&queues[0], 0, 32).await.unwrap();
    assert_eq!(r.status, PullStatus::Found);
    assert_eq!(r.messages.len(), 2);
    assert_eq!(r.next_begin_offset, 2);
    assert_eq!(r.messages[1].msg_id(), "ID1");
    assert_eq!(&r.messages[0].body[..], b"payload");

    let tagged = consumer
        .pull_with_filter(&queues[0], "TagB", 0, 32)
        .await
        .unwrap();
    assert_eq!(tagged.messages.len(), 1);
    let pulled = mock
        .seen
        .lock()
        .iter()
        .rev()
        .find(|r| r.code == request::PULL_MESSAGE)
        .cloned()
        .unwrap();
    let h = PullMessageRequestHeader::read(&pulled.ext_fields).unwrap();
    assert_eq!(
        (
            h.consumer_group.as_str(),
            h.subscription.as_deref(),
            h.sys_flag
        ),
        ("cg", Some("TagB"), 4)
    );

    assert_eq!(
        consumer.pull(&queues[0], 10, 32).await.unwrap().status,
        PullStatus::NoNewMsg
    );
    assert_eq!(consumer.query_offset("cg", &queues[0]).await.unwrap(), None);
    assert_eq!(consumer.max_offset(&queues[0]).await.unwrap(), 10);
    consumer.update_offset("cg", &queues[0], 2).await.unwrap();

    consumer.subscribe("T", "*").unwrap();
    assert_eq!(consumer.heartbeat().await.unwrap(), 1);
    let hb = mock
        .seen
        .lock()
        .iter()
        .find(|r| r.code == request::HEART_BEAT)
        .cloned()
        .unwrap();
    let data = HeartbeatData::from_json(&hb.body).unwrap();
    assert_eq!(data.consumer_data_set[0].group_name, "cg");
    assert_eq!(
        data.consumer_data_set[0].subscription_data_set[0].topic,
        "T"
    );
    consumer.shutdown().await;
    assert!(mock.codes_seen().contains(&request::UNREGISTER_CLIENT));
    stop.cancel();
}

#[tokio::test]
async fn name_servers_are_tried_in_turn() {
    let (addr, mock, stop) = start("ns").await;
    mock.routes
        .lock()
        .insert("T".into(), route(&[("broker-a", "127.0.0.1:10911")], 4));
    let admin = AdminClient::connect(Some(&format!("127.0.0.1:1;{addr}")))
        .unwrap()
        .with_timeout(Duration::from_secs(2));
    for _ in 0..3 {
        let r = admin.topic_route("T").await.unwrap();
        assert_eq!(r.queue_datas[0].write_queue_nums, 4);
    }
    let err = admin.topic_route("Nope").await.unwrap_err();
    assert_eq!(err.response_code(), Some(response::TOPIC_NOT_EXIST));
    assert!(
        err.to_string()
            .starts_with("CODE: 17 (TOPIC_NOT_EXIST)  DESC: No topic route info"),
        "{err}"
    );
    stop.cancel();
}

#[tokio::test]
async fn the_send_rate_limit_spaces_sends_refuses_past_its_queueing_and_counts() {
    let (addr, mock, stop) = start("broker-a").await;
    mock.routes
        .lock()
        .insert("T".into(), route(&[("broker-a", &addr)], 4));
    let producer = Producer::builder("pg_rate")
        .namesrv_addr(addr.clone())
        .send_rate_limit(20.0, Duration::from_millis(200))
        .build()
        .unwrap();
    // Back to back, ten sends at 20/s: all pass, most after a wait for their slot.
    for i in 0..10 {
        producer
            .send(Message::new("T", format!("m{i}")))
            .await
            .unwrap();
    }
    let s = producer.send_rate_limit_stats().unwrap();
    assert_eq!(s.passed + s.delayed, 10, "{s:?}");
    assert!(s.delayed >= 5, "{s:?}");
    assert_eq!(s.rejected, 0);
    // Thirty at once: the queueing time (200 ms = 4 slots) refuses the rest.
    let sends: Vec<_> = (0..30)
        .map(|i| {
            let p = producer.clone();
            tokio::spawn(async move { p.send(Message::new("T", format!("burst{i}"))).await })
        })
        .collect();
    let mut results = Vec::new();
    for s in sends {
        results.push(s.await.unwrap());
    }
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(ClientError::RateLimited { .. })))
        .count();
    assert!(refused >= 20, "{refused} refused");
    assert!(results
        .iter()
        .all(|r| r.is_ok() || matches!(r, Err(ClientError::RateLimited { .. }))));
    let after = producer.send_rate_limit_stats().unwrap();
    assert_eq!(after.rejected as usize, refused);
    assert!(Producer::builder("pg_plain")
        .namesrv_addr(addr)
        .build()
        .unwrap()
        .send_rate_limit_stats()
        .is_none());
    stop.cancel();
}
