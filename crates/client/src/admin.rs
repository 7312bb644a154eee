//! `AdminClient`: typed calls to name servers and brokers for the admin tools and the dashboard
//! (the calls Java's `MQClientAPIImpl` makes for `DefaultMQAdminExt`).
//!
//! Name-server calls go to the name servers in turn until one answers; broker calls take the
//! broker address. Every call returns the decoded body, or [`ClientError::Broker`] when the peer
//! answered with an error code.

use std::collections::BTreeMap;
use std::time::Duration;

use ferromq_common::config::Properties;
use ferromq_common::names::AUTO_CREATE_TOPIC;
use ferromq_common::perm;
use ferromq_proto::body::{
    ClusterInfo, ConsumeStats, ConsumeStatsList, ConsumerConnection, GroupList, HaRuntimeInfo,
    JsonBody, KVTable, MessageQueue, ProducerConnection, ResetOffsetBody, SubscriptionGroupConfig,
    SubscriptionGroupWrapper, TopicConfig, TopicConfigSerializeWrapper, TopicList, TopicRouteData,
    TopicStatsTable,
};
use ferromq_proto::codes::{request, response};
use ferromq_proto::define_header;
use ferromq_proto::header::NoHeader;
use ferromq_proto::headers::{
    BrokerNameHeader, CloneGroupOffsetRequestHeader, ConsumerGroupHeader, CreateTopicRequestHeader,
    DeleteTopicFromNamesrvRequestHeader, GetConsumeStatsInBrokerHeader,
    GetConsumeStatsRequestHeader, GetKvConfigResponseHeader, GetTopicsByClusterRequestHeader,
    KvConfigKeyHeader, ProducerGroupHeader, PutKvConfigRequestHeader, ResetOffsetRequestHeader,
    TopicHeader,
};
use ferromq_proto::RemotingCommand;

use crate::rpc::{decode_body, decode_header, expect_success, Credentials, Rpc, DEFAULT_TIMEOUT};
use crate::{ClientError, NameServerList};

define_header! {
    /// Response of WIPE_WRITE_PERM_OF_BROKER (205).
    pub struct WipeWritePermResponseHeader {
        wipe_topic_count: i32 = "wipeTopicCount",
    }
}

define_header! {
    /// Response of ADD_WRITE_PERM_OF_BROKER (327).
    pub struct AddWritePermResponseHeader {
        add_topic_count: i32 = "addTopicCount",
    }
}

/// KV namespace of ordered-topic queue layouts (`NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG`).
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// Admin calls over one connection pool.
#[derive(Clone)]
pub struct AdminClient {
    rpc: Rpc,
}

impl AdminClient {
    /// A client for the given name servers with a 5 s deadline per call.
    pub fn new(namesrv: NameServerList) -> Self {
        AdminClient {
            rpc: Rpc::new(namesrv, DEFAULT_TIMEOUT),
        }
    }

    /// A client for `namesrv` (`a:9876;b:9876`), or for `NAMESRV_ADDR` when `None`.
    pub fn connect(namesrv: Option<&str>) -> Result<Self, ClientError> {
        Ok(Self::new(NameServerList::resolve(namesrv)?))
    }

    /// A client over an existing [`Rpc`] (shares its connections).
    pub fn from_rpc(rpc: Rpc) -> Self {
        AdminClient { rpc }
    }

    /// Same client with another deadline per call.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        let credentials = self.rpc.credentials().map(|c| (**c).clone());
        let rpc = Rpc::with_remoting(
            self.rpc.remoting().clone(),
            self.rpc.namesrv().clone(),
            timeout,
        )
        .with_credentials(credentials);
        AdminClient { rpc }
    }

    /// Same client connecting with TLS (before any call: connections already open stay as
    /// they are).
    pub fn with_tls(self, tls: crate::TlsClient) -> Self {
        let credentials = self.rpc.credentials().map(|c| (**c).clone());
        let rpc = Rpc::with_remoting(
            self.rpc.remoting().clone().with_tls(Some(tls)),
            self.rpc.namesrv().clone(),
            self.rpc.timeout(),
        )
        .with_credentials(credentials);
        AdminClient { rpc }
    }

    /// Same client signing every request with an ACL account (an admin one for topic and
    /// group changes, config updates and offset resets on brokers with `aclEnable=true`).
    pub fn with_credentials(self, access_key: &str, secret_key: &str) -> Self {
        AdminClient {
            rpc: self
                .rpc
                .with_credentials(Some(Credentials::new(access_key, secret_key))),
        }
    }

    /// The underlying connections.
    pub fn rpc(&self) -> &Rpc {
        &self.rpc
    }

    /// The name servers this client asks.
    pub fn namesrv(&self) -> &NameServerList {
        self.rpc.namesrv()
    }

    // ---- name server ------------------------------------------------------------------------

    /// GET_ROUTEINFO_BY_TOPIC (105): where `topic` lives. `TOPIC_NOT_EXIST` when nobody knows it.
    pub async fn topic_route(&self, topic: &str) -> Result<TopicRouteData, ClientError> {
        crate::route::fetch_route(&self.rpc, topic).await
    }

    /// GET_BROKER_CLUSTER_INFO (106): every broker and cluster.
    pub async fn cluster_info(&self) -> Result<ClusterInfo, ClientError> {
        let resp = self
            .rpc
            .call_namesrv_ok(RemotingCommand::bare_request(
                request::GET_BROKER_CLUSTER_INFO,
            ))
            .await?;
        decode_body(&resp, "GET_BROKER_CLUSTER_INFO")
    }

    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206): every topic the name server knows.
    pub async fn topic_list(&self) -> Result<TopicList, ClientError> {
        let cmd = RemotingCommand::bare_request(request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
        let resp = self.rpc.call_namesrv_ok(cmd).await?;
        decode_body(&resp, "GET_ALL_TOPIC_LIST_FROM_NAMESERVER")
    }

    /// GET_TOPICS_BY_CLUSTER (224): the topics of one cluster.
    pub async fn topics_by_cluster(&self, cluster: &str) -> Result<TopicList, ClientError> {
        let header = GetTopicsByClusterRequestHeader {
            cluster: cluster.to_owned(),
        };
        let resp = self
            .rpc
            .call_namesrv_ok(RemotingCommand::request(
                request::GET_TOPICS_BY_CLUSTER,
                &header,
            ))
            .await?;
        decode_body(&resp, "GET_TOPICS_BY_CLUSTER")
    }

    /// DELETE_TOPIC_IN_NAMESRV (216) to one name server; with `cluster`, only that cluster's
    /// brokers lose the topic.
    pub async fn delete_topic_in_namesrv(
        &self,
        namesrv_addr: &str,
        topic: &str,
        cluster: Option<&str>,
    ) -> Result<(), ClientError> {
        let header = DeleteTopicFromNamesrvRequestHeader {
            topic: topic.to_owned(),
            cluster_name: cluster.map(str::to_owned),
        };
        let cmd = RemotingCommand::request(request::DELETE_TOPIC_IN_NAMESRV, &header);
        self.rpc.call_ok(namesrv_addr, cmd).await.map(drop)
    }

    /// PUT_KV_CONFIG (100) to **every** name server (Java `putKVConfigValue`). All are tried;
    /// the error of the last one that refused is returned.
    pub async fn put_kv_config(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> Result<(), ClientError> {
        let header = PutKvConfigRequestHeader {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
        };
        let mut failure = None;
        for addr in self.rpc.namesrv().addrs() {
            let cmd = RemotingCommand::request(request::PUT_KV_CONFIG, &header);
            if let Err(e) = self.rpc.call_ok(addr, cmd).await {
                failure = Some(e);
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// GET_KV_CONFIG (101): the value, or `None` when the name server has none.
    pub async fn get_kv_config(
        &self,
        namespace: &str,
        key: &str,
    ) -> Result<Option<String>, ClientError> {
        let header = KvConfigKeyHeader {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
        };
        let resp = self
            .rpc
            .call_namesrv(RemotingCommand::request(request::GET_KV_CONFIG, &header))
            .await?;
        if resp.code == response::QUERY_NOT_FOUND {
            return Ok(None);
        }
        let resp = expect_success(resp)?;
        Ok(decode_header::<GetKvConfigResponseHeader>(&resp, "GET_KV_CONFIG")?.value)
    }

    /// DELETE_KV_CONFIG (102) to **every** name server (Java `deleteKVConfigValue`). All are
    /// tried; the error of the last one that refused is returned.
    pub async fn delete_kv_config(&self, namespace: &str, key: &str) -> Result<(), ClientError> {
        let header = KvConfigKeyHeader {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
        };
        let mut failure = None;
        for addr in self.rpc.namesrv().addrs() {
            let cmd = RemotingCommand::request(request::DELETE_KV_CONFIG, &header);
            if let Err(e) = self.rpc.call_ok(addr, cmd).await {
                failure = Some(e);
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// GET_NAMESRV_CONFIG (319) to the name server at `namesrv_addr`: its settings, parsed from
    /// the properties text of the body.
    pub async fn namesrv_config(&self, namesrv_addr: &str) -> Result<Properties, ClientError> {
        let cmd = RemotingCommand::bare_request(request::GET_NAMESRV_CONFIG);
        let resp = self.rpc.call_ok(namesrv_addr, cmd).await?;
        Ok(Properties::parse(&String::from_utf8_lossy(&resp.body)))
    }

    /// UPDATE_NAMESRV_CONFIG (318) to the name server at `namesrv_addr`: `props` (properties
    /// text) applied at run time.
    pub async fn update_namesrv_config(
        &self,
        namesrv_addr: &str,
        props: &str,
    ) -> Result<(), ClientError> {
        let cmd = RemotingCommand::bare_request(request::UPDATE_NAMESRV_CONFIG)
            .with_body(props.as_bytes().to_vec());
        self.rpc.call_ok(namesrv_addr, cmd).await.map(drop)
    }

    /// WIPE_WRITE_PERM_OF_BROKER (205) to the name server at `namesrv_addr`: the broker's
    /// queues lose write permission in the routes; returns how many topics changed.
    pub async fn wipe_write_perm(
        &self,
        namesrv_addr: &str,
        broker_name: &str,
    ) -> Result<i32, ClientError> {
        let header = BrokerNameHeader {
            broker_name: broker_name.to_owned(),
        };
        let cmd = RemotingCommand::request(request::WIPE_WRITE_PERM_OF_BROKER, &header);
        let resp = self.rpc.call_ok(namesrv_addr, cmd).await?;
        Ok(
            decode_header::<WipeWritePermResponseHeader>(&resp, "WIPE_WRITE_PERM_OF_BROKER")?
                .wipe_topic_count,
        )
    }

    /// ADD_WRITE_PERM_OF_BROKER (327) to the name server at `namesrv_addr`: the broker's queues
    /// get write permission back; returns how many topics changed.
    pub async fn add_write_perm(
        &self,
        namesrv_addr: &str,
        broker_name: &str,
    ) -> Result<i32, ClientError> {
        let header = BrokerNameHeader {
            broker_name: broker_name.to_owned(),
        };
        let cmd = RemotingCommand::request(request::ADD_WRITE_PERM_OF_BROKER, &header);
        let resp = self.rpc.call_ok(namesrv_addr, cmd).await?;
        Ok(
            decode_header::<AddWritePermResponseHeader>(&resp, "ADD_WRITE_PERM_OF_BROKER")?
                .add_topic_count,
        )
    }

    // ---- broker -----------------------------------------------------------------------------

    /// UPDATE_AND_CREATE_TOPIC (17): creates or replaces `config` on the broker at `addr`.
    ///
    /// A perm outside `0..8` is refused locally with `NO_PERMISSION`, as Java's `Validators` does.
    pub async fn create_topic(&self, addr: &str, config: &TopicConfig) -> Result<(), ClientError> {
        if !(0..perm::PRIORITY).contains(&config.perm) {
            return Err(ClientError::Broker {
                code: response::NO_PERMISSION,
                remark: format!("topicPermission value: {} is invalid.", config.perm),
            });
        }
        let attributes = attributes_to_string(config);
        let header = CreateTopicRequestHeader {
            topic: config.topic_name.clone(),
            default_topic: AUTO_CREATE_TOPIC.to_owned(),
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            topic_filter_type: config.topic_filter_type.as_str().to_owned(),
            topic_sys_flag: Some(config.topic_sys_flag),
            order: config.order,
            attributes: (!attributes.is_empty()).then_some(attributes),
            force: None,
        };
        let cmd = RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC, &header);
        self.rpc.call_ok(addr, cmd).await.map(drop)
    }

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200): creates or replaces a consumer group's config
    /// on the broker at `addr`.
    pub async fn create_subscription_group(
        &self,
        addr: &str,
        config: &SubscriptionGroupConfig,
    ) -> Result<(), ClientError> {
        let cmd = RemotingCommand::request(request::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, &NoHeader)
            .with_body(config.to_json());
        self.rpc.call_ok(addr, cmd).await.map(drop)
    }

    /// DELETE_SUBSCRIPTIONGROUP (207), with `cleanOffset` (5.x: the group's offsets go too).
    pub async fn delete_subscription_group(
        &self,
        addr: &str,
        group: &str,
        clean_offset: bool,
    ) -> Result<(), ClientError> {
        let mut cmd = RemotingCommand::request(request::DELETE_SUBSCRIPTIONGROUP, &NoHeader);
        cmd.ext_fields.insert("groupName", group.to_owned());
        cmd.ext_fields
            .insert("cleanOffset", clean_offset.to_string());
        self.rpc.call_ok(addr, cmd).await.map(drop)
    }

    /// DELETE_TOPIC_IN_BROKER (215).
    pub async fn delete_topic_in_broker(&self, addr: &str, topic: &str) -> Result<(), ClientError> {
        let cmd = RemotingCommand::request(
            request::DELETE_TOPIC_IN_BROKER,
            &TopicHeader {
                topic: topic.to_owned(),
            },
        );
        self.rpc.call_ok(addr, cmd).await.map(drop)
    }

    /// GET_TOPIC_STATS_INFO (202): min/max offsets of every queue of `topic` on one broker.
    pub async fn topic_stats(
        &self,
        addr: &str,
        topic: &str,
    ) -> Result<TopicStatsTable, ClientError> {
        let cmd = RemotingCommand::request(
            request::GET_TOPIC_STATS_INFO,
            &TopicHeader {
                topic: topic.to_owned(),
            },
        );
        let resp = self.rpc.call_ok(addr, cmd).await?;
        decode_body(&resp, "GET_TOPIC_STATS_INFO")
    }

    /// GET_BROKER_RUNTIME_INFO (28): the broker's runtime key/values.
    pub async fn broker_runtime_info(&self, addr: &str) -> Result<KVTable, ClientError> {
        let resp = self
            .rpc
            .call_ok(
                addr,
                RemotingCommand::bare_request(request::GET_BROKER_RUNTIME_INFO),
            )
            .await?;
        decode_body(&resp, "GET_BROKER_RUNTIME_INFO")
    }

    /// GET_CONSUME_STATS (208): a group's progress on one broker, for one topic or all.
    ///
    /// Java tools wait three times the normal deadline for this one.
    pub async fn consume_stats(
        &self,
        addr: &str,
        group: &str,
        topic: Option<&str>,
    ) -> Result<ConsumeStats, ClientError> {
        let header = GetConsumeStatsRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.map(str::to_owned),
            topic_list: None,
        };
        let cmd = RemotingCommand::request(request::GET_CONSUME_STATS, &header);
        let resp = expect_success(
            self.rpc
                .call_timeout(addr, cmd, self.rpc.timeout() * 3)
                .await?,
        )?;
        decode_body(&resp, "GET_CONSUME_STATS")
    }

    /// GET_CONSUMER_CONNECTION_LIST (203): the live clients of a group on one broker;
    /// `CONSUMER_NOT_ONLINE` (206) when it has none.
    pub async fn consumer_connection(
        &self,
        addr: &str,
        group: &str,
    ) -> Result<ConsumerConnection, ClientError> {
        let header = ConsumerGroupHeader {
            consumer_group: group.to_owned(),
        };
        let cmd = RemotingCommand::request(request::GET_CONSUMER_CONNECTION_LIST, &header);
        let resp = self.rpc.call_ok(addr, cmd).await?;
        decode_body(&resp, "GET_CONSUMER_CONNECTION_LIST")
    }

    /// QUERY_TOPIC_CONSUME_BY_WHO (300): groups that consume `topic` on one broker.
    pub async fn topic_consumed_by(
        &self,
        addr: &str,
        topic: &str,
    ) -> Result<GroupList, ClientError> {
        let cmd = RemotingCommand::request(
            request::QUERY_TOPIC_CONSUME_BY_WHO,
            &TopicHeader {
                topic: topic.to_owned(),
            },
        );
        let resp = self.rpc.call_ok(addr, cmd).await?;
        decode_body(&resp, "QUERY_TOPIC_CONSUME_BY_WHO")
    }

    /// GET_ALL_TOPIC_CONFIG (21): every topic configuration of one broker.
    pub async fn all_topic_config(
        &self,
        addr: &str,
    ) -> Result<TopicConfigSerializeWrapper, ClientError> {
        let resp = self
            .rpc
            .call_ok(
                addr,
                RemotingCommand::bare_request(request::GET_ALL_TOPIC_CONFIG),
            )
            .await?;
        decode_body(&resp, "GET_ALL_TOPIC_CONFIG")
    }

    /// GET_BROKER_CONFIG (26): the broker's settings, parsed from the properties text of the
    /// body.
    pub async fn broker_config(&self, addr: &str) -> Result<Properties, ClientError> {
        let cmd = RemotingCommand::bare_request(request::GET_BROKER_CONFIG);
        let resp = self.rpc.call_ok(addr, cmd).await?;
        Ok(Properties::parse(&String::from_utf8_lossy(&resp.body)))
    }

    /// GET_TOPIC_CONFIG (351): one topic's configuration on the broker at `addr`, or `None`
    /// when the broker answers `TOPIC_NOT_EXIST`.
    pub async fn topic_config(
        &self,
        addr: &str,
        topic: &str,
    ) -> Result<Option<TopicConfig>, ClientError> {
        let cmd = RemotingCommand::request(
            request::GET_TOPIC_CONFIG,
            &TopicHeader {
                topic: topic.to_owned(),
            },
        );
        let resp = self.rpc.call(addr, cmd).await?;
        if resp.code == response::TOPIC_NOT_EXIST {
            return Ok(None);
        }
        decode_body(&expect_success(resp)?, "GET_TOPIC_CONFIG").map(Some)
    }

    /// GET_PRODUCER_CONNECTION_LIST (204): the live producers of a group on one broker. A
    /// broker that has none answers `SYSTEM_ERROR` (`the producer group[..] not exist`).
    pub async fn producer_connection(
        &self,
        addr: &str,
        group: &str,
    ) -> Result<ProducerConnection, ClientError> {
        let header = ProducerGroupHeader {
            producer_group: group.to_owned(),
        };
        let cmd = RemotingCommand::request(request::GET_PRODUCER_CONNECTION_LIST, &header);
        let resp = self.rpc.call_ok(addr, cmd).await?;
        decode_body(&resp, "GET_PRODUCER_CONNECTION_LIST")
    }

    /// INVOKE_BROKER_TO_RESET_OFFSET (222): asks the broker at `addr` to move `group`'s offsets
    /// of `topic` to the first message stored at or after `timestamp` (a negative timestamp: the
    /// max offsets). Returns the new offset of every queue of that broker.
    pub async fn reset_offset_by_timestamp(
        &self,
        addr: &str,
        group: &str,
        topic: &str,
        timestamp: i64,
        force: bool,
    ) -> Result<BTreeMap<MessageQueue, i64>, ClientError> {
        let header = ResetOffsetRequestHeader {
            group: group.to_owned(),
            topic: topic.to_owned(),
            queue_id: None,
            offset: None,
            timestamp,
            is_force: force,
        };
        let cmd = RemotingCommand::request(request::INVOKE_BROKER_TO_RESET_OFFSET, &header);
        let resp = self.rpc.call_ok(addr, cmd).await?;
        if resp.body.is_empty() {
            return Ok(BTreeMap::new());
        }
        Ok(decode_body::<ResetOffsetBody>(&resp, "INVOKE_BROKER_TO_RESET_OFFSET")?.offset_table)
    }

    /// CLONE_GROUP_OFFSET (314): the broker at `addr` copies `src`'s committed offsets of
    /// `topic` to `dest`.
    pub async fn clone_group_offset(
        &self,
        addr: &str,
        src: &str,
        dest: &str,
        topic: &str,
        offline: bool,
    ) -> Result<(), ClientError> {
        let header = CloneGroupOffsetRequestHeader {
            src_group: src.to_owned(),
            dest_group: dest.to_owned(),
            topic: Some(topic.to_owned()),
            offline,
        };
        let cmd = RemotingCommand::request(request::CLONE_GROUP_OFFSET, &header);
        self.rpc.call_ok(addr, cmd).await.map(drop)
    }

    /// GET_BROKER_CONSUME_STATS (317): every group's progress on the broker at `addr` (only
    /// ordered topics with `order`), waiting at most `timeout`.
    pub async fn broker_consume_stats(
        &self,
        addr: &str,
        order: bool,
        timeout: Duration,
    ) -> Result<ConsumeStatsList, ClientError> {
        let header = GetConsumeStatsInBrokerHeader { is_order: order };
        let cmd = RemotingCommand::request(request::GET_BROKER_CONSUME_STATS, &header);
        let resp = expect_success(self.rpc.call_timeout(addr, cmd, timeout).await?)?;
        decode_body(&resp, "GET_BROKER_CONSUME_STATS")
    }

    /// GET_BROKER_HA_STATUS (907): a master's slaves or a slave's master.
    pub async fn ha_status(&self, addr: &str) -> Result<HaRuntimeInfo, ClientError> {
        let cmd = RemotingCommand::bare_request(request::GET_BROKER_HA_STATUS);
        let resp = self.rpc.call_ok(addr, cmd).await?;
        decode_body(&resp, "GET_BROKER_HA_STATUS")
    }

    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201): every consumer group configuration of one
    /// broker.
    pub async fn all_subscription_group(
        &self,
        addr: &str,
    ) -> Result<SubscriptionGroupWrapper, ClientError> {
        let cmd = RemotingCommand::bare_request(request::GET_ALL_SUBSCRIPTIONGROUP_CONFIG);
        let resp = self.rpc.call_ok(addr, cmd).await?;
        decode_body(&resp, "GET_ALL_SUBSCRIPTIONGROUP_CONFIG")
    }
}

/// Java `AttributeParser.parseToString`: `key=value` pairs (keys keep their `+`/`-` sign)
/// joined by `,`; a key with an empty value is written alone.
pub fn attributes_to_string(config: &TopicConfig) -> String {
    config
        .attributes
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_render_like_attribute_parser() {
        let mut c = TopicConfig::new("T");
        assert_eq!(attributes_to_string(&c), "");
        c.attributes.insert("+message.type".into(), "FIFO".into());
        c.attributes.insert("-old".into(), String::new());
        assert_eq!(attributes_to_string(&c), "+message.type=FIFO,-old");
    }

    #[tokio::test]
    async fn invalid_perm_is_refused_before_sending() {
        let admin = AdminClient::connect(Some("127.0.0.1:1")).unwrap();
        let mut c = TopicConfig::new("T");
        c.perm = 8;
        let err = admin.create_topic("127.0.0.1:1", &c).await.unwrap_err();
        assert_eq!(err.response_code(), Some(response::NO_PERMISSION));
        assert!(err
            .to_string()
            .contains("topicPermission value: 8 is invalid."));
    }
}
