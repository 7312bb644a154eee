//! ACL 2.0 on the name server.
//!
//! RocketMQ 5.3's name server checks nothing (its brokers and proxies do); FerroMQ's checks
//! when its namesrv.conf sets `authenticationEnabled` / `authorizationEnabled`, with the same
//! signature as the brokers and these needs:
//!
//! | request | needs |
//! |---|---|
//! | GET_ROUTEINFO_BY_TOPIC (105) | Pub, Sub or Get on the topic; of a `%RETRY%` topic: Sub or Get on the group (RocketMQ's proxy rule) |
//! | REGISTER_BROKER (103), UNREGISTER_BROKER (104), BROKER_HEARTBEAT (904), QUERY_DATA_VERSION (322) | Update on `Cluster:<clusterName of the request>` |
//! | REGISTER_TOPIC_IN_NAMESRV (217) | Create on the topic |
//! | DELETE_TOPIC_IN_NAMESRV (216) | Delete on the topic |
//! | PUT_KV_CONFIG (100), DELETE_KV_CONFIG (102), UPDATE_NAMESRV_CONFIG (318), WIPE/ADD_WRITE_PERM_OF_BROKER (205/327) | Update on `Cluster:<clusterName key>` |
//! | GET_NAMESRV_CONFIG (319) | Get on `Cluster:<clusterName key>` |
//! | anything else (cluster info, topic lists, KV reads) | authentication only |
//!
//! Users and ACLs: the JSON file at `authConfigPath` (the format of a broker's
//! `config/auth.json`, so it may be that file), read again when it changes, which the name
//! server never writes; plus the super users of `initAuthenticationUser` and
//! `innerClientAuthenticationCredentials`, held in memory only. Brokers sign their
//! registrations with their `innerClientAuthenticationCredentials`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::SystemTime;

use ferromq_common::names::is_retry_topic;
use ferromq_proto::acl::{verify, ACCESS_KEY, SIGNATURE};
use ferromq_proto::codes::request::*;
use ferromq_proto::RemotingCommand;
use parking_lot::Mutex;

use super::keys::AuthKeys;
use super::model::{Action, Resource, ResourceType};
use super::surface::Caller;
use super::{Auth, AuthSettings, AuthStore};
use crate::BrokerError;

/// The name server's checker.
pub struct NamesrvAuth {
    auth: Auth,
    supers: Vec<(String, String)>,
    seen: Mutex<Option<(SystemTime, u64)>>,
}

/// `(resource, actions)` a name-server request needs; `cluster` names the `Cluster:`
/// resource of name-server-wide changes.
pub fn needed(
    req: &RemotingCommand,
    cluster: &str,
) -> Result<Vec<(Resource, Vec<Action>)>, String> {
    use Action::*;
    let ext = |k: &str| req.ext_fields.get(k).filter(|v| !v.is_empty());
    let topic = |a: &[Action]| -> Result<Vec<(Resource, Vec<Action>)>, String> {
        let t = ext("topic").ok_or("the request names no topic.")?;
        Ok(vec![(Resource::of(ResourceType::Topic, t), a.to_vec())])
    };
    let cluster_of =
        |name: &str, a: &[Action]| vec![(Resource::of(ResourceType::Cluster, name), a.to_vec())];
    Ok(match req.code {
        GET_ROUTEINFO_BY_TOPIC => match ext("topic") {
            Some(t) if is_retry_topic(t) => vec![(Resource::group(t), vec![Sub, Get])],
            _ => topic(&[Pub, Sub, Get])?,
        },
        REGISTER_BROKER | UNREGISTER_BROKER | BROKER_HEARTBEAT | QUERY_DATA_VERSION => {
            let c = ext("clusterName").ok_or("the request names no clusterName.")?;
            cluster_of(c, &[Update])
        }
        REGISTER_TOPIC_IN_NAMESRV => topic(&[Create])?,
        DELETE_TOPIC_IN_NAMESRV => topic(&[Delete])?,
        PUT_KV_CONFIG
        | DELETE_KV_CONFIG
        | UPDATE_NAMESRV_CONFIG
        | WIPE_WRITE_PERM_OF_BROKER
        | ADD_WRITE_PERM_OF_BROKER => cluster_of(cluster, &[Update]),
        GET_NAMESRV_CONFIG => cluster_of(cluster, &[Get]),
        _ => Vec::new(),
    })
}

impl NamesrvAuth {
    /// A checker per `keys`, over the users and ACLs of `path` (absent: none yet), naming
    /// `Cluster:<cluster>` for name-server-wide changes.
    pub fn open(keys: &AuthKeys, path: PathBuf, cluster: String) -> Result<Self, BrokerError> {
        let store = AuthStore::open(path)?;
        let mut supers = Vec::new();
        if let Some(u) = &keys.init_user {
            supers.push((u.username.clone(), u.password.clone()));
        }
        if let Some(c) = &keys.inner_credentials {
            supers.push((c.access_key.clone(), c.secret_key.clone()));
        }
        let me = NamesrvAuth {
            auth: Auth::new(
                AuthSettings {
                    authentication: keys.authentication_enabled,
                    authorization: keys.authorization_enabled,
                    authentication_whitelist: keys.authentication_whitelist.clone(),
                    authorization_whitelist: keys.authorization_whitelist.clone(),
                    cluster,
                },
                store,
            ),
            supers,
            seen: Mutex::new(None),
        };
        *me.seen.lock() = me.stamp();
        Ok(me)
    }

    /// Whether either check is on.
    pub fn enabled(&self) -> bool {
        self.auth.enabled()
    }

    /// The users file.
    pub fn path(&self) -> &std::path::Path {
        self.auth.store.path()
    }

    /// Refusal counters (`authRefusedAuthentication`, ...).
    pub fn counters(&self) -> Vec<(String, u64)> {
        self.auth.counters()
    }

    fn stamp(&self) -> Option<(SystemTime, u64)> {
        let m = std::fs::metadata(self.auth.store.path()).ok()?;
        Some((m.modified().ok()?, m.len()))
    }

    /// Reads the users file again if it changed since last read; `Ok(true)` when it did.
    pub fn reload_if_changed(&self) -> Result<bool, BrokerError> {
        let now = self.stamp();
        let mut seen = self.seen.lock();
        if *seen == now {
            return Ok(false);
        }
        self.auth.store.reload()?;
        *seen = now;
        Ok(true)
    }

    /// Checks `req` from `peer`; `Err` is the NO_PERMISSION remark.
    pub fn check(&self, peer: IpAddr, req: &RemotingCommand) -> Result<(), String> {
        let name = req.ext_fields.get(ACCESS_KEY).filter(|k| !k.is_empty());
        let claimed = req.ext_fields.get(SIGNATURE).unwrap_or("");
        let signed = |password: &str| verify(req, password, &[], claimed);
        let what = ferromq_proto::codes::served_by(req.code)
            .map(|(_, n)| format!("{n} (code {})", req.code))
            .unwrap_or_else(|| format!("request code {}", req.code));
        if let Some(name) = name {
            if let Some((_, password)) = self.supers.iter().find(|(u, _)| u == name) {
                if signed(password) {
                    return Ok(());
                }
                // A super user of namesrv.conf that the users file does not know either.
                if self.auth.store.user(name).is_none() {
                    let reason = format!("check signature failed for User:{name}.");
                    self.auth.refused(true, &what, peer, &reason);
                    return Err(format!(
                        "Authentication refused {what} from {peer}: {reason}"
                    ));
                }
            }
        }
        let s = &self.auth.settings;
        self.auth
            .check_caller(
                peer,
                &what,
                &Caller {
                    username: name,
                    signed_with: &signed,
                },
                needed(req, &s.cluster),
                s.authentication_whitelist.contains(&req.code),
                s.authorization_whitelist.contains(&req.code),
            )
            .map_err(|r| r.message)
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{UserStatus, UserType};
    use super::*;
    use ferromq_proto::acl::sign;
    use ferromq_proto::body::{AclInfo, PolicyEntryInfo, PolicyInfo};

    fn req(code: i32, fields: &[(&str, &str)]) -> RemotingCommand {
        let mut r = RemotingCommand::bare_request(code);
        for (k, v) in fields {
            r.ext_fields.insert_str(k, v);
        }
        r
    }

    fn signed(mut r: RemotingCommand, u: &str, p: &str) -> RemotingCommand {
        sign(&mut r, u, p);
        r
    }

    #[test]
    fn routes_registrations_and_admin_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        // Another process (a broker) writes the users file.
        let writer = AuthStore::open(path.clone()).unwrap();
        writer
            .create_user(super::super::model::User {
                username: "alice".into(),
                password: "alice-pw".into(),
                user_type: UserType::Normal,
                user_status: UserStatus::Enable,
            })
            .unwrap();
        let mut keys = AuthKeys::default();
        keys.set("authenticationEnabled", "true").unwrap();
        keys.set("authorizationEnabled", "true").unwrap();
        keys.set(
            "innerClientAuthenticationCredentials",
            r#"{"accessKey":"inner","secretKey":"inner-pw"}"#,
        )
        .unwrap();
        let ns = NamesrvAuth::open(&keys, path, "C".into()).unwrap();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let route = || req(GET_ROUTEINFO_BY_TOPIC, &[("topic", "T")]);
        // Unsigned, unknown user, wrong secret: authentication refuses.
        let e = ns.check(ip, &route()).unwrap_err();
        assert!(e.contains("not signed"), "{e}");
        let e = ns.check(ip, &signed(route(), "bob", "x")).unwrap_err();
        assert!(e.contains("User:bob is not found"), "{e}");
        let e = ns
            .check(ip, &signed(route(), "alice", "wrong"))
            .unwrap_err();
        assert!(e.contains("check signature failed"), "{e}");
        // Signed, but no ACL yet.
        let e = ns
            .check(ip, &signed(route(), "alice", "alice-pw"))
            .unwrap_err();
        assert!(e.contains("Topic:T") && e.contains("Pub|Sub|Get"), "{e}");
        // The broker's file gains an ACL: read again once it changed.
        let info = AclInfo {
            subject: None,
            policies: Some(vec![PolicyInfo {
                policy_type: None,
                entries: Some(vec![PolicyEntryInfo {
                    resource: Some("Topic:T".into()),
                    actions: Some(vec!["Sub".into()]),
                    source_ips: None,
                    decision: Some("Allow".into()),
                }]),
            }]),
        };
        writer
            .put_acl(super::super::model::Acl::from_info("User:alice", &info).unwrap())
            .unwrap();
        assert!(ns.reload_if_changed().unwrap());
        assert!(!ns.reload_if_changed().unwrap());
        ns.check(ip, &signed(route(), "alice", "alice-pw")).unwrap();
        // Admin writes need Update on the cluster: alice has none, the inner super user passes.
        let kv = || {
            req(
                PUT_KV_CONFIG,
                &[("namespace", "N"), ("key", "k"), ("value", "v")],
            )
        };
        let e = ns
            .check(ip, &signed(kv(), "alice", "alice-pw"))
            .unwrap_err();
        assert!(e.contains("Cluster:C"), "{e}");
        ns.check(ip, &signed(kv(), "inner", "inner-pw")).unwrap();
        let e = ns.check(ip, &signed(kv(), "inner", "nope")).unwrap_err();
        assert!(e.contains("check signature failed for User:inner"), "{e}");
        let reg = req(
            REGISTER_BROKER,
            &[("clusterName", "C2"), ("brokerName", "b")],
        );
        assert!(ns
            .check(ip, &signed(reg.clone(), "alice", "alice-pw"))
            .is_err());
        ns.check(ip, &signed(reg, "inner", "inner-pw")).unwrap();
        // Reads other than routes need a user only.
        ns.check(
            ip,
            &signed(req(GET_BROKER_CLUSTER_INFO, &[]), "alice", "alice-pw"),
        )
        .unwrap();
        let c: std::collections::HashMap<_, _> = ns.counters().into_iter().collect();
        assert_eq!(c["authRefusedAuthentication"], 4);
        assert_eq!(c["authRefusedAuthorization"], 3);
    }
}
