//! Topic commands: `updateTopic`, `deleteTopic`, `topicList`, `topicRoute`, `topicStatus`,
//! `updateTopicPerm`, `topicClusterList`.

pub mod clusters;
pub mod delete;
pub mod list;
pub mod perm;
pub mod route;
pub mod status;
pub mod update;

pub use clusters::{topic_cluster_list, TopicClusterListReport};
pub use delete::{delete_topic, DeleteTopicReport};
pub use list::{topic_list, TopicClusterRow, TopicListReport};
pub use perm::{update_topic_perm, PermChange, PermSkip, UpdateTopicPermReport};
pub use route::{topic_route, TopicRouteReport};
pub use status::{topic_status, TopicStatusReport};
pub use update::{
    parse_attributes, topic_config_line, update_topic, Target, UpdateTopicOptions,
    UpdateTopicReport,
};
