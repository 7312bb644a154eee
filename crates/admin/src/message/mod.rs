//! Message commands: `queryMsgById`, `queryMsgByKey`, `queryMsgByUniqueKey`, `queryMsgByOffset`
//! and `printMsg` (Java `tools/.../command/message/*SubCommand.java`, RocketMQ 5.3).
//!
//! ```text
//! queryMsgById      id decodes as offsetMsgId ─▶ VIEW_MESSAGE_BY_ID (33) at the address in it
//!                   otherwise (or on failure) ─▶ the unique-key path below
//! queryMsgByKey     NS 105 ─▶ every broker of the route: QUERY_MESSAGE (12, _UNIQUE_KEY_QUERY=false)
//! queryMsgByUniqueKey                          QUERY_MESSAGE (12, _UNIQUE_KEY_QUERY=true)
//! queryMsgByOffset  NS 105 ─▶ PULL_MESSAGE (11) of one message at queue offset
//! printMsg          NS 105 ─▶ per queue: GET_MIN/MAX_OFFSET (31/30) or SEARCH_OFFSET (29), pulls
//! ```
//!
//! Detail views then ask who consumes the topic (Java `messageTrackDetail`, see [`track`]).
//! Properties print in the order of Java's `HashMap.toString` ([`java_hash_order`]), so the
//! output matches the Java tool's line for line; times print in UTC.

pub mod by_queue;
pub mod dlq;
pub mod query;
pub mod render;
pub mod resend;
pub mod send;
pub mod trace;
pub mod track;

pub use dlq::{delete_dead_letter, delete_dlq_message, dlq_tombstones, DeleteDlqReport};
pub use query::{
    print_msg, pull_one_queue, query_message, query_msg_by_id, query_msg_by_key,
    query_msg_by_offset, query_msg_by_unique_key, view_message, PrintMsgOptions, PullOutcome,
    PullStatus, QueryByKeyReport,
};
pub use render::{
    body_file_path, java_message_ext_string, java_properties_string, write_body_file,
    MessageDetail, UniqueKeyDetail,
};
pub use resend::{resend, resend_message, ResendReport};
pub use trace::{query_msg_trace_by_id, MsgTraceReport, TraceView};
pub use track::{message_track_detail, MessageTrack, TrackType};

/// The order in which Java's `HashMap`/`HashSet` iterates entries whose `hashCode()`s are
/// `hashes` (inserted in that order), for a table created with `initial_capacity` that doubles
/// whenever it is more than 3/4 full: by bucket (`(h ^ h >>> 16) & (n - 1)`), then insertion
/// order. Returns indexes into `hashes`.
pub fn java_hash_order(hashes: &[i32], initial_capacity: usize) -> Vec<usize> {
    let mut n = initial_capacity.max(1).next_power_of_two();
    while hashes.len() * 4 > n * 3 {
        n *= 2;
    }
    let bucket = |h: i32| ((h ^ ((h as u32) >> 16) as i32) as u32 as usize) & (n - 1);
    let mut order: Vec<usize> = (0..hashes.len()).collect();
    order.sort_by_key(|&i| bucket(hashes[i]));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_common::java_string_hash;

    #[test]
    fn hash_order_follows_buckets_then_insertion() {
        // Java: new HashMap<>(128) with keys TAGS, KEYS, UNIQ_KEY, CLUSTER, WAIT prints
        // {KEYS=.., UNIQ_KEY=.., CLUSTER=.., WAIT=.., TAGS=..} ordered by bucket.
        let keys = ["TAGS", "KEYS", "UNIQ_KEY", "CLUSTER", "WAIT"];
        let hashes: Vec<i32> = keys.iter().map(|k| java_string_hash(k)).collect();
        let order = java_hash_order(&hashes, 128);
        let buckets: Vec<usize> = order
            .iter()
            .map(|&i| {
                let h = hashes[i];
                ((h ^ ((h as u32) >> 16) as i32) as u32 as usize) & 127
            })
            .collect();
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
        assert_eq!(order.len(), 5);
        // Same bucket keeps insertion order; the table grows past 3/4.
        assert_eq!(java_hash_order(&[16, 32, 0], 16), vec![0, 1, 2]);
        assert_eq!(java_hash_order(&[1, 0], 16), vec![1, 0]);
        let many: Vec<i32> = (0..13).map(|i| 16 * i).collect();
        // 13 entries grow a 16-slot table to 32: multiples of 32 first.
        let order = java_hash_order(&many, 16);
        assert_eq!(&order[..7], &[0, 2, 4, 6, 8, 10, 12]);
    }
}
