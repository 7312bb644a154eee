"""(acl) RocketMQ 4.x plain ACL with the official C++ client: a broker with aclEnable=true and
conf/plain_acl.yml in its working directory serves a producer and a pull consumer that sign
with the right secret key (set_session_credentials), and refuses a producer whose secret is
wrong, an unknown access key, and the pulls of an account that may only publish; the refusals
are counted in brokerStatus and logged by the broker."""
import os
import re

import pytest

from cpp_client import (PullConsumer, SendStatus, make_message,
                        send_many, wait_pullable)
from harness import client_log_tail, wait_until

pytestmark = pytest.mark.timeout(180)

ACL = """
accounts:
  - accessKey: adminKey1
    secretKey: adminSecret
    admin: true
  - accessKey: cppUser01
    secretKey: cppSecret01
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - {topic}=PUB|SUB
  - accessKey: cppPubOnly1
    secretKey: cppSecret03
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - {topic}=PUB
"""


def signed_producer(clients, ns, group, access_key, secret_key):
    p = clients.producer(ns, group, start=False)
    p.set_session_credentials(access_key, secret_key, "ALIYUN")
    p.start()
    return p


def signed_pull_consumer(clients, ns, group, access_key, secret_key):
    c = PullConsumer(group)
    c.offset_table = {}
    c.set_namesrv_addr(ns)
    c.set_session_credentials(access_key, secret_key, "ALIYUN")
    c.start()
    clients.items.append(("pull", c))
    return c


@pytest.fixture
def acl_cluster(namesrv_only, uniq, monkeypatch):
    topic = f"TAcl_{uniq}"
    b = namesrv_only.add_broker("broker-acl", start=False, extra={"aclEnable": "true"})
    conf_dir = os.path.join(os.path.dirname(b.conf), "conf")
    os.makedirs(conf_dir, exist_ok=True)
    with open(os.path.join(conf_dir, "plain_acl.yml"), "w") as f:
        f.write(ACL.format(topic=topic))
    b.start()
    # mqadmin signs with these (an admin account: updateTopic is an admin request).
    monkeypatch.setenv("FERROMQ_ACCESS_KEY", "adminKey1")
    monkeypatch.setenv("FERROMQ_SECRET_KEY", "adminSecret")
    namesrv_only.create_topic(topic, queues=2)
    return namesrv_only, b, topic


def test_signed_cpp_clients_send_and_pull(acl_cluster, clients, uniq):
    cluster, broker, topic = acl_cluster
    ns = cluster.namesrv_addr
    p = signed_producer(clients, ns, f"PG_{uniq}", "cppUser01", "cppSecret01")
    sent = send_many(p, topic, 8, f"acl{uniq}")
    assert all(s["status"] == SendStatus.OK for s in sent), sent

    pc = signed_pull_consumer(clients, ns, f"CG_acl_{uniq}", "cppUser01", "cppSecret01")
    got = wait_pullable(pc, topic, len(sent))
    ids = sorted(m["id"] for msgs in got.values() for m in msgs)
    assert ids == sorted(s["id"] for s in sent)
    assert "ACL enabled" in broker.proc.log()


def test_wrong_secret_is_refused_and_counted(acl_cluster, clients, uniq):
    cluster, broker, topic = acl_cluster
    ns = cluster.namesrv_addr
    bad = signed_producer(clients, ns, f"PG_bad_{uniq}", "cppUser01", "not-the-secret")
    with pytest.raises(Exception):
        bad.send_sync(make_message(topic, "refused"))
    # the client got the broker's NO_PERMISSION answer (it then reports "No route info"; its
    # log keeps the broker's remark and code)
    wait_until(lambda: "Check signature failed for accessKey=cppUser01, error code:16"
               in client_log_tail(200000), 10, what="the refusal in the C++ client log")

    wait_until(lambda: "Check signature failed for accessKey=cppUser01" in broker.proc.log(), 10,
               what="the refusal in the broker log")

    # unsigned (the C++ client then sends an empty AccessKey): refused as well
    plain = clients.producer(ns, f"PG_plain_{uniq}")
    with pytest.raises(Exception):
        plain.send_sync(make_message(topic, "unsigned"))

    r = cluster.admin("brokerStatus", "-b", broker.addr)
    counters = dict(re.findall(r"(aclRefused\w+)\s*:\s*(\d+)", r.stdout))
    assert int(counters.get("aclRefusedBadSignature", 0)) >= 1, r.stdout
    assert int(counters.get("aclRefusedNoAccessKey", 0)) >= 1, r.stdout

    # nothing refused reached the topic: a signed consumer finds no message
    pc = signed_pull_consumer(clients, ns, f"CG_acl2_{uniq}", "cppUser01", "cppSecret01")
    got = wait_pullable(pc, topic, 0)
    assert sum(len(v) for v in got.values()) == 0


def test_unknown_key_and_publish_only_pulls_are_refused(acl_cluster, clients, uniq):
    cluster, broker, topic = acl_cluster
    ns = cluster.namesrv_addr
    stranger = signed_producer(clients, ns, f"PG_who_{uniq}", "mallory01", "whatever1")
    with pytest.raises(Exception):
        stranger.send_sync(make_message(topic, "refused"))
    wait_until(lambda: "No acl config for mallory01" in client_log_tail(200000), 10,
               what="the unknown key's refusal in the C++ client log")

    # An account allowed to publish only: its sends are served, its pulls refused.
    pub_only = signed_producer(clients, ns, f"PG_pub_{uniq}", "cppPubOnly1", "cppSecret03")
    sent = send_many(pub_only, topic, 3, f"pub{uniq}")
    assert all(s["status"] == SendStatus.OK for s in sent), sent
    pc = signed_pull_consumer(clients, ns, f"CG_pub_{uniq}", "cppPubOnly1", "cppSecret03")
    with pytest.raises(AssertionError):
        wait_pullable(pc, topic, 1, timeout=5)
    wait_until(lambda: re.search(r"No permission for topic:" + re.escape(topic)
                                         + r": needs SUB, accessKey=cppPubOnly1", broker.proc.log()),
               10, what="the pull refusal in the broker log")

    r = cluster.admin("brokerStatus", "-b", broker.addr)
    counters = dict(re.findall(r"(aclRefused\w+)\s*:\s*(\d+)", r.stdout))
    assert int(counters.get("aclRefusedUnknownAccessKey", 0)) >= 1, r.stdout
    assert int(counters.get("aclRefusedNoPermission", 0)) >= 1, r.stdout

    # Only the publish-only account's three messages reached the topic.
    ok = signed_pull_consumer(clients, ns, f"CG_ok_{uniq}", "cppUser01", "cppSecret01")
    got = wait_pullable(ok, topic, 3)
    ids = sorted(m["id"] for msgs in got.values() for m in msgs)
    assert ids == sorted(s["id"] for s in sent)
