"""Delay levels through the official C++ client (`Message.set_delay_time_level`), with
`messageDelayLevel` shortened in broker.conf: a delayed message is not in its topic at once and
arrives once, no earlier than its level says, with its keys, tags and properties."""
import time

import pytest

from cpp_client import SendStatus, fetch_queues, make_message, pull_queue

pytestmark = pytest.mark.timeout(120)


def test_delay_levels_hold_messages_back(namesrv_only, clients, uniq):
    cluster = namesrv_only
    broker = cluster.add_broker("broker-a", start=False)
    with open(broker.conf, "a") as f:
        f.write("messageDelayLevel=1s 2s 3s\n")
    broker.start()
    topic = f"TDelay_{uniq}"
    cluster.create_topic(topic, queues=2)
    p = clients.producer(cluster.namesrv_addr, f"PG_delay_{uniq}")
    sent = {}
    for i in range(12):
        level = 1 + i % 3
        m = make_message(topic, f"delayed-{i}", tags="TagD", keys=f"dk-{i}", props={"seq": str(i)})
        m.set_delay_time_level(level)
        r = p.send_sync(m)
        assert r.status == SendStatus.OK
        sent[r.msg_id] = level

    pc = clients.pull_consumer(cluster.namesrv_addr, f"CG_delay_{uniq}")
    queues = fetch_queues(pc, topic)

    def pulled():
        out = []
        for _, _, mq in queues:
            msgs, _, _ = pull_queue(pc, mq)
            out.extend(msgs)
        return out

    assert pulled() == [], "delayed messages were visible at once"
    deadline = time.time() + 30
    got = []
    while time.time() < deadline:
        got = pulled()
        if len(got) >= len(sent):
            break
        time.sleep(0.2)
    ids = [m["id"] for m in got]
    assert sorted(ids) == sorted(sent), f"got {len(got)} of {len(sent)}: {ids}"
    for m in got:
        level = sent[m["id"]]
        waited = m["store_timestamp"] - m["born_timestamp"]
        assert waited >= level * 1000 - 50, f"{m['id']} (level {level}) arrived after {waited} ms"
        assert m["tags"] == "TagD" and m["keys"].startswith("dk-") and m["props"]["seq"] is not None
