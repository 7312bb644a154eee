//! ACL 2.0 bodies (RocketMQ 5.3 `UserInfo`, `AclInfo`): the JSON of AUTH_CREATE_USER (3001) ...
//! AUTH_LIST_ACL (3010). Java leaves out null fields, and so do these.
//!
//! ```json
//! {"password":"pw","userStatus":"enable","userType":"Normal","username":"alice"}
//! {"policies":[{"entries":[{"actions":["Pub","Sub"],"decision":"Allow",
//!   "resource":"Topic:orders","sourceIps":["10.0.0.0/8"]}],"policyType":"Custom"}],
//!  "subject":"User:alice"}
//! ```

use serde::{Deserialize, Serialize};

use super::JsonBody;

/// A user (Java `UserInfo`): `userType` is `Super` or `Normal`, `userStatus` `enable` or
/// `disable`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl JsonBody for UserInfo {}
impl JsonBody for Vec<UserInfo> {}

/// The policies of one subject (Java `AclInfo`); `subject` is `User:<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AclInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<PolicyInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl JsonBody for AclInfo {}
impl JsonBody for Vec<AclInfo> {}

/// One policy (Java `AclInfo.PolicyInfo`): `policyType` is `Custom` or `Default`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicyInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<PolicyEntryInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_type: Option<String>,
}

/// One entry (Java `AclInfo.PolicyEntryInfo`): a resource key (`Topic:t`, `Group:g*`,
/// `Cluster:c`, `*`), actions (`Pub`, `Sub`, `Create`, `Update`, `Delete`, `Get`, `List`,
/// `All`), source IPs or CIDRs, and `Allow` or `Deny`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicyEntryInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ips: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::test_support::{every_prefix_fails, round_trip};

    #[test]
    fn user_info_pinned_bytes() {
        let u = UserInfo {
            username: Some("alice".into()),
            password: Some("pw123456".into()),
            user_type: Some("Normal".into()),
            user_status: None,
        };
        let expected = br#"{"password":"pw123456","userType":"Normal","username":"alice"}"#;
        assert_eq!(u.to_json(), expected);
        assert_eq!(UserInfo::from_json(expected).unwrap(), u);
        every_prefix_fails::<UserInfo>(expected);
        round_trip(&vec![u]);
    }

    #[test]
    fn acl_info_pinned_bytes() {
        let acl = AclInfo {
            subject: Some("User:alice".into()),
            policies: Some(vec![PolicyInfo {
                policy_type: Some("Custom".into()),
                entries: Some(vec![PolicyEntryInfo {
                    resource: Some("Topic:orders".into()),
                    actions: Some(vec!["Pub".into(), "Sub".into()]),
                    source_ips: Some(vec!["10.0.0.0/8".into()]),
                    decision: Some("Allow".into()),
                }]),
            }]),
        };
        let expected = br#"{"policies":[{"entries":[{"actions":["Pub","Sub"],"decision":"Allow","resource":"Topic:orders","sourceIps":["10.0.0.0/8"]}],"policyType":"Custom"}],"subject":"User:alice"}"#;
        assert_eq!(acl.to_json(), expected);
        assert_eq!(AclInfo::from_json(expected).unwrap(), acl);
        every_prefix_fails::<AclInfo>(expected);
        round_trip(&vec![acl]);
    }
}
