//! In-process broker harness: a real broker on 127.0.0.1:0 with its store in a temp dir, no
//! name server, and a remoting client to talk to it the way clients do.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_broker::{Broker, BrokerConfig};
use ferromq_net::RemotingClient;
use ferromq_proto::codes::request;
use ferromq_proto::headers::SendMessageRequestHeaderV2;
use ferromq_proto::message::record::decode_records;
use ferromq_proto::message::MessageExt;
use ferromq_proto::RemotingCommand;
use ferromq_store::GetStatus;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const TIMEOUT: Duration = Duration::from_secs(5);

pub struct TestBroker {
    pub addr: String,
    pub broker: Arc<Broker>,
    pub client: RemotingClient,
    pub dir: tempfile::TempDir,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

/// The root account [`acl2_on`] creates.
pub const ACL2_ROOT: (&str, &str) = ("root", "rootSecret1");

/// ACL 2.0 on: authentication and authorization, with [`ACL2_ROOT`] as the initial user.
pub fn acl2_on(c: &mut BrokerConfig) {
    c.auth.set("authenticationEnabled", "true").unwrap();
    c.auth.set("authorizationEnabled", "true").unwrap();
    let (user, password) = ACL2_ROOT;
    let root = format!(r#"{{"username":"{user}","password":"{password}"}}"#);
    c.auth.set("initAuthenticationUser", &root).unwrap();
}

/// Starts a broker with one-second delay levels; `tweak` adjusts the config (the store is
/// already in a temp dir).
pub async fn start(tweak: impl FnOnce(&mut BrokerConfig)) -> TestBroker {
    start_in(tempfile::tempdir().unwrap(), tweak).await
}

/// [`start`] on the store in `dir` (e.g. one a stopped broker left, see
/// [`TestBroker::stop_keep_store`]).
pub async fn start_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut BrokerConfig)) -> TestBroker {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = BrokerConfig {
        broker_name: "broker-test".into(),
        listen_port: port,
        namesrv_addr: None,
        store_path_root_dir: dir.path().to_path_buf(),
        mapped_file_size_commit_log: 16 * 1024 * 1024,
        mapped_file_size_consume_queue: 6000 * 20,
        // listenPort + 1 may belong to another test's broker.
        ha_listen_port: Some(0),
        ..Default::default()
    };
    config
        .store_settings
        .push(("messageDelayLevel".into(), "1s 1s 1s 1s 1s 1s".into()));
    tweak(&mut config);
    let broker = Broker::open(config).unwrap();
    let stop = CancellationToken::new();
    let running = Arc::clone(&broker);
    let token = stop.clone();
    let task = tokio::spawn(async move {
        running.run(listener, token).await.unwrap();
    });
    // `run` starts the HA side first; tests may need its address at once.
    let deadline = Instant::now() + TIMEOUT;
    while !broker.ha_ready() {
        assert!(
            Instant::now() < deadline,
            "the broker did not start its HA side"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    TestBroker {
        addr: format!("127.0.0.1:{port}"),
        broker,
        client: RemotingClient::default(),
        dir,
        stop,
        task: Some(task),
    }
}

impl TestBroker {
    /// Sends `cmd` and returns the response.
    pub async fn call(&self, cmd: RemotingCommand) -> RemotingCommand {
        self.client.invoke(&self.addr, cmd, TIMEOUT).await.unwrap()
    }

    /// SEND_MESSAGE_V2 of one message with `properties` (an encoded string) to `queue_id`.
    pub async fn send(
        &self,
        topic: &str,
        queue_id: i32,
        body: &str,
        properties: &str,
        reconsume_times: Option<i32>,
    ) -> RemotingCommand {
        let header = SendMessageRequestHeaderV2 {
            a: "PG_test".into(),
            b: topic.into(),
            c: "TBW102".into(),
            d: 4,
            e: queue_id,
            f: 0,
            g: ferromq_common::now_millis(),
            h: 0,
            i: Some(properties.into()),
            j: reconsume_times,
            k: Some(false),
            l: None,
            m: Some(false),
            n: None,
        };
        let cmd = RemotingCommand::request(request::SEND_MESSAGE_V2, &header)
            .with_body(body.as_bytes().to_vec());
        self.call(cmd).await
    }

    /// The messages of a queue from `offset`, read from the store.
    pub fn read(&self, topic: &str, queue_id: i32, offset: i64) -> Vec<MessageExt> {
        let got = self
            .broker
            .store
            .get_message(topic, queue_id, offset, 1024, None);
        if got.status != GetStatus::Found {
            return Vec::new();
        }
        got.messages
            .into_iter()
            .flat_map(|r| decode_records(r).unwrap())
            .collect()
    }

    /// Waits until a queue holds at least `n` messages from `offset`; returns them.
    pub async fn wait_for(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        n: usize,
        timeout: Duration,
    ) -> Vec<MessageExt> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.read(topic, queue_id, offset);
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the broker and waits for its clean shutdown.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    /// Stops the broker cleanly and hands back its store directory, for [`start_in`].
    pub async fn stop_keep_store(mut self) -> tempfile::TempDir {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

// Request builders shared by the scenario tests.

/// A SEND_MESSAGE_V2 request of `body` to queue 0 of `topic` by producer group `group`.
pub fn send_request(group: &str, topic: &str, body: &str) -> RemotingCommand {
    let header = ferromq_proto::headers::SendMessageRequestHeaderV2 {
        a: group.into(),
        b: topic.into(),
        c: "TBW102".into(),
        d: 4,
        e: 0,
        f: 0,
        g: ferromq_common::now_millis(),
        h: 0,
        i: Some(String::new()),
        j: None,
        k: Some(false),
        l: None,
        m: Some(false),
        n: None,
    };
    RemotingCommand::request(request::SEND_MESSAGE_V2, &header).with_body(body.as_bytes().to_vec())
}

/// A PULL_MESSAGE request for up to 32 messages of queue 0 of `topic` from offset 0, tag `*`.
pub fn pull_request(topic: &str, group: &str) -> RemotingCommand {
    let header = ferromq_proto::headers::PullMessageRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id: 0,
        queue_offset: 0,
        max_msg_nums: 32,
        sys_flag: ferromq_proto::headers::pull_flag::SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
    };
    RemotingCommand::request(request::PULL_MESSAGE, &header)
}

/// An UPDATE_AND_CREATE_TOPIC request for `topic` with one queue, read-write.
pub fn create_topic_request(topic: &str) -> RemotingCommand {
    let header = ferromq_proto::headers::CreateTopicRequestHeader {
        topic: topic.into(),
        default_topic: "TBW102".into(),
        read_queue_nums: 1,
        write_queue_nums: 1,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        topic_sys_flag: Some(0),
        order: false,
        attributes: None,
        force: None,
    };
    RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC, &header)
}
