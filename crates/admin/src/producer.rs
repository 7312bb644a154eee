//! `producerConnection` (Java `ProducerConnectionSubCommand`): the live clients of a producer
//! group.

use std::fmt;

use ferromq_client::AdminClient;
use ferromq_proto::body::ProducerConnection;

use crate::format::{left, version_desc};
use crate::AdminError;

/// Java `DefaultMQAdminExtImpl.examineProducerConnectionInfo`'s failure when nobody is online.
pub const PRODUCER_NOT_FOUND: &str = "Not found the producer group connection";

/// The data of `producerConnection`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConnectionReport {
    /// What the broker reported (never empty).
    pub connection: ProducerConnection,
}

/// Runs `producerConnection`: NS 105 for `topic`, then GET_PRODUCER_CONNECTION_LIST (204) to one
/// broker of the route (its master, else a slave; Java picks a broker at random, which only
/// matters when producers are connected to some brokers and not others). No connection fails
/// with [`PRODUCER_NOT_FOUND`].
pub async fn producer_connection(
    admin: &AdminClient,
    group: &str,
    topic: &str,
) -> Result<ProducerConnectionReport, AdminError> {
    let route = admin.topic_route(topic.trim()).await?;
    let addr = route.broker_datas.iter().find_map(|bd| {
        bd.master_addr()
            .or_else(|| bd.broker_addrs.values().next().map(String::as_str))
    });
    let connection = match addr {
        Some(addr) => admin.producer_connection(addr, group.trim()).await?,
        None => ProducerConnection::default(),
    };
    if connection.connection_set.is_empty() {
        return Err(AdminError::NotFound {
            message: PRODUCER_NOT_FOUND.to_owned(),
        });
    }
    Ok(ProducerConnectionReport { connection })
}

impl fmt::Display for ProducerConnectionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.connection.connection_set.iter().enumerate() {
            writeln!(
                f,
                "{:04}  {} {} {} {}",
                i + 1,
                left(&c.client_id, 32),
                left(&c.client_addr, 22),
                left(&c.language, 8),
                version_desc(c.version)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ferromq_proto::body::Connection;

    use super::*;

    #[test]
    fn prints_numbered_padded_rows_like_java() {
        let conn = |id: &str, addr: &str| Connection {
            client_addr: addr.into(),
            client_id: id.into(),
            language: "JAVA".into(),
            version: 479,
        };
        let r = ProducerConnectionReport {
            connection: ProducerConnection {
                connection_set: vec![
                    conn("127.0.0.1@1#2", "127.0.0.1:50000"),
                    conn("127.0.0.1@3#4", "127.0.0.1:50001"),
                ],
            },
        };
        assert_eq!(
            r.to_string(),
            format!(
                "0001  {:<32} {:<22} {:<8} V5_3_3\n0002  {:<32} {:<22} {:<8} V5_3_3\n",
                "127.0.0.1@1#2",
                "127.0.0.1:50000",
                "JAVA",
                "127.0.0.1@3#4",
                "127.0.0.1:50001",
                "JAVA"
            )
        );
    }
}
