//! Harness: real controller nodes on loopback ports in a temp dir, fake brokers that heartbeat
//! and record role-change notices.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_controller::codes::request;
use ferromq_controller::headers::{
    ControllerHeartbeatRequestHeader, NotifyBrokerRoleChangedRequestHeader,
};
use ferromq_controller::{start_on, ControllerClient, ControllerConfig, ControllerHandle, Peer};
use ferromq_net::{BoxFuture, ConnectionConfig, ConnectionHandle, Handler};
use ferromq_proto::RemotingCommand;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const CLUSTER: &str = "DefaultCluster";

/// Polls `f` every 50 ms until it returns `Some`, at most `limit`.
pub async fn wait_for<T, F, Fut>(limit: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub struct Cluster {
    pub nodes: Vec<Option<ControllerHandle>>,
    pub configs: Vec<ControllerConfig>,
    pub addrs: Vec<String>,
    pub dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts `n` nodes with fast timings (Raft heartbeat 100 ms, elections after 400-800 ms,
    /// scans every 200/300 ms, a snapshot every 20 entries).
    pub async fn start(n: usize) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let mut listeners = Vec::new();
        for _ in 0..n {
            listeners.push(TcpListener::bind("127.0.0.1:0").await.unwrap());
        }
        let addrs: Vec<String> = listeners
            .iter()
            .map(|l| l.local_addr().unwrap().to_string())
            .collect();
        let peers: Vec<Peer> = addrs
            .iter()
            .enumerate()
            .map(|(i, a)| Peer {
                name: format!("n{i}"),
                addr: a.clone(),
            })
            .collect();
        let configs: Vec<ControllerConfig> = (0..n)
            .map(|i| ControllerConfig {
                group: "test-group".into(),
                peers: peers.clone(),
                self_id: format!("n{i}"),
                store_path: dir.path().join(format!("n{i}")),
                scan_not_active_broker_interval_ms: 200,
                scan_inactive_master_interval_ms: 300,
                raft_heartbeat_interval_ms: 100,
                raft_election_timeout_min_ms: 400,
                raft_election_timeout_max_ms: 800,
                raft_snapshot_logs: 20,
                ..Default::default()
            })
            .collect();
        let mut nodes = Vec::new();
        for (l, c) in listeners.into_iter().zip(&configs) {
            nodes.push(Some(start_on(l, c.clone()).await.unwrap()));
        }
        Cluster {
            nodes,
            configs,
            addrs,
            dir,
        }
    }

    pub fn client(&self) -> ControllerClient {
        ControllerClient::new(self.addrs.clone())
    }

    /// Waits until one running node leads and every running node agrees; returns its index.
    pub async fn wait_leader(&self) -> usize {
        wait_for(Duration::from_secs(15), "a leader", || async {
            let running: Vec<(usize, &ControllerHandle)> = self
                .nodes
                .iter()
                .enumerate()
                .filter_map(|(i, n)| n.as_ref().map(|n| (i, n)))
                .collect();
            let leaders: Vec<usize> = running
                .iter()
                .filter(|(_, n)| n.is_leader())
                .map(|(i, _)| *i)
                .collect();
            let [leader] = leaders[..] else { return None };
            let name = format!("n{leader}");
            running
                .iter()
                .all(|(_, n)| n.leader().is_some_and(|p| p.name == name))
                .then_some(leader)
        })
        .await
    }

    pub async fn stop(&mut self, i: usize) {
        if let Some(n) = self.nodes[i].take() {
            n.stop().await;
        }
    }

    /// Restarts node `i` on its old port and store.
    pub async fn restart(&mut self, i: usize) {
        let listener = wait_for(Duration::from_secs(5), "the old port", || async {
            TcpListener::bind(&self.addrs[i]).await.ok()
        })
        .await;
        self.nodes[i] = Some(start_on(listener, self.configs[i].clone()).await.unwrap());
    }

    pub fn node(&self, i: usize) -> &ControllerHandle {
        self.nodes[i].as_ref().unwrap()
    }
}

/// A fake broker: a server that records NOTIFY_BROKER_ROLE_CHANGED, and a heartbeat loop.
pub struct FakeBroker {
    pub name: String,
    pub addr: String,
    pub id: i64,
    pub client: ControllerClient,
    pub notices: Arc<Mutex<Vec<NotifyBrokerRoleChangedRequestHeader>>>,
    server_stop: CancellationToken,
    heartbeat_stop: Option<CancellationToken>,
}

struct NoticeRecorder {
    notices: Arc<Mutex<Vec<NotifyBrokerRoleChangedRequestHeader>>>,
}

impl Handler for NoticeRecorder {
    fn handle(
        &self,
        _conn: ConnectionHandle,
        request: RemotingCommand,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        if request.code == request::NOTIFY_BROKER_ROLE_CHANGED {
            if let Ok(h) = request.decode_header() {
                self.notices.lock().push(h);
            }
        }
        let resp = request.success_to();
        Box::pin(async move { Some(resp) })
    }
}

impl FakeBroker {
    /// Starts the broker's server and joins the controller (next id, apply, register).
    pub async fn join(cluster: &Cluster, broker_name: &str) -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let notices = Arc::new(Mutex::new(Vec::new()));
        let server_stop = CancellationToken::new();
        tokio::spawn(ferromq_net::serve(
            listener,
            Arc::new(NoticeRecorder {
                notices: Arc::clone(&notices),
            }),
            ConnectionConfig::default(),
            server_stop.clone(),
        ));
        let client = cluster.client();
        let (id, _) = client.join(CLUSTER, broker_name, &addr).await.unwrap();
        FakeBroker {
            name: broker_name.to_owned(),
            addr,
            id,
            client,
            notices,
            server_stop,
            heartbeat_stop: None,
        }
    }

    pub fn beat(&self) -> ControllerHeartbeatRequestHeader {
        ControllerHeartbeatRequestHeader {
            cluster_name: CLUSTER.into(),
            broker_addr: self.addr.clone(),
            broker_name: self.name.clone(),
            broker_id: Some(self.id),
            epoch: Some(0),
            max_offset: Some(0),
            confirm_offset: Some(0),
            heartbeat_timeout_mills: Some(1_000),
            election_priority: None,
        }
    }

    /// Heartbeats every 200 ms until [`FakeBroker::stop_heartbeats`].
    pub async fn start_heartbeats(&mut self) {
        self.client.heartbeat(&self.beat()).await.unwrap();
        let stop = CancellationToken::new();
        let (client, beat, token) = (self.client.clone(), self.beat(), stop.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
                let _ = client.heartbeat(&beat).await;
            }
        });
        self.heartbeat_stop = Some(stop);
    }

    pub fn stop_heartbeats(&mut self) {
        if let Some(s) = self.heartbeat_stop.take() {
            s.cancel();
        }
    }
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        self.stop_heartbeats();
        self.server_stop.cancel();
    }
}
