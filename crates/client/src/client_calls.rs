//! The admin calls a broker passes on to this client (Java `ClientRemotingProcessor`):
//! GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309), answered by the
//! group's consumer in this instance.
//!
//! ```text
//! broker ──307 (consumerGroup)──▶ consumer hook ─▶ ConsumerRunningInfo (+ name servers, version)
//! broker ──309 (consumerGroup, brokerName; body: the stored message)──▶ listener ─▶ result
//! ```
//!
//! A group with no consumer here is SYSTEM_ERROR "The Consumer Group <g> not exist in this
//! consumer", as Java answers.

use ferromq_proto::body::running::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
    PROP_CLIENT_VERSION, PROP_NAMESERVER_ADDR,
};
use ferromq_proto::body::JsonBody;
use ferromq_proto::codes::response;
use ferromq_proto::command::CURRENT_VERSION;
use ferromq_proto::message::record::decode_record;
use ferromq_proto::RemotingCommand;

use crate::instance::ClientInstance;

/// Answers GET_CONSUMER_RUNNING_INFO.
pub(crate) fn running_info(instance: &ClientInstance, req: &RemotingCommand) -> RemotingCommand {
    let h: GetConsumerRunningInfoRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return req.response_to(response::SYSTEM_ERROR, Some(e.to_string())),
    };
    let info = instance
        .consumer_hook(&h.consumer_group)
        .and_then(|c| c.running_info());
    let Some(mut info) = info else {
        return not_here(req, &h.consumer_group);
    };
    info.properties.insert(
        PROP_NAMESERVER_ADDR.to_owned(),
        instance.rpc().namesrv().addrs().join(";"),
    );
    info.properties.insert(
        PROP_CLIENT_VERSION.to_owned(),
        version_name(CURRENT_VERSION),
    );
    // jstackEnable asks for a JVM thread dump; a Rust client has none to give, so `jstack`
    // stays unset (the tool says so).
    req.success_to().with_body(info.to_json())
}

/// Answers CONSUME_MESSAGE_DIRECTLY once the listener has run.
pub(crate) async fn consume_directly(
    instance: &ClientInstance,
    req: &RemotingCommand,
) -> RemotingCommand {
    let h: ConsumeMessageDirectlyResultRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return req.response_to(response::SYSTEM_ERROR, Some(e.to_string())),
    };
    let msg = match decode_record(&req.body) {
        Ok((m, _)) => m,
        Err(e) => {
            return req.response_to(
                response::SYSTEM_ERROR,
                Some(format!("cannot decode the message: {e}")),
            )
        }
    };
    let broker_name = h.broker_name.unwrap_or_default();
    let run = instance
        .consumer_hook(&h.consumer_group)
        .and_then(|c| c.consume_directly(msg, broker_name));
    match run {
        Some(fut) => {
            let result = fut.await;
            req.success_to().with_body(result.to_json())
        }
        None => not_here(req, &h.consumer_group),
    }
}

fn not_here(req: &RemotingCommand, group: &str) -> RemotingCommand {
    req.response_to(
        response::SYSTEM_ERROR,
        Some(format!(
            "The Consumer Group <{group}> not exist in this consumer"
        )),
    )
}

/// Java `MQVersion.getVersionDesc` for the ordinals of 4.0.0 and later (each version has a
/// `_SNAPSHOT` ordinal, then its release): `V5_3_3` for 479.
fn version_name(ordinal: i32) -> String {
    const V4_0_0_SNAPSHOT: i32 = 212;
    if ordinal < V4_0_0_SNAPSHOT {
        return ordinal.to_string();
    }
    let k = (ordinal - V4_0_0_SNAPSHOT) / 2;
    let (major, minor, patch) = (4 + k / 100, (k % 100) / 10, k % 10);
    if major > 5 {
        return "HIGHER_VERSION".to_owned();
    }
    let snapshot = if (ordinal - V4_0_0_SNAPSHOT) % 2 == 0 {
        "_SNAPSHOT"
    } else {
        ""
    };
    format!("V{major}_{minor}_{patch}{snapshot}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_match_java() {
        assert_eq!(version_name(212), "V4_0_0_SNAPSHOT");
        assert_eq!(version_name(213), "V4_0_0");
        assert_eq!(version_name(397), "V4_9_2");
        assert_eq!(version_name(479), "V5_3_3");
        assert_eq!(version_name(612), "HIGHER_VERSION");
    }
}
