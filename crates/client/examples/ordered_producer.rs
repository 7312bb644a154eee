//! RocketMQ's ordered-message producer: orders of several steps, all steps of one order on the
//! same queue (selected by the order id), so an orderly consumer sees them in sequence.
//!
//! ```sh
//! NAMESRV_ADDR=127.0.0.1:9876 cargo run -p ferromq-client --example ordered_producer
//! ```

use ferromq_client::{Message, Producer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let producer = Producer::builder("please_rename_unique_group_name_order")
        .namesrv_addr(namesrv)
        .build()?;
    let tags = ["TagA", "TagC", "TagD"];
    for order_id in 0..10 {
        for (step, tag) in ["created", "paid", "shipped", "done"]
            .iter()
            .zip(tags.iter().cycle())
        {
            let msg = Message::new("TopicTestOrder", format!("order {order_id} {step}"))
                .with_tags(*tag)
                .with_key(format!("KEY{order_id}"));
            let r = producer.send_orderly(msg, &order_id.to_string()).await?;
            println!(
                "order {order_id} {step:8} -> queue {} offset {}",
                r.queue.queue_id, r.queue_offset
            );
        }
    }
    producer.shutdown().await;
    Ok(())
}
