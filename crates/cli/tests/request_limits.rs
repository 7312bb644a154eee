//! Request-size limits of a broker process: `com.rocketmq.remoting.frameMaxLength` and
//! `remotingMaxHeaderSize` close the connection of a peer that announces more (with a warning
//! naming it), before the bytes arrive; `maxBatchMessageCount` refuses larger batches with
//! MESSAGE_ILLEGAL and a remark. Requests within the limits are still served.

mod client_util;
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use client_util::runtime;
use common::{create_topic, start_broker, start_namesrv};
use ferromq_client::{ClientError, Message, Producer, SendStatus};

/// Writes `bytes` and returns true when the broker then closes the connection (without sending
/// anything) within 10 s.
fn closed_after(addr: &str, bytes: &[u8]) -> bool {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(bytes).unwrap();
    let mut buf = [0u8; 64];
    // A timeout (WouldBlock / TimedOut) means the connection stayed open.
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

#[test]
fn oversized_frames_headers_and_batches_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-limits",
        "com.rocketmq.remoting.frameMaxLength=65536\nremotingMaxHeaderSize=4096\nmaxBatchMessageCount=3\n",
    );
    // A frame announcing 1 MiB (only its first 8 bytes sent): closed at once.
    let mut frame = Vec::new();
    frame.extend_from_slice(&(1024 * 1024i32).to_be_bytes());
    frame.extend_from_slice(&0x0100_0010u32.to_be_bytes());
    assert!(
        closed_after(&broker.addr, &frame),
        "a 1 MiB frame was not refused"
    );
    // A 20 KiB frame whose header claims 16 KiB: closed.
    let mut frame = Vec::new();
    frame.extend_from_slice(&(20 * 1024i32).to_be_bytes());
    frame.extend_from_slice(&(0x0100_0000u32 | (16 * 1024)).to_be_bytes());
    assert!(
        closed_after(&broker.addr, &frame),
        "a 16 KiB header was not refused"
    );
    let log = broker.proc.output();
    assert!(
        log.contains("refused frame") && log.contains("exceeds the limit of 65536"),
        "{log}"
    );
    assert!(log.contains("exceeds the limit of 4096"), "{log}");

    create_topic(&ns.addr, &broker.addr, "tp_limits", 1);
    runtime().block_on(async {
        let producer = Producer::builder("PG_limits")
            .namesrv_addr(ns.addr.clone())
            .build()
            .unwrap();
        let batch = |n: usize| {
            (0..n)
                .map(|i| Message::new("tp_limits", format!("m{i}")))
                .collect::<Vec<_>>()
        };
        let mut ok = None;
        for _ in 0..50 {
            match producer.send_batch(batch(3)).await {
                Ok(r) => {
                    ok = Some(r);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
            }
        }
        assert_eq!(
            ok.expect("a batch of 3 was never served").status,
            SendStatus::SendOk
        );
        let e = producer
            .send_batch(batch(4))
            .await
            .expect_err("a batch of 4 was served");
        let text = e.to_string();
        assert!(text.contains("maxBatchMessageCount"), "{text}");
        let broker_err = match &e {
            ClientError::SendFailed { source, .. } => source.as_ref(),
            other => other,
        };
        assert!(
            matches!(broker_err, ClientError::Broker { code: 13, .. }),
            "{e:?}"
        );
        // The connection that carried the refusals still serves.
        let r = producer
            .send(Message::new("tp_limits", "after"))
            .await
            .unwrap();
        assert_eq!(r.status, SendStatus::SendOk);
        producer.shutdown().await;
    });
}
