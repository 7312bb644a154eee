"""Message trace for a client that does not trace: the broker records it (`brokerTraceEnable`).

A message sent by the official C++ client and consumed by its push consumer shows its life in
`mqadmin queryMsgTraceById` and on the dashboard's message page: the Pub row of RocketMQ's table
with the C++ producer's group, and in the life the store, the delivery to the group, and (for a
message the callback fails with no retries allowed) the failed consumption and the move to the
dead-letter queue.

The broker cannot see a consumer's success (RocketMQ's SubAfter comes from client-side tracing,
which the C++ client does not do), so a message consumed successfully has no SubAfter record:
its full life, as the broker sees it, is the store and the delivery."""
import urllib.parse
import urllib.request
from html.parser import HTMLParser

import pytest

from cpp_client import Collector, SendStatus, make_message, snapshot
from harness import free_port, wait_until

pytestmark = [
    pytest.mark.timeout(150),
    # The binding re-raises the callback's exception after answering RECONSUME_LATER.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def trace_of(cluster, msg_id, *wanted):
    """queryMsgTraceById until every string of `wanted` is in its output."""
    out = {"text": ""}

    def ready():
        r = cluster.admin("queryMsgTraceById", "-i", msg_id, check=False)
        out["text"] = r.stdout + r.stderr
        return r.returncode == 0 and all(w in r.stdout for w in wanted)

    wait_until(ready, 60, what=f"the trace of {msg_id} to show {wanted}")
    return out["text"]


class _TraceTable(HTMLParser):
    """The rows of the dashboard's `<table id="message-trace">`, as lists of cell texts."""

    def __init__(self):
        super().__init__()
        self.inside, self.in_body, self.cell = False, False, None
        self.rows = []

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("id", "message-trace") in attrs:
            self.inside = True
        elif self.inside and tag == "tbody":
            self.in_body = True
        elif self.in_body and tag == "tr":
            self.rows.append([])
        elif self.in_body and tag == "td":
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = self.in_body = False
        elif self.in_body and tag == "td" and self.cell is not None:
            self.rows[-1].append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


# The dashboard trace table's columns.
COLUMNS = ["time", "type", "topic", "group", "client", "status", "cost", "retries"]


def dashboard_trace(port, topic, msg_id):
    """The trace rows of the dashboard's page for `msg_id` (dicts keyed by COLUMNS)."""
    query = urllib.parse.urlencode({"topic": topic, "id": msg_id})
    url = f"http://127.0.0.1:{port}/messages/view?{query}"
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.status == 200, url
        page = r.read().decode()
    parser = _TraceTable()
    parser.feed(page)
    assert 'id="message-trace"' in page, page
    return [dict(zip(COLUMNS, row)) for row in parser.rows if len(row) == len(COLUMNS)]


def one(rows, kind, **want):
    """The single row of type `kind`, checked against `want`."""
    found = [r for r in rows if r["type"] == kind]
    assert len(found) == 1, (kind, rows)
    for k, v in want.items():
        assert found[0][k] == v, (kind, k, rows)
    return found[0]


def test_cpp_client_messages_show_their_life_in_the_broker_trace(namesrv_only, clients, uniq):
    cluster = namesrv_only
    dashboard = free_port()
    cluster.add_broker("broker-a", extra={"brokerTraceEnable": "true", "dashboardPort": dashboard})
    topic, group, pgroup = f"TTrace_{uniq}", f"CG_trace_{uniq}", f"PG_trace_{uniq}"
    cluster.create_topic(topic, queues=2)
    # No retries: a failed message goes straight to the DLQ.
    cluster.admin("updateSubGroup", "-c", cluster.cluster_name, "-g", group, "-r", "0")

    got = Collector("trace")

    def callback(msg):
        got(msg)
        if snapshot(msg)["body"].startswith("poison"):
            raise RuntimeError("the listener failed on purpose")

    clients.push_consumer(cluster.namesrv_addr, group, topic, callback)
    p = clients.producer(cluster.namesrv_addr, pgroup)
    ok = p.send_sync(make_message(topic, "fine", tags="TagT", keys="trace-k1"))
    bad = p.send_sync(make_message(topic, "poison", tags="TagT", keys="trace-k2"))
    assert ok.status == SendStatus.OK and bad.status == SendStatus.OK

    text = trace_of(cluster, ok.msg_id, f"Pub        {pgroup}", "delivered (retry 0)")
    lines = text.splitlines()
    assert lines[0].startswith("#Type      #ProducerGroup"), text
    assert lines[1].startswith(f"Pub        {pgroup}") and lines[1].rstrip().endswith("success"), text
    life = text[text.index("Life of the message"):]
    assert group in life and topic in life, text

    text = trace_of(cluster, bad.msg_id, "moved to the dead-letter queue", "consumed, failed")
    life = text[text.index("Life of the message"):].splitlines()[2:]
    order = [next(i for i, l in enumerate(life) if w in l)
             for w in ("sent, success", "delivered (retry 0)", "consumed, failed",
                       "moved to the dead-letter queue")]
    assert order == sorted(order), text
    assert f"%DLQ%{group}" in text, text

    # The dashboard's message page shows the same records. The fine message: stored (Pub, by
    # the C++ producer's group, from its host) and delivered to the group once; no SubAfter,
    # since a success is seen only by a client that traces.
    rows = dashboard_trace(dashboard, topic, ok.msg_id)
    one(rows, "Pub", topic=topic, group=pgroup, client="127.0.0.1", status="success")
    # (A rebalance may deliver it twice; every delivery is to the group, none a redelivery.
    # RocketMQ's SubBefore record has no topic field, so that cell is empty.)
    delivered = [r for r in rows if r["type"] == "SubBefore"]
    assert delivered, rows
    for r in delivered:
        assert (r["group"], r["client"], r["retries"]) == (group, "127.0.0.1", "0"), rows
    assert {r["type"] for r in rows} == {"Pub", "SubBefore"}, rows

    # The poison message: stored, delivered, sent back failed, and its copy stored in the DLQ.
    rows = dashboard_trace(dashboard, topic, bad.msg_id)
    pubs = {r["topic"]: r for r in rows if r["type"] == "Pub"}
    assert set(pubs) == {topic, f"%DLQ%{group}"}, rows
    assert pubs[topic]["group"] == pgroup and pubs[topic]["status"] == "success", rows
    assert pubs[f"%DLQ%{group}"]["group"] == group, rows
    one(rows, "SubBefore", group=group, retries="0")
    one(rows, "SubAfter", group=group, status="failed")
    assert len(rows) == 4, rows
