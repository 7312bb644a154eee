"""Fixtures of the RocketMQ 5 (gRPC) interop suite: `ferromq standalone` on free loopback ports
with its gRPC API on, and helpers to make topics and groups with mqadmin.

Binaries come from $FERROMQ_BIN_DIR (default $CARGO_TARGET_DIR/debug, else <repo>/target/debug);
tests are skipped when they are missing, failed when FERROMQ_REQUIRE_BINS=1.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
STARTUP_TIMEOUT = float(os.environ.get("FERROMQ_STARTUP_TIMEOUT", "60"))

# The v5 client writes logs under $HOME/logs: keep them out of the real home.
CLIENT_HOME = tempfile.mkdtemp(prefix="ferromq-grpc-home-")
os.environ["HOME"] = CLIENT_HOME


def pytest_sessionfinish(session, exitstatus):
    # The client's logs are kept when something failed.
    if int(exitstatus) == 0:
        shutil.rmtree(CLIENT_HOME, ignore_errors=True)
    else:
        print(f"\nclient logs kept in {CLIENT_HOME}/logs")


def bin_dir():
    if os.environ.get("FERROMQ_BIN_DIR"):
        return os.environ["FERROMQ_BIN_DIR"]
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    return os.path.join(target, "debug")


def find_bin(name):
    path = os.path.join(bin_dir(), name)
    return path if os.access(path, os.X_OK) else None


_handed_out = set()


def free_port():
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p not in _handed_out:
            _handed_out.add(p)
            return p
    raise RuntimeError("no free port")


def wait_port(port, proc, timeout=STARTUP_TIMEOUT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def wait_until(pred, timeout, interval=0.2, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Standalone:
    """`ferromq standalone` with a name server, a broker and the gRPC API."""

    def __init__(self, workdir, bins):
        self.workdir, self.bins = workdir, bins
        self.ns_port, self.broker_port, self.grpc_port = free_port(), free_port(), free_port()
        self.namesrv = f"127.0.0.1:{self.ns_port}"
        self.broker = f"127.0.0.1:{self.broker_port}"
        self.endpoints = f"127.0.0.1:{self.grpc_port}"
        self.conf = os.path.join(workdir, "broker.conf")
        with open(self.conf, "w") as f:
            # The HA port (default listenPort + 1) and the dashboard (8080) get ports of their
            # own, so that brokers of tests run side by side never collide there.
            f.write(f"brokerIP1=127.0.0.1\nhaListenPort={free_port()}\ndashboardPort={free_port()}\n")
        self.proc = None
        self.log = None
        self.starts = 0

    def start(self):
        self.starts += 1
        self.log = open(os.path.join(self.workdir, f"standalone-{self.starts}.log"), "wb")
        self.proc = subprocess.Popen(
            [self.bins["ferromq"], "standalone", "--data", os.path.join(self.workdir, "data"),
             "-c", self.conf,
             "--namesrv-port", str(self.ns_port), "--broker-port", str(self.broker_port),
             "--grpc-port", str(self.grpc_port)],
            stdout=self.log, stderr=subprocess.STDOUT)
        for port in (self.ns_port, self.broker_port, self.grpc_port):
            if not wait_port(port, self.proc):
                raise AssertionError(f"standalone did not start:\n{self.output()}")

    def output(self):
        with open(self.log.name, "rb") as f:
            return f.read().decode(errors="replace")[-6000:]

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()

    def kill9(self):
        self.stop(signal.SIGKILL)

    def mqadmin(self, *args):
        r = subprocess.run([self.bins["mqadmin"], *args, "-n", self.namesrv],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"mqadmin {args} failed: {r.stdout}{r.stderr}"
        return r.stdout

    def create_topic(self, topic, queues=4):
        self.mqadmin("updateTopic", "-b", self.broker, "-t", topic, "-r", str(queues), "-w", str(queues))

    def create_group(self, group, *extra):
        self.mqadmin("updateSubGroup", "-b", self.broker, "-g", group, *extra)


@pytest.fixture(scope="session")
def bins():
    found = {n: find_bin(n) for n in ("ferromq", "mqadmin")}
    missing = [n for n, p in found.items() if not p]
    if missing and os.environ.get("FERROMQ_REQUIRE_BINS") == "1":
        pytest.fail(f"FerroMQ binaries {missing} not found in {bin_dir()} (FERROMQ_REQUIRE_BINS=1)")
    if missing:
        pytest.skip(f"FerroMQ binaries {missing} not found in {bin_dir()}")
    return found


@pytest.fixture
def server(bins, tmp_path):
    s = Standalone(str(tmp_path), bins)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def uniq():
    return uuid.uuid4().hex[:8]
