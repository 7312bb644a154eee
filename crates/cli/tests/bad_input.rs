//! Bad input against a real broker process: each gets RocketMQ's error code with a readable
//! remark, or a closed connection, while other clients keep being served and nothing stored is
//! lost.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use ferromq_client::{Message, Producer, PullConsumer, PullStatus};
use ferromq_net::RemotingClient;
use ferromq_proto::codes::{request, response};
use ferromq_proto::headers::SendMessageRequestHeaderV2;
use ferromq_proto::RemotingCommand;

const T: Duration = Duration::from_secs(5);

fn send_header(topic: &str) -> SendMessageRequestHeaderV2 {
    SendMessageRequestHeaderV2 {
        a: "PG_bad".into(),
        b: topic.into(),
        c: "TBW102".into(),
        d: 4,
        e: 0,
        f: 0,
        g: 1_700_000_000_000,
        h: 0,
        i: Some("TAGS\u{1}A\u{2}".into()),
        ..Default::default()
    }
}

/// Writes `bytes` on a fresh connection and returns true when the broker closes it.
fn closed_after(addr: &str, bytes: &[u8]) -> bool {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(bytes).unwrap();
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf), Ok(0) | Err(_))
}

#[test]
fn bad_input_gets_error_codes_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-bad", "maxMessageSize=1024");
    let (code, out, err) = mqadmin(&[
        "updateTopic",
        "-n",
        &ns.addr,
        "-b",
        &broker.addr,
        "-t",
        "tp_bad",
        "-r",
        "1",
        "-w",
        "1",
    ]);
    assert_eq!(code, 0, "{out}{err}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let producer = Producer::builder("PG_bad")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        let before = producer
            .send(Message::new("tp_bad", "kept-before"))
            .await
            .unwrap();
        assert_eq!(before.queue_offset, 0);

        // A long-lived client on its own connection must be unaffected by the others' garbage.
        let good = RemotingClient::default();
        let ping = || RemotingCommand::bare_request(request::GET_BROKER_RUNTIME_INFO);
        assert_eq!(
            good.invoke(&broker.addr, ping(), T).await.unwrap().code,
            response::SUCCESS
        );

        // 1. A garbage frame (bad header length) and 2. a frame over the 16 MiB limit close only
        // their own connections.
        let addr = broker.addr.clone();
        let garbage_closed = tokio::task::spawn_blocking(move || {
            let garbage = closed_after(&addr, b"\x00\x00\x00\x0c\x00\xff\xff\xffnot a frame!");
            let oversized = closed_after(&addr, &(17u32 * 1024 * 1024).to_be_bytes());
            let not_json = closed_after(&addr, b"\x00\x00\x00\x09\x00\x00\x00\x05{{{{{");
            (garbage, oversized, not_json)
        })
        .await
        .unwrap();
        assert_eq!(garbage_closed, (true, true, true));
        assert_eq!(
            good.invoke(&broker.addr, ping(), T).await.unwrap().code,
            response::SUCCESS
        );

        // 3. An unknown request code is answered, not dropped.
        let r = good
            .invoke(&broker.addr, RemotingCommand::bare_request(12345), T)
            .await
            .unwrap();
        assert_eq!(r.code, response::REQUEST_CODE_NOT_SUPPORTED);
        assert!(r.remark.unwrap_or_default().contains("12345"));

        // 4. An invalid topic name.
        let r = good
            .invoke(
                &broker.addr,
                RemotingCommand::request(request::SEND_MESSAGE_V2, &send_header("bad topic!"))
                    .with_body("x"),
                T,
            )
            .await
            .unwrap();
        assert_eq!(r.code, response::INVALID_PARAMETER, "{:?}", r.remark);
        assert!(r.remark.unwrap_or_default().contains("bad topic!"));

        // 5. A message over maxMessageSize (1024 here).
        let r = good
            .invoke(
                &broker.addr,
                RemotingCommand::request(request::SEND_MESSAGE_V2, &send_header("tp_bad"))
                    .with_body(vec![b'x'; 2000]),
                T,
            )
            .await
            .unwrap();
        assert_eq!(r.code, response::MESSAGE_ILLEGAL, "{:?}", r.remark);
        assert!(r.remark.unwrap_or_default().contains("1024"));

        // A header missing a required field.
        let mut missing =
            RemotingCommand::request(request::SEND_MESSAGE_V2, &send_header("tp_bad"))
                .with_body("x");
        missing.ext_fields.remove("b");
        let r = good.invoke(&broker.addr, missing, T).await.unwrap();
        assert_eq!(r.code, response::INVALID_PARAMETER, "{:?}", r.remark);

        // Nothing stored was lost and the broker still takes writes.
        let after = producer
            .send(Message::new("tp_bad", "kept-after"))
            .await
            .unwrap();
        assert_eq!(after.queue_offset, 1);
        let consumer = PullConsumer::builder("CG_bad")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        let mq = consumer.fetch_queues("tp_bad").await.unwrap().remove(0);
        // Consume queues are built from the log asynchronously (RocketMQ's reput): wait until
        // both messages are visible before reading them back.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while consumer.max_offset(&mq).await.unwrap() < 2 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let pulled = consumer.pull(&mq, 0, 32).await.unwrap();
        assert_eq!(pulled.status, PullStatus::Found);
        let bodies: Vec<&[u8]> = pulled.messages.iter().map(|m| &m.body[..]).collect();
        assert_eq!(bodies, vec![&b"kept-before"[..], &b"kept-after"[..]]);
    });
}
