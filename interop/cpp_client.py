"""Thin helpers around the official RocketMQ C++ client (PyPI `rocketmq==0.4.4`).

Things the binding does not do for us (see CLIENT_API.md):
* RecvMessage handles are only valid inside the callback / the pull loop iteration, so every
  message is copied into a plain dict (`snapshot`) at once.
* Clients in one process share a C++ "client factory" per instance name, and shutting one down
  tears the factory down: every client here gets its own instance name.
* PullConsumer.pull() keeps offsets in a class-level dict keyed by topic@queueId (shared by all
  instances, blind to broker names) and loops forever on errors; `pull_all` below is a bounded
  variant over the same C functions that keys by (broker, queue).
"""
import ctypes
import threading
import time
import uuid

from rocketmq.client import Message, Producer, PullConsumer, PushConsumer, RecvMessage, SendStatus  # noqa: F401
from rocketmq.ffi import MessageModel, _CMessageQueue, _CPullStatus, dll

USER_PROPS = ("color", "seq", "origin", "RETRY_TOPIC")


def make_message(topic, body, tags=None, keys=None, props=None):
    m = Message(topic)
    if keys:
        m.set_keys(keys)
    if tags:
        m.set_tags(tags)
    for k, v in (props or {}).items():
        m.set_property(k, v)
    # set_body goes through a C string: bodies must not contain NUL bytes.
    m.set_body(body)
    return m


def _s(v):
    return v.decode("utf-8") if isinstance(v, bytes) else v


def snapshot(msg, props=USER_PROPS):
    """Copy everything we check out of a RecvMessage (valid only for the current callback)."""
    return {
        "id": msg.id,
        "topic": msg.topic,
        "tags": _s(msg.tags),
        "keys": _s(msg.keys),
        "body": _s(msg.body),
        "queue_id": msg.queue_id,
        "queue_offset": msg.queue_offset,
        "reconsume_times": msg.reconsume_times,
        "born_timestamp": msg.born_timestamp,
        "store_timestamp": msg.store_timestamp,
        "commit_log_offset": msg.commit_log_offset,
        "store_size": msg.store_size,
        "props": {k: _s(msg.get_property(k)) for k in props},
        "uniq_key": _s(msg.get_property("UNIQ_KEY")),
    }


class Collector:
    """Thread-safe sink for push-consumer callbacks."""

    def __init__(self, name=""):
        self.name = name
        self.items = []
        self.cond = threading.Condition()
        self.errors = []

    def __call__(self, msg):
        try:
            snap = snapshot(msg)
        except Exception as e:  # noqa: BLE001 - never raise into the C++ thread
            self.errors.append(repr(e))
            return
        with self.cond:
            self.items.append(snap)
            self.cond.notify_all()

    def ids(self):
        with self.cond:
            return [m["id"] for m in self.items]

    def snapshot_list(self):
        with self.cond:
            return list(self.items)

    def wait_for(self, pred, timeout, what="messages"):
        deadline = time.time() + timeout
        with self.cond:
            while not pred(self.items):
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError(
                        f"[{self.name}] timed out after {timeout}s waiting for {what}; "
                        f"have {len(self.items)}: {[(m['tags'], m['keys'], m['queue_id'], m['queue_offset']) for m in self.items][:50]}")
                self.cond.wait(min(left, 0.5))
            return list(self.items)

    def wait_ids(self, ids, timeout):
        want = set(ids)
        return self.wait_for(lambda items: want <= {m["id"] for m in items}, timeout,
                             what=f"{len(want)} message ids")


# Clients that were shut down are kept alive until the process exits: destroying them (their
# __del__ calls DestroyProducer/DestroyPushConsumer) or freeing their ctypes callbacks while
# librocketmq threads may still touch them can crash the interpreter.
_graveyard = []


class ClientRegistry:
    def __init__(self):
        self.items = []

    def _name(self, prefix):
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    def producer(self, namesrv, group, timeout_ms=5000, start=True):
        p = Producer(group, timeout=timeout_ms)
        dll.SetProducerInstanceName(p._handle, self._name("p").encode())
        p.set_namesrv_addr(namesrv)
        if start:
            p.start()
        self.items.append(("producer", p))
        return p

    def push_consumer(self, namesrv, group, topic, callback, expression="*",
                      model=MessageModel.CLUSTERING, instance=None, orderly=False, start=True):
        c = PushConsumer(group, orderly=orderly, message_model=model)
        c.set_instance_name(instance or self._name("c"))
        c.set_namesrv_addr(namesrv)
        c.subscribe(topic, callback, expression)
        if start:
            c.start()
        entry = ("push", c)
        self.items.append(entry)
        return c

    def pull_consumer(self, namesrv, group):
        c = PullConsumer(group)
        c.offset_table = {}  # shadow the class-level dict shared by every instance
        c.set_namesrv_addr(namesrv)
        c.start()
        self.items.append(("pull", c))
        return c

    def shutdown(self, client):
        for i, (_, c) in enumerate(self.items):
            if c is client:
                del self.items[i]
                break
        _graveyard.append(client)
        client.shutdown()

    def shutdown_all(self):
        # consumers first (they commit offsets), producers last
        for kind in ("push", "pull", "producer"):
            for k, c in list(self.items):
                if k == kind:
                    _graveyard.append(c)
                    try:
                        c.shutdown()
                    except Exception:  # noqa: BLE001
                        pass
        self.items = []


def fetch_queues(pull_consumer, topic):
    """FetchSubscriptionMessageQueues: [(brokerName, queueId, _CMessageQueue)]."""
    mqs = ctypes.POINTER(_CMessageQueue)()
    size = ctypes.c_int()
    rc = dll.FetchSubscriptionMessageQueues(pull_consumer._handle, topic.encode(), ctypes.pointer(mqs),
                                            ctypes.pointer(size))
    if rc != 0:
        err = dll.GetLatestErrorMessage()
        raise AssertionError(f"FetchSubscriptionMessageQueues({topic}) failed: {rc} {err!r}")
    out = []
    for i in range(size.value):
        mq = _CMessageQueue()
        ctypes.memmove(ctypes.byref(mq), ctypes.byref(mqs[i]), ctypes.sizeof(_CMessageQueue))
        out.append((mq.brokerName.decode(), mq.queueId, mq))
    dll.ReleaseSubscriptionMessageQueue(mqs)
    return sorted(out, key=lambda t: (t[0], t[1]))


def pull_queue(pull_consumer, mq, expression="*", offset=0, max_num=32, timeout=30, errors=5):
    """Pull one queue from `offset` until NO_NEW_MSG. Returns (snapshots, next offset, statuses)."""
    found, statuses, fails = [], [], 0
    deadline = time.time() + timeout
    while time.time() < deadline:
        res = dll.Pull(pull_consumer._handle, ctypes.pointer(mq), expression.encode(),
                       ctypes.c_longlong(offset), max_num)
        try:
            st = _CPullStatus(res.pullStatus)
            statuses.append((st.name, offset, res.nextBeginOffset))
            if st == _CPullStatus.BROKER_TIMEOUT:
                fails += 1
                if fails >= errors:
                    raise AssertionError(f"pull kept failing (BROKER_TIMEOUT = client-side error): "
                                         f"{dll.GetLatestErrorMessage()!r}; statuses {statuses[-5:]}")
                time.sleep(0.5)
                continue
            if st == _CPullStatus.FOUND:
                for i in range(res.size):
                    found.append(snapshot(RecvMessage(res.msgFoundList[i])))
            if st == _CPullStatus.NO_NEW_MSG:
                return found, res.nextBeginOffset, statuses
            if res.nextBeginOffset == offset and st != _CPullStatus.FOUND:
                raise AssertionError(f"pull made no progress at offset {offset}: {statuses[-5:]}")
            offset = res.nextBeginOffset
        finally:
            dll.ReleasePullResult(res)
    raise AssertionError(f"pull of queue did not finish in {timeout}s: {statuses[-5:]}")


def pull_all(pull_consumer, topic, expression="*"):
    """Every message of every queue from offset 0: {(broker, queue): [snapshots]}."""
    out = {}
    for broker, qid, mq in fetch_queues(pull_consumer, topic):
        msgs, _, _ = pull_queue(pull_consumer, mq, expression)
        out[(broker, qid)] = msgs
    return out


def wait_pullable(pull_consumer, topic, count, timeout=30, expression="*"):
    """Pull everything repeatedly until at least `count` messages are visible."""
    deadline = time.time() + timeout
    last = {}
    while time.time() < deadline:
        last = pull_all(pull_consumer, topic, expression)
        if sum(len(v) for v in last.values()) >= count:
            return last
        time.sleep(0.5)
    raise AssertionError(f"only {sum(len(v) for v in last.values())} of {count} messages pullable "
                         f"from {topic} after {timeout}s")


def body_for(prefix, i):
    """Distinct, non-trivial UTF-8 bodies (no NUL: the binding passes bodies as C strings)."""
    return f"{prefix}#{i} héllo wörld 中文 " + "x" * ((i * 37) % 300)


def expected(prefix, i, tags):
    return {
        "body": body_for(prefix, i),
        "tags": tags or "",
        "keys": f"{prefix}-k{i} {prefix}-alt{i}",
        "props": {"color": ("red", "green", "blue")[i % 3], "seq": str(i), "origin": prefix},
    }


def send_many(producer, topic, n, prefix, tags_of=lambda i: "TagA", how="sync", start=0):
    """Send n messages; returns a list of dicts (expected fields + id/offset/status for sync)."""
    out = []
    for i in range(start, start + n):
        tags = tags_of(i)
        exp = expected(prefix, i, tags)
        msg = make_message(topic, exp["body"], tags=tags, keys=exp["keys"], props=exp["props"])
        exp["send_time"] = int(time.time() * 1000)
        if how == "sync":
            r = producer.send_sync(msg)
            exp.update(id=r.msg_id, offset=r.offset, status=r.status)
        elif how == "oneway":
            producer.send_oneway(msg)
        else:
            raise ValueError(how)
        exp["i"] = i
        out.append(exp)
    return out


def check_same(got, exp, topic):
    """Compare a received snapshot with what was sent; returns a list of mismatch strings."""
    bad = []
    for k in ("body", "tags", "keys"):
        if got[k] != exp[k]:
            bad.append(f"{k}: got {got[k]!r} want {exp[k]!r}")
    if got["topic"] != topic:
        bad.append(f"topic: got {got['topic']!r} want {topic!r}")
    for k, v in exp["props"].items():
        if got["props"].get(k) != v:
            bad.append(f"property {k}: got {got['props'].get(k)!r} want {v!r}")
    if "id" in exp and got["id"] != exp["id"]:
        bad.append(f"id: got {got['id']!r} want {exp['id']!r}")
    if "offset" in exp and got["queue_offset"] != exp["offset"]:
        bad.append(f"queue offset: got {got['queue_offset']} want {exp['offset']} (SendResult.offset)")
    return bad


def assert_contiguous_per_queue(msgs, what=""):
    """Queue offsets of each queue must be exactly 0..n-1 (fresh topic, nothing lost or doubled)."""
    per = {}
    for m in msgs:
        per.setdefault(m["queue_id"], []).append(m["queue_offset"])
    for q, offs in per.items():
        assert sorted(offs) == list(range(len(offs))), f"{what} queue {q}: offsets {sorted(offs)}"
    return per
