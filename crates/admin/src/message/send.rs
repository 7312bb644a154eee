//! `sendMessage` and `checkMsgSendRT` (Java `SendMessageCommand`, `CheckMsgSendRTCommand`):
//! sends through a producer on the admin client's name servers, with a group named after the
//! current time as Java's tools use.

use std::fmt;
use std::time::Instant;

use ferromq_client::{Message, MessageQueue, Producer, SendResult};

use crate::{AdminClient, AdminError};

/// What `sendMessage` sends.
#[derive(Debug, Clone, Default)]
pub struct SendMessageOptions {
    /// Topic.
    pub topic: String,
    /// Body, sent as UTF-8.
    pub body: String,
    /// `KEYS`, as given (space-separated keys).
    pub keys: Option<String>,
    /// `TAGS`.
    pub tags: Option<String>,
    /// The broker to send to, with `queue_id`.
    pub broker_name: Option<String>,
    /// The queue to send to (with `broker_name`).
    pub queue_id: Option<i32>,
}

/// The outcome of `sendMessage`.
#[derive(Debug, Clone)]
pub struct SendMessageReport {
    /// The send result.
    pub result: SendResult,
}

fn row(f: &mut fmt::Formatter<'_>, c: [&str; 4]) -> fmt::Result {
    writeln!(f, "{:<32}  {:<4}  {:<20}    {}", c[0], c[1], c[2], c[3])
}

impl fmt::Display for SendMessageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        row(f, ["#Broker Name", "#QID", "#Send Result", "#MsgId"])?;
        let r = &self.result;
        row(
            f,
            [
                &r.queue.broker_name,
                &r.queue.queue_id.to_string(),
                r.status.as_str(),
                &r.msg_id,
            ],
        )
    }
}

fn tool_producer(admin: &AdminClient) -> Result<Producer, AdminError> {
    let group = ferromq_common::now_millis().to_string();
    Ok(Producer::builder(group)
        .namesrv_addr(admin.namesrv().joined())
        .instance_name(format!("tools-{}", std::process::id()))
        .build()?)
}

/// Sends one message (Java `SendMessageCommand`): to `broker_name`/`queue_id` when both are
/// given, else wherever the producer chooses.
pub async fn send_message(
    admin: &AdminClient,
    opts: &SendMessageOptions,
) -> Result<SendMessageReport, AdminError> {
    let mut msg = Message::new(&opts.topic, opts.body.clone().into_bytes());
    if let Some(t) = &opts.tags {
        msg = msg.with_tags(t.clone());
    }
    if let Some(k) = &opts.keys {
        msg = msg.with_key(k.clone());
    }
    let producer = tool_producer(admin)?;
    let sent = match (&opts.broker_name, opts.queue_id) {
        (Some(b), Some(q)) if q > -1 => {
            let mq = MessageQueue {
                topic: opts.topic.clone(),
                broker_name: b.clone(),
                queue_id: q,
            };
            producer.send_to_queue(msg, &mq).await
        }
        _ => producer.send(msg).await,
    };
    producer.shutdown().await;
    Ok(SendMessageReport { result: sent? })
}

/// One send of `checkMsgSendRT`.
#[derive(Debug, Clone)]
pub struct RtSample {
    /// Broker of the queue the send was meant for.
    pub broker_name: String,
    /// Its queue id.
    pub queue_id: i32,
    /// True when the send succeeded.
    pub success: bool,
    /// Milliseconds it took.
    pub rt_ms: u64,
}

/// The outcome of `checkMsgSendRT`.
#[derive(Debug, Clone)]
pub struct SendRtReport {
    /// Every send, in order.
    pub samples: Vec<RtSample>,
}

impl SendRtReport {
    /// Java's average: the first send (which warms the connection) is left out.
    pub fn average_ms(&self) -> f64 {
        let rest: u64 = self.samples.iter().skip(1).map(|s| s.rt_ms).sum();
        let n = self.samples.len().saturating_sub(1);
        if n == 0 {
            // Java divides by zero here and prints NaN or Infinity; say NaN.
            return f64::NAN;
        }
        rest as f64 / n as f64
    }
}

impl fmt::Display for SendRtReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        row(f, ["#Broker Name", "#QID", "#Send Result", "#RT"])?;
        for s in &self.samples {
            row(
                f,
                [
                    &s.broker_name,
                    &s.queue_id.to_string(),
                    if s.success { "true" } else { "false" },
                    &s.rt_ms.to_string(),
                ],
            )?;
        }
        let avg = self.average_ms();
        if avg.is_nan() {
            writeln!(f, "Avg RT: NaN")
        } else {
            writeln!(f, "Avg RT: {avg:.2}")
        }
    }
}

/// Sends `amount` messages of `size` bytes (`a`s) to `topic`, the i-th to queue `i % queues`,
/// timing each (Java `CheckMsgSendRTCommand`).
pub async fn check_msg_send_rt(
    admin: &AdminClient,
    topic: &str,
    amount: u64,
    size: usize,
) -> Result<SendRtReport, AdminError> {
    let producer = tool_producer(admin)?;
    let body = "a".repeat(size);
    let chosen = std::sync::Mutex::new((String::new(), 0));
    let mut samples = Vec::new();
    for i in 0..amount {
        let select = |mqs: &[MessageQueue], _m: &Message, arg: &str| {
            let n = arg.parse::<u64>().unwrap_or(0);
            let idx = usize::try_from(n % mqs.len().max(1) as u64).unwrap_or(0);
            if let Some(q) = mqs.get(idx) {
                if let Ok(mut c) = chosen.lock() {
                    *c = (q.broker_name.clone(), q.queue_id);
                }
            }
            idx
        };
        let start = Instant::now();
        let sent = producer
            .send_with_selector(
                Message::new(topic, body.clone().into_bytes()),
                &select,
                &i.to_string(),
            )
            .await;
        let rt_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (broker_name, queue_id) = chosen.lock().map(|c| c.clone()).unwrap_or_default();
        samples.push(RtSample {
            broker_name,
            queue_id,
            success: sent.is_ok(),
            rt_ms,
        });
    }
    producer.shutdown().await;
    Ok(SendRtReport { samples })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rt_report_prints_javas_columns_and_leaves_the_first_send_out_of_the_average() {
        let s = |rt| RtSample {
            broker_name: "broker-a".into(),
            queue_id: 1,
            success: true,
            rt_ms: rt,
        };
        let r = SendRtReport {
            samples: vec![s(100), s(2), s(3)],
        };
        let text = r.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "#Broker Name                      #QID  #Send Result            #RT"
        );
        assert_eq!(
            lines[1],
            "broker-a                          1     true                    100"
        );
        assert_eq!(lines[4], "Avg RT: 2.50");
    }
}
