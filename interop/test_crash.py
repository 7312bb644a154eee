"""Crash safety with the official C++ producer: the broker is killed with SIGKILL at random
moments while messages are being sent, and restarted on the same store. Afterwards every message
acknowledged SEND_OK (or FLUSH_DISK_TIMEOUT, which also means "stored") is readable with its body,
keys and properties intact, nothing that was never sent appears, queue offsets have no holes, and
the mqadmin query commands find the messages.

Both flush modes: with SYNC_FLUSH an acknowledged message is on disk; with ASYNC_FLUSH a process
crash keeps the page cache, so nothing acknowledged may be lost either.

Kills per mode: 3 by default; 25 with FERROMQ_LONG_TESTS=1; any number with FERROMQ_CRASH_KILLS=N.
"""
import os
import random
import signal
import threading
import time

import pytest

import rmq_wire  # noqa: F401  (imported by harness users; keeps the module loaded)
from harness import STARTUP_TIMEOUT, wait_until
from cpp_client import body_for, check_same, expected, make_message, pull_all, assert_contiguous_per_queue
from rocketmq.client import SendStatus

LONG = os.environ.get("FERROMQ_LONG_TESTS") == "1"
KILLS = int(os.environ.get("FERROMQ_CRASH_KILLS") or (25 if LONG else 3))

pytestmark = pytest.mark.timeout(300 + KILLS * 60)

STORED = (SendStatus.OK, SendStatus.FLUSH_DISK_TIMEOUT)


class Sender(threading.Thread):
    """Sends numbered messages in a loop with the C++ producer, recording every attempt."""

    def __init__(self, producer, topic, prefix):
        super().__init__(daemon=True)
        self.producer, self.topic, self.prefix = producer, topic, prefix
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.attempted = {}   # i -> expected fields
        self.acked = {}       # i -> (status, msg_id, queue offset)
        self.failures = 0

    def ok_count(self):
        with self.lock:
            return len(self.acked)

    def run(self):
        i = 0
        while not self.stop.is_set():
            exp = expected(self.prefix, i, "TagC")
            msg = make_message(self.topic, exp["body"], tags="TagC", keys=exp["keys"], props=exp["props"])
            with self.lock:
                self.attempted[i] = exp
            try:
                r = self.producer.send_sync(msg)
                with self.lock:
                    self.acked[i] = (r.status, r.msg_id, r.offset)
            except Exception:  # noqa: BLE001 - the broker is being killed: failures are expected
                with self.lock:
                    self.failures += 1
                time.sleep(0.05)
            i += 1


def seq_of(m, prefix):
    """The sequence number a received message carries in its properties."""
    if m["props"].get("origin") != prefix:
        return None
    try:
        return int(m["props"].get("seq"))
    except (TypeError, ValueError):
        return None


def offset_msg_id(port, commit_log_offset):
    return f"7F000001{port:08X}{commit_log_offset:016X}"


@pytest.mark.parametrize("flush", ["SYNC_FLUSH", "ASYNC_FLUSH"])
def test_kill_9_loses_no_acknowledged_message(namesrv_only, clients, uniq, flush):
    cluster = namesrv_only
    broker = cluster.add_broker("broker-a", start=False)
    with open(broker.conf, "a") as f:
        f.write(f"flushDiskType={flush}\n")
        # Small segments and index files: kills also land around rolls.
        f.write("mappedFileSizeCommitLog=1048576\nmaxHashSlotNum=1000\nmaxIndexNum=4000\n")
    # the harness wrote ASYNC_FLUSH first; the last value wins
    broker.start()
    topic = f"TCrash_{uniq}"
    prefix = f"crash{uniq}"
    cluster.create_topic(topic, queues=4)

    producer = clients.producer(cluster.namesrv_addr, f"PG_crash_{uniq}", timeout_ms=3000)
    sender = Sender(producer, topic, prefix)
    sender.start()
    rnd = random.Random(uniq)
    try:
        wait_until(lambda: sender.ok_count() >= 20, 60, what="first acknowledged sends")
        for k in range(KILLS):
            time.sleep(rnd.uniform(0.2, 1.5))
            rc = broker.stop(signal.SIGKILL)
            assert rc == -signal.SIGKILL, f"kill #{k}: broker exit {rc}"
            time.sleep(rnd.uniform(0.0, 0.3))
            broker.start()
            before = sender.ok_count()
            wait_until(lambda: sender.ok_count() >= before + 10, 90,
                       what=f"sends acknowledged again after kill #{k + 1}")
    finally:
        sender.stop.set()
        sender.join(timeout=60)
    assert not sender.is_alive(), "sender thread stuck"

    with sender.lock:
        attempted = dict(sender.attempted)
        acked = dict(sender.acked)
    stored = {i: a for i, a in acked.items() if a[0] in STORED}
    print(f"{flush}: {len(attempted)} sent, {len(stored)} acknowledged as stored, "
          f"{sender.failures} failed while the broker was down, {KILLS} kills")
    assert len(stored) >= 20 + KILLS * 10

    pc = clients.pull_consumer(cluster.namesrv_addr, f"CG_crash_{uniq}")
    per_queue = pull_all(pc, topic)
    got = [m for msgs in per_queue.values() for m in msgs]
    assert_contiguous_per_queue(got, "after kills")

    by_seq = {}
    strangers = []
    for m in got:
        i = seq_of(m, prefix)
        if i is None or i not in attempted:
            strangers.append(m)
            continue
        by_seq.setdefault(i, []).append(m)
    assert not strangers, f"{len(strangers)} messages that were never sent: {strangers[:3]}"

    lost = sorted(i for i in stored if i not in by_seq)
    assert not lost, (f"{len(lost)} of {len(stored)} acknowledged messages lost after {KILLS} kills "
                      f"({flush}): {lost[:20]}")
    bad = {}
    for i, copies in by_seq.items():
        exp = dict(attempted[i])
        for m in copies:
            problems = check_same(m, exp, topic)
            if problems:
                bad[i] = problems
    assert not bad, f"damaged messages: {dict(list(bad.items())[:5])}"
    for i, (status, msg_id, _offset) in stored.items():
        assert any(m["id"] == msg_id for m in by_seq[i]), f"message {i}: no copy with id {msg_id}"

    # The query commands find acknowledged messages after the crashes.
    sample = rnd.sample(sorted(stored), min(4, len(stored)))
    for i in sample:
        msg_id = stored[i][1]
        m = next(c for c in by_seq[i] if c["id"] == msg_id)
        key = attempted[i]["keys"].split(" ")[0]
        r = cluster.admin("queryMsgByKey", "-t", topic, "-k", key)
        assert msg_id in r.stdout, r.stdout
        r = cluster.admin("queryMsgByUniqueKey", "-t", topic, "-i", msg_id)
        assert f"Keys:                [{attempted[i]['keys']}]" in r.stdout, r.stdout
        oid = offset_msg_id(broker.port, m["commit_log_offset"])
        r = cluster.admin("queryMsgById", "-t", topic, "-i", oid, "-f", "UTF-8")
        assert f"OffsetID:            {oid}" in r.stdout, r.stdout
        assert body_for(prefix, i) in r.stdout
        r = cluster.admin("queryMsgByOffset", "-t", topic, "-b", "broker-a",
                          "-i", str(m["queue_id"]), "-o", str(m["queue_offset"]))
        assert f"OffsetID:            {oid}" in r.stdout, r.stdout
    with open(broker.proc.log_path, "rb") as f:
        log = f.read().decode("utf-8", "replace")
    assert log.count("store recovered after an abnormal stop") >= KILLS, "recovery did not run"
