//! ACL 2.0 on an in-process broker (`authenticationEnabled`, `authorizationEnabled`): users and
//! ACLs made with the AUTH_* requests decide which signed requests are served; the rest get
//! NO_PERMISSION with a remark naming the refused request, resource and reason; the metadata
//! rules refuse bad input with RocketMQ's words; users and ACLs survive a restart; whitelisted
//! request codes skip their check.

mod support;

use std::collections::HashMap;

use ferromq_proto::acl::sign;
use ferromq_proto::body::{AclInfo, JsonBody, UserInfo};
use ferromq_proto::codes::{request, response};
use ferromq_proto::header::NoHeader;
use ferromq_proto::RemotingCommand;
use support::{acl2_on, start, start_in, TestBroker};
use support::{create_topic_request as create_topic, pull_request as pull};

const ROOT: (&str, &str) = support::ACL2_ROOT;
const ALICE: (&str, &str) = ("alice", "aliceSecret1");

fn signed(mut cmd: RemotingCommand, who: (&str, &str)) -> RemotingCommand {
    sign(&mut cmd, who.0, who.1);
    cmd
}

fn send(topic: &str, body: &str) -> RemotingCommand {
    support::send_request("PG_auth", topic, body)
}

fn auth_request(code: i32, fields: &[(&str, &str)], body: Option<Vec<u8>>) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(code, &NoHeader);
    for (k, v) in fields {
        cmd.ext_fields.insert_str(k, v);
    }
    if let Some(b) = body {
        cmd = cmd.with_body(b);
    }
    cmd
}

fn user(name: &str, password: &str, user_type: Option<&str>) -> Vec<u8> {
    UserInfo {
        username: Some(name.into()),
        password: Some(password.into()),
        user_type: user_type.map(str::to_owned),
        user_status: None,
    }
    .to_json()
}

fn acl(json: &str) -> Vec<u8> {
    AclInfo::from_json(json.as_bytes()).unwrap().to_json()
}

fn ok(resp: &RemotingCommand) {
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
}

/// Refused by the check before dispatch: the remark names the peer too.
fn refused(resp: &RemotingCommand, why: &str) {
    refused_by_rule(resp, why);
    let remark = resp.remark.as_deref().unwrap_or("");
    assert!(remark.contains("127.0.0.1"), "{remark}");
}

/// Refused by a metadata rule: NO_PERMISSION with Java's text.
fn refused_by_rule(resp: &RemotingCommand, why: &str) {
    assert_eq!(resp.code, response::NO_PERMISSION, "{:?}", resp.remark);
    let remark = resp.remark.as_deref().unwrap_or("");
    assert!(remark.contains(why), "remark {remark:?} lacks {why:?}");
}

async fn counters(t: &TestBroker) -> HashMap<String, String> {
    let resp = t
        .call(signed(
            RemotingCommand::request(request::GET_BROKER_RUNTIME_INFO, &NoHeader),
            ROOT,
        ))
        .await;
    ok(&resp);
    let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    v["table"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("auth"))
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

/// Root creates alice, the topics, and alice's ACL: Pub on `ord*`, Deny on `ord-secret`.
async fn setup(t: &TestBroker) {
    ok(&t
        .call(signed(
            auth_request(
                request::AUTH_CREATE_USER,
                &[("username", ALICE.0)],
                Some(user(ALICE.0, ALICE.1, None)),
            ),
            ROOT,
        ))
        .await);
    for topic in ["orders", "ord-secret", "other"] {
        ok(&t.call(signed(create_topic(topic), ROOT)).await);
    }
    let body = acl(r#"{"subject":"User:alice","policies":[{"entries":[
            {"resource":"Topic:ord*","actions":["Pub"],"decision":"Allow"},
            {"resource":"Topic:ord-secret","actions":["Pub","Sub"],"decision":"Deny"},
            {"resource":"Group:CG_alice","actions":["Sub"],"sourceIps":["10.0.0.0/8"],"decision":"Allow"}]}]}"#);
    ok(&t
        .call(signed(
            auth_request(
                request::AUTH_CREATE_ACL,
                &[("subject", "User:alice")],
                Some(body),
            ),
            ROOT,
        ))
        .await);
}

#[tokio::test]
async fn allowed_requests_are_served_and_the_rest_refused_with_the_reason() {
    let t = start(acl2_on).await;
    setup(&t).await;

    ok(&t.call(signed(send("orders", "allowed"), ALICE)).await);
    refused(
        &t.call(signed(send("ord-secret", "x"), ALICE)).await,
        "User:alice has no permission to access Topic:ord-secret (Pub) from 127.0.0.1, the decision is deny.",
    );
    refused(
        &t.call(signed(send("other", "x"), ALICE)).await,
        "Topic:other (Pub) from 127.0.0.1, no matched policies.",
    );
    // Sub is not granted on the topic; the group entry is for another network anyway.
    refused(
        &t.call(signed(pull("orders", "CG_alice"), ALICE)).await,
        "Topic:orders (Sub)",
    );
    // A signed frame with one body byte changed is refused.
    let mut replay = signed(send("orders", "allowed"), ALICE);
    replay.body = bytes::Bytes::from_static(b"allowex");
    refused(
        &t.call(replay).await,
        "check signature failed for User:alice",
    );
    refused(
        &t.call(signed(send("orders", "x"), ("nobody", "pw123456")))
            .await,
        "User:nobody is not found",
    );
    refused(
        &t.call(send("orders", "unsigned")).await,
        "username cannot be null",
    );
    // Only the allowed message was stored.
    assert_eq!(t.read("orders", 0, 0).len(), 1);
    assert!(t.read("ord-secret", 0, 0).is_empty());

    // A normal user has no right on the cluster, so it cannot manage users at all ...
    let make_super = auth_request(
        request::AUTH_CREATE_USER,
        &[("username", "eve")],
        Some(user("eve", "eveSecret1", Some("Super"))),
    );
    refused(
        &t.call(signed(make_super.clone(), ALICE)).await,
        "Cluster:DefaultCluster (Update)",
    );
    // ... and the super user may.
    ok(&t.call(signed(make_super, ROOT)).await);

    // Disabling alice refuses her at authentication.
    ok(&t
        .call(signed(
            auth_request(
                request::AUTH_UPDATE_USER,
                &[("username", ALICE.0)],
                Some(
                    UserInfo {
                        user_status: Some("disable".into()),
                        ..Default::default()
                    }
                    .to_json(),
                ),
            ),
            ROOT,
        ))
        .await);
    refused(
        &t.call(signed(send("orders", "x"), ALICE)).await,
        "User:alice is disabled.",
    );

    let c = counters(&t).await;
    assert_eq!(c["authRefusedAuthentication"], "4", "{c:?}");
    assert_eq!(c["authRefusedAuthorization"], "4", "{c:?}");
    t.stop().await;
}

#[tokio::test]
async fn metadata_requests_round_trip_and_refuse_bad_input() {
    let t = start(acl2_on).await;
    setup(&t).await;
    let call = |code, fields: &[(&str, &str)], body| {
        let cmd = signed(auth_request(code, fields, body), ROOT);
        t.call(cmd)
    };
    let resp = call(request::AUTH_GET_USER, &[("username", "alice")], None).await;
    ok(&resp);
    let u = UserInfo::from_json(&resp.body).unwrap();
    assert_eq!(
        (u.user_type.as_deref(), u.user_status.as_deref()),
        (Some("Normal"), Some("enable"))
    );
    let resp = call(request::AUTH_LIST_USER, &[("filter", "ali")], None).await;
    ok(&resp);
    assert_eq!(Vec::<UserInfo>::from_json(&resp.body).unwrap().len(), 1);
    let resp = call(request::AUTH_GET_ACL, &[("subject", "User:alice")], None).await;
    ok(&resp);
    let a = AclInfo::from_json(&resp.body).unwrap();
    let policies = a.policies.unwrap();
    assert_eq!(policies[0].policy_type.as_deref(), Some("Custom"));
    assert_eq!(policies[0].entries.as_ref().unwrap().len(), 3);

    // Java's refusals.
    let dup = call(
        request::AUTH_CREATE_USER,
        &[("username", "alice")],
        Some(user("alice", "x1234567", None)),
    )
    .await;
    refused_by_rule(&dup, "The user is existed");
    let any = acl(
        r#"{"policies":[{"entries":[{"resource":"Topic:t","actions":["Any"],"decision":"Allow"}]}]}"#,
    );
    refused_by_rule(
        &call(
            request::AUTH_CREATE_ACL,
            &[("subject", "User:alice")],
            Some(any),
        )
        .await,
        "The actions can not be Any.",
    );
    let nobody = acl(
        r#"{"policies":[{"entries":[{"resource":"Topic:t","actions":["Pub"],"decision":"Allow"}]}]}"#,
    );
    refused_by_rule(
        &call(
            request::AUTH_CREATE_ACL,
            &[("subject", "User:ghost")],
            Some(nobody),
        )
        .await,
        "The subject of User:ghost is not exist.",
    );
    let bad = call(
        request::AUTH_CREATE_USER,
        &[("username", "bob")],
        Some(b"{not json".to_vec()),
    )
    .await;
    assert_eq!(bad.code, response::INVALID_PARAMETER, "{:?}", bad.remark);
    let blank = call(request::AUTH_GET_USER, &[], None).await;
    assert_eq!(
        blank.code,
        response::INVALID_PARAMETER,
        "{:?}",
        blank.remark
    );

    // Deleting one entry, then the user (its ACL goes with it).
    ok(&call(
        request::AUTH_DELETE_ACL,
        &[("subject", "User:alice"), ("resource", "Topic:ord-secret")],
        None,
    )
    .await);
    let resp = call(
        request::AUTH_LIST_ACL,
        &[("resourceFilter", "ord-secret")],
        None,
    )
    .await;
    ok(&resp);
    assert!(
        resp.body.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&resp.body)
    );
    ok(&call(request::AUTH_DELETE_USER, &[("username", "alice")], None).await);
    let resp = call(request::AUTH_LIST_ACL, &[], None).await;
    ok(&resp);
    assert!(resp.body.is_empty());
    t.stop().await;
}

#[tokio::test]
async fn users_and_acls_survive_a_restart() {
    let t = start(acl2_on).await;
    setup(&t).await;
    let dir = t.stop_keep_store().await;
    assert!(dir.path().join("config/auth.json").exists());
    let t = start_in(dir, acl2_on).await;
    ok(&t.call(signed(send("orders", "after restart"), ALICE)).await);
    refused(
        &t.call(signed(send("ord-secret", "x"), ALICE)).await,
        "the decision is deny",
    );
    t.stop().await;
}

#[tokio::test]
async fn whitelisted_codes_skip_their_check() {
    let t = start(|c| {
        acl2_on(c);
        c.auth.set("authenticationWhitelist", "310").unwrap();
        c.auth.set("authorizationWhitelist", "310").unwrap();
    })
    .await;
    ok(&t.call(signed(create_topic("open"), ROOT)).await);
    ok(&t.call(send("open", "unsigned but whitelisted")).await);
    refused(&t.call(pull("open", "CG")).await, "username cannot be null");
    t.stop().await;
}
