//! Consumer commands: `consumerProgress`, `consumerConnection`.

pub mod connection;
pub mod progress;

pub use connection::{consumer_connection, examine_consumer_connection, ConsumerConnectionReport};
pub use progress::{
    consumer_progress, examine_consume_stats, group_list, group_of_retry_topic, GroupListReport,
    GroupProgress, GroupSummary,
};
