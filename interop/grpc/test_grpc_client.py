"""The official RocketMQ 5 Python client (gRPC, `rocketmq-python-client`) against FerroMQ's
built-in gRPC API: producers, SimpleConsumer, PushConsumer, pop redelivery, DLQ, crash safety,
and messages crossing between the gRPC API and the C++ remoting client."""
import os
import subprocess
import threading
import time

import pytest
from rocketmq import (ClientConfiguration, ConsumeResult, Credentials, FilterExpression,
                      Message, MessageListener, Producer, PushConsumer, SimpleConsumer,
                      TransactionChecker, TransactionResolution)

from conftest import HERE, wait_until


def config(server):
    return ClientConfiguration(server.endpoints, Credentials(), request_timeout=10)


def message(topic, body, tag="TagA", keys=None, props=None, group=None, deliver_at=None):
    m = Message()
    m.topic = topic
    m.body = body.encode()
    m.tag = tag
    if keys:
        m.keys = keys
    for k, v in (props or {}).items():
        m.add_property(k, v)
    if group:
        m.message_group = group
    if deliver_at:
        m.delivery_timestamp = deliver_at
    return m


class Clients:
    """Starts clients and shuts every one down at the end of a test."""

    def __init__(self, server):
        self.server, self.items = server, []

    def producer(self, topic, checker=None):
        p = Producer(config(self.server), (topic,), checker) if checker else Producer(config(self.server), (topic,))
        p.startup()
        self.items.append(p)
        return p

    def simple(self, group, topic, await_s=2):
        c = SimpleConsumer(config(self.server), group, {topic: FilterExpression("*")}, await_s)
        c.startup()
        self.items.append(c)
        return c

    def close(self):
        for c in reversed(self.items):
            try:
                c.shutdown()
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass


@pytest.fixture
def clients(server):
    c = Clients(server)
    yield c
    c.close()


def receive_all(consumer, n, invisible=15, timeout=60):
    """Receives until n messages arrived (or fails after timeout)."""
    got = []
    deadline = time.time() + timeout
    while len(got) < n and time.time() < deadline:
        got.extend(consumer.receive(32, invisible))
    assert len(got) >= n, f"received {len(got)} of {n}"
    return got


def receive_none(consumer, seconds, invisible=15):
    """Receives for `seconds` and returns whatever came (the caller expects nothing)."""
    got = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        got.extend(consumer.receive(32, invisible))
    return got


def test_normal_messages_round_trip_with_tags_keys_and_properties(server, clients, uniq):
    topic, group = f"T_norm_{uniq}", f"G_norm_{uniq}"
    server.create_topic(topic)
    p = clients.producer(topic)
    ids = {p.send(message(topic, f"body-{i}", keys=f"k{i}", props={"color": "red"})).message_id
           for i in range(5)}
    c = clients.simple(group, topic)
    got = receive_all(c, 5)
    assert {m.message_id for m in got} == ids
    for m in got:
        assert m.body.decode().startswith("body-")
        assert m.tag == "TagA"
        assert m.properties.get("color") == "red"
        assert m.delivery_attempt == 1
        c.ack(m)
    assert receive_none(c, 4) == []


def test_unacked_message_comes_back_with_attempt_two_and_changed_ones_wait(server, clients, uniq):
    topic, group = f"T_redo_{uniq}", f"G_redo_{uniq}"
    server.create_topic(topic, queues=1)
    p = clients.producer(topic)
    p.send(message(topic, "first"))
    p.send(message(topic, "second"))
    c = clients.simple(group, topic)
    got = receive_all(c, 2, invisible=3)
    first = next(m for m in got if m.body == b"first")
    second = next(m for m in got if m.body == b"second")
    old_handle = first.receipt_handle
    # The second stays invisible for 60 s more; the first comes back after its 3 s.
    before = second.receipt_handle
    c.change_invisible_duration(second, 60)
    assert second.receipt_handle != before
    back = receive_all(c, 1, invisible=30, timeout=30)
    assert [m.body for m in back] == [b"first"], [m.body for m in back]
    assert back[0].delivery_attempt == 2
    # The first delivery's handle is stale now.
    first.receipt_handle = old_handle
    with pytest.raises(Exception) as err:
        c.ack(first)
    assert "40013" in str(err.value) or "receipt handle" in str(err.value)
    c.ack(back[0])
    c.ack(second)
    assert receive_none(c, 4) == []


def test_fifo_group_gets_the_next_message_only_after_the_previous_is_acked(server, clients, uniq):
    topic, group = f"T_fifo_{uniq}", f"G_fifo_{uniq}"
    server.create_topic(topic)
    server.create_group(group, "-o", "true")
    p = clients.producer(topic)
    for i in range(3):
        p.send(message(topic, f"fifo-{i}", group="order-1"))
    c = clients.simple(group, topic)
    order = []
    for _ in range(3):
        got = receive_all(c, 1, invisible=30, timeout=30)
        assert len(got) == 1, [m.body for m in got]
        assert got[0].message_group == "order-1"
        # Nothing else of the group while this one is in flight.
        assert receive_none(c, 2) == []
        order.append(got[0].body.decode())
        c.ack(got[0])
    assert order == ["fifo-0", "fifo-1", "fifo-2"]


def test_delay_message_arrives_at_its_time_not_before(server, clients, uniq):
    topic, group = f"T_delay_{uniq}", f"G_delay_{uniq}"
    server.create_topic(topic)
    p = clients.producer(topic)
    c = clients.simple(group, topic)
    # rocketmq-python-client 5.1.2 copies delivery_timestamp into the protobuf Timestamp's
    # `seconds`: it takes epoch seconds.
    due_s = int(time.time()) + 6
    p.send(message(topic, "later", deliver_at=due_s))
    got = receive_all(c, 1, timeout=60)
    arrived = int(time.time() * 1000)
    assert got[0].body == b"later"
    assert arrived >= due_s * 1000, f"arrived {due_s * 1000 - arrived} ms early"
    assert got[0].delivery_timestamp == due_s * 1000
    c.ack(got[0])


class Undecided(TransactionChecker):
    def check(self, message):
        return TransactionResolution.TRANSACTION_RESOLUTION_UNSPECIFIED


def test_transaction_message_is_delivered_only_after_commit(server, clients, uniq):
    topic, group = f"T_tx_{uniq}", f"G_tx_{uniq}"
    server.create_topic(topic)
    p = clients.producer(topic, checker=Undecided())
    c = clients.simple(group, topic)
    committed = p.begin_transaction()
    p.send(message(topic, "committed"), committed)
    rolled_back = p.begin_transaction()
    p.send(message(topic, "rolled-back"), rolled_back)
    assert receive_none(c, 4) == []
    committed.commit()
    rolled_back.rollback()
    got = receive_all(c, 1, timeout=30)
    assert [m.body for m in got] == [b"committed"]
    c.ack(got[0])
    assert receive_none(c, 4) == []


class Collect(MessageListener):
    def __init__(self, fail=False):
        self.bodies, self.lock, self.fail = [], threading.Lock(), fail

    def consume(self, message):
        with self.lock:
            self.bodies.append(message.body.decode())
        return ConsumeResult.FAILURE if self.fail else ConsumeResult.SUCCESS


def test_push_consumer_consumes_a_backlog(server, clients, uniq):
    topic, group = f"T_push_{uniq}", f"G_push_{uniq}"
    server.create_topic(topic)
    p = clients.producer(topic)
    sent = {f"push-{i}" for i in range(20)}
    for body in sorted(sent):
        p.send(message(topic, body))
    listener = Collect()
    c = PushConsumer(config(server), group, listener, {topic: FilterExpression("*")})
    c.startup()
    clients.items.append(c)
    wait_until(lambda: sent <= set(listener.bodies), 60, what="the backlog")


def test_failing_push_consumer_message_ends_in_the_dlq(server, clients, uniq):
    topic, group = f"T_dlq_{uniq}", f"G_dlq_{uniq}"
    server.create_topic(topic)
    # Two deliveries, then the dead-letter queue.
    server.create_group(group, "-r", "1")
    p = clients.producer(topic)
    p.send(message(topic, "poison"))
    listener = Collect(fail=True)
    c = PushConsumer(config(server), group, listener, {topic: FilterExpression("*")})
    c.startup()
    clients.items.append(c)
    wait_until(lambda: listener.bodies.count("poison") >= 2, 90, what="two failed deliveries")
    dlq = f"%DLQ%{group}"
    # The DLQ topic exists once the message was forwarded there.
    wait_until(lambda: dlq in server.mqadmin("topicList"), 60, what=f"topic {dlq}")
    reader = clients.simple(f"G_dlqread_{uniq}", dlq)
    got = receive_all(reader, 1, timeout=60)
    assert got[0].body == b"poison"


def test_kill9_between_receive_and_ack(server, clients, uniq):
    topic, group = f"T_crash_{uniq}", f"G_crash_{uniq}"
    server.create_topic(topic, queues=1)
    p = clients.producer(topic)
    p.send(message(topic, "acked"))
    p.send(message(topic, "unacked"))
    c = clients.simple(group, topic)
    got = receive_all(c, 2, invisible=5)
    c.ack(next(m for m in got if m.body == b"acked"))
    clients.close()
    clients.items = []
    server.kill9()
    server.start()
    c = clients.simple(group, topic)
    back = []
    deadline = time.time() + 30
    while time.time() < deadline:
        for m in c.receive(32, 30):
            back.append(m)
            c.ack(m)
    assert [m.body for m in back] == [b"unacked"], [m.body for m in back]
    assert back[0].delivery_attempt == 2


def cpp_python():
    py = os.environ.get("CPP_CLIENT_PYTHON")
    if not py or not os.access(py, os.X_OK):
        pytest.skip("CPP_CLIENT_PYTHON (the C++ client's venv python) is not set: run interop/grpc/run.sh")
    return py


def test_message_sent_by_the_cpp_remoting_client_is_received_over_grpc(server, clients, uniq):
    py = cpp_python()
    topic, group = f"T_cpp2g_{uniq}", f"G_cpp2g_{uniq}"
    server.create_topic(topic)
    r = subprocess.run([py, os.path.join(HERE, "cpp_side.py"), "send", server.namesrv, topic,
                        "from-cpp-1", "from-cpp-2"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    c = clients.simple(group, topic)
    got = receive_all(c, 2)
    assert sorted(m.body for m in got) == [b"from-cpp-1", b"from-cpp-2"]
    assert all(m.tag == "cpp" for m in got)
    for m in got:
        c.ack(m)


def test_message_sent_over_grpc_is_received_by_the_cpp_remoting_client(server, clients, uniq):
    py = cpp_python()
    topic, group = f"T_g2cpp_{uniq}", f"G_g2cpp_{uniq}"
    server.create_topic(topic)
    p = clients.producer(topic)
    p.send(message(topic, "from-grpc-1"))
    p.send(message(topic, "from-grpc-2"))
    r = subprocess.run([py, os.path.join(HERE, "cpp_side.py"), "receive", server.namesrv, topic,
                        group, "2"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(r.stdout.split()) == ["from-grpc-1", "from-grpc-2"], r.stdout + r.stderr


def test_unacked_messages_come_back_after_their_invisible_time_not_before(server, clients, uniq):
    """Pop redelivery accuracy: 20 messages received with a 3 s invisible time and not acked
    come back once each, no earlier than 3 s after their receipt; how much later is printed."""
    topic, group = f"T_acc_{uniq}", f"G_acc_{uniq}"
    server.create_topic(topic, queues=2)
    p = clients.producer(topic)
    ids = {p.send(message(topic, f"acc-{i}")).message_id for i in range(20)}
    c = clients.simple(group, topic, await_s=1)
    first = {}
    deadline = time.time() + 30
    while len(first) < len(ids) and time.time() < deadline:
        for m in c.receive(32, 3):
            first.setdefault(m.message_id, time.time())
    assert set(first) == ids, f"received {len(first)} of {len(ids)}"
    back = {}
    deadline = time.time() + 30
    while len(back) < len(ids) and time.time() < deadline:
        for m in c.receive(32, 30):
            assert m.message_id not in back, f"{m.message_id} came back twice"
            assert m.delivery_attempt == 2, m.delivery_attempt
            back[m.message_id] = time.time()
            c.ack(m)
    assert set(back) == ids, f"{len(back)} of {len(ids)} came back"
    late = sorted((back[i] - first[i] - 3) * 1000 for i in ids)
    # The client stamps receipt after the answer arrives, so a message may look up to one
    # round trip early; anything earlier would be a redelivery before the invisible time.
    assert late[0] > -100, f"came back {-late[0]:.0f} ms before its invisible time ended"
    print(f"pop redelivery after a 3 s invisible time: lateness p50 {late[len(late) // 2]:.0f} ms, "
          f"max {late[-1]:.0f} ms ({len(late)} messages)")
