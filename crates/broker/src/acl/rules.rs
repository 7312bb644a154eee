//! `plain_acl.yml`: accounts and whitelists (Java `PlainPermissionManager.load`,
//! `Permission`), parsed into [`Rules`].
//!
//! ```yaml
//! globalWhiteRemoteAddresses: [10.10.103.*, 192.168.0.*]   # requests from here skip every check
//! accounts:
//!   - accessKey: RocketMQ            # more than 6 characters
//!     secretKey: 12345678            # more than 6 characters (a number is read as its text)
//!     whiteRemoteAddress: 192.168.1.*  # this account's requests from here skip the signature
//!     admin: false                   # may send admin requests (topic/group changes, ...)
//!     defaultTopicPerm: DENY         # DENY | PUB | SUB | PUB|SUB (absent: DENY)
//!     defaultGroupPerm: SUB
//!     topicPerms: [topicA=DENY, topicB=PUB|SUB]
//!     groupPerms: [groupA=DENY, groupB=SUB]   # kept as `%RETRY%<group>`
//! ```
//!
//! Unlike Java, which reads an unknown permission word as DENY and lets the last of two accounts
//! with the same access key win, FerroMQ refuses such a file and says where the mistake is.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::addr::AddrPattern;

/// Permission bits (Java `Permission`).
pub mod perm {
    /// Refused whatever else is set.
    pub const DENY: u8 = 1;
    /// Needed: either PUB or SUB.
    pub const ANY: u8 = 1 << 1;
    /// Send.
    pub const PUB: u8 = 1 << 2;
    /// Consume.
    pub const SUB: u8 = 1 << 3;

    /// Whether `owned` grants `needed` (Java `Permission.checkPermission`).
    pub fn allows(needed: u8, owned: u8) -> bool {
        if owned & DENY != 0 {
            return false;
        }
        if needed & ANY != 0 {
            return owned & (PUB | SUB) != 0;
        }
        needed & owned != 0
    }

    /// `DENY`, `PUB`, `SUB`, `PUB|SUB` or `SUB|PUB`.
    pub fn parse(word: &str) -> Option<u8> {
        match word.trim() {
            "DENY" => Some(DENY),
            "PUB" => Some(PUB),
            "SUB" => Some(SUB),
            "PUB|SUB" | "SUB|PUB" => Some(PUB | SUB),
            _ => None,
        }
    }

    /// The word for a needed permission, for remarks.
    pub fn name(p: u8) -> &'static str {
        match p {
            PUB => "PUB",
            SUB => "SUB",
            ANY => "PUB or SUB",
            _ => "DENY",
        }
    }
}

/// Shortest key Java refuses: keys must be longer than 6 characters.
const KEY_MIN_LEN: usize = 7;

/// One account.
#[derive(Debug, Clone)]
pub struct Account {
    /// `accessKey`.
    pub access_key: String,
    /// `secretKey`.
    pub secret_key: String,
    /// `whiteRemoteAddress`: requests with this access key from here need no signature.
    pub white: AddrPattern,
    /// `admin`.
    pub admin: bool,
    /// `defaultTopicPerm` (DENY when absent).
    pub default_topic_perm: u8,
    /// `defaultGroupPerm` (DENY when absent).
    pub default_group_perm: u8,
    /// `topicPerms` by topic and `groupPerms` by `%RETRY%<group>`; `None` when the file lists
    /// neither (an admin without them may use every resource).
    pub resources: Option<HashMap<String, u8>>,
}

/// Everything one `plain_acl.yml` says.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// `globalWhiteRemoteAddresses`.
    pub global_white: Vec<AddrPattern>,
    /// Accounts by access key.
    pub accounts: HashMap<String, Account>,
}

/// Why a `plain_acl.yml` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{field}: {reason}", line.map(|l| format!("line {l}, ")).unwrap_or_default())]
pub struct RulesError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The field, e.g. `accounts[1].topicPerms[0]` (or `yaml` for a syntax error).
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// A YAML scalar read as text: `secretKey: 12345678` is a number to YAML and a string to Java.
#[derive(Debug, Clone, Default)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileDoc {
    #[serde(default)]
    global_white_remote_addresses: Option<Vec<Text>>,
    #[serde(default)]
    accounts: Option<Vec<AccountDoc>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountDoc {
    access_key: Option<Text>,
    secret_key: Option<Text>,
    white_remote_address: Option<Text>,
    admin: Option<bool>,
    default_topic_perm: Option<Text>,
    default_group_perm: Option<Text>,
    topic_perms: Option<Vec<Text>>,
    group_perms: Option<Vec<Text>>,
}

/// The 1-based line of the first occurrence of `needle` in `text`, to point at a bad value.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

impl Rules {
    /// Parses the text of a `plain_acl.yml`. An empty file (or one with only comments) has no
    /// accounts and no whitelist: every request is refused.
    pub fn parse(text: &str) -> Result<Rules, RulesError> {
        let value: serde_norway::Value =
            serde_norway::from_str(text).map_err(|e| yaml_error(&e))?;
        if value.is_null() {
            return Ok(Rules::default());
        }
        let doc: FileDoc = serde_norway::from_str(text).map_err(|e| yaml_error(&e))?;
        let bad = |field: String, needle: &str, reason: String| RulesError {
            line: line_of(text, needle),
            field,
            reason,
        };
        let mut rules = Rules::default();
        for (i, entry) in doc
            .global_white_remote_addresses
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let pattern = AddrPattern::parse(&entry.0)
                .map_err(|r| bad(format!("globalWhiteRemoteAddresses[{i}]"), &entry.0, r))?;
            rules.global_white.push(pattern);
        }
        for (i, a) in doc.accounts.unwrap_or_default().into_iter().enumerate() {
            let at = |f: &str| format!("accounts[{i}].{f}");
            let key = |v: &Option<Text>, f: &str| -> Result<String, RulesError> {
                let s = v
                    .as_ref()
                    .map(|t| t.0.trim().to_owned())
                    .unwrap_or_default();
                if s.chars().count() < KEY_MIN_LEN {
                    return Err(bad(
                        at(f),
                        if s.is_empty() { f } else { &s },
                        format!("must be longer than 6 characters (RocketMQ refuses shorter keys), got `{s}`"),
                    ));
                }
                Ok(s)
            };
            let access_key = key(&a.access_key, "accessKey")?;
            let secret_key = key(&a.secret_key, "secretKey")?;
            let white_text = a.white_remote_address.map(|t| t.0).unwrap_or_default();
            let white = AddrPattern::parse(&white_text)
                .map_err(|r| bad(at("whiteRemoteAddress"), &white_text, r))?;
            let default_perm = |v: Option<Text>, f: &str| -> Result<u8, RulesError> {
                match v.map(|t| t.0).filter(|s| !s.trim().is_empty()) {
                    None => Ok(perm::DENY),
                    Some(word) => perm::parse(&word).ok_or_else(|| {
                        bad(
                            at(f),
                            &word,
                            format!("`{word}`: expected DENY, PUB, SUB or PUB|SUB"),
                        )
                    }),
                }
            };
            let default_topic_perm = default_perm(a.default_topic_perm, "defaultTopicPerm")?;
            let default_group_perm = default_perm(a.default_group_perm, "defaultGroupPerm")?;
            let mut resources = None::<HashMap<String, u8>>;
            for (list, field, group) in [
                (a.topic_perms, "topicPerms", false),
                (a.group_perms, "groupPerms", true),
            ] {
                for (j, entry) in list.unwrap_or_default().iter().enumerate() {
                    let (name, word) = entry
                        .0
                        .split_once('=')
                        .filter(|(n, _)| !n.trim().is_empty())
                        .ok_or_else(|| {
                            bad(
                                at(&format!("{field}[{j}]")),
                                &entry.0,
                                format!("`{}`: expected NAME=PERM, e.g. topicA=SUB", entry.0),
                            )
                        })?;
                    let p = perm::parse(word).ok_or_else(|| {
                        bad(
                            at(&format!("{field}[{j}]")),
                            &entry.0,
                            format!(
                                "`{}`: expected DENY, PUB, SUB or PUB|SUB after `=`",
                                entry.0
                            ),
                        )
                    })?;
                    let name = name.trim();
                    let resource = if group {
                        ferromq_common::names::retry_topic(name)
                    } else {
                        name.to_owned()
                    };
                    resources
                        .get_or_insert_with(HashMap::new)
                        .insert(resource, p);
                }
            }
            if rules.accounts.contains_key(&access_key) {
                return Err(bad(
                    at("accessKey"),
                    &access_key,
                    format!("`{access_key}` is already the access key of an earlier account"),
                ));
            }
            rules.accounts.insert(
                access_key.clone(),
                Account {
                    access_key,
                    secret_key,
                    white,
                    admin: a.admin.unwrap_or(false),
                    default_topic_perm,
                    default_group_perm,
                    resources,
                },
            );
        }
        Ok(rules)
    }
}

fn yaml_error(e: &serde_norway::Error) -> RulesError {
    RulesError {
        line: e.location().map(|l| l.line()),
        field: "yaml".into(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RocketMQ 4.9's `distribution/conf/plain_acl.yml`.
    pub(crate) const ROCKETMQ_SAMPLE: &str = "
globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.*

accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      # the group should convert to retry topic
      - groupA=DENY
      - groupB=PUB|SUB
      - groupC=SUB

  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress: 192.168.1.*
    # if it is admin, it could access all resources
    admin: true
";

    #[test]
    fn reads_the_rocketmq_sample() {
        let r = Rules::parse(ROCKETMQ_SAMPLE).unwrap();
        assert_eq!(r.global_white.len(), 2);
        let a = &r.accounts["RocketMQ"];
        assert_eq!(a.secret_key, "12345678");
        assert_eq!(a.white, AddrPattern::Nothing);
        assert!(!a.admin);
        assert_eq!(a.default_topic_perm, perm::DENY);
        assert_eq!(a.default_group_perm, perm::SUB);
        let res = a.resources.as_ref().unwrap();
        assert_eq!(res["topicA"], perm::DENY);
        assert_eq!(res["topicB"], perm::PUB | perm::SUB);
        assert_eq!(res["%RETRY%groupA"], perm::DENY);
        assert_eq!(res["%RETRY%groupC"], perm::SUB);
        let admin = &r.accounts["rocketmq2"];
        assert!(admin.admin);
        assert!(admin.resources.is_none());
        assert_eq!(admin.default_topic_perm, perm::DENY);
        assert!(admin.white.matches("192.168.1.9".parse().unwrap()));
    }

    #[test]
    fn the_sample_in_conf_parses() {
        let text = include_str!("../../../../conf/plain_acl.yml");
        let r = Rules::parse(text).unwrap();
        assert_eq!(r.accounts.len(), 2);
        assert!(r.global_white.is_empty());
        assert!(r.accounts["rocketmq2"].admin);
    }

    #[test]
    fn empty_file_has_no_accounts() {
        for text in ["", "# nothing yet\n", "\n\n"] {
            let r = Rules::parse(text).unwrap();
            assert!(r.accounts.is_empty() && r.global_white.is_empty());
        }
    }

    #[test]
    fn mistakes_name_the_line_and_field() {
        let cases = [
            (
                "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    topicPerms:\n      - topicA=READ\n",
                Some(5),
                "accounts[0].topicPerms[0]",
            ),
            (
                "accounts:\n  - accessKey: short\n    secretKey: 12345678\n",
                Some(2),
                "accounts[0].accessKey",
            ),
            (
                "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    defaultTopicPerm: ALL\n",
                Some(4),
                "accounts[0].defaultTopicPerm",
            ),
            (
                "globalWhiteRemoteAddresses:\n  - 10.0.0\n",
                Some(2),
                "globalWhiteRemoteAddresses[0]",
            ),
            (
                "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n  - accessKey: RocketMQ\n    secretKey: 87654321\n",
                Some(2),
                "accounts[1].accessKey",
            ),
            ("accounts:\n  - accessKey: [1\n", Some(3), "yaml"),
            (
                "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    admin: maybe\n",
                Some(4),
                "yaml",
            ),
        ];
        for (text, line, field) in cases {
            let e = Rules::parse(text).unwrap_err();
            assert_eq!(e.field, field, "{text}: {e}");
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.to_string().contains(field), "{e}");
        }
    }

    #[test]
    fn permission_table_is_javas() {
        use perm::*;
        assert!(allows(PUB, PUB) && allows(SUB, SUB) && allows(PUB, PUB | SUB));
        assert!(!allows(PUB, SUB) && !allows(SUB, PUB));
        assert!(!allows(PUB, DENY) && !allows(SUB, DENY | SUB));
        assert!(allows(ANY, PUB) && allows(ANY, SUB) && !allows(ANY, DENY));
        assert_eq!(parse("SUB|PUB"), Some(PUB | SUB));
        assert_eq!(parse("READ"), None);
    }
}
