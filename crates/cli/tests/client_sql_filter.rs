//! SQL92 subscriptions with the Rust client against a real broker (`enablePropertyFilter=true`):
//! a push consumer and a lite pull consumer get exactly the messages their expression matches;
//! a lite consumer that subscribes again with a new expression gets the new filter at once; a
//! consumer whose broker does not filter by SQL92 fails to start with the broker's reason, and
//! one with an expression that does not parse is refused before it starts.

mod client_util;
mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_util::{runtime, wait_until};
use common::{create_topic, start_broker, start_namesrv};
use ferromq_client::{
    ConsumeFrom, ConsumeStatus, LitePullConsumer, Message, Producer, PushConsumer,
};

const TOPIC: &str = "tp_sql";

/// 60 messages: `a` = i, `b` = x|y, `c` = p|q|r, `d` only when i % 5 == 0, tags A|B|C|D.
async fn load(ns: &str) {
    let p = Producer::builder("PG_sql")
        .namesrv_addr(ns)
        .build()
        .unwrap();
    for i in 0..60 {
        let mut m = Message::new(TOPIC, format!("m{i}"))
            .with_tags(["A", "B", "C", "D"][i % 4])
            .with_property("a", i.to_string())
            .with_property("b", if i % 2 == 0 { "x" } else { "y" })
            .with_property("c", ["p", "q", "r"][i % 3]);
        if i % 5 == 0 {
            m = m.with_property("d", "set");
        }
        p.send(m).await.unwrap();
    }
    p.shutdown().await;
}

fn expect(pred: impl Fn(usize) -> bool) -> BTreeSet<String> {
    (0..60)
        .filter(|&i| pred(i))
        .map(|i| format!("m{i}"))
        .collect()
}

async fn lite_poll_all(c: &LitePullConsumer, want: usize) -> BTreeSet<String> {
    let mut got = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.len() < want && Instant::now() < deadline {
        for m in c.poll(Duration::from_millis(300)).await {
            assert!(
                got.insert(String::from_utf8_lossy(&m.body).into_owned()),
                "duplicate"
            );
        }
    }
    // A little longer: nothing else may come.
    for m in c.poll(Duration::from_millis(500)).await {
        got.insert(String::from_utf8_lossy(&m.body).into_owned());
    }
    got
}

#[test]
fn push_and_lite_consumers_get_exactly_what_their_expression_matches() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-sql",
        "enablePropertyFilter=true",
    );
    create_topic(&ns.addr, &broker.addr, TOPIC, 2);
    runtime().block_on(async {
        load(&ns.addr).await;
        for (n, (sql, pred)) in [
            (
                "a > 5 AND b = 'x'",
                Box::new(|i: usize| i > 5 && i.is_multiple_of(2)) as Box<dyn Fn(usize) -> bool>,
            ),
            ("c IN ('p','q')", Box::new(|i| i % 3 < 2)),
            ("d IS NULL", Box::new(|i| i % 5 != 0)),
            ("TAGS IN ('A','B')", Box::new(|i| i % 4 < 2)),
        ]
        .into_iter()
        .enumerate()
        {
            let want = expect(&pred);
            let got: Arc<Mutex<Vec<String>>> = Arc::default();
            let g = Arc::clone(&got);
            let push = PushConsumer::builder(format!("CG_sql_push_{n}"))
                .namesrv_addr(ns.addr.clone())
                .consume_from(ConsumeFrom::FirstOffset)
                .subscribe_sql(TOPIC, sql)
                .listener_concurrently(move |msgs, _| {
                    let g = Arc::clone(&g);
                    async move {
                        for m in msgs {
                            g.lock()
                                .unwrap()
                                .push(String::from_utf8_lossy(&m.body).into_owned());
                        }
                        ConsumeStatus::Success
                    }
                })
                .build()
                .unwrap();
            push.start().await.unwrap();
            let complete = wait_until(Duration::from_secs(20), || {
                let got = Arc::clone(&got);
                let want = want.len();
                async move { got.lock().unwrap().len() >= want }
            })
            .await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            push.shutdown().await;
            let seen = got.lock().unwrap().clone();
            assert!(complete, "{sql}: {} of {}", seen.len(), want.len());
            assert_eq!(
                seen.len(),
                want.len(),
                "{sql}: duplicates or extras {seen:?}"
            );
            assert_eq!(
                seen.into_iter().collect::<BTreeSet<_>>(),
                want,
                "{sql} (push)"
            );

            let lite = LitePullConsumer::builder(format!("CG_sql_lite_{n}"))
                .namesrv_addr(ns.addr.clone())
                .consume_from(ConsumeFrom::FirstOffset)
                .build()
                .unwrap();
            lite.subscribe_sql(TOPIC, sql).unwrap();
            lite.start().await.unwrap();
            assert_eq!(lite_poll_all(&lite, want.len()).await, want, "{sql} (lite)");
            lite.shutdown().await;
        }

        // A new expression for a running lite consumer: later pulls use it.
        let lite = LitePullConsumer::builder("CG_sql_change")
            .namesrv_addr(ns.addr.clone())
            .consume_from(ConsumeFrom::FirstOffset)
            .build()
            .unwrap();
        lite.subscribe_sql(TOPIC, "a < 10").unwrap();
        lite.start().await.unwrap();
        assert_eq!(lite_poll_all(&lite, 10).await, expect(|i| i < 10));
        // (A pull already waiting at the broker keeps the expression it was sent with, so the
        // queues are read again from the start.)
        lite.subscribe_sql(TOPIC, "a >= 50").unwrap();
        let p = Producer::builder("PG_sql2")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        for i in 100..105 {
            p.send(Message::new(TOPIC, format!("m{i}")).with_property("a", i.to_string()))
                .await
                .unwrap();
        }
        for q in lite.assignment() {
            lite.seek_to_begin(&q).await.unwrap();
        }
        let later = lite_poll_all(&lite, 15).await;
        let mut want = expect(|i| i >= 50);
        want.extend((100..105).map(|i| format!("m{i}")));
        assert_eq!(later, want);
        lite.shutdown().await;
        p.shutdown().await;

        // An expression that does not parse is refused when the consumer is built.
        let err = PushConsumer::builder("CG_sql_bad")
            .namesrv_addr(ns.addr.clone())
            .subscribe_sql(TOPIC, "a > AND")
            .listener_concurrently(|_, _| async { ConsumeStatus::Success })
            .build()
            .err()
            .expect("a bad expression must be refused");
        assert!(err.to_string().contains("does not parse"), "{err}");
    });
}

#[test]
fn a_broker_without_property_filters_refuses_the_consumer_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-nosql", "");
    create_topic(&ns.addr, &broker.addr, TOPIC, 1);
    runtime().block_on(async {
        let push = PushConsumer::builder("CG_sql_off")
            .namesrv_addr(ns.addr.clone())
            .subscribe_sql(TOPIC, "a > 1")
            .listener_concurrently(|_, _| async { ConsumeStatus::Success })
            .build()
            .unwrap();
        let err = push
            .start()
            .await
            .expect_err("the broker does not filter by SQL92");
        assert!(
            err.to_string()
                .contains("does not support consumer to filter message by SQL92"),
            "{err}"
        );
        push.shutdown().await;
    });
}
