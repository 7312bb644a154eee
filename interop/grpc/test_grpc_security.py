"""The gRPC API guarded as the remoting port is: TLS per tls.server.mode (enforcing: TLS only;
permissive: TLS and plaintext on the same port) and ACL 2.0 users and ACLs, with the official
Python v5 client (`tls_enable=True`, `Credentials(ak, sk)`)."""
import os
import subprocess
import time

import pytest

# grpc reads the CA certificates of TLS channels from here when it first needs them; the
# certificate is written by the fixture below, before any TLS channel exists.
CA_DIR = os.path.join(os.environ["HOME"], "grpc-tls-ca")
os.makedirs(CA_DIR, exist_ok=True)
CA_FILE = os.path.join(CA_DIR, "cert.pem")
os.environ["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = CA_FILE

from rocketmq import ClientConfiguration, Credentials, FilterExpression, Message, Producer, SimpleConsumer  # noqa: E402

from conftest import Standalone  # noqa: E402

ROOT = ("root", "rootSecret1")
ALICE = ("alice", "aliceSecret1")


def certificate():
    """A self-signed certificate for 127.0.0.1 and localhost, made once per session."""
    key = os.path.join(CA_DIR, "key.pem")
    if not os.path.exists(CA_FILE):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", key, "-out", CA_FILE],
            check=True, capture_output=True, timeout=60)
    return CA_FILE, key


class Secured(Standalone):
    """Standalone with extra broker.conf and namesrv.conf lines; mqadmin uses TLS and an
    account when asked."""

    def __init__(self, workdir, bins, broker_lines, ns_lines="", tls=False, account=None):
        super().__init__(workdir, bins)
        with open(self.conf, "a") as f:
            f.write(broker_lines)
        self.ns_conf = os.path.join(workdir, "namesrv.conf")
        with open(self.ns_conf, "w") as f:
            f.write(ns_lines)
        self.tls, self.account = tls, account

    def start(self):
        self.starts += 1
        self.log = open(os.path.join(self.workdir, f"standalone-{self.starts}.log"), "wb")
        self.proc = subprocess.Popen(
            [self.bins["ferromq"], "standalone", "--data", os.path.join(self.workdir, "data"),
             "-c", self.conf, "--namesrv-conf", self.ns_conf,
             "--namesrv-port", str(self.ns_port), "--broker-port", str(self.broker_port),
             "--grpc-port", str(self.grpc_port)],
            stdout=self.log, stderr=subprocess.STDOUT)
        from conftest import wait_port
        for port in (self.ns_port, self.broker_port, self.grpc_port):
            if not wait_port(port, self.proc):
                raise AssertionError(f"standalone did not start:\n{self.output()}")

    def mqadmin(self, *args):
        extra = ["--tls", "--tls-insecure"] if self.tls else []
        env = dict(os.environ)
        ak, sk = self.account or ("", "")
        env.update(FERROMQ_ACCESS_KEY=ak, FERROMQ_SECRET_KEY=sk)
        # The broker may still be opening right after its port does: try for a while.
        deadline = time.time() + 30
        while True:
            r = subprocess.run([self.bins["mqadmin"], *args, "-n", self.namesrv, *extra],
                               capture_output=True, text=True, timeout=60, env=env)
            if r.returncode == 0 or time.time() > deadline:
                break
            time.sleep(0.5)
        assert r.returncode == 0, f"mqadmin {args} failed: {r.stdout}{r.stderr}"
        return r.stdout


def tls_lines(mode):
    cert, key = certificate()
    return f"tls.server.mode={mode}\ntls.server.certPath={cert}\ntls.server.keyPath={key}\n"


def make(bins, tmp_path, name, broker_lines, ns_lines="", **kw):
    workdir = tmp_path / name
    workdir.mkdir()
    s = Secured(str(workdir), bins, broker_lines, ns_lines, **kw)
    s.start()
    return s


def config(server, creds=None, timeout=5):
    return ClientConfiguration(server.endpoints, Credentials(*(creds or ("", ""))),
                               request_timeout=timeout)


def round_trip(server, topic, group, creds=None, tls=False, n=3):
    """Sends `n` messages and receives and acks them; returns the bodies received."""
    p = Producer(config(server, creds), (topic,), tls_enable=tls)
    p.startup()
    c = None
    try:
        sent = []
        for i in range(n):
            m = Message()
            m.topic, m.body, m.tag = topic, f"m{i}".encode(), "T"
            p.send(m)
            sent.append(f"m{i}")
        c = SimpleConsumer(config(server, creds), group, {topic: FilterExpression("*")}, 2,
                           tls_enable=tls)
        c.startup()
        got, deadline = [], time.time() + 60
        while len(got) < n and time.time() < deadline:
            for m in c.receive(16, 15):
                got.append(m.body.decode())
                c.ack(m)
        assert sorted(got) == sent, got
        return got
    finally:
        for x in (c, p):
            if x is not None:
                try:
                    x.shutdown()
                except Exception:  # noqa: BLE001 - best effort at teardown
                    pass


def refused_producer(server, topic, creds=None, tls=False):
    """Starting a producer (its route query) or its first send fails; returns the error text."""
    p = Producer(config(server, creds, timeout=3), (topic,), tls_enable=tls)
    try:
        p.startup()
        m = Message()
        m.topic, m.body, m.tag = topic, b"never", "T"
        p.send(m)
    except Exception as e:  # noqa: BLE001 - the refusal is what is tested
        return str(e)
    finally:
        try:
            p.shutdown()
        except Exception:  # noqa: BLE001
            pass
    raise AssertionError("the producer was served")


def test_enforcing_tls_serves_tls_clients_and_refuses_plaintext(bins, tmp_path):
    lines = tls_lines("enforcing")
    s = make(bins, tmp_path, "enf", lines, lines, tls=True)
    try:
        s.create_topic("T_tls_enf")
        round_trip(s, "T_tls_enf", "G_tls_enf", tls=True)
        refused_producer(s, "T_tls_enf", tls=False)
    finally:
        s.stop()


def test_permissive_tls_serves_tls_and_plaintext_on_one_port(bins, tmp_path):
    s = make(bins, tmp_path, "perm", tls_lines("permissive"))
    try:
        for t in ("T_tls_perm_a", "T_tls_perm_b"):
            s.create_topic(t)
        round_trip(s, "T_tls_perm_a", "G_tls_perm_a", tls=True)
        round_trip(s, "T_tls_perm_b", "G_tls_perm_b", tls=False)
    finally:
        s.stop()


def test_acl2_users_are_checked_on_grpc(bins, tmp_path, caplog):
    lines = ("authenticationEnabled=true\nauthorizationEnabled=true\n"
             'initAuthenticationUser={"username":"root","password":"rootSecret1"}\n')
    s = make(bins, tmp_path, "acl", lines, account=ROOT)
    try:
        for t in ("T_acl_ok", "T_acl_other"):
            s.create_topic(t)
        s.mqadmin("createUser", "-b", s.broker, "-u", ALICE[0], "-p", ALICE[1])
        s.mqadmin("createAcl", "-b", s.broker, "-s", "User:alice",
                  "-r", "Topic:T_acl_ok,Group:G_acl_ok", "-a", "Pub,Sub", "-d", "Allow")
        # Allowed: alice sends, receives and acks.
        round_trip(s, "T_acl_ok", "G_acl_ok", creds=ALICE)
        # Wrong secret, unknown user, no credentials: UNAUTHORIZED (40100). The client logs
        # the status of its route query and raises a generic error.
        for creds, why in (((ALICE[0], "wrongSecret"), "check signature failed for User:alice"),
                           (("bob", "bobSecret1"), "User:bob is not found"),
                           (None, "username cannot be null")):
            caplog.clear()
            err = refused_producer(s, "T_acl_ok", creds)
            seen = err + caplog.text
            assert "40100" in seen and why in seen, seen[-3000:]
        # Authenticated, but no right on the other topic: FORBIDDEN (40300).
        caplog.clear()
        err = refused_producer(s, "T_acl_other", ALICE)
        seen = err + caplog.text
        assert "40300" in seen and "User:alice has no permission to access Topic:T_acl_other" in seen, \
            seen[-3000:]
        # Nothing refused reached the topic.
        root = SimpleConsumer(config(s, ROOT), "G_acl_root", {"T_acl_other": FilterExpression("*")}, 2)
        root.startup()
        try:
            assert root.receive(16, 15) == []
        finally:
            root.shutdown()
    finally:
        s.stop()
