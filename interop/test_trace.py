"""Message trace for a client that does not trace: the broker records it (`brokerTraceEnable`).

A message sent by the official C++ client and consumed by its push consumer shows its life in
`mqadmin queryMsgTraceById`: the Pub row of RocketMQ's table with the C++ producer's group, and
in the life the store, the delivery to the group, and (for a message the callback fails with no
retries allowed) the failed consumption and the move to the dead-letter queue."""
import pytest

from cpp_client import Collector, SendStatus, make_message, snapshot
from harness import wait_until

pytestmark = [
    pytest.mark.timeout(150),
    # The binding re-raises the callback's exception after answering RECONSUME_LATER.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def trace_of(cluster, msg_id, *wanted):
    """queryMsgTraceById until every string of `wanted` is in its output."""
    out = {"text": ""}

    def ready():
        r = cluster.admin("queryMsgTraceById", "-i", msg_id, check=False)
        out["text"] = r.stdout + r.stderr
        return r.returncode == 0 and all(w in r.stdout for w in wanted)

    wait_until(ready, 60, what=f"the trace of {msg_id} to show {wanted}")
    return out["text"]


def test_cpp_client_messages_show_their_life_in_the_broker_trace(namesrv_only, clients, uniq):
    cluster = namesrv_only
    cluster.add_broker("broker-a", extra={"brokerTraceEnable": "true"})
    topic, group, pgroup = f"TTrace_{uniq}", f"CG_trace_{uniq}", f"PG_trace_{uniq}"
    cluster.create_topic(topic, queues=2)
    # No retries: a failed message goes straight to the DLQ.
    cluster.admin("updateSubGroup", "-c", cluster.cluster_name, "-g", group, "-r", "0")

    got = Collector("trace")

    def callback(msg):
        got(msg)
        if snapshot(msg)["body"].startswith("poison"):
            raise RuntimeError("the listener failed on purpose")

    clients.push_consumer(cluster.namesrv_addr, group, topic, callback)
    p = clients.producer(cluster.namesrv_addr, pgroup)
    ok = p.send_sync(make_message(topic, "fine", tags="TagT", keys="trace-k1"))
    bad = p.send_sync(make_message(topic, "poison", tags="TagT", keys="trace-k2"))
    assert ok.status == SendStatus.OK and bad.status == SendStatus.OK

    text = trace_of(cluster, ok.msg_id, f"Pub        {pgroup}", "delivered (retry 0)")
    lines = text.splitlines()
    assert lines[0].startswith("#Type      #ProducerGroup"), text
    assert lines[1].startswith(f"Pub        {pgroup}") and lines[1].rstrip().endswith("success"), text
    life = text[text.index("Life of the message"):]
    assert group in life and topic in life, text

    text = trace_of(cluster, bad.msg_id, "moved to the dead-letter queue", "consumed, failed")
    life = text[text.index("Life of the message"):].splitlines()[2:]
    order = [next(i for i, l in enumerate(life) if w in l)
             for w in ("sent, success", "delivered (retry 0)", "consumed, failed",
                       "moved to the dead-letter queue")]
    assert order == sorted(order), text
    assert f"%DLQ%{group}" in text, text
