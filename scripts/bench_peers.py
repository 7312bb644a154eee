#!/usr/bin/env python3
"""Side-by-side benchmark of FerroMQ and a peer broker, driven by the same load tool.

Called by scripts/bench-peers.sh, which builds FerroMQ and installs the peer first:

    python3 scripts/bench_peers.py --ferromq-bin DIR --peer-bin DIR [--duration 10]

Each system runs as two processes on loopback (name server and broker) in a temporary directory.
For each it measures the broker's start time (process spawn to listening, and to its route
being served by the name server), idle RSS, then runs the same `ferromq bench` matrix (sync-1, sync-16, async-256,
batch-32 with 1 KiB bodies; consumption of the backlog they left; end-to-end latency at
1,000 msg/s), sampling the broker's CPU time and RSS meanwhile. Prints one table with the
ratios FerroMQ / peer. A run the peer refuses is shown with what it answered.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_secs(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except OSError:
        return 0.0


class Sampler:
    """Peak RSS of a process while a run lasts."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, rss_kib(pid), threading.Event()
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop.wait(0.2):
            self.peak = max(self.peak, rss_kib(self.pid))

    def finish(self):
        self.stop.set()
        self.t.join()
        return self.peak


class System:
    """One broker under test: its name, how to start its two processes, and their pids."""

    def __init__(self, name, home):
        self.name, self.home = name, home
        self.ns_port, self.broker_port = free_port(), free_port()
        self.procs = []

    @property
    def namesrv(self):
        return f"127.0.0.1:{self.ns_port}"

    def spawn(self, argv, env=None, log="log"):
        out = open(os.path.join(self.home, log), "w")
        p = subprocess.Popen(argv, cwd=self.home, stdout=out, stderr=subprocess.STDOUT,
                             env={**os.environ, **(env or {})}, start_new_session=True)
        self.procs.append(p)
        return p

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


class FerroMQ(System):
    def __init__(self, home, bindir):
        super().__init__("FerroMQ", home)
        self.bindir = bindir

    def start_namesrv(self):
        with open(os.path.join(self.home, "namesrv.conf"), "w") as f:
            f.write(f"listenPort={self.ns_port}\nbindAddress=127.0.0.1\n")
        with open(os.path.join(self.home, "broker.conf"), "w") as f:
            f.write(f"brokerClusterName=DefaultCluster\nbrokerName=broker-a\nbrokerId=0\n"
                    f"listenPort={self.broker_port}\nhaListenPort={free_port()}\n"
                    f"bindAddress=127.0.0.1\nbrokerIP1=127.0.0.1\n"
                    f"storePathRootDir={self.home}/store\ndashboardPort=0\ngrpcListenPort=0\n"
                    f"namesrvAddr={self.namesrv}\n")
        self.ns = self.spawn([f"{self.bindir}/mqnamesrv", "-c", "namesrv.conf"], log="namesrv.log")
        wait_port(self.ns_port, self.ns)

    def start_broker(self):
        self.broker = self.spawn([f"{self.bindir}/mqbroker", "-c", "broker.conf"], log="broker.log")


class Peer(System):
    def __init__(self, home, bindir):
        super().__init__("rocketmq-rust 1.0.0", home)
        self.bindir = bindir

    def start_namesrv(self):
        env = {"ROCKETMQ_HOME": self.home, "ROCKETMQ_SECURITY_PROFILE": "development-insecure-loopback"}
        self.ns = self.spawn([f"{self.bindir}/rocketmq-namesrv-rust", "--listenPort", str(self.ns_port),
                              "--bindAddress", "127.0.0.1", "--rocketmqHome", self.home],
                             env=env, log="namesrv.log")
        wait_port(self.ns_port, self.ns)

    def start_broker(self):
        env = {"ROCKETMQ_HOME": self.home, "ROCKETMQ_SECURITY_PROFILE": "development-insecure-loopback"}
        store = os.path.join(self.home, "store")
        with open(os.path.join(self.home, "broker.toml"), "w") as f:
            f.write(f"""[broker]
namesrvAddr = "{self.namesrv}"
brokerIp1 = "127.0.0.1"
listenPort = {self.broker_port}
storePathRootDir = "{store}"
autoCreateTopicEnable = true

[broker.brokerServerConfig]
bindAddress = "127.0.0.1"

[broker.brokerIdentity]
brokerName = "broker-a"
brokerClusterName = "DefaultCluster"
brokerId = 0

[store]
storeType = "LocalFile"
brokerRole = "ASYNC_MASTER"
storePathRootDir = "{store}"
haListenAddress = "127.0.0.1"
haListenPort = {free_port()}
""")
        self.broker = self.spawn([f"{self.bindir}/rocketmq-broker-rust", "-c", "broker.toml",
                                  "-n", self.namesrv], env=env, log="broker.log")


def wait_port(port, proc, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.005)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


def registered(system, mqadmin):
    """True once the name server lists the broker (clusterList)."""
    r = subprocess.run([mqadmin, "clusterList", "-n", system.namesrv], capture_output=True, text=True,
                       timeout=20)
    return r.returncode == 0 and f":{system.broker_port}" in r.stdout


def bench(ferromq, system, args, timeout):
    cmd = [ferromq, "bench", *args, "-n", system.namesrv, "--json", "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    try:
        return json.loads(last)
    except ValueError:
        why = (r.stderr.strip() or r.stdout.strip() or f"exit {r.returncode}").splitlines()[-1]
        return {"error": why[:120]}


def run_system(system, a):
    ferromq = os.path.join(a.ferromq_bin, "ferromq")
    mqadmin = os.path.join(a.ferromq_bin, "mqadmin")
    res = {}
    system.start_namesrv()
    t0 = time.monotonic()
    system.start_broker()
    wait_port(system.broker_port, system.broker)
    res["listen_ms"] = (time.monotonic() - t0) * 1000
    end = time.monotonic() + 60
    while not registered(system, mqadmin):
        if time.monotonic() > end or system.broker.poll() is not None:
            raise RuntimeError(f"{system.name}: broker not registered; see {system.home}/broker.log")
        time.sleep(0.02)
    res["registered_ms"] = (time.monotonic() - t0) * 1000
    time.sleep(2)
    res["idle_rss_mib"] = (rss_kib(system.broker.pid) + rss_kib(system.ns.pid)) / 1024
    d = str(a.duration)
    matrix = [
        ("sync-1", ["producer", "-t", "PeerBench", "-s", "1024", "-w", "1", "--duration", d]),
        ("sync-16", ["producer", "-t", "PeerBench", "-s", "1024", "-w", "16", "--duration", d]),
        ("async-256", ["producer", "-t", "PeerBench", "-s", "1024", "--mode", "async",
                       "--inflight", "256", "--duration", d]),
        ("batch-32", ["producer", "-t", "PeerBench", "-s", "1024", "--batch", "32", "-w", "4",
                      "--duration", d]),
        ("consume", ["consumer", "-t", "PeerBench", "-g", "peer_bench_consumer"]),
        ("e2e @1000/s", ["e2e", "-t", "PeerBenchE2E", "-s", "1024", "--rate", "1000", "--duration", d]),
    ]
    peak = 0
    for name, argv in matrix:
        sampler = Sampler(system.broker.pid)
        c0 = cpu_secs(system.broker.pid)
        out = bench(ferromq, system, argv, timeout=a.duration * 6 + 120)
        c1 = cpu_secs(system.broker.pid)
        peak = max(peak, sampler.finish())
        msgs = out.get("sent", 0) if name not in ("consume", "e2e @1000/s") else out.get("received", 0)
        out["broker_cpu_us_per_msg"] = (c1 - c0) * 1e6 / msgs if msgs else None
        res[name] = out
        print(f"  {system.name} {name}: " + (f"{out['tps']:.0f} msg/s, p99 {out['p99_us']:.0f} us, "
              f"failed {out['failed']}" if "error" not in out else f"refused: {out['error']}"),
              flush=True)
    res["loaded_rss_mib"] = peak / 1024
    return res


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return f"{v:,.0f}{unit}" if abs(v) >= 100 else f"{v:,.1f}{unit}"


def ratio(a, b, higher_better):
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not a or not b:
        return "-"
    r = a / b if higher_better else b / a
    return f"{r:.1f}x"


def table(results, names):
    f, p = (results[n] for n in names)
    rows = []

    def add(label, key, sub=None, unit="", higher_better=True):
        def get(r):
            v = r.get(key) if sub is None else r.get(key, {})
            if sub is None:
                return v
            if "error" in v:
                return "refused: " + v["error"]
            return v.get(sub)
        a, b = get(f), get(p)
        rows.append((label, fmt(a, unit), fmt(b, unit), ratio(a, b, higher_better)))

    add("start: listening (ms)", "listen_ms", higher_better=False)
    add("start: routable via name server (ms)", "registered_ms", higher_better=False)
    add("idle RSS, broker + name server (MiB)", "idle_rss_mib", higher_better=False)
    for run in ("sync-1", "sync-16", "async-256", "batch-32", "consume"):
        add(f"{run} 1 KiB (msg/s)", run, "tps")
        add(f"{run} p99 (us)", run, "p99_us", higher_better=False)
        add(f"{run} broker CPU per message (us)", run, "broker_cpu_us_per_msg", higher_better=False)
    add("e2e p99 at 1,000 msg/s (us)", "e2e @1000/s", "p99_us", higher_better=False)
    add("broker peak RSS under load (MiB)", "loaded_rss_mib", higher_better=False)
    w = max(len(r[0]) for r in rows)
    head = f"| {'measure':<{w}} | {names[0]:>14} | {names[1]:>20} | FerroMQ advantage |"
    print(head)
    print("|" + "-" * (w + 2) + "|" + "-" * 16 + "|" + "-" * 22 + "|" + "-" * 19 + "|")
    for label, a, b, r in rows:
        print(f"| {label:<{w}} | {a:>14} | {b:>20} | {r:>17} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ferromq-bin", required=True, help="directory with ferromq, mqnamesrv, mqbroker, mqadmin")
    ap.add_argument("--peer-bin", required=True, help="directory with rocketmq-namesrv-rust, rocketmq-broker-rust")
    ap.add_argument("--duration", type=float, default=10, help="seconds per send run")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    ap.add_argument("--json-out", help="also write all figures as JSON here")
    a = ap.parse_args()
    # The peer refuses every write (and, at start-up, to start at all: "Service lifecycle
    # operation failed") when the store's file system is 90 % full by its measure, 1 - available
    # / total blocks, which can be far above `df`'s Use% (94 % against 73 % on one VM here).
    st = os.statvfs(tempfile.gettempdir())
    used = 1 - st.f_bavail / st.f_blocks
    if used >= 0.88:
        sys.exit(f"{tempfile.gettempdir()} is {used:.0%} full as 1 - available/total blocks "
                 f"({st.f_bavail * st.f_frsize / 2**30:.1f} GiB available); rocketmq-rust "
                 "refuses to start above 90 %: free some space first")
    results = {}
    order = []
    for make in (lambda h: FerroMQ(h, a.ferromq_bin), lambda h: Peer(h, a.peer_bin)):
        home = tempfile.mkdtemp(prefix="bench-peers-")
        system = make(home)
        print(f"== {system.name} (in {home})", flush=True)
        try:
            results[system.name] = run_system(system, a)
            order.append(system.name)
        finally:
            system.stop()
            if not a.keep:
                shutil.rmtree(home, ignore_errors=True)
    print()
    uname = os.uname()
    print(f"machine: {os.cpu_count()} cores, {uname.sysname} {uname.release}; "
          f"{time.strftime('%Y-%m-%d', time.gmtime())}; {a.duration:g} s per send run")
    table(results, order)
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
