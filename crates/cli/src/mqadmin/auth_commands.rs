//! ACL 2.0 commands (RocketMQ 5.3 `command/auth/*SubCommand.java`): `createUser`, `updateUser`,
//! `deleteUser`, `getUser`, `listUser`, `createAcl`, `updateAcl`, `deleteAcl`, `getAcl`,
//! `listAcl`, with RocketMQ's option letters and output.

use clap::{ArgGroup, Args, Parser};
use ferromq_admin::auth::{acl_info, apply, get_acl, get_user, list_acl, list_user, Change};
use ferromq_admin::broker::BrokerSelector;
use ferromq_admin::AdminError;
use ferromq_proto::body::UserInfo;

use super::commands::{selector_of, Namesrv};

/// `-b` / `-c`, one of them required.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub(super) struct Target {
    /// the broker to send to
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// the cluster to send to
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: Option<String>,
}

impl Target {
    fn selector(&self) -> BrokerSelector {
        // clap requires one of the two.
        selector_of(self.broker_addr.clone(), self.cluster_name.clone())
            .unwrap_or_else(|| BrokerSelector::Cluster(String::new()))
    }
}

/// RocketMQ splits list options on `,` and trims each item.
fn split(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn trimmed(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

#[derive(Debug, Parser)]
#[command(
    name = "createUser",
    bin_name = "mqadmin createUser",
    about = "Create user to cluster."
)]
pub(super) struct CreateUserArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// the username of user to create.
    #[arg(short = 'u', long = "username", value_name = "arg")]
    username: String,
    /// the password of user to create
    #[arg(short = 'p', long = "password", value_name = "arg")]
    password: String,
    /// the userType of user to create
    #[arg(short = 't', long = "userType", value_name = "arg")]
    user_type: Option<String>,
}

pub(super) async fn run_create_user(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(CreateUserArgs, args);
    let user = UserInfo {
        username: Some(a.username.trim().to_owned()),
        password: Some(a.password.trim().to_owned()),
        user_type: trimmed(a.user_type),
        user_status: None,
    };
    let done = apply(
        &a.ns.client()?,
        &a.target.selector(),
        &Change::CreateUser(user),
    )
    .await?;
    print!("{done}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "updateUser",
    bin_name = "mqadmin updateUser",
    about = "Update user to cluster."
)]
#[command(group(ArgGroup::new("change").required(true).multiple(true).args(["password", "user_type", "user_status"])))]
pub(super) struct UpdateUserArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// the username of user to update.
    #[arg(short = 'u', long = "username", value_name = "arg")]
    username: String,
    /// the password of user to update
    #[arg(short = 'p', long = "password", value_name = "arg")]
    password: Option<String>,
    /// the userType of user to update
    #[arg(short = 't', long = "userType", value_name = "arg")]
    user_type: Option<String>,
    /// the userStatus of user to update
    #[arg(short = 's', long = "userStatus", value_name = "arg")]
    user_status: Option<String>,
}

pub(super) async fn run_update_user(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(UpdateUserArgs, args);
    let user = UserInfo {
        username: Some(a.username.trim().to_owned()),
        password: trimmed(a.password),
        user_type: trimmed(a.user_type),
        user_status: trimmed(a.user_status),
    };
    let done = apply(
        &a.ns.client()?,
        &a.target.selector(),
        &Change::UpdateUser(user),
    )
    .await?;
    print!("{done}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "deleteUser",
    bin_name = "mqadmin deleteUser",
    about = "Delete user from cluster."
)]
pub(super) struct DeleteUserArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// the username of user to delete.
    #[arg(short = 'u', long = "username", value_name = "arg")]
    username: String,
}

pub(super) async fn run_delete_user(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(DeleteUserArgs, args);
    let change = Change::DeleteUser(a.username.trim().to_owned());
    print!(
        "{}",
        apply(&a.ns.client()?, &a.target.selector(), &change).await?
    );
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "getUser",
    bin_name = "mqadmin getUser",
    about = "Get user from cluster."
)]
pub(super) struct GetUserArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// the username of user to get
    #[arg(short = 'u', long = "username", value_name = "arg")]
    username: String,
}

pub(super) async fn run_get_user(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(GetUserArgs, args);
    let table = get_user(&a.ns.client()?, &a.target.selector(), a.username.trim()).await?;
    print!("{table}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "listUser",
    bin_name = "mqadmin listUser",
    about = "List user from cluster."
)]
pub(super) struct ListUserArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// the filter to list users
    #[arg(short = 'f', long = "filter", value_name = "arg")]
    filter: Option<String>,
}

pub(super) async fn run_list_user(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(ListUserArgs, args);
    let filter = trimmed(a.filter);
    for table in list_user(&a.ns.client()?, &a.target.selector(), filter.as_deref()).await? {
        print!("{table}");
    }
    Ok(0)
}

/// The options of `createAcl` and `updateAcl`.
#[derive(Debug, Args)]
pub(super) struct AclOptions {
    /// the subject of acl, e.g. User:alice
    #[arg(short = 's', long = "subject", value_name = "arg")]
    subject: String,
    /// the resources of acl, e.g. Topic:orders,Group:g*
    #[arg(short = 'r', long = "resources", value_name = "arg")]
    resources: String,
    /// the actions of acl, e.g. Pub,Sub
    #[arg(short = 'a', long = "actions", value_name = "arg")]
    actions: String,
    /// the sourceIps of acl
    #[arg(short = 'i', long = "sourceIp", value_name = "arg")]
    source_ip: Option<String>,
    /// the decision of acl (Allow or Deny)
    #[arg(short = 'd', long = "decision", value_name = "arg")]
    decision: String,
}

impl AclOptions {
    fn info(&self) -> ferromq_proto::body::AclInfo {
        let ips = self.source_ip.as_deref().map(split);
        acl_info(
            self.subject.trim(),
            &split(&self.resources),
            &split(&self.actions),
            ips.as_deref(),
            self.decision.trim(),
        )
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "createAcl",
    bin_name = "mqadmin createAcl",
    about = "Create acl to cluster."
)]
pub(super) struct CreateAclArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    acl: AclOptions,
}

pub(super) async fn run_create_acl(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(CreateAclArgs, args);
    let change = Change::CreateAcl(a.acl.info());
    print!(
        "{}",
        apply(&a.ns.client()?, &a.target.selector(), &change).await?
    );
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "updateAcl",
    bin_name = "mqadmin updateAcl",
    about = "Update acl to cluster."
)]
pub(super) struct UpdateAclArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    acl: AclOptions,
}

pub(super) async fn run_update_acl(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(UpdateAclArgs, args);
    let change = Change::UpdateAcl(a.acl.info());
    print!(
        "{}",
        apply(&a.ns.client()?, &a.target.selector(), &change).await?
    );
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "deleteAcl",
    bin_name = "mqadmin deleteAcl",
    about = "Delete acl from cluster."
)]
pub(super) struct DeleteAclArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// the subject of acl to delete.
    #[arg(short = 's', long = "subject", value_name = "arg")]
    subject: String,
    /// the resources of acl to delete
    #[arg(short = 'r', long = "resources", value_name = "arg")]
    resources: Option<String>,
}

pub(super) async fn run_delete_acl(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(DeleteAclArgs, args);
    let change = Change::DeleteAcl(a.subject.trim().to_owned(), trimmed(a.resources));
    print!(
        "{}",
        apply(&a.ns.client()?, &a.target.selector(), &change).await?
    );
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "getAcl",
    bin_name = "mqadmin getAcl",
    about = "Get acl from cluster."
)]
pub(super) struct GetAclArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// the subject of acl to get
    #[arg(short = 's', long = "subject", value_name = "arg")]
    subject: String,
}

pub(super) async fn run_get_acl(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(GetAclArgs, args);
    print!(
        "{}",
        get_acl(&a.ns.client()?, &a.target.selector(), a.subject.trim()).await?
    );
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "listAcl",
    bin_name = "mqadmin listAcl",
    about = "List acl from cluster."
)]
pub(super) struct ListAclArgs {
    #[command(flatten)]
    ns: Namesrv,
    #[command(flatten)]
    target: Target,
    /// the subject of acl to filter.
    #[arg(short = 's', long = "subject", value_name = "arg")]
    subject: Option<String>,
    /// the resource of acl to filter.
    #[arg(short = 'r', long = "resource", value_name = "arg")]
    resource: Option<String>,
}

pub(super) async fn run_list_acl(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(ListAclArgs, args);
    let (s, r) = (trimmed(a.subject), trimmed(a.resource));
    for table in list_acl(
        &a.ns.client()?,
        &a.target.selector(),
        s.as_deref(),
        r.as_deref(),
    )
    .await?
    {
        print!("{table}");
    }
    Ok(0)
}
