//! The responder side of request-reply: consumes requests from a topic and answers each one
//! with a reply built from it (`Producer::reply`), until Ctrl-C. Pair it with the
//! `request_requester` example.
//!
//! ```sh
//! NAMESRV_ADDR=127.0.0.1:9876 cargo run -p ferromq-client --example reply_responder -- RequestTopic
//! ```
//!
//! Each reply's body is `reply:` followed by the request's body. Requests that cannot be
//! answered (the requester gave up or left) are reported and skipped.

use ferromq_client::{ConsumeFrom, ConsumeStatus, Producer, PushConsumer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let topic = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "RequestTopic".into());
    let producer = Producer::builder("please_rename_unique_group_name_responder")
        .namesrv_addr(namesrv.clone())
        .build()?;
    let replier = producer.clone();
    let consumer = PushConsumer::builder("please_rename_unique_group_name_responder")
        .namesrv_addr(namesrv)
        .consume_from(ConsumeFrom::FirstOffset)
        .subscribe(&topic, "*")
        .listener_concurrently(move |msgs, _ctx| {
            let replier = replier.clone();
            async move {
                for m in &msgs {
                    let mut body = b"reply:".to_vec();
                    body.extend_from_slice(&m.body);
                    if let Err(e) = replier.reply(m, body).await {
                        eprintln!("could not reply to {}: {e}", m.msg_id());
                    }
                }
                ConsumeStatus::Success
            }
        })
        .build()?;
    consumer.start().await?;
    println!("Responder started on {topic}.");
    tokio::signal::ctrl_c().await?;
    consumer.shutdown().await;
    producer.shutdown().await;
    Ok(())
}
