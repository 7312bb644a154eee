//! Helpers shared by the store's scenario tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferromq_proto::message::{decode_record, MessageExt};
use ferromq_store::{MessageStore, MessageToStore, StoreConfig};

pub const BORN: &str = "10.1.2.3:40000";
pub const STORE: &str = "127.0.0.1:10911";

/// A config with small files so tests roll segments quickly.
pub fn small_config(root: &Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 100 * 20,
        flush_interval_commit_log_ms: 20,
        flush_interval_consume_queue_ms: 50,
        max_hash_slot_num: 512,
        max_index_num: 2048,
        // Tests must not depend on how full this machine's disk is; the retention tests set
        // these and a fake usage source themselves.
        disk_max_used_space_ratio: 100,
        disk_space_clean_forcibly_ratio: 100,
        disk_space_warning_level_ratio: 100,
        ..StoreConfig::with_root(root)
    }
}

pub fn open(root: &Path) -> Arc<MessageStore> {
    MessageStore::open(small_config(root)).expect("open store")
}

pub fn msg<'a>(
    topic: &'a str,
    queue_id: i32,
    body: &'a [u8],
    properties: &'a str,
) -> MessageToStore<'a> {
    MessageToStore {
        topic,
        queue_id,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: BORN.parse::<SocketAddr>().unwrap(),
        store_host: STORE.parse::<SocketAddr>().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body,
        properties,
    }
}

/// Decodes every record of a pull.
pub fn decode_all(records: &[bytes::Bytes]) -> Vec<MessageExt> {
    records
        .iter()
        .map(|b| decode_record(b).expect("valid record").0)
        .collect()
}

/// Pulls every queue `0..queues` of `topic` from offset 0 to its end, 32 at a time, as a
/// consumer drains a backlog, and hands each record to `each` with its index in the order the
/// messages were put round robin over the queues (message `i` went to queue `i % queues`).
/// Returns the number of records read.
pub fn drain_round_robin(
    store: &MessageStore,
    topic: &str,
    queues: i32,
    mut each: impl FnMut(usize, &bytes::Bytes),
) -> usize {
    let mut seen = 0;
    for q in 0..queues {
        let mut offset = 0;
        loop {
            let got = store.get_message(topic, q, offset, 32, None);
            if got.status != ferromq_store::GetStatus::Found {
                break;
            }
            for (k, rec) in got.messages.iter().enumerate() {
                each((offset as usize + k) * queues as usize + q as usize, rec);
                seen += 1;
            }
            offset = got.next_begin_offset;
        }
    }
    seen
}

pub fn settle(store: &MessageStore) {
    assert!(
        store.wait_for_dispatch(Duration::from_secs(5)),
        "dispatch did not catch up"
    );
}

/// Body of message `i`, recognisable after a round trip.
pub fn body(i: usize) -> Vec<u8> {
    format!("message-{i:05}-").repeat(1 + i % 7).into_bytes()
}
