"""(e) PullConsumer reads every queue from offset 0 and gets all messages."""
import pytest

from cpp_client import (SendStatus, assert_contiguous_per_queue, check_same, fetch_queues, pull_queue,
                        send_many, snapshot)

pytestmark = pytest.mark.timeout(180)


def test_pull_consumer_reads_every_queue_from_zero(cluster, clients, uniq):
    ns = cluster.namesrv_addr
    topic = f"TPull_{uniq}"
    cluster.create_topic(topic, queues=4)
    p = clients.producer(ns, f"PG_{uniq}")
    sent = send_many(p, topic, 24, f"pull{uniq}", tags_of=lambda i: "TagA" if i % 2 else "TagB")
    cluster.wait_stored(topic, len(sent))
    assert all(s["status"] == SendStatus.OK for s in sent)
    by_id = {s["id"]: s for s in sent}

    # the binding's own API: pull() walks every queue from offset 0 until NO_NEW_MSG
    pc = clients.pull_consumer(ns, f"CG_pull_{uniq}")
    got = [snapshot(m) for m in pc.pull(topic)]
    assert sorted(m["id"] for m in got) == sorted(by_id), f"pulled {len(got)} of {len(sent)}"
    problems = {m["id"]: check_same(m, by_id[m["id"]], topic) for m in got}
    assert not any(problems.values()), problems
    per_queue = assert_contiguous_per_queue(got, "pull()")
    assert set(per_queue) == {0, 1, 2, 3}

    # a second pass starts from the offsets reached: nothing new
    assert [m for m in pc.pull(topic)] == []

    # more messages: the next pass returns exactly those
    more = send_many(p, topic, 8, f"pull{uniq}", start=100)
    cluster.wait_stored(topic, len(sent) + len(more))
    got2 = [snapshot(m) for m in pc.pull(topic)]
    assert sorted(m["id"] for m in got2) == sorted(s["id"] for s in more)


def test_pull_queues_and_tag_expression(cluster, clients, uniq):
    ns = cluster.namesrv_addr
    topic = f"TPullQ_{uniq}"
    cluster.create_topic(topic, queues=4)
    p = clients.producer(ns, f"PG_{uniq}")
    sent = send_many(p, topic, 16, f"pq{uniq}", tags_of=lambda i: "TagA" if i % 2 else "TagB")
    cluster.wait_stored(topic, len(sent))
    pc = clients.pull_consumer(ns, f"CG_pq_{uniq}")

    queues = fetch_queues(pc, topic)
    assert [(b, q) for b, q, _ in queues] == [("broker-a", q) for q in range(4)], \
        "the route should give broker-a's 4 read queues"

    everything, tag_a = [], []
    for _, _, mq in queues:
        msgs, next_offset, _ = pull_queue(pc, mq, "*", offset=0)
        assert next_offset == len(msgs), "nextBeginOffset after the last message = message count"
        everything += msgs
        a, _, _ = pull_queue(pc, mq, "TagA", offset=0)
        tag_a += a
        # pulling past the end is NO_NEW_MSG with the same offset, not an error
        rest, off2, statuses = pull_queue(pc, mq, "*", offset=next_offset)
        assert rest == [] and off2 == next_offset, statuses
    assert sorted(m["id"] for m in everything) == sorted(s["id"] for s in sent)
    assert sorted(m["id"] for m in tag_a) == sorted(s["id"] for s in sent if s["tags"] == "TagA")
    assert all(m["tags"] == "TagA" for m in tag_a)
