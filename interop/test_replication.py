"""(r) Master/slave replication as the official C++ client sees it.

* The four SendStatus values, each provoked: SEND_OK (a SYNC_MASTER whose slave holds the
  message), SLAVE_NOT_AVAILABLE (a SYNC_MASTER with no slave), FLUSH_SLAVE_TIMEOUT (its slave
  frozen with SIGSTOP), FLUSH_DISK_TIMEOUT (SYNC_FLUSH with a 1 ms syncFlushTimeout). The C++
  client shows them in its async send callback; a sync send that is not SEND_OK it retries on
  the next queue and, when every try fails, raises "No route info of this topic" (its
  `sendDefaultImpl`), which is checked too.
* SYNC_MASTER + SLAVE under load: the master is killed with SIGKILL while the producer sends;
  every message acknowledged SEND_OK is then read from the slave, intact.
"""
import json
import random
import signal
import string
import threading
import time

import pytest

import rmq_wire
from harness import wait_until
from cpp_client import SendStatus, check_same, make_message, pull_all, send_many


def send_async_status(producer, msg, timeout=20):
    """The SendResult the C++ client hands its async callback (it raises the exception)."""
    done, out = threading.Event(), {}

    def ok(r):
        out["r"] = r
        done.set()

    def bad(e):
        out["e"] = e
        done.set()
    producer.send_async(msg, ok, bad)
    assert done.wait(timeout), "no callback from the async send"
    if "e" in out:
        raise out["e"]
    return out["r"]

pytestmark = pytest.mark.timeout(300)

HA_FAST = {"haSendHeartbeatInterval": 500, "haHousekeepingInterval": 4000}


def add_pair(cluster, name, sync_flush_timeout=3000):
    master = cluster.add_broker(name, extra={"brokerRole": "SYNC_MASTER",
                                             "syncFlushTimeout": sync_flush_timeout, **HA_FAST})
    slave = cluster.add_broker(name, broker_id=1, extra={"brokerRole": "SLAVE",
                                                         "slaveReadEnable": "true", **HA_FAST})
    return master, slave


def slave_has_topic(slave, topic):
    h, b = rmq_wire.request(slave.addr, 21)  # GET_ALL_TOPIC_CONFIG
    return h["code"] == 0 and topic in (rmq_wire.loads_lenient(b).get("topicConfigTable") or {})


def test_the_four_send_statuses(namesrv_only, clients, uniq):
    c = namesrv_only
    topic = f"TRepl_{uniq}"
    master = c.add_broker("broker-r", extra={"brokerRole": "SYNC_MASTER", "syncFlushTimeout": 1500,
                                              **HA_FAST})
    c.create_topic(topic, queues=2, brokers=[master])
    p = clients.producer(c.namesrv_addr, f"PG_{uniq}")

    def send(i):
        return send_async_status(p, make_message(topic, f"status {i}", tags="T", keys=f"k{i}"))

    # No slave: stored, but SLAVE_NOT_AVAILABLE.
    r = send(0)
    assert r.status == SendStatus.SLAVE_NOT_AVAILABLE, r.status
    with pytest.raises(Exception, match="No route info"):
        p.send_sync(make_message(topic, "sync without a slave"))

    # A slave joins (it learns the master's HA address from the name server): SEND_OK.
    slave = c.add_broker("broker-r", broker_id=1, extra={"brokerRole": "SLAVE", **HA_FAST})
    statuses = []

    def ok():
        statuses.append(send(len(statuses) + 1).status)
        return statuses[-1] == SendStatus.OK
    wait_until(ok, 30, interval=0.3, what="a SYNC_MASTER send answered SEND_OK once the slave is in")

    # The slave freezes: the master waits syncFlushTimeout, then FLUSH_SLAVE_TIMEOUT.
    slave.proc.p.send_signal(signal.SIGSTOP)
    try:
        t = time.time()
        r = send(100)
        assert r.status == SendStatus.FLUSH_SLAVE_TIMEOUT, r.status
        assert time.time() - t >= 1.0
    finally:
        slave.proc.p.send_signal(signal.SIGCONT)
    statuses.clear()
    wait_until(ok, 30, interval=0.3, what="SEND_OK again after the slave thawed")

    # SYNC_FLUSH with a 1 ms flush timeout: FLUSH_DISK_TIMEOUT. One large message alone may
    # reach the disk within 1 ms on a fast device, so bursts of 8 async sends of ~2 MB each
    # (random letters: they compress only to ~60 %) put tens of MB behind one group commit.
    flusher = c.add_broker("broker-f", extra={"flushDiskType": "SYNC_FLUSH", "syncFlushTimeout": 1,
                                              "mappedFileSizeCommitLog": 256 * 1024 * 1024})
    ftopic = f"TFlush_{uniq}"
    c.create_topic(ftopic, queues=1, brokers=[flusher])
    p.set_max_message_size(4 * 1024 * 1024)
    rnd = random.Random(7)
    bodies = ["".join(rnd.choices(string.ascii_letters, k=3_500_000)) for _ in range(8)]
    seen = []
    for burst in range(5):
        lock, done, results = threading.Lock(), threading.Event(), []

        def record(status):
            with lock:
                results.append(status)
                if len(results) == len(bodies):
                    done.set()
        for i, body in enumerate(bodies):
            p.send_async(make_message(ftopic, body, tags="F", keys=f"f{burst}-{i}"),
                         lambda r: record(r.status), lambda e: record(repr(e)))
        assert done.wait(60), f"only {len(results)} callbacks"
        seen.extend(results)
        if SendStatus.FLUSH_DISK_TIMEOUT in seen:
            break
    assert SendStatus.FLUSH_DISK_TIMEOUT in seen, seen
    assert set(seen) <= {SendStatus.OK, SendStatus.FLUSH_DISK_TIMEOUT}, seen


def test_acknowledged_messages_survive_sigkill_of_the_master(namesrv_only, clients, uniq):
    c = namesrv_only
    topic = f"TFail_{uniq}"
    master, slave = add_pair(c, "broker-s")
    c.create_topic(topic, queues=4, brokers=[master])
    # The slave copies the master's topics (every 10 s); it must know this one to serve it.
    wait_until(lambda: slave_has_topic(slave, topic), 30, interval=0.5,
               what="the slave to copy the topic from its master")
    p = clients.producer(c.namesrv_addr, f"PG_{uniq}", timeout_ms=3000)

    acked, failures, stop = [], [], threading.Event()

    def produce():
        i = 0
        while not stop.is_set() and i < 3000:
            try:
                for s in send_many(p, topic, 1, f"fo{uniq}", start=i):
                    if s["status"] == SendStatus.OK:
                        acked.append(s)
            except Exception as e:  # noqa: BLE001 - the master dies under it
                failures.append(str(e))
                time.sleep(0.05)
            i += 1

    t = threading.Thread(target=produce, daemon=True)
    t.start()
    wait_until(lambda: len(acked) >= 200, 60, interval=0.05, what="200 acknowledged sends")
    master.stop(signal.SIGKILL)
    time.sleep(1.0)
    stop.set()
    t.join(30)
    assert len(acked) >= 200

    # Every acknowledged message is on the slave, byte for byte.
    pc = clients.pull_consumer(c.namesrv_addr, f"CG_{uniq}")

    def all_there():
        got = pull_all(pc, topic)
        return {m["id"]: m for msgs in got.values() for m in msgs}
    stored = {}

    def complete():
        stored.update(all_there())
        return all(a["id"] in stored for a in acked)
    wait_until(complete, 60, interval=1.0, what="every acknowledged message to be read from the slave")
    bad = [d for a in acked for d in check_same(stored[a["id"]], a, topic)]
    assert not bad, bad[:5]
    print(json.dumps({"acked": len(acked), "read_from_slave": len(stored),
                      "send_errors_after_kill": len(failures)}))
