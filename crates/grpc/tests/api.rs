//! The gRPC API against a real in-process broker (store in a temp dir, no name server), through
//! the generated tonic client: bad input gets RocketMQ's `Code` values, pop redelivery, and the
//! pop state surviving a reopen. The rates benchmark is `--ignored`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_broker::{Broker, BrokerConfig};
use ferromq_grpc::pb::messaging_service_client::MessagingServiceClient;
use ferromq_grpc::pb::{self, Code};
use ferromq_grpc::BrokerSlot;
use ferromq_proto::body::TopicConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

struct Server {
    broker: Arc<Broker>,
    slot: BrokerSlot,
    client: MessagingServiceClient<Channel>,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _dir: Arc<tempfile::TempDir>,
}

async fn start_in(dir: Arc<tempfile::TempDir>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = BrokerConfig {
        broker_name: "broker-grpc".into(),
        broker_ip1: "127.0.0.1".into(),
        listen_port: listener.local_addr().unwrap().port(),
        namesrv_addr: None,
        store_path_root_dir: dir.path().to_path_buf(),
        mapped_file_size_commit_log: 16 * 1024 * 1024,
        mapped_file_size_consume_queue: 6000 * 20,
        ha_listen_port: Some(0),
        max_message_size: 64 * 1024,
        ..Default::default()
    };
    let broker = Broker::open(config).unwrap();
    let stop = CancellationToken::new();
    let slot = BrokerSlot::default();
    (slot.hook())(Some(Arc::clone(&broker)));
    let mut tasks = Vec::new();
    let (b, s) = (Arc::clone(&broker), stop.clone());
    tasks.push(tokio::spawn(async move {
        b.run(listener, s).await.unwrap();
    }));
    let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = grpc.local_addr().unwrap();
    let (sl, s) = (slot.clone(), stop.clone());
    tasks.push(tokio::spawn(async move {
        ferromq_grpc::serve(grpc, sl, s).await.unwrap();
    }));
    let client = MessagingServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
        .max_decoding_message_size(64 * 1024 * 1024)
        .max_encoding_message_size(64 * 1024 * 1024);
    Server {
        broker,
        slot,
        client,
        stop,
        tasks,
        _dir: dir,
    }
}

async fn start() -> Server {
    start_in(Arc::new(tempfile::tempdir().unwrap())).await
}

impl Server {
    async fn stop(self) -> Arc<tempfile::TempDir> {
        self.stop.cancel();
        for t in self.tasks {
            tokio::time::timeout(Duration::from_secs(30), t)
                .await
                .expect("the broker did not stop")
                .unwrap();
        }
        (self.slot.hook())(None);
        drop(self.broker);
        self._dir
    }

    fn topic(&self, name: &str, queues: i32) {
        let mut t = TopicConfig::new(name);
        t.read_queue_nums = queues;
        t.write_queue_nums = queues;
        self.broker.topics.upsert(t).unwrap();
    }
}

fn resource(name: &str) -> Option<pb::Resource> {
    Some(pb::Resource {
        resource_namespace: String::new(),
        name: name.into(),
    })
}

fn message(topic: &str, body: &[u8]) -> pb::Message {
    pb::Message {
        topic: resource(topic),
        user_properties: Default::default(),
        system_properties: Some(pb::SystemProperties {
            tag: Some("TagA".into()),
            message_id: format!("ID{:?}", Instant::now()),
            message_type: pb::MessageType::Normal as i32,
            queue_id: 0,
            ..Default::default()
        }),
        body: body.to_vec(),
    }
}

fn code_of(s: &Option<pb::Status>) -> Code {
    Code::try_from(s.as_ref().expect("a status").code).unwrap()
}

async fn send(c: &mut MessagingServiceClient<Channel>, m: pb::Message) -> pb::SendMessageResponse {
    c.send_message(pb::SendMessageRequest { messages: vec![m] })
        .await
        .unwrap()
        .into_inner()
}

async fn receive(
    c: &mut MessagingServiceClient<Channel>,
    topic: &str,
    group: &str,
    invisible_ms: i64,
    poll_ms: i64,
) -> (Code, Vec<pb::Message>) {
    use pb::receive_message_response::Content;
    let req = pb::ReceiveMessageRequest {
        group: resource(group),
        message_queue: Some(pb::MessageQueue {
            topic: resource(topic),
            id: -1,
            ..Default::default()
        }),
        filter_expression: None,
        batch_size: 32,
        invisible_duration: Some(ferromq_grpc::convert::duration(invisible_ms)),
        auto_renew: false,
        long_polling_timeout: Some(ferromq_grpc::convert::duration(poll_ms)),
        attempt_id: None,
    };
    let mut stream = c.receive_message(req).await.unwrap().into_inner();
    let (mut code, mut msgs) = (Code::Unspecified, Vec::new());
    while let Some(item) = stream.message().await.unwrap() {
        match item.content {
            Some(Content::Status(s)) => code = Code::try_from(s.code).unwrap(),
            Some(Content::Message(m)) => msgs.push(m),
            _ => {}
        }
    }
    (code, msgs)
}

fn handle(m: &pb::Message) -> String {
    m.system_properties
        .as_ref()
        .unwrap()
        .receipt_handle
        .clone()
        .unwrap()
}

fn attempt(m: &pb::Message) -> i32 {
    m.system_properties
        .as_ref()
        .unwrap()
        .delivery_attempt
        .unwrap()
}

async fn ack(c: &mut MessagingServiceClient<Channel>, topic: &str, group: &str, h: &str) -> Code {
    let r = c
        .ack_message(pb::AckMessageRequest {
            group: resource(group),
            topic: resource(topic),
            entries: vec![pb::AckMessageEntry {
                message_id: String::new(),
                receipt_handle: h.into(),
                lite_topic: None,
            }],
        })
        .await
        .unwrap()
        .into_inner();
    code_of(&r.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_rocketmq_codes_and_nothing_is_stored() {
    let s = start().await;
    let mut c = s.client.clone();
    s.topic("T", 2);
    let r = c
        .query_route(pb::QueryRouteRequest {
            topic: resource("NoSuchTopic"),
            endpoints: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::TopicNotFound);
    let r = c
        .query_route(pb::QueryRouteRequest {
            topic: resource("T"),
            endpoints: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::Ok);
    assert_eq!(r.message_queues.len(), 2);
    assert_eq!(
        r.message_queues[0].broker.as_ref().unwrap().name,
        "broker-grpc"
    );

    assert_eq!(
        code_of(&send(&mut c, message("NoSuchTopic", b"x")).await.status),
        Code::TopicNotFound
    );
    assert_eq!(
        code_of(&send(&mut c, message("T", &[7u8; 65 * 1024])).await.status),
        Code::MessageBodyTooLarge
    );
    assert_eq!(
        code_of(&send(&mut c, message("T", b"")).await.status),
        Code::MessageBodyEmpty
    );
    let mut bad_tag = message("T", b"x");
    bad_tag.system_properties.as_mut().unwrap().tag = Some("a||b".into());
    assert_eq!(
        code_of(&send(&mut c, bad_tag).await.status),
        Code::IllegalMessageTag
    );
    let mut both = message("T", b"x");
    let sp = both.system_properties.as_mut().unwrap();
    sp.message_group = Some("g".into());
    sp.delivery_timestamp = Some(prost_types::Timestamp {
        seconds: 4_000_000_000,
        nanos: 0,
    });
    assert_eq!(
        code_of(&send(&mut c, both).await.status),
        Code::MessagePropertyConflictWithType
    );
    // None of them was stored.
    assert_eq!(s.broker.store.max_offset_in_queue("T", 0), 0);
    assert_eq!(s.broker.store.max_offset_in_queue("T", 1), 0);

    assert_eq!(
        receive(&mut c, "T", "G", 0, 0).await.0,
        Code::IllegalInvisibleTime
    );
    assert_eq!(
        receive(&mut c, "NoSuch", "G", 5000, 0).await.0,
        Code::TopicNotFound
    );
    assert_eq!(
        receive(&mut c, "T", "", 5000, 0).await.0,
        Code::IllegalConsumerGroup
    );
    assert_eq!(
        ack(&mut c, "T", "G", "junk").await,
        Code::InvalidReceiptHandle
    );
    assert_eq!(
        ack(&mut c, "T", "G", "fmq1 0 0 1 broker-grpc").await,
        Code::InvalidReceiptHandle
    );
    let r = c
        .end_transaction(pb::EndTransactionRequest {
            topic: resource("T"),
            message_id: "x".into(),
            transaction_id: "not-a-transaction".into(),
            resolution: pb::TransactionResolution::Commit as i32,
            source: pb::TransactionSource::SourceClient as i32,
            trace_context: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&r.status), Code::InvalidTransactionId);
    let mut pull = c
        .pull_message(pb::PullMessageRequest::default())
        .await
        .unwrap()
        .into_inner();
    let first = pull.message().await.unwrap().unwrap();
    match first.content {
        Some(pb::pull_message_response::Content::Status(st)) => {
            // PullMessage is served: an empty request names no group.
            assert_eq!(st.code, Code::IllegalConsumerGroup as i32)
        }
        other => panic!("expected a status, got {other:?}"),
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacked_messages_come_back_and_acks_survive_a_reopen() {
    let s = start().await;
    let mut c = s.client.clone();
    s.topic("P", 1);
    for body in [b"one".as_slice(), b"two", b"three"] {
        assert_eq!(
            code_of(&send(&mut c, message("P", body)).await.status),
            Code::Ok
        );
    }
    let (code, got) = receive(&mut c, "P", "G", 1500, 5000).await;
    assert_eq!(code, Code::Ok);
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|m| attempt(m) == 1));
    // Ack "one"; change "three" to stay invisible; leave "two".
    assert_eq!(ack(&mut c, "P", "G", &handle(&got[0])).await, Code::Ok);
    assert_eq!(
        ack(&mut c, "P", "G", &handle(&got[0])).await,
        Code::InvalidReceiptHandle
    );
    let changed = c
        .change_invisible_duration(pb::ChangeInvisibleDurationRequest {
            group: resource("G"),
            topic: resource("P"),
            receipt_handle: handle(&got[2]),
            invisible_duration: Some(ferromq_grpc::convert::duration(600_000)),
            message_id: String::new(),
            lite_topic: None,
            suspend: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code_of(&changed.status), Code::Ok);
    assert_ne!(changed.receipt_handle, handle(&got[2]));
    // "two" comes back after its 1.5 s with attempt 2, and only it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let back = loop {
        let (_, msgs) = receive(&mut c, "P", "G", 60_000, 2000).await;
        if !msgs.is_empty() || Instant::now() > deadline {
            break msgs;
        }
    };
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body, b"two");
    assert_eq!(attempt(&back[0]), 2);
    // The first delivery's handle of "two" is stale now.
    assert_eq!(
        ack(&mut c, "P", "G", &handle(&got[1])).await,
        Code::InvalidReceiptHandle
    );
    assert_eq!(ack(&mut c, "P", "G", &handle(&back[0])).await, Code::Ok);
    assert_eq!(s.broker.offsets.query("G", "P", 0), Some(2));

    // Reopen the broker on the same store: "one" and "two" stay acked, "three" stays in flight
    // under its changed handle.
    let dir = s.stop().await;
    let s = start_in(dir).await;
    let mut c = s.client.clone();
    let (code, none) = receive(&mut c, "P", "G", 60_000, 1000).await;
    assert_eq!((code, none.len()), (Code::MessageNotFound, 0));
    assert_eq!(
        ack(&mut c, "P", "G", &changed.receipt_handle).await,
        Code::Ok
    );
    assert_eq!(s.broker.offsets.query("G", "P", 0), Some(3));
    s.stop().await;
}

/// Send and receive rates over the gRPC API on this machine (one client, one message per
/// request, 1 KiB bodies): `cargo nextest run -p ferromq-grpc --test api --run-ignored only`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn grpc_send_and_receive_rates() {
    let n: usize = std::env::var("FERROMQ_GRPC_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let s = start().await;
    s.topic("Bench", 4);
    let body = vec![b'x'; 1024];
    let started = Instant::now();
    let mut handles = Vec::new();
    for w in 0..8 {
        let mut c = s.client.clone();
        let body = body.clone();
        handles.push(tokio::spawn(async move {
            for i in (w..n).step_by(8) {
                let mut m = message("Bench", &body);
                m.system_properties.as_mut().unwrap().message_id = format!("B{i}");
                m.system_properties.as_mut().unwrap().queue_id = (i % 4) as i32;
                let r = send(&mut c, m).await;
                assert_eq!(code_of(&r.status), Code::Ok);
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let send_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut c = s.client.clone();
    let mut got = 0;
    while got < n {
        let (_, msgs) = receive(&mut c, "Bench", "BG", 60_000, 2000).await;
        assert!(!msgs.is_empty(), "only {got} of {n} received");
        got += msgs.len();
        let entries = msgs
            .iter()
            .map(|m| pb::AckMessageEntry {
                message_id: String::new(),
                receipt_handle: handle(m),
                lite_topic: None,
            })
            .collect();
        let r = c
            .ack_message(pb::AckMessageRequest {
                group: resource("BG"),
                topic: resource("Bench"),
                entries,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code_of(&r.status), Code::Ok);
    }
    let recv_secs = started.elapsed().as_secs_f64();
    println!(
        "gRPC: {n} sends of 1 KiB by 8 concurrent callers in {send_secs:.2} s = {:.0} msg/s; received and acked (batches of 32) in {recv_secs:.2} s = {:.0} msg/s",
        n as f64 / send_secs,
        n as f64 / recv_secs
    );

    // The same load over remoting on the same broker: SEND_MESSAGE_V2 by 8 concurrent callers,
    // then PULL_MESSAGE of 32 at a time with the offset committed in each pull.
    use ferromq_proto::codes::request;
    use ferromq_proto::headers::{PullMessageRequestHeader, SendMessageRequestHeaderV2};
    use ferromq_proto::RemotingCommand;
    s.topic("BenchR", 4);
    let addr = format!("127.0.0.1:{}", s.broker.config.listen_port);
    let client = ferromq_net::RemotingClient::default();
    let started = Instant::now();
    let mut handles = Vec::new();
    for w in 0..8 {
        let (client, addr, body) = (client.clone(), addr.clone(), body.clone());
        handles.push(tokio::spawn(async move {
            for i in (w..n).step_by(8) {
                let header = SendMessageRequestHeaderV2 {
                    a: "PG_bench".into(),
                    b: "BenchR".into(),
                    c: "TBW102".into(),
                    d: 4,
                    e: (i % 4) as i32,
                    f: 0,
                    g: ferromq_common::now_millis(),
                    h: 0,
                    i: Some(format!("UNIQ_KEY\u{1}R{i}\u{2}TAGS\u{1}TagA\u{2}")),
                    j: Some(0),
                    k: Some(false),
                    l: None,
                    m: Some(false),
                    n: None,
                };
                let cmd = RemotingCommand::request(request::SEND_MESSAGE_V2, &header)
                    .with_body(body.clone());
                let r = client
                    .invoke(&addr, cmd, Duration::from_secs(10))
                    .await
                    .unwrap();
                assert_eq!(r.code, 0, "{:?}", r.remark);
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let rsend_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut got = 0;
    for q in 0..4 {
        let mut offset = 0;
        let end = s.broker.store.max_offset_in_queue("BenchR", q);
        while offset < end {
            let header = PullMessageRequestHeader {
                consumer_group: "BG".into(),
                topic: "BenchR".into(),
                queue_id: q,
                queue_offset: offset,
                max_msg_nums: 32,
                // Commit offset and subscription in the request.
                sys_flag: 1 | 4,
                commit_offset: offset,
                suspend_timeout_millis: 0,
                subscription: Some("*".into()),
                sub_version: 0,
                expression_type: Some("TAG".into()),
                max_msg_bytes: None,
            };
            let cmd = RemotingCommand::request(request::PULL_MESSAGE, &header);
            let r = client
                .invoke(&addr, cmd, Duration::from_secs(10))
                .await
                .unwrap();
            assert_eq!(r.code, 0, "{:?}", r.remark);
            let msgs = ferromq_proto::message::record::decode_records(r.body.clone()).unwrap();
            got += msgs.len();
            offset = r
                .ext_fields
                .get("nextBeginOffset")
                .and_then(|v| v.parse().ok())
                .unwrap();
        }
    }
    assert_eq!(got, n);
    let rrecv_secs = started.elapsed().as_secs_f64();
    println!(
        "remoting: {n} sends of 1 KiB by 8 concurrent callers in {rsend_secs:.2} s = {:.0} msg/s; pulled (batches of 32) in {rrecv_secs:.2} s = {:.0} msg/s",
        n as f64 / rsend_secs,
        n as f64 / rrecv_secs
    );
    s.stop().await;
}
