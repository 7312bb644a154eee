//! ACL 2.0 (RocketMQ 5.3 `auth` module): users and ACLs, checked before every request when
//! `authenticationEnabled` / `authorizationEnabled` are on.
//!
//! ```text
//! request ─▶ authenticationEnabled and code not in authenticationWhitelist?
//!              │ yes: AccessKey names an enabled user and Signature is HMAC-SHA1 under its
//!              │      password (the same signature as ACL 1.0) ── no ─▶ NO_PERMISSION
//!              ▼
//!            authorizationEnabled and code not in authorizationWhitelist?
//!              │ yes: Super user ─▶ served; else for each (resource, actions) the request
//!              │      needs (needs.rs), the deciding ACL entry (model.rs) must Allow
//!              │      ── no entry or Deny ─▶ NO_PERMISSION
//!              ▼
//!            served
//! ```
//!
//! RocketMQ keeps users and ACLs in a local RocksDB; FerroMQ keeps them in one JSON file,
//! `<storePathRootDir>/config/auth.json`, written atomically on every change. A slave copies
//! its master's users and ACLs with its other metadata.

pub mod keys;
pub mod model;
pub mod namesrv;
pub mod needs;
pub mod store;
pub mod surface;

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use ferromq_proto::acl::{verify, ACCESS_KEY, SIGNATURE, UNIQUE_MSG_QUERY_FLAG};
use ferromq_proto::RemotingCommand;
use parking_lot::Mutex;

use model::{user_subject, Decision, UserStatus, UserType};
pub use store::AuthStore;

/// The Java class names the provider keys accept (the only providers there are).
pub const DEFAULT_AUTHENTICATION_PROVIDER: &str =
    "org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider";
/// See [`DEFAULT_AUTHENTICATION_PROVIDER`].
pub const DEFAULT_AUTHORIZATION_PROVIDER: &str =
    "org.apache.rocketmq.auth.authorization.provider.DefaultAuthorizationProvider";

/// Opens the broker's users and ACLs (`<storePathRootDir>/config/auth.json`) and creates the
/// `initAuthenticationUser` and `innerClientAuthenticationCredentials` super users if absent.
pub fn open(config: &crate::config::BrokerConfig) -> Result<Auth, crate::BrokerError> {
    let store = AuthStore::open(config.config_dir().join(FILE_NAME))?;
    let keys = &config.auth;
    let mut initial = Vec::new();
    if let Some(u) = &keys.init_user {
        initial.push((u.username.clone(), u.password.clone()));
    }
    if let Some(c) = &keys.inner_credentials {
        initial.push((c.access_key.clone(), c.secret_key.clone()));
    }
    for (username, password) in initial {
        let created = store.ensure_user(model::User {
            username: username.clone(),
            password,
            user_type: UserType::Super,
            user_status: UserStatus::Enable,
        })?;
        if created {
            tracing::info!(user = %username, "ACL 2.0: created the initial super user");
        }
    }
    Ok(Auth::new(
        AuthSettings {
            authentication: keys.authentication_enabled,
            authorization: keys.authorization_enabled,
            authentication_whitelist: keys.authentication_whitelist.clone(),
            authorization_whitelist: keys.authorization_whitelist.clone(),
            cluster: config.broker_cluster_name.clone(),
        },
        store,
    ))
}

/// The file under the store's `config` directory.
pub const FILE_NAME: &str = "auth.json";

/// Refusals logged per second at most (the counters see them all).
const LOGS_PER_SECOND: u64 = 20;

/// The checks to run, from the broker's (or name server's) configuration.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    /// `authenticationEnabled`.
    pub authentication: bool,
    /// `authorizationEnabled`.
    pub authorization: bool,
    /// `authenticationWhitelist`: request codes that skip authentication.
    pub authentication_whitelist: HashSet<i32>,
    /// `authorizationWhitelist`: request codes that skip authorization.
    pub authorization_whitelist: HashSet<i32>,
    /// The cluster name, for `Cluster:<name>` resources.
    pub cluster: String,
}

/// Parses a whitelist: request codes separated by commas (Java splits on `,`).
pub fn parse_whitelist(text: &str) -> Result<HashSet<i32>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i32>()
                .map_err(|_| format!("`{s}` is not a request code"))
        })
        .collect()
}

/// The ACL 2.0 checker and its metadata.
pub struct Auth {
    /// The settings in force.
    pub settings: AuthSettings,
    /// Users and ACLs.
    pub store: AuthStore,
    refused_authentication: AtomicU64,
    refused_authorization: AtomicU64,
    log_window: Mutex<(u64, u64)>,
}

impl Auth {
    /// A checker over `store`.
    pub fn new(settings: AuthSettings, store: AuthStore) -> Self {
        Auth {
            settings,
            store,
            refused_authentication: AtomicU64::new(0),
            refused_authorization: AtomicU64::new(0),
            log_window: Mutex::new((0, 0)),
        }
    }

    /// Whether either check is on.
    pub fn enabled(&self) -> bool {
        self.settings.authentication || self.settings.authorization
    }

    /// Checks `req` from `peer`; `Err` carries the NO_PERMISSION remark (counted and,
    /// rate-limited, logged).
    pub fn check(&self, peer: IpAddr, req: &RemotingCommand) -> Result<(), String> {
        let result = self
            .authenticate(req)
            .map_err(|r| (true, r))
            .and_then(|()| self.authorize(peer, req).map_err(|r| (false, r)));
        let Err((authn, reason)) = result else {
            return Ok(());
        };
        let counter = if authn {
            &self.refused_authentication
        } else {
            &self.refused_authorization
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let name = ferromq_proto::codes::served_by(req.code)
            .map(|(_, n)| n)
            .unwrap_or("request");
        if self.may_log() {
            tracing::warn!(code = req.code, %peer, stage = if authn { "authentication" } else { "authorization" }, %reason, "ACL 2.0 refused a request");
        }
        Err(format!(
            "{} refused {name} (code {}) from {peer}: {reason}",
            if authn {
                "Authentication"
            } else {
                "Authorization"
            },
            req.code
        ))
    }

    fn authenticate(&self, req: &RemotingCommand) -> Result<(), String> {
        if !self.settings.authentication
            || self.settings.authentication_whitelist.contains(&req.code)
        {
            return Ok(());
        }
        let Some(name) = req.ext_fields.get(ACCESS_KEY).filter(|k| !k.is_empty()) else {
            return Err("username cannot be null (the request is not signed).".into());
        };
        let state = self.store.snapshot();
        let Some(user) = state.user(name) else {
            return Err(format!("User:{name} is not found."));
        };
        if user.user_status == UserStatus::Disable {
            return Err(format!("User:{name} is disabled."));
        }
        let claimed = req.ext_fields.get(SIGNATURE).unwrap_or("");
        // Clients up to 4.9.3 leave `_UNIQUE_KEY_QUERY` out of what they sign: accept either.
        let signed = verify(req, &user.password, &[], claimed)
            || (req.ext_fields.get(UNIQUE_MSG_QUERY_FLAG).is_some()
                && verify(req, &user.password, &[UNIQUE_MSG_QUERY_FLAG], claimed));
        if !signed {
            return Err(format!("check signature failed for User:{name}."));
        }
        Ok(())
    }

    fn authorize(&self, peer: IpAddr, req: &RemotingCommand) -> Result<(), String> {
        if !self.settings.authorization || self.settings.authorization_whitelist.contains(&req.code)
        {
            return Ok(());
        }
        let needed = needs::needed(req, &self.settings.cluster)?;
        if needed.is_empty() {
            return Ok(());
        }
        let Some(name) = req.ext_fields.get(ACCESS_KEY).filter(|k| !k.is_empty()) else {
            return Err("the request names no user (AccessKey).".into());
        };
        let state = self.store.snapshot();
        let Some(user) = state.user(name) else {
            return Err(format!("User:{name} not found."));
        };
        if user.user_status == UserStatus::Disable {
            return Err(format!("User:{name} is disabled."));
        }
        if user.user_type == UserType::Super {
            return Ok(());
        }
        let subject = user_subject(name);
        let acl = state.acl(&subject);
        for (resource, actions) in &needed {
            let entry = acl.and_then(|a| a.decide(resource, actions, peer));
            let detail = match entry.map(|e| e.decision) {
                Some(Decision::Allow) => continue,
                Some(Decision::Deny) => "the decision is deny.",
                None => "no matched policies.",
            };
            let wanted: Vec<&str> = actions.iter().map(|a| a.name()).collect();
            return Err(format!(
                "User:{name} has no permission to access {} ({}) from {peer}, {detail}",
                resource.key(),
                wanted.join("|")
            ));
        }
        Ok(())
    }

    fn may_log(&self) -> bool {
        let second = ferromq_common::now_millis() as u64 / 1000;
        let mut w = self.log_window.lock();
        if w.0 != second {
            *w = (second, 0);
        }
        w.1 += 1;
        w.1 <= LOGS_PER_SECOND
    }

    /// `(counter name, value)` pairs for runtime info.
    pub fn counters(&self) -> Vec<(String, u64)> {
        vec![
            (
                "authRefusedAuthentication".into(),
                self.refused_authentication.load(Ordering::Relaxed),
            ),
            (
                "authRefusedAuthorization".into(),
                self.refused_authorization.load(Ordering::Relaxed),
            ),
            ("authUsers".into(), self.store.user_count() as u64),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::model::{Acl, User};
    use super::*;
    use ferromq_proto::acl::sign;
    use ferromq_proto::body::{AclInfo, PolicyEntryInfo, PolicyInfo};
    use ferromq_proto::codes::request;

    fn auth(dir: &std::path::Path) -> Auth {
        let store = AuthStore::open(dir.join("auth.json")).unwrap();
        for (name, t) in [("root", UserType::Super), ("alice", UserType::Normal)] {
            store
                .create_user(User {
                    username: name.into(),
                    password: format!("{name}-secret"),
                    user_type: t,
                    user_status: UserStatus::Enable,
                })
                .unwrap();
        }
        let info = AclInfo {
            subject: None,
            policies: Some(vec![PolicyInfo {
                policy_type: None,
                entries: Some(vec![PolicyEntryInfo {
                    resource: Some("Topic:ok".into()),
                    actions: Some(vec!["Pub".into()]),
                    source_ips: None,
                    decision: Some("Allow".into()),
                }]),
            }]),
        };
        store
            .put_acl(Acl::from_info("User:alice", &info).unwrap())
            .unwrap();
        Auth::new(
            AuthSettings {
                authentication: true,
                authorization: true,
                cluster: "C".into(),
                ..Default::default()
            },
            store,
        )
    }

    fn send(topic: &str) -> RemotingCommand {
        let mut r = RemotingCommand::bare_request(request::SEND_MESSAGE_V2);
        r.ext_fields.insert_str("a", "PG");
        r.ext_fields.insert_str("b", topic);
        r.body = bytes::Bytes::from_static(b"x");
        r
    }

    fn local() -> IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    #[test]
    fn users_signatures_and_acls_decide() {
        let dir = tempfile::tempdir().unwrap();
        let a = auth(dir.path());
        let signed = |t: &str, u: &str, p: &str| {
            let mut r = send(t);
            sign(&mut r, u, p);
            r
        };
        assert!(a
            .check(local(), &signed("ok", "alice", "alice-secret"))
            .is_ok());
        let e = a
            .check(local(), &signed("other", "alice", "alice-secret"))
            .unwrap_err();
        assert!(
            e.contains("Topic:other") && e.contains("no matched policies"),
            "{e}"
        );
        let e = a
            .check(local(), &signed("ok", "alice", "wrong"))
            .unwrap_err();
        assert!(e.contains("check signature failed"), "{e}");
        let e = a.check(local(), &signed("ok", "bob", "x")).unwrap_err();
        assert!(e.contains("User:bob is not found"), "{e}");
        assert!(a.check(local(), &send("ok")).is_err());
        assert!(a
            .check(local(), &signed("any", "root", "root-secret"))
            .is_ok());
        let c: std::collections::HashMap<_, _> = a.counters().into_iter().collect();
        assert_eq!(c["authRefusedAuthentication"], 3);
        assert_eq!(c["authRefusedAuthorization"], 1);
    }

    #[test]
    fn whitelists_skip_their_check() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = auth(dir.path());
        a.settings.authentication_whitelist = parse_whitelist("310, 11").unwrap();
        // Not authenticated, but authorization still needs a user with the right.
        assert!(a.check(local(), &send("ok")).is_err());
        a.settings.authorization_whitelist = parse_whitelist("310").unwrap();
        assert!(a.check(local(), &send("ok")).is_ok());
        assert!(parse_whitelist("10,x").is_err());
    }
}
