//! What a request needs: the resources it touches with the permission each needs, and whether
//! it is an admin request (Java `PlainAccessValidator.parse`, `Permission.ADMIN_CODE`).
//!
//! | request | needs |
//! |---|---|
//! | SEND_MESSAGE (10) | PUB on `topic`; to a `%RETRY%` topic: SUB on the retry topic of `producerGroup` |
//! | SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) | the same with `b` (topic) and `a` (group) |
//! | CONSUMER_SEND_MSG_BACK (36) | SUB on `%RETRY%<group>` |
//! | PULL_MESSAGE (11), LITE_PULL_MESSAGE (361) | SUB on `topic` and on `%RETRY%<consumerGroup>` |
//! | QUERY_MESSAGE (12) | SUB on `topic` |
//! | HEART_BEAT (34) | SUB on `%RETRY%<group>` and on every subscribed topic, per consumer group in the body |
//! | UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38) | SUB on `%RETRY%<consumerGroup>` |
//! | UPDATE_CONSUMER_OFFSET (15) | SUB on `%RETRY%<consumerGroup>` and on `topic` |
//! | [`ADMIN_CODES`] | an admin account |
//! | anything else | a valid signature only |
//!
//! Departures from Java 4.9, each on the stricter side: SEND_BATCH_MESSAGE is checked as
//! RocketMQ 5 checks it, LITE_PULL_MESSAGE like the pull it is, SEND_MESSAGE to a retry topic
//! reads `producerGroup` (Java reads `group`, which that header does not have), and offset
//! resets and store maintenance are admin requests as well.

use ferromq_common::names::{is_retry_topic, retry_topic};
use ferromq_proto::body::{HeartbeatData, JsonBody};
use ferromq_proto::codes::request::*;
use ferromq_proto::RemotingCommand;

use super::rules::perm::{PUB, SUB};

/// Requests only an admin account may send: Java's five (UPDATE_AND_CREATE_TOPIC,
/// UPDATE_BROKER_CONFIG, DELETE_TOPIC_IN_BROKER, UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
/// DELETE_SUBSCRIPTIONGROUP) and FerroMQ's additions: UPDATE_AND_CREATE_TOPIC_LIST, offset
/// resets and clones, and store maintenance.
pub const ADMIN_CODES: &[i32] = &[
    UPDATE_AND_CREATE_TOPIC,
    UPDATE_BROKER_CONFIG,
    DELETE_TOPIC_IN_BROKER,
    UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
    DELETE_SUBSCRIPTIONGROUP,
    UPDATE_AND_CREATE_TOPIC_LIST,
    INVOKE_BROKER_TO_RESET_OFFSET,
    CLONE_GROUP_OFFSET,
    DELETE_EXPIRED_COMMITLOG,
    CLEAN_EXPIRED_CONSUMEQUEUE,
];

/// Whether `code` needs an admin account.
pub fn needs_admin(code: i32) -> bool {
    ADMIN_CODES.contains(&code)
}

/// `(resource, permission)` pairs a request needs; a group is named by its `%RETRY%` topic.
/// `Err` when the heartbeat body cannot be read (Java refuses those too).
pub fn needed(req: &RemotingCommand) -> Result<Vec<(String, u8)>, String> {
    let ext = |k: &str| req.ext_fields.get(k);
    let mut out = Vec::new();
    let mut add = |resource: Option<String>, p: u8| {
        if let Some(r) = resource {
            out.push((r, p));
        }
    };
    let group = |k: &str| ext(k).map(retry_topic);
    let topic = |k: &str| ext(k).map(str::to_owned);
    match req.code {
        SEND_MESSAGE | SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE => {
            let (t, g) = if req.code == SEND_MESSAGE {
                ("topic", "producerGroup")
            } else {
                ("b", "a")
            };
            match ext(t) {
                Some(to) if is_retry_topic(to) => add(group(g), SUB),
                to => add(to.map(str::to_owned), PUB),
            }
        }
        CONSUMER_SEND_MSG_BACK => add(group("group"), SUB),
        PULL_MESSAGE | LITE_PULL_MESSAGE => {
            add(topic("topic"), SUB);
            add(group("consumerGroup"), SUB);
        }
        QUERY_MESSAGE => add(topic("topic"), SUB),
        HEART_BEAT => {
            let hb = HeartbeatData::from_json(&req.body)
                .map_err(|e| format!("the heartbeat body does not decode: {e}"))?;
            for c in &hb.consumer_data_set {
                add(Some(retry_topic(&c.group_name)), SUB);
                for s in &c.subscription_data_set {
                    add(Some(s.topic.clone()), SUB);
                }
            }
        }
        UNREGISTER_CLIENT | GET_CONSUMER_LIST_BY_GROUP => add(group("consumerGroup"), SUB),
        UPDATE_CONSUMER_OFFSET => {
            add(group("consumerGroup"), SUB);
            add(topic("topic"), SUB);
        }
        _ => {}
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(code: i32, fields: &[(&str, &str)]) -> RemotingCommand {
        let mut r = RemotingCommand::bare_request(code);
        for (k, v) in fields {
            r.ext_fields.insert_str(k, v);
        }
        r
    }

    fn needs(r: &RemotingCommand) -> Vec<(String, u8)> {
        let mut n = needed(r).unwrap();
        n.sort();
        n
    }

    fn pairs(list: &[(&str, u8)]) -> Vec<(String, u8)> {
        let mut v: Vec<_> = list.iter().map(|(r, p)| (r.to_string(), *p)).collect();
        v.sort();
        v
    }

    #[test]
    fn sends_need_pub_and_retry_sends_need_sub_on_the_group() {
        let send = req(SEND_MESSAGE, &[("topic", "T"), ("producerGroup", "PG")]);
        assert_eq!(needs(&send), pairs(&[("T", PUB)]));
        let v2 = req(SEND_MESSAGE_V2, &[("b", "T"), ("a", "PG")]);
        assert_eq!(needs(&v2), pairs(&[("T", PUB)]));
        let batch = req(SEND_BATCH_MESSAGE, &[("b", "T"), ("a", "PG")]);
        assert_eq!(needs(&batch), pairs(&[("T", PUB)]));
        let retry = req(SEND_MESSAGE_V2, &[("b", "%RETRY%CG"), ("a", "CG")]);
        assert_eq!(needs(&retry), pairs(&[("%RETRY%CG", SUB)]));
    }

    #[test]
    fn pulls_offsets_and_group_requests_need_sub() {
        let pull = req(PULL_MESSAGE, &[("topic", "T"), ("consumerGroup", "CG")]);
        assert_eq!(needs(&pull), pairs(&[("T", SUB), ("%RETRY%CG", SUB)]));
        let lite = req(
            LITE_PULL_MESSAGE,
            &[("topic", "T"), ("consumerGroup", "CG")],
        );
        assert_eq!(needs(&lite), needs(&pull));
        let commit = req(
            UPDATE_CONSUMER_OFFSET,
            &[("topic", "T"), ("consumerGroup", "CG"), ("queueId", "0")],
        );
        assert_eq!(needs(&commit), needs(&pull));
        let back = req(CONSUMER_SEND_MSG_BACK, &[("group", "CG")]);
        assert_eq!(needs(&back), pairs(&[("%RETRY%CG", SUB)]));
        for code in [UNREGISTER_CLIENT, GET_CONSUMER_LIST_BY_GROUP] {
            let r = req(code, &[("consumerGroup", "CG")]);
            assert_eq!(needs(&r), pairs(&[("%RETRY%CG", SUB)]));
        }
        assert_eq!(
            needs(&req(QUERY_MESSAGE, &[("topic", "T")])),
            pairs(&[("T", SUB)])
        );
        // Reading offsets needs only a valid signature, as in Java.
        assert!(needs(&req(QUERY_CONSUMER_OFFSET, &[("topic", "T")])).is_empty());
    }

    #[test]
    fn heartbeat_needs_sub_on_each_group_and_subscription() {
        let mut hb = req(HEART_BEAT, &[]);
        hb.body = bytes::Bytes::from_static(
            br#"{"clientID":"c","consumerDataSet":[{"groupName":"CG","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"topic":"T1","subString":"*"},{"topic":"%RETRY%CG","subString":"*"}],"unitMode":false}],"producerDataSet":[{"groupName":"PG"}]}"#,
        );
        assert_eq!(
            needs(&hb),
            pairs(&[("%RETRY%CG", SUB), ("T1", SUB), ("%RETRY%CG", SUB)])
        );
        hb.body = bytes::Bytes::from_static(b"{not json");
        assert!(needed(&hb).is_err());
    }

    #[test]
    fn admin_codes_include_javas_five() {
        for code in [17, 25, 215, 200, 207] {
            assert!(needs_admin(code), "{code}");
        }
        for code in [
            SEND_MESSAGE,
            PULL_MESSAGE,
            GET_BROKER_RUNTIME_INFO,
            HEART_BEAT,
        ] {
            assert!(!needs_admin(code), "{code}");
        }
    }
}
