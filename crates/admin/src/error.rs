//! The admin library's one error type.

use ferromq_client::ClientError;

/// Why an admin operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A call to a name server or broker failed.
    #[error("{source}")]
    Client {
        /// The client's error.
        #[from]
        source: ClientError,
    },

    /// The tools' own "not found" conditions (Java `MQClientException` without a code), e.g.
    /// `Not found the topic stats info`.
    #[error("{message}")]
    NotFound {
        /// The message RocketMQ's tools print.
        message: String,
    },

    /// An option value RocketMQ's tools refuse.
    #[error("{reason}")]
    InvalidArgument {
        /// What is wrong.
        reason: String,
    },

    /// A multi-step operation failed after some steps succeeded; `done` is the output those
    /// steps printed (the CLI prints it before the error, as the Java tool would have).
    #[error("{source}")]
    Partial {
        /// Output of the steps that succeeded.
        done: String,
        /// The failure.
        #[source]
        source: Box<AdminError>,
    },
}

impl AdminError {
    /// Wraps `self` as a failure after `done` was printed (no wrapping when `done` is empty).
    pub(crate) fn after(self, done: String) -> AdminError {
        if done.is_empty() {
            self
        } else {
            AdminError::Partial {
                done,
                source: Box::new(self),
            }
        }
    }

    /// The output printed before the failure, if any.
    pub fn partial_output(&self) -> Option<&str> {
        match self {
            AdminError::Partial { done, .. } => Some(done),
            _ => None,
        }
    }

    /// A coded failure of the tools themselves (Java `MQClientException(code, message)`).
    pub(crate) fn coded(code: i32, message: &str) -> AdminError {
        AdminError::Client {
            source: ClientError::Broker {
                code,
                remark: message.to_owned(),
            },
        }
    }
}
