//! Index and key queries: KEYS tokens and UNIQ_KEY per topic, time ranges, result limits,
//! hash collisions, many index files, restarts.

mod common;

use std::time::Duration;

use common::*;
use ferromq_proto::message::{decode_record, encode_properties, sys_flag};
use ferromq_store::{MessageStore, PutStatus, StoreConfig};

fn keyed(i: usize) -> String {
    encode_properties(&[
        ("KEYS", format!("order-{i} customer-{} ", i % 3)),
        ("UNIQ_KEY", format!("7F000001{i:024X}")),
    ])
}

fn bodies(result: &ferromq_store::QueryResult) -> Vec<Vec<u8>> {
    result
        .messages
        .iter()
        .map(|b| decode_record(b).unwrap().0.body.to_vec())
        .collect()
}

#[test]
fn keys_and_unique_keys_are_found_per_topic() {
    let dir = tempfile::tempdir().unwrap();
    // Few slots and entries: collisions and many index files.
    let store = MessageStore::open(StoreConfig {
        max_hash_slot_num: 7,
        max_index_num: 40,
        ..small_config(dir.path())
    })
    .unwrap();
    for i in 0..60 {
        let r = store.put(msg("A", (i % 4) as i32, &body(i), &keyed(i)));
        assert_eq!(r.status, PutStatus::PutOk);
    }
    // Same keys in another topic.
    store.put(msg("B", 0, b"other-topic", &keyed(5)));
    settle(&store);
    let index_files = std::fs::read_dir(dir.path().join("index")).unwrap().count();
    assert!(index_files > 3, "{index_files} index files");

    let q = store.query_message("A", "order-5", 32, 0, i64::MAX, false);
    assert_eq!(bodies(&q), vec![body(5)]);
    let q = store.query_message("B", "order-5", 32, 0, i64::MAX, false);
    assert_eq!(bodies(&q), vec![b"other-topic".to_vec()]);
    let uniq = format!("7F000001{:024X}", 17);
    let q = store.query_message("A", &uniq, 32, 0, i64::MAX, true);
    assert_eq!(bodies(&q), vec![body(17)]);
    // A unique-key query does not match KEYS, nor a key query UNIQ_KEY.
    assert!(store
        .query_message("A", "order-17", 32, 0, i64::MAX, true)
        .messages
        .is_empty());
    assert!(store
        .query_message("A", &uniq, 32, 0, i64::MAX, false)
        .messages
        .is_empty());
    // A shared key: newest first, limited.
    let q = store.query_message("A", "customer-1", 64, 0, i64::MAX, false);
    let expected: Vec<_> = (0..60).rev().filter(|i| i % 3 == 1).map(body).collect();
    assert_eq!(bodies(&q), expected);
    let q = store.query_message("A", "customer-1", 5, 0, i64::MAX, false);
    assert_eq!(bodies(&q), expected[..5].to_vec());
    assert!(q.index_last_update_timestamp > 0);
    assert!(q.index_last_update_phyoffset > 0);
    // Unknown keys and empty tokens find nothing.
    assert!(store
        .query_message("A", "nope", 32, 0, i64::MAX, false)
        .messages
        .is_empty());
    assert!(store
        .query_message("A", "", 32, 0, i64::MAX, false)
        .messages
        .is_empty());
    assert!(store
        .query_message("A", "order-5", 0, 0, i64::MAX, false)
        .messages
        .is_empty());
    store.shutdown().unwrap();
    drop(store);

    // After a restart the same answers, and new messages are indexed after the old ones.
    let store = MessageStore::open(StoreConfig {
        max_hash_slot_num: 7,
        max_index_num: 40,
        ..small_config(dir.path())
    })
    .unwrap();
    let q = store.query_message("A", "order-5", 32, 0, i64::MAX, false);
    assert_eq!(bodies(&q), vec![body(5)]);
    store.put(msg("A", 0, b"late", &keyed(5)));
    settle(&store);
    let q = store.query_message("A", "order-5", 32, 0, i64::MAX, false);
    assert_eq!(bodies(&q), vec![b"late".to_vec(), body(5)]);
    store.shutdown().unwrap();
}

#[test]
fn time_ranges_select_by_store_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let props = encode_properties(&[("KEYS", "k")]);
    let first = store.put(msg("T", 0, b"early", &props));
    // Index times have a resolution of one second.
    std::thread::sleep(Duration::from_millis(2100));
    let second = store.put(msg("T", 0, b"late", &props));
    settle(&store);
    let t1 = first.store_timestamp;
    let t2 = second.store_timestamp;
    let all = store.query_message("T", "k", 32, 0, i64::MAX, false);
    assert_eq!(all.messages.len(), 2);
    let q = store.query_message("T", "k", 32, t2 - 1000, i64::MAX, false);
    assert_eq!(bodies(&q), vec![b"late".to_vec()]);
    let q = store.query_message("T", "k", 32, 0, t1 + 500, false);
    assert_eq!(bodies(&q), vec![b"early".to_vec()]);
    let q = store.query_message("T", "k", 32, t2 + 5000, i64::MAX, false);
    assert!(q.messages.is_empty());
    store.shutdown().unwrap();
}

#[test]
fn half_messages_are_indexed_rollbacks_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut half = msg("T", 0, b"half", "");
    let props = encode_properties(&[("KEYS", "tx")]);
    half.properties = &props;
    half.sys_flag = sys_flag::TRANSACTION_PREPARED_TYPE;
    store.put(half);
    let mut rollback = half;
    rollback.sys_flag = sys_flag::TRANSACTION_ROLLBACK_TYPE;
    rollback.body = b"rollback";
    store.put(rollback);
    settle(&store);
    let q = store.query_message("T", "tx", 32, 0, i64::MAX, false);
    assert_eq!(bodies(&q), vec![b"half".to_vec()]);
    store.shutdown().unwrap();
}

#[test]
fn disabled_index_finds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(StoreConfig {
        message_index_enable: false,
        ..small_config(dir.path())
    })
    .unwrap();
    store.put(msg("T", 0, b"x", &keyed(1)));
    settle(&store);
    assert!(store
        .query_message("T", "order-1", 32, 0, i64::MAX, false)
        .messages
        .is_empty());
    store.shutdown().unwrap();
}
