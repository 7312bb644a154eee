//! ACL 2.0 management calls of [`AdminClient`] (Java `MQClientAPIImpl.createUser` ...
//! `listAcl`): AUTH_CREATE_USER (3001) ... AUTH_LIST_ACL (3010), to one broker.

use ferromq_proto::body::{AclInfo, JsonBody, UserInfo};
use ferromq_proto::codes::request;
use ferromq_proto::RemotingCommand;

use crate::admin::AdminClient;
use crate::rpc::decode_body;
use crate::ClientError;

fn command(code: i32, fields: &[(&str, Option<&str>)]) -> RemotingCommand {
    let mut cmd = RemotingCommand::bare_request(code);
    for (k, v) in fields {
        if let Some(v) = v {
            cmd.ext_fields.insert_str(k, v);
        }
    }
    cmd
}

impl AdminClient {
    async fn auth_call(
        &self,
        addr: &str,
        cmd: RemotingCommand,
    ) -> Result<RemotingCommand, ClientError> {
        self.rpc().call_ok(addr, cmd).await
    }

    /// AUTH_CREATE_USER (3001).
    pub async fn create_user(&self, addr: &str, user: &UserInfo) -> Result<(), ClientError> {
        let mut cmd = command(
            request::AUTH_CREATE_USER,
            &[("username", user.username.as_deref())],
        );
        cmd.body = user.to_json().into();
        self.auth_call(addr, cmd).await.map(drop)
    }

    /// AUTH_UPDATE_USER (3002).
    pub async fn update_user(&self, addr: &str, user: &UserInfo) -> Result<(), ClientError> {
        let mut cmd = command(
            request::AUTH_UPDATE_USER,
            &[("username", user.username.as_deref())],
        );
        cmd.body = user.to_json().into();
        self.auth_call(addr, cmd).await.map(drop)
    }

    /// AUTH_DELETE_USER (3003).
    pub async fn delete_user(&self, addr: &str, username: &str) -> Result<(), ClientError> {
        let cmd = command(request::AUTH_DELETE_USER, &[("username", Some(username))]);
        self.auth_call(addr, cmd).await.map(drop)
    }

    /// AUTH_GET_USER (3004): `None` when there is no such user.
    pub async fn get_user(
        &self,
        addr: &str,
        username: &str,
    ) -> Result<Option<UserInfo>, ClientError> {
        let cmd = command(request::AUTH_GET_USER, &[("username", Some(username))]);
        let resp = self.auth_call(addr, cmd).await?;
        if resp.body.is_empty() {
            return Ok(None);
        }
        decode_body(&resp, "AUTH_GET_USER").map(Some)
    }

    /// AUTH_LIST_USER (3005): users whose name contains `filter`.
    pub async fn list_user(
        &self,
        addr: &str,
        filter: Option<&str>,
    ) -> Result<Vec<UserInfo>, ClientError> {
        let cmd = command(request::AUTH_LIST_USER, &[("filter", filter)]);
        let resp = self.auth_call(addr, cmd).await?;
        if resp.body.is_empty() {
            return Ok(Vec::new());
        }
        decode_body(&resp, "AUTH_LIST_USER")
    }

    /// AUTH_CREATE_ACL (3006).
    pub async fn create_acl(&self, addr: &str, acl: &AclInfo) -> Result<(), ClientError> {
        let mut cmd = command(
            request::AUTH_CREATE_ACL,
            &[("subject", acl.subject.as_deref())],
        );
        cmd.body = acl.to_json().into();
        self.auth_call(addr, cmd).await.map(drop)
    }

    /// AUTH_UPDATE_ACL (3007).
    pub async fn update_acl(&self, addr: &str, acl: &AclInfo) -> Result<(), ClientError> {
        let mut cmd = command(
            request::AUTH_UPDATE_ACL,
            &[("subject", acl.subject.as_deref())],
        );
        cmd.body = acl.to_json().into();
        self.auth_call(addr, cmd).await.map(drop)
    }

    /// AUTH_DELETE_ACL (3008): one resource's entry, or (`resource` `None`) the whole ACL.
    pub async fn delete_acl(
        &self,
        addr: &str,
        subject: &str,
        resource: Option<&str>,
    ) -> Result<(), ClientError> {
        let cmd = command(
            request::AUTH_DELETE_ACL,
            &[("subject", Some(subject)), ("resource", resource)],
        );
        self.auth_call(addr, cmd).await.map(drop)
    }

    /// AUTH_GET_ACL (3009): `None` when the subject has no ACL.
    pub async fn get_acl(&self, addr: &str, subject: &str) -> Result<Option<AclInfo>, ClientError> {
        let cmd = command(request::AUTH_GET_ACL, &[("subject", Some(subject))]);
        let resp = self.auth_call(addr, cmd).await?;
        if resp.body.is_empty() {
            return Ok(None);
        }
        decode_body(&resp, "AUTH_GET_ACL").map(Some)
    }

    /// AUTH_LIST_ACL (3010).
    pub async fn list_acl(
        &self,
        addr: &str,
        subject_filter: Option<&str>,
        resource_filter: Option<&str>,
    ) -> Result<Vec<AclInfo>, ClientError> {
        let cmd = command(
            request::AUTH_LIST_ACL,
            &[
                ("subjectFilter", subject_filter),
                ("resourceFilter", resource_filter),
            ],
        );
        let resp = self.auth_call(addr, cmd).await?;
        if resp.body.is_empty() {
            return Ok(Vec::new());
        }
        decode_body(&resp, "AUTH_LIST_ACL")
    }
}
