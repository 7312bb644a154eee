"""(g) Two brokers of one cluster on one name server.

The C++ producer must spread a topic's messages over both brokers; after one broker stops, the
name server must drop its routes (RocketMQ: at once when the broker unregisters or its connection
closes, at the latest after the 120 s expiry plus a 5 s sweep) and the producer keeps working.
"""
import pytest

import rmq_wire
from harness import wait_until
from cpp_client import SendStatus, check_same, pull_all, send_many

pytestmark = pytest.mark.timeout(420)

ROUTE_EXPIRY = 135  # 120 s broker expiry + sweep interval + slack


def test_two_brokers_spread_and_failover(cluster, clients, uniq):
    ns = cluster.namesrv_addr
    cluster.add_broker("broker-b")
    info = rmq_wire.get_cluster_info(ns)
    assert set(info["clusterAddrTable"][cluster.cluster_name]) == {"broker-a", "broker-b"}

    topic = f"TTwo_{uniq}"
    cluster.create_topic(topic, queues=4, use_cluster=True)  # mqadmin updateTopic -c CLUSTER
    route = rmq_wire.get_route(ns, topic)
    assert {bd["brokerName"] for bd in route["brokerDatas"]} == {"broker-a", "broker-b"}
    addrs = {bd["brokerName"]: bd["brokerAddrs"]["0"] for bd in route["brokerDatas"]}
    assert addrs == {n: b.addr for n, b in cluster.brokers.items()}

    p = clients.producer(ns, f"PG_{uniq}")
    sent = send_many(p, topic, 40, f"two{uniq}", tags_of=lambda i: "TagA")
    cluster.wait_stored(topic, len(sent))
    assert all(s["status"] == SendStatus.OK for s in sent)

    pc = clients.pull_consumer(ns, f"CG_{uniq}")
    per_queue = pull_all(pc, topic)
    assert {b for b, _ in per_queue} == {"broker-a", "broker-b"}
    assert len(per_queue) == 8, f"expected 4 queues on each broker, got {sorted(per_queue)}"
    per_broker = {}
    for (broker, _), msgs in per_queue.items():
        per_broker[broker] = per_broker.get(broker, 0) + len(msgs)
    assert sum(per_broker.values()) == 40, per_broker
    # the producer round-robins over all 8 write queues
    assert min(per_broker.values()) >= 10, f"messages not spread over both brokers: {per_broker}"
    by_id = {s["id"]: s for s in sent}
    stored = [m for msgs in per_queue.values() for m in msgs]
    assert sorted(m["id"] for m in stored) == sorted(by_id)
    assert not any(check_same(m, by_id[m["id"]], topic) for m in stored)

    # stop broker-b: its routes must go away
    rc = cluster.brokers["broker-b"].stop()
    assert rc != "killed", "broker-b did not exit after SIGTERM"

    def only_a():
        r = rmq_wire.get_route(ns, topic)
        return r is not None and {q["brokerName"] for q in r["queueDatas"]} == {"broker-a"} \
            and {bd["brokerName"] for bd in r["brokerDatas"]} == {"broker-a"}
    wait_until(only_a, ROUTE_EXPIRY, interval=1.0, what="broker-b to disappear from the topic route")
    ci = rmq_wire.get_cluster_info(ns)
    assert "broker-b" not in (ci.get("brokerAddrTable") or {})
    assert set(ci["clusterAddrTable"][cluster.cluster_name]) == {"broker-a"}

    if "mqadmin" in cluster.bins:
        out = cluster.admin("clusterList").stdout
        assert "broker-a" in out and cluster.brokers["broker-a"].addr in out, out
        assert "broker-b" not in out and cluster.brokers["broker-b"].addr not in out, out

    # the producer still delivers (it retries on broker-a; its cached route may still list b)
    more = send_many(p, topic, 10, f"two{uniq}", tags_of=lambda i: "TagB", start=100)
    assert all(s["status"] == SendStatus.OK for s in more)
    cluster.wait_stored(topic, per_broker["broker-a"] + len(more))
    # PullConsumers have no instance name in this binding, so they share one client factory and
    # its route cache (refreshed every 30 s): shut the first one down to read a fresh route.
    clients.shutdown(pc)
    pc2 = clients.pull_consumer(ns, f"CG2_{uniq}")
    after = pull_all(pc2, topic)
    assert {b for b, _ in after} == {"broker-a"}
    ids_a = {m["id"] for msgs in after.values() for m in msgs}
    assert {s["id"] for s in more} <= ids_a
