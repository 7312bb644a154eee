//! `mqadmin deleteDlqMessage` against real processes: three messages a Rust consumer fails are
//! dead-lettered, one is deleted, two are listed (`printMsg`) and pullable, the deleted one is
//! not found by `queryMsgById`, all of it survives a broker restart, and `-s true` resends a dead
//! letter to its first topic (consumed there again) before deleting it. Bad input exits 1 with
//! a reason.

mod client_util;
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use client_util::{runtime, wait_until};
use common::{create_topic, mqadmin, start_broker, start_namesrv};
use ferromq_client::{ConsumeStatus, Message, Producer, PullConsumer, PushConsumer};
use ferromq_proto::body::MessageQueue;

const GROUP: &str = "CG_dlqdel";
const DLQ: &str = "%DLQ%CG_dlqdel";

/// (body, offsetMsgId) of every message of the DLQ, as a consumer pulls them.
async fn dead_letters(ns: &str) -> Vec<(String, String)> {
    let reader = PullConsumer::builder("CG_dlqdel_reader")
        .namesrv_addr(ns)
        .build()
        .unwrap();
    let mq = MessageQueue::new(DLQ, "broker-dlqdel", 0);
    let mut out = Vec::new();
    let mut offset = 0;
    // A pull that finds only deleted letters answers none and moves on.
    for _ in 0..10 {
        let Ok(r) = reader.pull(&mq, offset, 64).await else {
            break;
        };
        out.extend(r.messages.iter().map(|m| {
            (
                String::from_utf8_lossy(&m.body).into_owned(),
                m.offset_msg_id(),
            )
        }));
        if r.next_begin_offset <= offset {
            break;
        }
        offset = r.next_begin_offset;
    }
    reader.shutdown().await;
    out
}

fn bodies(letters: &[(String, String)]) -> Vec<&str> {
    letters.iter().map(|(b, _)| b.as_str()).collect()
}

/// The bodies `printMsg -t %DLQ%G -d true` prints.
fn printed(ns: &str) -> Vec<String> {
    let (code, out, err) = mqadmin(&["printMsg", "-n", ns, "-t", DLQ, "-d", "true"]);
    assert_eq!(code, 0, "{out}{err}");
    out.lines()
        .filter(|l| l.starts_with("MSGID:"))
        .filter_map(|l| l.rsplit_once("BODY: ").map(|(_, b)| b.to_owned()))
        .collect()
}

#[test]
fn a_deleted_dead_letter_is_gone_for_good_and_a_resent_one_is_consumed_again() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let mut broker = start_broker(dir.path(), &ns.addr, "broker-dlqdel", "");
    create_topic(&ns.addr, &broker.addr, "tp_dlqdel", 1);
    let rt = runtime();

    let failing = Arc::new(AtomicBool::new(true));
    let consumed: Arc<Mutex<Vec<String>>> = Arc::default();
    let consumer = rt.block_on(async {
        let (f, c) = (Arc::clone(&failing), Arc::clone(&consumed));
        let consumer = PushConsumer::builder(GROUP)
            .namesrv_addr(ns.addr.clone())
            .subscribe("tp_dlqdel", "*")
            // No retry: a failed message goes to the DLQ at once.
            .max_reconsume_times(0)
            .listener_concurrently(move |msgs, _ctx| {
                let (f, c) = (Arc::clone(&f), Arc::clone(&c));
                async move {
                    if f.load(Ordering::SeqCst) {
                        return ConsumeStatus::ReconsumeLater;
                    }
                    for m in &msgs {
                        c.lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&m.body).into_owned());
                    }
                    ConsumeStatus::Success
                }
            })
            .build()
            .unwrap();
        consumer.start().await.unwrap();
        let producer = Producer::builder("PG_dlqdel")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        for i in 0..3 {
            producer
                .send(Message::new("tp_dlqdel", format!("dead-{i}")).with_key(format!("dk-{i}")))
                .await
                .unwrap();
        }
        producer.shutdown().await;
        let all_dead = wait_until(Duration::from_secs(30), || {
            let ns = ns.addr.clone();
            async move { dead_letters(&ns).await.len() == 3 }
        })
        .await;
        assert!(all_dead, "{:?}", dead_letters(&ns.addr).await);
        consumer
    });
    // From now on the group consumes what it gets.
    failing.store(false, Ordering::SeqCst);

    let letters = rt.block_on(dead_letters(&ns.addr));
    let mut sorted = bodies(&letters);
    sorted.sort();
    assert_eq!(sorted, ["dead-0", "dead-1", "dead-2"]);
    let (victim_body, victim_id) = letters[1].clone();
    let (code, out, err) = mqadmin(&[
        "deleteDlqMessage",
        "-n",
        &ns.addr,
        "-g",
        GROUP,
        "-i",
        &victim_id,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("delete dead letter") && out.contains(DLQ),
        "{out}"
    );

    let expect: Vec<String> = letters
        .iter()
        .map(|(b, _)| b.clone())
        .filter(|b| *b != victim_body)
        .collect();
    let check = |when: &str| {
        // After a restart the broker may not be routed again yet.
        rt.block_on(wait_until(Duration::from_secs(20), || {
            let ns = ns.addr.clone();
            async move { !dead_letters(&ns).await.is_empty() }
        }));
        let now = rt.block_on(dead_letters(&ns.addr));
        assert_eq!(bodies(&now), expect, "pulled {when}");
        assert_eq!(printed(&ns.addr), expect, "printMsg {when}");
        let (code, out, err) =
            mqadmin(&["queryMsgById", "-n", &ns.addr, "-t", DLQ, "-i", &victim_id]);
        assert_eq!(code, 1, "the deleted letter was found {when}: {out}");
        assert!(err.contains("no message"), "{err}");
    };
    check("after the delete");
    // Deleting it again says so.
    let (code, out, err) = mqadmin(&[
        "deleteDlqMessage",
        "-n",
        &ns.addr,
        "-g",
        GROUP,
        "-i",
        &victim_id,
    ]);
    assert_eq!(code, 1, "the deleted letter was found again: {out}");
    assert!(err.contains("deleteDlqMessage command failed"), "{err}");

    rt.block_on(consumer.shutdown());
    broker.restart();
    check("after a restart");

    // Resend then delete: the group consumes it from its first topic.
    let consumer = rt.block_on(async {
        let c = Arc::clone(&consumed);
        let consumer = PushConsumer::builder(GROUP)
            .namesrv_addr(ns.addr.clone())
            .subscribe("tp_dlqdel", "*")
            .listener_concurrently(move |msgs, _ctx| {
                let c = Arc::clone(&c);
                async move {
                    for m in &msgs {
                        c.lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&m.body).into_owned());
                    }
                    ConsumeStatus::Success
                }
            })
            .build()
            .unwrap();
        consumer.start().await.unwrap();
        consumer
    });
    let (body, id) = rt.block_on(dead_letters(&ns.addr))[0].clone();
    let (code, out, err) = mqadmin(&[
        "deleteDlqMessage",
        "-n",
        &ns.addr,
        "-g",
        GROUP,
        "-i",
        &id,
        "-s",
        "true",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("SEND_OK") && out.contains("topic=tp_dlqdel"),
        "{out}"
    );
    assert!(out.contains("delete dead letter"), "{out}");
    let again = rt.block_on(wait_until(Duration::from_secs(30), || {
        let c = Arc::clone(&consumed);
        let body = body.clone();
        async move { c.lock().unwrap().contains(&body) }
    }));
    assert!(
        again,
        "the resent letter was not consumed: {:?}",
        consumed.lock().unwrap()
    );
    let left = rt.block_on(dead_letters(&ns.addr));
    assert_eq!(left.len(), 1, "{left:?}");
    assert_ne!(left[0].0, body);
    rt.block_on(consumer.shutdown());
}

#[test]
fn bad_input_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-dlqbad", "");
    create_topic(&ns.addr, &broker.addr, "tp_dlqbad", 1);
    let cases: [(&[&str], &str); 4] = [
        (&["-g", "G"], "--msgId"),
        (&["-i", "0A0B"], "--consumerGroup"),
        (&["-g", "%DLQ%G", "-i", "0A0B"], "consumer group"),
        (&["-g", "G", "-i", "0A0B", "-s", "maybe"], "true or false"),
    ];
    for (args, says) in cases {
        let mut all = vec!["deleteDlqMessage", "-n", &ns.addr];
        all.extend_from_slice(args);
        let (code, out, err) = mqadmin(&all);
        assert_eq!(code, 1, "{args:?}: {out}");
        assert!(
            err.contains(says),
            "{args:?}: `{err}` does not say `{says}`"
        );
    }
    // A group without dead letters: its DLQ topic is not routed.
    let (code, out, err) = mqadmin(&[
        "deleteDlqMessage",
        "-n",
        &ns.addr,
        "-g",
        "CG_none",
        "-i",
        "7F0000010000000000000000000000FF",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("deleteDlqMessage command failed"), "{err}");
}
