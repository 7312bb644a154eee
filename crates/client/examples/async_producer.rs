//! RocketMQ's async producer: many sends in flight, each result arriving as a future (or a
//! callback); back-pressure bounds what is in flight.
//!
//! ```sh
//! NAMESRV_ADDR=127.0.0.1:9876 cargo run -p ferromq-client --example async_producer
//! ```

use ferromq_client::{Message, Producer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let producer = Producer::builder("please_rename_unique_group_name_async")
        .namesrv_addr(namesrv)
        .async_max_in_flight(1000)
        .build()?;
    let mut pending = Vec::new();
    for i in 0..100 {
        let msg = Message::new("TopicTest", format!("Hello world {i}"))
            .with_tags("TagA")
            .with_key("OrderID188");
        // Returns once the send is on its way; the future resolves with the broker's answer.
        pending.push((i, producer.send_async(msg).await?));
    }
    for (i, fut) in pending {
        match fut.await {
            Ok(r) => println!("{i:<5} OK {}", r.msg_id),
            Err(e) => println!("{i:<5} Exception {e}"),
        }
    }
    // The callback form.
    let (tx, rx) = tokio::sync::oneshot::channel();
    producer
        .send_with_callback(Message::new("TopicTest", "with a callback"), move |r| {
            let _ = tx.send(r.map(|r| r.msg_id));
        })
        .await?;
    println!("callback: {:?}", rx.await?);
    producer.shutdown().await;
    Ok(())
}
