//! Topic commands: `updateTopic`, `deleteTopic`, `topicList`, `topicRoute`, `topicStatus`.

pub mod delete;
pub mod list;
pub mod route;
pub mod status;
pub mod update;

pub use delete::{delete_topic, DeleteTopicReport};
pub use list::{topic_list, TopicClusterRow, TopicListReport};
pub use route::{topic_route, TopicRouteReport};
pub use status::{topic_status, TopicStatusReport};
pub use update::{
    parse_attributes, topic_config_line, update_topic, Target, UpdateTopicOptions,
    UpdateTopicReport,
};
