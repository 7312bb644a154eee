//! A master and a slave of one brokerName, in process, replicating over loopback: the slave
//! holds and serves what the master stored; a SYNC_MASTER answers SEND_OK only once the slave
//! holds a message, SLAVE_NOT_AVAILABLE with no slave and FLUSH_SLAVE_TIMEOUT when the slave
//! stalls; the slave copies topics, groups and offsets from the master; pulls are steered as
//! RocketMQ steers them.

mod support;

use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferromq_broker::config::BrokerRole;
use ferromq_proto::body::{ConsumerOffsetWrapper, JsonBody};
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::{
    pull_flag, PullMessageRequestHeader, PullMessageResponseHeader, SendMessageResponseHeader,
};
use ferromq_proto::message::record::decode_records;
use ferromq_proto::RemotingCommand;
use support::{start, TestBroker};

const TOPIC: &str = "THa";

fn pull(group: &str, offset: i64) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: group.into(),
        topic: TOPIC.into(),
        queue_id: 0,
        queue_offset: offset,
        max_msg_nums: 64,
        sys_flag: pull_flag::SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        sub_version: 1,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
    };
    RemotingCommand::request(request::PULL_MESSAGE, &header)
}

async fn master(role: BrokerRole, sync_flush_timeout: u64) -> TestBroker {
    start(|c| {
        c.broker_role = role;
        c.sync_flush_timeout = sync_flush_timeout;
        c.ha_send_heartbeat_interval = 200;
        c.ha_housekeeping_interval = 2000;
    })
    .await
}

async fn slave_of(m: &TestBroker, read: bool) -> TestBroker {
    let ha = m.broker.advertised_ha_addr();
    start(|c| {
        c.broker_role = BrokerRole::Slave;
        c.broker_id = 1;
        c.ha_master_address = Some(ha);
        c.slave_read_enable = read;
        c.ha_send_heartbeat_interval = 200;
        c.ha_housekeeping_interval = 2000;
    })
    .await
}

async fn wait_caught_up(s: &TestBroker, m: &TestBroker) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (have, want) = (
            s.broker.store.commit_log_max_offset(),
            m.broker.store.commit_log_max_offset(),
        );
        if have == want && s.broker.store.dispatch_behind_bytes() == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "slave at {have}, master at {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_slave_connected(m: &TestBroker) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while m.broker.ha_master().unwrap().slaves().is_empty() {
        assert!(Instant::now() < deadline, "the slave never connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_master_answers_after_the_slave_holds_the_message() {
    let m = master(BrokerRole::SyncMaster, 3000).await;
    // No slave yet: stored, but SLAVE_NOT_AVAILABLE.
    let resp = m.send(TOPIC, 0, "before", "", None).await;
    assert_eq!(
        resp.code,
        response::SLAVE_NOT_AVAILABLE,
        "{:?}",
        resp.remark
    );

    let s = slave_of(&m, true).await;
    wait_slave_connected(&m).await;
    for i in 0..20 {
        let resp = m.send(TOPIC, 0, &format!("m{i}"), "", None).await;
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
        // SEND_OK means the slave holds it now, not later.
        let h: SendMessageResponseHeader = resp.decode_header().unwrap();
        let acked = m.broker.ha_master().unwrap().acked_offset();
        let end = m.broker.store.commit_log_max_offset();
        assert!(acked >= end, "acked {acked}, log end {end}");
        assert_eq!(h.queue_offset, i + 1);
    }
    wait_caught_up(&s, &m).await;
    let on_slave = s.read(TOPIC, 0, 0);
    let on_master = m.read(TOPIC, 0, 0);
    assert_eq!(on_slave.len(), 21);
    assert_eq!(
        on_slave.iter().map(|m| m.msg_id()).collect::<Vec<_>>(),
        on_master.iter().map(|m| m.msg_id()).collect::<Vec<_>>()
    );
    // The slave refuses sends.
    let resp = s.send(TOPIC, 0, "x", "", None).await;
    assert_eq!(resp.code, response::SERVICE_NOT_AVAILABLE);
    s.stop().await;
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_slave_gives_flush_slave_timeout() {
    use tokio::io::AsyncWriteExt;
    let m = master(BrokerRole::SyncMaster, 300).await;
    // A slave that says hello and then never acknowledges anything.
    let mut stalled = tokio::net::TcpStream::connect(m.broker.advertised_ha_addr())
        .await
        .unwrap();
    let mut hello = BytesMut::new();
    ferromq_ha::protocol::Hello {
        broker_name: "broker-test".into(),
        broker_id: 1,
        segment_size: 16 * 1024 * 1024,
        max_offset: 0,
        min_offset: 0,
        epochs: Vec::new(),
    }
    .encode(&mut hello);
    stalled.write_all(&hello).await.unwrap();
    wait_slave_connected(&m).await;
    let t = Instant::now();
    let resp = m.send(TOPIC, 0, "waits", "", None).await;
    assert_eq!(
        resp.code,
        response::FLUSH_SLAVE_TIMEOUT,
        "{:?}",
        resp.remark
    );
    assert!(t.elapsed() >= Duration::from_millis(250));
    // Stored on the master all the same.
    assert_eq!(m.read(TOPIC, 0, 0).len(), 1);
    drop(stalled);
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slave_copies_metadata_and_serves_reads_while_the_master_is_down() {
    let m = master(BrokerRole::AsyncMaster, 3000).await;
    for i in 0..10 {
        let resp = m.send(TOPIC, 0, &format!("m{i}"), "", None).await;
        assert_eq!(resp.code, response::SUCCESS);
    }
    // A consumer's progress on the master.
    m.broker.groups.find_or_create("CG").unwrap();
    m.broker.offsets.commit("CG", TOPIC, 0, 4);
    let s = slave_of(&m, true).await;
    wait_caught_up(&s, &m).await;
    s.broker.sync_metadata_from(&m.addr).await.unwrap();
    assert!(s.broker.topics.contains(TOPIC));
    assert_eq!(s.broker.offsets.query("CG", TOPIC, 0), Some(4));
    assert!(s.broker.groups.get("CG").is_some());

    // The master is alive: a slave sends the consumer back to it.
    let resp = s.call(pull("CG", 0)).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let h: PullMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(h.suggest_which_broker_id, 0);
    let resp = s.call(pull("CG", 10)).await;
    assert_eq!(resp.code, response::PULL_RETRY_IMMEDIATELY);

    // The master goes away: the slave keeps serving everything acknowledged.
    m.stop().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.broker.ha_slave().unwrap().status().connected {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let resp = s.call(pull("CG", 0)).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let msgs = decode_records(resp.body.clone()).unwrap();
    assert_eq!(msgs.len(), 10);
    // A consumer commits to the slave while the master is away; a later sync of an older
    // master table does not take it back.
    s.broker.offsets.commit("CG", TOPIC, 0, 10);
    let resp = s.call(pull("CG", 10)).await;
    assert_eq!(resp.code, response::PULL_NOT_FOUND, "{:?}", resp.remark);
    let stale_master_table = ConsumerOffsetWrapper {
        offset_table: [(
            ConsumerOffsetWrapper::key(TOPIC, "CG"),
            [(0, 4i64)].into_iter().collect(),
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    s.broker
        .offsets
        .merge_from_master(&stale_master_table.to_json())
        .unwrap();
    assert_eq!(s.broker.offsets.query("CG", TOPIC, 0), Some(10));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_without_slave_read_enable_refuses_pulls() {
    let m = master(BrokerRole::AsyncMaster, 3000).await;
    let resp = m.send(TOPIC, 0, "m", "", None).await;
    assert_eq!(resp.code, response::SUCCESS);
    let s = slave_of(&m, false).await;
    wait_caught_up(&s, &m).await;
    s.broker.sync_metadata_from(&m.addr).await.unwrap();
    let resp = s.call(pull("CG", 0)).await;
    assert_eq!(resp.code, response::SYSTEM_BUSY);
    assert!(resp.remark.unwrap().contains("slaveReadEnable=false"));
    s.stop().await;
    m.stop().await;
}
