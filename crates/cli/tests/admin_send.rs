//! `mqadmin sendMessage` and `checkMsgSendRT` against a running name server and broker.

mod common;

use std::time::Duration;

use common::{create_topic, mqadmin, mqadmin_until, start_broker, start_namesrv};

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn send_message_and_check_msg_send_rt_send_through_a_real_broker() {
    let dir = tempfile::tempdir().unwrap();
    let ns = start_namesrv(dir.path());
    let broker = start_broker(dir.path(), &ns.addr, "broker-send", "");
    create_topic(&ns.addr, &broker.addr, "tp_send", 2);
    mqadmin_until(
        &["topicRoute", "-n", &ns.addr, "-t", "tp_send"],
        WAIT,
        |o| o.contains("broker-send"),
    );

    // sendMessage: RocketMQ's two lines, and the message is really there.
    let (code, out, err) = mqadmin(&[
        "sendMessage",
        "-n",
        &ns.addr,
        "-t",
        "tp_send",
        "-p",
        "hello from mqadmin",
        "-k",
        "send-key-1",
        "-c",
        "TagS",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "#Broker Name                      #QID  #Send Result            #MsgId"
    );
    let fields: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(fields[0], "broker-send", "{out}");
    assert_eq!(fields[2], "SEND_OK", "{out}");
    let msg_id = fields[3];
    let found = mqadmin_until(
        &[
            "queryMsgByKey",
            "-n",
            &ns.addr,
            "-t",
            "tp_send",
            "-k",
            "send-key-1",
        ],
        WAIT,
        |o| o.contains(msg_id),
    );
    assert!(found.contains(msg_id), "{found}");

    // To a chosen queue.
    let (code, out, err) = mqadmin(&[
        "sendMessage",
        "-n",
        &ns.addr,
        "-t",
        "tp_send",
        "-p",
        "q1",
        "-b",
        "broker-send",
        "-i",
        "1",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let fields: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&fields[..3], ["broker-send", "1", "SEND_OK"], "{out}");
    // A queue without a broker: Java's notice, nothing sent.
    let (code, out, _) = mqadmin(&[
        "sendMessage",
        "-n",
        &ns.addr,
        "-t",
        "tp_send",
        "-p",
        "x",
        "-i",
        "1",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out, "Broker name must be set if the queue is chosen!");
    // Bad input: exit 1 with RocketMQ's style of message.
    let (code, _, err) = mqadmin(&[
        "sendMessage",
        "-n",
        &ns.addr,
        "-t",
        "tp_send",
        "-p",
        "x",
        "-b",
        "broker-send",
        "-i",
        "one",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("SendMessageCommand command failed"), "{err}");
    assert!(err.contains("For input string: \"one\""), "{err}");
    let (code, _, _) = mqadmin(&["sendMessage", "-n", &ns.addr, "-t", "tp_send"]);
    assert_eq!(code, 1, "-p is required");
    let (code, _, err) = mqadmin(&["sendMessage", "-n", &ns.addr, "-t", "bad topic!", "-p", "x"]);
    assert_eq!(code, 1, "an illegal topic name is refused: {err}");

    // checkMsgSendRT: one line per send, queues in turn, the average without the first.
    let (code, out, err) = mqadmin(&[
        "checkMsgSendRT",
        "-n",
        &ns.addr,
        "-t",
        "tp_send",
        "-a",
        "4",
        "-s",
        "16",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    assert!(lines[0].starts_with("#Broker Name"), "{out}");
    let queues: Vec<&str> = lines[1..5]
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!((f[0], f[2]), ("broker-send", "true"), "{out}");
            f[1]
        })
        .collect();
    assert_eq!(queues, ["0", "1", "0", "1"], "{out}");
    assert!(lines[5].starts_with("Avg RT: "), "{out}");
    lines[5]["Avg RT: ".len()..].parse::<f64>().unwrap();
    let (code, _, _) = mqadmin(&["checkMsgSendRT", "-n", &ns.addr, "-t", "tp_send"]);
    assert_eq!(code, 1, "-s is required, as in RocketMQ");
    let (code, _, err) = mqadmin(&["checkMsgSendRT", "-n", &ns.addr, "-t", "tp_send", "-s", "0"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("CheckMsgSendRTCommand command failed"),
        "{err}"
    );
}
