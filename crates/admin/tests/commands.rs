//! Admin operations against a scripted name server + broker on loopback: the request sequences
//! of `wire-protocol.md` 2.5 and the printed output.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ferromq_admin::consumer::{consumer_connection, consumer_progress};
use ferromq_admin::topic::{delete_topic, topic_status, update_topic, Target, UpdateTopicOptions};
use ferromq_admin::{AdminClient, AdminError};
use ferromq_net::{serve, BoxFuture, ConnectionConfig, ConnectionHandle, Handler};
use ferromq_proto::body::{
    BrokerData, ClusterInfo, Connection, ConsumeStats, ConsumerConnection, JsonBody, MessageQueue,
    OffsetWrapper, QueueData, TopicOffset, TopicRouteData, TopicStatsTable,
};
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::{
    ConsumerGroupHeader, CreateTopicRequestHeader, DeleteTopicFromNamesrvRequestHeader,
    GetConsumeStatsRequestHeader, GetRouteInfoRequestHeader, PutKvConfigRequestHeader, TopicHeader,
};
use ferromq_proto::{CommandHeader, RemotingCommand};
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Name server and broker in one: the broker `broker-a` lives at this mock's own address.
#[derive(Default)]
struct Mock {
    addr: Mutex<String>,
    topics: Mutex<BTreeSet<String>>,
    /// Consumer group with an online client.
    online_group: Option<String>,
    seen: Mutex<Vec<RemotingCommand>>,
}

impl Mock {
    fn route(&self) -> TopicRouteData {
        TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: BTreeMap::from([(0, self.addr.lock().clone())]),
                broker_name: "broker-a".into(),
                cluster: "DefaultCluster".into(),
                ..Default::default()
            }],
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: 2,
                write_queue_nums: 2,
                topic_sys_flag: 0,
            }],
            ..Default::default()
        }
    }

    fn answer(&self, req: &RemotingCommand) -> RemotingCommand {
        let ext = &req.ext_fields;
        match req.code {
            request::GET_BROKER_CLUSTER_INFO => {
                let route = self.route();
                let info = ClusterInfo {
                    broker_addr_table: BTreeMap::from([(
                        "broker-a".into(),
                        route.broker_datas[0].clone(),
                    )]),
                    cluster_addr_table: BTreeMap::from([(
                        "DefaultCluster".into(),
                        BTreeSet::from(["broker-a".into()]),
                    )]),
                };
                req.success_to().with_body(info.to_json())
            }
            request::GET_ROUTEINFO_BY_TOPIC => {
                let topic = GetRouteInfoRequestHeader::read(ext).unwrap().topic;
                if self.topics.lock().contains(&topic) {
                    req.success_to().with_body(self.route().to_json())
                } else {
                    req.response_to(
                        response::TOPIC_NOT_EXIST,
                        Some(format!(
                            "No topic route info in name server for the topic: {topic}"
                        )),
                    )
                }
            }
            request::UPDATE_AND_CREATE_TOPIC => {
                let h = CreateTopicRequestHeader::read(ext).unwrap();
                self.topics.lock().insert(h.topic);
                req.success_to()
            }
            request::DELETE_TOPIC_IN_BROKER => {
                self.topics
                    .lock()
                    .remove(&TopicHeader::read(ext).unwrap().topic);
                req.success_to()
            }
            request::DELETE_TOPIC_IN_NAMESRV | request::PUT_KV_CONFIG => req.success_to(),
            request::GET_TOPIC_STATS_INFO => {
                let topic = TopicHeader::read(ext).unwrap().topic;
                let mut stats = TopicStatsTable::default();
                for q in 0..2 {
                    stats.offset_table.insert(
                        MessageQueue::new(&topic, "broker-a", q),
                        TopicOffset {
                            min_offset: 0,
                            max_offset: 5 * i64::from(q),
                            last_update_timestamp: 0,
                        },
                    );
                }
                req.success_to().with_body(stats.to_json())
            }
            request::GET_CONSUME_STATS => {
                let h = GetConsumeStatsRequestHeader::read(ext).unwrap();
                let mut stats = ConsumeStats::default();
                if self.online_group.as_deref() == Some(h.consumer_group.as_str()) {
                    stats.offset_table.insert(
                        MessageQueue::new("T", "broker-a", 0),
                        OffsetWrapper {
                            broker_offset: 5,
                            consumer_offset: 3,
                            pull_offset: 4,
                            last_timestamp: 0,
                        },
                    );
                }
                req.success_to().with_body(stats.to_json())
            }
            request::GET_CONSUMER_CONNECTION_LIST => {
                let group = ConsumerGroupHeader::read(ext).unwrap().consumer_group;
                if self.online_group.as_deref() != Some(group.as_str()) {
                    return req.response_to(
                        response::CONSUMER_NOT_ONLINE,
                        Some(format!("the consumer group[{group}] not online")),
                    );
                }
                let cc = ConsumerConnection {
                    connection_set: vec![Connection {
                        client_addr: "127.0.0.1:40000".into(),
                        client_id: "127.0.0.1@1#1".into(),
                        language: "RUST".into(),
                        version: 479,
                    }],
                    ..Default::default()
                };
                req.success_to().with_body(cc.to_json())
            }
            other => req.response_to(
                response::REQUEST_CODE_NOT_SUPPORTED,
                Some(format!(" request type {other} not supported")),
            ),
        }
    }

    fn codes(&self) -> Vec<i32> {
        self.seen.lock().iter().map(|r| r.code).collect()
    }
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

async fn start(online_group: Option<&str>) -> (AdminClient, Arc<Mock>, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mock = Arc::new(Mock {
        online_group: online_group.map(str::to_owned),
        ..Default::default()
    });
    *mock.addr.lock() = addr.clone();
    mock.topics.lock().insert("%RETRY%cg".into());
    mock.topics.lock().insert("T".into());
    let stop = CancellationToken::new();
    tokio::spawn(serve(
        listener,
        mock.clone(),
        ConnectionConfig::default(),
        stop.clone(),
    ));
    (AdminClient::connect(Some(&addr)).unwrap(), mock, stop)
}

#[tokio::test]
async fn update_topic_on_a_cluster_creates_on_each_master_and_sets_order_conf() {
    let (admin, mock, stop) = start(None).await;
    let addr = mock.addr.lock().clone();
    let mut opts = UpdateTopicOptions::new(Target::Cluster("DefaultCluster".into()), "tp_demo_06");
    opts.write_queue_nums = 6;
    opts.order = true;
    let report = update_topic(&admin, &opts).await.unwrap();
    assert_eq!(report.created_on, std::slice::from_ref(&addr));
    assert_eq!(report.order_conf.as_deref(), Some("broker-a:6"));
    assert_eq!(
        mock.codes(),
        [
            request::GET_BROKER_CLUSTER_INFO,
            request::UPDATE_AND_CREATE_TOPIC,
            request::PUT_KV_CONFIG
        ]
    );
    let kv = mock
        .seen
        .lock()
        .iter()
        .find(|r| r.code == request::PUT_KV_CONFIG)
        .cloned()
        .unwrap();
    let kv = PutKvConfigRequestHeader::read(&kv.ext_fields).unwrap();
    assert_eq!(
        (kv.namespace.as_str(), kv.key.as_str(), kv.value.as_str()),
        ("ORDER_TOPIC_CONFIG", "tp_demo_06", "broker-a:6")
    );
    assert_eq!(
        report.to_string(),
        format!(
            "create topic to {addr} success.\nset cluster orderConf. isOrder=true, orderConf=[broker-a:6]\n\
             TopicConfig [topicName=tp_demo_06, readQueueNums=8, writeQueueNums=6, perm=RW-, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=true, attributes={{}}]\n"
        )
    );
    stop.cancel();
}

#[tokio::test]
async fn update_topic_on_a_broker_sends_only_to_it() {
    let (admin, mock, stop) = start(None).await;
    let addr = mock.addr.lock().clone();
    let report = update_topic(
        &admin,
        &UpdateTopicOptions::new(Target::Broker(addr.clone()), "X"),
    )
    .await
    .unwrap();
    assert_eq!(mock.codes(), [request::UPDATE_AND_CREATE_TOPIC]);
    let create = CreateTopicRequestHeader::read(&mock.seen.lock()[0].ext_fields).unwrap();
    assert_eq!(
        (
            create.default_topic.as_str(),
            create.read_queue_nums,
            create.perm
        ),
        ("TBW102", 8, 6)
    );
    assert!(report
        .to_string()
        .starts_with(&format!("create topic to {addr} success.\n")));
    stop.cancel();
}

#[tokio::test]
async fn delete_topic_goes_to_masters_then_every_name_server() {
    let (admin, mock, stop) = start(None).await;
    let report = delete_topic(&admin, "DefaultCluster", "T").await.unwrap();
    assert_eq!(
        mock.codes(),
        [
            request::GET_BROKER_CLUSTER_INFO,
            request::DELETE_TOPIC_IN_BROKER,
            request::DELETE_TOPIC_IN_NAMESRV
        ]
    );
    let ns = DeleteTopicFromNamesrvRequestHeader::read(&mock.seen.lock()[2].ext_fields).unwrap();
    assert_eq!(ns.cluster_name.as_deref(), Some("DefaultCluster"));
    assert_eq!(
        report.to_string(),
        "delete topic [T] from cluster [DefaultCluster] success.\ndelete topic [T] from NameServer success.\n"
    );
    stop.cancel();
}

#[tokio::test]
async fn topic_status_reads_every_queue() {
    let (admin, mock, stop) = start(None).await;
    let report = topic_status(&admin, "T", None).await.unwrap();
    assert_eq!(
        mock.codes(),
        [
            request::GET_ROUTEINFO_BY_TOPIC,
            request::GET_TOPIC_STATS_INFO
        ]
    );
    assert_eq!(report.queues.len(), 2);
    let text = report.to_string();
    assert_eq!(text.lines().count(), 5);
    assert!(text.lines().nth(2).unwrap().starts_with(&format!(
        "{:<32}  {:<4}  {:<20}  {:<20}",
        "broker-a", 1, 0, 5
    )));
    let err = topic_status(&admin, "Nope", None).await.unwrap_err();
    assert!(err.to_string().contains("TOPIC_NOT_EXIST"), "{err}");
    stop.cancel();
}

#[tokio::test]
async fn consumer_progress_and_connection_of_an_online_group() {
    let (admin, mock, stop) = start(Some("cg")).await;
    let progress = consumer_progress(&admin, "cg", None, false, None)
        .await
        .unwrap();
    assert_eq!(
        mock.codes(),
        [
            request::GET_ROUTEINFO_BY_TOPIC,
            request::GET_CONSUME_STATS,
            request::GET_ROUTEINFO_BY_TOPIC
        ]
    );
    assert_eq!(progress.queues.len(), 1);
    assert!(progress
        .to_string()
        .ends_with("Consume TPS: 0.00\nConsume Diff Total: 2\nConsume Inflight Total: 1\n"));

    let conn = consumer_connection(&admin, "cg", None).await.unwrap();
    assert!(conn.to_string().contains("127.0.0.1@1#1"));
    stop.cancel();
}

#[tokio::test]
async fn offline_group_errors_like_java() {
    let (admin, _mock, stop) = start(None).await;
    let err = consumer_progress(&admin, "cg", None, false, None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("maybe the consumer not online"),
        "{err}"
    );
    let err = consumer_connection(&admin, "cg", None).await.unwrap_err();
    assert!(
        matches!(&err, AdminError::Client { source } if source.response_code() == Some(response::CONSUMER_NOT_ONLINE)),
        "{err}"
    );
    let err = consumer_progress(&admin, "nogroup", None, false, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("TOPIC_NOT_EXIST"), "{err}");
    stop.cancel();
}
