//! The mqadmin commands: options as RocketMQ spells them, each run through `ferromq_admin`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use clap::{ArgGroup, Args, CommandFactory, Parser};
use ferromq_admin::broker::{broker_status, BrokerSelector};
use ferromq_admin::cluster::cluster_list;
use ferromq_admin::consumer::{
    consumer_connection, consumer_progress, delete_sub_group, group_list, tool_default_group,
    update_sub_group,
};
use ferromq_admin::topic::{
    delete_topic, parse_attributes, topic_list, topic_route, topic_status, update_topic, Target,
    UpdateTopicOptions,
};
use ferromq_admin::{AdminClient, AdminError};

use super::auth_commands as au;
use super::broker_commands as b;
use super::client_commands as cc;
use super::controller_commands as c;
use super::dlq_commands as dlq;
use super::everyday_commands as ev;
use super::message_commands as m;
use super::namesrv_commands as ns;
use super::offset_commands as o;
use super::quota_commands as q;

type RunFuture = Pin<Box<dyn Future<Output = Result<i32, AdminError>>>>;

/// One mqadmin command.
pub struct CommandSpec {
    /// RocketMQ's command name.
    pub name: &'static str,
    /// RocketMQ's one-line description.
    pub desc: &'static str,
    /// The Java class, named in failure messages.
    pub java_class: &'static str,
    /// The usage text.
    pub help: fn() -> String,
    /// Parses the options and runs; `Ok(code)` also covers option errors and `-h`.
    pub run: fn(Vec<String>) -> RunFuture,
}

/// The commands, in the order RocketMQ's `mqadmin` lists them.
pub const ALL: &[CommandSpec] = &[
    CommandSpec {
        name: "updateTopic",
        desc: "Update or create topic.",
        java_class: "UpdateTopicSubCommand",
        help: help::<UpdateTopicArgs>,
        run: |a| Box::pin(run_update_topic(a)),
    },
    CommandSpec {
        name: "deleteTopic",
        desc: "Delete topic from broker and NameServer.",
        java_class: "DeleteTopicSubCommand",
        help: help::<DeleteTopicArgs>,
        run: |a| Box::pin(run_delete_topic(a)),
    },
    CommandSpec {
        name: "updateTopicPerm",
        desc: "Update topic perm.",
        java_class: "UpdateTopicPermSubCommand",
        help: help::<b::UpdateTopicPermArgs>,
        run: |a| Box::pin(b::run_update_topic_perm(a)),
    },
    CommandSpec {
        name: "topicRoute",
        desc: "Examine topic route info.",
        java_class: "TopicRouteSubCommand",
        help: help::<TopicRouteArgs>,
        run: |a| Box::pin(run_topic_route(a)),
    },
    CommandSpec {
        name: "topicStatus",
        desc: "Examine topic Status info.",
        java_class: "TopicStatusSubCommand",
        help: help::<TopicStatusArgs>,
        run: |a| Box::pin(run_topic_status(a)),
    },
    CommandSpec {
        name: "topicClusterList",
        desc: "Get cluster info for topic.",
        java_class: "TopicClusterSubCommand",
        help: help::<b::TopicClusterListArgs>,
        run: |a| Box::pin(b::run_topic_cluster_list(a)),
    },
    CommandSpec {
        name: "brokerStatus",
        desc: "Fetch broker runtime status data.",
        java_class: "BrokerStatusSubCommand",
        help: help::<BrokerStatusArgs>,
        run: |a| Box::pin(run_broker_status(a)),
    },
    CommandSpec {
        name: "producerConnection",
        desc: "Query producer's socket connection and client version.",
        java_class: "ProducerConnectionSubCommand",
        help: help::<b::ProducerConnectionArgs>,
        run: |a| Box::pin(b::run_producer_connection(a)),
    },
    CommandSpec {
        name: "consumerConnection",
        desc: "Query consumer's socket connection, client version and subscription.",
        java_class: "ConsumerConnectionSubCommand",
        help: help::<ConsumerConnectionArgs>,
        run: |a| Box::pin(run_consumer_connection(a)),
    },
    CommandSpec {
        name: "consumerProgress",
        desc: "Query consumer's progress, speed.",
        java_class: "ConsumerProgressSubCommand",
        help: help::<ConsumerProgressArgs>,
        run: |a| Box::pin(run_consumer_progress(a)),
    },
    CommandSpec {
        name: "updateSubGroup",
        desc: "Update or create subscription group.",
        java_class: "UpdateSubGroupSubCommand",
        help: help::<UpdateSubGroupArgs>,
        run: |a| Box::pin(run_update_sub_group(a)),
    },
    CommandSpec {
        name: "deleteSubGroup",
        desc: "Delete subscription group from broker.",
        java_class: "DeleteSubscriptionGroupCommand",
        help: help::<DeleteSubGroupArgs>,
        run: |a| Box::pin(run_delete_sub_group(a)),
    },
    CommandSpec {
        name: "clusterList",
        desc: "List cluster infos.",
        java_class: "ClusterListSubCommand",
        help: help::<ClusterListArgs>,
        run: |a| Box::pin(run_cluster_list(a)),
    },
    CommandSpec {
        name: "topicList",
        desc: "Fetch all topic list from name server.",
        java_class: "TopicListSubCommand",
        help: help::<TopicListArgs>,
        run: |a| Box::pin(run_topic_list(a)),
    },
    CommandSpec {
        name: "updateKvConfig",
        desc: "Create or update KV config.",
        java_class: "UpdateKvConfigCommand",
        help: help::<ns::UpdateKvConfigArgs>,
        run: |a| Box::pin(ns::run_update_kv_config(a)),
    },
    CommandSpec {
        name: "deleteKvConfig",
        desc: "Delete KV config.",
        java_class: "DeleteKvConfigCommand",
        help: help::<ns::DeleteKvConfigArgs>,
        run: |a| Box::pin(ns::run_delete_kv_config(a)),
    },
    CommandSpec {
        name: "wipeWritePerm",
        desc: "Wipe write perm of broker in all name server you defined in the -n param.",
        java_class: "WipeWritePermSubCommand",
        help: help::<ns::WipeWritePermArgs>,
        run: |a| Box::pin(ns::run_wipe_write_perm(a)),
    },
    CommandSpec {
        name: "addWritePerm",
        desc: "Add write perm of broker in all name server you defined in the -n param.",
        java_class: "AddWritePermSubCommand",
        help: help::<ns::AddWritePermArgs>,
        run: |a| Box::pin(ns::run_add_write_perm(a)),
    },
    CommandSpec {
        name: "queryMsgById",
        desc: "Query Message by Id.",
        java_class: "QueryMsgByIdSubCommand",
        help: help::<m::QueryMsgByIdArgs>,
        run: |a| Box::pin(m::run_query_msg_by_id(a)),
    },
    CommandSpec {
        name: "queryMsgByKey",
        desc: "Query Message by Key.",
        java_class: "QueryMsgByKeySubCommand",
        help: help::<m::QueryMsgByKeyArgs>,
        run: |a| Box::pin(m::run_query_msg_by_key(a)),
    },
    CommandSpec {
        name: "queryMsgByUniqueKey",
        desc: "Query Message by Unique key.",
        java_class: "QueryMsgByUniqueKeySubCommand",
        help: help::<m::QueryMsgByUniqueKeyArgs>,
        run: |a| Box::pin(m::run_query_msg_by_unique_key(a)),
    },
    CommandSpec {
        name: "queryMsgByOffset",
        desc: "Query Message by offset.",
        java_class: "QueryMsgByOffsetSubCommand",
        help: help::<m::QueryMsgByOffsetArgs>,
        run: |a| Box::pin(m::run_query_msg_by_offset(a)),
    },
    CommandSpec {
        name: "queryMsgTraceById",
        desc: "Query a message trace",
        java_class: "QueryMsgTraceByIdSubCommand",
        help: help::<m::QueryMsgTraceByIdArgs>,
        run: |a| Box::pin(m::run_query_msg_trace_by_id(a)),
    },
    CommandSpec {
        name: "sendMessage",
        desc: "Send a message",
        java_class: "SendMessageCommand",
        help: help::<m::SendMessageArgs>,
        run: |a| Box::pin(m::run_send_message(a)),
    },
    CommandSpec {
        name: "checkMsgSendRT",
        desc: "check message send response time",
        java_class: "CheckMsgSendRTCommand",
        help: help::<m::CheckMsgSendRtArgs>,
        run: |a| Box::pin(m::run_check_msg_send_rt(a)),
    },
    CommandSpec {
        name: "printMsg",
        desc: "Print Message Detail.",
        java_class: "PrintMessageSubCommand",
        help: help::<m::PrintMsgArgs>,
        run: |a| Box::pin(m::run_print_msg(a)),
    },
    CommandSpec {
        name: "cleanExpiredCQ",
        desc: "Clean expired ConsumeQueue on broker.",
        java_class: "CleanExpiredCQSubCommand",
        help: help::<m::CleanExpiredCqArgs>,
        run: |a| Box::pin(m::run_clean_expired_cq(a)),
    },
    CommandSpec {
        name: "deleteExpiredCommitLog",
        desc: "Delete expired CommitLog files.",
        java_class: "DeleteExpiredCommitLogSubCommand",
        help: help::<m::DeleteExpiredCommitLogArgs>,
        run: |a| Box::pin(m::run_delete_expired_commit_log(a)),
    },
    CommandSpec {
        name: "getNamesrvConfig",
        desc: "Get configs of name server.",
        java_class: "GetNamesrvConfigCommand",
        help: help::<ns::GetNamesrvConfigArgs>,
        run: |a| Box::pin(ns::run_get_namesrv_config(a)),
    },
    CommandSpec {
        name: "updateNamesrvConfig",
        desc: "Update configs of name server.",
        java_class: "UpdateNamesrvConfigCommand",
        help: help::<ns::UpdateNamesrvConfigArgs>,
        run: |a| Box::pin(ns::run_update_namesrv_config(a)),
    },
    CommandSpec {
        name: "getBrokerConfig",
        desc: "Get broker config by cluster or special broker.",
        java_class: "GetBrokerConfigCommand",
        help: help::<b::GetBrokerConfigArgs>,
        run: |a| Box::pin(b::run_get_broker_config(a)),
    },
    CommandSpec {
        name: "haStatus",
        desc: "Fetch ha runtime status data.",
        java_class: "HAStatusSubCommand",
        help: help::<b::HaStatusArgs>,
        run: |a| Box::pin(b::run_ha_status(a)),
    },
    CommandSpec {
        name: "getSyncStateSet",
        desc: "Fetch syncStateSet for target brokers.",
        java_class: "GetSyncStateSetSubCommand",
        help: help::<c::GetSyncStateSetArgs>,
        run: |a| Box::pin(c::run_get_sync_state_set(a)),
    },
    CommandSpec {
        name: "getControllerMetaData",
        desc: "Get controller cluster's metadata.",
        java_class: "GetControllerMetaDataSubCommand",
        help: help::<c::GetControllerMetaDataArgs>,
        run: |a| Box::pin(c::run_get_controller_meta_data(a)),
    },
    CommandSpec {
        name: "getControllerConfig",
        desc: "Get controller config.",
        java_class: "GetControllerConfigSubCommand",
        help: help::<c::GetControllerConfigArgs>,
        run: |a| Box::pin(c::run_get_controller_config(a)),
    },
    CommandSpec {
        name: "updateControllerConfig",
        desc: "Update controller config.",
        java_class: "UpdateControllerConfigSubCommand",
        help: help::<c::UpdateControllerConfigArgs>,
        run: |a| Box::pin(c::run_update_controller_config(a)),
    },
    CommandSpec {
        name: "electMaster",
        desc: "Re-elect the specified broker as master.",
        java_class: "ReElectMasterSubCommand",
        help: help::<c::ElectMasterArgs>,
        run: |a| Box::pin(c::run_elect_master(a)),
    },
    CommandSpec {
        name: "cleanBrokerMetadata",
        desc: "Clean metadata of broker on controller.",
        java_class: "CleanControllerBrokerMetaSubCommand",
        help: help::<c::CleanBrokerMetadataArgs>,
        run: |a| Box::pin(c::run_clean_broker_metadata(a)),
    },
    CommandSpec {
        name: "getConsumerConfig",
        desc: "Get consumer config by subscription group name.",
        java_class: "GetConsumerConfigSubCommand",
        help: help::<b::GetConsumerConfigArgs>,
        run: |a| Box::pin(b::run_get_consumer_config(a)),
    },
    CommandSpec {
        name: "resetOffsetByTime",
        desc: "Reset consumer offset by timestamp(without client restart).",
        java_class: "ResetOffsetByTimeCommand",
        help: help::<o::ResetOffsetByTimeArgs>,
        run: |a| Box::pin(o::run_reset_offset_by_time(a)),
    },
    CommandSpec {
        name: "skipAccumulatedMessage",
        desc: "Skip all messages that are accumulated (not consumed) currently.",
        java_class: "SkipAccumulationSubCommand",
        help: help::<o::SkipAccumulatedMessageArgs>,
        run: |a| Box::pin(o::run_skip_accumulated_message(a)),
    },
    CommandSpec {
        name: "cloneGroupOffset",
        desc: "Clone offset from other group.",
        java_class: "CloneGroupOffsetCommand",
        help: help::<o::CloneGroupOffsetArgs>,
        run: |a| Box::pin(o::run_clone_group_offset(a)),
    },
    CommandSpec {
        name: "brokerConsumeStats",
        desc: "Fetch broker consume stats data.",
        java_class: "BrokerConsumeStatsSubCommad",
        help: help::<o::BrokerConsumeStatsArgs>,
        run: |a| Box::pin(o::run_broker_consume_stats(a)),
    },
    CommandSpec {
        name: "updateOrderConf",
        desc: "Create or update or delete order conf.",
        java_class: "UpdateOrderConfCommand",
        help: help::<o::UpdateOrderConfArgs>,
        run: |a| Box::pin(o::run_update_order_conf(a)),
    },
    CommandSpec {
        name: "allocateMQ",
        desc: "Allocate MQ.",
        java_class: "AllocateMQSubCommand",
        help: help::<o::AllocateMqArgs>,
        run: |a| Box::pin(o::run_allocate_mq(a)),
    },
    CommandSpec {
        name: "createUser",
        desc: "Create user to cluster.",
        java_class: "CreateUserSubCommand",
        help: help::<au::CreateUserArgs>,
        run: |a| Box::pin(au::run_create_user(a)),
    },
    CommandSpec {
        name: "updateUser",
        desc: "Update user to cluster.",
        java_class: "UpdateUserSubCommand",
        help: help::<au::UpdateUserArgs>,
        run: |a| Box::pin(au::run_update_user(a)),
    },
    CommandSpec {
        name: "deleteUser",
        desc: "Delete user from cluster.",
        java_class: "DeleteUserSubCommand",
        help: help::<au::DeleteUserArgs>,
        run: |a| Box::pin(au::run_delete_user(a)),
    },
    CommandSpec {
        name: "getUser",
        desc: "Get user from cluster.",
        java_class: "GetUserSubCommand",
        help: help::<au::GetUserArgs>,
        run: |a| Box::pin(au::run_get_user(a)),
    },
    CommandSpec {
        name: "listUser",
        desc: "List user from cluster.",
        java_class: "ListUserSubCommand",
        help: help::<au::ListUserArgs>,
        run: |a| Box::pin(au::run_list_user(a)),
    },
    CommandSpec {
        name: "createAcl",
        desc: "Create acl to cluster.",
        java_class: "CreateAclSubCommand",
        help: help::<au::CreateAclArgs>,
        run: |a| Box::pin(au::run_create_acl(a)),
    },
    CommandSpec {
        name: "updateAcl",
        desc: "Update acl to cluster.",
        java_class: "UpdateAclSubCommand",
        help: help::<au::UpdateAclArgs>,
        run: |a| Box::pin(au::run_update_acl(a)),
    },
    CommandSpec {
        name: "deleteAcl",
        desc: "Delete acl from cluster.",
        java_class: "DeleteAclSubCommand",
        help: help::<au::DeleteAclArgs>,
        run: |a| Box::pin(au::run_delete_acl(a)),
    },
    CommandSpec {
        name: "getAcl",
        desc: "Get acl from cluster.",
        java_class: "GetAclSubCommand",
        help: help::<au::GetAclArgs>,
        run: |a| Box::pin(au::run_get_acl(a)),
    },
    CommandSpec {
        name: "listAcl",
        desc: "List acl from cluster.",
        java_class: "ListAclSubCommand",
        help: help::<au::ListAclArgs>,
        run: |a| Box::pin(au::run_list_acl(a)),
    },
    // FerroMQ's own commands (no Java class: failures name the command).
    CommandSpec {
        name: "updateQuota",
        desc: "Set the quota of a topic or consumer group (FerroMQ).",
        java_class: "updateQuota",
        help: help::<q::UpdateQuotaArgs>,
        run: |a| Box::pin(q::run_update_quota(a)),
    },
    CommandSpec {
        name: "getQuota",
        desc: "Show topic and consumer group quotas (FerroMQ).",
        java_class: "getQuota",
        help: help::<q::GetQuotaArgs>,
        run: |a| Box::pin(q::run_get_quota(a)),
    },
    CommandSpec {
        name: "deleteQuota",
        desc: "Remove the quota of a topic or consumer group (FerroMQ).",
        java_class: "deleteQuota",
        help: help::<q::DeleteQuotaArgs>,
        run: |a| Box::pin(q::run_delete_quota(a)),
    },
    // Commands answered by live clients through the broker.
    CommandSpec {
        name: "consumerStatus",
        desc: "Query consumer's internal data structure.",
        java_class: "ConsumerStatusSubCommand",
        help: help::<cc::ConsumerStatusArgs>,
        run: |a| Box::pin(cc::run_consumer_status(a)),
    },
    CommandSpec {
        name: "deleteDlqMessage",
        desc: "Delete one dead letter of a consumer group (FerroMQ).",
        java_class: "deleteDlqMessage",
        help: help::<dlq::DeleteDlqMessageArgs>,
        run: |a| Box::pin(dlq::run_delete_dlq_message(a)),
    },
    // Everyday broker, stats and queue commands (everyday_commands.rs).
    CommandSpec {
        name: "updateBrokerConfig",
        desc: "Update broker's config.",
        java_class: "UpdateBrokerConfigSubCommand",
        help: help::<ev::UpdateBrokerConfigArgs>,
        run: |a| Box::pin(ev::run_update_broker_config(a)),
    },
    CommandSpec {
        name: "statsAll",
        desc: "Topic and Consumer tps stats.",
        java_class: "StatsAllSubCommand",
        help: help::<ev::StatsAllArgs>,
        run: |a| Box::pin(ev::run_stats_all(a)),
    },
    CommandSpec {
        name: "cleanUnusedTopic",
        desc: "Clean unused topic on broker.",
        java_class: "CleanUnusedTopicCommand",
        help: help::<ev::CleanUnusedTopicArgs>,
        run: |a| Box::pin(ev::run_clean_unused_topic(a)),
    },
    CommandSpec {
        name: "sendMsgStatus",
        desc: "Send msg to broker.",
        java_class: "SendMsgStatusCommand",
        help: help::<ev::SendMsgStatusArgs>,
        run: |a| Box::pin(ev::run_send_msg_status(a)),
    },
    CommandSpec {
        name: "clusterRT",
        desc: "List All clusters Message Send RT.",
        java_class: "CLusterSendMsgRTCommand",
        help: help::<ev::ClusterRtArgs>,
        run: |a| Box::pin(ev::run_cluster_rt(a)),
    },
    CommandSpec {
        name: "consumeMessage",
        desc: "Consume message.",
        java_class: "ConsumeMessageCommand",
        help: help::<ev::ConsumeMessageArgs>,
        run: |a| Box::pin(ev::run_consume_message(a)),
    },
    CommandSpec {
        name: "printMsgByQueue",
        desc: "Print Message Detail by queueId.",
        java_class: "PrintMessageByQueueCommand",
        help: help::<ev::PrintMsgByQueueArgs>,
        run: |a| Box::pin(ev::run_print_msg_by_queue(a)),
    },
    CommandSpec {
        name: "queryCq",
        desc: "Query cq command.",
        java_class: "QueryConsumeQueueCommand",
        help: help::<ev::QueryCqArgs>,
        run: |a| Box::pin(ev::run_query_cq(a)),
    },
];

/// The command named `name`, ignoring case (Java uses `equalsIgnoreCase`).
pub fn find(name: &str) -> Option<&'static CommandSpec> {
    ALL.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

fn help<T: CommandFactory>() -> String {
    help_of::<T>()
}

/// The usage text of `T`.
pub(super) fn help_of<T: CommandFactory>() -> String {
    T::command().render_help().to_string()
}

/// Parses `args` as the options of `T`. On `-h` or an option error prints clap's message and
/// returns the exit code (0 for help, 1 for errors).
pub(super) fn parse<T: Parser>(args: &[String]) -> Result<T, i32> {
    T::try_parse_from(std::iter::once("mqadmin".to_owned()).chain(args.iter().cloned())).map_err(
        |e| {
            let _ = e.print();
            if e.use_stderr() {
                1
            } else {
                0
            }
        },
    )
}

/// Java `Boolean.parseBoolean` of an optional option value.
fn java_bool(v: Option<&str>) -> bool {
    v.is_some_and(|s| s.trim().eq_ignore_ascii_case("true"))
}

/// `-n`, common to every command.
#[derive(Debug, Args)]
pub(super) struct Namesrv {
    /// Name server address list, eg: '192.168.0.1:9876;192.168.0.2:9876'
    #[arg(short = 'n', long = "namesrvAddr", value_name = "arg")]
    pub(super) namesrv: Option<String>,
    /// Connect to name servers and brokers with TLS (needs --tls-ca or --tls-insecure; also
    /// turned on by the environment variable TLS_ENABLE=true)
    #[arg(long = "tls")]
    pub(super) tls: bool,
    /// With TLS, verify servers' certificates against the PEM CA certificates in this file
    #[arg(long = "tls-ca", value_name = "file")]
    pub(super) tls_ca: Option<std::path::PathBuf>,
    /// With TLS, accept any server certificate without verifying it (self-signed test
    /// certificates only: the connection is encrypted but the server is not authenticated)
    #[arg(long = "tls-insecure")]
    pub(super) tls_insecure: bool,
}

impl Namesrv {
    pub(super) fn client(&self) -> Result<AdminClient, AdminError> {
        let client = AdminClient::connect(self.namesrv.as_deref().map(str::trim))?;
        let client = match self.tls_client()? {
            Some(tls) => client.with_tls(tls),
            None => client,
        };
        Ok(match acl_credentials() {
            Some((ak, sk)) => client.with_credentials(&ak, &sk),
            None => client,
        })
    }

    /// The TLS side of `--tls`, `--tls-ca` and `--tls-insecure` (`TLS_ENABLE=true` counts as
    /// `--tls`); `None` for plaintext.
    fn tls_client(&self) -> Result<Option<ferromq_client::TlsClient>, AdminError> {
        let env = std::env::var("TLS_ENABLE").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if !(self.tls || env || self.tls_ca.is_some() || self.tls_insecure) {
            return Ok(None);
        }
        let trust = match (&self.tls_ca, self.tls_insecure) {
            (Some(_), true) => {
                return Err(AdminError::InvalidArgument {
                    reason: "--tls-ca and --tls-insecure exclude each other".into(),
                })
            }
            (Some(ca), false) => ferromq_client::ServerTrust::CaFile(ca.clone()),
            (None, true) => ferromq_client::ServerTrust::InsecureSkipVerify,
            (None, false) => {
                return Err(AdminError::InvalidArgument {
                    reason: "TLS needs --tls-ca <file> (verify the server's certificate against these CA certificates) or --tls-insecure (do not verify it, for self-signed test certificates)".into(),
                })
            }
        };
        ferromq_client::TlsClient::new(&trust, None)
            .map(Some)
            .map_err(|e| AdminError::InvalidArgument {
                reason: format!("TLS: {e}"),
            })
    }
}

/// Environment variables with the ACL account mqadmin signs with (they win over tools.yml).
pub(super) const ACCESS_KEY_ENV: &str = "FERROMQ_ACCESS_KEY";
/// See [`ACCESS_KEY_ENV`].
pub(super) const SECRET_KEY_ENV: &str = "FERROMQ_SECRET_KEY";

/// The ACL account for brokers with `aclEnable=true`: `FERROMQ_ACCESS_KEY` and
/// `FERROMQ_SECRET_KEY`, else `accessKey:` and `secretKey:` of `$ROCKETMQ_HOME/conf/tools.yml`
/// as RocketMQ's mqadmin reads them. `None`: requests go unsigned.
fn acl_credentials() -> Option<(String, String)> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if let (Some(ak), Some(sk)) = (env(ACCESS_KEY_ENV), env(SECRET_KEY_ENV)) {
        return Some((ak.trim().to_owned(), sk.trim().to_owned()));
    }
    let home = env("ROCKETMQ_HOME")?;
    let path = std::path::Path::new(&home).join("conf/tools.yml");
    let text = std::fs::read_to_string(&path).ok()?;
    let found = tools_yml_credentials(&text);
    if found.is_none() {
        eprintln!(
            "{}: accessKey or secretKey is blank, requests are not signed",
            path.display()
        );
    }
    found
}

/// `accessKey` and `secretKey` of a tools.yml (`key: value` lines; quotes and comments allowed).
pub(super) fn tools_yml_credentials(text: &str) -> Option<(String, String)> {
    let value = |key: &str| {
        text.lines().find_map(|line| {
            let line = line.split(" #").next().unwrap_or("").trim();
            let rest = line.strip_prefix(key)?.trim_start().strip_prefix(':')?;
            let v = rest.trim().trim_matches(|c| c == '"' || c == '\'');
            (!v.is_empty()).then(|| v.to_owned())
        })
    };
    Some((value("accessKey")?, value("secretKey")?))
}

#[derive(Debug, Parser)]
#[command(
    name = "updateTopic",
    bin_name = "mqadmin updateTopic",
    about = "Update or create topic."
)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
struct UpdateTopicArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// create topic to which broker
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// create topic to which cluster
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: Option<String>,
    /// attribute(+a=b,+c=d,-e)
    #[arg(short = 'a', long = "attributes", value_name = "arg")]
    attributes: Option<String>,
    /// topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// set read queue nums
    #[arg(short = 'r', long = "readQueueNums", value_name = "arg")]
    read_queue_nums: Option<i32>,
    /// set write queue nums
    #[arg(short = 'w', long = "writeQueueNums", value_name = "arg")]
    write_queue_nums: Option<i32>,
    /// set topic's permission(2|4|6), intro[2:W 4:R; 6:RW]
    #[arg(short = 'p', long = "perm", value_name = "arg")]
    perm: Option<i32>,
    /// set topic's order(true|false)
    #[arg(short = 'o', long = "order", value_name = "arg")]
    order: Option<String>,
    /// is unit topic (true|false)
    #[arg(short = 'u', long = "unit", value_name = "arg")]
    unit: Option<String>,
    /// has unit sub (true|false)
    #[arg(short = 's', long = "hasUnitSub", value_name = "arg")]
    has_unit_sub: Option<String>,
}

async fn run_update_topic(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(UpdateTopicArgs, args);
    let Some(target) = target_of(&a.broker_addr, &a.cluster_name) else {
        return Ok(1);
    };
    let mut opts = UpdateTopicOptions::new(target, a.topic.trim());
    if let Some(attrs) = &a.attributes {
        opts.attributes = parse_attributes(attrs.trim())?;
    }
    opts.read_queue_nums = a.read_queue_nums.unwrap_or(opts.read_queue_nums);
    opts.write_queue_nums = a.write_queue_nums.unwrap_or(opts.write_queue_nums);
    opts.perm = a.perm.unwrap_or(opts.perm);
    opts.order = java_bool(a.order.as_deref());
    opts.unit = java_bool(a.unit.as_deref());
    opts.has_unit_sub = java_bool(a.has_unit_sub.as_deref());
    let report = update_topic(&a.ns.client()?, &opts).await?;
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "deleteTopic",
    bin_name = "mqadmin deleteTopic",
    about = "Delete topic from broker and NameServer."
)]
struct DeleteTopicArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// delete topic from which cluster
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: String,
}

async fn run_delete_topic(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(DeleteTopicArgs, args);
    let report = delete_topic(&a.ns.client()?, a.cluster_name.trim(), a.topic.trim()).await?;
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "topicRoute",
    bin_name = "mqadmin topicRoute",
    about = "Examine topic route info."
)]
struct TopicRouteArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// Use list format to print data
    #[arg(short = 'l', long = "list")]
    list: bool,
}

async fn run_topic_route(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(TopicRouteArgs, args);
    let report = topic_route(&a.ns.client()?, &a.topic, a.list).await?;
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "topicStatus",
    bin_name = "mqadmin topicStatus",
    about = "Examine topic Status info."
)]
struct TopicStatusArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// topic name
    #[arg(short = 't', long = "topic", value_name = "arg")]
    topic: String,
    /// cluster name or lmq parent topic, lmq is used to find the route.
    #[arg(short = 'c', long = "cluster", value_name = "arg")]
    cluster: Option<String>,
}

async fn run_topic_status(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(TopicStatusArgs, args);
    let report = topic_status(&a.ns.client()?, &a.topic, a.cluster.as_deref()).await?;
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "brokerStatus",
    bin_name = "mqadmin brokerStatus",
    about = "Fetch broker runtime status data."
)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
struct BrokerStatusArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Broker address
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// which cluster
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: Option<String>,
}

async fn run_broker_status(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(BrokerStatusArgs, args);
    let Some(selector) = selector_of(a.broker_addr, a.cluster_name) else {
        return Ok(1);
    };
    let report = broker_status(&a.ns.client()?, &selector).await?;
    print!("{report}");
    for (addr, err) in report.failures() {
        eprintln!("{addr}: {err}");
    }
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "consumerConnection",
    bin_name = "mqadmin consumerConnection",
    about = "Query consumer's socket connection, client version and subscription."
)]
struct ConsumerConnectionArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// consumer group name
    #[arg(short = 'g', long = "consumerGroup", value_name = "arg")]
    consumer_group: String,
    /// broker address
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
}

async fn run_consumer_connection(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(ConsumerConnectionArgs, args);
    let report =
        consumer_connection(&a.ns.client()?, &a.consumer_group, a.broker_addr.as_deref()).await?;
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "consumerProgress",
    bin_name = "mqadmin consumerProgress",
    about = "Query consumer's progress, speed."
)]
struct ConsumerProgressArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// consumer group name
    #[arg(short = 'g', long = "groupName", value_name = "arg")]
    group_name: Option<String>,
    /// topic name
    #[arg(short = 't', long = "topicName", value_name = "arg")]
    topic_name: Option<String>,
    /// Show Client IP per Queue
    #[arg(short = 's', long = "showClientIP", value_name = "arg")]
    show_client_ip: Option<String>,
    /// Cluster name or lmq parent topic, lmq is used to find the route.
    #[arg(short = 'c', long = "cluster", value_name = "arg")]
    cluster: Option<String>,
}

async fn run_consumer_progress(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(ConsumerProgressArgs, args);
    let admin = a.ns.client()?;
    match &a.group_name {
        Some(group) => {
            let show_ip = a
                .show_client_ip
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("true"));
            let report = consumer_progress(
                &admin,
                group,
                a.topic_name.as_deref(),
                show_ip,
                a.cluster.as_deref(),
            )
            .await?;
            print!("{report}");
        }
        None => print!("{}", group_list(&admin).await?),
    }
    Ok(0)
}

/// `-b` / `-c` of the group commands.
/// `-b` or `-c` of a command that reads from brokers (clap makes one of them required).
pub(super) fn selector_of(
    broker: Option<String>,
    cluster: Option<String>,
) -> Option<BrokerSelector> {
    match (broker, cluster) {
        (Some(b), _) => Some(BrokerSelector::Addr(b)),
        (None, Some(c)) => Some(BrokerSelector::Cluster(c)),
        (None, None) => None,
    }
}

pub(super) fn target_of(broker: &Option<String>, cluster: &Option<String>) -> Option<Target> {
    match (broker, cluster) {
        (Some(b), _) => Some(Target::Broker(b.trim().to_owned())),
        (None, Some(c)) => Some(Target::Cluster(c.trim().to_owned())),
        (None, None) => None,
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "updateSubGroup",
    bin_name = "mqadmin updateSubGroup",
    about = "Update or create subscription group."
)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
struct UpdateSubGroupArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// create subscription group to which broker
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// create subscription group to which cluster
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: Option<String>,
    /// consumer group name
    #[arg(short = 'g', long = "groupName", value_name = "arg")]
    group_name: String,
    /// consume enable
    #[arg(short = 's', long = "consumeEnable", value_name = "arg")]
    consume_enable: Option<String>,
    /// from min offset
    #[arg(short = 'm', long = "consumeFromMinEnable", value_name = "arg")]
    consume_from_min_enable: Option<String>,
    /// broadcast
    #[arg(short = 'd', long = "consumeBroadcastEnable", value_name = "arg")]
    consume_broadcast_enable: Option<String>,
    /// consume message orderly
    #[arg(short = 'o', long = "consumeMessageOrderly", value_name = "arg")]
    consume_message_orderly: Option<String>,
    /// retry queue nums
    #[arg(short = 'q', long = "retryQueueNums", value_name = "arg")]
    retry_queue_nums: Option<i32>,
    /// retry max times
    #[arg(short = 'r', long = "retryMaxTimes", value_name = "arg")]
    retry_max_times: Option<i32>,
    /// consumer from which broker id
    #[arg(short = 'i', long = "brokerId", value_name = "arg")]
    broker_id: Option<i64>,
    /// which broker id when consume slowly
    #[arg(short = 'w', long = "whichBrokerWhenConsumeSlowly", value_name = "arg")]
    which_broker_when_consume_slowly: Option<i64>,
    /// notify consumerId changed
    #[arg(short = 'a', long = "notifyConsumerIdsChanged", value_name = "arg")]
    notify_consumer_ids_changed: Option<String>,
}

async fn run_update_sub_group(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(UpdateSubGroupArgs, args);
    let Some(target) = target_of(&a.broker_addr, &a.cluster_name) else {
        return Ok(1);
    };
    let mut c = tool_default_group(a.group_name.trim());
    let flag = |v: &Option<String>, current: bool| match v {
        Some(s) => java_bool(Some(s)),
        None => current,
    };
    c.consume_enable = flag(&a.consume_enable, c.consume_enable);
    c.consume_from_min_enable = flag(&a.consume_from_min_enable, c.consume_from_min_enable);
    c.consume_broadcast_enable = flag(&a.consume_broadcast_enable, c.consume_broadcast_enable);
    c.consume_message_orderly = flag(&a.consume_message_orderly, c.consume_message_orderly);
    c.notify_consumer_ids_changed_enable = flag(
        &a.notify_consumer_ids_changed,
        c.notify_consumer_ids_changed_enable,
    );
    c.retry_queue_nums = a.retry_queue_nums.unwrap_or(c.retry_queue_nums);
    c.retry_max_times = a.retry_max_times.unwrap_or(c.retry_max_times);
    c.broker_id = a.broker_id.unwrap_or(c.broker_id);
    c.which_broker_when_consume_slowly = a
        .which_broker_when_consume_slowly
        .unwrap_or(c.which_broker_when_consume_slowly);
    print!("{}", update_sub_group(&a.ns.client()?, &target, &c).await?);
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "deleteSubGroup",
    bin_name = "mqadmin deleteSubGroup",
    about = "Delete subscription group from broker."
)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
struct DeleteSubGroupArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// delete subscription group from which broker
    #[arg(short = 'b', long = "brokerAddr", value_name = "arg")]
    broker_addr: Option<String>,
    /// delete subscription group from which cluster
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: Option<String>,
    /// subscription group name
    #[arg(short = 'g', long = "groupName", value_name = "arg")]
    group_name: String,
    /// delete the group's consumer offsets too (true|false)
    #[arg(short = 'r', long = "removeOffset", value_name = "arg")]
    remove_offset: Option<String>,
}

async fn run_delete_sub_group(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(DeleteSubGroupArgs, args);
    let Some(target) = target_of(&a.broker_addr, &a.cluster_name) else {
        return Ok(1);
    };
    let clean = java_bool(a.remove_offset.as_deref());
    let report = delete_sub_group(&a.ns.client()?, &target, a.group_name.trim(), clean).await?;
    print!("{report}");
    Ok(0)
}

#[derive(Debug, Parser)]
#[command(
    name = "clusterList",
    bin_name = "mqadmin clusterList",
    about = "List cluster infos."
)]
struct ClusterListArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// Print more stats
    #[arg(short = 'm', long = "moreStats")]
    more_stats: bool,
    /// specify intervals numbers, it is in seconds
    #[arg(short = 'i', long = "interval", value_name = "arg")]
    interval: Option<u64>,
    /// which cluster
    #[arg(short = 'c', long = "clusterName", value_name = "arg")]
    cluster_name: Option<String>,
}

async fn run_cluster_list(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(ClusterListArgs, args);
    let admin = a.ns.client()?;
    let cluster = a.cluster_name.as_deref().map(str::trim);
    loop {
        print!("{}", cluster_list(&admin, cluster, a.more_stats).await?);
        // With -i the Java tool prints again every interval until interrupted.
        let Some(secs) = a.interval else { return Ok(0) };
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "topicList",
    bin_name = "mqadmin topicList",
    about = "Fetch all topic list from name server."
)]
struct TopicListArgs {
    #[command(flatten)]
    ns: Namesrv,
    /// clusterModel
    #[arg(short = 'c', long = "clusterModel")]
    cluster_model: bool,
}

async fn run_topic_list(args: Vec<String>) -> Result<i32, AdminError> {
    let a = parse_or_return!(TopicListArgs, args);
    print!("{}", topic_list(&a.ns.client()?, a.cluster_model).await?);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_yml_gives_the_account_as_rocketmq_writes_it() {
        let text =
            "# mqadmin's ACL account\naccessKey: rocketmq2\nsecretKey: \"12345678\" # admin\n";
        assert_eq!(
            tools_yml_credentials(text),
            Some(("rocketmq2".to_owned(), "12345678".to_owned()))
        );
        assert_eq!(
            tools_yml_credentials("accessKey: rocketmq2\nsecretKey:\n"),
            None
        );
        assert_eq!(tools_yml_credentials(""), None);
    }

    #[test]
    fn every_command_parses_rocketmq_style_options() {
        let p = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let u = parse::<UpdateTopicArgs>(&p(&[
            "-n",
            "localhost:9876",
            "-b",
            "localhost:10911",
            "-t",
            "tp_demo_06",
            "-w",
            "6",
        ]))
        .unwrap();
        assert_eq!(
            (
                u.broker_addr.as_deref(),
                u.topic.as_str(),
                u.write_queue_nums
            ),
            (Some("localhost:10911"), "tp_demo_06", Some(6))
        );
        let u = parse::<UpdateTopicArgs>(&p(&["-c", "DefaultCluster", "-t", "T", "-o", "true"]))
            .unwrap();
        assert!(java_bool(u.order.as_deref()));
        assert!(parse::<DeleteTopicArgs>(&p(&["-t", "T", "-c", "C"])).is_ok());
        assert!(parse::<DeleteTopicArgs>(&p(&["-t", "T"])).is_err());
        assert!(parse::<TopicListArgs>(&p(&["-c"])).unwrap().cluster_model);
        assert!(
            parse::<TopicRouteArgs>(&p(&["-t", "T", "-l"]))
                .unwrap()
                .list
        );
        assert!(parse::<TopicStatusArgs>(&p(&["-t", "T"])).is_ok());
        assert!(
            parse::<ClusterListArgs>(&p(&["-m", "-c", "C"]))
                .unwrap()
                .more_stats
        );
        assert!(parse::<BrokerStatusArgs>(&p(&["-b", "a:1"])).is_ok());
        assert!(parse::<BrokerStatusArgs>(&p(&[])).is_err());
        let c = parse::<ConsumerProgressArgs>(&p(&["-g", "G", "-s", "true"])).unwrap();
        assert_eq!(c.group_name.as_deref(), Some("G"));
        assert!(parse::<ConsumerConnectionArgs>(&p(&["-g", "G"])).is_ok());
        let g = parse::<UpdateSubGroupArgs>(&p(&[
            "-c", "C", "-g", "G", "-r", "3", "-q", "1", "-s", "false", "-o", "true", "-d", "true",
        ]))
        .unwrap();
        assert_eq!((g.retry_max_times, g.retry_queue_nums), (Some(3), Some(1)));
        assert!(parse::<UpdateSubGroupArgs>(&p(&["-g", "G"])).is_err());
        assert!(parse::<DeleteSubGroupArgs>(&p(&["-b", "a:1", "-g", "G"])).is_ok());
    }

    #[test]
    fn help_texts_render() {
        for spec in ALL {
            let text = (spec.help)();
            assert!(text.contains("namesrvAddr"), "{}: {text}", spec.name);
        }
    }
}
