"""Process management for the C++-client interop suite: real FerroMQ processes on loopback ports.

Binaries come from $FERROMQ_BIN_DIR (default $CARGO_TARGET_DIR/debug, else <repo>/target/debug):
  mqnamesrv -c namesrv.conf
  mqbroker -n 127.0.0.1:NSPORT -c broker.conf
  mqadmin <command> -n 127.0.0.1:NSPORT ...
Tests are skipped (not failed) when mqnamesrv or mqbroker is missing.
"""
import os
import signal
import socket
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

import rmq_wire  # noqa: E402

STARTUP_TIMEOUT = float(os.environ.get("FERROMQ_STARTUP_TIMEOUT", "30"))
STOP_TIMEOUT = float(os.environ.get("FERROMQ_STOP_TIMEOUT", "20"))


def bin_dir():
    if os.environ.get("FERROMQ_BIN_DIR"):
        return os.environ["FERROMQ_BIN_DIR"]
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    return os.path.join(target, "debug")


def find_bin(name):
    path = os.path.join(bin_dir(), name)
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def _port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


_handed_out = set()


def free_port(span=(0, 0)):
    """A loopback port p such that p+span[0] .. p+span[1] are all free (and not handed out)."""
    lo, hi = span
    for _ in range(500):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        ports = range(p + lo, p + hi + 1)
        if min(ports) < 1024 or max(ports) > 65535:
            continue
        if any(q in _handed_out for q in ports):
            continue
        if all(_port_free(q) for q in ports):
            _handed_out.update(ports)
            return p
    raise RuntimeError("no free port found")


def wait_port(port, proc=None, timeout=STARTUP_TIMEOUT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_until(pred, timeout, interval=0.2, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - keep polling, report the last error
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def write_props(path, props):
    with open(path, "w") as f:
        for k, v in props.items():
            f.write(f"{k}={v}\n")


def _die_with_parent():
    """preexec_fn: SIGKILL this server if the test process dies without tearing down."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort (non-Linux)
        pass


class Proc:
    """One server process with its log file."""

    def __init__(self, name, argv, workdir):
        self.name, self.argv, self.workdir = name, argv, workdir
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.p = None
        self.starts = 0

    def start(self):
        self.starts += 1
        logf = open(self.log_path, "ab")
        logf.write(f"\n===== start #{self.starts}: {' '.join(self.argv)}\n".encode())
        logf.flush()
        self.p = subprocess.Popen(self.argv, cwd=self.workdir, stdout=logf, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True,
                                  preexec_fn=_die_with_parent)
        logf.close()
        return self

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Stop with sig, SIGKILL after timeout. Returns the exit code (None if never started)."""
        if self.p is None:
            return None
        if self.p.poll() is None:
            try:
                self.p.send_signal(sig)
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=10)
                with open(self.log_path, "a") as f:
                    f.write(f"\n===== harness: no exit {timeout}s after signal {sig}, killed\n")
                return "killed"
        return self.p.returncode

    def log(self, tail=20000):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
            return data[-tail:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"


class Broker:
    def __init__(self, cluster, name, port, store, cluster_name, broker_id=0, extra=None, key=None):
        self.cluster, self.name, self.port, self.store = cluster, name, port, store
        self.cluster_name, self.broker_id = cluster_name, broker_id
        self.addr = f"127.0.0.1:{port}"
        workdir = os.path.join(cluster.root, key or name)
        os.makedirs(workdir, exist_ok=True)
        self.conf = os.path.join(workdir, "broker.conf")
        props = {
            "brokerClusterName": cluster_name,
            "brokerName": name,
            "brokerId": broker_id,
            "listenPort": port,
            "namesrvAddr": cluster.namesrv_addr,
            "brokerIP1": "127.0.0.1",
            "storePathRootDir": store,
            "autoCreateTopicEnable": "true",
            "flushDiskType": "ASYNC_FLUSH",
            # Commit-log segments are preallocated on disk: keep them small so a suite run
            # does not reserve a GiB per broker (RocketMQ's default is 1 GiB).
            "mappedFileSizeCommitLog": 64 * 1024 * 1024,
            # The remoting clients tested here need neither the dashboard (8080) nor the gRPC
            # API (8081); left on, every broker would try those fixed ports, and a broker of
            # another run on the machine holding them makes this one log an error.
            "dashboardPort": 0,
            "grpcListenPort": 0,
        }
        props.update(extra or {})
        write_props(self.conf, props)
        self.proc = Proc(key or name, [cluster.bins["mqbroker"], "-n", cluster.namesrv_addr, "-c", self.conf],
                         workdir)

    def start(self, wait_registered=True):
        self.proc.start()
        if not wait_port(self.port, self.proc.p):
            self.proc.stop()
            raise RuntimeError(f"broker {self.name} did not listen on {self.port} "
                               f"(exit {self.proc.p.poll()})\n{self.proc.log()}")
        if wait_registered:
            wait_until(lambda: self.cluster.registered_addr(self.name, self.broker_id) == self.addr,
                       STARTUP_TIMEOUT,
                       what=f"broker {self.name} registered with the name server")
        return self

    def stop(self, sig=signal.SIGTERM):
        return self.proc.stop(sig)


class Cluster:
    """A name server and any number of brokers, all in one temp dir."""

    def __init__(self, root, bins, cluster_name="InteropCluster"):
        self.root, self.bins, self.cluster_name = root, bins, cluster_name
        self.namesrv_port = free_port()
        self.namesrv_addr = f"127.0.0.1:{self.namesrv_port}"
        ns_dir = os.path.join(root, "namesrv")
        os.makedirs(ns_dir, exist_ok=True)
        self.namesrv_conf = os.path.join(ns_dir, "namesrv.conf")
        write_props(self.namesrv_conf, {"listenPort": self.namesrv_port})
        self.namesrv = Proc("namesrv", [bins["mqnamesrv"], "-c", self.namesrv_conf], ns_dir)
        self.brokers = {}
        self.admin_log = []

    def start_namesrv(self):
        self.namesrv.start()
        if not wait_port(self.namesrv_port, self.namesrv.p):
            self.namesrv.stop()
            raise RuntimeError(f"name server did not listen on {self.namesrv_port} "
                               f"(exit {self.namesrv.p.poll()})\n{self.namesrv.log()}")

    def add_broker(self, name="broker-a", store=None, start=True, broker_id=0, extra=None):
        """A broker; `broker_id` > 0 with `extra={"brokerRole": "SLAVE"}` makes a slave of
        `name` (kept under the key `name-<id>`)."""
        # RocketMQ brokers also use listenPort-2 (VIP channel) and listenPort+1 (HA): keep them free.
        port = free_port(span=(-2, 1))
        key = name if broker_id == 0 else f"{name}-{broker_id}"
        store = store or os.path.join(self.root, key, "store")
        b = Broker(self, name, port, store, self.cluster_name, broker_id, extra, key)
        self.brokers[key] = b
        if start:
            b.start()
        return b

    def registered_addr(self, broker_name, broker_id=0):
        info = rmq_wire.get_cluster_info(self.namesrv_addr)
        bd = (info.get("brokerAddrTable") or {}).get(broker_name)
        if not bd:
            return None
        return (bd.get("brokerAddrs") or {}).get(str(broker_id))

    def admin(self, *args, timeout=60, check=True):
        exe = self.bins.get("mqadmin")
        if exe is None:
            pytest.skip(f"mqadmin not found in {bin_dir()}")
        argv = [exe, args[0], "-n", self.namesrv_addr, *args[1:]]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        self.admin_log.append(f"$ {' '.join(argv)}\n[exit {r.returncode}]\n{r.stdout}{r.stderr}")
        if check and r.returncode != 0:
            raise AssertionError(f"mqadmin {args[0]} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def create_topic(self, topic, queues=4, brokers=None, use_cluster=False):
        """mqadmin updateTopic on the given brokers (default: all), then wait for the route."""
        brokers = brokers or list(self.brokers.values())
        if use_cluster:
            self.admin("updateTopic", "-c", self.cluster_name, "-t", topic,
                       "-r", str(queues), "-w", str(queues))
        else:
            for b in brokers:
                self.admin("updateTopic", "-b", b.addr, "-t", topic, "-r", str(queues), "-w", str(queues))
        want = {b.name for b in brokers}

        def routed():
            r = rmq_wire.get_route(self.namesrv_addr, topic)
            if not r:
                return False
            have = {q["brokerName"]: q for q in r.get("queueDatas", [])}
            return want <= set(have) and all(have[n]["writeQueueNums"] == queues for n in want)
        wait_until(routed, STARTUP_TIMEOUT, what=f"route of {topic} on {sorted(want)}")

    def stored_count(self, topic):
        """Messages of `topic` visible in consume queues, summed over the routed brokers."""
        route = rmq_wire.get_route(self.namesrv_addr, topic) or {}
        addrs = {bd["brokerName"]: (bd.get("brokerAddrs") or {}).get("0")
                 for bd in route.get("brokerDatas", [])}
        total = 0
        for qd in route.get("queueDatas", []):
            addr = addrs.get(qd["brokerName"])
            if not addr:
                continue
            for q in range(int(qd["readQueueNums"])):
                h, _ = rmq_wire.request(addr, 30, {"topic": topic, "queueId": q})
                total += int((h.get("extFields") or {}).get("offset", 0))
        return total

    def wait_stored(self, topic, count, timeout=STARTUP_TIMEOUT):
        """Waits until `count` messages of `topic` are visible to consumers. A message
        acknowledged SEND_OK is visible at once (test_read_your_writes.py checks that); this
        is for sends that get no acknowledgement (oneway) and for counting across brokers."""
        wait_until(lambda: self.stored_count(topic) >= count, timeout, interval=0.02,
                   what=f"{count} messages of {topic} to be visible")

    def logs(self):
        parts = [f"--- name server ({self.namesrv.log_path})\n{self.namesrv.log()}"]
        for b in self.brokers.values():
            parts.append(f"--- broker {b.name} ({b.proc.log_path})\n{b.proc.log()}")
        if self.admin_log:
            parts.append("--- mqadmin\n" + "\n".join(self.admin_log[-20:]))
        return "\n".join(parts)

    def stop_all(self):
        codes = {}
        for b in self.brokers.values():
            codes[b.name] = b.stop()
        codes["namesrv"] = self.namesrv.stop()
        return codes



def client_log_tail(limit=15000):
    d = os.path.join(os.environ.get("HOME", ""), "logs", "rocketmq-cpp")
    try:
        files = sorted((os.path.join(d, f) for f in os.listdir(d)), key=os.path.getmtime)
    except OSError:
        return "(no C++ client log)"
    if not files:
        return "(no C++ client log)"
    with open(files[-1], "rb") as f:
        data = f.read()
    return f"{files[-1]}\n" + data[-limit:].decode("utf-8", "replace")


