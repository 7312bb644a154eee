//! ACL 2.0 users and ACLs as RocketMQ 5.3 models them (Java `User`, `Acl`, `Policy`,
//! `PolicyEntry`, `Resource`, `Environment`), read from and written to the wire bodies
//! `UserInfo` / `AclInfo`.
//!
//! | resource key | matches |
//! |---|---|
//! | `*` | everything |
//! | `Topic:*`, `Group:*`, `Cluster:*` | every resource of that type |
//! | `Topic:orders` | that topic (literal) |
//! | `Topic:order*` | topics starting with `order` (prefixed) |
//!
//! Of the entries that match a request (resource, one of its actions, its source IP), the
//! custom policy's win over the default policy's; among those the most specific resource wins
//! (literal, then the longest prefix, then `Type:*`, then `*`), and at equal specificity `Deny`
//! beats `Allow` (Java `AclAuthorizationHandler.comparePolicyEntries`).

use std::cmp::Ordering;
use std::net::IpAddr;

use ferromq_proto::body::{AclInfo, PolicyEntryInfo, PolicyInfo, UserInfo};

/// `Super` users pass every authorization check; `Normal` ones need ACL entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserType {
    Super,
    Normal,
}

/// A `disable`d user is refused at authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Enable,
    Disable,
}

/// One user: the access key is the username, the secret key the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub username: String,
    pub password: String,
    pub user_type: UserType,
    pub user_status: UserStatus,
}

impl UserType {
    /// Java's name (`Super`, `Normal`).
    pub fn name(self) -> &'static str {
        match self {
            UserType::Super => "Super",
            UserType::Normal => "Normal",
        }
    }

    /// Parses a name, ignoring case as Java's `getByName` does.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "super" => Ok(UserType::Super),
            "normal" => Ok(UserType::Normal),
            _ => Err(format!("The userType `{s}` is illegal (Super or Normal)")),
        }
    }
}

impl UserStatus {
    /// Java's name (`enable`, `disable`).
    pub fn name(self) -> &'static str {
        match self {
            UserStatus::Enable => "enable",
            UserStatus::Disable => "disable",
        }
    }

    /// Parses a name, ignoring case.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "enable" => Ok(UserStatus::Enable),
            "disable" => Ok(UserStatus::Disable),
            _ => Err(format!(
                "The userStatus `{s}` is illegal (enable or disable)"
            )),
        }
    }
}

impl User {
    /// The wire form (password included, as Java's getUser/listUser answer).
    pub fn to_info(&self) -> UserInfo {
        UserInfo {
            username: Some(self.username.clone()),
            password: Some(self.password.clone()),
            user_type: Some(self.user_type.name().into()),
            user_status: Some(self.user_status.name().into()),
        }
    }
}

/// The parts of a `UserInfo` that were given (an update changes only those).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub password: Option<String>,
    pub user_type: Option<UserType>,
    pub user_status: Option<UserStatus>,
}

impl UserPatch {
    /// Reads the optional fields of `info`; `Err` names an illegal type or status.
    pub fn from_info(info: &UserInfo) -> Result<Self, String> {
        Ok(UserPatch {
            password: info.password.clone().filter(|p| !p.trim().is_empty()),
            user_type: info
                .user_type
                .as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(UserType::parse)
                .transpose()?,
            user_status: info
                .user_status
                .as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(UserStatus::parse)
                .transpose()?,
        })
    }
}

/// Resource types (Java `ResourceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    Any,
    Cluster,
    Namespace,
    Topic,
    Group,
}

impl ResourceType {
    fn name(self) -> &'static str {
        match self {
            ResourceType::Any => "Any",
            ResourceType::Cluster => "Cluster",
            ResourceType::Namespace => "Namespace",
            ResourceType::Topic => "Topic",
            ResourceType::Group => "Group",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "any" => Some(ResourceType::Any),
            "cluster" => Some(ResourceType::Cluster),
            "namespace" => Some(ResourceType::Namespace),
            "topic" => Some(ResourceType::Topic),
            "group" => Some(ResourceType::Group),
            _ => None,
        }
    }
}

/// How a resource name matches (Java `ResourcePattern`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pattern {
    Any,
    Literal,
    Prefixed,
}

/// A resource, or a pattern of resources in an ACL entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Resource {
    pub kind: ResourceType,
    pub name: String,
    pub pattern: Pattern,
}

impl Resource {
    /// A literal resource.
    pub fn of(kind: ResourceType, name: &str) -> Self {
        Resource {
            kind,
            name: name.to_owned(),
            pattern: Pattern::Literal,
        }
    }

    /// A group: `%RETRY%g` and `%DLQ%g` name the group `g` (Java `Resource.ofGroup`).
    pub fn group(name: &str) -> Self {
        let n = name
            .strip_prefix(ferromq_common::names::RETRY_GROUP_TOPIC_PREFIX)
            .or_else(|| name.strip_prefix("%DLQ%"))
            .unwrap_or(name);
        Resource::of(ResourceType::Group, n)
    }

    /// Parses a key: `*`, `Type:*`, `Type:name`, `Type:prefix*` (Java `Resource.of`).
    pub fn parse(key: &str) -> Result<Self, String> {
        let key = key.trim();
        if key.is_empty() {
            return Err("The resource is null.".into());
        }
        if key == "*" {
            return Ok(Resource {
                kind: ResourceType::Any,
                name: String::new(),
                pattern: Pattern::Any,
            });
        }
        let (kind, name) = key.split_once(':').unwrap_or((key, ""));
        let kind = ResourceType::parse(kind).ok_or_else(|| {
            format!("The resource `{key}` is illegal: its type is not Cluster, Namespace, Topic or Group")
        })?;
        let (name, pattern) = if name == "*" {
            (String::new(), Pattern::Any)
        } else if let Some(prefix) = name.strip_suffix('*') {
            (prefix.to_owned(), Pattern::Prefixed)
        } else {
            (name.to_owned(), Pattern::Literal)
        };
        if pattern == Pattern::Literal && name.is_empty() {
            return Err(format!("The resource `{key}` has no name"));
        }
        Ok(Resource {
            kind,
            name,
            pattern,
        })
    }

    /// The key (`Topic:orders`, `Group:g*`, `*`).
    pub fn key(&self) -> String {
        if self.kind == ResourceType::Any {
            return "*".into();
        }
        match self.pattern {
            Pattern::Any => format!("{}:*", self.kind.name()),
            Pattern::Literal => format!("{}:{}", self.kind.name(), self.name),
            Pattern::Prefixed => format!("{}:{}*", self.kind.name(), self.name),
        }
    }

    /// Whether this pattern covers the literal resource `r` (Java `Resource.isMatch`).
    pub fn covers(&self, r: &Resource) -> bool {
        if self.kind == ResourceType::Any {
            return true;
        }
        if self.kind != r.kind {
            return false;
        }
        match self.pattern {
            Pattern::Any => true,
            Pattern::Literal => self.name == r.name,
            Pattern::Prefixed => r.name.starts_with(&self.name),
        }
    }
}

/// Actions (Java `Action`). `Any` is only ever *needed* (a request any granted action
/// satisfies); `All` only ever *granted*.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    All,
    Any,
    Pub,
    Sub,
    Create,
    Update,
    Delete,
    Get,
    List,
}

impl Action {
    /// Java's name.
    pub fn name(self) -> &'static str {
        match self {
            Action::All => "All",
            Action::Any => "Any",
            Action::Pub => "Pub",
            Action::Sub => "Sub",
            Action::Create => "Create",
            Action::Update => "Update",
            Action::Delete => "Delete",
            Action::Get => "Get",
            Action::List => "List",
        }
    }

    /// Parses a name, ignoring case.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Action::All,
            Action::Any,
            Action::Pub,
            Action::Sub,
            Action::Create,
            Action::Update,
            Action::Delete,
            Action::Get,
            Action::List,
        ]
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(s.trim()))
    }
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
}

impl Decision {
    fn name(self) -> &'static str {
        match self {
            Decision::Allow => "Allow",
            Decision::Deny => "Deny",
        }
    }
}

/// `Custom` policies are set by users; `Default` ones apply only when no custom entry matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    Custom,
    Default,
}

impl PolicyType {
    fn name(self) -> &'static str {
        match self {
            PolicyType::Custom => "Custom",
            PolicyType::Default => "Default",
        }
    }

    /// Parses a name (blank: `Custom`, as Java defaults it).
    pub fn parse(s: Option<&str>) -> Result<Self, String> {
        match s.map(str::trim).unwrap_or("") {
            "" => Ok(PolicyType::Custom),
            t if t.eq_ignore_ascii_case("custom") => Ok(PolicyType::Custom),
            t if t.eq_ignore_ascii_case("default") => Ok(PolicyType::Default),
            t => Err(format!(
                "The policyType `{t}` is illegal (Custom or Default)"
            )),
        }
    }
}

/// An address or a CIDR block (Java `IPAddressUtils.isIPInRange`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRange {
    text: String,
    net: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let bad = || format!("The source ip `{t}` is invalid (an IP address or a CIDR block)");
        let (addr, prefix) = match t.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (t, None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(IpRange {
            text: t.to_owned(),
            net,
            prefix,
        })
    }

    /// Whether `ip` is inside (an IPv4-mapped IPv6 peer counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let (a, b, bits) = match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => (u32::from(n) as u128, u32::from(i) as u128, 32),
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
            _ => return false,
        };
        let shift = bits - self.prefix as u32;
        shift >= bits || (a >> shift) == (b >> shift)
    }
}

/// One entry of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub resource: Resource,
    pub actions: Vec<Action>,
    pub source_ips: Vec<IpRange>,
    pub decision: Decision,
}

impl Entry {
    fn matches(&self, r: &Resource, needed: &[Action], peer: IpAddr) -> bool {
        self.resource.covers(r)
            && (needed.contains(&Action::Any)
                || needed
                    .iter()
                    .any(|a| self.actions.contains(a) || self.actions.contains(&Action::All)))
            && (self.source_ips.is_empty() || self.source_ips.iter().any(|s| s.contains(peer)))
    }

    fn to_info(&self) -> PolicyEntryInfo {
        PolicyEntryInfo {
            resource: Some(self.resource.key()),
            actions: Some(self.actions.iter().map(|a| a.name().to_owned()).collect()),
            source_ips: (!self.source_ips.is_empty())
                .then(|| self.source_ips.iter().map(|s| s.text.clone()).collect()),
            decision: Some(self.decision.name().into()),
        }
    }

    fn from_info(e: &PolicyEntryInfo) -> Result<Self, String> {
        let resource = Resource::parse(e.resource.as_deref().unwrap_or(""))?;
        let mut actions = Vec::new();
        for a in e.actions.iter().flatten() {
            let action = Action::parse(a).ok_or_else(|| format!("The action `{a}` is illegal"))?;
            if action == Action::Any {
                return Err("The actions can not be Any.".into());
            }
            actions.push(action);
        }
        if actions.is_empty() {
            return Err("The actions is empty.".into());
        }
        let source_ips = e
            .source_ips
            .iter()
            .flatten()
            .map(|s| IpRange::parse(s))
            .collect::<Result<_, _>>()?;
        let decision = match e.decision.as_deref().map(str::trim) {
            Some(d) if d.eq_ignore_ascii_case("allow") => Decision::Allow,
            Some(d) if d.eq_ignore_ascii_case("deny") => Decision::Deny,
            _ => return Err("The decision is null or illegal.".into()),
        };
        Ok(Entry {
            resource,
            actions,
            source_ips,
            decision,
        })
    }
}

/// A policy: its type and entries (one entry per resource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub kind: PolicyType,
    pub entries: Vec<Entry>,
}

/// The ACL of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// The subject key, `User:<name>`.
    pub subject: String,
    pub policies: Vec<Policy>,
}

/// The subject key of a user.
pub fn user_subject(username: &str) -> String {
    format!("User:{username}")
}

/// The username in a subject key (`User:alice`); `Err` for other subject types.
pub fn subject_user(subject: &str) -> Result<&str, String> {
    match subject.trim().split_once(':') {
        Some((t, name)) if t.eq_ignore_ascii_case("user") && !name.is_empty() => Ok(name),
        _ => Err(format!(
            "The subject `{subject}` is illegal: it must be User:<username>"
        )),
    }
}

impl Acl {
    /// Reads an `AclInfo` body for `subject`; `Err` says what RocketMQ would refuse.
    pub fn from_info(subject: &str, info: &AclInfo) -> Result<Self, String> {
        subject_user(subject)?;
        let mut policies: Vec<Policy> = Vec::new();
        for p in info.policies.iter().flatten() {
            let kind = PolicyType::parse(p.policy_type.as_deref())?;
            let entries = p.entries.as_deref().unwrap_or_default();
            if entries.is_empty() {
                return Err("The policy entries is empty.".into());
            }
            let entries = entries
                .iter()
                .map(Entry::from_info)
                .collect::<Result<Vec<_>, _>>()?;
            let mut policy = Policy {
                kind,
                entries: Vec::new(),
            };
            policy.merge(entries);
            match policies.iter_mut().find(|q| q.kind == kind) {
                Some(q) => q.merge(policy.entries),
                None => policies.push(policy),
            }
        }
        if policies.is_empty() {
            return Err("The policies is empty.".into());
        }
        Ok(Acl {
            subject: subject.trim().to_owned(),
            policies,
        })
    }

    /// The wire form.
    pub fn to_info(&self) -> AclInfo {
        AclInfo {
            subject: Some(self.subject.clone()),
            policies: Some(
                self.policies
                    .iter()
                    .map(|p| PolicyInfo {
                        policy_type: Some(p.kind.name().into()),
                        entries: Some(p.entries.iter().map(Entry::to_info).collect()),
                    })
                    .collect(),
            ),
        }
    }

    /// Adds `other`'s entries, replacing those on the same resource (Java `Acl.updatePolicy`).
    pub fn merge(&mut self, other: Acl) {
        for p in other.policies {
            match self.policies.iter_mut().find(|q| q.kind == p.kind) {
                Some(q) => q.merge(p.entries),
                None => self.policies.push(p),
            }
        }
    }

    /// Removes the entry on `resource` from the policy `kind`; returns whether one was there.
    pub fn remove(&mut self, kind: PolicyType, resource: &Resource) -> bool {
        let mut removed = false;
        for p in self.policies.iter_mut().filter(|p| p.kind == kind) {
            let before = p.entries.len();
            p.entries.retain(|e| &e.resource != resource);
            removed |= p.entries.len() != before;
        }
        self.policies.retain(|p| !p.entries.is_empty());
        removed
    }

    /// Whether an entry's resource pattern matches the filter text (`listAcl -r`).
    pub fn mentions_resource(&self, filter: &str) -> bool {
        self.policies
            .iter()
            .flat_map(|p| &p.entries)
            .any(|e| e.resource.key().contains(filter))
    }

    /// The entry that decides `needed` on `r` from `peer`, if any (see the module docs).
    pub fn decide(&self, r: &Resource, needed: &[Action], peer: IpAddr) -> Option<&Entry> {
        for kind in [PolicyType::Custom, PolicyType::Default] {
            let best = self
                .policies
                .iter()
                .filter(|p| p.kind == kind)
                .flat_map(|p| &p.entries)
                .filter(|e| e.matches(r, needed, peer))
                .min_by(|a, b| precedence(a, b));
            if best.is_some() {
                return best;
            }
        }
        None
    }
}

impl Policy {
    fn merge(&mut self, entries: Vec<Entry>) {
        for e in entries {
            match self.entries.iter_mut().find(|x| x.resource == e.resource) {
                Some(x) => *x = e,
                None => self.entries.push(e),
            }
        }
    }
}

/// `Less` when `a` takes precedence over `b`.
fn precedence(a: &Entry, b: &Entry) -> Ordering {
    let rank = |e: &Entry| -> (u8, std::cmp::Reverse<usize>) {
        let r = &e.resource;
        match (r.kind, r.pattern) {
            (ResourceType::Any, _) => (3, std::cmp::Reverse(0)),
            (_, Pattern::Literal) => (0, std::cmp::Reverse(0)),
            (_, Pattern::Prefixed) => (1, std::cmp::Reverse(r.name.len())),
            (_, Pattern::Any) => (2, std::cmp::Reverse(0)),
        }
    };
    let deny_first = |e: &Entry| u8::from(e.decision != Decision::Deny);
    rank(a)
        .cmp(&rank(b))
        .then_with(|| deny_first(a).cmp(&deny_first(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(entries: &[(&str, &[&str], &[&str], &str)]) -> Acl {
        let info = AclInfo {
            subject: None,
            policies: Some(vec![PolicyInfo {
                policy_type: None,
                entries: Some(
                    entries
                        .iter()
                        .map(|(r, a, ips, d)| PolicyEntryInfo {
                            resource: Some(r.to_string()),
                            actions: Some(a.iter().map(|s| s.to_string()).collect()),
                            source_ips: Some(ips.iter().map(|s| s.to_string()).collect()),
                            decision: Some(d.to_string()),
                        })
                        .collect(),
                ),
            }]),
        };
        Acl::from_info("User:alice", &info).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn allowed(a: &Acl, r: Resource, needed: &[Action], peer: &str) -> bool {
        a.decide(&r, needed, ip(peer))
            .is_some_and(|e| e.decision == Decision::Allow)
    }

    #[test]
    fn resource_keys_parse_and_print() {
        for key in [
            "*",
            "Topic:*",
            "Topic:orders",
            "Group:g*",
            "Cluster:DefaultCluster",
        ] {
            assert_eq!(Resource::parse(key).unwrap().key(), key);
        }
        assert!(Resource::parse("Queue:x").is_err());
        assert!(Resource::parse("Topic:").is_err());
        assert_eq!(
            Resource::group("%RETRY%cg"),
            Resource::of(ResourceType::Group, "cg")
        );
    }

    #[test]
    fn most_specific_entry_wins_and_deny_beats_allow_at_equal_rank() {
        let a = acl(&[
            ("Topic:*", &["Pub"], &[], "Allow"),
            ("Topic:secret*", &["Pub"], &[], "Deny"),
            ("Topic:secret-ok", &["Pub"], &[], "Allow"),
        ]);
        let t = |n| Resource::of(ResourceType::Topic, n);
        assert!(allowed(&a, t("orders"), &[Action::Pub], "127.0.0.1"));
        assert!(!allowed(&a, t("secret-x"), &[Action::Pub], "127.0.0.1"));
        assert!(allowed(&a, t("secret-ok"), &[Action::Pub], "127.0.0.1"));
        assert!(!allowed(&a, t("orders"), &[Action::Sub], "127.0.0.1"));
        let mut b = acl(&[("Topic:t", &["Pub"], &[], "Allow")]);
        b.policies.push(Policy {
            kind: PolicyType::Custom,
            entries: vec![Entry::from_info(&PolicyEntryInfo {
                resource: Some("Topic:t".into()),
                actions: Some(vec!["All".into()]),
                source_ips: None,
                decision: Some("Deny".into()),
            })
            .unwrap()],
        });
        assert!(!allowed(&b, t("t"), &[Action::Pub], "127.0.0.1"));
    }

    #[test]
    fn source_ips_and_all_and_any_actions() {
        let a = acl(&[("Group:cg", &["All"], &["10.0.0.0/8", "::1"], "Allow")]);
        let g = || Resource::of(ResourceType::Group, "cg");
        assert!(allowed(&a, g(), &[Action::Sub], "10.1.2.3"));
        assert!(allowed(&a, g(), &[Action::Sub], "::1"));
        assert!(allowed(&a, g(), &[Action::Sub], "::ffff:10.0.0.9"));
        assert!(!allowed(&a, g(), &[Action::Sub], "192.168.0.1"));
        assert!(allowed(&a, g(), &[Action::Any], "10.0.0.1"));
    }

    #[test]
    fn bad_entries_are_refused_with_javas_words() {
        let bad = |r: &str, a: &[&str], ips: &[&str], d: &str| {
            let info = AclInfo {
                subject: None,
                policies: Some(vec![PolicyInfo {
                    policy_type: None,
                    entries: Some(vec![PolicyEntryInfo {
                        resource: Some(r.into()),
                        actions: Some(a.iter().map(|s| s.to_string()).collect()),
                        source_ips: Some(ips.iter().map(|s| s.to_string()).collect()),
                        decision: Some(d.into()),
                    }]),
                }]),
            };
            Acl::from_info("User:alice", &info).unwrap_err()
        };
        assert_eq!(
            bad("Topic:t", &["Any"], &[], "Allow"),
            "The actions can not be Any."
        );
        assert_eq!(bad("Topic:t", &[], &[], "Allow"), "The actions is empty.");
        assert!(bad("Topic:t", &["Pub"], &["10.0.0.0/33"], "Allow").contains("invalid"));
        assert_eq!(
            bad("Topic:t", &["Pub"], &[], "Maybe"),
            "The decision is null or illegal."
        );
        assert!(Acl::from_info("Group:x", &AclInfo::default()).is_err());
    }

    #[test]
    fn merge_replaces_the_entry_on_the_same_resource_and_remove_drops_it() {
        let mut a = acl(&[("Topic:t", &["Pub"], &[], "Allow")]);
        a.merge(acl(&[
            ("Topic:t", &["Sub"], &[], "Deny"),
            ("Topic:u", &["Pub"], &[], "Allow"),
        ]));
        assert_eq!(a.policies[0].entries.len(), 2);
        assert_eq!(a.policies[0].entries[0].decision, Decision::Deny);
        assert!(a.remove(PolicyType::Custom, &Resource::parse("Topic:t").unwrap()));
        assert!(!a.remove(PolicyType::Custom, &Resource::parse("Topic:t").unwrap()));
        assert_eq!(a.policies[0].entries.len(), 1);
    }
}
