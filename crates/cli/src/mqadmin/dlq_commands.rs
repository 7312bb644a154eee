//! `deleteDlqMessage` (FerroMQ's own; RocketMQ cannot delete one message): deletes one dead
//! letter of `%DLQ%<group>`, optionally resending it to its first topic before.

use std::io::Write;

use clap::Parser;
use ferromq_admin::message::delete_dlq_message;
use ferromq_admin::AdminError;

use super::commands::Namesrv;

#[derive(Debug, Parser)]
#[command(
    name = "deleteDlqMessage",
    bin_name = "mqadmin deleteDlqMessage",
    about = "Delete one dead letter of a consumer group (optionally resending it first)."
)]
pub(super) struct DeleteDlqMessageArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// consumer group name (its dead letters are in %DLQ%<group>)
    #[arg(short = 'g', long = "consumerGroup", value_name = "arg")]
    consumer_group: String,
    /// Message Id (offsetMsgId or unique key); several separated by commas
    #[arg(short = 'i', long = "msgId", value_name = "arg")]
    msg_id: String,
    /// resend the message to its original topic before deleting it (true|false)
    #[arg(short = 's', long = "sendMessage", value_name = "arg")]
    send_message: Option<String>,
    /// delete on this broker (default: the broker that stored the message)
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// only look the message up in this cluster
    #[arg(short = 'c', long = "cluster", value_name = "arg")]
    cluster: Option<String>,
}

pub(super) async fn run_delete_dlq_message(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(DeleteDlqMessageArgs, args);
    let resend = match a.send_message.as_deref().map(str::trim) {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(AdminError::InvalidArgument {
                reason: format!("-s takes true or false, not `{v}`"),
            })
        }
    };
    let admin = a.ns.client()?;
    let ids: Vec<&str> = a
        .msg_id
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() {
        return Err(AdminError::InvalidArgument {
            reason: "-i needs a message id".into(),
        });
    }
    for id in ids {
        let report = delete_dlq_message(
            &admin,
            a.cluster.as_deref().map(str::trim),
            &a.consumer_group,
            id,
            resend,
            a.broker_addr.as_deref(),
        )
        .await?;
        print!("{report}");
        let _ = std::io::stdout().flush();
    }
    Ok(0)
}
