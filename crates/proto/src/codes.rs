//! Request and response codes (RocketMQ `RequestCode`, `ResponseCode`).

/// Request codes.
pub mod request {
    pub const SEND_MESSAGE: i32 = 10;
    pub const PULL_MESSAGE: i32 = 11;
    pub const QUERY_MESSAGE: i32 = 12;
    pub const QUERY_CONSUMER_OFFSET: i32 = 14;
    pub const UPDATE_CONSUMER_OFFSET: i32 = 15;
    pub const UPDATE_AND_CREATE_TOPIC: i32 = 17;
    pub const UPDATE_AND_CREATE_TOPIC_LIST: i32 = 18;
    pub const GET_ALL_TOPIC_CONFIG: i32 = 21;
    pub const UPDATE_BROKER_CONFIG: i32 = 25;
    pub const GET_BROKER_CONFIG: i32 = 26;
    pub const GET_BROKER_RUNTIME_INFO: i32 = 28;
    pub const SEARCH_OFFSET_BY_TIMESTAMP: i32 = 29;
    pub const GET_MAX_OFFSET: i32 = 30;
    pub const GET_MIN_OFFSET: i32 = 31;
    pub const GET_EARLIEST_MSG_STORETIME: i32 = 32;
    pub const VIEW_MESSAGE_BY_ID: i32 = 33;
    pub const HEART_BEAT: i32 = 34;
    pub const UNREGISTER_CLIENT: i32 = 35;
    pub const CONSUMER_SEND_MSG_BACK: i32 = 36;
    pub const END_TRANSACTION: i32 = 37;
    pub const GET_CONSUMER_LIST_BY_GROUP: i32 = 38;
    pub const CHECK_TRANSACTION_STATE: i32 = 39;
    pub const NOTIFY_CONSUMER_IDS_CHANGED: i32 = 40;
    pub const LOCK_BATCH_MQ: i32 = 41;
    pub const UNLOCK_BATCH_MQ: i32 = 42;
    pub const GET_ALL_CONSUMER_OFFSET: i32 = 43;
    pub const GET_ALL_DELAY_OFFSET: i32 = 45;
    pub const CHECK_CLIENT_CONFIG: i32 = 46;
    pub const PUT_KV_CONFIG: i32 = 100;
    pub const GET_KV_CONFIG: i32 = 101;
    pub const DELETE_KV_CONFIG: i32 = 102;
    pub const REGISTER_BROKER: i32 = 103;
    pub const UNREGISTER_BROKER: i32 = 104;
    pub const GET_ROUTEINFO_BY_TOPIC: i32 = 105;
    pub const GET_BROKER_CLUSTER_INFO: i32 = 106;
    pub const UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: i32 = 200;
    pub const GET_ALL_SUBSCRIPTIONGROUP_CONFIG: i32 = 201;
    pub const GET_TOPIC_STATS_INFO: i32 = 202;
    pub const GET_CONSUMER_CONNECTION_LIST: i32 = 203;
    pub const GET_PRODUCER_CONNECTION_LIST: i32 = 204;
    pub const WIPE_WRITE_PERM_OF_BROKER: i32 = 205;
    pub const GET_ALL_TOPIC_LIST_FROM_NAMESERVER: i32 = 206;
    pub const DELETE_SUBSCRIPTIONGROUP: i32 = 207;
    pub const GET_CONSUME_STATS: i32 = 208;
    pub const DELETE_TOPIC_IN_BROKER: i32 = 215;
    pub const DELETE_TOPIC_IN_NAMESRV: i32 = 216;
    pub const REGISTER_TOPIC_IN_NAMESRV: i32 = 217;
    pub const GET_KVLIST_BY_NAMESPACE: i32 = 219;
    pub const RESET_CONSUMER_CLIENT_OFFSET: i32 = 220;
    pub const GET_CONSUMER_STATUS_FROM_CLIENT: i32 = 221;
    pub const INVOKE_BROKER_TO_RESET_OFFSET: i32 = 222;
    pub const GET_TOPICS_BY_CLUSTER: i32 = 224;
    pub const QUERY_TOPIC_CONSUME_BY_WHO: i32 = 300;
    pub const QUERY_CONSUME_TIME_SPAN: i32 = 303;
    pub const GET_SYSTEM_TOPIC_LIST_FROM_NS: i32 = 304;
    pub const CLEAN_EXPIRED_CONSUMEQUEUE: i32 = 306;
    pub const GET_CONSUMER_RUNNING_INFO: i32 = 307;
    pub const CONSUME_MESSAGE_DIRECTLY: i32 = 309;
    pub const SEND_MESSAGE_V2: i32 = 310;
    pub const GET_UNIT_TOPIC_LIST: i32 = 311;
    pub const GET_HAS_UNIT_SUB_TOPIC_LIST: i32 = 312;
    pub const GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST: i32 = 313;
    pub const CLONE_GROUP_OFFSET: i32 = 314;
    pub const VIEW_BROKER_STATS_DATA: i32 = 315;
    pub const CLEAN_UNUSED_TOPIC: i32 = 316;
    pub const GET_BROKER_CONSUME_STATS: i32 = 317;
    pub const UPDATE_NAMESRV_CONFIG: i32 = 318;
    pub const GET_NAMESRV_CONFIG: i32 = 319;
    pub const SEND_BATCH_MESSAGE: i32 = 320;
    pub const QUERY_CONSUME_QUEUE: i32 = 321;
    pub const QUERY_DATA_VERSION: i32 = 322;
    pub const SEND_REPLY_MESSAGE: i32 = 324;
    pub const SEND_REPLY_MESSAGE_V2: i32 = 325;
    pub const PUSH_REPLY_MESSAGE_TO_CLIENT: i32 = 326;
    pub const ADD_WRITE_PERM_OF_BROKER: i32 = 327;
    pub const DELETE_EXPIRED_COMMITLOG: i32 = 329;
    pub const QUERY_TOPICS_BY_CONSUMER: i32 = 343;
    pub const GET_TOPIC_CONFIG: i32 = 351;
    pub const GET_SUBSCRIPTIONGROUP_CONFIG: i32 = 352;
    pub const LITE_PULL_MESSAGE: i32 = 361;
    /// RocketMQ 5.3: cancel a timer message before it is due (`RecallMessageProcessor`).
    pub const RECALL_MESSAGE: i32 = 370;
    pub const GET_BROKER_HA_STATUS: i32 = 907;
    /// RocketMQ 5.3 ACL 2.0 user and ACL management (`AdminBrokerProcessor`).
    pub const AUTH_CREATE_USER: i32 = 3001;
    pub const AUTH_UPDATE_USER: i32 = 3002;
    pub const AUTH_DELETE_USER: i32 = 3003;
    pub const AUTH_GET_USER: i32 = 3004;
    pub const AUTH_LIST_USER: i32 = 3005;
    pub const AUTH_CREATE_ACL: i32 = 3006;
    pub const AUTH_UPDATE_ACL: i32 = 3007;
    pub const AUTH_DELETE_ACL: i32 = 3008;
    pub const AUTH_GET_ACL: i32 = 3009;
    pub const AUTH_LIST_ACL: i32 = 3010;
    pub const GET_BROKER_MEMBER_GROUP: i32 = 901;
    pub const BROKER_HEARTBEAT: i32 = 904;
    /// FerroMQ's own (RocketMQ has no quotas): set, read and remove topic and group quotas.
    pub const UPDATE_QUOTA: i32 = 9101;
    pub const GET_QUOTA: i32 = 9102;
    pub const DELETE_QUOTA: i32 = 9103;
    /// FerroMQ's own (RocketMQ cannot delete one message): hide one message of a `%DLQ%` topic
    /// from pulls and lookups, and list the hidden ones (a slave copies them from its master).
    pub const DELETE_DLQ_MESSAGE: i32 = 9110;
    pub const GET_DLQ_TOMBSTONES: i32 = 9111;
}

/// Response codes.
pub mod response {
    pub const SUCCESS: i32 = 0;
    pub const SYSTEM_ERROR: i32 = 1;
    pub const SYSTEM_BUSY: i32 = 2;
    pub const REQUEST_CODE_NOT_SUPPORTED: i32 = 3;
    pub const TRANSACTION_FAILED: i32 = 4;
    pub const FLUSH_DISK_TIMEOUT: i32 = 10;
    pub const SLAVE_NOT_AVAILABLE: i32 = 11;
    pub const FLUSH_SLAVE_TIMEOUT: i32 = 12;
    pub const MESSAGE_ILLEGAL: i32 = 13;
    pub const SERVICE_NOT_AVAILABLE: i32 = 14;
    pub const VERSION_NOT_SUPPORTED: i32 = 15;
    pub const NO_PERMISSION: i32 = 16;
    pub const TOPIC_NOT_EXIST: i32 = 17;
    pub const TOPIC_EXIST_ALREADY: i32 = 18;
    pub const PULL_NOT_FOUND: i32 = 19;
    pub const PULL_RETRY_IMMEDIATELY: i32 = 20;
    pub const PULL_OFFSET_MOVED: i32 = 21;
    pub const QUERY_NOT_FOUND: i32 = 22;
    pub const SUBSCRIPTION_PARSE_FAILED: i32 = 23;
    pub const SUBSCRIPTION_NOT_EXIST: i32 = 24;
    pub const SUBSCRIPTION_NOT_LATEST: i32 = 25;
    pub const SUBSCRIPTION_GROUP_NOT_EXIST: i32 = 26;
    pub const FILTER_DATA_NOT_EXIST: i32 = 27;
    pub const FILTER_DATA_NOT_LATEST: i32 = 28;
    pub const INVALID_PARAMETER: i32 = 29;
    pub const TRANSACTION_SHOULD_COMMIT: i32 = 200;
    pub const TRANSACTION_SHOULD_ROLLBACK: i32 = 201;
    pub const TRANSACTION_STATE_UNKNOW: i32 = 202;
    pub const TRANSACTION_STATE_GROUP_WRONG: i32 = 203;
    pub const NO_BUYER_ID: i32 = 204;
    pub const NOT_IN_CURRENT_UNIT: i32 = 205;
    pub const CONSUMER_NOT_ONLINE: i32 = 206;
    pub const CONSUME_MSG_TIMEOUT: i32 = 207;
    pub const NO_MESSAGE: i32 = 208;
    pub const BROKER_NOT_EXIST: i32 = 211;
    pub const FLOW_CONTROL: i32 = 215;
    pub const ILLEGAL_OPERATION: i32 = 604;
    pub const GO_AWAY: i32 = 1500;
}

/// RocketMQ's name of a response code, for messages shown to people.
pub fn response_name(code: i32) -> &'static str {
    use response::*;
    match code {
        SUCCESS => "SUCCESS",
        SYSTEM_ERROR => "SYSTEM_ERROR",
        SYSTEM_BUSY => "SYSTEM_BUSY",
        REQUEST_CODE_NOT_SUPPORTED => "REQUEST_CODE_NOT_SUPPORTED",
        FLUSH_DISK_TIMEOUT => "FLUSH_DISK_TIMEOUT",
        SLAVE_NOT_AVAILABLE => "SLAVE_NOT_AVAILABLE",
        FLUSH_SLAVE_TIMEOUT => "FLUSH_SLAVE_TIMEOUT",
        MESSAGE_ILLEGAL => "MESSAGE_ILLEGAL",
        SERVICE_NOT_AVAILABLE => "SERVICE_NOT_AVAILABLE",
        NO_PERMISSION => "NO_PERMISSION",
        TOPIC_NOT_EXIST => "TOPIC_NOT_EXIST",
        PULL_NOT_FOUND => "PULL_NOT_FOUND",
        PULL_RETRY_IMMEDIATELY => "PULL_RETRY_IMMEDIATELY",
        PULL_OFFSET_MOVED => "PULL_OFFSET_MOVED",
        QUERY_NOT_FOUND => "QUERY_NOT_FOUND",
        SUBSCRIPTION_PARSE_FAILED => "SUBSCRIPTION_PARSE_FAILED",
        SUBSCRIPTION_NOT_EXIST => "SUBSCRIPTION_NOT_EXIST",
        SUBSCRIPTION_NOT_LATEST => "SUBSCRIPTION_NOT_LATEST",
        SUBSCRIPTION_GROUP_NOT_EXIST => "SUBSCRIPTION_GROUP_NOT_EXIST",
        INVALID_PARAMETER => "INVALID_PARAMETER",
        CONSUMER_NOT_ONLINE => "CONSUMER_NOT_ONLINE",
        ILLEGAL_OPERATION => "ILLEGAL_OPERATION",
        _ => "UNKNOWN",
    }
}

/// RocketMQ's name of a request code (its `RequestCode` field), or `None` for codes FerroMQ does
/// not know.
pub fn request_name(code: i32) -> Option<&'static str> {
    use request::*;
    Some(match code {
        SEND_MESSAGE => "SEND_MESSAGE",
        PULL_MESSAGE => "PULL_MESSAGE",
        QUERY_MESSAGE => "QUERY_MESSAGE",
        QUERY_CONSUMER_OFFSET => "QUERY_CONSUMER_OFFSET",
        UPDATE_CONSUMER_OFFSET => "UPDATE_CONSUMER_OFFSET",
        UPDATE_AND_CREATE_TOPIC => "UPDATE_AND_CREATE_TOPIC",
        UPDATE_AND_CREATE_TOPIC_LIST => "UPDATE_AND_CREATE_TOPIC_LIST",
        GET_ALL_TOPIC_CONFIG => "GET_ALL_TOPIC_CONFIG",
        UPDATE_BROKER_CONFIG => "UPDATE_BROKER_CONFIG",
        GET_BROKER_CONFIG => "GET_BROKER_CONFIG",
        GET_BROKER_RUNTIME_INFO => "GET_BROKER_RUNTIME_INFO",
        SEARCH_OFFSET_BY_TIMESTAMP => "SEARCH_OFFSET_BY_TIMESTAMP",
        GET_MAX_OFFSET => "GET_MAX_OFFSET",
        GET_MIN_OFFSET => "GET_MIN_OFFSET",
        GET_EARLIEST_MSG_STORETIME => "GET_EARLIEST_MSG_STORETIME",
        VIEW_MESSAGE_BY_ID => "VIEW_MESSAGE_BY_ID",
        HEART_BEAT => "HEART_BEAT",
        UNREGISTER_CLIENT => "UNREGISTER_CLIENT",
        CONSUMER_SEND_MSG_BACK => "CONSUMER_SEND_MSG_BACK",
        END_TRANSACTION => "END_TRANSACTION",
        GET_CONSUMER_LIST_BY_GROUP => "GET_CONSUMER_LIST_BY_GROUP",
        CHECK_TRANSACTION_STATE => "CHECK_TRANSACTION_STATE",
        NOTIFY_CONSUMER_IDS_CHANGED => "NOTIFY_CONSUMER_IDS_CHANGED",
        LOCK_BATCH_MQ => "LOCK_BATCH_MQ",
        UNLOCK_BATCH_MQ => "UNLOCK_BATCH_MQ",
        GET_ALL_CONSUMER_OFFSET => "GET_ALL_CONSUMER_OFFSET",
        GET_ALL_DELAY_OFFSET => "GET_ALL_DELAY_OFFSET",
        CHECK_CLIENT_CONFIG => "CHECK_CLIENT_CONFIG",
        PUT_KV_CONFIG => "PUT_KV_CONFIG",
        GET_KV_CONFIG => "GET_KV_CONFIG",
        DELETE_KV_CONFIG => "DELETE_KV_CONFIG",
        REGISTER_BROKER => "REGISTER_BROKER",
        UNREGISTER_BROKER => "UNREGISTER_BROKER",
        GET_ROUTEINFO_BY_TOPIC => "GET_ROUTEINFO_BY_TOPIC",
        GET_BROKER_CLUSTER_INFO => "GET_BROKER_CLUSTER_INFO",
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP",
        GET_ALL_SUBSCRIPTIONGROUP_CONFIG => "GET_ALL_SUBSCRIPTIONGROUP_CONFIG",
        GET_TOPIC_STATS_INFO => "GET_TOPIC_STATS_INFO",
        GET_CONSUMER_CONNECTION_LIST => "GET_CONSUMER_CONNECTION_LIST",
        GET_PRODUCER_CONNECTION_LIST => "GET_PRODUCER_CONNECTION_LIST",
        WIPE_WRITE_PERM_OF_BROKER => "WIPE_WRITE_PERM_OF_BROKER",
        GET_ALL_TOPIC_LIST_FROM_NAMESERVER => "GET_ALL_TOPIC_LIST_FROM_NAMESERVER",
        DELETE_SUBSCRIPTIONGROUP => "DELETE_SUBSCRIPTIONGROUP",
        GET_CONSUME_STATS => "GET_CONSUME_STATS",
        DELETE_TOPIC_IN_BROKER => "DELETE_TOPIC_IN_BROKER",
        DELETE_TOPIC_IN_NAMESRV => "DELETE_TOPIC_IN_NAMESRV",
        REGISTER_TOPIC_IN_NAMESRV => "REGISTER_TOPIC_IN_NAMESRV",
        GET_KVLIST_BY_NAMESPACE => "GET_KVLIST_BY_NAMESPACE",
        RESET_CONSUMER_CLIENT_OFFSET => "RESET_CONSUMER_CLIENT_OFFSET",
        GET_CONSUMER_STATUS_FROM_CLIENT => "GET_CONSUMER_STATUS_FROM_CLIENT",
        INVOKE_BROKER_TO_RESET_OFFSET => "INVOKE_BROKER_TO_RESET_OFFSET",
        GET_TOPICS_BY_CLUSTER => "GET_TOPICS_BY_CLUSTER",
        QUERY_TOPIC_CONSUME_BY_WHO => "QUERY_TOPIC_CONSUME_BY_WHO",
        QUERY_CONSUME_TIME_SPAN => "QUERY_CONSUME_TIME_SPAN",
        GET_SYSTEM_TOPIC_LIST_FROM_NS => "GET_SYSTEM_TOPIC_LIST_FROM_NS",
        CLEAN_EXPIRED_CONSUMEQUEUE => "CLEAN_EXPIRED_CONSUMEQUEUE",
        GET_CONSUMER_RUNNING_INFO => "GET_CONSUMER_RUNNING_INFO",
        CONSUME_MESSAGE_DIRECTLY => "CONSUME_MESSAGE_DIRECTLY",
        SEND_MESSAGE_V2 => "SEND_MESSAGE_V2",
        GET_UNIT_TOPIC_LIST => "GET_UNIT_TOPIC_LIST",
        GET_HAS_UNIT_SUB_TOPIC_LIST => "GET_HAS_UNIT_SUB_TOPIC_LIST",
        GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST => "GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST",
        CLONE_GROUP_OFFSET => "CLONE_GROUP_OFFSET",
        VIEW_BROKER_STATS_DATA => "VIEW_BROKER_STATS_DATA",
        CLEAN_UNUSED_TOPIC => "CLEAN_UNUSED_TOPIC",
        GET_BROKER_CONSUME_STATS => "GET_BROKER_CONSUME_STATS",
        UPDATE_NAMESRV_CONFIG => "UPDATE_NAMESRV_CONFIG",
        GET_NAMESRV_CONFIG => "GET_NAMESRV_CONFIG",
        SEND_BATCH_MESSAGE => "SEND_BATCH_MESSAGE",
        QUERY_CONSUME_QUEUE => "QUERY_CONSUME_QUEUE",
        QUERY_DATA_VERSION => "QUERY_DATA_VERSION",
        SEND_REPLY_MESSAGE => "SEND_REPLY_MESSAGE",
        SEND_REPLY_MESSAGE_V2 => "SEND_REPLY_MESSAGE_V2",
        PUSH_REPLY_MESSAGE_TO_CLIENT => "PUSH_REPLY_MESSAGE_TO_CLIENT",
        ADD_WRITE_PERM_OF_BROKER => "ADD_WRITE_PERM_OF_BROKER",
        DELETE_EXPIRED_COMMITLOG => "DELETE_EXPIRED_COMMITLOG",
        QUERY_TOPICS_BY_CONSUMER => "QUERY_TOPICS_BY_CONSUMER",
        GET_TOPIC_CONFIG => "GET_TOPIC_CONFIG",
        GET_SUBSCRIPTIONGROUP_CONFIG => "GET_SUBSCRIPTIONGROUP_CONFIG",
        LITE_PULL_MESSAGE => "LITE_PULL_MESSAGE",
        RECALL_MESSAGE => "RECALL_MESSAGE",
        GET_BROKER_MEMBER_GROUP => "GET_BROKER_MEMBER_GROUP",
        BROKER_HEARTBEAT => "BROKER_HEARTBEAT",
        AUTH_CREATE_USER => "AUTH_CREATE_USER",
        AUTH_UPDATE_USER => "AUTH_UPDATE_USER",
        AUTH_DELETE_USER => "AUTH_DELETE_USER",
        AUTH_GET_USER => "AUTH_GET_USER",
        AUTH_LIST_USER => "AUTH_LIST_USER",
        AUTH_CREATE_ACL => "AUTH_CREATE_ACL",
        AUTH_UPDATE_ACL => "AUTH_UPDATE_ACL",
        AUTH_DELETE_ACL => "AUTH_DELETE_ACL",
        AUTH_GET_ACL => "AUTH_GET_ACL",
        AUTH_LIST_ACL => "AUTH_LIST_ACL",
        _ => return None,
    })
}

/// The two kinds of server a RocketMQ client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// A name server (`mqnamesrv`, port 9876 by default).
    NameServer,
    /// A broker (`mqbroker`, port 10911 by default).
    Broker,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::NameServer => "a name server",
            Server::Broker => "a broker",
        }
    }

    fn request_kind(self) -> &'static str {
        match self {
            Server::NameServer => "a name-server request",
            Server::Broker => "a broker request",
        }
    }
}

/// Request codes that, in RocketMQ, only a broker serves (sent by clients and admin tools).
/// Used to tell a client that sent one of them to a name server that the address may be
/// wrong; one entry a line, so new codes are easy to add.
pub const BROKER_REQUESTS: &[(i32, &str)] = &[
    (10, "SEND_MESSAGE"),
    (11, "PULL_MESSAGE"),
    (12, "QUERY_MESSAGE"),
    (14, "QUERY_CONSUMER_OFFSET"),
    (15, "UPDATE_CONSUMER_OFFSET"),
    (17, "UPDATE_AND_CREATE_TOPIC"),
    (18, "UPDATE_AND_CREATE_TOPIC_LIST"),
    (21, "GET_ALL_TOPIC_CONFIG"),
    (25, "UPDATE_BROKER_CONFIG"),
    (26, "GET_BROKER_CONFIG"),
    (28, "GET_BROKER_RUNTIME_INFO"),
    (29, "SEARCH_OFFSET_BY_TIMESTAMP"),
    (30, "GET_MAX_OFFSET"),
    (31, "GET_MIN_OFFSET"),
    (32, "GET_EARLIEST_MSG_STORETIME"),
    (33, "VIEW_MESSAGE_BY_ID"),
    (34, "HEART_BEAT"),
    (35, "UNREGISTER_CLIENT"),
    (36, "CONSUMER_SEND_MSG_BACK"),
    (37, "END_TRANSACTION"),
    (38, "GET_CONSUMER_LIST_BY_GROUP"),
    (41, "LOCK_BATCH_MQ"),
    (42, "UNLOCK_BATCH_MQ"),
    (43, "GET_ALL_CONSUMER_OFFSET"),
    (45, "GET_ALL_DELAY_OFFSET"),
    (46, "CHECK_CLIENT_CONFIG"),
    (200, "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP"),
    (201, "GET_ALL_SUBSCRIPTIONGROUP_CONFIG"),
    (202, "GET_TOPIC_STATS_INFO"),
    (203, "GET_CONSUMER_CONNECTION_LIST"),
    (204, "GET_PRODUCER_CONNECTION_LIST"),
    (207, "DELETE_SUBSCRIPTIONGROUP"),
    (208, "GET_CONSUME_STATS"),
    (215, "DELETE_TOPIC_IN_BROKER"),
    (222, "INVOKE_BROKER_TO_RESET_OFFSET"),
    (300, "QUERY_TOPIC_CONSUME_BY_WHO"),
    (303, "QUERY_CONSUME_TIME_SPAN"),
    (306, "CLEAN_EXPIRED_CONSUMEQUEUE"),
    (310, "SEND_MESSAGE_V2"),
    (314, "CLONE_GROUP_OFFSET"),
    (315, "VIEW_BROKER_STATS_DATA"),
    (316, "CLEAN_UNUSED_TOPIC"),
    (317, "GET_BROKER_CONSUME_STATS"),
    (320, "SEND_BATCH_MESSAGE"),
    (321, "QUERY_CONSUME_QUEUE"),
    (324, "SEND_REPLY_MESSAGE"),
    (325, "SEND_REPLY_MESSAGE_V2"),
    (329, "DELETE_EXPIRED_COMMITLOG"),
    (343, "QUERY_TOPICS_BY_CONSUMER"),
    (351, "GET_TOPIC_CONFIG"),
    (352, "GET_SUBSCRIPTIONGROUP_CONFIG"),
    (361, "LITE_PULL_MESSAGE"),
    (370, "RECALL_MESSAGE"),
    (907, "GET_BROKER_HA_STATUS"),
    (3001, "AUTH_CREATE_USER"),
    (3002, "AUTH_UPDATE_USER"),
    (3003, "AUTH_DELETE_USER"),
    (3004, "AUTH_GET_USER"),
    (3005, "AUTH_LIST_USER"),
    (3006, "AUTH_CREATE_ACL"),
    (3007, "AUTH_UPDATE_ACL"),
    (3008, "AUTH_DELETE_ACL"),
    (3009, "AUTH_GET_ACL"),
    (3010, "AUTH_LIST_ACL"),
    (200050, "POP_MESSAGE"),
    (200051, "ACK_MESSAGE"),
    (200053, "CHANGE_MESSAGE_INVISIBLETIME"),
];

/// Request codes that, in RocketMQ, only a name server serves.
pub const NAMESRV_REQUESTS: &[(i32, &str)] = &[
    (100, "PUT_KV_CONFIG"),
    (101, "GET_KV_CONFIG"),
    (102, "DELETE_KV_CONFIG"),
    (103, "REGISTER_BROKER"),
    (104, "UNREGISTER_BROKER"),
    (105, "GET_ROUTEINFO_BY_TOPIC"),
    (106, "GET_BROKER_CLUSTER_INFO"),
    (205, "WIPE_WRITE_PERM_OF_BROKER"),
    (206, "GET_ALL_TOPIC_LIST_FROM_NAMESERVER"),
    (216, "DELETE_TOPIC_IN_NAMESRV"),
    (217, "REGISTER_TOPIC_IN_NAMESRV"),
    (219, "GET_KVLIST_BY_NAMESPACE"),
    (224, "GET_TOPICS_BY_CLUSTER"),
    (304, "GET_SYSTEM_TOPIC_LIST_FROM_NS"),
    (311, "GET_UNIT_TOPIC_LIST"),
    (312, "GET_HAS_UNIT_SUB_TOPIC_LIST"),
    (313, "GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST"),
    (318, "UPDATE_NAMESRV_CONFIG"),
    (319, "GET_NAMESRV_CONFIG"),
    (322, "QUERY_DATA_VERSION"),
    (327, "ADD_WRITE_PERM_OF_BROKER"),
    (901, "GET_BROKER_MEMBER_GROUP"),
    (904, "BROKER_HEARTBEAT"),
];

/// Which kind of server RocketMQ serves `code` on, with the code's name; `None` for codes
/// neither table lists.
pub fn served_by(code: i32) -> Option<(Server, &'static str)> {
    let find = |table: &[(i32, &'static str)]| {
        table
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, name)| *name)
    };
    find(BROKER_REQUESTS)
        .map(|n| (Server::Broker, n))
        .or_else(|| find(NAMESRV_REQUESTS).map(|n| (Server::NameServer, n)))
}

/// The remark of a REQUEST_CODE_NOT_SUPPORTED answer from `here`: RocketMQ's text
/// (` request type N not supported`), followed, when the code belongs to the other kind of
/// server, by a hint that the client may have the two addresses swapped.
pub fn not_supported_remark(code: i32, here: Server) -> String {
    let mut remark = format!(" request type {code} not supported");
    if let Some((owner, name)) = served_by(code).filter(|(owner, _)| *owner != here) {
        remark.push_str(&format!(
            "; {name} is {}, but this address is {}: did you mean {}'s address \
             (name-server and broker addresses swapped, e.g. -n and -b)?",
            owner.request_kind(),
            here.name(),
            owner.name()
        ));
    }
    remark
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_tables_are_disjoint_and_sorted() {
        for table in [BROKER_REQUESTS, NAMESRV_REQUESTS] {
            assert!(table.windows(2).all(|w| w[0].0 < w[1].0), "{table:?}");
        }
        for (code, name) in BROKER_REQUESTS {
            assert!(
                !NAMESRV_REQUESTS.iter().any(|(c, _)| c == code),
                "{code} {name} in both tables"
            );
        }
    }

    #[test]
    fn names_match_the_constants() {
        use request::*;
        for (code, name) in [
            (SEND_MESSAGE_V2, "SEND_MESSAGE_V2"),
            (UPDATE_AND_CREATE_TOPIC, "UPDATE_AND_CREATE_TOPIC"),
            (RECALL_MESSAGE, "RECALL_MESSAGE"),
            (GET_ROUTEINFO_BY_TOPIC, "GET_ROUTEINFO_BY_TOPIC"),
            (BROKER_HEARTBEAT, "BROKER_HEARTBEAT"),
        ] {
            assert_eq!(served_by(code).map(|(_, n)| n), Some(name));
        }
    }

    #[test]
    fn the_remark_hints_only_at_the_other_servers_codes() {
        assert_eq!(
            not_supported_remark(17, Server::NameServer),
            " request type 17 not supported; UPDATE_AND_CREATE_TOPIC is a broker request, \
             but this address is a name server: did you mean a broker's address (name-server \
             and broker addresses swapped, e.g. -n and -b)?"
        );
        let r = not_supported_remark(105, Server::Broker);
        assert!(r.starts_with(" request type 105 not supported; GET_ROUTEINFO_BY_TOPIC is a name-server request, but this address is a broker"), "{r}");
        assert_eq!(
            not_supported_remark(17, Server::Broker),
            " request type 17 not supported"
        );
        assert_eq!(
            not_supported_remark(12345, Server::NameServer),
            " request type 12345 not supported"
        );
    }
}
