//! Values that cross the store's API: what to put, what a put or get returns, and the arrival
//! notification that wakes long polls.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;

/// One message to append, borrowed from the request that carries it.
#[derive(Debug, Clone, Copy)]
pub struct MessageToStore<'a> {
    /// Topic (at most 32 767 bytes; the broker enforces the real name rules).
    pub topic: &'a str,
    /// Queue id (non-negative).
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// sysFlag (compression, transaction type...); the IPv6 host bits are set by the store.
    pub sys_flag: i32,
    /// Producer time, ms.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Broker address clients can reach; part of the offsetMsgId.
    pub store_host: SocketAddr,
    /// Retry count.
    pub reconsume_times: i32,
    /// Half-message offset of a committed transaction, else 0.
    pub prepared_transaction_offset: i64,
    /// Body as stored (already compressed if sysFlag says so).
    pub body: &'a [u8],
    /// Properties string (at most 32 767 bytes).
    pub properties: &'a str,
}

impl<'a> MessageToStore<'a> {
    /// A stored record again, for `topic` / `queue_id` with `properties`: the body, flags, born
    /// time and host, store host, reconsume count and prepared-transaction offset as the record
    /// has them (how delayed, retried, committed and moved messages are re-stored); callers
    /// override what differs with struct-update syntax.
    pub fn copy_of(
        record: &ferromq_proto::message::record::RecordView<'a>,
        topic: &'a str,
        queue_id: i32,
        properties: &'a str,
    ) -> Self {
        MessageToStore {
            topic,
            queue_id,
            flag: record.flag,
            sys_flag: record.sys_flag,
            born_timestamp: record.born_timestamp,
            born_host: record.born_host,
            store_host: record.store_host,
            reconsume_times: record.reconsume_times,
            prepared_transaction_offset: record.prepared_transaction_offset,
            body: record.body,
            properties,
        }
    }
}

/// Outcome of a put (Java `PutMessageStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutStatus {
    /// Stored (and flushed, under SYNC_FLUSH with `WAIT`).
    PutOk,
    /// Stored, but the disk did not confirm within `sync_flush_timeout_ms`.
    FlushDiskTimeout,
    /// A new commit-log segment could not be created (disk full?); nothing stored.
    CreateMappedFileFailed,
    /// The message is malformed or too large; nothing stored.
    MessageIllegal,
    /// The properties exceed 32 767 bytes; nothing stored.
    PropertiesSizeExceeded,
    /// The store is shut down or stopped writing after a disk error; nothing stored.
    ServiceNotAvailable,
    /// An unexpected failure; nothing stored.
    UnknownError,
}

impl PutStatus {
    /// True when the message is in the log (`PutOk` or `FlushDiskTimeout`).
    pub fn is_stored(self) -> bool {
        matches!(self, PutStatus::PutOk | PutStatus::FlushDiskTimeout)
    }

    /// Java's name (the remark of a failed CONSUMER_SEND_MSG_BACK).
    pub fn as_str(self) -> &'static str {
        match self {
            PutStatus::PutOk => "PUT_OK",
            PutStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            PutStatus::CreateMappedFileFailed => "CREATE_MAPPED_FILE_FAILED",
            PutStatus::MessageIllegal => "MESSAGE_ILLEGAL",
            PutStatus::PropertiesSizeExceeded => "PROPERTIES_SIZE_EXCEEDED",
            PutStatus::ServiceNotAvailable => "SERVICE_NOT_AVAILABLE",
            PutStatus::UnknownError => "UNKNOWN_ERROR",
        }
    }
}

/// What a put did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    /// Outcome; the fields below are meaningful only when [`PutStatus::is_stored`].
    pub status: PutStatus,
    /// Commit-log offset of the (first) record.
    pub physical_offset: i64,
    /// Queue offset of the (first) message; 0 for half and rollback records.
    pub queue_offset: i64,
    /// Bytes written (all records of a batch).
    pub size: i32,
    /// Store time of the (last) record, ms.
    pub store_timestamp: i64,
    /// offsetMsgId of the record; for a batch the ids joined by `,`.
    pub msg_id: String,
    /// Number of records written.
    pub message_count: u32,
    /// Commit-log offset just past the last record written (what a slave must hold before a
    /// SYNC_MASTER answers).
    pub end_offset: i64,
}

impl PutResult {
    /// A result that stored nothing.
    pub fn failed(status: PutStatus) -> Self {
        PutResult {
            status,
            physical_offset: -1,
            queue_offset: -1,
            size: 0,
            store_timestamp: 0,
            msg_id: String::new(),
            message_count: 0,
            end_offset: 0,
        }
    }
}

/// Outcome of a get (Java `GetMessageStatus`); see `wire-protocol.md` 6.3 for how each maps to
/// a pull response code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetStatus {
    /// At least one message returned.
    Found,
    /// Units were read but every one was filtered out.
    NoMatchedMessage,
    /// The commit-log data of the units is gone.
    MessageWasRemoving,
    /// The consume-queue file for the offset is missing.
    OffsetFoundNull,
    /// Offset beyond the queue's max.
    OffsetOverflowBadly,
    /// Offset equal to the queue's max (nothing new yet: long-poll candidate).
    OffsetOverflowOne,
    /// Offset below the queue's min.
    OffsetTooSmall,
    /// The queue does not exist.
    NoMatchedLogicQueue,
    /// The queue exists but holds nothing (max = 0).
    NoMessageInQueue,
}

impl GetStatus {
    /// Java's name, used as the pull response `remark`.
    pub fn as_str(self) -> &'static str {
        match self {
            GetStatus::Found => "FOUND",
            GetStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
            GetStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
            GetStatus::OffsetFoundNull => "OFFSET_FOUND_NULL",
            GetStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
            GetStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
            GetStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
            GetStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
            GetStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
        }
    }
}

impl fmt::Display for GetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a get found.
#[derive(Debug, Clone)]
pub struct GetResult {
    /// Outcome.
    pub status: GetStatus,
    /// Queue offset the next pull should start from (table in `wire-protocol.md` 6.3).
    pub next_begin_offset: i64,
    /// Queue min offset at the time of the get.
    pub min_offset: i64,
    /// Queue max offset (next offset to be written) at the time of the get.
    pub max_offset: i64,
    /// Stored records, each a zero-copy slice of a mapped commit-log segment.
    pub messages: Vec<Bytes>,
    /// Total bytes of `messages`.
    pub buffer_total_size: usize,
    /// True when the data read is far behind the log head (beyond the in-memory ratio).
    pub suggest_pulling_from_slave: bool,
}

impl GetResult {
    pub(crate) fn empty(status: GetStatus, next: i64, min: i64, max: i64) -> Self {
        GetResult {
            status,
            next_begin_offset: next,
            min_offset: min,
            max_offset: max,
            messages: Vec::new(),
            buffer_total_size: 0,
            suggest_pulling_from_slave: false,
        }
    }
}

/// A message that just became visible in its consume queue (Java `MessageArrivingListener`).
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Queue id.
    pub queue_id: i32,
    /// Queue offset of the message.
    pub queue_offset: i64,
    /// Queue max offset after it (`queue_offset + 1`).
    pub max_offset: i64,
    /// Tags code written in its consume-queue unit.
    pub tags_code: i64,
    /// Store time, ms.
    pub store_timestamp: i64,
    /// Raw properties string (for SQL92 filters).
    pub properties: &'a str,
}

/// Receives [`Arrival`]s on the dispatch thread; must return quickly and never block.
pub trait ArrivalListener: Send + Sync {
    /// Called once per dispatched message, in log order.
    fn on_arrival(&self, arrival: &Arrival<'_>);
}

impl<F> ArrivalListener for F
where
    F: Fn(&Arrival<'_>) + Send + Sync,
{
    fn on_arrival(&self, arrival: &Arrival<'_>) {
        self(arrival)
    }
}

/// What a key query found (Java `QueryMessageResult`).
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    /// Stored records whose key matched, newest first, each a zero-copy slice of the log.
    pub messages: Vec<Bytes>,
    /// Store time of the newest indexed record (`indexLastUpdateTimestamp`).
    pub index_last_update_timestamp: i64,
    /// Commit-log offset of the newest indexed record (`indexLastUpdatePhyoffset`).
    pub index_last_update_phyoffset: i64,
}

/// What one retention pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Commit-log segments.
    pub commit_log_files: usize,
    /// Consume-queue files.
    pub consume_queue_files: usize,
    /// Index files.
    pub index_files: usize,
}
