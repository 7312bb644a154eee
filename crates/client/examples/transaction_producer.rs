//! RocketMQ's transaction example: 10 half messages whose local transactions commit, roll back
//! or stay unknown in turn; the unknown ones are settled when the broker checks back (after
//! `transactionTimeOut`, 6 s, at the next check round: `transactionCheckInterval`, 30 s, by
//! default), here by committing the even keys and rolling back the odd ones.
//!
//! ```sh
//! NAMESRV_ADDR=127.0.0.1:9876 cargo run -p ferromq-client --example transaction_producer
//! ```

use std::time::Duration;

use ferromq_client::{LocalTransactionState, Message, Producer, TransactionProducer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let producer = TransactionProducer::new(
        Producer::builder("please_rename_unique_group_name").namesrv_addr(namesrv),
        // The broker's check of a transaction left unknown.
        |msg| async move {
            let n: u32 = msg.keys().and_then(|k| k.parse().ok()).unwrap_or(0);
            println!("check of {} (key {n})", msg.msg_id());
            if n.is_multiple_of(2) {
                LocalTransactionState::CommitMessage
            } else {
                LocalTransactionState::RollbackMessage
            }
        },
    )?;
    producer.start().await;
    for i in 0..10u32 {
        let msg = Message::new("TopicTest", format!("Hello transaction {i}"))
            .with_tags("TagA")
            .with_key(i.to_string());
        let r = producer
            .send_in_transaction(msg, move |_msg, _sent| async move {
                match i % 3 {
                    0 => LocalTransactionState::CommitMessage,
                    1 => LocalTransactionState::RollbackMessage,
                    _ => LocalTransactionState::Unknown,
                }
            })
            .await?;
        println!("{} {:?} -> {:?}", r.send.msg_id, r.send.status, r.state);
    }
    // Stay up for the checks of the unknown ones.
    tokio::time::sleep(Duration::from_secs(45)).await;
    producer.shutdown().await;
    Ok(())
}
