//! RocketMQ 4.x plain ACL (`aclEnable=true`, `conf/plain_acl.yml`): every request is checked
//! here before dispatch (Java `PlainPermissionManager.validate`).
//!
//! ```text
//! request ─▶ peer on globalWhiteRemoteAddresses? ── yes ─▶ served
//!              │ no
//!              ▼
//!            AccessKey present and known? ── no ─▶ NO_PERMISSION
//!              │ yes
//!              ▼
//!            peer on the account's whiteRemoteAddress? ── yes ─▶ served
//!              │ no
//!              ▼
//!            Signature right (ferromq_proto::acl)? ── no ─▶ NO_PERMISSION
//!              │ yes
//!              ▼
//!            admin request and not an admin? ── yes ─▶ NO_PERMISSION
//!              │
//!              ▼
//!            each needed resource (resource.rs) granted by topicPerms/groupPerms or the
//!            account's defaults? ── no ─▶ NO_PERMISSION
//! ```
//!
//! Java answers a refusal with SYSTEM_ERROR and the exception's text; FerroMQ answers
//! NO_PERMISSION (16) with a remark naming the request, the peer and the reason. Refusals are
//! counted (runtime info `aclRefused*`) and logged at warn level, at most
//! [`LOGS_PER_SECOND`] a second. The file is polled every [`POLL_EVERY`]: a changed file that
//! parses replaces the rules, one that does not is logged and the old rules stay.

pub mod addr;
pub mod resource;
pub mod rules;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ferromq_proto::RemotingCommand;
use parking_lot::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;

pub use rules::{Rules, RulesError};

/// How often the file's modification time and size are looked at.
pub const POLL_EVERY: Duration = Duration::from_secs(2);
/// Refusals logged per second at most (the counters see them all).
pub const LOGS_PER_SECOND: u64 = 20;

/// Why the ACL could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AclError {
    /// The file cannot be read.
    #[error("cannot read the ACL file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file does not say what RocketMQ's plain ACL expects.
    #[error("ACL file {path}: {source}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where and what.
        #[source]
        source: RulesError,
    },
}

/// Kinds of refusal, counted separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// No `AccessKey` (or an empty one).
    NoAccessKey,
    /// An `AccessKey` no account has.
    UnknownAccessKey,
    /// Missing or wrong `Signature`.
    BadSignature,
    /// An admin request from an account that is not an admin.
    NotAdmin,
    /// A resource the account may not use that way (or a heartbeat that does not decode).
    NoPermission,
}

impl RefusalKind {
    const ALL: [RefusalKind; 5] = [
        RefusalKind::NoAccessKey,
        RefusalKind::UnknownAccessKey,
        RefusalKind::BadSignature,
        RefusalKind::NotAdmin,
        RefusalKind::NoPermission,
    ];

    /// Suffix of the runtime-info counter (`aclRefused<Name>`).
    pub fn counter_name(self) -> &'static str {
        match self {
            RefusalKind::NoAccessKey => "NoAccessKey",
            RefusalKind::UnknownAccessKey => "UnknownAccessKey",
            RefusalKind::BadSignature => "BadSignature",
            RefusalKind::NotAdmin => "NotAdmin",
            RefusalKind::NoPermission => "NoPermission",
        }
    }
}

/// A refused request: the kind and the text (without the request and peer, which
/// [`Acl::check`] adds to the remark).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Which check refused it.
    pub kind: RefusalKind,
    /// Why, in Java's words where Java has some.
    pub reason: String,
}

fn refuse(kind: RefusalKind, reason: String) -> Result<(), Refusal> {
    Err(Refusal { kind, reason })
}

/// Identity of a version of the file, to notice edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let m = std::fs::metadata(path)?;
    Ok(Stamp {
        modified: m.modified().ok(),
        len: m.len(),
    })
}

/// The broker's ACL: the rules of the file, swapped whole on reload, and the counters.
pub struct Acl {
    path: PathBuf,
    rules: RwLock<Arc<Rules>>,
    stamp: Mutex<Option<Stamp>>,
    refused: [AtomicU64; 5],
    reloads: AtomicU64,
    failed_reloads: AtomicU64,
    log_window: Mutex<(u64, u64)>,
}

impl Acl {
    /// Loads `path`; `Err` when it cannot be read or is not a valid `plain_acl.yml`.
    pub fn load(path: PathBuf) -> Result<Acl, AclError> {
        let before = stamp(&path).ok();
        let rules = read_rules(&path)?;
        Ok(Acl {
            path,
            rules: RwLock::new(Arc::new(rules)),
            stamp: Mutex::new(before),
            refused: Default::default(),
            reloads: AtomicU64::new(0),
            failed_reloads: AtomicU64::new(0),
            log_window: Mutex::new((0, 0)),
        })
    }

    /// The file the rules come from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The rules in force.
    pub fn rules(&self) -> Arc<Rules> {
        Arc::clone(&self.rules.read())
    }

    /// Checks `req` from `peer`. `Err` carries the remark for the NO_PERMISSION answer; the
    /// refusal has been counted and (rate-limited) logged.
    pub fn check(&self, peer: IpAddr, req: &RemotingCommand) -> Result<(), String> {
        let rules = self.rules();
        let Err(refusal) = decide(&rules, peer, req) else {
            return Ok(());
        };
        let kind_index = RefusalKind::ALL
            .iter()
            .position(|k| *k == refusal.kind)
            .unwrap_or(0);
        self.refused[kind_index].fetch_add(1, Ordering::Relaxed);
        let name = ferromq_proto::codes::served_by(req.code)
            .map(|(_, n)| n)
            .unwrap_or("request");
        let remark = format!(
            "ACL refused {name} (code {}) from {peer}: {}",
            req.code, refusal.reason
        );
        if self.may_log() {
            tracing::warn!(code = req.code, %peer, kind = refusal.kind.counter_name(), reason = %refusal.reason, "ACL refused a request");
        }
        Err(remark)
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

    /// `(counter name, value)` pairs for runtime info: refusals by kind, their total, reloads.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut total = 0;
        for (kind, n) in RefusalKind::ALL.iter().zip(&self.refused) {
            let n = n.load(Ordering::Relaxed);
            total += n;
            out.push((format!("aclRefused{}", kind.counter_name()), n));
        }
        out.push(("aclRefusedTotal".into(), total));
        out.push(("aclReloads".into(), self.reloads.load(Ordering::Relaxed)));
        out.push((
            "aclFailedReloads".into(),
            self.failed_reloads.load(Ordering::Relaxed),
        ));
        out
    }

    /// Reloads the file if its modification time or size changed since the last look. A file
    /// that is gone or does not parse is logged and the rules in force stay.
    pub fn reload_if_changed(&self) {
        let now = match stamp(&self.path) {
            Ok(s) => Some(s),
            Err(e) => {
                let mut last = self.stamp.lock();
                if last.is_some() {
                    tracing::error!(path = %self.path.display(), error = %e, "ACL file unreadable; keeping the rules in force");
                    *last = None;
                }
                return;
            }
        };
        if *self.stamp.lock() == now {
            return;
        }
        let read = read_rules(&self.path);
        if stamp(&self.path).ok() != now {
            // Changed while being read (a write in progress): look again at the next poll.
            return;
        }
        *self.stamp.lock() = now;
        match read {
            Ok(rules) => {
                tracing::info!(path = %self.path.display(), accounts = rules.accounts.len(), global_whitelist = rules.global_white.len(), "ACL file reloaded");
                *self.rules.write() = Arc::new(rules);
                self.reloads.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::error!(error = %e, "ACL file changed but is not valid; keeping the rules in force");
                self.failed_reloads.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Polls the file every `every` until `stop`; file work runs on the blocking pool.
    pub async fn watch(self: Arc<Self>, every: Duration, stop: CancellationToken) {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {
                    let acl = Arc::clone(&self);
                    if let Err(e) = tokio::task::spawn_blocking(move || acl.reload_if_changed()).await {
                        tracing::error!(error = %e, "ACL reload task failed");
                    }
                }
            }
        }
    }
}

fn read_rules(path: &Path) -> Result<Rules, AclError> {
    let text = std::fs::read_to_string(path).map_err(|source| AclError::Read {
        path: path.to_owned(),
        source,
    })?;
    Rules::parse(&text).map_err(|source| AclError::Invalid {
        path: path.to_owned(),
        source,
    })
}

/// The decision alone, in Java's order (see the module diagram).
pub fn decide(rules: &Rules, peer: IpAddr, req: &RemotingCommand) -> Result<(), Refusal> {
    use ferromq_proto::acl::{verify, ACCESS_KEY, SIGNATURE, UNIQUE_MSG_QUERY_FLAG};
    use rules::perm;

    if rules.global_white.iter().any(|p| p.matches(peer)) {
        return Ok(());
    }
    let Some(key) = req.ext_fields.get(ACCESS_KEY).filter(|k| !k.is_empty()) else {
        return refuse(
            RefusalKind::NoAccessKey,
            "No accessKey is configured (the request is not signed)".into(),
        );
    };
    let Some(account) = rules.accounts.get(key) else {
        return refuse(
            RefusalKind::UnknownAccessKey,
            format!("No acl config for {key}"),
        );
    };
    if account.white.matches(peer) {
        return Ok(());
    }
    let claimed = req.ext_fields.get(SIGNATURE).unwrap_or("");
    // Java leaves `_UNIQUE_KEY_QUERY` out of the content although its client signs it:
    // accept either.
    let signed = verify(req, &account.secret_key, &[UNIQUE_MSG_QUERY_FLAG], claimed)
        || (req.ext_fields.get(UNIQUE_MSG_QUERY_FLAG).is_some()
            && verify(req, &account.secret_key, &[], claimed));
    if !signed {
        return refuse(
            RefusalKind::BadSignature,
            format!("Check signature failed for accessKey={key}"),
        );
    }
    let needed = resource::needed(req).map_err(|reason| Refusal {
        kind: RefusalKind::NoPermission,
        reason,
    })?;
    // Message traces may always be sent (Java skips the check for RMQ_SYS_TRACE_TOPIC).
    if needed
        .iter()
        .any(|(r, p)| r == ferromq_common::names::TRACE_TOPIC && *p == perm::PUB)
    {
        return Ok(());
    }
    if resource::needs_admin(req.code) && !account.admin {
        return refuse(
            RefusalKind::NotAdmin,
            format!(
                "Need admin permission for request code={}, but accessKey={key} is not",
                req.code
            ),
        );
    }
    if account.resources.is_none() && account.admin {
        return Ok(());
    }
    for (res, needs) in &needed {
        let group = ferromq_common::names::is_retry_topic(res);
        let owned = account
            .resources
            .as_ref()
            .and_then(|m| m.get(res).copied())
            .unwrap_or(if group {
                account.default_group_perm
            } else {
                account.default_topic_perm
            });
        if !perm::allows(*needs, owned) {
            let what = match res.strip_prefix(ferromq_common::names::RETRY_GROUP_TOPIC_PREFIX) {
                Some(g) => format!("group:{g}"),
                None => format!("topic:{res}"),
            };
            return refuse(
                RefusalKind::NoPermission,
                format!(
                    "No permission for {what}: needs {}, accessKey={key} has {}",
                    perm::name(*needs),
                    perm_words(owned)
                ),
            );
        }
    }
    Ok(())
}

fn perm_words(p: u8) -> &'static str {
    use rules::perm::*;
    if p & DENY != 0 {
        "DENY"
    } else {
        match p & (PUB | SUB) {
            x if x == PUB | SUB => "PUB|SUB",
            PUB => "PUB",
            SUB => "SUB",
            _ => "DENY",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_proto::acl::sign;
    use ferromq_proto::codes::request;

    const FILE: &str = "
globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      - groupA=DENY
  - accessKey: rocketmq2
    secretKey: 87654321
    whiteRemoteAddress: 192.168.1.*
    admin: true
";

    fn rules() -> Rules {
        Rules::parse(FILE).unwrap()
    }

    fn local() -> IpAddr {
        addr::v4(127, 0, 0, 1)
    }

    fn send(topic: &str) -> RemotingCommand {
        let mut r = RemotingCommand::bare_request(request::SEND_MESSAGE_V2);
        r.ext_fields.insert_str("a", "PG");
        r.ext_fields.insert_str("b", topic);
        r.body = bytes::Bytes::from_static(b"hello");
        r
    }

    fn pull(topic: &str, group: &str) -> RemotingCommand {
        let mut r = RemotingCommand::bare_request(request::PULL_MESSAGE);
        r.ext_fields.insert_str("topic", topic);
        r.ext_fields.insert_str("consumerGroup", group);
        r
    }

    fn signed(mut r: RemotingCommand, ak: &str, sk: &str) -> RemotingCommand {
        sign(&mut r, ak, sk);
        r
    }

    fn kind(r: &RemotingCommand, peer: IpAddr) -> Option<RefusalKind> {
        decide(&rules(), peer, r).err().map(|e| e.kind)
    }

    #[test]
    fn unsigned_unknown_and_badly_signed_requests_are_refused() {
        assert_eq!(
            kind(&send("topicB"), local()),
            Some(RefusalKind::NoAccessKey)
        );
        let mut empty = send("topicB");
        empty.ext_fields.insert_str("AccessKey", "");
        assert_eq!(kind(&empty, local()), Some(RefusalKind::NoAccessKey));
        let unknown = signed(send("topicB"), "nobody123", "12345678");
        assert_eq!(kind(&unknown, local()), Some(RefusalKind::UnknownAccessKey));
        let wrong = signed(send("topicB"), "RocketMQ", "wrongsecret");
        assert_eq!(kind(&wrong, local()), Some(RefusalKind::BadSignature));
        let mut tampered = signed(send("topicB"), "RocketMQ", "12345678");
        tampered.body = bytes::Bytes::from_static(b"HELLO");
        assert_eq!(kind(&tampered, local()), Some(RefusalKind::BadSignature));
        assert_eq!(
            kind(&signed(send("topicB"), "RocketMQ", "12345678"), local()),
            None
        );
    }

    #[test]
    fn resource_and_default_permissions_apply() {
        let ok = |r| kind(&signed(r, "RocketMQ", "12345678"), local());
        assert_eq!(ok(send("topicA")), Some(RefusalKind::NoPermission));
        assert_eq!(ok(send("topicC")), Some(RefusalKind::NoPermission));
        assert_eq!(ok(send("other")), Some(RefusalKind::NoPermission));
        assert_eq!(ok(pull("topicC", "anyGroup")), None);
        assert_eq!(
            ok(pull("topicC", "groupA")),
            Some(RefusalKind::NoPermission)
        );
        let e = decide(
            &rules(),
            local(),
            &signed(send("topicA"), "RocketMQ", "12345678"),
        )
        .unwrap_err();
        assert!(e.reason.contains("topic:topicA"), "{}", e.reason);
        // Traces may always be sent.
        assert_eq!(ok(send("RMQ_SYS_TRACE_TOPIC")), None);
    }

    #[test]
    fn admin_requests_need_an_admin() {
        let create = || {
            let mut r = RemotingCommand::bare_request(request::UPDATE_AND_CREATE_TOPIC);
            r.ext_fields.insert_str("topic", "T");
            r
        };
        assert_eq!(
            kind(&signed(create(), "RocketMQ", "12345678"), local()),
            Some(RefusalKind::NotAdmin)
        );
        assert_eq!(
            kind(&signed(create(), "rocketmq2", "87654321"), local()),
            None
        );
        // An admin with no topicPerms/groupPerms may use every resource.
        assert_eq!(
            kind(&signed(send("anything"), "rocketmq2", "87654321"), local()),
            None
        );
    }

    #[test]
    fn whitelists_skip_checks_as_in_java() {
        // Global whitelist: no key needed at all.
        assert_eq!(kind(&send("topicA"), addr::v4(10, 10, 103, 7)), None);
        // Account whitelist: the key must be known, the signature is not checked.
        let mut unsigned = send("x");
        unsigned.ext_fields.insert_str("AccessKey", "rocketmq2");
        assert_eq!(kind(&unsigned, addr::v4(192, 168, 1, 9)), None);
        assert_eq!(
            kind(&unsigned, addr::v4(192, 168, 2, 9)),
            Some(RefusalKind::BadSignature)
        );
    }

    #[test]
    fn unique_key_query_flag_is_accepted_either_way() {
        let mut q = RemotingCommand::bare_request(request::QUERY_MESSAGE);
        q.ext_fields.insert_str("topic", "topicC");
        q.ext_fields.insert_str("_UNIQUE_KEY_QUERY", "true");
        // Signed including the flag (Java's client) ...
        let with = signed(q.clone(), "RocketMQ", "12345678");
        assert_eq!(kind(&with, local()), None);
        // ... or without it (what Java's broker computes).
        q.ext_fields.insert_str("AccessKey", "RocketMQ");
        let sig = ferromq_proto::acl::signature(&q, "12345678", &["_UNIQUE_KEY_QUERY"]);
        q.ext_fields.insert_str("Signature", &sig);
        assert_eq!(kind(&q, local()), None);
    }

    #[test]
    fn reload_keeps_old_rules_when_the_new_file_is_bad() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain_acl.yml");
        std::fs::write(&path, FILE).unwrap();
        let acl = Acl::load(path.clone()).unwrap();
        assert_eq!(acl.rules().accounts.len(), 2);
        std::fs::write(&path, "accounts:\n  - accessKey: short\n").unwrap();
        acl.reload_if_changed();
        assert_eq!(acl.rules().accounts.len(), 2);
        std::fs::write(
            &path,
            "accounts:\n  - accessKey: onlyone1\n    secretKey: 12345678\n",
        )
        .unwrap();
        acl.reload_if_changed();
        assert_eq!(acl.rules().accounts.len(), 1);
        let c: std::collections::HashMap<_, _> = acl.counters().into_iter().collect();
        assert_eq!((c["aclReloads"], c["aclFailedReloads"]), (1, 1));
    }
}
