//! `updateOrderConf` (Java `UpdateOrderConfCommand`): the `ORDER_TOPIC_CONFIG` KV entry of a
//! topic on the name servers (`brokerName1:num;brokerName2:num`).

use std::fmt;

use ferromq_client::admin::ORDER_TOPIC_CONFIG;
use ferromq_client::AdminClient;
use ferromq_proto::codes::response;

use crate::AdminError;

/// What `-m` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderConfMethod {
    /// `get`: GET_KV_CONFIG (101).
    Get,
    /// `put`: PUT_KV_CONFIG (100) to every name server, with the `-v` value.
    Put(String),
    /// `delete`: DELETE_KV_CONFIG (102) to every name server.
    Delete,
}

/// Runs one `updateOrderConf` method on `topic`.
pub async fn update_order_conf(
    admin: &AdminClient,
    topic: &str,
    method: OrderConfMethod,
) -> Result<OrderConfReport, AdminError> {
    let topic = topic.trim().to_owned();
    match method {
        OrderConfMethod::Get => {
            let Some(conf) = admin.get_kv_config(ORDER_TOPIC_CONFIG, &topic).await? else {
                // The name server's QUERY_NOT_FOUND, which Java's getKVConfig throws.
                return Err(AdminError::coded(
                    response::QUERY_NOT_FOUND,
                    &format!("No config item, Namespace: {ORDER_TOPIC_CONFIG} Key: {topic}"),
                ));
            };
            Ok(OrderConfReport::Got { topic, conf })
        }
        OrderConfMethod::Put(conf) => {
            let conf = conf.trim().to_owned();
            if conf.is_empty() {
                return Err(AdminError::InvalidArgument {
                    reason: "please set orderConf with option -v.".into(),
                });
            }
            admin
                .put_kv_config(ORDER_TOPIC_CONFIG, &topic, &conf)
                .await?;
            Ok(OrderConfReport::Updated { topic, conf })
        }
        OrderConfMethod::Delete => {
            admin.delete_kv_config(ORDER_TOPIC_CONFIG, &topic).await?;
            Ok(OrderConfReport::Deleted { topic })
        }
    }
}

/// The line Java prints (without a line break, as Java's `printf` has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderConfReport {
    /// `get`.
    Got {
        /// The topic.
        topic: String,
        /// Its order conf.
        conf: String,
    },
    /// `put`.
    Updated {
        /// The topic.
        topic: String,
        /// The stored value.
        conf: String,
    },
    /// `delete`.
    Deleted {
        /// The topic.
        topic: String,
    },
}

impl fmt::Display for OrderConfReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderConfReport::Got { topic, conf } => write!(
                f,
                "get orderConf success. topic=[{topic}], orderConf=[{conf}] "
            ),
            OrderConfReport::Updated { topic, conf } => write!(
                f,
                "update orderConf success. topic=[{topic}], orderConf=[{conf}]"
            ),
            OrderConfReport::Deleted { topic } => {
                write!(f, "delete orderConf success. topic=[{topic}]")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_match_java_printf() {
        let got = OrderConfReport::Got {
            topic: "T".into(),
            conf: "broker-a:4".into(),
        };
        assert_eq!(
            got.to_string(),
            "get orderConf success. topic=[T], orderConf=[broker-a:4] "
        );
        let put = OrderConfReport::Updated {
            topic: "T".into(),
            conf: "broker-a:4;broker-b:4".into(),
        };
        assert_eq!(
            put.to_string(),
            "update orderConf success. topic=[T], orderConf=[broker-a:4;broker-b:4]"
        );
        let del = OrderConfReport::Deleted { topic: "T".into() };
        assert_eq!(del.to_string(), "delete orderConf success. topic=[T]");
    }

    #[tokio::test]
    async fn put_without_a_value_fails_before_sending() {
        let admin = AdminClient::connect(Some("127.0.0.1:1")).unwrap();
        let err = update_order_conf(&admin, "T", OrderConfMethod::Put("  ".into()))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "please set orderConf with option -v.");
    }
}
