//! Helpers of the Rust-client process tests (`client_*.rs`): a name server and brokers from the
//! built binaries, topics created with mqadmin, and a collector of consumed messages.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_client::{AdminClient, MessageExt};
use std::sync::Mutex;

use crate::common::{mqadmin, start_broker, start_namesrv, Broker, Namesrv};

/// A name server and brokers in a temporary directory.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub ns: Namesrv,
    pub brokers: Vec<Broker>,
}

impl Cluster {
    /// Starts a name server and one broker per name.
    pub fn start(broker_names: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let ns = start_namesrv(dir.path());
        let brokers = broker_names
            .iter()
            .map(|n| start_broker(dir.path(), &ns.addr, n, ""))
            .collect();
        Cluster { dir, ns, brokers }
    }

    /// Creates `topic` with `queues` read and write queues on every broker and waits until the
    /// name server routes it to all of them.
    pub fn create_topic(&self, topic: &str, queues: u32) {
        for b in &self.brokers {
            let q = queues.to_string();
            let (code, out, err) = mqadmin(&[
                "updateTopic",
                "-n",
                &self.ns.addr,
                "-b",
                &b.addr,
                "-t",
                topic,
                "-r",
                &q,
                "-w",
                &q,
            ]);
            assert_eq!(code, 0, "updateTopic failed: {out}{err}");
        }
        let admin = AdminClient::connect(Some(&self.ns.addr)).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let want = self.brokers.len();
        let ok = rt.block_on(wait_until(Duration::from_secs(20), || {
            let admin = admin.clone();
            async move {
                admin
                    .topic_route(topic)
                    .await
                    .is_ok_and(|r| r.queue_datas.len() == want)
            }
        }));
        assert!(ok, "topic {topic} never routed to {want} broker(s)");
    }
}

/// Polls `check` every 50 ms until it holds or `timeout` passes; returns whether it held.
pub async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A multi-threaded runtime for one test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// What a test keeps of a consumed message.
#[derive(Debug, Clone)]
pub struct Got {
    pub msg_id: String,
    pub topic: String,
    pub body: Vec<u8>,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub store_host: std::net::SocketAddr,
    pub tags: Option<String>,
    pub reconsume_times: i32,
    pub props: HashMap<String, String>,
    pub consumer: usize,
}

impl Got {
    pub fn of(m: &MessageExt, consumer: usize) -> Got {
        Got {
            msg_id: m.msg_id(),
            topic: m.topic.clone(),
            body: m.body.to_vec(),
            queue_id: m.queue_id,
            queue_offset: m.queue_offset,
            commit_log_offset: m.commit_log_offset,
            store_host: m.store_host,
            tags: m.tags().map(str::to_owned),
            reconsume_times: m.reconsume_times,
            props: m
                .properties
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            consumer,
        }
    }
}

/// Consumed messages, shared with listeners.
#[derive(Clone, Default)]
pub struct Collector {
    pub got: Arc<Mutex<Vec<Got>>>,
}

impl Collector {
    pub fn push(&self, m: &MessageExt, consumer: usize) {
        self.got.lock().unwrap().push(Got::of(m, consumer));
    }

    pub fn len(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    pub fn snapshot(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Distinct message ids seen.
    pub fn distinct(&self) -> std::collections::HashSet<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|g| g.msg_id.clone())
            .collect()
    }

    /// Waits until every id of `ids` was consumed.
    pub async fn wait_for(&self, ids: &[String], timeout: Duration) -> bool {
        wait_until(timeout, || {
            let seen = self.distinct();
            let ok = ids.iter().all(|i| seen.contains(i));
            async move { ok }
        })
        .await
    }
}
