"""An ordered queue with a poison message, consumed by the official C++ client's orderly push
consumer (PyPI `rocketmq==0.4.4`, which bundles rocketmq-client-cpp 1.2.x).

What that client does is decided on the client side alone (rocketmq-client-cpp 1.2.x,
`ConsumeMessageOrderlyService::ConsumeRequest`): a message whose listener answers
RECONSUME_LATER is put back in the local queue and consumed again 100 ms later, without limit,
without counting reconsume times, and without CONSUMER_SEND_MSG_BACK. The broker never hears
about the failure, so it can neither retry nor dead-letter the message; the queue stays blocked
until the listener accepts the message, then the messages behind it follow in order.

The Python binding adds its own twist: a callback that raises makes the binding re-raise from
inside the ctypes callback, so ctypes hands the C++ side a status the binding never set; with the
orderly consumer it reads as CONSUME_SUCCESS, and the poison message is skipped after one
delivery. These tests pin both behaviours; the Rust client's orderly consumer is the one that moves a poison message
to the DLQ after its limit (crates/cli/tests/client_retry.rs)."""
import re
import threading
import time

import pytest

from cpp_client import RecvMessage, make_message, snapshot
from harness import wait_until
from rocketmq.ffi import MSG_CALLBACK_FUNC, dll

pytestmark = [
    pytest.mark.timeout(150),
    # The binding re-raises the callback's exception inside the ctypes callback.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

SUCCESS, RECONSUME_LATER = 0, 1


class Recorder:
    """Every delivery, in order: (time, snapshot)."""

    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()

    def add(self, snap):
        with self.lock:
            self.calls.append((time.time(), snap))

    def bodies(self):
        with self.lock:
            return [s["body"] for _, s in self.calls]

    def of(self, body):
        with self.lock:
            return [s for _, s in self.calls if s["body"] == body]


def send_in_order(cluster, clients, topic, uniq, bodies):
    p = clients.producer(cluster.namesrv_addr, f"PG_ordpoison_{uniq}")
    for b in bodies:
        r = p.send_orderly(make_message(topic, b, keys=b), 0)
        assert r.status.name == "OK", r
    return p


def broker_status(cluster):
    return cluster.admin("brokerStatus", "-b", cluster.brokers["broker-a"].addr).stdout


def no_send_back_and_no_dlq(cluster, group):
    status = broker_status(cluster)
    assert re.search(r"sendBackMessageTotal\s*:\s*0\b", status), status
    assert re.search(r"deadLetterMessageTotal\s*:\s*0\b", status), status
    topics = cluster.admin("topicList").stdout.split()
    assert f"%DLQ%{group}" not in topics, topics


BODIES = ["ord-0", "poison", "ord-2", "ord-3", "ord-4"]


def test_reconsume_later_retries_in_place_blocks_the_queue_and_never_reaches_the_broker(cluster, clients, uniq):
    """A listener answering RECONSUME_LATER (status 1, returned properly through ctypes)."""
    topic, group = f"TOrdPoison_{uniq}", f"CG_ordpoison_{uniq}"
    cluster.create_topic(topic, queues=1)
    rec = Recorder()
    failing = threading.Event()
    failing.set()

    def on_message(_consumer, msg):
        snap = snapshot(RecvMessage(msg))
        rec.add(snap)
        if snap["body"] == "poison" and failing.is_set():
            return RECONSUME_LATER
        return SUCCESS

    c = clients.push_consumer(cluster.namesrv_addr, group, topic, lambda m: None, orderly=True, start=False)
    func = MSG_CALLBACK_FUNC(on_message)
    c._callback_refs.append(func)
    assert dll.RegisterMessageCallbackOrderly(c._handle, func) == 0
    c.start()
    send_in_order(cluster, clients, topic, uniq, BODIES)

    # The poison message comes back again and again, in place, its count never raised ...
    wait_until(lambda: len(rec.of("poison")) >= 20, 60, what="20 deliveries of the poison message")
    tries = rec.of("poison")
    assert {s["reconsume_times"] for s in tries} == {0}, tries
    assert {s["topic"] for s in tries} == {topic}, tries
    # ... and nothing behind it is delivered while it fails.
    assert [b for b in rec.bodies() if b != "poison"] == ["ord-0"], rec.bodies()
    no_send_back_and_no_dlq(cluster, group)

    # Once the listener accepts it, the rest follows in order.
    failing.clear()
    wait_until(lambda: "ord-4" in rec.bodies(), 30, what="the messages behind the poison one")
    after = [b for b in rec.bodies() if b != "poison"]
    assert after == ["ord-0", "ord-2", "ord-3", "ord-4"], after
    no_send_back_and_no_dlq(cluster, group)


def test_a_raising_callback_in_the_python_binding(cluster, clients, uniq):
    """The binding as users write it: the callback raises for the poison message."""
    topic, group = f"TOrdRaise_{uniq}", f"CG_ordraise_{uniq}"
    cluster.create_topic(topic, queues=1)
    rec = Recorder()

    def callback(msg):
        snap = snapshot(msg)
        rec.add(snap)
        if snap["body"] == "poison":
            raise RuntimeError("the listener failed on purpose")

    clients.push_consumer(cluster.namesrv_addr, group, topic, callback, orderly=True)
    send_in_order(cluster, clients, topic, uniq, BODIES)
    wait_until(lambda: "ord-4" in rec.bodies() or len(rec.of("poison")) >= 20, 60,
               what="the queue to move on or the poison message to come back")
    # Observed with 0.4.4: the raise reaches the C++ side as CONSUME_SUCCESS. The poison message
    # is delivered once and skipped, the rest follows in order, the broker sees no failure.
    wait_until(lambda: "ord-4" in rec.bodies(), 30, what="the messages behind the poison one")
    time.sleep(2)
    assert rec.bodies() == BODIES, rec.bodies()
    assert len(rec.of("poison")) == 1
    no_send_back_and_no_dlq(cluster, group)
