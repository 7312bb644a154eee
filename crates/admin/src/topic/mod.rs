//! Topic commands: `updateTopic`, `deleteTopic`, `topicList`, `topicRoute`, `topicStatus`,
//! `updateTopicPerm`, `topicClusterList`, `updateOrderConf`, `allocateMQ`.

pub mod allocate;
pub mod clusters;
pub mod delete;
pub mod list;
pub mod order_conf;
pub mod perm;
pub mod route;
pub mod status;
pub mod update;

pub use allocate::{allocate_mq, AllocateReport};
pub use clusters::{topic_cluster_list, TopicClusterListReport};
pub use delete::{delete_topic, DeleteTopicReport};
pub use list::{topic_list, TopicClusterRow, TopicListReport};
pub use order_conf::{update_order_conf, OrderConfMethod, OrderConfReport};
pub use perm::{update_topic_perm, PermChange, PermSkip, UpdateTopicPermReport};
pub use route::{topic_route, TopicRouteReport};
pub use status::{topic_status, TopicStatusReport};
pub use update::{
    parse_attributes, topic_config_line, update_topic, Target, UpdateTopicOptions,
    UpdateTopicReport,
};
