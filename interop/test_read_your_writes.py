"""Read-your-writes through the official C++ client: a message the producer got SEND_OK for is
at once pullable from the queue offset the send returned, with no waiting in between."""
import ctypes

import pytest

from cpp_client import RecvMessage, SendStatus, _CPullStatus, dll, fetch_queues, make_message, snapshot

pytestmark = pytest.mark.timeout(300)

QUEUES = 4
COUNT = 1000


def pull_one(pc, mq, offset):
    """One PULL of at most one message at `offset`: (status name, maxOffset, [snapshot])."""
    res = dll.Pull(pc._handle, ctypes.pointer(mq), b"*", ctypes.c_longlong(offset), 1)
    try:
        st = _CPullStatus(res.pullStatus)
        msgs = [snapshot(RecvMessage(res.msgFoundList[i])) for i in range(res.size)] \
            if st == _CPullStatus.FOUND else []
        return st.name, res.maxOffset, msgs
    finally:
        dll.ReleasePullResult(res)


@pytest.mark.parametrize("flush", ["ASYNC_FLUSH", "SYNC_FLUSH"])
def test_acknowledged_send_is_pullable_at_once(namesrv_only, clients, uniq, flush):
    cluster = namesrv_only
    broker = cluster.add_broker("broker-a", start=False)
    with open(broker.conf, "a") as f:
        f.write(f"flushDiskType={flush}\n")
    broker.start()
    topic = f"TRyw_{uniq}"
    cluster.create_topic(topic, queues=QUEUES)
    p = clients.producer(cluster.namesrv_addr, f"PG_ryw_{uniq}")
    pc = clients.pull_consumer(cluster.namesrv_addr, f"CG_ryw_{uniq}")
    queues = {qid: mq for _, qid, mq in fetch_queues(pc, topic)}
    assert sorted(queues) == list(range(QUEUES))

    misses = []
    for i in range(COUNT):
        body = f"ryw-{uniq}-{i}"
        # send_orderly's default selector picks queue `arg % queues` (one broker: the queue id).
        r = p.send_orderly(make_message(topic, body, tags="TagA"), i % QUEUES)
        assert r.status == SendStatus.OK, f"send {i}: {r.status}"
        status, max_offset, msgs = pull_one(pc, queues[i % QUEUES], r.offset)
        ok = status == "FOUND" and max_offset > r.offset and msgs \
            and msgs[0]["id"] == r.msg_id and msgs[0]["body"] == body
        if not ok:
            misses.append((i, r.offset, status, max_offset, [m["id"] for m in msgs]))
    assert not misses, f"{len(misses)} of {COUNT} acknowledged sends were not pullable: {misses[:10]}"
