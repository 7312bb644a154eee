//! The ACL 2.0 keys of broker.conf, as RocketMQ 5.3's `AuthConfig` names them.
//!
//! | key | value |
//! |---|---|
//! | `authenticationEnabled` | check every request's signature against a user (default false) |
//! | `authorizationEnabled` | check every request against the user's ACL (default false) |
//! | `authenticationProvider`, `authorizationProvider` | only RocketMQ's default classes; any other is refused |
//! | `initAuthenticationUser` | `{"username":"root","password":"..."}`: created as a Super user at start-up if absent |
//! | `innerClientAuthenticationCredentials` | `{"accessKey":"...","secretKey":"..."}`: a Super user the broker itself signs with (a slave's metadata sync) |
//! | `authenticationWhitelist`, `authorizationWhitelist` | request codes, comma-separated, that skip the check |
//! | `migrateAuthFromV1Enabled` | accepted; the migration from `plain_acl.yml` is not implemented (warned) |

use std::collections::HashSet;

use serde::Deserialize;

use super::{parse_whitelist, DEFAULT_AUTHENTICATION_PROVIDER, DEFAULT_AUTHORIZATION_PROVIDER};

/// `initAuthenticationUser`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InitUser {
    /// The name.
    pub username: String,
    /// The password.
    pub password: String,
}

/// `innerClientAuthenticationCredentials` (Java `SessionCredentials`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InnerCredentials {
    /// The username.
    pub access_key: String,
    /// The password.
    pub secret_key: String,
}

/// The parsed keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthKeys {
    /// `authenticationEnabled`.
    pub authentication_enabled: bool,
    /// `authorizationEnabled`.
    pub authorization_enabled: bool,
    /// `initAuthenticationUser`.
    pub init_user: Option<InitUser>,
    /// `innerClientAuthenticationCredentials`.
    pub inner_credentials: Option<InnerCredentials>,
    /// `authenticationWhitelist`.
    pub authentication_whitelist: HashSet<i32>,
    /// `authorizationWhitelist`.
    pub authorization_whitelist: HashSet<i32>,
    /// `migrateAuthFromV1Enabled` (not implemented: warned when true).
    pub migrate_from_v1: bool,
}

impl AuthKeys {
    /// The keys [`AuthKeys::set`] takes.
    pub const KEYS: &'static [&'static str] = &[
        "authenticationEnabled",
        "authorizationEnabled",
        "authenticationProvider",
        "authorizationProvider",
        "initAuthenticationUser",
        "innerClientAuthenticationCredentials",
        "authenticationWhitelist",
        "authorizationWhitelist",
        "migrateAuthFromV1Enabled",
    ];

    /// Sets one key; `Err` says why the value is refused.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let v = value.trim();
        let boolean = || match v.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("expected true or false".to_owned()),
        };
        let provider = |default: &str| {
            if v.is_empty() || v == default {
                Ok(())
            } else {
                Err(format!(
                    "only RocketMQ's default provider {default} is implemented"
                ))
            }
        };
        match key {
            "authenticationEnabled" => self.authentication_enabled = boolean()?,
            "authorizationEnabled" => self.authorization_enabled = boolean()?,
            "authenticationProvider" => provider(DEFAULT_AUTHENTICATION_PROVIDER)?,
            "authorizationProvider" => provider(DEFAULT_AUTHORIZATION_PROVIDER)?,
            "initAuthenticationUser" if v.is_empty() => self.init_user = None,
            "initAuthenticationUser" => {
                let u: InitUser = serde_json::from_str(v).map_err(|e| {
                    format!("expected {{\"username\":\"...\",\"password\":\"...\"}} ({e})")
                })?;
                if u.username.trim().is_empty() || u.password.trim().is_empty() {
                    return Err("the username and the password must not be blank".into());
                }
                self.init_user = Some(u);
            }
            "innerClientAuthenticationCredentials" if v.is_empty() => self.inner_credentials = None,
            "innerClientAuthenticationCredentials" => {
                let c: InnerCredentials = serde_json::from_str(v).map_err(|e| {
                    format!("expected {{\"accessKey\":\"...\",\"secretKey\":\"...\"}} ({e})")
                })?;
                if c.access_key.trim().is_empty() || c.secret_key.trim().is_empty() {
                    return Err("the accessKey and the secretKey must not be blank".into());
                }
                self.inner_credentials = Some(c);
            }
            "authenticationWhitelist" => self.authentication_whitelist = parse_whitelist(v)?,
            "authorizationWhitelist" => self.authorization_whitelist = parse_whitelist(v)?,
            "migrateAuthFromV1Enabled" => self.migrate_from_v1 = boolean()?,
            _ => return Err(format!("`{key}` is not an ACL 2.0 key")),
        }
        Ok(())
    }

    /// Start-up warnings about these keys.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.migrate_from_v1 {
            out.push("migrateAuthFromV1Enabled=true is not implemented by FerroMQ: plain_acl.yml accounts are not copied into ACL 2.0 users; create them with mqadmin createUser/createAcl".into());
        }
        if self.authorization_enabled && !self.authentication_enabled {
            out.push("authorizationEnabled=true without authenticationEnabled: requests are authorized by the AccessKey they name without checking its signature".into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_bad_values_are_refused() {
        let mut k = AuthKeys::default();
        k.set("authenticationEnabled", "true").unwrap();
        k.set(
            "initAuthenticationUser",
            r#"{"username":"root","password":"12345678"}"#,
        )
        .unwrap();
        k.set(
            "innerClientAuthenticationCredentials",
            r#"{"accessKey":"inner","secretKey":"innerpw"}"#,
        )
        .unwrap();
        k.set("authenticationWhitelist", "10,11").unwrap();
        k.set("authenticationProvider", DEFAULT_AUTHENTICATION_PROVIDER)
            .unwrap();
        assert!(k.authentication_enabled);
        assert_eq!(k.init_user.as_ref().unwrap().username, "root");
        assert_eq!(k.inner_credentials.as_ref().unwrap().secret_key, "innerpw");
        assert!(k.authentication_whitelist.contains(&11));
        assert!(k.set("authenticationProvider", "com.example.Mine").is_err());
        assert!(k.set("initAuthenticationUser", "root:pw").is_err());
        assert!(k.set("authorizationWhitelist", "SEND").is_err());
        k.set("migrateAuthFromV1Enabled", "true").unwrap();
        assert_eq!(k.warnings().len(), 1);
    }
}
