//! Message trace written by the client (Java `AsyncTraceDispatcher`,
//! `SendMessageTraceHookImpl`, `ConsumeMessageTraceHookImpl`): turned on with
//! [`crate::ProducerBuilder::enable_msg_trace`] / [`crate::PushConsumerBuilder::enable_msg_trace`].
//!
//! ```text
//! send succeeded ─▶ Pub record ─┐
//! listener called ─▶ SubBefore ─┼─▶ bounded channel (full: dropped, never waits)
//! listener done ─▶ SubAfter ────┘        │
//!                                         ▼
//!        dispatcher task: batch up to 100 records or 100 ms ─▶ one trace message
//!        (topic RMQ_SYS_TRACE_TOPIC or the customised one; KEYS = the traced message ids
//!        and their keys) sent by an inner producer of group `_INNER_TRACE_PRODUCER-<topic>`
//! ```

use std::sync::Arc;
use std::time::Duration;

use ferromq_proto::message::trace::{encode_trace_data, TraceRecord};
use tokio::sync::mpsc;

use crate::{ClientError, Message, Producer};

/// Records waiting to be sent at most (Java `queueSize` is 2048).
const QUEUE_CAPACITY: usize = 2048;
/// Records in one trace message at most.
const BATCH_MAX: usize = 100;
/// How long a record waits for others to share its trace message.
const BATCH_WAIT: Duration = Duration::from_millis(100);
/// Group of the inner trace producers (Java `TraceConstants.GROUP_NAME_PREFIX`).
pub const TRACE_PRODUCER_GROUP_PREFIX: &str = "_INNER_TRACE_PRODUCER-";

struct Running {
    tx: mpsc::Sender<TraceRecord>,
    task: tokio::task::JoinHandle<()>,
}

/// Collects a client's trace records and sends them to the trace topic.
pub(crate) struct Tracer {
    topic: String,
    region: String,
    producer: Producer,
    running: parking_lot::Mutex<Option<Running>>,
}

impl Tracer {
    /// A tracer writing to `topic` (the default trace topic when `None`) through the name
    /// servers `namesrv`.
    pub(crate) fn new(
        namesrv: Option<&str>,
        topic: Option<&str>,
    ) -> Result<Arc<Tracer>, ClientError> {
        let topic = topic
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(ferromq_common::names::TRACE_TOPIC)
            .to_owned();
        ferromq_common::names::validate_topic(&topic)?;
        let mut builder = Producer::builder(format!("{TRACE_PRODUCER_GROUP_PREFIX}{topic}"))
            .send_timeout(Duration::from_secs(5))
            .retry_times_async(0);
        if let Some(ns) = namesrv {
            builder = builder.namesrv_addr(ns);
        }
        Ok(Arc::new(Tracer {
            topic,
            region: "DefaultRegion".into(),
            producer: builder.build()?,
            running: parking_lot::Mutex::new(None),
        }))
    }

    /// Queues `record` (never waits: with the queue full the record is dropped). Records for
    /// the trace topic itself are not traced.
    pub(crate) fn record(&self, mut record: TraceRecord) {
        if record.topic == self.topic {
            return;
        }
        if record.region_id.is_empty() {
            record.region_id.clone_from(&self.region);
        }
        let mut running = self.running.lock();
        if running.is_none() {
            let Ok(rt) = tokio::runtime::Handle::try_current() else {
                return;
            };
            let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
            let task = rt.spawn(dispatch(self.producer.clone(), self.topic.clone(), rx));
            *running = Some(Running { tx, task });
        }
        if let Some(r) = running.as_ref() {
            if r.tx.try_send(record).is_err() {
                tracing::debug!(topic = %self.topic, "trace queue full; a trace record is dropped");
            }
        }
    }

    /// Sends what is queued (waiting at most 5 s) and stops the inner producer.
    pub(crate) async fn shutdown(&self) {
        let running = self.running.lock().take();
        if let Some(Running { tx, task }) = running {
            drop(tx);
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        // The inner producer has no tracer of its own.
        self.producer.shutdown_untraced().await;
    }
}

async fn dispatch(producer: Producer, topic: String, mut rx: mpsc::Receiver<TraceRecord>) {
    let mut batch = Vec::with_capacity(BATCH_MAX);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        let deadline = tokio::time::Instant::now() + BATCH_WAIT;
        while batch.len() < BATCH_MAX {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(r)) => batch.push(r),
                Ok(None) | Err(_) => break,
            }
        }
        let mut keys: Vec<&str> = batch.iter().flat_map(TraceRecord::index_keys).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut msg = Message::new(&topic, encode_trace_data(&batch));
        msg.keys = keys.into_iter().map(str::to_owned).collect();
        if let Err(e) = producer.send(msg).await {
            tracing::warn!(topic = %topic, records = batch.len(), error = %e, "sending trace data failed");
        }
        batch.clear();
    }
}
