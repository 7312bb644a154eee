//! RocketMQ's broadcasting consumer: every consumer of the group gets every message; progress
//! is kept in a local file (`~/.rocketmq_offsets/<clientId>/<group>/offsets.json`), so a
//! restarted consumer with the same instance name carries on where it stopped.
//!
//! ```sh
//! NAMESRV_ADDR=127.0.0.1:9876 cargo run -p ferromq-client --example broadcast_consumer [instance]
//! ```

use ferromq_client::{ConsumeFrom, ConsumeStatus, MessageModel, PushConsumer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let instance = std::env::args().nth(1).unwrap_or_else(|| "DEFAULT".into());
    let consumer = PushConsumer::builder("please_rename_unique_group_name_1")
        .namesrv_addr(namesrv)
        .instance_name(instance)
        .message_model(MessageModel::Broadcasting)
        .consume_from(ConsumeFrom::FirstOffset)
        .subscribe("TopicTest", "TagA || TagC || TagD")
        .listener_concurrently(|msgs, _ctx| async move {
            for m in &msgs {
                println!(
                    "Receive New Messages: {} {}",
                    m.msg_id(),
                    String::from_utf8_lossy(&m.body)
                );
            }
            ConsumeStatus::Success
        })
        .build()?;
    consumer.start().await?;
    match consumer.offset_file() {
        Some(path) => println!(
            "Broadcast Consumer Started (offsets in {}).",
            path.display()
        ),
        None => println!("Broadcast Consumer Started."),
    }
    tokio::signal::ctrl_c().await?;
    consumer.shutdown().await;
    Ok(())
}
