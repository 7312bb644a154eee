//! A name-server request sent to a broker (a client given the broker's address as its name
//! server) is answered with RocketMQ's REQUEST_CODE_NOT_SUPPORTED and remark, followed by a
//! hint that the addresses may be swapped.

mod support;

use ferromq_proto::codes::{response, NAMESRV_REQUESTS};
use ferromq_proto::RemotingCommand;
use support::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_server_requests_get_a_hint() {
    let t = start(|_| {}).await;
    for (code, name) in NAMESRV_REQUESTS {
        let resp = t.call(RemotingCommand::bare_request(*code)).await;
        assert_eq!(resp.code, response::REQUEST_CODE_NOT_SUPPORTED, "{name}");
        let remark = resp.remark.unwrap_or_default();
        assert!(
            remark.starts_with(&format!(" request type {code} not supported; {name} is a name-server request, but this address is a broker")),
            "{remark}"
        );
        assert!(remark.contains("-n and -b"), "{remark}");
    }
    // A code nobody serves gets RocketMQ's remark alone.
    let resp = t.call(RemotingCommand::bare_request(12345)).await;
    assert_eq!(resp.code, response::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(
        resp.remark.as_deref(),
        Some(" request type 12345 not supported")
    );
    t.stop().await;
}
