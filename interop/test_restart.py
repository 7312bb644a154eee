"""(f) Broker restart on the same store: nothing lost; committed consumer offsets are kept."""
import time

import pytest

import rmq_wire
from harness import STARTUP_TIMEOUT, wait_until
from cpp_client import Collector, SendStatus, check_same, pull_all, send_many

pytestmark = pytest.mark.timeout(300)

SETTLE = 3.0


def restart_broker(cluster, name="broker-a"):
    b = cluster.brokers[name]
    rc = b.stop()
    assert rc != "killed", f"broker {name} did not exit within the stop timeout after SIGTERM"
    assert rc in (0, 143), (f"broker {name} exit code {rc} after SIGTERM "
                            f"(negative = died of the signal without a clean shutdown)")
    b.start()  # same port, same storePathRootDir; waits until registered again
    return b


def wait_route(cluster, topic):
    wait_until(lambda: rmq_wire.get_route(cluster.namesrv_addr, topic), STARTUP_TIMEOUT,
               what=f"route of {topic} after restart")


def test_restart_keeps_messages(cluster, clients, uniq):
    ns = cluster.namesrv_addr
    topic = f"TRestart_{uniq}"
    cluster.create_topic(topic, queues=4)
    p = clients.producer(ns, f"PG_{uniq}")
    before = send_many(p, topic, 20, f"rs{uniq}", tags_of=lambda i: "TagA" if i % 2 else "TagB")
    assert all(s["status"] == SendStatus.OK for s in before)
    clients.shutdown(p)

    restart_broker(cluster)
    wait_route(cluster, topic)  # the topic config survived the restart

    p2 = clients.producer(ns, f"PG2_{uniq}")
    after = send_many(p2, topic, 8, f"rs{uniq}", start=100)
    assert all(s["status"] == SendStatus.OK for s in after)

    col = Collector("after restart")
    clients.push_consumer(ns, f"CG_{uniq}", topic, col, "*")
    everything = before + after
    col.wait_ids([s["id"] for s in everything], timeout=90)
    time.sleep(SETTLE)
    got = col.snapshot_list()
    by_id = {s["id"]: s for s in everything}
    assert sorted(m["id"] for m in got) == sorted(by_id), "lost or duplicated messages across restart"
    problems = {m["id"]: check_same(m, by_id[m["id"]], topic) for m in got}
    assert not any(problems.values()), problems
    # queue offsets continued after the restart instead of starting again at 0
    assert len({(m["queue_id"], m["queue_offset"]) for m in got}) == len(got)


def _consume_commit_resume(cluster, clients, uniq, restart):
    ns = cluster.namesrv_addr
    topic = f"TOffsets_{uniq}"
    group = f"CG_resume_{uniq}"
    cluster.create_topic(topic, queues=4)
    p = clients.producer(ns, f"PG_{uniq}")
    first = send_many(p, topic, 12, f"first{uniq}")
    assert all(s["status"] == SendStatus.OK for s in first)

    col1 = Collector("first consumer")
    c1 = clients.push_consumer(ns, group, topic, col1, "*")
    col1.wait_ids([s["id"] for s in first], timeout=60)
    time.sleep(SETTLE)  # let the consumer account for the last acks
    clients.shutdown(c1)  # persists the consume offsets to the broker (UPDATE_CONSUMER_OFFSET)
    time.sleep(2.0)

    if restart:
        clients.shutdown(p)
        restart_broker(cluster)
        wait_route(cluster, topic)
        p = clients.producer(ns, f"PG2_{uniq}")

    second = send_many(p, topic, 8, f"second{uniq}", start=100)
    assert all(s["status"] == SendStatus.OK for s in second)

    col2 = Collector("resumed consumer")
    clients.push_consumer(ns, group, topic, col2, "*")
    col2.wait_ids([s["id"] for s in second], timeout=60)
    time.sleep(SETTLE)
    got = col2.snapshot_list()
    old = {s["id"] for s in first}
    redelivered = [m for m in got if m["id"] in old]
    assert not redelivered, (f"{len(redelivered)} committed messages delivered again: "
                             f"{sorted((m['queue_id'], m['queue_offset']) for m in redelivered)}")
    assert sorted(m["id"] for m in got) == sorted(s["id"] for s in second)
    # not resumed because the old messages vanished: both batches are still stored
    stored = [m for msgs in pull_all(clients.pull_consumer(ns, f"CG_check_{uniq}"), topic).values()
              for m in msgs]
    assert sorted(m["id"] for m in stored) == sorted(s["id"] for s in first + second)


def test_committed_offsets_resume(cluster, clients, uniq):
    _consume_commit_resume(cluster, clients, uniq, restart=False)


def test_committed_offsets_survive_broker_restart(cluster, clients, uniq):
    _consume_commit_resume(cluster, clients, uniq, restart=True)
