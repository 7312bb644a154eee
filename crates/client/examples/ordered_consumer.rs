//! RocketMQ's ordered-message consumer: an orderly listener gets each queue's messages one
//! queue at a time, in order, while holding the queue's broker lock; a failure retries the same
//! messages after a pause instead of skipping them.
//!
//! ```sh
//! NAMESRV_ADDR=127.0.0.1:9876 cargo run -p ferromq-client --example ordered_consumer
//! ```

use ferromq_client::{ConsumeFrom, OrderlyStatus, PushConsumer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let consumer = PushConsumer::builder("please_rename_unique_group_name_3")
        .namesrv_addr(namesrv)
        .consume_from(ConsumeFrom::FirstOffset)
        .subscribe("TopicTestOrder", "TagA || TagC || TagD")
        .listener_orderly(|msgs, ctx| async move {
            for m in &msgs {
                println!(
                    "queue {} offset {}: {}",
                    ctx.queue.queue_id,
                    m.queue_offset,
                    String::from_utf8_lossy(&m.body)
                );
            }
            OrderlyStatus::Success
        })
        .build()?;
    consumer.start().await?;
    println!("Consumer Started.");
    tokio::signal::ctrl_c().await?;
    consumer.shutdown().await;
    Ok(())
}
