"""Flow control with the C++ client (acceptance 2 of issue 12).

One broker of the cluster cannot keep up: SYNC_FLUSH with a 300 ms fsync injected
(`debugFlushDelayMs`), a single send slot and a 20 ms queue wait, so concurrent sends to it are
answered SYSTEM_BUSY `[TIMEOUT_CLEAN_QUEUE]`. The C++ producer treats that as retryable and
sends again on the other broker: every send must end SEND_OK and every message be stored once.
The busy broker's shed counter (runtime info `sendShedTimeoutTotal`) proves sends were shed.
"""
import threading

import pytest

import rmq_wire
from cpp_client import SendStatus, send_many

pytestmark = pytest.mark.timeout(300)

BUSY = {
    "flushDiskType": "SYNC_FLUSH",
    "debugFlushDelayMs": 300,
    "sendMessageThreadPoolNums": 1,
    "waitTimeMillsInSendQueue": 20,
}
PRODUCERS = 4
PER_PRODUCER = 25


def runtime_info(addr):
    h, b = rmq_wire.request(addr, 28)  # GET_BROKER_RUNTIME_INFO
    assert h["code"] == 0, h
    return rmq_wire.loads_lenient(b)["table"]


def test_cpp_producer_retries_system_busy_on_the_other_broker(namesrv_only, clients, uniq):
    c = namesrv_only
    ns = c.namesrv_addr
    busy = c.add_broker("broker-busy", extra=BUSY)
    c.add_broker("broker-ok")
    topic = f"TBusy_{uniq}"
    c.create_topic(topic, queues=4, use_cluster=True)

    producers = [clients.producer(ns, f"PG_busy_{uniq}_{k}") for k in range(PRODUCERS)]
    results, errors = {}, []

    def run(k):
        try:
            results[k] = send_many(producers[k], topic, PER_PRODUCER, f"busy{uniq}p{k}")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"producer {k}: {e!r}")

    threads = [threading.Thread(target=run, args=(k,)) for k in range(PRODUCERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    assert not errors, errors
    sent = [s for k in range(PRODUCERS) for s in results[k]]
    assert len(sent) == PRODUCERS * PER_PRODUCER
    assert all(s["status"] == SendStatus.OK for s in sent), [s["status"] for s in sent]
    # Not checked: distinct `msg_id`s. They are made by the client, and the C++ client 0.4.4
    # has given two of its concurrent producers' messages the same id (seen once in CI);
    # what the broker owes is below: every send stored exactly once.

    shed = int(runtime_info(busy.addr)["sendShedTimeoutTotal"])
    print(f"{len(sent)} C++ sends all SEND_OK; the busy broker shed {shed} attempts with "
          f"SYSTEM_BUSY [TIMEOUT_CLEAN_QUEUE], which the client retried")
    assert shed > 0, "the busy broker shed nothing: the test did not exercise SYSTEM_BUSY"
    # Stored exactly once each: a shed attempt stored nothing.
    c.wait_stored(topic, len(sent))
    assert c.stored_count(topic) == len(sent)
