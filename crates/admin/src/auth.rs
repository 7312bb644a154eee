//! ACL 2.0 commands: `createUser`, `updateUser`, `deleteUser`, `getUser`, `listUser`,
//! `createAcl`, `updateAcl`, `deleteAcl`, `getAcl`, `listAcl` (RocketMQ 5.3
//! `tools/.../command/auth/*SubCommand.java`).
//!
//! With `-b` a command goes to one broker; with `-c` the changes go to every master and slave
//! of the cluster and the reads to its masters (a read prints the first master's answer for
//! `getUser`/`getAcl`, every master's for the lists), as Java's tools do.

use std::fmt;

use ferromq_proto::body::{AclInfo, PolicyEntryInfo, PolicyInfo, UserInfo};

use crate::broker::BrokerSelector;
use crate::cluster::{all_addrs, master_addrs};
use crate::{AdminClient, AdminError};

/// Lines `<verb> <what> to <addr> success.`, one per broker changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Done {
    /// e.g. `create user`.
    pub action: String,
    /// The brokers changed.
    pub addrs: Vec<String>,
}

impl fmt::Display for Done {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for a in &self.addrs {
            writeln!(f, "{} to {a} success.", self.action)?;
        }
        Ok(())
    }
}

/// Users as `getUser` / `listUser` print them (a header, then one line each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserTable(pub Vec<UserInfo>);

fn or_null(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("null")
}

impl fmt::Display for UserTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        let line = |f: &mut fmt::Formatter<'_>, a: &str, b: &str, c: &str, d: &str| {
            writeln!(f, "{a:<16}  {b:<22}  {c:<22}  {d:<22}")
        };
        line(f, "#UserName", "#Password", "#UserType", "#UserStatus")?;
        for u in &self.0 {
            line(
                f,
                or_null(&u.username),
                or_null(&u.password),
                or_null(&u.user_type),
                or_null(&u.user_status),
            )?;
        }
        Ok(())
    }
}

/// ACLs as `getAcl` / `listAcl` print them: one line per entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclTable(pub Vec<AclInfo>);

/// Java's `List.toString()`: `[a, b]`, or `null`.
fn java_list(v: &Option<Vec<String>>) -> String {
    match v {
        Some(items) => format!("[{}]", items.join(", ")),
        None => "null".into(),
    }
}

impl fmt::Display for AclTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        let line = |f: &mut fmt::Formatter<'_>, c: [&str; 6]| {
            writeln!(
                f,
                "{:<16}  {:<10}  {:<22}  {:<20}  {:<24}  {:<10}",
                c[0], c[1], c[2], c[3], c[4], c[5]
            )
        };
        line(
            f,
            [
                "#Subject",
                "#PolicyType",
                "#Resource",
                "#Actions",
                "#SourceIp",
                "#Decision",
            ],
        )?;
        for acl in &self.0 {
            let subject = or_null(&acl.subject);
            let Some(policies) = &acl.policies else {
                line(f, [subject, "", "", "", "", ""])?;
                continue;
            };
            for p in policies {
                for e in p.entries.iter().flatten() {
                    line(
                        f,
                        [
                            subject,
                            or_null(&p.policy_type),
                            or_null(&e.resource),
                            &java_list(&e.actions),
                            &java_list(&e.source_ips),
                            or_null(&e.decision),
                        ],
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// Java `AclInfo.of`: one custom policy with one entry per resource, each with the same
/// actions, source IPs and decision.
pub fn acl_info(
    subject: &str,
    resources: &[String],
    actions: &[String],
    source_ips: Option<&[String]>,
    decision: &str,
) -> AclInfo {
    AclInfo {
        subject: Some(subject.to_owned()),
        policies: Some(vec![PolicyInfo {
            policy_type: None,
            entries: Some(
                resources
                    .iter()
                    .map(|r| PolicyEntryInfo {
                        resource: Some(r.clone()),
                        actions: Some(actions.to_vec()),
                        source_ips: source_ips.map(<[String]>::to_vec),
                        decision: Some(decision.to_owned()),
                    })
                    .collect(),
            ),
        }]),
    }
}

/// The brokers a change goes to: `-b`, or every master and slave of `-c` (none when the
/// cluster is unknown, as in Java).
async fn write_targets(
    admin: &AdminClient,
    sel: &BrokerSelector,
) -> Result<Vec<String>, AdminError> {
    Ok(match sel {
        BrokerSelector::Addr(a) => vec![a.trim().to_owned()],
        BrokerSelector::Cluster(c) => {
            all_addrs(&admin.cluster_info().await?, c.trim()).unwrap_or_default()
        }
    })
}

/// The brokers a read asks: `-b`, or the masters of `-c` (an error when there is none).
async fn read_targets(
    admin: &AdminClient,
    sel: &BrokerSelector,
) -> Result<Vec<String>, AdminError> {
    match sel {
        BrokerSelector::Addr(a) => Ok(vec![a.trim().to_owned()]),
        BrokerSelector::Cluster(c) => {
            let addrs = master_addrs(&admin.cluster_info().await?, c.trim()).unwrap_or_default();
            if addrs.is_empty() {
                return Err(AdminError::NotFound {
                    message: "there is no broker in cluster.".into(),
                });
            }
            Ok(addrs)
        }
    }
}

/// One change of the ACL 2.0 metadata.
#[derive(Debug, Clone)]
pub enum Change {
    /// `createUser`.
    CreateUser(UserInfo),
    /// `updateUser`.
    UpdateUser(UserInfo),
    /// `deleteUser`.
    DeleteUser(String),
    /// `createAcl`.
    CreateAcl(AclInfo),
    /// `updateAcl`.
    UpdateAcl(AclInfo),
    /// `deleteAcl`: subject and optional resource.
    DeleteAcl(String, Option<String>),
}

impl Change {
    fn action(&self) -> &'static str {
        match self {
            Change::CreateUser(_) => "create user",
            Change::UpdateUser(_) => "update user",
            Change::DeleteUser(_) => "delete user",
            Change::CreateAcl(_) => "create acl",
            Change::UpdateAcl(_) => "update acl",
            Change::DeleteAcl(..) => "delete acl",
        }
    }
}

/// Applies `change` to the selected brokers; on a failure the lines of the brokers already
/// changed come with the error.
pub async fn apply(
    admin: &AdminClient,
    sel: &BrokerSelector,
    change: &Change,
) -> Result<Done, AdminError> {
    let mut done = Done {
        action: change.action().into(),
        addrs: Vec::new(),
    };
    for addr in write_targets(admin, sel).await? {
        let r = match change {
            Change::CreateUser(u) => admin.create_user(&addr, u).await,
            Change::UpdateUser(u) => admin.update_user(&addr, u).await,
            Change::DeleteUser(n) => admin.delete_user(&addr, n).await,
            Change::CreateAcl(a) => admin.create_acl(&addr, a).await,
            Change::UpdateAcl(a) => admin.update_acl(&addr, a).await,
            Change::DeleteAcl(s, r) => admin.delete_acl(&addr, s, r.as_deref()).await,
        };
        if let Err(e) = r {
            return Err(AdminError::from(e).after(done.to_string()));
        }
        done.addrs.push(addr);
    }
    Ok(done)
}

/// `getUser`: the first selected broker that knows the user.
pub async fn get_user(
    admin: &AdminClient,
    sel: &BrokerSelector,
    username: &str,
) -> Result<UserTable, AdminError> {
    for addr in read_targets(admin, sel).await? {
        if let Some(u) = admin.get_user(&addr, username).await? {
            return Ok(UserTable(vec![u]));
        }
    }
    Ok(UserTable::default())
}

/// `listUser`: one table per selected broker.
pub async fn list_user(
    admin: &AdminClient,
    sel: &BrokerSelector,
    filter: Option<&str>,
) -> Result<Vec<UserTable>, AdminError> {
    let mut out = Vec::new();
    for addr in read_targets(admin, sel).await? {
        out.push(UserTable(admin.list_user(&addr, filter).await?));
    }
    Ok(out)
}

/// `getAcl`: the first selected broker with an ACL for the subject.
pub async fn get_acl(
    admin: &AdminClient,
    sel: &BrokerSelector,
    subject: &str,
) -> Result<AclTable, AdminError> {
    for addr in read_targets(admin, sel).await? {
        if let Some(a) = admin.get_acl(&addr, subject).await? {
            return Ok(AclTable(vec![a]));
        }
    }
    Ok(AclTable::default())
}

/// `listAcl`: one table per selected broker.
pub async fn list_acl(
    admin: &AdminClient,
    sel: &BrokerSelector,
    subject_filter: Option<&str>,
    resource_filter: Option<&str>,
) -> Result<Vec<AclTable>, AdminError> {
    let mut out = Vec::new();
    for addr in read_targets(admin, sel).await? {
        out.push(AclTable(
            admin
                .list_acl(&addr, subject_filter, resource_filter)
                .await?,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_print_as_javas_tools() {
        let users = UserTable(vec![UserInfo {
            username: Some("alice".into()),
            password: Some("pw".into()),
            user_type: Some("Normal".into()),
            user_status: Some("enable".into()),
        }]);
        assert_eq!(
            users.to_string(),
            "#UserName         #Password               #UserType               #UserStatus           \n\
             alice             pw                      Normal                  enable                \n"
        );
        let acls = AclTable(vec![acl_info(
            "User:alice",
            &["Topic:t".into()],
            &["Pub".into(), "Sub".into()],
            None,
            "Allow",
        )]);
        let text = acls.to_string();
        assert!(
            text.starts_with("#Subject          #PolicyType  #Resource"),
            "{text}"
        );
        assert!(text.contains("User:alice        null        Topic:t                 [Pub, Sub]            null                      Allow"), "{text}");
        assert_eq!(UserTable::default().to_string(), "");
    }
}
