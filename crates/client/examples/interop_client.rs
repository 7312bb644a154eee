//! The Rust client as a command for cross-client tests (`interop/test_rust_client.py`): it
//! produces or consumes and prints one JSON object per message on stdout.
//!
//! ```text
//! interop_client produce --namesrv NS --topic T --count N [--tags TAG] [--prefix P]
//!                        [--mode sync|async|oneway|orderly|batch] [--key-count K]
//! interop_client consume --namesrv NS --topic T --group G --expect N [--timeout-secs S]
//!                        [--expression EXPR] [--orderly]
//! ```
//! `consume` exits 0 once it has seen N distinct messages, 2 on timeout.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferromq_client::{
    ConsumeFrom, ConsumeStatus, Message, MessageExt, OrderlyStatus, Producer, PushConsumer,
};
use serde_json::json;

fn args() -> (String, HashMap<String, String>) {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().unwrap_or_default();
    let mut opts = HashMap::new();
    while let Some(k) = it.next() {
        let Some(k) = k.strip_prefix("--") else {
            continue;
        };
        if k == "orderly" {
            opts.insert(k.to_owned(), "true".to_owned());
            continue;
        }
        opts.insert(k.to_owned(), it.next().unwrap_or_default());
    }
    (cmd, opts)
}

fn opt<'a>(o: &'a HashMap<String, String>, k: &str) -> &'a str {
    o.get(k).map(String::as_str).unwrap_or_else(|| {
        eprintln!("missing --{k}");
        std::process::exit(64)
    })
}

fn line(m: &MessageExt) -> String {
    let props: BTreeMap<&str, &str> = m.properties.iter().collect();
    json!({
        "msg_id": m.msg_id(),
        "topic": m.topic,
        "body": String::from_utf8_lossy(&m.body),
        "tags": m.tags(),
        "keys": m.keys(),
        "queue_id": m.queue_id,
        "queue_offset": m.queue_offset,
        "reconsume_times": m.reconsume_times,
        "props": props,
    })
    .to_string()
}

async fn produce(o: &HashMap<String, String>) -> Result<(), Box<dyn std::error::Error>> {
    let topic = opt(o, "topic");
    let count: usize = opt(o, "count").parse()?;
    let prefix = o.get("prefix").map(String::as_str).unwrap_or("rust");
    let tags = o.get("tags");
    let mode = o.get("mode").map(String::as_str).unwrap_or("sync");
    let key_count: usize = o
        .get("key-count")
        .map(|k| k.parse())
        .transpose()?
        .unwrap_or(4);
    // A fresh broker may take a few seconds over its first write (creating the first 1 GiB
    // commit-log file), so allow more than the 3 s default.
    let producer = Producer::builder("PG_rust_interop")
        .namesrv_addr(opt(o, "namesrv"))
        .send_timeout(Duration::from_secs(15))
        .build()?;
    let make = |i: usize| {
        let mut m = Message::new(topic, format!("{prefix}-{i}"))
            .with_key(format!("key-{}", i % key_count))
            .with_property("seq", i.to_string());
        if let Some(t) = tags {
            m = m.with_tags(t.clone());
        }
        m
    };
    let print = |i: usize, msg_id: &str, queue_id: i32, offset: i64| {
        println!(
            "{}",
            json!({"i": i, "msg_id": msg_id, "body": format!("{prefix}-{i}"), "queue_id": queue_id, "queue_offset": offset})
        );
    };
    match mode {
        "async" => {
            let mut futs = Vec::new();
            for i in 0..count {
                futs.push((i, producer.send_async(make(i)).await?));
            }
            for (i, f) in futs {
                let r = f.await?;
                print(i, &r.msg_id, r.queue.queue_id, r.queue_offset);
            }
        }
        "oneway" => {
            for i in 0..count {
                producer.send_oneway(make(i)).await?;
                print(i, "", -1, -1);
            }
        }
        "orderly" => {
            for i in 0..count {
                let r = producer
                    .send_orderly(make(i), &format!("key-{}", i % key_count))
                    .await?;
                print(i, &r.msg_id, r.queue.queue_id, r.queue_offset);
            }
        }
        "batch" => {
            let msgs: Vec<Message> = (0..count).map(make).collect();
            let r = producer.send_batch(msgs).await?;
            for (i, id) in r.msg_id.split(',').enumerate() {
                print(i, id, r.queue.queue_id, r.queue_offset + i as i64);
            }
        }
        _ => {
            for i in 0..count {
                let r = producer.send(make(i)).await?;
                print(i, &r.msg_id, r.queue.queue_id, r.queue_offset);
            }
        }
    }
    producer.shutdown().await;
    Ok(())
}

async fn consume(o: &HashMap<String, String>) -> Result<bool, Box<dyn std::error::Error>> {
    let expect: usize = opt(o, "expect").parse()?;
    let timeout = Duration::from_secs(
        o.get("timeout-secs")
            .map(|s| s.parse())
            .transpose()?
            .unwrap_or(60),
    );
    let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    let builder = PushConsumer::builder(opt(o, "group"))
        .namesrv_addr(opt(o, "namesrv"))
        .consume_from(ConsumeFrom::FirstOffset)
        .subscribe(
            opt(o, "topic"),
            o.get("expression").map(String::as_str).unwrap_or("*"),
        );
    let s = Arc::clone(&seen);
    let record = move |msgs: &[MessageExt]| {
        let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
        for m in msgs {
            println!("{}", line(m));
            s.insert(m.msg_id());
        }
    };
    let consumer = if o.contains_key("orderly") {
        builder
            .listener_orderly(move |msgs, _ctx| {
                record(&msgs);
                async { OrderlyStatus::Success }
            })
            .build()?
    } else {
        builder
            .listener_concurrently(move |msgs, _ctx| {
                record(&msgs);
                async { ConsumeStatus::Success }
            })
            .build()?
    };
    consumer.start().await?;
    let deadline = Instant::now() + timeout;
    let ok = loop {
        if seen.lock().unwrap_or_else(|e| e.into_inner()).len() >= expect {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    consumer.shutdown().await;
    Ok(ok)
}

#[tokio::main]
async fn main() {
    let (cmd, o) = args();
    let result = match cmd.as_str() {
        "produce" => produce(&o).await.map(|()| true),
        "consume" => consume(&o).await,
        _ => {
            eprintln!("usage: interop_client produce|consume --namesrv NS --topic T ...");
            std::process::exit(64);
        }
    };
    match result {
        Ok(true) => {}
        Ok(false) => std::process::exit(2),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
