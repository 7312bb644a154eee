//! v5 clients in the broker's client tables, through the generated tonic client against a real
//! in-process broker: a producer's Telemetry stream gets the broker's transaction check as a
//! RecoverOrphanedTransactionCommand and resolves it with EndTransaction (commit: delivered;
//! rollback: never); producers and consumers are listed while their stream lives.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_broker::{Broker, BrokerConfig};
use ferromq_grpc::pb::messaging_service_client::MessagingServiceClient;
use ferromq_grpc::pb::{self, Code};
use ferromq_grpc::BrokerSlot;
use ferromq_proto::body::{ConsumeType, TopicConfig};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

struct Server {
    broker: Arc<Broker>,
    slot: BrokerSlot,
    client: MessagingServiceClient<Channel>,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = BrokerConfig {
        broker_name: "broker-v5".into(),
        broker_ip1: "127.0.0.1".into(),
        listen_port: listener.local_addr().unwrap().port(),
        namesrv_addr: None,
        store_path_root_dir: dir.path().to_path_buf(),
        mapped_file_size_commit_log: 16 * 1024 * 1024,
        mapped_file_size_consume_queue: 6000 * 20,
        ha_listen_port: Some(0),
        // Half messages are checked once 500 ms old, in rounds every 300 ms.
        transaction_timeout: 500,
        transaction_check_interval: 300,
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
        .unwrap();
    Server {
        broker,
        slot,
        client,
        stop,
        tasks,
        _dir: dir,
    }
}

impl Server {
    async fn stop(self) {
        self.stop.cancel();
        for t in self.tasks {
            tokio::time::timeout(Duration::from_secs(30), t)
                .await
                .expect("the broker did not stop")
                .unwrap();
        }
        (self.slot.hook())(None);
    }

    fn topic(&self, name: &str) {
        let mut t = TopicConfig::new(name);
        t.read_queue_nums = 1;
        t.write_queue_nums = 1;
        self.broker.topics.upsert(t).unwrap();
    }
}

fn resource(name: &str) -> Option<pb::Resource> {
    Some(pb::Resource {
        resource_namespace: String::new(),
        name: name.into(),
    })
}

fn with_client<T>(msg: T, client_id: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    let md = r.metadata_mut();
    md.insert("x-mq-client-id", client_id.parse().unwrap());
    md.insert("x-mq-language", "PYTHON".parse().unwrap());
    md.insert("x-mq-client-version", "5.1.2".parse().unwrap());
    r
}

/// A Telemetry stream: the settings are sent first and their answer awaited.
struct Telemetry {
    _out: mpsc::Sender<pb::TelemetryCommand>,
    inbound: tonic::Streaming<pb::TelemetryCommand>,
}

async fn telemetry(
    c: &mut MessagingServiceClient<Channel>,
    client_id: &str,
    settings: pb::Settings,
) -> Telemetry {
    let (tx, rx) = mpsc::channel(4);
    tx.send(pb::TelemetryCommand {
        status: None,
        command: Some(pb::telemetry_command::Command::Settings(settings)),
    })
    .await
    .unwrap();
    let req = with_client(tokio_stream::wrappers::ReceiverStream::new(rx), client_id);
    let mut inbound = c.telemetry(req).await.unwrap().into_inner();
    let first = tokio::time::timeout(Duration::from_secs(10), inbound.message())
        .await
        .expect("no settings answer")
        .unwrap()
        .unwrap();
    assert!(matches!(
        first.command,
        Some(pb::telemetry_command::Command::Settings(_))
    ));
    Telemetry { _out: tx, inbound }
}

fn producer_settings(topic: &str) -> pb::Settings {
    pb::Settings {
        client_type: Some(pb::ClientType::Producer as i32),
        pub_sub: Some(pb::settings::PubSub::Publishing(pb::Publishing {
            topics: vec![pb::Resource {
                resource_namespace: String::new(),
                name: topic.into(),
            }],
            max_body_size: 4 << 20,
            validate_message_type: true,
        })),
        ..Default::default()
    }
}

fn consumer_settings(group: &str, topic: &str) -> pb::Settings {
    pb::Settings {
        client_type: Some(pb::ClientType::SimpleConsumer as i32),
        pub_sub: Some(pb::settings::PubSub::Subscription(pb::Subscription {
            group: resource(group),
            subscriptions: vec![pb::SubscriptionEntry {
                topic: resource(topic),
                expression: Some(pb::FilterExpression {
                    r#type: pb::FilterType::Tag as i32,
                    expression: "TagA || TagB".into(),
                }),
            }],
            ..Default::default()
        })),
        ..Default::default()
    }
}

async fn send_half(c: &mut MessagingServiceClient<Channel>, topic: &str, body: &str) -> String {
    let m = pb::Message {
        topic: resource(topic),
        user_properties: Default::default(),
        system_properties: Some(pb::SystemProperties {
            tag: Some("TagA".into()),
            message_id: format!("TX-{body}"),
            message_type: pb::MessageType::Transaction as i32,
            ..Default::default()
        }),
        body: body.as_bytes().to_vec(),
    };
    let r = c
        .send_message(pb::SendMessageRequest { messages: vec![m] })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status.as_ref().unwrap().code, Code::Ok as i32, "{r:?}");
    r.entries[0].transaction_id.clone()
}

/// The next RecoverOrphanedTransactionCommand on the stream.
async fn next_check(t: &mut Telemetry) -> pb::RecoverOrphanedTransactionCommand {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let cmd = tokio::time::timeout(left, t.inbound.message())
            .await
            .expect("no transaction check within 30 s")
            .unwrap()
            .expect("the stream ended");
        if let Some(pb::telemetry_command::Command::RecoverOrphanedTransactionCommand(c)) =
            cmd.command
        {
            return c;
        }
    }
}

async fn end(
    c: &mut MessagingServiceClient<Channel>,
    client_id: &str,
    topic: &str,
    check: &pb::RecoverOrphanedTransactionCommand,
    resolution: pb::TransactionResolution,
) -> Code {
    let m = check.message.as_ref().unwrap();
    let r = c
        .end_transaction(with_client(
            pb::EndTransactionRequest {
                topic: resource(topic),
                message_id: m.system_properties.as_ref().unwrap().message_id.clone(),
                transaction_id: check.transaction_id.clone(),
                resolution: resolution as i32,
                source: pb::TransactionSource::SourceServerCheck as i32,
                trace_context: String::new(),
            },
            client_id,
        ))
        .await
        .unwrap()
        .into_inner();
    Code::try_from(r.status.unwrap().code).unwrap()
}

async fn receive_bodies(
    c: &mut MessagingServiceClient<Channel>,
    topic: &str,
    group: &str,
    poll_ms: i64,
) -> Vec<Vec<u8>> {
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
        invisible_duration: Some(ferromq_grpc::convert::duration(60_000)),
        auto_renew: false,
        long_polling_timeout: Some(ferromq_grpc::convert::duration(poll_ms)),
        attempt_id: None,
    };
    let mut stream = c.receive_message(req).await.unwrap().into_inner();
    let mut bodies = Vec::new();
    while let Some(item) = stream.message().await.unwrap() {
        if let Some(Content::Message(m)) = item.content {
            bodies.push(m.body);
        }
    }
    bodies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_checks_reach_the_v5_producer_and_its_answer_resolves_them() {
    let s = start().await;
    let mut c = s.client.clone();
    s.topic("TX");
    let mut t = telemetry(&mut c, "producer-1@py", producer_settings("TX")).await;
    // Listed as a producer of group "TX" (the proxy's rule), with its language.
    let listed = s.broker.clients.producer_channels("TX");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].client_id, "producer-1@py");
    assert_eq!(listed[0].language.name(), "PYTHON");

    let sent_id = send_half(&mut c, "TX", "commit-me").await;
    let check = next_check(&mut t).await;
    let m = check.message.as_ref().unwrap();
    assert_eq!(m.body, b"commit-me");
    assert_eq!(m.topic.as_ref().unwrap().name, "TX");
    assert_eq!(
        m.system_properties.as_ref().unwrap().message_id,
        "TX-commit-me"
    );
    // The check names the copy the check appended, not the first half message.
    assert_ne!(check.transaction_id, sent_id);
    // An answer "unknown yet" changes nothing: the check comes again.
    assert_eq!(
        end(
            &mut c,
            "producer-1@py",
            "TX",
            &check,
            pb::TransactionResolution::Unspecified
        )
        .await,
        Code::Ok
    );
    let check = next_check(&mut t).await;
    assert_eq!(
        end(
            &mut c,
            "producer-1@py",
            "TX",
            &check,
            pb::TransactionResolution::Commit
        )
        .await,
        Code::Ok
    );
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.is_empty() && Instant::now() < deadline {
        got = receive_bodies(&mut c, "TX", "G", 1000).await;
    }
    assert_eq!(got, vec![b"commit-me".to_vec()]);

    // Rolled back on check: never delivered.
    send_half(&mut c, "TX", "roll-me-back").await;
    let check = loop {
        let ch = next_check(&mut t).await;
        if ch.message.as_ref().unwrap().body == b"roll-me-back" {
            break ch;
        }
    };
    assert_eq!(
        end(
            &mut c,
            "producer-1@py",
            "TX",
            &check,
            pb::TransactionResolution::Rollback
        )
        .await,
        Code::Ok
    );
    assert!(receive_bodies(&mut c, "TX", "G", 2000).await.is_empty());
    // Resolved: no further check arrives.
    // Checks sent before the rollback was answered may still be on the way: skip a moment.
    let skip_until = tokio::time::Instant::now() + Duration::from_secs(1);
    while tokio::time::timeout_at(skip_until, t.inbound.message())
        .await
        .is_ok()
    {}
    let more = tokio::time::timeout(Duration::from_secs(2), t.inbound.message()).await;
    assert!(more.is_err(), "a check came after the rollback: {more:?}");

    // The stream ends: the producer is no longer listed.
    drop(t);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.broker.clients.producer_channels("TX").is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(s.broker.clients.producer_channels("TX").is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_consumers_are_listed_with_their_subscription_until_they_terminate() {
    let s = start().await;
    let mut c = s.client.clone();
    s.topic("LT");
    let _t = telemetry(&mut c, "consumer-1@py", consumer_settings("LG", "LT")).await;
    let g = s
        .broker
        .clients
        .consumer_group("LG")
        .expect("the group is listed");
    let members: Vec<_> = g.channels.values().collect();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].client_id, "consumer-1@py");
    assert_eq!(members[0].language.name(), "PYTHON");
    assert_eq!(g.consume_type, ConsumeType::Actively);
    let sub = g.subscriptions.get("LT").expect("the subscription");
    assert_eq!(sub.sub_string, "TagA || TagB");
    assert_eq!(sub.tags_set.len(), 2);

    // Heartbeats keep it; NotifyClientTermination removes it though the stream lives on.
    let hb = c
        .heartbeat(with_client(
            pb::HeartbeatRequest {
                group: resource("LG"),
                client_type: pb::ClientType::SimpleConsumer as i32,
            },
            "consumer-1@py",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(hb.status.unwrap().code, Code::Ok as i32);
    assert!(s.broker.clients.consumer_group("LG").is_some());
    c.notify_client_termination(with_client(
        pb::NotifyClientTerminationRequest {
            group: resource("LG"),
        },
        "consumer-1@py",
    ))
    .await
    .unwrap();
    assert!(s.broker.clients.consumer_group("LG").is_none());
    s.stop().await;
}

async fn pull(
    c: &mut MessagingServiceClient<Channel>,
    topic: &str,
    queue: i32,
    offset: i64,
    tags: &str,
) -> (Code, Vec<Vec<u8>>, Option<i64>) {
    use pb::pull_message_response::Content;
    let req = pb::PullMessageRequest {
        group: resource("PG"),
        message_queue: Some(pb::MessageQueue {
            topic: resource(topic),
            id: queue,
            ..Default::default()
        }),
        offset,
        batch_size: 10,
        filter_expression: Some(pb::FilterExpression {
            r#type: pb::FilterType::Tag as i32,
            expression: tags.into(),
        }),
        long_polling_timeout: Some(ferromq_grpc::convert::duration(300)),
    };
    let mut stream = c.pull_message(req).await.unwrap().into_inner();
    let (mut code, mut bodies, mut next) = (Code::Unspecified, Vec::new(), None);
    while let Some(item) = stream.message().await.unwrap() {
        match item.content {
            Some(Content::Status(s)) => code = Code::try_from(s.code).unwrap(),
            Some(Content::Message(m)) => bodies.push(m.body),
            Some(Content::NextOffset(o)) => next = Some(o),
            None => {}
        }
    }
    (code, bodies, next)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_message_reads_a_queue_by_offset_with_tag_filters() {
    let s = start().await;
    let mut c = s.client.clone();
    s.topic("PT");
    for (body, tag) in [("a1", "TagA"), ("b1", "TagB"), ("a2", "TagA")] {
        let m = pb::Message {
            topic: resource("PT"),
            user_properties: Default::default(),
            system_properties: Some(pb::SystemProperties {
                tag: Some(tag.into()),
                message_id: format!("P-{body}"),
                message_type: pb::MessageType::Normal as i32,
                ..Default::default()
            }),
            body: body.as_bytes().to_vec(),
        };
        let r = c
            .send_message(pb::SendMessageRequest { messages: vec![m] })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.status.unwrap().code, Code::Ok as i32);
    }
    assert_eq!(
        pull(&mut c, "PT", 0, 0, "*").await,
        (
            Code::Ok,
            vec![b"a1".to_vec(), b"b1".to_vec(), b"a2".to_vec()],
            Some(3)
        )
    );
    assert_eq!(
        pull(&mut c, "PT", 0, 1, "TagA").await,
        (Code::Ok, vec![b"a2".to_vec()], Some(3))
    );
    // Nothing new after the long poll; an offset past the end says where the end is.
    assert_eq!(
        pull(&mut c, "PT", 0, 3, "*").await,
        (Code::MessageNotFound, vec![], Some(3))
    );
    assert_eq!(
        pull(&mut c, "PT", 0, 99, "*").await,
        (Code::IllegalOffset, vec![], Some(3))
    );
    assert_eq!(pull(&mut c, "PT", 7, 0, "*").await.0, Code::BadRequest);
    assert_eq!(
        pull(&mut c, "NoSuchTopic", 0, 0, "*").await.0,
        Code::TopicNotFound
    );
    s.stop().await;
}
