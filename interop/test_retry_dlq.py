"""Retries and the dead-letter queue through the official C++ client, with `messageDelayLevel`
shortened in broker.conf and the group's `retryMaxTimes` set with `mqadmin updateSubGroup`.

A push consumer whose callback raises gets the message back with reconsume times 1, 2, ... at
the level delays (CONSUMER_SEND_MSG_BACK, level 3 + reconsume times), and after `retryMaxTimes`
retries the message waits in `%DLQ%<group>` with its body, keys, tags, id and original topic.
`queryMsgById -s true` then resends it to that topic, where a consumer gets it again."""
import re
import threading
import time

import pytest

from cpp_client import SendStatus, fetch_queues, make_message, pull_queue, snapshot
from harness import wait_until

pytestmark = [
    pytest.mark.timeout(150),
    # The binding re-raises the callback's exception after answering RECONSUME_LATER.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

LEVELS = " ".join(["1s"] * 18)


def start_broker(cluster):
    broker = cluster.add_broker("broker-a", start=False)
    with open(broker.conf, "a") as f:
        f.write(f"messageDelayLevel={LEVELS}\n")
    broker.start()
    return broker


class Failing:
    """A push callback that raises for bodies starting with `poison` and records every call."""

    def __init__(self, poison="poison"):
        self.poison = poison
        self.calls = []
        self.lock = threading.Lock()

    def __call__(self, msg):
        snap = snapshot(msg)
        with self.lock:
            self.calls.append((time.time(), snap))
        if snap["body"].startswith(self.poison):
            raise RuntimeError("the listener failed on purpose")
        # Returning normally is CONSUME_SUCCESS in this binding.

    def deliveries(self, body):
        with self.lock:
            return [(t, s) for t, s in self.calls if s["body"] == body]


def pull_dlq(cluster, clients, group, count, timeout=30):
    pc = clients.pull_consumer(cluster.namesrv_addr, f"CG_dlqreader_{group}")
    dlq = f"%DLQ%{group}"
    deadline = time.time() + timeout
    got = []
    while time.time() < deadline:
        try:
            queues = fetch_queues(pc, dlq)
        except AssertionError:
            time.sleep(0.5)
            continue
        got = []
        for _, _, mq in queues:
            msgs, _, _ = pull_queue(pc, mq)
            got.extend(msgs)
        if len(got) >= count:
            return got
        time.sleep(0.5)
    raise AssertionError(f"{len(got)} of {count} messages in {dlq} after {timeout}s")


def test_a_raising_callback_retries_then_dead_letters(namesrv_only, clients, uniq):
    cluster = namesrv_only
    start_broker(cluster)
    topic, group = f"TRetry_{uniq}", f"CG_retry_{uniq}"
    cluster.create_topic(topic, queues=2)
    out = cluster.admin("updateSubGroup", "-c", cluster.cluster_name, "-g", group, "-r", "3")
    assert "create subscription group to" in out.stdout and "retryMaxTimes=3" in out.stdout, out.stdout

    listener = Failing()
    clients.push_consumer(cluster.namesrv_addr, group, topic, listener)
    p = clients.producer(cluster.namesrv_addr, f"PG_retry_{uniq}")
    r = p.send_sync(make_message(topic, "poison-1", tags="TagP", keys="pk-1", props={"seq": "1"}))
    assert r.status == SendStatus.OK
    fine = [p.send_sync(make_message(topic, f"fine-{i}", tags="TagF")) for i in range(5)]

    # The original delivery and 3 retries, each a second or more after the one before.
    wait_until(lambda: len(listener.deliveries("poison-1")) >= 4, 60,
               what="the failing message to be delivered 4 times")
    seen = listener.deliveries("poison-1")
    assert [s["reconsume_times"] for _, s in seen[:4]] == [0, 1, 2, 3], seen
    for (t0, _), (t1, _) in zip(seen, seen[1:4]):
        assert t1 - t0 >= 0.9, f"a retry came back after {t1 - t0:.2f}s, before its level's 1 s"
    for _, s in seen[:4]:
        assert s["id"] == r.msg_id and s["topic"] == topic and s["keys"] == "pk-1", s

    dead = pull_dlq(cluster, clients, group, 1)
    assert len(dead) == 1, dead
    d = dead[0]
    assert d["body"] == "poison-1" and d["keys"] == "pk-1" and d["tags"] == "TagP", d
    assert d["props"]["RETRY_TOPIC"] == topic and d["props"]["seq"] == "1", d
    assert d["uniq_key"] == r.msg_id, d
    time.sleep(2)
    assert len(listener.deliveries("poison-1")) == 4, "delivered again after the last retry"
    for f in fine:
        body = None
        for _, s in listener.calls:
            if s["id"] == f.msg_id:
                body = s["body"]
        assert body is not None, "a message behind the failing one was not consumed"

    status = cluster.admin("brokerStatus", "-b", cluster.brokers["broker-a"].addr).stdout
    assert re.search(r"deadLetterMessageTotal\s*:\s*1\b", status), status
    assert re.search(r"sendBackMessageTotal\s*:\s*3\b", status), status

    # The operator resends the dead letter to its topic: consumed again there.
    listener.poison = "never-fails"
    out = cluster.admin("queryMsgById", "-t", f"%DLQ%{group}", "-i", d["id"], "-s", "true")
    assert "SEND_OK" in out.stdout, out.stdout
    wait_until(lambda: len(listener.deliveries("poison-1")) >= 5, 30,
               what="the resent dead letter to be consumed")
    again = listener.deliveries("poison-1")[-1][1]
    assert again["topic"] == topic and again["keys"] == "pk-1", again


def test_topic_list_shows_retry_and_dlq_topics_and_delete_sub_group_removes_them(namesrv_only, clients, uniq):
    """`topicList` shows the group's retry and DLQ topics after a dead letter (`-c` leaves them
    out, as RocketMQ's does), and deleteSubGroup removes the group with them."""
    cluster = namesrv_only
    start_broker(cluster)
    topic, group = f"TRetryList_{uniq}", f"CG_rlist_{uniq}"
    cluster.create_topic(topic, queues=1)
    cluster.admin("updateSubGroup", "-c", cluster.cluster_name, "-g", group, "-r", "0")
    listener = Failing()
    clients.push_consumer(cluster.namesrv_addr, group, topic, listener)
    p = clients.producer(cluster.namesrv_addr, f"PG_rlist_{uniq}")
    assert p.send_sync(make_message(topic, "poison-x")).status == SendStatus.OK
    pull_dlq(cluster, clients, group, 1)
    out = cluster.admin("topicList").stdout
    assert f"%RETRY%{group}" in out and f"%DLQ%{group}" in out, out
    # As in RocketMQ, the cluster view lists the topic and its group, not the group's topics.
    out = cluster.admin("topicList", "-c").stdout
    assert topic in out and f"%DLQ%{group}" not in out, out
    assert len(listener.deliveries("poison-x")) == 1, "retryMaxTimes 0 must not retry"

    out = cluster.admin("deleteSubGroup", "-c", cluster.cluster_name, "-g", group).stdout
    assert f"delete subscription group [{group}]" in out, out
    assert f"delete topic [%DLQ%{group}]" in out, out
