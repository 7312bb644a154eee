//! Master and slave stores in temp dirs, replicated over loopback by the real HA service.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_ha::{EpochCache, HaConfig, HaMaster, HaSlave, SlaveWait};
use ferromq_proto::message::decode_record;
use ferromq_store::{MessageStore, MessageToStore, StoreConfig};

const TOPIC: &str = "TopicHa";

fn config(root: &Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 100 * 20,
        flush_interval_commit_log_ms: 20,
        disk_max_used_space_ratio: 100,
        disk_space_clean_forcibly_ratio: 100,
        disk_space_warning_level_ratio: 100,
        ..StoreConfig::with_root(root)
    }
}

fn open(root: &Path) -> Arc<MessageStore> {
    MessageStore::open(config(root)).expect("open store")
}

fn ha_config(name: &str) -> HaConfig {
    HaConfig {
        heartbeat_interval: Duration::from_millis(200),
        housekeeping_interval: Duration::from_secs(2),
        ..HaConfig::new(name)
    }
}

fn body(i: usize) -> Vec<u8> {
    format!("replicated-{i:05}-").repeat(1 + i % 9).into_bytes()
}

async fn put(store: &MessageStore, from: usize, to: usize) {
    for i in from..to {
        let b = body(i);
        let props = format!("KEYS\u{1}k{i}\u{2}UNIQ_KEY\u{1}U{i:08}\u{2}");
        let msg = MessageToStore {
            topic: TOPIC,
            queue_id: (i % 4) as i32,
            flag: 0,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: "10.0.0.1:5000".parse::<SocketAddr>().unwrap(),
            store_host: "127.0.0.1:10911".parse::<SocketAddr>().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: &b,
            properties: &props,
        };
        let r = store.put_message(msg).await;
        assert!(r.status.is_stored(), "{r:?}");
    }
}

async fn wait_caught_up(slave: &MessageStore, master: &MessageStore) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while slave.commit_log_max_offset() != master.commit_log_max_offset() {
        assert!(
            Instant::now() < deadline,
            "slave at {} never reached the master's {}",
            slave.commit_log_max_offset(),
            master.commit_log_max_offset()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(slave.wait_for_dispatch(Duration::from_secs(10)));
}

/// Every message of every queue, decoded, from `store`.
fn read_all(store: &MessageStore) -> Vec<(i32, Vec<u8>, String)> {
    let mut out = Vec::new();
    for q in 0..4 {
        let mut offset = store.min_offset_in_queue(TOPIC, q);
        loop {
            let r = store.get_message(TOPIC, q, offset, 32, None);
            if r.messages.is_empty() {
                break;
            }
            for m in &r.messages {
                let (msg, _) = decode_record(m).expect("valid record");
                out.push((q, msg.body.to_vec(), msg.msg_id()));
            }
            offset = r.next_begin_offset;
        }
    }
    out.sort_by(|a, b| a.2.cmp(&b.2));
    out
}

fn mem() -> Arc<EpochCache> {
    Arc::new(EpochCache::in_memory())
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slave_copies_the_log_from_empty_and_follows_new_writes() {
    let dir = tempfile::tempdir().unwrap();
    let master_store = open(&dir.path().join("m"));
    // Several segments before the slave exists.
    put(&master_store, 0, 400).await;
    let master = HaMaster::start(Arc::clone(&master_store), ha_config("b"), mem(), loopback())
        .await
        .unwrap();
    let slave_store = open(&dir.path().join("s"));
    let slave = HaSlave::start(
        Arc::clone(&slave_store),
        ha_config("b"),
        mem(),
        1,
        Some(master.local_addr().to_string()),
    );
    wait_caught_up(&slave_store, &master_store).await;
    put(&master_store, 400, 600).await;
    wait_caught_up(&slave_store, &master_store).await;
    assert_eq!(read_all(&slave_store), read_all(&master_store));
    assert_eq!(read_all(&slave_store).len(), 600);
    // Keys are indexed on the slave too.
    let q = slave_store.query_message(TOPIC, "k599", 10, 0, i64::MAX, false);
    assert_eq!(q.messages.len(), 1);
    // The slave's store takes no puts of its own.
    assert!(slave_store.refusal().unwrap().contains("replica"));
    let status = slave.status();
    assert!(status.connected, "{status:?}");
    assert_eq!(master.slaves().len(), 1);
    assert_eq!(master.slaves()[0].broker_id, 1);

    // Acks reach the master: a SYNC_MASTER wait returns at once for what the slave holds.
    let end = master_store.commit_log_max_offset();
    let t = Instant::now();
    while master.acked_offset() < end {
        assert!(t.elapsed() < Duration::from_secs(10), "no ack");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        master.wait_for_slaves(end, Duration::from_secs(1)).await,
        SlaveWait::Replicated
    );
    slave.stop().await;
    master.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slave_resumes_after_either_side_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (mroot, sroot) = (dir.path().join("m"), dir.path().join("s"));
    let master_store = open(&mroot);
    put(&master_store, 0, 100).await;
    let master = HaMaster::start(Arc::clone(&master_store), ha_config("b"), mem(), loopback())
        .await
        .unwrap();
    let addr = master.local_addr();
    let slave_store = open(&sroot);
    let slave = HaSlave::start(
        Arc::clone(&slave_store),
        ha_config("b"),
        mem(),
        1,
        Some(addr.to_string()),
    );
    wait_caught_up(&slave_store, &master_store).await;

    // The slave stops (cleanly), the master goes on, the slave comes back and continues.
    slave.stop().await;
    drop(slave);
    slave_store.shutdown().unwrap();
    drop(slave_store);
    put(&master_store, 100, 250).await;
    let slave_store = open(&sroot);
    let slave = HaSlave::start(
        Arc::clone(&slave_store),
        ha_config("b"),
        mem(),
        1,
        Some(addr.to_string()),
    );
    wait_caught_up(&slave_store, &master_store).await;

    // The master restarts on another port; the slave is told the new address.
    master.stop().await;
    drop(master);
    master_store.shutdown().unwrap();
    drop(master_store);
    let master_store = open(&mroot);
    put(&master_store, 250, 300).await;
    let master = HaMaster::start(Arc::clone(&master_store), ha_config("b"), mem(), loopback())
        .await
        .unwrap();
    slave.set_master(Some(master.local_addr().to_string()));
    wait_caught_up(&slave_store, &master_store).await;
    let all = read_all(&slave_store);
    assert_eq!(all.len(), 300);
    assert_eq!(all, read_all(&master_store));
    slave.stop().await;
    master.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mismatched_slaves_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let master_store = open(&dir.path().join("m"));
    put(&master_store, 0, 10).await;
    let master = HaMaster::start(
        Arc::clone(&master_store),
        ha_config("broker-a"),
        mem(),
        loopback(),
    )
    .await
    .unwrap();
    let slave_store = open(&dir.path().join("s"));
    let slave = HaSlave::start(
        Arc::clone(&slave_store),
        ha_config("broker-b"),
        mem(),
        1,
        Some(master.local_addr().to_string()),
    );
    let err = last_error(&slave).await;
    assert!(err.contains("brokerName mismatch"), "{err}");
    assert_eq!(slave_store.commit_log_max_offset(), 0);
    assert!(master.slaves().is_empty());
    assert_eq!(
        master.wait_for_slaves(1, Duration::from_millis(10)).await,
        SlaveWait::NotAvailable
    );
    slave.stop().await;

    // A slave whose log is ahead of the master's (a former master) is refused too.
    let ahead_root = dir.path().join("ahead");
    let ahead = open(&ahead_root);
    put(&ahead, 0, 50).await;
    drop(ahead);
    let ahead = open(&ahead_root);
    let before = ahead.commit_log_max_offset();
    let slave = HaSlave::start(
        Arc::clone(&ahead),
        ha_config("broker-a"),
        mem(),
        1,
        Some(master.local_addr().to_string()),
    );
    let err = last_error(&slave).await;
    assert!(err.contains("past this master's end"), "{err}");
    assert_eq!(ahead.commit_log_max_offset(), before, "nothing was written");
    slave.stop().await;
    master.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_stream_is_not_appended() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A fake master that accepts the hello and then sends garbage as a data frame.
    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut hello = [0u8; 64];
        let _ = s.read(&mut hello).await.unwrap();
        let mut out = bytes::BytesMut::new();
        ferromq_ha::protocol::HelloReply::Accepted {
            start_offset: 0,
            master_max: 4096,
            truncate: false,
            epochs: Vec::new(),
        }
        .encode(&mut out);
        ferromq_ha::protocol::DataHeader {
            offset: 0,
            len: 200,
            master_max: 4096,
        }
        .encode(&mut out);
        out.extend_from_slice(&[0xAB; 200]);
        s.write_all(&out).await.unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest).await;
    });
    let dir = tempfile::tempdir().unwrap();
    let slave_store = open(&dir.path().join("s"));
    let slave = HaSlave::start(
        Arc::clone(&slave_store),
        ha_config("b"),
        mem(),
        1,
        Some(addr.to_string()),
    );
    let err = last_error(&slave).await;
    assert!(err.contains("malformed"), "{err}");
    assert_eq!(slave_store.commit_log_max_offset(), 0);
    slave.stop().await;
    fake.abort();
}

/// Catch-up rate: a master holding `FERROMQ_HA_BENCH_MIB` MiB (default 1024) of 4 KiB messages,
/// and a slave started empty against it. Run with
/// `cargo test --release -p ferromq-ha --test replication -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: writes a GiB twice"]
async fn catch_up_rate_from_empty() {
    let mib: usize = std::env::var("FERROMQ_HA_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = tempfile::tempdir().unwrap();
    let big = |root: &Path| StoreConfig {
        mapped_file_size_commit_log: 256 << 20,
        mapped_file_size_consume_queue: 300_000 * 20,
        disk_max_used_space_ratio: 100,
        disk_space_clean_forcibly_ratio: 100,
        disk_space_warning_level_ratio: 100,
        ..StoreConfig::with_root(root)
    };
    let master_store = MessageStore::open(big(&dir.path().join("m"))).unwrap();
    let body = vec![b'x'; 4096];
    let count = mib * 256;
    let t = Instant::now();
    for chunk in 0..count / 64 {
        let msgs: Vec<MessageToStore<'_>> = (0..64)
            .map(|i| MessageToStore {
                topic: TOPIC,
                queue_id: ((chunk * 64 + i) % 8) as i32,
                flag: 0,
                sys_flag: 0,
                born_timestamp: 1_700_000_000_000,
                born_host: "10.0.0.1:5000".parse::<SocketAddr>().unwrap(),
                store_host: "127.0.0.1:10911".parse::<SocketAddr>().unwrap(),
                reconsume_times: 0,
                prepared_transaction_offset: 0,
                body: &body,
                properties: "",
            })
            .collect();
        assert!(master_store.put_batch(&msgs).status.is_stored());
    }
    master_store.flush().unwrap();
    let bytes = master_store.commit_log_max_offset();
    println!(
        "master filled: {} MiB in {:.1} s",
        bytes >> 20,
        t.elapsed().as_secs_f64()
    );
    let master = HaMaster::start(
        Arc::clone(&master_store),
        HaConfig::new("b"),
        mem(),
        loopback(),
    )
    .await
    .unwrap();
    let slave_store = MessageStore::open(big(&dir.path().join("s"))).unwrap();
    let t = Instant::now();
    let slave = HaSlave::start(
        Arc::clone(&slave_store),
        HaConfig::new("b"),
        mem(),
        1,
        Some(master.local_addr().to_string()),
    );
    while slave_store.commit_log_max_offset() < bytes {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let copied = t.elapsed().as_secs_f64();
    assert!(slave_store.wait_for_dispatch(Duration::from_secs(600)));
    let dispatched = t.elapsed().as_secs_f64();
    println!(
        "slave caught up from empty: {} MiB in {copied:.2} s = {:.0} MiB/s (consume queues and index built after {dispatched:.2} s)",
        bytes >> 20,
        (bytes as f64 / (1 << 20) as f64) / copied
    );
    slave.stop().await;
    master.stop().await;
}

/// The reason the slave's replication stopped, once there is one.
async fn last_error(slave: &HaSlave) -> String {
    wait_status(slave, "an error", |s| s.last_error.is_some()).await;
    slave.status().last_error.unwrap_or_default()
}

async fn wait_status(slave: &HaSlave, what: &str, pred: impl Fn(&ferromq_ha::SlaveStatus) -> bool) {
    let t = Instant::now();
    while !pred(&slave.status()) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{what}: {:?}",
            slave.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A master that wrote bytes no slave got, replaced by its slave at a new epoch, rejoins as a
/// slave: the new master tells it where its log stops agreeing, it cuts its log there (closed,
/// then reopened), and then follows the new master.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_master_cuts_what_it_alone_wrote_and_follows_the_new_master() {
    let dir = tempfile::tempdir().unwrap();
    let (a_root, b_root) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a_root).unwrap();
    std::fs::create_dir_all(&b_root).unwrap();
    let a_store = open(&a_root);
    let a_epochs = Arc::new(EpochCache::load(&a_root).unwrap());
    a_epochs.begin(1, 0).unwrap();
    let a = HaMaster::start(
        Arc::clone(&a_store),
        ha_config("b"),
        Arc::clone(&a_epochs),
        loopback(),
    )
    .await
    .unwrap();
    let b_store = open(&b_root);
    let b_epochs = Arc::new(EpochCache::load(&b_root).unwrap());
    let b_slave = HaSlave::start(
        Arc::clone(&b_store),
        ha_config("b"),
        Arc::clone(&b_epochs),
        1,
        Some(a.local_addr().to_string()),
    );
    put(&a_store, 0, 100).await;
    wait_caught_up(&b_store, &a_store).await;
    assert_eq!(
        b_epochs.entries(),
        a_epochs.entries(),
        "the slave keeps its master's epochs"
    );

    // The link breaks; A goes on alone.
    b_slave.stop().await;
    drop(b_slave);
    put(&a_store, 100, 150).await;
    let a_end = a_store.commit_log_max_offset();

    // B is elected master at epoch 2 and takes writes.
    b_store.set_replica(false);
    b_epochs.begin(2, b_store.commit_log_max_offset()).unwrap();
    let cut = b_store.commit_log_max_offset();
    assert!(cut < a_end);
    let b = HaMaster::start(
        Arc::clone(&b_store),
        ha_config("b"),
        Arc::clone(&b_epochs),
        loopback(),
    )
    .await
    .unwrap();
    put(&b_store, 1000, 1030).await;

    // A comes back as B's slave: told to cut its log back to where epoch 2 began.
    a.stop().await;
    drop(a);
    let a_slave = HaSlave::start(
        Arc::clone(&a_store),
        ha_config("b"),
        Arc::clone(&a_epochs),
        2,
        Some(b.local_addr().to_string()),
    );
    wait_status(&a_slave, "told to cut", |s| s.must_truncate_to.is_some()).await;
    assert_eq!(a_slave.status().must_truncate_to, Some(cut));
    assert_eq!(
        a_store.commit_log_max_offset(),
        a_end,
        "nothing cut while open"
    );
    a_slave.stop().await;
    drop(a_slave);
    a_store.shutdown().unwrap();
    drop(a_store);
    MessageStore::truncate_closed(&config(&a_root), cut).unwrap();
    let a_store = open(&a_root);
    assert_eq!(a_store.commit_log_max_offset(), cut);
    let a_slave = HaSlave::start(
        Arc::clone(&a_store),
        ha_config("b"),
        Arc::clone(&a_epochs),
        2,
        Some(b.local_addr().to_string()),
    );
    wait_caught_up(&a_store, &b_store).await;
    let on_a = read_all(&a_store);
    assert_eq!(on_a, read_all(&b_store));
    assert_eq!(
        on_a.len(),
        130,
        "100 replicated + 30 from the new master; A's 50 are gone"
    );
    assert_eq!(a_epochs.entries(), b_epochs.entries());
    a_slave.stop().await;
    b.stop().await;
}
