"""Cross-client: the Rust client library with the official C++ client.

(a) messages from the Rust producer (every send mode) are consumed intact by a C++ push consumer;
(b) messages from the C++ producer are consumed intact by a Rust push consumer (concurrent and
orderly, with a tag filter).

The Rust side is the example `crates/client/examples/interop_client.rs`, found as
`$FERROMQ_BIN_DIR/examples/interop_client` (build it with `cargo build --workspace --bins --examples`);
the tests are skipped without it (failed with FERROMQ_REQUIRE_BINS=1).
"""
import json
import os
import subprocess
import time

import pytest

from cpp_client import Collector, SendStatus, check_same, send_many
from harness import bin_dir

pytestmark = pytest.mark.timeout(240)


def _rust_client():
    for p in (os.path.join(bin_dir(), "examples", "interop_client"),
              os.path.join(bin_dir(), "interop_client")):
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


@pytest.fixture
def rust(bins):
    exe = _rust_client()
    if exe is None:
        msg = (f"interop_client example not found under {bin_dir()} "
               "(build it with `cargo build --workspace --bins --examples`)")
        if os.environ.get("FERROMQ_REQUIRE_BINS") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


def run_rust(exe, *args, timeout=120):
    r = subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, env={**os.environ, "RUST_BACKTRACE": "1"})
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    return r.returncode, lines, r.stderr


def test_rust_producer_to_cpp_consumer(cluster, clients, uniq, rust):
    ns = cluster.namesrv_addr
    topic = f"TRustToCpp_{uniq}"
    cluster.create_topic(topic, queues=4)
    sent = []
    for mode, count in (("sync", 12), ("async", 12), ("orderly", 8), ("batch", 4), ("oneway", 4)):
        code, lines, err = run_rust(rust, "produce", "--namesrv", ns, "--topic", topic,
                                    "--count", str(count), "--tags", "TagR",
                                    "--prefix", f"{mode}{uniq}", "--mode", mode)
        assert code == 0, err
        assert len(lines) == count, err
        for line in lines:
            line["mode"] = mode
        sent += lines
    with_ids = [s for s in sent if s["msg_id"]]
    # Ordered sends: one key, one queue, consecutive offsets.
    per_key = {}
    for s in sent:
        if s["mode"] == "orderly":
            per_key.setdefault(s["i"] % 4, []).append((s["queue_id"], s["queue_offset"]))
    for k, qs in per_key.items():
        assert len({q for q, _ in qs}) == 1, f"key {k} spread over queues {qs}"
    cluster.wait_stored(topic, len(sent))

    col = Collector("rust->cpp")
    clients.push_consumer(ns, f"CG_r2c_{uniq}", topic, col, "*")
    col.wait_for(lambda items: len({m["body"] for m in items}) >= len(sent), timeout=90,
                 what=f"{len(sent)} messages from the Rust producer")
    time.sleep(2)
    got = col.snapshot_list()
    assert not col.errors, col.errors
    by_body = {m["body"]: m for m in got}
    assert set(by_body) == {s["body"] for s in sent}
    assert len(got) == len(sent), "each message delivered once"
    for s in sent:
        m = by_body[s["body"]]
        assert m["topic"] == topic
        assert m["tags"] == "TagR"
        assert m["keys"] == f"key-{s['i'] % 4}"
        assert m["props"]["seq"] == str(s["i"])
    for s in with_ids:
        m = by_body[s["body"]]
        assert m["id"] == s["msg_id"] == m["uniq_key"], s
        assert (m["queue_id"], m["queue_offset"]) == (s["queue_id"], s["queue_offset"]), s


def test_cpp_producer_to_rust_consumer(cluster, clients, uniq, rust):
    ns = cluster.namesrv_addr
    topic = f"TCppToRust_{uniq}"
    cluster.create_topic(topic, queues=4)
    p = clients.producer(ns, f"PG_c2r_{uniq}")
    sent = send_many(p, topic, 24, f"c2r{uniq}", tags_of=lambda i: ("TagA", "TagB")[i % 2])
    assert all(s["status"] == SendStatus.OK for s in sent)
    cluster.wait_stored(topic, len(sent))

    code, lines, err = run_rust(rust, "consume", "--namesrv", ns, "--topic", topic,
                                "--group", f"CG_c2r_{uniq}", "--expect", str(len(sent)),
                                "--timeout-secs", "60")
    assert code == 0, f"Rust consumer got {len(lines)} of {len(sent)}\n{err}"
    by_id = {m["msg_id"]: m for m in lines}
    assert set(by_id) == {s["id"] for s in sent}
    for s in sent:
        m = by_id[s["id"]]
        got = {"id": m["msg_id"], "topic": m["topic"], "body": m["body"], "tags": m["tags"] or "",
               "keys": m["keys"] or "", "queue_offset": m["queue_offset"],
               "props": {k: m["props"].get(k) for k in s["props"]}}
        assert not check_same(got, s, topic), check_same(got, s, topic)

    # Tag filter and an orderly listener on the Rust side.
    tag_a = [s for s in sent if s["tags"] == "TagA"]
    code, lines, err = run_rust(rust, "consume", "--namesrv", ns, "--topic", topic,
                                "--group", f"CG_c2r_ord_{uniq}", "--expect", str(len(tag_a)),
                                "--expression", "TagA", "--orderly", "--timeout-secs", "60")
    assert code == 0, err
    assert {m["msg_id"] for m in lines} == {s["id"] for s in tag_a}
    assert all(m["tags"] == "TagA" for m in lines)
    per_queue = {}
    for m in lines:
        per_queue.setdefault(m["queue_id"], []).append(m["queue_offset"])
    for q, offs in per_queue.items():
        assert offs == sorted(offs), f"queue {q} consumed out of order: {offs}"


def test_rust_orderly_producer_to_cpp_orderly_consumer(cluster, clients, uniq, rust):
    """The C++ orderly consumer locks its queues with LOCK_BATCH_MQ (41) on FerroMQ."""
    ns = cluster.namesrv_addr
    topic = f"TRustOrder_{uniq}"
    cluster.create_topic(topic, queues=4)
    code, sent, err = run_rust(rust, "produce", "--namesrv", ns, "--topic", topic, "--count", "40",
                               "--prefix", f"ord{uniq}", "--mode", "orderly", "--key-count", "5")
    assert code == 0, err
    assert len(sent) == 40
    cluster.wait_stored(topic, len(sent))
    col = Collector("rust->cpp orderly")
    clients.push_consumer(ns, f"CG_r2c_ord_{uniq}", topic, col, "*", orderly=True)
    col.wait_for(lambda items: len({m["body"] for m in items}) >= len(sent), timeout=90,
                 what="40 ordered messages")
    got = col.snapshot_list()
    assert not col.errors, col.errors
    # Per key, the C++ orderly listener saw the Rust producer's order.
    seqs = {}
    for m in got:
        seqs.setdefault(m["keys"], []).append(int(m["props"]["seq"]))
    assert len(seqs) == 5
    for key, s in seqs.items():
        assert s == sorted(s), f"{key} out of order: {s}"
