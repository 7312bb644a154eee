//! Controller request and response headers. Ext keys are exactly the Java field names of
//! RocketMQ's `remoting/protocol/header/controller/*` classes (and `BrokerHeartbeatRequestHeader`,
//! `NotifyBrokerRoleChangedRequestHeader`).

use ferromq_proto::define_header;

define_header! {
    /// CONTROLLER_ALTER_SYNC_STATE_SET (1001); body: `SyncStateSet`.
    pub struct AlterSyncStateSetRequestHeader {
        broker_name: String = "brokerName",
        master_broker_id: i64 = "masterBrokerId",
        master_epoch: i32 = "masterEpoch",
        invoke_time: Option<i64> = "invokeTime",
    }
}

define_header! {
    /// Response of CONTROLLER_ALTER_SYNC_STATE_SET.
    pub struct AlterSyncStateSetResponseHeader {
        new_sync_state_set_epoch: i32 = "newSyncStateSetEpoch",
    }
}

define_header! {
    /// CONTROLLER_ELECT_MASTER (1002). `brokerId` absent or -1: the controller picks;
    /// `designateElect`: only `brokerId` may win (admin).
    pub struct ElectMasterRequestHeader {
        cluster_name: Option<String> = "clusterName",
        broker_name: String = "brokerName",
        broker_id: Option<i64> = "brokerId",
        designate_elect: Option<bool> = "designateElect",
        invoke_time: Option<i64> = "invokeTime",
    }
}

define_header! {
    /// Response of CONTROLLER_ELECT_MASTER; body: `ElectMasterResponseBody`.
    pub struct ElectMasterResponseHeader {
        master_broker_id: Option<i64> = "masterBrokerId",
        master_address: Option<String> = "masterAddress",
        master_epoch: Option<i32> = "masterEpoch",
        sync_state_set_epoch: Option<i32> = "syncStateSetEpoch",
    }
}

define_header! {
    /// CONTROLLER_REGISTER_BROKER (1003).
    pub struct RegisterBrokerToControllerRequestHeader {
        cluster_name: String = "clusterName",
        broker_name: String = "brokerName",
        broker_id: i64 = "brokerId",
        broker_address: String = "brokerAddress",
        invoke_time: Option<i64> = "invokeTime",
    }
}

define_header! {
    /// Response of CONTROLLER_REGISTER_BROKER; body: `SyncStateSet`. Master fields only when the
    /// set has a live master.
    pub struct RegisterBrokerToControllerResponseHeader {
        cluster_name: Option<String> = "clusterName",
        broker_name: Option<String> = "brokerName",
        master_broker_id: Option<i64> = "masterBrokerId",
        master_address: Option<String> = "masterAddress",
        master_epoch: Option<i32> = "masterEpoch",
        sync_state_set_epoch: Option<i32> = "syncStateSetEpoch",
    }
}

define_header! {
    /// CONTROLLER_GET_REPLICA_INFO (1004).
    pub struct GetReplicaInfoRequestHeader {
        broker_name: String = "brokerName",
    }
}

define_header! {
    /// Response of CONTROLLER_GET_REPLICA_INFO; body: `SyncStateSet`.
    pub struct GetReplicaInfoResponseHeader {
        master_broker_id: Option<i64> = "masterBrokerId",
        master_address: Option<String> = "masterAddress",
        master_epoch: Option<i32> = "masterEpoch",
    }
}

define_header! {
    /// Response of CONTROLLER_GET_METADATA_INFO (1005). `peers` is `id:addr;` repeated.
    pub struct GetMetaDataResponseHeader {
        group: Option<String> = "group",
        controller_leader_id: Option<String> = "controllerLeaderId",
        controller_leader_address: Option<String> = "controllerLeaderAddress",
        is_leader: bool = "isLeader",
        peers: Option<String> = "peers",
    }
}

define_header! {
    /// CONTROLLER_GET_NEXT_BROKER_ID (1012).
    pub struct GetNextBrokerIdRequestHeader {
        cluster_name: String = "clusterName",
        broker_name: String = "brokerName",
    }
}

define_header! {
    /// Response of CONTROLLER_GET_NEXT_BROKER_ID.
    pub struct GetNextBrokerIdResponseHeader {
        cluster_name: Option<String> = "clusterName",
        broker_name: Option<String> = "brokerName",
        next_broker_id: Option<i64> = "nextBrokerId",
    }
}

define_header! {
    /// CONTROLLER_APPLY_BROKER_ID (1013). `registerCheckCode` is `brokerAddr;timestamp`.
    pub struct ApplyBrokerIdRequestHeader {
        cluster_name: String = "clusterName",
        broker_name: String = "brokerName",
        applied_broker_id: i64 = "appliedBrokerId",
        register_check_code: String = "registerCheckCode",
    }
}

define_header! {
    /// Response of CONTROLLER_APPLY_BROKER_ID.
    pub struct ApplyBrokerIdResponseHeader {
        cluster_name: Option<String> = "clusterName",
        broker_name: Option<String> = "brokerName",
    }
}

define_header! {
    /// BROKER_HEARTBEAT (904) as a controller-mode broker sends it: the name-server fields plus
    /// the replica's epoch, offsets, timeout and election priority.
    pub struct ControllerHeartbeatRequestHeader {
        cluster_name: String = "clusterName",
        broker_addr: String = "brokerAddr",
        broker_name: String = "brokerName",
        broker_id: Option<i64> = "brokerId",
        epoch: Option<i32> = "epoch",
        max_offset: Option<i64> = "maxOffset",
        confirm_offset: Option<i64> = "confirmOffset",
        heartbeat_timeout_mills: Option<i64> = "heartbeatTimeoutMills",
        election_priority: Option<i32> = "electionPriority",
    }
}

define_header! {
    /// NOTIFY_BROKER_ROLE_CHANGED (1008), controller → broker; body: `SyncStateSet`.
    pub struct NotifyBrokerRoleChangedRequestHeader {
        master_address: Option<String> = "masterAddress",
        master_epoch: Option<i32> = "masterEpoch",
        sync_state_set_epoch: Option<i32> = "syncStateSetEpoch",
        master_broker_id: Option<i64> = "masterBrokerId",
    }
}

define_header! {
    /// CLEAN_BROKER_DATA (1011). `brokerControllerIdsToClean`: `;`-separated ids, absent or
    /// blank for the whole set; `isCleanLivingBroker`: skip the liveness check.
    pub struct CleanControllerBrokerDataRequestHeader {
        cluster_name: Option<String> = "clusterName",
        broker_name: String = "brokerName",
        broker_controller_ids_to_clean: Option<String> = "brokerControllerIdsToClean",
        is_clean_living_broker: Option<bool> = "isCleanLivingBroker",
        invoke_time: Option<i64> = "invokeTime",
    }
}
