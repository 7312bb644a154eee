//! The pull path copies no message bytes: the body pieces a pull response hands to the socket
//! writer are slices of the commit log's memory mapping, and the writer sends them by reference
//! (its copied-bytes counter grows by the frame headers only).
//!
//! In-process on purpose: pointers are only comparable inside one address space. One test per
//! file, because the writer's counters are process-wide.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferromq_broker::handlers::BrokerHandler;
use ferromq_broker::{Broker, BrokerConfig};
use ferromq_cli::bench::wire::{QueueTarget, SendTemplate};
use ferromq_common::config::Properties;
use ferromq_net::{copy_stats, ConnectionConfig, Handler, RemotingClient};
use ferromq_proto::codes::{request, response};
use ferromq_proto::command::SerializeType;
use ferromq_proto::headers::{pull_flag, CreateTopicRequestHeader, PullMessageRequestHeader};
use ferromq_proto::RemotingCommand;
use tokio_util::sync::CancellationToken;

const TOPIC: &str = "zero_copy";
const MESSAGES: usize = 32;
const BODY: usize = 1024;

/// Address ranges of this process's mappings of commit-log segment files.
fn commit_log_mappings() -> Vec<(usize, usize)> {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    maps.lines()
        .filter(|l| l.contains("/commitlog/"))
        .filter_map(|l| {
            let range = l.split_whitespace().next()?;
            let (a, b) = range.split_once('-')?;
            Some((
                usize::from_str_radix(a, 16).ok()?,
                usize::from_str_radix(b, 16).ok()?,
            ))
        })
        .collect()
}

fn inside(piece: &Bytes, maps: &[(usize, usize)]) -> bool {
    let start = piece.as_ptr() as usize;
    let end = start + piece.len();
    maps.iter().any(|&(a, b)| a <= start && end <= b)
}

fn pull_request(offset: i64) -> RemotingCommand {
    RemotingCommand::request(
        request::PULL_MESSAGE,
        &PullMessageRequestHeader {
            consumer_group: "zero_copy_group".into(),
            topic: TOPIC.into(),
            queue_id: 0,
            queue_offset: offset,
            max_msg_nums: MESSAGES as i32,
            sys_flag: pull_flag::SUBSCRIPTION,
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some("*".into()),
            sub_version: 0,
            expression_type: Some("TAG".into()),
            max_msg_bytes: None,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_responses_are_slices_of_the_mapped_commit_log_written_by_reference() {
    let dir = tempfile::tempdir().unwrap();
    let mut props = Properties::default();
    props.set("brokerName", "broker-a");
    props.set("brokerIP1", "127.0.0.1");
    props.set("mappedFileSizeCommitLog", "16777216");
    props.set(
        "storePathRootDir",
        &dir.path().join("store").display().to_string(),
    );
    let config = BrokerConfig::from_properties(&props).unwrap();
    let broker = tokio::task::spawn_blocking(move || Broker::open(config))
        .await
        .unwrap()
        .unwrap();
    let handler = Arc::new(BrokerHandler {
        broker: Arc::clone(&broker),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stop = CancellationToken::new();
    tokio::spawn(ferromq_net::serve(
        listener,
        handler.clone(),
        ConnectionConfig::default(),
        stop.clone(),
    ));
    let client = RemotingClient::default();
    let timeout = Duration::from_secs(5);

    let create = RemotingCommand::request(
        request::UPDATE_AND_CREATE_TOPIC,
        &CreateTopicRequestHeader {
            topic: TOPIC.into(),
            default_topic: "TBW102".into(),
            read_queue_nums: 1,
            write_queue_nums: 1,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: false,
            attributes: None,
            force: None,
        },
    );
    let resp = client.invoke(&addr, create, timeout).await.unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let send = SendTemplate {
        group: "zero_copy_producer".into(),
        topic: TOPIC.into(),
        serialize: SerializeType::Json,
        credentials: None,
    };
    let queue = QueueTarget {
        broker: "broker-a".into(),
        addr: addr.clone(),
        queue_id: 0,
    };
    for i in 0..MESSAGES {
        let body = Bytes::from(vec![b'a' + (i % 26) as u8; BODY]);
        let props = format!("UNIQ_KEY\u{1}ZC{i:030}\u{2}");
        let resp = client
            .invoke(&addr, send.request(&queue, body, props, false), timeout)
            .await
            .unwrap();
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    }
    let store = Arc::clone(&broker.store);
    assert!(
        tokio::task::spawn_blocking(move || store.wait_for_dispatch(Duration::from_secs(10)))
            .await
            .unwrap()
    );

    // 1. What the pull handler hands to the writer: every body piece lies inside a mapping of a
    //    commit-log segment file, none in the heap.
    let conn = client.connection(&addr).await.unwrap();
    let resp = handler
        .handle(conn.clone(), pull_request(0))
        .await
        .expect("a pull is answered at once when messages are there");
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert!(resp.body.is_empty(), "pull bodies travel in body_tail only");
    assert_eq!(resp.body_tail.len(), MESSAGES);
    let maps = commit_log_mappings();
    assert!(!maps.is_empty(), "no commit-log mapping in /proc/self/maps");
    for (i, piece) in resp.body_tail.iter().enumerate() {
        assert!(
            inside(piece, &maps),
            "record {i} at {:p} is not inside a commit-log mapping {maps:x?}",
            piece.as_ptr()
        );
    }
    let stored: usize = resp.body_tail.iter().map(Bytes::len).sum();
    assert!(stored > MESSAGES * BODY);

    // 2. Through the socket: the writers copy headers only; the records go by reference, and
    //    the client receives exactly the stored bytes.
    let before = copy_stats();
    let over_wire = client
        .invoke(&addr, pull_request(0), timeout)
        .await
        .unwrap();
    let after = copy_stats();
    assert_eq!(over_wire.code, response::SUCCESS);
    let expected: Vec<u8> = resp
        .body_tail
        .iter()
        .flat_map(|b| b.iter().copied())
        .collect();
    assert_eq!(&over_wire.body[..], &expected[..]);
    let by_reference = after.body_bytes_by_reference - before.body_bytes_by_reference;
    let copied = after.header_bytes_copied - before.header_bytes_copied;
    assert!(
        by_reference >= stored as u64,
        "records written by reference: {by_reference} of {stored} bytes"
    );
    // One request header and one response header, a few hundred bytes each.
    assert!(
        copied < 4096,
        "the writers copied {copied} bytes for one pull of {stored} bytes"
    );

    stop.cancel();
    client.close_all().await;
    let store = Arc::clone(&broker.store);
    tokio::task::spawn_blocking(move || store.shutdown())
        .await
        .unwrap()
        .unwrap();
}
