//! Request and response codes of the controller (RocketMQ `RequestCode`, `ResponseCode`), and
//! FerroMQ's private codes for Raft traffic between controller nodes.

/// Controller request codes, as RocketMQ 5.3 numbers them.
pub mod request {
    /// Broker liveness; also served by name servers (904).
    pub const BROKER_HEARTBEAT: i32 = 904;
    /// The master reports a shrunk or grown in-sync replica set.
    pub const CONTROLLER_ALTER_SYNC_STATE_SET: i32 = 1001;
    /// Elect a master for a broker set (broker at start-up, admin, or the controller itself).
    pub const CONTROLLER_ELECT_MASTER: i32 = 1002;
    /// RocketMQ 5.2+: a broker with an applied id announces its address.
    pub const CONTROLLER_REGISTER_BROKER: i32 = 1003;
    /// Master id, address and epoch of one broker set, with its syncStateSet as body.
    pub const CONTROLLER_GET_REPLICA_INFO: i32 = 1004;
    /// Raft group, leader and peers; answered by every controller node.
    pub const CONTROLLER_GET_METADATA_INFO: i32 = 1005;
    /// Replica state of a list of broker sets (admin `getSyncStateSet`).
    pub const CONTROLLER_GET_SYNC_STATE_DATA: i32 = 1006;
    /// Sent to brokers, not served here.
    pub const GET_BROKER_EPOCH_CACHE: i32 = 1007;
    /// Controller → broker, one-way: a new master was elected.
    pub const NOTIFY_BROKER_ROLE_CHANGED: i32 = 1008;
    /// Change controller settings at run time (properties text body).
    pub const UPDATE_CONTROLLER_CONFIG: i32 = 1009;
    /// Current controller settings as properties text.
    pub const GET_CONTROLLER_CONFIG: i32 = 1010;
    /// Remove a broker set, or some of its replicas, from the controller (admin
    /// `cleanBrokerMetadata`).
    pub const CLEAN_BROKER_DATA: i32 = 1011;
    /// RocketMQ 5.2+: the id a new broker of a set should apply for.
    pub const CONTROLLER_GET_NEXT_BROKER_ID: i32 = 1012;
    /// RocketMQ 5.2+: claim a broker id with a register check code.
    pub const CONTROLLER_APPLY_BROKER_ID: i32 = 1013;
}

/// Controller response codes (plus the generic ones the controller uses).
pub mod response {
    pub use ferromq_proto::codes::response::{
        INVALID_PARAMETER, REQUEST_CODE_NOT_SUPPORTED, SUCCESS, SYSTEM_ERROR,
    };
    pub const CONTROLLER_FENCED_MASTER_EPOCH: i32 = 2000;
    pub const CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH: i32 = 2001;
    pub const CONTROLLER_INVALID_MASTER: i32 = 2002;
    pub const CONTROLLER_INVALID_REPLICAS: i32 = 2003;
    pub const CONTROLLER_MASTER_NOT_AVAILABLE: i32 = 2004;
    pub const CONTROLLER_INVALID_REQUEST: i32 = 2005;
    pub const CONTROLLER_BROKER_NOT_ALIVE: i32 = 2006;
    pub const CONTROLLER_NOT_LEADER: i32 = 2007;
    pub const CONTROLLER_BROKER_METADATA_NOT_EXIST: i32 = 2008;
    pub const CONTROLLER_INVALID_CLEAN_BROKER_METADATA: i32 = 2009;
    pub const CONTROLLER_BROKER_NEED_TO_BE_REGISTERED: i32 = 2010;
    pub const CONTROLLER_MASTER_STILL_EXIST: i32 = 2011;
    pub const CONTROLLER_ELECT_MASTER_FAILED: i32 = 2012;
    pub const CONTROLLER_ALTER_SYNC_STATE_SET_FAILED: i32 = 2013;
    pub const CONTROLLER_BROKER_ID_INVALID: i32 = 2014;
    pub const CONTROLLER_JRAFT_INTERNAL_ERROR: i32 = 2015;
    pub const CONTROLLER_BROKER_LIVE_INFO_NOT_EXISTS: i32 = 2016;
}

/// FerroMQ's private request codes for Raft between controller nodes: 60001..=60009.
///
/// RocketMQ's codes stop at 200 151 with nothing in 60 000..61 000, so these never collide with
/// a Java peer's request; a Java client that sends one by mistake gets a Raft error, never a
/// state change, because every body must decode as the exact openraft message.
pub mod raft {
    /// First code of the range.
    pub const FIRST: i32 = 60001;
    /// Last code of the range.
    pub const LAST: i32 = 60009;
    /// openraft `AppendEntriesRequest` → `Result<AppendEntriesResponse, RaftError>`.
    pub const APPEND_ENTRIES: i32 = 60001;
    /// openraft `VoteRequest` → `Result<VoteResponse, RaftError>`.
    pub const VOTE: i32 = 60002;
    /// openraft `InstallSnapshotRequest` (one chunk) → `Result<InstallSnapshotResponse, RaftError>`.
    pub const INSTALL_SNAPSHOT: i32 = 60003;
}
