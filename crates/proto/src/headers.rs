//! Typed headers, one struct per request or response family (`wire-protocol.md` 2.6).
//!
//! Base RPC fields (`ns`, `nsd`, `bname`, `oway`, `lo`) are ignored on read; clients may send
//! them freely.

use compact_str::CompactString;

use crate::define_header;
use crate::header::{CommandHeader, ExtFields};
use crate::ProtoError;

// ---- send -----------------------------------------------------------------------------------

define_header! {
    /// SEND_MESSAGE (10): long field names.
    pub struct SendMessageRequestHeader {
        producer_group: CompactString = "producerGroup",
        topic: CompactString = "topic",
        default_topic: CompactString = "defaultTopic",
        default_topic_queue_nums: i32 = "defaultTopicQueueNums",
        queue_id: i32 = "queueId",
        sys_flag: i32 = "sysFlag",
        born_timestamp: i64 = "bornTimestamp",
        flag: i32 = "flag",
        properties: Option<String> = "properties",
        reconsume_times: Option<i32> = "reconsumeTimes",
        unit_mode: Option<bool> = "unitMode",
        max_reconsume_times: Option<i32> = "maxReconsumeTimes",
        batch: Option<bool> = "batch",
    }
}

define_header! {
    /// SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320): one-letter keys.
    pub struct SendMessageRequestHeaderV2 {
        a: CompactString = "a",
        b: CompactString = "b",
        c: CompactString = "c",
        d: i32 = "d",
        e: i32 = "e",
        f: i32 = "f",
        g: i64 = "g",
        h: i32 = "h",
        i: Option<String> = "i",
        j: Option<i32> = "j",
        k: Option<bool> = "k",
        l: Option<i32> = "l",
        m: Option<bool> = "m",
        n: Option<CompactString> = "n",
    }
}

impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    fn from(v: SendMessageRequestHeaderV2) -> Self {
        SendMessageRequestHeader {
            producer_group: v.a,
            topic: v.b,
            default_topic: v.c,
            default_topic_queue_nums: v.d,
            queue_id: v.e,
            sys_flag: v.f,
            born_timestamp: v.g,
            flag: v.h,
            properties: v.i,
            reconsume_times: v.j,
            unit_mode: v.k,
            max_reconsume_times: v.l,
            batch: v.m,
        }
    }
}

impl From<SendMessageRequestHeader> for SendMessageRequestHeaderV2 {
    fn from(v: SendMessageRequestHeader) -> Self {
        SendMessageRequestHeaderV2 {
            a: v.producer_group,
            b: v.topic,
            c: v.default_topic,
            d: v.default_topic_queue_nums,
            e: v.queue_id,
            f: v.sys_flag,
            g: v.born_timestamp,
            h: v.flag,
            i: v.properties,
            j: v.reconsume_times,
            k: v.unit_mode,
            l: v.max_reconsume_times,
            m: v.batch,
            n: None,
        }
    }
}

impl SendMessageRequestHeader {
    /// Reads the header of a send request whatever its code: V1 keys for 10 and 324 (a reply),
    /// V2 keys otherwise.
    pub fn read_for_code(code: i32, ext: &ExtFields) -> Result<Self, ProtoError> {
        use crate::codes::request::{SEND_MESSAGE, SEND_REPLY_MESSAGE};
        if code == SEND_MESSAGE || code == SEND_REPLY_MESSAGE {
            Self::read(ext)
        } else {
            SendMessageRequestHeaderV2::read(ext).map(Into::into)
        }
    }
}

define_header! {
    /// Response of the send family.
    pub struct SendMessageResponseHeader {
        msg_id: String = "msgId",
        queue_id: i32 = "queueId",
        queue_offset: i64 = "queueOffset",
        transaction_id: Option<String> = "transactionId",
        batch_uniq_id: Option<String> = "batchUniqId",
        /// RocketMQ 5.3: set for a timer message, the handle RECALL_MESSAGE takes.
        recall_handle: Option<String> = "recallHandle",
    }
}

define_header! {
    /// RECALL_MESSAGE (370): cancel a timer message by the handle its send answered with
    /// (Java `RecallMessageRequestHeader`; `bname` names the broker, as RPC headers do).
    pub struct RecallMessageRequestHeader {
        producer_group: Option<String> = "producerGroup",
        topic: String = "topic",
        recall_handle: String = "recallHandle",
        bname: Option<String> = "bname",
    }
}

define_header! {
    /// Response of RECALL_MESSAGE: the recalled message's id (its `UNIQ_KEY`).
    pub struct RecallMessageResponseHeader {
        msg_id: String = "msgId",
    }
}

define_header! {
    /// PUSH_REPLY_MESSAGE_TO_CLIENT (326), broker to requester: the reply's send header plus
    /// where and when it was stored (Java `ReplyMessageRequestHeader`; no short-key form). The
    /// body is the reply's body as the responder sent it (compressed when `sysFlag` says so).
    pub struct ReplyMessageRequestHeader {
        producer_group: CompactString = "producerGroup",
        topic: CompactString = "topic",
        default_topic: CompactString = "defaultTopic",
        default_topic_queue_nums: i32 = "defaultTopicQueueNums",
        queue_id: i32 = "queueId",
        sys_flag: i32 = "sysFlag",
        born_timestamp: i64 = "bornTimestamp",
        flag: i32 = "flag",
        properties: Option<String> = "properties",
        reconsume_times: Option<i32> = "reconsumeTimes",
        unit_mode: bool = "unitMode",
        born_host: String = "bornHost",
        store_host: String = "storeHost",
        store_timestamp: i64 = "storeTimestamp",
    }
}

// ---- pull -----------------------------------------------------------------------------------

define_header! {
    /// PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361).
    pub struct PullMessageRequestHeader {
        consumer_group: String = "consumerGroup",
        topic: String = "topic",
        queue_id: i32 = "queueId",
        queue_offset: i64 = "queueOffset",
        max_msg_nums: i32 = "maxMsgNums",
        sys_flag: i32 = "sysFlag",
        commit_offset: i64 = "commitOffset",
        suspend_timeout_millis: i64 = "suspendTimeoutMillis",
        subscription: Option<String> = "subscription",
        sub_version: i64 = "subVersion",
        expression_type: Option<String> = "expressionType",
        max_msg_bytes: Option<i32> = "maxMsgBytes",
    }
}

define_header! {
    /// Response of PULL_MESSAGE.
    pub struct PullMessageResponseHeader {
        suggest_which_broker_id: i64 = "suggestWhichBrokerId",
        next_begin_offset: i64 = "nextBeginOffset",
        min_offset: i64 = "minOffset",
        max_offset: i64 = "maxOffset",
        topic_sys_flag: Option<i32> = "topicSysFlag",
        group_sys_flag: Option<i32> = "groupSysFlag",
        forbidden_type: Option<i32> = "forbiddenType",
    }
}

/// Pull sysFlag bits.
pub mod pull_flag {
    /// Store `commitOffset` as the group's offset.
    pub const COMMIT_OFFSET: i32 = 0x1;
    /// Long-poll when nothing is there.
    pub const SUSPEND: i32 = 0x2;
    /// The header carries the subscription expression.
    pub const SUBSCRIPTION: i32 = 0x4;
    /// Class filter (unsupported).
    pub const CLASS_FILTER: i32 = 0x8;
    /// Lite pull.
    pub const LITE_PULL: i32 = 0x10;
}

// ---- offsets --------------------------------------------------------------------------------

define_header! {
    /// QUERY_CONSUMER_OFFSET (14).
    pub struct QueryConsumerOffsetRequestHeader {
        consumer_group: String = "consumerGroup",
        topic: String = "topic",
        queue_id: i32 = "queueId",
        set_zero_if_not_found: Option<bool> = "setZeroIfNotFound",
    }
}

define_header! {
    /// UPDATE_CONSUMER_OFFSET (15).
    pub struct UpdateConsumerOffsetRequestHeader {
        consumer_group: String = "consumerGroup",
        topic: String = "topic",
        queue_id: i32 = "queueId",
        commit_offset: i64 = "commitOffset",
    }
}

define_header! {
    /// A response holding only `offset` (14, 29, 30, 31).
    pub struct OffsetResponseHeader {
        offset: i64 = "offset",
    }
}

define_header! {
    /// GET_MAX_OFFSET (30).
    pub struct GetMaxOffsetRequestHeader {
        topic: String = "topic",
        queue_id: i32 = "queueId",
        committed: Option<bool> = "committed",
    }
}

define_header! {
    /// GET_MIN_OFFSET (31) and GET_EARLIEST_MSG_STORETIME (32).
    pub struct TopicQueueRequestHeader {
        topic: String = "topic",
        queue_id: i32 = "queueId",
    }
}

define_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29).
    pub struct SearchOffsetRequestHeader {
        topic: String = "topic",
        queue_id: i32 = "queueId",
        timestamp: i64 = "timestamp",
        boundary_type: Option<String> = "boundaryType",
    }
}

define_header! {
    /// Response of GET_EARLIEST_MSG_STORETIME (32).
    pub struct GetEarliestMsgStoretimeResponseHeader {
        timestamp: i64 = "timestamp",
    }
}

// ---- query ----------------------------------------------------------------------------------

define_header! {
    /// QUERY_MESSAGE (12).
    pub struct QueryMessageRequestHeader {
        topic: String = "topic",
        key: String = "key",
        max_num: i32 = "maxNum",
        begin_timestamp: i64 = "beginTimestamp",
        end_timestamp: i64 = "endTimestamp",
        unique_key_query: Option<bool> = "_UNIQUE_KEY_QUERY",
    }
}

define_header! {
    /// Response of QUERY_MESSAGE.
    pub struct QueryMessageResponseHeader {
        index_last_update_timestamp: i64 = "indexLastUpdateTimestamp",
        index_last_update_phyoffset: i64 = "indexLastUpdatePhyoffset",
    }
}

define_header! {
    /// VIEW_MESSAGE_BY_ID (33).
    pub struct ViewMessageRequestHeader {
        topic: Option<String> = "topic",
        offset: i64 = "offset",
    }
}

// ---- clients --------------------------------------------------------------------------------

define_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38), NOTIFY_CONSUMER_IDS_CHANGED (40),
    /// GET_CONSUMER_CONNECTION_LIST (203).
    pub struct ConsumerGroupHeader {
        consumer_group: String = "consumerGroup",
    }
}

define_header! {
    /// UNREGISTER_CLIENT (35).
    pub struct UnregisterClientRequestHeader {
        client_id: String = "clientID",
        producer_group: Option<String> = "producerGroup",
        consumer_group: Option<String> = "consumerGroup",
    }
}

define_header! {
    /// CONSUMER_SEND_MSG_BACK (36).
    pub struct ConsumerSendMsgBackRequestHeader {
        offset: i64 = "offset",
        group: String = "group",
        delay_level: i32 = "delayLevel",
        origin_msg_id: Option<String> = "originMsgId",
        origin_topic: Option<String> = "originTopic",
        unit_mode: Option<bool> = "unitMode",
        max_reconsume_times: Option<i32> = "maxReconsumeTimes",
    }
}

define_header! {
    /// END_TRANSACTION (37): a producer's commit (8), rollback (12) or unknown (0) of a half
    /// message, by its half-queue and commit-log offsets.
    pub struct EndTransactionRequestHeader {
        topic: Option<String> = "topic",
        producer_group: String = "producerGroup",
        tran_state_table_offset: i64 = "tranStateTableOffset",
        commit_log_offset: i64 = "commitLogOffset",
        commit_or_rollback: i32 = "commitOrRollback",
        from_transaction_check: Option<bool> = "fromTransactionCheck",
        msg_id: Option<String> = "msgId",
        transaction_id: Option<String> = "transactionId",
    }
}

define_header! {
    /// CHECK_TRANSACTION_STATE (39, broker → producer, one-way; body: the half message record).
    pub struct CheckTransactionStateRequestHeader {
        topic: Option<String> = "topic",
        tran_state_table_offset: i64 = "tranStateTableOffset",
        commit_log_offset: i64 = "commitLogOffset",
        msg_id: Option<String> = "msgId",
        transaction_id: Option<String> = "transactionId",
        offset_msg_id: Option<String> = "offsetMsgId",
        bname: Option<String> = "bname",
    }
}

// ---- admin ----------------------------------------------------------------------------------

define_header! {
    /// UPDATE_AND_CREATE_TOPIC (17).
    pub struct CreateTopicRequestHeader {
        topic: String = "topic",
        default_topic: String = "defaultTopic",
        read_queue_nums: i32 = "readQueueNums",
        write_queue_nums: i32 = "writeQueueNums",
        perm: i32 = "perm",
        topic_filter_type: String = "topicFilterType",
        topic_sys_flag: Option<i32> = "topicSysFlag",
        order: bool = "order",
        attributes: Option<String> = "attributes",
        force: Option<bool> = "force",
    }
}

define_header! {
    /// DELETE_TOPIC_IN_BROKER (215), GET_TOPIC_STATS_INFO (202), REGISTER_TOPIC_IN_NAMESRV (217),
    /// QUERY_TOPIC_CONSUME_BY_WHO (300), GET_ROUTEINFO_BY_TOPIC (105, with the optional flag).
    pub struct TopicHeader {
        topic: String = "topic",
    }
}

define_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105).
    pub struct GetRouteInfoRequestHeader {
        topic: String = "topic",
        accept_standard_json_only: Option<bool> = "acceptStandardJsonOnly",
    }
}

define_header! {
    /// DELETE_TOPIC_IN_NAMESRV (216).
    pub struct DeleteTopicFromNamesrvRequestHeader {
        topic: String = "topic",
        cluster_name: Option<String> = "clusterName",
    }
}

define_header! {
    /// GET_CONSUME_STATS (208).
    pub struct GetConsumeStatsRequestHeader {
        consumer_group: String = "consumerGroup",
        topic: Option<String> = "topic",
        topic_list: Option<String> = "topicList",
    }
}

define_header! {
    /// GET_PRODUCER_CONNECTION_LIST (204).
    pub struct ProducerGroupHeader {
        producer_group: String = "producerGroup",
    }
}

define_header! {
    /// GET_TOPICS_BY_CLUSTER (224).
    pub struct GetTopicsByClusterRequestHeader {
        cluster: String = "cluster",
    }
}

define_header! {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222) and RESET_CONSUMER_CLIENT_OFFSET (220). `queueId`
    /// −1 or absent: every queue; `offset` −1 or absent: search by `timestamp`; a negative
    /// `timestamp` means the max offset.
    pub struct ResetOffsetRequestHeader {
        group: String = "group",
        topic: String = "topic",
        queue_id: Option<i32> = "queueId",
        offset: Option<i64> = "offset",
        timestamp: i64 = "timestamp",
        is_force: bool = "isForce",
    }
}

define_header! {
    /// CLONE_GROUP_OFFSET (314). An empty `topic` clones every topic of `srcGroup`.
    pub struct CloneGroupOffsetRequestHeader {
        src_group: String = "srcGroup",
        dest_group: String = "destGroup",
        topic: Option<String> = "topic",
        offline: bool = "offline",
    }
}

define_header! {
    /// GET_BROKER_CONSUME_STATS (317).
    pub struct GetConsumeStatsInBrokerHeader {
        is_order: bool = "isOrder",
    }
}

// ---- name server ----------------------------------------------------------------------------

define_header! {
    /// REGISTER_BROKER (103).
    pub struct RegisterBrokerRequestHeader {
        broker_name: String = "brokerName",
        broker_addr: String = "brokerAddr",
        cluster_name: String = "clusterName",
        ha_server_addr: String = "haServerAddr",
        broker_id: i64 = "brokerId",
        heartbeat_timeout_millis: Option<i64> = "heartbeatTimeoutMillis",
        enable_acting_master: Option<bool> = "enableActingMaster",
        compressed: Option<bool> = "compressed",
        body_crc32: Option<i32> = "bodyCrc32",
    }
}

define_header! {
    /// Response of REGISTER_BROKER.
    pub struct RegisterBrokerResponseHeader {
        ha_server_addr: Option<String> = "haServerAddr",
        master_addr: Option<String> = "masterAddr",
    }
}

define_header! {
    /// UNREGISTER_BROKER (104) and QUERY_DATA_VERSION (322).
    pub struct BrokerIdentityHeader {
        broker_name: String = "brokerName",
        broker_addr: String = "brokerAddr",
        cluster_name: String = "clusterName",
        broker_id: i64 = "brokerId",
    }
}

define_header! {
    /// BROKER_HEARTBEAT (904).
    pub struct BrokerHeartbeatRequestHeader {
        cluster_name: String = "clusterName",
        broker_addr: String = "brokerAddr",
        broker_name: String = "brokerName",
        broker_id: Option<i64> = "brokerId",
    }
}

define_header! {
    /// Response of QUERY_DATA_VERSION.
    pub struct QueryDataVersionResponseHeader {
        changed: bool = "changed",
    }
}

define_header! {
    /// PUT_KV_CONFIG (100).
    pub struct PutKvConfigRequestHeader {
        namespace: String = "namespace",
        key: String = "key",
        value: String = "value",
    }
}

define_header! {
    /// GET_KV_CONFIG (101) and DELETE_KV_CONFIG (102).
    pub struct KvConfigKeyHeader {
        namespace: String = "namespace",
        key: String = "key",
    }
}

define_header! {
    /// Response of GET_KV_CONFIG.
    pub struct GetKvConfigResponseHeader {
        value: Option<String> = "value",
    }
}

define_header! {
    /// GET_KVLIST_BY_NAMESPACE (219).
    pub struct NamespaceHeader {
        namespace: String = "namespace",
    }
}

define_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) and ADD_WRITE_PERM_OF_BROKER (327).
    pub struct BrokerNameHeader {
        broker_name: String = "brokerName",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_keys_map_to_v1() {
        let mut ext = ExtFields::default();
        for (k, v) in [
            ("a", "pg"),
            ("b", "T"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "2"),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", "TAGS\u{1}A\u{2}"),
        ] {
            ext.insert(k, v);
        }
        let h = SendMessageRequestHeader::read_for_code(310, &ext).unwrap();
        assert_eq!(h.producer_group, "pg");
        assert_eq!(h.topic, "T");
        assert_eq!(h.queue_id, 2);
        assert_eq!(h.properties.as_deref(), Some("TAGS\u{1}A\u{2}"));
        assert!(SendMessageRequestHeader::read_for_code(10, &ext).is_err());
        let back: SendMessageRequestHeaderV2 = h.into();
        let mut ext2 = ExtFields::default();
        back.write(&mut ext2);
        assert_eq!(ext2.get("g"), Some("1700000000000"));
    }

    #[test]
    fn reply_codes_read_their_own_key_sets() {
        let mut v1 = ExtFields::default();
        for (k, v) in [
            ("producerGroup", "pg"),
            ("topic", "DefaultCluster_REPLY_TOPIC"),
            ("defaultTopic", "TBW102"),
            ("defaultTopicQueueNums", "4"),
            ("queueId", "-1"),
            ("sysFlag", "0"),
            ("bornTimestamp", "1700000000000"),
            ("flag", "0"),
        ] {
            v1.insert(k, v);
        }
        let h = SendMessageRequestHeader::read_for_code(324, &v1).unwrap();
        assert_eq!(h.topic, "DefaultCluster_REPLY_TOPIC");
        assert!(SendMessageRequestHeader::read_for_code(325, &v1).is_err());
    }

    #[test]
    fn push_reply_header_round_trips_with_java_names() {
        let h = ReplyMessageRequestHeader {
            producer_group: "pg".into(),
            topic: "C_REPLY_TOPIC".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: -1,
            sys_flag: 0,
            born_timestamp: 1,
            flag: 0,
            properties: Some("CORRELATION_ID\u{1}c\u{2}".into()),
            reconsume_times: None,
            unit_mode: false,
            born_host: "127.0.0.1:5000".into(),
            store_host: "127.0.0.1:10911".into(),
            store_timestamp: 2,
        };
        let mut ext = ExtFields::default();
        h.write(&mut ext);
        assert_eq!(ext.get("unitMode"), Some("false"));
        assert_eq!(ext.get("bornHost"), Some("127.0.0.1:5000"));
        assert_eq!(ext.get("reconsumeTimes"), None);
        assert_eq!(ReplyMessageRequestHeader::read(&ext).unwrap(), h);
        ext.remove("storeHost");
        assert!(ReplyMessageRequestHeader::read(&ext).is_err());
    }

    #[test]
    fn recall_headers_round_trip_with_java_names() {
        let h = RecallMessageRequestHeader {
            producer_group: Some("PG".into()),
            topic: "T".into(),
            recall_handle: "djEgVCBiIDUgSUQ=".into(),
            bname: Some("broker-a".into()),
        };
        let mut ext = ExtFields::default();
        h.write(&mut ext);
        let pairs: Vec<_> = ext.iter().collect();
        assert_eq!(
            pairs,
            [
                ("producerGroup", "PG"),
                ("topic", "T"),
                ("recallHandle", "djEgVCBiIDUgSUQ="),
                ("bname", "broker-a")
            ]
        );
        assert_eq!(RecallMessageRequestHeader::read(&ext).unwrap(), h);
        // producerGroup is @CFNullable in Java; topic and recallHandle are required.
        ext.remove("producerGroup");
        assert!(RecallMessageRequestHeader::read(&ext).is_ok());
        for field in ["topic", "recallHandle"] {
            let mut cut = ext.clone();
            cut.remove(field);
            assert!(matches!(
                RecallMessageRequestHeader::read(&cut),
                Err(ProtoError::MissingField { field: f }) if f == field
            ));
        }
        let resp = RecallMessageResponseHeader {
            msg_id: "ID".into(),
        };
        let mut ext = ExtFields::default();
        resp.write(&mut ext);
        assert_eq!(ext.get("msgId"), Some("ID"));
        assert_eq!(RecallMessageResponseHeader::read(&ext).unwrap(), resp);
        assert!(RecallMessageResponseHeader::read(&ExtFields::default()).is_err());
    }

    #[test]
    fn recall_request_frame_as_java_sends_it_decodes_and_cuts_are_incomplete() {
        use crate::command::DEFAULT_MAX_FRAME;
        use crate::RemotingCommand;
        let json = r#"{"code":370,"extFields":{"producerGroup":"PG","topic":"T","recallHandle":"djEgVCBiIDUgSUQ=","bname":"broker-a"},"flag":0,"language":"JAVA","opaque":9,"serializeTypeCurrentRPC":"JSON","version":475}"#;
        let mut frame = Vec::new();
        frame.extend_from_slice(&((4 + json.len()) as u32).to_be_bytes());
        // Serialize type 0 (JSON) and a 24-bit header length.
        frame.extend_from_slice(&(json.len() as u32).to_be_bytes());
        frame.extend_from_slice(json.as_bytes());
        for cut in 0..frame.len() {
            let mut buf = bytes::BytesMut::from(&frame[..cut]);
            assert!(
                matches!(
                    RemotingCommand::decode(&mut buf, DEFAULT_MAX_FRAME),
                    Ok(None)
                ),
                "cut at {cut}"
            );
        }
        let mut buf = bytes::BytesMut::from(&frame[..]);
        let cmd = RemotingCommand::decode(&mut buf, DEFAULT_MAX_FRAME)
            .unwrap()
            .unwrap();
        assert_eq!(cmd.code, crate::codes::request::RECALL_MESSAGE);
        let h: RecallMessageRequestHeader = cmd.decode_header().unwrap();
        assert_eq!(h.topic, "T");
        assert_eq!(h.recall_handle, "djEgVCBiIDUgSUQ=");
        assert_eq!(h.bname.as_deref(), Some("broker-a"));
    }

    #[test]
    fn send_response_reads_with_or_without_a_recall_handle() {
        let mut ext = ExtFields::default();
        for (k, v) in [("msgId", "M"), ("queueId", "1"), ("queueOffset", "7")] {
            ext.insert(k, v);
        }
        let h = SendMessageResponseHeader::read(&ext).unwrap();
        assert_eq!(h.recall_handle, None);
        ext.insert("recallHandle", "H");
        let h = SendMessageResponseHeader::read(&ext).unwrap();
        assert_eq!(h.recall_handle.as_deref(), Some("H"));
        let mut back = ExtFields::default();
        h.write(&mut back);
        assert_eq!(back.get("recallHandle"), Some("H"));
    }

    #[test]
    fn pull_header_requires_its_fields() {
        let mut ext = ExtFields::default();
        ext.insert("consumerGroup", "g");
        assert!(matches!(
            PullMessageRequestHeader::read(&ext),
            Err(ProtoError::MissingField { field: "topic" })
        ));
    }

    #[test]
    fn offset_admin_headers_round_trip_with_java_names() {
        let h = ResetOffsetRequestHeader {
            group: "G".into(),
            topic: "T".into(),
            queue_id: None,
            offset: None,
            timestamp: 1_700_000_000_000,
            is_force: true,
        };
        let mut ext = ExtFields::default();
        h.write(&mut ext);
        assert_eq!(ext.get("isForce"), Some("true"));
        assert_eq!(ext.get("timestamp"), Some("1700000000000"));
        assert_eq!(ext.get("queueId"), None);
        assert_eq!(ResetOffsetRequestHeader::read(&ext).unwrap(), h);
        ext.remove("timestamp");
        assert!(ResetOffsetRequestHeader::read(&ext).is_err());

        let c = CloneGroupOffsetRequestHeader {
            src_group: "A".into(),
            dest_group: "B".into(),
            topic: Some("T".into()),
            offline: false,
        };
        let mut ext = ExtFields::default();
        c.write(&mut ext);
        assert_eq!(ext.get("srcGroup"), Some("A"));
        assert_eq!(ext.get("offline"), Some("false"));
        assert_eq!(CloneGroupOffsetRequestHeader::read(&ext).unwrap(), c);

        let o = GetConsumeStatsInBrokerHeader { is_order: true };
        let mut ext = ExtFields::default();
        o.write(&mut ext);
        assert_eq!(ext.get("isOrder"), Some("true"));
        assert_eq!(GetConsumeStatsInBrokerHeader::read(&ext).unwrap(), o);
    }
}
