//! The requester side of request-reply: sends requests and waits for each reply (RPC over the
//! broker). Run the `reply_responder` example first.
//!
//! ```sh
//! NAMESRV_ADDR=127.0.0.1:9876 cargo run -p ferromq-client --example request_requester -- RequestTopic 10
//! ```

use std::time::{Duration, Instant};

use ferromq_client::{Message, Producer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let mut args = std::env::args().skip(1);
    let topic = args.next().unwrap_or_else(|| "RequestTopic".into());
    let count: usize = args.next().map_or(Ok(10), |n| n.parse())?;
    let producer = Producer::builder("please_rename_unique_group_name_requester")
        .namesrv_addr(namesrv)
        .build()?;
    for i in 0..count {
        let began = Instant::now();
        let request = Message::new(&topic, format!("request {i}"));
        let reply = producer.request(request, Duration::from_secs(3)).await?;
        println!(
            "reply in {:?}: {}",
            began.elapsed(),
            String::from_utf8_lossy(&reply.body)
        );
    }
    producer.shutdown().await;
    Ok(())
}
