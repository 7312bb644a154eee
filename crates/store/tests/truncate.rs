//! Cutting a closed store back to an offset (a slave dropping bytes its new master never had):
//! after reopening, the log, consume queues and index end at the cut, and new writes continue
//! from there.

mod common;

use std::time::Duration;

use common::*;
use ferromq_store::MessageStore;

const TOPIC: &str = "TopicCut";

async fn put_range(store: &MessageStore, from: usize, to: usize) -> i64 {
    let mut end = 0;
    for i in from..to {
        let b = body(i);
        let props = format!("KEYS\u{1}key{i}\u{2}");
        let r = store
            .put_message(msg(TOPIC, (i % 3) as i32, &b, &props))
            .await;
        assert!(r.status.is_stored());
        end = r.end_offset;
    }
    end
}

fn count(store: &MessageStore) -> usize {
    (0..3)
        .map(|q| {
            let mut n = 0;
            let mut offset = 0;
            loop {
                let r = store.get_message(TOPIC, q, offset, 32, None);
                if r.messages.is_empty() {
                    return n;
                }
                n += r.messages.len();
                offset = r.next_begin_offset;
            }
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_store_reopens_at_the_cut_and_continues() {
    for clean in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let cut = put_range(&store, 0, 150).await;
        let end = put_range(&store, 150, 1200).await;
        assert!(end > cut + 64 * 1024, "the cut should be segments back");
        settle(&store);
        if clean {
            store.shutdown().unwrap();
        }
        drop(store);
        let report = MessageStore::truncate_closed(&small_config(dir.path()), cut).unwrap();
        assert!(report.segments_removed >= 1, "{report:?}");

        let store = open(dir.path());
        assert_eq!(store.commit_log_max_offset(), cut);
        assert!(store.wait_for_dispatch(Duration::from_secs(5)));
        assert_eq!(count(&store), 150, "clean={clean}");
        let gone = store.query_message(TOPIC, "key1100", 10, 0, i64::MAX, false);
        assert!(
            gone.messages.is_empty(),
            "an index entry past the cut survived"
        );
        let kept = store.query_message(TOPIC, "key149", 10, 0, i64::MAX, false);
        assert_eq!(kept.messages.len(), 1);
        // New writes continue the queues where the cut left them.
        let b = body(1000);
        let r = store.put_message(msg(TOPIC, 0, &b, "")).await;
        assert_eq!(r.physical_offset, cut);
        assert_eq!(r.queue_offset, 50);
        assert_eq!(count(&store), 151);
        store.shutdown().unwrap();
    }
}

#[test]
fn an_open_store_cannot_be_cut() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let err = MessageStore::truncate_closed(&small_config(dir.path()), 0).unwrap_err();
    assert!(err.to_string().contains("lock"), "{err}");
    drop(store);
}
