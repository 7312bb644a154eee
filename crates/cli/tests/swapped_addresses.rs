//! Issue 16: swapping the name-server and broker addresses used to answer only
//! `request type 17 not supported`. mqadmin now shows RocketMQ's remark followed by a hint.

mod common;

use common::*;

#[test]
fn mqadmin_with_swapped_addresses_prints_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let sa = start_standalone(dir.path());

    // -n and -b swapped: the topic is created on the -b address, which is the name server.
    let (code, out, err) = mqadmin(&[
        "updateTopic",
        "-n",
        &sa.broker,
        "-b",
        &sa.namesrv,
        "-t",
        "tp_swapped",
        "-w",
        "2",
    ]);
    assert_ne!(code, 0, "{out}{err}");
    let all = format!("{out}{err}");
    assert!(all.contains("CODE: 3"), "{all}");
    assert!(
        all.contains("request type 17 not supported; UPDATE_AND_CREATE_TOPIC is a broker request, but this address is a name server"),
        "{all}"
    );

    // A broker's address given as the name server.
    let (code, out, err) = mqadmin(&["topicRoute", "-n", &sa.broker, "-t", "TBW102"]);
    assert_ne!(code, 0, "{out}{err}");
    let all = format!("{out}{err}");
    assert!(
        all.contains("request type 105 not supported; GET_ROUTEINFO_BY_TOPIC is a name-server request, but this address is a broker"),
        "{all}"
    );

    // The right way round still works.
    let (code, out, err) = mqadmin(&[
        "updateTopic",
        "-n",
        &sa.namesrv,
        "-b",
        &sa.broker,
        "-t",
        "tp_swapped",
        "-w",
        "2",
    ]);
    assert_eq!(code, 0, "{out}{err}");
}
