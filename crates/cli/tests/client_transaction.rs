//! Transactions with the Rust client against a real broker (check-back shortened in
//! broker.conf): commits, rollbacks and unknowns resolved by check-back; consumers see exactly
//! the committed messages, once; a producer that dies and a new one that answers the checks;
//! a broker killed with kill -9 in the middle changes nothing of that.

mod client_util;
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use client_util::runtime;
use common::{create_topic, mqadmin_until, start_broker, start_namesrv};
use ferromq_client::{
    LocalTransactionState, Message, MessageQueue, Producer, PullConsumer, TransactionProducer,
};

const TOPIC: &str = "tp_tx";
/// How long a restarted broker may take to be routed again.
const WAIT_ROUTE: Duration = Duration::from_secs(60);

// Checks every 200 ms; a check with no producer of the group online still counts (as in
// Java), so the limit is raised far above what the seconds between the producer's shutdown
// and the restarted broker's first answered check can use up on a loaded machine (15 checks
// would be only 3 s; past the limit a message is parked in TRANS_CHECK_MAX_TIME_TOPIC, which
// the broker tests cover).
const CONF: &str =
    "transactionTimeOut=500\ntransactionCheckInterval=200\ntransactionCheckMax=100000\n";

/// What the body says should happen: `commit-N`, `rollback-N`, `unknown-commit-N`,
/// `unknown-rollback-N`.
fn decided(body: &str) -> LocalTransactionState {
    if body.starts_with("commit") {
        LocalTransactionState::CommitMessage
    } else if body.starts_with("rollback") {
        LocalTransactionState::RollbackMessage
    } else {
        LocalTransactionState::Unknown
    }
}

fn checked(body: &str) -> LocalTransactionState {
    if body.starts_with("unknown-commit") {
        LocalTransactionState::CommitMessage
    } else {
        LocalTransactionState::RollbackMessage
    }
}

fn producer(ns: &str, instance: &str) -> TransactionProducer {
    TransactionProducer::new(
        Producer::builder("PG_tx")
            .namesrv_addr(ns)
            .instance_name(instance),
        |msg| async move { checked(&String::from_utf8_lossy(&msg.body)) },
    )
    .unwrap()
}

async fn send_all(p: &TransactionProducer, prefix: &str, n: usize) {
    for kind in ["commit", "rollback", "unknown-commit", "unknown-rollback"] {
        for i in 0..n {
            let body = format!("{kind}-{prefix}{i}");
            let r = p
                .send_in_transaction(Message::new(TOPIC, body.clone()), |m, _| async move {
                    decided(&String::from_utf8_lossy(&m.body))
                })
                .await
                .unwrap();
            assert_eq!(r.state, decided(&body));
        }
    }
}

/// Body → times seen, over every queue of the topic.
async fn delivered(ns: &str, broker: &str) -> BTreeMap<String, usize> {
    let c = PullConsumer::builder("CG_tx_reader")
        .namesrv_addr(ns)
        .build()
        .unwrap();
    let mut out = BTreeMap::new();
    for q in 0..2 {
        let mq = MessageQueue::new(TOPIC, broker, q);
        let mut offset = 0;
        while let Ok(r) = c.pull(&mq, offset, 64).await {
            if r.messages.is_empty() {
                break;
            }
            for m in &r.messages {
                *out.entry(String::from_utf8_lossy(&m.body).into_owned())
                    .or_insert(0) += 1;
            }
            offset = r.next_begin_offset;
        }
    }
    c.shutdown().await;
    out
}

fn expected(prefixes: &[&str], n: usize) -> Vec<String> {
    let mut v = Vec::new();
    for p in prefixes {
        for kind in ["commit", "unknown-commit"] {
            for i in 0..n {
                v.push(format!("{kind}-{p}{i}"));
            }
        }
    }
    v.sort();
    v
}

async fn wait_delivered(ns: &str, broker: &str, want: &[String]) -> BTreeMap<String, usize> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = delivered(ns, broker).await;
        if got.len() >= want.len() || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn commits_rollbacks_and_checked_unknowns_across_a_producer_restart_and_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let mut broker = start_broker(dir.path(), &ns.addr, "broker-tx", CONF);
    create_topic(&ns.addr, &broker.addr, TOPIC, 2);
    let rt = runtime();
    const N: usize = 10;

    // Round 1: one producer that answers its own checks.
    rt.block_on(async {
        let p = producer(&ns.addr, "tx-1");
        send_all(&p, "a", N).await;
        let want = expected(&["a"], N);
        let got = wait_delivered(&ns.addr, "broker-tx", &want).await;
        // A little longer, so that a late duplicate would show.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let got2 = delivered(&ns.addr, "broker-tx").await;
        assert_eq!(got, got2);
        assert_eq!(
            got.keys().cloned().collect::<Vec<_>>(),
            want,
            "not exactly the committed ones"
        );
        assert!(got.values().all(|&n| n == 1), "delivered twice: {got:?}");
        p.shutdown().await;
    });

    // Round 2: the producer dies with unknowns open and the broker is killed; a new producer
    // of the group answers the checks after the broker restarts.
    rt.block_on(async {
        let p = producer(&ns.addr, "tx-2");
        send_all(&p, "b", N).await;
        p.shutdown().await;
    });
    broker.proc.kill();
    broker.start_again();
    // The new producer announces its group to the brokers its route lists; one started before
    // the restarted broker has registered again would only meet it at its next heartbeat
    // (30 s). Start it once the name server routes the broker again.
    mqadmin_until(
        &["topicRoute", "-n", &ns.addr, "-t", "TBW102"],
        WAIT_ROUTE,
        |out| out.contains("broker-tx"),
    );
    rt.block_on(async {
        let p = producer(&ns.addr, "tx-3");
        p.start().await;
        let want = expected(&["a", "b"], N);
        let got = wait_delivered(&ns.addr, "broker-tx", &want).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(got, delivered(&ns.addr, "broker-tx").await);
        assert_eq!(got.keys().cloned().collect::<Vec<_>>(), want);
        assert!(got.values().all(|&n| n == 1), "delivered twice: {got:?}");
        p.shutdown().await;
    });
}

/// Transaction send rate against plain sync sends, one at a time from one task (measured, not
/// asserted): `cargo test --release -p ferromq-cli --test client_transaction -- --ignored
/// --nocapture`.
#[test]
#[ignore = "benchmark"]
fn transaction_send_rate_against_plain_sync_sends() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-txb", "");
    create_topic(&ns.addr, &broker.addr, TOPIC, 4);
    const N: usize = 5_000;
    runtime().block_on(async {
        let plain = Producer::builder("PG_plain").namesrv_addr(ns.addr.clone()).build().unwrap();
        let tx = producer(&ns.addr, "txb");
        for _ in 0..200 {
            plain.send(Message::new(TOPIC, "warm")).await.unwrap();
        }
        let t0 = Instant::now();
        for i in 0..N {
            plain.send(Message::new(TOPIC, format!("plain-{i}"))).await.unwrap();
        }
        let plain_rate = N as f64 / t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        for i in 0..N {
            tx.send_in_transaction(Message::new(TOPIC, format!("commit-{i}")), |_, _| async {
                LocalTransactionState::CommitMessage
            })
            .await
            .unwrap();
        }
        let tx_rate = N as f64 / t0.elapsed().as_secs_f64();
        println!(
            "sequential sends of {N}: plain sync {plain_rate:.0} msg/s, transactional (half + commit) {tx_rate:.0} msg/s, ratio {:.2}",
            tx_rate / plain_rate
        );
        plain.shutdown().await;
        tx.shutdown().await;
    });
}
