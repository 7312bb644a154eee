//! RocketMQ's quickstart producer: 10 messages to `TopicTest`, waiting for each result.
//!
//! ```sh
//! cargo run --release --bin ferromq -- standalone   # name server :9876, broker :10911
//! NAMESRV_ADDR=127.0.0.1:9876 cargo run -p ferromq-client --example quickstart_producer
//! ```

use ferromq_client::{Message, Producer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let producer = Producer::builder("please_rename_unique_group_name")
        .namesrv_addr(namesrv)
        .build()?;
    for i in 0..10 {
        let msg = Message::new("TopicTest", format!("Hello RocketMQ {i}")).with_tags("TagA");
        let r = producer.send(msg).await?;
        println!(
            "SendResult [sendStatus={}, msgId={}, offsetMsgId={}, messageQueue={:?}, queueOffset={}]",
            r.status, r.msg_id, r.offset_msg_id, r.queue, r.queue_offset
        );
    }
    producer.shutdown().await;
    Ok(())
}
