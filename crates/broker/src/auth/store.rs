//! Users and ACLs, kept in memory and in one JSON file written atomically after each change
//! (RocketMQ uses two local RocksDB tables; the operations and their refusals are Java's
//! `AuthenticationMetadataManagerImpl` / `AuthorizationMetadataManagerImpl`).
//!
//! ```json
//! {"acls":[{"policies":[...],"subject":"User:alice"}],
//!  "users":[{"password":"...","userStatus":"enable","userType":"Normal","username":"alice"}]}
//! ```
//!
//! Refusals are `BrokerError::NoPermission` with Java's message (Java answers them with
//! NO_PERMISSION too); a failed write is an I/O error and leaves memory unchanged.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use ferromq_proto::body::{AclInfo, UserInfo};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use super::model::{subject_user, user_subject, Acl, PolicyType, Resource, User, UserPatch};
use super::model::{UserStatus, UserType};
use crate::persist::JsonFile;
use crate::BrokerError;

/// The file's shape.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthFile {
    /// Every ACL.
    pub acls: Vec<AclInfo>,
    /// Every user.
    pub users: Vec<UserInfo>,
}

/// One version of every user and ACL; replaced whole on each change, so a check reads a
/// snapshot without copying users or ACLs.
#[derive(Debug, Default, Clone)]
pub struct State {
    users: BTreeMap<String, User>,
    acls: BTreeMap<String, Acl>,
}

impl State {
    /// A user by name.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }

    /// The ACL of a subject (`User:<name>`).
    pub fn acl(&self, subject: &str) -> Option<&Acl> {
        self.acls.get(subject)
    }
}

/// Users by name and ACLs by subject, persisted.
#[derive(Debug)]
pub struct AuthStore {
    file: JsonFile,
    state: RwLock<Arc<State>>,
}

fn refuse<T>(reason: impl Into<String>) -> Result<T, BrokerError> {
    Err(BrokerError::NoPermission {
        reason: reason.into(),
    })
}

/// Reads a stored or replicated user; `Err` names what is wrong.
pub fn user_from_info(u: &UserInfo) -> Result<User, String> {
    let username = u
        .username
        .clone()
        .filter(|n| !n.trim().is_empty())
        .ok_or("a user without a username")?;
    let patch = UserPatch::from_info(u)?;
    Ok(User {
        username,
        password: patch.password.ok_or("a user without a password")?,
        user_type: patch.user_type.unwrap_or(UserType::Normal),
        user_status: patch.user_status.unwrap_or(UserStatus::Enable),
    })
}

fn state_from(file: &AuthFile) -> Result<State, String> {
    let mut state = State::default();
    for u in &file.users {
        let user = user_from_info(u)?;
        state.users.insert(user.username.clone(), user);
    }
    for a in &file.acls {
        let subject = a.subject.clone().unwrap_or_default();
        let acl = Acl::from_info(&subject, a).map_err(|e| format!("{subject}: {e}"))?;
        state.acls.insert(acl.subject.clone(), acl);
    }
    Ok(state)
}

impl AuthStore {
    /// Loads `path` (absent: empty); `Err` when it cannot be read or does not parse.
    pub fn open(path: PathBuf) -> Result<Self, BrokerError> {
        let file = JsonFile::new(path);
        let state = match file.load()? {
            None => State::default(),
            Some(bytes) => {
                let parsed: AuthFile =
                    serde_json::from_slice(&bytes).map_err(|e| file.corrupt(e))?;
                state_from(&parsed).map_err(|e| file.corrupt(e))?
            }
        };
        Ok(AuthStore {
            file,
            state: RwLock::new(Arc::new(state)),
        })
    }

    /// Reads the file again and installs what it holds (absent: nothing); for a reader of a
    /// file another process writes (the name server reading a broker's users). `Err` leaves
    /// the users and ACLs in force unchanged.
    pub fn reload(&self) -> Result<(), BrokerError> {
        let state = match self.file.load()? {
            None => State::default(),
            Some(bytes) => {
                let parsed: AuthFile =
                    serde_json::from_slice(&bytes).map_err(|e| self.file.corrupt(e))?;
                state_from(&parsed).map_err(|e| self.file.corrupt(e))?
            }
        };
        *self.state.write() = Arc::new(state);
        Ok(())
    }

    /// The file.
    pub fn path(&self) -> &std::path::Path {
        self.file.path()
    }

    /// Applies `change` to a copy, writes it, then installs it: a failed write changes nothing.
    fn modify<T>(
        &self,
        change: impl FnOnce(&mut State) -> Result<T, BrokerError>,
    ) -> Result<T, BrokerError> {
        let mut guard = self.state.write();
        let mut next = State::clone(&guard);
        let out = change(&mut next)?;
        self.file.save(|| snapshot(&next))?;
        *guard = Arc::new(next);
        Ok(out)
    }

    /// The users and ACLs in force now.
    pub fn snapshot(&self) -> Arc<State> {
        Arc::clone(&self.state.read())
    }

    /// A user by name.
    pub fn user(&self, name: &str) -> Option<User> {
        self.state.read().users.get(name).cloned()
    }

    /// How many users there are.
    pub fn user_count(&self) -> usize {
        self.state.read().users.len()
    }

    /// Creates `user`; refused when the name is taken.
    pub fn create_user(&self, user: User) -> Result<(), BrokerError> {
        if user.username.trim().is_empty() {
            return refuse("username can not be blank");
        }
        if user.password.trim().is_empty() {
            return refuse("password can not be blank");
        }
        self.modify(|s| {
            if s.users.contains_key(&user.username) {
                return refuse("The user is existed");
            }
            s.users.insert(user.username.clone(), user);
            Ok(())
        })
    }

    /// Creates `user` unless one of that name exists (`initAuthenticationUser`); returns
    /// whether it was created.
    pub fn ensure_user(&self, user: User) -> Result<bool, BrokerError> {
        if self.user(&user.username).is_some() {
            return Ok(false);
        }
        self.create_user(user).map(|()| true)
    }

    /// Changes the given fields of `name`; refused when there is no such user.
    pub fn update_user(&self, name: &str, patch: UserPatch) -> Result<(), BrokerError> {
        self.modify(|s| {
            let Some(u) = s.users.get_mut(name) else {
                return refuse("The user is not exist");
            };
            if let Some(p) = patch.password {
                u.password = p;
            }
            if let Some(t) = patch.user_type {
                u.user_type = t;
            }
            if let Some(st) = patch.user_status {
                u.user_status = st;
            }
            Ok(())
        })
    }

    /// Deletes `name` and its ACL (nothing to do when absent).
    pub fn delete_user(&self, name: &str) -> Result<(), BrokerError> {
        if self.user(name).is_none() {
            return Ok(());
        }
        self.modify(|s| {
            s.users.remove(name);
            s.acls.remove(&user_subject(name));
            Ok(())
        })
    }

    /// Users whose name contains `filter` (all when blank), by name.
    pub fn list_users(&self, filter: Option<&str>) -> Vec<User> {
        let f = filter.map(str::trim).unwrap_or("");
        self.state
            .read()
            .users
            .values()
            .filter(|u| u.username.contains(f))
            .cloned()
            .collect()
    }

    /// The ACL of `subject`.
    pub fn acl(&self, subject: &str) -> Option<Acl> {
        self.state.read().acls.get(subject).cloned()
    }

    /// Creates or extends the ACL of its subject, whose user must exist (createAcl and
    /// updateAcl do the same in Java).
    pub fn put_acl(&self, acl: Acl) -> Result<(), BrokerError> {
        let name = subject_user(&acl.subject)
            .map_err(|reason| BrokerError::NoPermission { reason })?
            .to_owned();
        self.modify(|s| {
            if !s.users.contains_key(&name) {
                return refuse(format!("The subject of {} is not exist.", acl.subject));
            }
            match s.acls.get_mut(&acl.subject) {
                Some(old) => old.merge(acl),
                None => {
                    s.acls.insert(acl.subject.clone(), acl);
                }
            }
            Ok(())
        })
    }

    /// Deletes one entry of `subject`'s ACL (the ACL goes when it has no entry left), or the
    /// whole ACL when `resource` is `None`.
    pub fn delete_acl(
        &self,
        subject: &str,
        kind: PolicyType,
        resource: Option<&Resource>,
    ) -> Result<(), BrokerError> {
        let name = subject_user(subject)
            .map_err(|reason| BrokerError::NoPermission { reason })?
            .to_owned();
        self.modify(|s| {
            if !s.users.contains_key(&name) {
                return refuse("The subject is not exist.");
            }
            let Some(acl) = s.acls.get_mut(subject) else {
                return refuse("The acl is not exist.");
            };
            if let Some(r) = resource {
                acl.remove(kind, r);
            }
            if resource.is_none() || acl.policies.is_empty() {
                s.acls.remove(subject);
            }
            Ok(())
        })
    }

    /// ACLs whose subject contains `subject_filter` and that have an entry whose resource
    /// contains `resource_filter` (blank filters match all).
    pub fn list_acls(
        &self,
        subject_filter: Option<&str>,
        resource_filter: Option<&str>,
    ) -> Vec<Acl> {
        let sf = subject_filter.map(str::trim).unwrap_or("");
        let rf = resource_filter.map(str::trim).unwrap_or("");
        self.state
            .read()
            .acls
            .values()
            .filter(|a| a.subject.contains(sf))
            .filter(|a| rf.is_empty() || a.mentions_resource(rf))
            .cloned()
            .collect()
    }

    /// Every user and ACL, in the file's shape.
    pub fn export(&self) -> AuthFile {
        let s = self.state.read();
        AuthFile {
            users: s.users.values().map(User::to_info).collect(),
            acls: s.acls.values().map(Acl::to_info).collect(),
        }
    }

    /// On a slave: replaces everything with the master's users and ACLs (written only when
    /// they differ). `Err` when the master's copy does not parse or cannot be written.
    pub fn replace_from_master(
        &self,
        users: &[UserInfo],
        acls: &[AclInfo],
    ) -> Result<bool, BrokerError> {
        let next = state_from(&AuthFile {
            users: users.to_vec(),
            acls: acls.to_vec(),
        })
        .map_err(|e| {
            BrokerError::system(format!("the master's users and ACLs do not parse: {e}"))
        })?;
        let mut guard = self.state.write();
        if guard.users == next.users && guard.acls == next.acls {
            return Ok(false);
        }
        self.file.save(|| snapshot(&next))?;
        *guard = Arc::new(next);
        Ok(true)
    }
}

fn snapshot(s: &State) -> Vec<u8> {
    let file = AuthFile {
        users: s.users.values().map(User::to_info).collect(),
        acls: s.acls.values().map(Acl::to_info).collect(),
    };
    // Serialising plain strings and lists cannot fail.
    serde_json::to_vec_pretty(&file).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> User {
        User {
            username: name.into(),
            password: "secret12".into(),
            user_type: UserType::Normal,
            user_status: UserStatus::Enable,
        }
    }

    #[test]
    fn users_and_acls_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        let s = AuthStore::open(path.clone()).unwrap();
        s.create_user(user("alice")).unwrap();
        assert!(matches!(
            s.create_user(user("alice")),
            Err(BrokerError::NoPermission { .. })
        ));
        let info: AclInfo = serde_json::from_str(
            r#"{"policies":[{"entries":[{"actions":["Pub"],"decision":"Allow","resource":"Topic:t"}]}]}"#,
        )
        .unwrap();
        s.put_acl(Acl::from_info("User:alice", &info).unwrap())
            .unwrap();
        assert!(s
            .put_acl(Acl::from_info("User:nobody", &info).unwrap())
            .is_err());
        s.update_user(
            "alice",
            UserPatch {
                user_type: Some(UserType::Super),
                ..Default::default()
            },
        )
        .unwrap();
        drop(s);
        let s = AuthStore::open(path.clone()).unwrap();
        assert_eq!(s.user("alice").unwrap().user_type, UserType::Super);
        assert_eq!(s.list_acls(None, Some("Topic:t")).len(), 1);
        assert_eq!(s.list_acls(None, Some("Group")).len(), 0);
        s.delete_acl(
            "User:alice",
            PolicyType::Custom,
            Some(&Resource::parse("Topic:t").unwrap()),
        )
        .unwrap();
        assert!(s.acl("User:alice").is_none());
        s.delete_user("alice").unwrap();
        assert_eq!(s.user_count(), 0);
        std::fs::write(&path, b"{not json").unwrap();
        assert!(AuthStore::open(path).is_err());
    }

    #[test]
    fn replace_from_master_installs_the_masters_copy() {
        let dir = tempfile::tempdir().unwrap();
        let m = AuthStore::open(dir.path().join("m.json")).unwrap();
        m.create_user(user("bob")).unwrap();
        let s = AuthStore::open(dir.path().join("s.json")).unwrap();
        let f = m.export();
        assert!(s.replace_from_master(&f.users, &f.acls).unwrap());
        assert!(!s.replace_from_master(&f.users, &f.acls).unwrap());
        assert_eq!(s.user("bob").unwrap().password, "secret12");
    }
}
