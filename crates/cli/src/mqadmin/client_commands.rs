//! Commands answered by a live client through the broker: `consumerStatus`
//! (GET_CONSUMER_RUNNING_INFO, 307) and `queryMsgById -g -d` (CONSUME_MESSAGE_DIRECTLY, 309).

use std::io::Write;

use clap::Parser;
use ferromq_admin::consumer::running::{
    consume_message_directly, consumer_status, ConsumerStatusReport,
};
use ferromq_admin::{AdminClient, AdminError};

use super::commands::Namesrv;

#[derive(Debug, Parser)]
#[command(
    name = "consumerStatus",
    bin_name = "mqadmin consumerStatus",
    about = "Query consumer's internal data structure"
)]
pub(super) struct ConsumerStatusArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// consumer group name
    #[arg(short = 'g', long = "consumerGroup", value_name = "arg")]
    consumer_group: String,
    /// The consumer's client id
    #[arg(short = 'i', long = "clientId", value_name = "arg")]
    client_id: Option<String>,
    /// Run jstack command in the consumer progress
    #[arg(short = 's', long = "jstack")]
    jstack: bool,
    /// The consumer's broker addr
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
}

pub(super) async fn run_consumer_status(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(ConsumerStatusArgs, args);
    let group = a.consumer_group.trim();
    if group.is_empty() {
        return Err(AdminError::InvalidArgument {
            reason: "consumerGroup is empty".into(),
        });
    }
    let admin = a.ns.client()?;
    let report = consumer_status(
        &admin,
        group,
        a.client_id.as_deref().map(str::trim),
        a.jstack,
        a.broker_addr.as_deref(),
    )
    .await?;
    if let ConsumerStatusReport::All { clients, .. } = &report {
        // Java prints each failure's stack trace and goes on with the other clients.
        for c in clients {
            if let Err(e) = &c.info {
                eprintln!("{}: {e}", c.client_id);
            }
        }
    }
    if a.jstack {
        let no_stack = match &report {
            ConsumerStatusReport::One(i) => i.jstack.is_none(),
            ConsumerStatusReport::All { clients, .. } => clients
                .iter()
                .any(|c| c.info.as_ref().is_ok_and(|i| i.jstack.is_none())),
        };
        if no_stack {
            eprintln!("note: -s asks for a JVM thread dump; clients that are not Java (FerroMQ's Rust client among them) send none");
        }
    }
    print!("{report}");
    Ok(0)
}

/// `queryMsgById -i ids -g group -d clientId`: each message consumed directly by that client
/// (Java `QueryMsgByIdSubCommand.pushMsg`), its result printed as Java's `toString`.
pub(super) async fn push_msgs(
    admin: &AdminClient,
    cluster: Option<&str>,
    topic: &str,
    group: &str,
    client_id: &str,
    ids: &[&str],
) -> Result<i32, AdminError> {
    for id in ids {
        let result = consume_message_directly(admin, cluster, topic, group, client_id, id).await?;
        println!("{result}");
        let _ = std::io::stdout().flush();
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqadmin::commands::parse;

    #[test]
    fn options_parse_like_rocketmq() {
        let p = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = parse::<ConsumerStatusArgs>(&p(&["-g", "G", "-i", "1.2.3.4@x", "-s"])).unwrap();
        assert_eq!(
            (a.consumer_group.as_str(), a.client_id.as_deref(), a.jstack),
            ("G", Some("1.2.3.4@x"), true)
        );
        assert!(parse::<ConsumerStatusArgs>(&p(&["-i", "x"])).is_err());
        let b = parse::<ConsumerStatusArgs>(&p(&["-g", "G", "-b", "127.0.0.1:10911"])).unwrap();
        assert_eq!(b.broker_addr.as_deref(), Some("127.0.0.1:10911"));
    }
}
