//! Consumer commands: `consumerProgress`, `consumerConnection`, `updateSubGroup`,
//! `deleteSubGroup`, `getConsumerConfig`, `consumerStatus`.

pub mod config;
pub mod connection;
pub mod group;
pub mod progress;
pub mod running;

pub use config::{consumer_config, ConsumerConfigEntry, ConsumerConfigReport};
pub use connection::{consumer_connection, examine_consumer_connection, ConsumerConnectionReport};
pub use group::{
    delete_sub_group, tool_default_group, update_sub_group, DeleteSubGroupReport,
    UpdateSubGroupReport,
};
pub use progress::{
    consumer_progress, examine_consume_stats, group_list, group_of_retry_topic, GroupListReport,
    GroupProgress, GroupSummary,
};
