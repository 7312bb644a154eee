//! RocketMQ's quickstart consumer: every message of `TopicTest`, printed, until Ctrl-C.
//!
//! ```sh
//! NAMESRV_ADDR=127.0.0.1:9876 cargo run -p ferromq-client --example quickstart_consumer
//! ```

use ferromq_client::{ConsumeFrom, ConsumeStatus, PushConsumer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let consumer = PushConsumer::builder("please_rename_unique_group_name_4")
        .namesrv_addr(namesrv)
        .consume_from(ConsumeFrom::FirstOffset)
        .subscribe("TopicTest", "*")
        .listener_concurrently(|msgs, ctx| async move {
            for m in &msgs {
                println!(
                    "Receive New Messages: queue={:?} offset={} msgId={} body={}",
                    ctx.queue,
                    m.queue_offset,
                    m.msg_id(),
                    String::from_utf8_lossy(&m.body)
                );
            }
            ConsumeStatus::Success
        })
        .build()?;
    consumer.start().await?;
    println!("Consumer Started.");
    tokio::signal::ctrl_c().await?;
    consumer.shutdown().await;
    Ok(())
}
