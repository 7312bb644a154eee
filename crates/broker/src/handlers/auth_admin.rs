//! ACL 2.0 management (RocketMQ 5.3 `AdminBrokerProcessor`): AUTH_CREATE_USER (3001) ...
//! AUTH_LIST_ACL (3010), the requests behind `mqadmin createUser` ... `listAcl`.
//!
//! | request | header | body in / out |
//! |---|---|---|
//! | AUTH_CREATE_USER, AUTH_UPDATE_USER | `username` | `UserInfo` in |
//! | AUTH_DELETE_USER | `username` | - |
//! | AUTH_GET_USER | `username` | `UserInfo` out (none when absent) |
//! | AUTH_LIST_USER | `filter` | `[UserInfo]` out (none when empty) |
//! | AUTH_CREATE_ACL, AUTH_UPDATE_ACL | `subject` | `AclInfo` in |
//! | AUTH_DELETE_ACL | `subject`, `policyType`, `resource` | - |
//! | AUTH_GET_ACL | `subject` | `AclInfo` out (none when absent) |
//! | AUTH_LIST_ACL | `subjectFilter`, `resourceFilter` | `[AclInfo]` out (none when empty) |
//!
//! As in Java, only a super user may create, change or delete a super user (when the request
//! is signed at all), and refusals of the metadata rules answer NO_PERMISSION with Java's text.
//! Changes are written to disk off the runtime's workers.

use std::sync::Arc;

use ferromq_proto::acl::ACCESS_KEY;
use ferromq_proto::body::{AclInfo, JsonBody, UserInfo};
use ferromq_proto::codes::{request::*, response};
use ferromq_proto::RemotingCommand;

use crate::auth::model::{Acl, PolicyType, Resource, User, UserPatch, UserStatus, UserType};
use crate::{Broker, BrokerError};

/// Serves one AUTH_* request.
pub async fn handle(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, BrokerError> {
    let broker = Arc::clone(b);
    let req2 = req.clone();
    tokio::task::spawn_blocking(move || serve(&broker, &req2))
        .await
        .map_err(|e| BrokerError::system(format!("auth request task failed: {e}")))?
}

fn field<'a>(req: &'a RemotingCommand, k: &str) -> Option<&'a str> {
    req.ext_fields
        .get(k)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn code(code: i32, remark: impl Into<String>) -> BrokerError {
    BrokerError::Code {
        code,
        remark: remark.into(),
    }
}

fn refuse(reason: impl Into<String>) -> BrokerError {
    BrokerError::NoPermission {
        reason: reason.into(),
    }
}

/// Java `isNotSuperUserLogin`: an unsigned request counts as a super user's (authentication,
/// when on, has refused it already).
fn not_super_login(b: &Broker, req: &RemotingCommand) -> bool {
    match field(req, ACCESS_KEY) {
        None => false,
        Some(name) => b
            .auth
            .store
            .user(name)
            .is_none_or(|u| u.user_type != UserType::Super),
    }
}

fn body<T: JsonBody>(req: &RemotingCommand, what: &str) -> Result<T, BrokerError> {
    if req.body.is_empty() {
        return Err(code(
            response::INVALID_PARAMETER,
            format!("The body of {what} is null"),
        ));
    }
    T::from_json(&req.body).map_err(|e| {
        code(
            response::INVALID_PARAMETER,
            format!("The body of {what} does not decode: {e}"),
        )
    })
}

fn with_body(req: &RemotingCommand, bytes: Option<Vec<u8>>) -> RemotingCommand {
    let mut resp = req.success_to();
    if let Some(b) = bytes {
        resp.body = bytes::Bytes::from(b);
    }
    resp
}

fn serve(b: &Broker, req: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
    let store = &b.auth.store;
    match req.code {
        AUTH_CREATE_USER | AUTH_UPDATE_USER => {
            let create = req.code == AUTH_CREATE_USER;
            let Some(name) = field(req, "username") else {
                return Err(code(response::INVALID_PARAMETER, "The username is blank"));
            };
            let info: UserInfo = body(req, "user")?;
            let patch = UserPatch::from_info(&info).map_err(refuse)?;
            let verb = if create { "create" } else { "update" };
            let super_only = || format!("The super user can only be {verb} by super user");
            if patch.user_type == Some(UserType::Super) && not_super_login(b, req) {
                return Err(code(response::SYSTEM_ERROR, super_only()));
            }
            if create {
                store.create_user(User {
                    username: name.to_owned(),
                    password: patch.password.unwrap_or_default(),
                    user_type: patch.user_type.unwrap_or(UserType::Normal),
                    user_status: patch.user_status.unwrap_or(UserStatus::Enable),
                })?;
            } else {
                let Some(old) = store.user(name) else {
                    return Err(refuse("The user is not exist"));
                };
                if old.user_type == UserType::Super && not_super_login(b, req) {
                    return Err(refuse(super_only()));
                }
                store.update_user(name, patch)?;
            }
            tracing::info!(user = name, verb, "ACL 2.0 user changed");
            Ok(req.success_to())
        }
        AUTH_DELETE_USER => {
            let Some(name) = field(req, "username") else {
                return Err(refuse("username can not be blank"));
            };
            if let Some(old) = store.user(name) {
                if old.user_type == UserType::Super && not_super_login(b, req) {
                    return Err(refuse("The super user can only be update by super user"));
                }
                store.delete_user(name)?;
                tracing::info!(user = name, "ACL 2.0 user deleted");
            }
            Ok(req.success_to())
        }
        AUTH_GET_USER => {
            let Some(name) = field(req, "username") else {
                return Err(code(response::INVALID_PARAMETER, "The username is blank"));
            };
            Ok(with_body(
                req,
                store.user(name).map(|u| u.to_info().to_json()),
            ))
        }
        AUTH_LIST_USER => {
            let users: Vec<UserInfo> = store
                .list_users(field(req, "filter"))
                .iter()
                .map(User::to_info)
                .collect();
            Ok(with_body(req, (!users.is_empty()).then(|| users.to_json())))
        }
        AUTH_CREATE_ACL | AUTH_UPDATE_ACL => {
            let info: AclInfo = body(req, "acl")?;
            if info.policies.as_ref().is_none_or(|p| p.is_empty()) {
                return Err(code(response::INVALID_PARAMETER, "The body of acl is null"));
            }
            let subject = info
                .subject
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .or_else(|| field(req, "subject"))
                .unwrap_or("")
                .to_owned();
            let acl = Acl::from_info(&subject, &info).map_err(refuse)?;
            store.put_acl(acl)?;
            tracing::info!(subject, "ACL 2.0 acl changed");
            Ok(req.success_to())
        }
        AUTH_DELETE_ACL => {
            let subject = field(req, "subject").unwrap_or("");
            let kind = PolicyType::parse(field(req, "policyType")).map_err(refuse)?;
            let resource = field(req, "resource")
                .map(Resource::parse)
                .transpose()
                .map_err(refuse)?;
            store.delete_acl(subject, kind, resource.as_ref())?;
            tracing::info!(subject, "ACL 2.0 acl deleted");
            Ok(req.success_to())
        }
        AUTH_GET_ACL => {
            let subject = field(req, "subject").unwrap_or("");
            let name = crate::auth::model::subject_user(subject).map_err(refuse)?;
            if store.user(name).is_none() {
                return Err(refuse("The subject is not exist."));
            }
            Ok(with_body(
                req,
                store.acl(subject).map(|a| a.to_info().to_json()),
            ))
        }
        AUTH_LIST_ACL => {
            let acls: Vec<AclInfo> = store
                .list_acls(field(req, "subjectFilter"), field(req, "resourceFilter"))
                .iter()
                .map(Acl::to_info)
                .collect();
            Ok(with_body(req, (!acls.is_empty()).then(|| acls.to_json())))
        }
        other => Err(code(
            response::REQUEST_CODE_NOT_SUPPORTED,
            format!(" request type {other} not supported"),
        )),
    }
}
