"""(acl2) ACL 2.0 (RocketMQ 5.3 users and ACLs) with the official C++ client: the first super
user comes from initAuthenticationUser, mqadmin (signed as that user) creates a normal user and
its ACL, and the C++ client signs with set_session_credentials(username, password). The allowed
user sends and pulls; a wrong password, an unknown user and a user allowed only to publish are
refused with NO_PERMISSION, and nothing refused is delivered."""
import os
import re

import pytest

from cpp_client import (PullConsumer, SendStatus, make_message,
                        send_many, wait_pullable)
from harness import client_log_tail, wait_until

pytestmark = pytest.mark.timeout(180)

ROOT = ("root", "rootSecret1")


def signed_producer(clients, ns, group, user, password):
    p = clients.producer(ns, group, start=False)
    p.set_session_credentials(user, password, "ALIYUN")
    p.start()
    return p


def signed_pull_consumer(clients, ns, group, user, password):
    c = PullConsumer(group)
    c.offset_table = {}
    c.set_namesrv_addr(ns)
    c.set_session_credentials(user, password, "ALIYUN")
    c.start()
    clients.items.append(("pull", c))
    return c


@pytest.fixture
def acl2_cluster(namesrv_only, uniq, monkeypatch):
    topic = f"TAcl2_{uniq}"
    b = namesrv_only.add_broker("broker-acl2", extra={
        "authenticationEnabled": "true",
        "authorizationEnabled": "true",
        "initAuthenticationUser": '{"username":"root","password":"rootSecret1"}',
    })
    # mqadmin signs as the super user.
    monkeypatch.setenv("FERROMQ_ACCESS_KEY", ROOT[0])
    monkeypatch.setenv("FERROMQ_SECRET_KEY", ROOT[1])
    namesrv_only.create_topic(topic, queues=2)
    a = namesrv_only.admin
    a("createUser", "-b", b.addr, "-u", "cppUser02", "-p", "cppSecret02")
    a("createAcl", "-b", b.addr, "-s", "User:cppUser02", "-r", f"Topic:{topic},Group:CG_*",
      "-a", "Pub,Sub", "-d", "Allow")
    a("createUser", "-b", b.addr, "-u", "cppPubOnly", "-p", "cppSecret03")
    a("createAcl", "-b", b.addr, "-s", "User:cppPubOnly", "-r", f"Topic:{topic}",
      "-a", "Pub", "-d", "Allow")
    return namesrv_only, b, topic


def test_allowed_user_sends_and_pulls(acl2_cluster, clients, uniq):
    cluster, broker, topic = acl2_cluster
    ns = cluster.namesrv_addr
    r = cluster.admin("getAcl", "-b", broker.addr, "-s", "User:cppUser02")
    assert re.search(r"User:cppUser02\s+Custom\s+Group:CG_\*\s+\[Pub, Sub\]", r.stdout), r.stdout
    p = signed_producer(clients, ns, f"PG_{uniq}", "cppUser02", "cppSecret02")
    sent = send_many(p, topic, 8, f"acl2{uniq}")
    assert all(s["status"] == SendStatus.OK for s in sent), sent

    pc = signed_pull_consumer(clients, ns, f"CG_acl2_{uniq}", "cppUser02", "cppSecret02")
    got = wait_pullable(pc, topic, len(sent))
    ids = sorted(m["id"] for msgs in got.values() for m in msgs)
    assert ids == sorted(s["id"] for s in sent)
    assert "ACL 2.0 enabled" in broker.proc.log()


def test_wrong_password_unknown_user_and_pub_only_are_refused(acl2_cluster, clients, uniq):
    cluster, broker, topic = acl2_cluster
    ns = cluster.namesrv_addr
    bad = signed_producer(clients, ns, f"PG_bad_{uniq}", "cppUser02", "not-the-password")
    with pytest.raises(Exception):
        bad.send_sync(make_message(topic, "refused"))
    wait_until(lambda: "check signature failed for User:cppUser02" in client_log_tail(200000), 10,
               what="the refusal in the C++ client log")

    stranger = signed_producer(clients, ns, f"PG_who_{uniq}", "mallory", "whatever1")
    with pytest.raises(Exception):
        stranger.send_sync(make_message(topic, "refused"))
    wait_until(lambda: "User:mallory is not found" in client_log_tail(200000), 10,
               what="the unknown user's refusal in the C++ client log")

    # A user allowed to publish only: its send is served, its pulls are refused.
    pub_only = signed_producer(clients, ns, f"PG_pub_{uniq}", "cppPubOnly", "cppSecret03")
    sent = send_many(pub_only, topic, 3, f"pub{uniq}")
    assert all(s["status"] == SendStatus.OK for s in sent), sent
    pc = signed_pull_consumer(clients, ns, f"CG_pub_{uniq}", "cppPubOnly", "cppSecret03")
    with pytest.raises(AssertionError):
        wait_pullable(pc, topic, 1, timeout=5)
    wait_until(lambda: "User:cppPubOnly has no permission to access" in broker.proc.log(), 10,
               what="the pull refusal in the broker log")

    r = cluster.admin("brokerStatus", "-b", broker.addr)
    counters = dict(re.findall(r"(authRefused\w+)\s*:\s*(\d+)", r.stdout))
    assert int(counters.get("authRefusedAuthentication", 0)) >= 2, r.stdout
    assert int(counters.get("authRefusedAuthorization", 0)) >= 1, r.stdout

    # Only the publish-only user's three messages reached the topic.
    ok = signed_pull_consumer(clients, ns, f"CG_ok_{uniq}", "cppUser02", "cppSecret02")
    got = wait_pullable(ok, topic, 3)
    ids = sorted(m["id"] for msgs in got.values() for m in msgs)
    assert ids == sorted(s["id"] for s in sent)


def test_name_server_checks_route_queries_of_the_cpp_client(bins, tmp_path, clients, uniq, monkeypatch):
    """A name server with ACL 2.0 on (namesrv.conf), reading the broker's users: the C++
    client's signed route query is served, a wrong password and no credentials are refused by
    the name server itself (so the producer never finds the topic)."""
    from harness import Cluster, STARTUP_TIMEOUT, write_props

    cluster = Cluster(str(tmp_path), bins)
    store = os.path.join(str(tmp_path), "broker-nsacl", "store")
    inner = '{"accessKey":"inner","secretKey":"innerSecret1"}'
    root = '{"username":"root","password":"rootSecret1"}'
    write_props(cluster.namesrv_conf, {
        "listenPort": cluster.namesrv_port,
        "authenticationEnabled": "true",
        "authorizationEnabled": "true",
        "authConfigPath": os.path.join(store, "config", "auth.json"),
        "initAuthenticationUser": root,
        "innerClientAuthenticationCredentials": inner,
    })
    cluster.start_namesrv()
    try:
        b = cluster.add_broker("broker-nsacl", store=store, start=False, extra={
            "authenticationEnabled": "true",
            "authorizationEnabled": "true",
            "initAuthenticationUser": root,
            "innerClientAuthenticationCredentials": inner,
        })
        b.start(wait_registered=False)
        monkeypatch.setenv("FERROMQ_ACCESS_KEY", ROOT[0])
        monkeypatch.setenv("FERROMQ_SECRET_KEY", ROOT[1])
        # The broker registers signed with its inner credentials.
        wait_until(lambda: "broker-nsacl" in cluster.admin("clusterList", check=False).stdout,
                   STARTUP_TIMEOUT, what="the signed registration")
        topic = f"TNsAcl_{uniq}"
        cluster.admin("updateTopic", "-b", b.addr, "-t", topic, "-r", "2", "-w", "2")
        cluster.admin("createUser", "-b", b.addr, "-u", "cppNs01", "-p", "cppNsSecret01")
        cluster.admin("createAcl", "-b", b.addr, "-s", "User:cppNs01", "-r", f"Topic:{topic}",
                      "-a", "Pub", "-d", "Allow")
        # Unsigned route queries are refused by the name server.
        monkeypatch.setenv("FERROMQ_ACCESS_KEY", "")
        monkeypatch.setenv("FERROMQ_SECRET_KEY", "")
        r = cluster.admin("topicRoute", "-t", topic, check=False)
        assert r.returncode != 0 and "username cannot be null" in r.stdout + r.stderr, r

        ns = cluster.namesrv_addr
        p = signed_producer(clients, ns, f"PG_ns_{uniq}", "cppNs01", "cppNsSecret01")
        wait_until(lambda: _routed(p, topic), STARTUP_TIMEOUT,
                   what="a send once the name server reads the new user")
        sent = send_many(p, topic, 3, f"ns{uniq}")
        assert all(s["status"] == SendStatus.OK for s in sent), sent

        bad = signed_producer(clients, ns, f"PG_nsbad_{uniq}", "cppNs01", "wrongSecret")
        with pytest.raises(Exception):
            bad.send_sync(make_message(topic, "refused"))
        wait_until(lambda: "check signature failed for User:cppNs01" in cluster.namesrv.log(200000),
                   10, what="the name server's refusal of the wrong password")
        anon = clients.producer(ns, f"PG_nsanon_{uniq}")
        with pytest.raises(Exception):
            anon.send_sync(make_message(topic, "refused"))
        wait_until(lambda: "username cannot be null" in cluster.namesrv.log(200000), 10,
                   what="the name server's refusal of an unsigned route query")
    finally:
        cluster.stop_all()


def _routed(producer, topic):
    try:
        producer.send_sync(make_message(topic, "probe"))
        return True
    except Exception:  # noqa: BLE001 - not routed yet (the name server reads users every second)
        return False
