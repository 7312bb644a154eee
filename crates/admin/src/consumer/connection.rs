//! `consumerConnection` (Java `ConsumerConnectionSubCommand`): the live clients of a consumer
//! group and their subscriptions.

use std::fmt;

use ferromq_client::AdminClient;
use ferromq_common::names::retry_topic;
use ferromq_proto::body::ConsumerConnection;
use ferromq_proto::codes::response;

use crate::format::{left, version_desc};
use crate::AdminError;

/// Java `DefaultMQAdminExtImpl.examineConsumerConnectionInfo`: NS 105 for `%RETRY%<group>`, then
/// GET_CONSUMER_CONNECTION_LIST (203) to a broker of that route (or to `broker_addr` when
/// given). No connection is `CONSUMER_NOT_ONLINE`.
pub async fn examine_consumer_connection(
    admin: &AdminClient,
    group: &str,
    broker_addr: Option<&str>,
) -> Result<ConsumerConnection, AdminError> {
    let addr = match broker_addr {
        Some(a) => a.to_owned(),
        None => {
            let route = admin.topic_route(&retry_topic(group)).await?;
            route
                .broker_datas
                .iter()
                .find_map(|bd| {
                    bd.master_addr()
                        .or_else(|| bd.broker_addrs.values().next().map(String::as_str))
                })
                .map(str::to_owned)
                .ok_or_else(|| {
                    AdminError::coded(
                        response::CONSUMER_NOT_ONLINE,
                        "Not found the consumer group connection",
                    )
                })?
        }
    };
    let cc = admin.consumer_connection(&addr, group).await?;
    if cc.connection_set.is_empty() {
        return Err(AdminError::coded(
            response::CONSUMER_NOT_ONLINE,
            "Not found the consumer group connection",
        ));
    }
    Ok(cc)
}

/// The data of `consumerConnection`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConnectionReport {
    /// The group.
    pub group: String,
    /// What the broker reported.
    pub connection: ConsumerConnection,
}

/// Runs `consumerConnection`.
pub async fn consumer_connection(
    admin: &AdminClient,
    group: &str,
    broker_addr: Option<&str>,
) -> Result<ConsumerConnectionReport, AdminError> {
    let group = group.trim();
    let connection = examine_consumer_connection(admin, group, broker_addr.map(str::trim)).await?;
    Ok(ConsumerConnectionReport {
        group: group.to_owned(),
        connection,
    })
}

impl fmt::Display for ConsumerConnectionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cc = &self.connection;
        writeln!(
            f,
            "{} {} {} #Version",
            left("#ClientId", 36),
            left("#ClientAddr", 22),
            left("#Language", 10)
        )?;
        for c in &cc.connection_set {
            writeln!(
                f,
                "{} {} {} {}",
                left(&c.client_id, 36),
                left(&c.client_addr, 22),
                left(&c.language, 10),
                version_desc(c.version)
            )?;
        }
        write!(f, "\nBelow is subscription:\n")?;
        writeln!(f, "{} #SubExpression", left("#Topic", 20))?;
        for sd in cc.subscription_table.values() {
            writeln!(f, "{} {}", left(&sd.topic, 20), sd.sub_string)?;
        }
        writeln!(f)?;
        writeln!(f, "ConsumeType: {}", cc.consume_type)?;
        writeln!(f, "MessageModel: {}", cc.message_model)?;
        writeln!(f, "ConsumeFromWhere: {}", cc.consume_from_where)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ferromq_proto::body::{Connection, ConsumeType, SubscriptionData};

    use super::*;

    #[test]
    fn prints_like_java() {
        let cc = ConsumerConnection {
            connection_set: vec![Connection {
                client_addr: "127.0.0.1:50000".into(),
                client_id: "127.0.0.1@1#2".into(),
                language: "JAVA".into(),
                version: 479,
            }],
            consume_type: ConsumeType::Passively,
            subscription_table: BTreeMap::from([(
                "T".into(),
                SubscriptionData {
                    topic: "T".into(),
                    sub_string: "*".into(),
                    ..Default::default()
                },
            )]),
            ..Default::default()
        };
        let text = ConsumerConnectionReport {
            group: "g".into(),
            connection: cc,
        }
        .to_string();
        let expected = format!(
            "{:<36} {:<22} {:<10} #Version\n{:<36} {:<22} {:<10} V5_3_3\n\nBelow is subscription:\n{:<20} #SubExpression\n{:<20} *\n\nConsumeType: CONSUME_PASSIVELY\nMessageModel: CLUSTERING\nConsumeFromWhere: CONSUME_FROM_LAST_OFFSET\n",
            "#ClientId", "#ClientAddr", "#Language", "127.0.0.1@1#2", "127.0.0.1:50000", "JAVA", "#Topic", "T"
        );
        assert_eq!(text, expected);
    }
}
