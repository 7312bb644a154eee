"""(b) clustering push consumer gets everything intact, (c) tag filtering,
(d) broadcasting to two consumers of one group.

Clustering tests produce first and consume with a fresh group afterwards. The C++ push consumer
always uses CONSUME_FROM_LAST_OFFSET (the binding cannot change it); it still sees the earlier
messages because a RocketMQ broker answers QUERY_CONSUMER_OFFSET for a group without an offset
with 0 while the queue starts at 0 and is in memory (wire-protocol.md 6.5).
"""
import time

import pytest

import rmq_wire
from cpp_client import (Collector, MessageModel, SendStatus, assert_contiguous_per_queue, check_same,
                        make_message, send_many)

pytestmark = pytest.mark.timeout(240)

SETTLE = 3.0  # seconds to keep listening after the expected messages arrived (catch extras)


def test_push_clustering_receives_everything_intact(cluster, clients, uniq):
    ns = cluster.namesrv_addr
    topic = f"TPush_{uniq}"
    cluster.create_topic(topic, queues=4)
    p = clients.producer(ns, f"PG_{uniq}")
    # tagged and untagged messages; an untagged message must still reach a '*' subscriber
    sent = send_many(p, topic, 18, f"push{uniq}", tags_of=lambda i: None if i % 6 == 5 else f"Tag{i % 3}")
    assert all(s["status"] == SendStatus.OK for s in sent)

    col = Collector("clustering")
    clients.push_consumer(ns, f"CG_push_{uniq}", topic, col, "*")
    col.wait_ids([s["id"] for s in sent], timeout=60)
    time.sleep(SETTLE)
    got = col.snapshot_list()
    assert not col.errors, col.errors

    ids = [m["id"] for m in got]
    assert len(ids) == len(set(ids)) == len(sent), \
        f"expected {len(sent)} distinct deliveries, got {len(ids)} ({len(set(ids))} distinct)"
    by_id = {m["id"]: m for m in got}
    problems = {s["i"]: check_same(by_id[s["id"]], s, topic) for s in sent}
    assert not any(problems.values()), problems
    for m in got:
        assert 0 <= m["queue_id"] < 4
        assert m["reconsume_times"] == 0
        assert m["store_timestamp"] > 0
        assert m["uniq_key"] == m["id"]
    assert_contiguous_per_queue(got, "push consumer")
    # (queue, offset) identifies a message: no two deliveries share one
    assert len({(m["queue_id"], m["queue_offset"]) for m in got}) == len(got)


def test_push_tag_filter(cluster, clients, uniq):
    ns = cluster.namesrv_addr
    topic = f"TTags_{uniq}"
    cluster.create_topic(topic, queues=4)
    p = clients.producer(ns, f"PG_{uniq}")
    tags = ["TagA", "TagB", "TagC"]
    sent = send_many(p, topic, 18, f"tag{uniq}", tags_of=lambda i: tags[i % 3])
    sent += send_many(p, topic, 2, f"notag{uniq}", tags_of=lambda i: None)
    assert all(s["status"] == SendStatus.OK for s in sent)
    ab = {s["id"] for s in sent if s["tags"] in ("TagA", "TagB")}
    c = {s["id"] for s in sent if s["tags"] == "TagC"}

    col_ab = Collector("TagA || TagB")
    clients.push_consumer(ns, f"CG_ab_{uniq}", topic, col_ab, "TagA || TagB")
    col_c = Collector("TagC")
    clients.push_consumer(ns, f"CG_c_{uniq}", topic, col_c, "TagC")

    col_ab.wait_ids(ab, timeout=60)
    col_c.wait_ids(c, timeout=60)
    time.sleep(SETTLE)
    got_ab, got_c = col_ab.snapshot_list(), col_c.snapshot_list()
    assert sorted(m["id"] for m in got_ab) == sorted(ab), \
        f"TagA||TagB consumer got tags {sorted(m['tags'] for m in got_ab)}"
    assert all(m["tags"] in ("TagA", "TagB") for m in got_ab)
    assert sorted(m["id"] for m in got_c) == sorted(c)
    assert all(m["tags"] == "TagC" for m in got_c)
    by_id = {s["id"]: s for s in sent}
    for m in got_ab + got_c:
        assert not check_same(m, by_id[m["id"]], topic)


def test_broker_side_tag_filter(cluster, uniq, clients):
    """The C++ client re-checks tags itself, which would hide a broker that does not filter; ask
    the broker directly (PULL_MESSAGE shaped like the C++ one, subscription 'TagA || TagB')."""
    ns = cluster.namesrv_addr
    topic = f"TRawTags_{uniq}"
    cluster.create_topic(topic, queues=2)
    p = clients.producer(ns, f"PG_{uniq}")
    tags = ["TagA", "TagB", "TagC"]
    sent = send_many(p, topic, 12, f"raw{uniq}", tags_of=lambda i: tags[i % 3])
    cluster.wait_stored(topic, len(sent))
    broker = cluster.brokers["broker-a"].addr
    got, codes = [], []
    for q in range(2):
        offset = 0
        for _ in range(50):
            h, recs = rmq_wire.pull(broker, f"CG_raw_{uniq}", topic, q, offset, "TagA || TagB")
            codes.append(h["code"])
            if h["code"] in (19, 21) or "nextBeginOffset" not in (h.get("extFields") or {}):
                break
            got += recs
            nxt = int(h["extFields"]["nextBeginOffset"])
            if nxt == offset:
                break
            offset = nxt
    assert codes and all(c in (0, 19, 20) for c in codes), f"pull response codes {codes}"
    assert sorted(r["properties"].get("TAGS") for r in got) == sorted(
        s["tags"] for s in sent if s["tags"] != "TagC"), "broker returned messages outside the subscription"
    for r in got:
        assert r["size"] == r["computed_size"], "record TOTALSIZE does not match its fields"
        assert r["topic"] == topic
        assert r["store_host"][:4] == bytes([127, 0, 0, 1]), "store host must be the brokerIP1 address"


def _probe_until_ready(producer, topic, consumers, queues=4, timeout=60):
    """Broadcasting consumers keep offsets locally and start at the queue's max offset, so they
    miss what was sent before their first rebalance. Send a probe to every queue until every
    consumer has seen a probe from every queue."""
    deadline = time.time() + timeout
    n = 0
    while time.time() < deadline:
        for q in range(queues):
            producer.send_orderly(make_message(topic, f"probe {n}", tags="Probe"), q)
            n += 1
        time.sleep(1.0)
        ready = [{m["queue_id"] for m in c.snapshot_list() if m["tags"] == "Probe"} == set(range(queues))
                 for c in consumers]
        if all(ready):
            return
    raise AssertionError(f"broadcasting consumers not ready after {timeout}s: "
                         f"{[sorted({m['queue_id'] for m in c.snapshot_list()}) for c in consumers]}")


def test_broadcasting_two_consumers_both_get_everything(cluster, clients, uniq):
    ns = cluster.namesrv_addr
    topic = f"TBcast_{uniq}"
    cluster.create_topic(topic, queues=4)
    group = f"CG_bcast_{uniq}"
    col1, col2 = Collector("bcast-1"), Collector("bcast-2")
    clients.push_consumer(ns, group, topic, col1, "*", model=MessageModel.BROADCASTING,
                          instance=f"bcast1-{uniq}")
    clients.push_consumer(ns, group, topic, col2, "*", model=MessageModel.BROADCASTING,
                          instance=f"bcast2-{uniq}")
    p = clients.producer(ns, f"PG_{uniq}")
    _probe_until_ready(p, topic, [col1, col2])

    sent = send_many(p, topic, 16, f"bc{uniq}", tags_of=lambda i: "TagA")
    ids = [s["id"] for s in sent]
    col1.wait_ids(ids, timeout=60)
    col2.wait_ids(ids, timeout=60)
    time.sleep(SETTLE)
    by_id = {s["id"]: s for s in sent}
    for col in (col1, col2):
        real = [m for m in col.snapshot_list() if m["tags"] != "Probe"]
        assert sorted(m["id"] for m in real) == sorted(ids), \
            f"{col.name}: {len(real)} deliveries for {len(ids)} messages"
        for m in real:
            assert not check_same(m, by_id[m["id"]], topic), m
        # every queue delivered its share to this consumer
        assert {m["queue_id"] for m in real} == {0, 1, 2, 3}
