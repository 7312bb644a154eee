//! Put and get scenarios: round trips, pull statuses and limits, segment rolling, zero copy.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use ferromq_proto::message::{
    decode_offset_msg_id, encode_properties, sys_flag, tags_code, MAGIC_BLANK,
};
use ferromq_store::{Arrival, GetStatus, MessageStore, PutStatus, StoreConfig, StoreError};

#[test]
fn put_then_get_round_trips_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let props = encode_properties(&[("TAGS", "TagA"), ("KEYS", "k1 k2"), ("UNIQ_KEY", "ABC")]);
    let mut results = Vec::new();
    for i in 0..10 {
        let b = body(i);
        let r = store.put(msg("TopicA", 3, &b, &props));
        assert_eq!(r.status, PutStatus::PutOk);
        assert_eq!(r.queue_offset, i as i64);
        results.push(r);
    }
    settle(&store);
    let got = store.get_message("TopicA", 3, 0, 32, None);
    assert_eq!(got.status, GetStatus::Found);
    assert_eq!(
        (got.next_begin_offset, got.min_offset, got.max_offset),
        (10, 0, 10)
    );
    let msgs = decode_all(&got.messages);
    assert_eq!(msgs.len(), 10);
    for (i, (m, r)) in msgs.iter().zip(&results).enumerate() {
        assert_eq!(&m.body[..], &body(i)[..]);
        assert_eq!(m.topic, "TopicA");
        assert_eq!((m.queue_id, m.queue_offset), (3, i as i64));
        assert_eq!(m.commit_log_offset, r.physical_offset);
        assert_eq!(m.store_size, r.size);
        assert_eq!(m.store_timestamp, r.store_timestamp);
        assert_eq!(m.born_host.to_string(), BORN);
        assert_eq!(m.store_host.to_string(), STORE);
        assert_eq!(m.tags(), Some("TagA"));
        assert_eq!(m.properties.get("UNIQ_KEY"), Some("ABC"));
        let (host, offset) = decode_offset_msg_id(&r.msg_id).unwrap();
        assert_eq!(
            (host.to_string(), offset),
            (STORE.to_owned(), r.physical_offset)
        );
        let looked = store.look_message_decoded(r.physical_offset).unwrap();
        assert_eq!(&looked, m);
    }
    assert_eq!(store.max_offset_in_queue("TopicA", 3), 10);
    assert_eq!(store.min_offset_in_queue("TopicA", 3), 0);
    assert!(store
        .look_message_by_offset(results[0].physical_offset + 1)
        .is_none());
    let stats = store.stats();
    assert_eq!(stats.put_message_times_total, 10);
    assert_eq!(stats.get_message_times_total_found, 1);
    assert_eq!(stats.get_message_transferred_msg_count, 10);
    store.shutdown().unwrap();
}

#[test]
fn pulled_records_are_slices_of_the_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for i in 0..3 {
        store.put(msg("Z", 0, &body(i), ""));
    }
    settle(&store);
    let got = store.get_message("Z", 0, 0, 32, None);
    let a = &got.messages;
    // Consecutive records are adjacent in memory: one mapping, no copies.
    assert_eq!(a[0].as_ptr() as usize + a[0].len(), a[1].as_ptr() as usize);
    assert_eq!(a[1].as_ptr() as usize + a[1].len(), a[2].as_ptr() as usize);
    // A second lookup of the same record points at the same bytes.
    let phys = decode_all(&a[1..2])[0].commit_log_offset;
    assert_eq!(
        store.look_message_by_offset(phys).unwrap().as_ptr(),
        a[1].as_ptr()
    );
    // Slices outlive the store.
    store.shutdown().unwrap();
    drop(store);
    assert_eq!(decode_all(&a[..1])[0].queue_offset, 0);
}

#[test]
fn pull_status_table() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let g = store.get_message("Nope", 0, 5, 32, None);
    assert_eq!(
        (g.status, g.next_begin_offset),
        (GetStatus::NoMatchedLogicQueue, 0)
    );
    let tag_a = encode_properties(&[("TAGS", "TagA")]);
    for i in 0..5 {
        store.put(msg("T", 0, &body(i), &tag_a));
    }
    settle(&store);
    let g = store.get_message("T", 0, 5, 32, None);
    assert_eq!(
        (g.status, g.next_begin_offset),
        (GetStatus::OffsetOverflowOne, 5)
    );
    let g = store.get_message("T", 0, 9, 32, None);
    assert_eq!(
        (g.status, g.next_begin_offset),
        (GetStatus::OffsetOverflowBadly, 5)
    );
    assert_eq!(g.status.as_str(), "OFFSET_OVERFLOW_BADLY");
    let g = store.get_message("T", 0, 2, 32, None);
    assert_eq!(
        (g.status, g.next_begin_offset, g.messages.len()),
        (GetStatus::Found, 5, 3)
    );
    // Tag filtering by hash: everything rejected scans all units.
    let only_b = |code: i64| code == tags_code(Some("TagB"));
    let g = store.get_message("T", 0, 1, 32, Some(&only_b));
    assert_eq!(
        (g.status, g.next_begin_offset),
        (GetStatus::NoMatchedMessage, 5)
    );
    let only_a = |code: i64| code == tags_code(Some("TagA"));
    let g = store.get_message("T", 0, 1, 2, Some(&only_a));
    assert_eq!(
        (g.status, g.next_begin_offset, g.messages.len()),
        (GetStatus::Found, 3, 2)
    );
    assert!(!g.suggest_pulling_from_slave);
    store.shutdown().unwrap();
}

#[test]
fn pull_batch_limits() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        mapped_file_size_commit_log: 4 << 20,
        ..small_config(dir.path())
    };
    let store = MessageStore::open(config).unwrap();
    for i in 0..40 {
        store.put(msg("Count", 0, &body(i), ""));
    }
    let big = vec![7u8; 100 * 1024];
    for _ in 0..4 {
        store.put(msg("Bytes", 0, &big, ""));
    }
    settle(&store);
    // 32 messages per pull for data in memory, even when 64 are asked for.
    let g = store.get_message("Count", 0, 0, 64, None);
    assert_eq!((g.messages.len(), g.next_begin_offset), (32, 32));
    // 256 KiB per pull: two 100 KiB records fit, a third does not.
    let g = store.get_message("Bytes", 0, 0, 32, None);
    assert_eq!((g.messages.len(), g.next_begin_offset), (2, 2));
    // The first message always comes, whatever max_msgs says.
    let g = store.get_message("Count", 0, 0, 0, None);
    assert_eq!((g.messages.len(), g.next_begin_offset), (1, 1));
    store.shutdown().unwrap();
}

#[test]
fn a_heavily_filtered_pull_scans_at_most_16000_bytes_of_units() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        mapped_file_size_commit_log: 1 << 20,
        mapped_file_size_consume_queue: 2000 * 20,
        ..small_config(dir.path())
    };
    let store = MessageStore::open(config).unwrap();
    for _ in 0..1000 {
        store.put(msg("F", 0, b"x", ""));
    }
    settle(&store);
    let none = |_: i64| false;
    let g = store.get_message("F", 0, 0, 32, Some(&none));
    assert_eq!(
        (g.status, g.next_begin_offset),
        (GetStatus::NoMatchedMessage, 800)
    );
    store.shutdown().unwrap();
}

#[test]
fn segments_roll_with_a_blank_filler_and_records_never_span_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        mapped_file_size_commit_log: 4096,
        ..small_config(dir.path())
    };
    let store = MessageStore::open(config).unwrap();
    let seg = store.config().mapped_file_size_commit_log as i64;
    let mut offsets = Vec::new();
    for i in 0..300 {
        let r = store.put(msg("Roll", 1, &body(i), ""));
        assert_eq!(r.status, PutStatus::PutOk);
        assert_eq!(
            r.physical_offset / seg,
            (r.physical_offset + i64::from(r.size) - 1) / seg
        );
        offsets.push((r.physical_offset, i64::from(r.size)));
    }
    assert!(
        store.commit_log_max_offset() > 2 * seg,
        "several segments used"
    );
    let files = std::fs::read_dir(dir.path().join("commitlog"))
        .unwrap()
        .count();
    assert!(files >= 3);
    // Where a record is followed by one in the next segment, the gap holds the BLANK filler.
    let mut blanks = 0;
    for w in offsets.windows(2) {
        let end = w[0].0 + w[0].1;
        if w[1].0 != end {
            assert_eq!(w[1].0 % seg, 0);
            let file = dir
                .path()
                .join("commitlog")
                .join(format!("{:020}", end - end % seg));
            let raw = std::fs::read(file).unwrap();
            let pos = (end % seg) as usize;
            let size = i32::from_be_bytes(raw[pos..pos + 4].try_into().unwrap());
            let magic = i32::from_be_bytes(raw[pos + 4..pos + 8].try_into().unwrap());
            assert_eq!((size as i64, magic), (seg - end % seg, MAGIC_BLANK));
            blanks += 1;
        }
    }
    assert!(blanks >= 2);
    settle(&store);
    let mut next = 0;
    let mut seen = 0;
    while next < 300 {
        let g = store.get_message("Roll", 1, next, 32, None);
        for m in decode_all(&g.messages) {
            assert_eq!(&m.body[..], &body(m.queue_offset as usize)[..]);
            seen += 1;
        }
        next = g.next_begin_offset;
    }
    assert_eq!(seen, 300);
    store.shutdown().unwrap();
}

#[test]
fn consume_queue_spans_files_and_a_pull_stops_at_a_file_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for i in 0..250 {
        store.put(msg("Q", 0, &body(i), ""));
    }
    settle(&store);
    store.flush().unwrap();
    let cq_files = std::fs::read_dir(dir.path().join("consumequeue/Q/0"))
        .unwrap()
        .count();
    assert_eq!(cq_files, 3, "100 units per file");
    let g = store.get_message("Q", 0, 90, 32, None);
    assert_eq!((g.messages.len(), g.next_begin_offset), (10, 100));
    let g = store.get_message("Q", 0, 100, 32, None);
    assert_eq!(decode_all(&g.messages)[0].queue_offset, 100);
    store.shutdown().unwrap();
}

#[test]
fn batches_get_consecutive_offsets_and_joined_ids() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.put(msg("B", 0, b"first", ""));
    let bodies: Vec<Vec<u8>> = (0..4).map(body).collect();
    let batch: Vec<_> = bodies.iter().map(|b| msg("B", 0, b, "")).collect();
    let r = store.put_batch(&batch);
    assert_eq!(r.status, PutStatus::PutOk);
    assert_eq!((r.queue_offset, r.message_count), (1, 4));
    let ids: Vec<_> = r.msg_id.split(',').collect();
    assert_eq!(ids.len(), 4);
    assert_eq!(decode_offset_msg_id(ids[0]).unwrap().1, r.physical_offset);
    settle(&store);
    let g = store.get_message("B", 0, 1, 32, None);
    let total: usize = g.messages.iter().map(|m| m.len()).sum();
    assert_eq!(total as i32, r.size);
    assert_eq!(
        decode_all(&g.messages)
            .iter()
            .map(|m| m.queue_offset)
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    store.shutdown().unwrap();
}

#[test]
fn refused_messages() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        max_message_size: 1000,
        ..small_config(dir.path())
    };
    let store = MessageStore::open(config).unwrap();
    assert_eq!(
        store.put(msg("T", 0, &[0; 1001], "")).status,
        PutStatus::MessageIllegal
    );
    let props = format!("k\u{1}{}\u{2}", "v".repeat(40_000));
    assert_eq!(
        store.put(msg("T", 0, b"", &props)).status,
        PutStatus::PropertiesSizeExceeded
    );
    assert_eq!(
        store.put(msg("../evil", 0, b"", "")).status,
        PutStatus::MessageIllegal
    );
    assert_eq!(
        store.put(msg("T", -1, b"", "")).status,
        PutStatus::MessageIllegal
    );
    assert_eq!(store.put_batch(&[]).status, PutStatus::MessageIllegal);
    assert_eq!(store.stats().put_message_failed_times, 5);
    assert!(matches!(
        MessageStore::open(small_config(dir.path())),
        Err(StoreError::Locked { .. })
    ));
    store.shutdown().unwrap();
    assert_eq!(
        store.put(msg("T", 0, b"", "")).status,
        PutStatus::ServiceNotAvailable
    );
}

#[test]
fn half_messages_get_no_queue_unit() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut half = msg("Tx", 0, b"half", "");
    half.sys_flag = sys_flag::TRANSACTION_PREPARED_TYPE;
    let r = store.put(half);
    assert_eq!((r.status, r.queue_offset), (PutStatus::PutOk, 0));
    let r2 = store.put(msg("Tx", 0, b"plain", ""));
    assert_eq!(r2.queue_offset, 0);
    settle(&store);
    assert_eq!(store.max_offset_in_queue("Tx", 0), 1);
    assert_eq!(
        &store.look_message_decoded(r.physical_offset).unwrap().body[..],
        b"half"
    );
    store.shutdown().unwrap();
}

#[test]
fn arrivals_are_reported_after_dispatch() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    type Seen = Vec<(String, i32, i64, i64, i64)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let sink = Arc::clone(&seen);
    store.set_arrival_listener(Arc::new(move |a: &Arrival<'_>| {
        sink.lock().unwrap().push((
            a.topic.to_owned(),
            a.queue_id,
            a.queue_offset,
            a.max_offset,
            a.tags_code,
        ));
    }));
    let props = encode_properties(&[("TAGS", "TagA")]);
    store.put(msg("W", 2, b"a", &props));
    store.put(msg("W", 2, b"b", ""));
    settle(&store);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("W".to_owned(), 2, 0, 1, 2_598_919),
            ("W".to_owned(), 2, 1, 2, 0)
        ]
    );
    store.shutdown().unwrap();
}

#[test]
fn offsets_by_store_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut times = Vec::new();
    for i in 0..20 {
        times.push(store.put(msg("Time", 0, &body(i), "")).store_timestamp);
        if i % 5 == 4 {
            std::thread::sleep(std::time::Duration::from_millis(3));
        }
    }
    settle(&store);
    assert_eq!(store.offset_by_timestamp("Time", 0, 0), 0);
    assert_eq!(store.offset_by_timestamp("Time", 0, i64::MAX), 20);
    assert_eq!(store.offset_by_timestamp("Nope", 0, 0), 0);
    for (i, &t) in times.iter().enumerate() {
        let first = times.iter().position(|&x| x >= t).unwrap() as i64;
        assert_eq!(
            store.offset_by_timestamp("Time", 0, t),
            first,
            "message {i}"
        );
    }
    assert_eq!(store.earliest_message_time("Time", 0), Some(times[0]));
    assert_eq!(store.message_store_timestamp("Time", 0, 7), Some(times[7]));
    assert_eq!(store.message_store_timestamp("Time", 0, 20), None);
    store.shutdown().unwrap();
}

#[test]
fn deleted_topics_lose_their_queues_and_restart_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for i in 0..3 {
        store.put(msg("Gone", i, b"x", ""));
    }
    store.put(msg("Kept", 0, b"x", ""));
    settle(&store);
    assert_eq!(store.delete_topics(&["Gone"]).unwrap(), 3);
    assert!(!dir.path().join("consumequeue/Gone").exists());
    assert_eq!(
        store.get_message("Gone", 0, 0, 32, None).status,
        GetStatus::NoMatchedLogicQueue
    );
    assert_eq!(store.max_offset_in_queue("Kept", 0), 1);
    assert_eq!(store.put(msg("Gone", 0, b"y", "")).queue_offset, 0);
    settle(&store);
    assert_eq!(store.get_message("Gone", 0, 0, 32, None).messages.len(), 1);
    store.shutdown().unwrap();
}

#[test]
fn in_disk_check_follows_the_memory_ratio() {
    let props = encode_properties(&[("TAGS", "TagA")]);
    for (ratio, expected) in [(40, false), (0, true)] {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            access_message_in_memory_max_ratio: ratio,
            ..small_config(dir.path())
        };
        let store = MessageStore::open(config).unwrap();
        for i in 0..3 {
            let b = body(i);
            assert_eq!(
                store.put(msg("TopicD", 0, &b, &props)).status,
                PutStatus::PutOk
            );
        }
        settle(&store);
        assert_eq!(
            store.check_in_disk_by_consume_offset("TopicD", 0, 0),
            expected,
            "ratio {ratio}"
        );
        assert!(!store.check_in_disk_by_consume_offset("TopicD", 0, 99));
        assert!(!store.check_in_disk_by_consume_offset("NoTopic", 0, 0));
        store.shutdown().unwrap();
    }
}
