//! What a push consumer calls with messages, and what the call answers (Java
//! `MessageListenerConcurrently` / `MessageListenerOrderly` and their statuses).
//!
//! A listener is an async closure `Fn(Vec<MessageExt>, ConsumeContext) -> impl Future`. Its
//! output may be a status, `Result<status, E>` or `Result<(), E>`: an error counts as
//! `ReconsumeLater` (concurrent) or `SuspendCurrentQueueAMoment` (orderly), and so does a panic,
//! which is caught at the listener boundary.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

use ferromq_net::BoxFuture;
use ferromq_proto::body::MessageQueue;
use ferromq_proto::message::MessageExt;

/// Answer of a concurrent listener (Java `ConsumeConcurrentlyStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeStatus {
    /// Done; the offset may move past these messages.
    Success,
    /// Failed; deliver the messages again later (through the retry topic).
    ReconsumeLater,
}

/// Answer of an orderly listener (Java `ConsumeOrderlyStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderlyStatus {
    /// Done; the queue moves on.
    Success,
    /// Failed; stop this queue for a moment and retry the same messages, in order.
    SuspendCurrentQueueAMoment,
}

/// Turns a listener's output into a [`ConsumeStatus`].
pub trait IntoConsumeStatus {
    /// The status.
    fn into_consume_status(self) -> ConsumeStatus;
}

impl IntoConsumeStatus for ConsumeStatus {
    fn into_consume_status(self) -> ConsumeStatus {
        self
    }
}

impl<E: Display> IntoConsumeStatus for Result<ConsumeStatus, E> {
    fn into_consume_status(self) -> ConsumeStatus {
        self.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "listener failed, the messages will be consumed again");
            ConsumeStatus::ReconsumeLater
        })
    }
}

impl<E: Display> IntoConsumeStatus for Result<(), E> {
    fn into_consume_status(self) -> ConsumeStatus {
        self.map(|()| ConsumeStatus::Success).into_consume_status()
    }
}

/// Turns a listener's output into an [`OrderlyStatus`].
pub trait IntoOrderlyStatus {
    /// The status.
    fn into_orderly_status(self) -> OrderlyStatus;
}

impl IntoOrderlyStatus for OrderlyStatus {
    fn into_orderly_status(self) -> OrderlyStatus {
        self
    }
}

impl<E: Display> IntoOrderlyStatus for Result<OrderlyStatus, E> {
    fn into_orderly_status(self) -> OrderlyStatus {
        self.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "orderly listener failed, the queue is suspended a moment");
            OrderlyStatus::SuspendCurrentQueueAMoment
        })
    }
}

impl<E: Display> IntoOrderlyStatus for Result<(), E> {
    fn into_orderly_status(self) -> OrderlyStatus {
        self.map(|()| OrderlyStatus::Success).into_orderly_status()
    }
}

/// Where the messages of one listener call come from.
#[derive(Debug, Clone)]
pub struct ConsumeContext {
    /// Their queue.
    pub queue: MessageQueue,
}

pub(crate) type ConcurrentFn =
    Arc<dyn Fn(Vec<MessageExt>, ConsumeContext) -> BoxFuture<'static, ConsumeStatus> + Send + Sync>;
pub(crate) type OrderlyFn =
    Arc<dyn Fn(Vec<MessageExt>, ConsumeContext) -> BoxFuture<'static, OrderlyStatus> + Send + Sync>;

/// The listener a push consumer runs.
#[derive(Clone)]
pub(crate) enum Listener {
    Concurrent(ConcurrentFn),
    Orderly(OrderlyFn),
}

impl Listener {
    pub(crate) fn concurrent<F, Fut>(f: F) -> Self
    where
        F: Fn(Vec<MessageExt>, ConsumeContext) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoConsumeStatus,
    {
        let f = Arc::new(f);
        Listener::Concurrent(Arc::new(move |msgs, ctx| {
            let fut = f(msgs, ctx);
            Box::pin(async move { fut.await.into_consume_status() })
        }))
    }

    pub(crate) fn orderly<F, Fut>(f: F) -> Self
    where
        F: Fn(Vec<MessageExt>, ConsumeContext) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOrderlyStatus,
    {
        let f = Arc::new(f);
        Listener::Orderly(Arc::new(move |msgs, ctx| {
            let fut = f(msgs, ctx);
            Box::pin(async move { fut.await.into_orderly_status() })
        }))
    }

    pub(crate) fn is_orderly(&self) -> bool {
        matches!(self, Listener::Orderly(_))
    }
}

/// Runs `fut` as its own task so that a panic becomes `on_panic` instead of killing the caller.
pub(crate) async fn catch_panic<T: Send + 'static>(fut: BoxFuture<'static, T>, on_panic: T) -> T {
    match tokio::spawn(fut).await {
        Ok(v) => v,
        Err(e) => {
            if e.is_panic() {
                tracing::error!("the listener panicked; treating it as a consumption failure");
            }
            on_panic
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_convert() {
        assert_eq!(
            Ok::<(), String>(()).into_consume_status(),
            ConsumeStatus::Success
        );
        assert_eq!(
            Err::<(), _>("boom").into_consume_status(),
            ConsumeStatus::ReconsumeLater
        );
        assert_eq!(
            Err::<(), _>("boom").into_orderly_status(),
            OrderlyStatus::SuspendCurrentQueueAMoment
        );
        assert_eq!(
            Ok::<_, String>(OrderlyStatus::Success).into_orderly_status(),
            OrderlyStatus::Success
        );
    }

    #[tokio::test]
    async fn a_panic_is_caught() {
        let l = Listener::concurrent(|_m, _c| async move {
            if true {
                panic!("listener bug");
            }
            ConsumeStatus::Success
        });
        let Listener::Concurrent(f) = l else {
            unreachable!()
        };
        let ctx = ConsumeContext {
            queue: MessageQueue::new("T", "b", 0),
        };
        let status = catch_panic(f(Vec::new(), ctx), ConsumeStatus::ReconsumeLater).await;
        assert_eq!(status, ConsumeStatus::ReconsumeLater);
    }
}
