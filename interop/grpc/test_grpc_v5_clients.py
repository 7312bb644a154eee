"""The official RocketMQ 5 Python client against FerroMQ's gRPC API: transaction check-back
(RecoverOrphanedTransactionCommand on the Telemetry stream, answered by the producer's
TransactionChecker) and v5 clients in mqadmin's producerConnection / consumerConnection."""
import subprocess
import threading

import pytest
from rocketmq import TransactionChecker, TransactionResolution

from conftest import Standalone, wait_until
from test_grpc_client import Clients, message, receive_all, receive_none


@pytest.fixture
def tx_server(bins, tmp_path):
    """Standalone whose transaction checks start 1 s after a half message, every second."""
    s = Standalone(str(tmp_path), bins)
    with open(s.conf, "a") as f:
        f.write("transactionTimeOut=1000\ntransactionCheckInterval=1000\n")
    s.start()
    yield s
    s.stop()


@pytest.fixture
def tx_clients(tx_server):
    c = Clients(tx_server)
    yield c
    c.close()


def mqadmin_result(server, *args):
    """mqadmin's outcome, failing or not (a group with no live client is an error)."""
    return subprocess.run([server.bins["mqadmin"], *args, "-n", server.namesrv],
                          capture_output=True, text=True, timeout=60)


class Answer(TransactionChecker):
    """Answers every check with `resolution` and remembers the bodies it was asked about."""

    def __init__(self, resolution):
        self.resolution, self.checked, self.lock = resolution, [], threading.Lock()

    def check(self, message):
        with self.lock:
            self.checked.append(message.body)
        return self.resolution


def test_unresolved_transaction_is_committed_by_the_checker(tx_server, tx_clients, uniq):
    topic, group = f"T_txc_{uniq}", f"G_txc_{uniq}"
    tx_server.create_topic(topic)
    checker = Answer(TransactionResolution.COMMIT)
    p = tx_clients.producer(topic, checker=checker)
    c = tx_clients.simple(group, topic)
    # The local transaction ends with neither commit nor rollback (unknown).
    p.send(message(topic, "checked-commit"), p.begin_transaction())
    got = receive_all(c, 1, timeout=60)
    assert [m.body for m in got] == [b"checked-commit"]
    assert b"checked-commit" in checker.checked
    c.ack(got[0])
    assert receive_none(c, 3) == []


def test_unresolved_transaction_rolled_back_by_the_checker_is_never_delivered(tx_server, tx_clients, uniq):
    topic, group = f"T_txr_{uniq}", f"G_txr_{uniq}"
    tx_server.create_topic(topic)
    checker = Answer(TransactionResolution.ROLLBACK)
    p = tx_clients.producer(topic, checker=checker)
    c = tx_clients.simple(group, topic)
    p.send(message(topic, "checked-rollback"), p.begin_transaction())
    wait_until(lambda: b"checked-rollback" in checker.checked, 60, what="the transaction check")
    # Checked (and rolled back) several seconds ago by now: nothing ever comes.
    assert receive_none(c, 6) == []


def test_v5_clients_are_listed_by_producer_and_consumer_connection(tx_server, tx_clients, uniq):
    topic, group = f"T_conn_{uniq}", f"G_conn_{uniq}"
    tx_server.create_topic(topic)
    tx_clients.producer(topic)
    tx_clients.simple(group, topic)

    def listed(*args):
        r = mqadmin_result(tx_server, *args)
        return r.stdout if r.returncode == 0 and "PYTHON" in r.stdout else None

    out = wait_until(lambda: listed("consumerConnection", "-g", group), 30, what="consumerConnection")
    assert "CONSUME_ACTIVELY" in out, out
    assert topic in out, out
    out = wait_until(lambda: listed("producerConnection", "-g", topic, "-t", topic), 30,
                     what="producerConnection")
    assert "PYTHON" in out, out
    # Shut down: no longer listed.
    tx_clients.close()
    tx_clients.items = []
    wait_until(lambda: listed("consumerConnection", "-g", group) is None, 30,
               what="the consumer to leave the listing")
