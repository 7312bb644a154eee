"""Soak: mixed traffic for a fixed time against one name server and one broker, with broker
restarts (clean and kill -9) and retention deleting commit-log segments, then a count of what
was acknowledged against what was consumed.

Traffic, all at once:
* C++ producer (send_sync) -> topic A -> Rust push consumer (the interop_client example);
* Rust producer (interop_client produce, in batches) -> topic B -> C++ push consumer;
* mqadmin every few seconds (topicList, topicStatus, consumerProgress, clusterList,
  updateTopic of a fresh topic, brokerStatus).

Every RESTART period the broker is stopped, alternately with SIGTERM and SIGKILL, and started
again on the same store. Every RETENTION period the producers pause until the consumers have
caught up, then the broker is told its disk is 87 % full (the `debugDiskUsageFile` test hook),
above `diskSpaceCleanForciblyRatio`, so its retention round deletes every commit-log segment but
the one being written (1 MiB segments), as RocketMQ does on a full disk; then traffic resumes.

Afterwards: every acknowledged message was consumed (the count is printed), the broker's and the
name server's RSS and open descriptors, sampled every 10 s, are printed as a table and a plot and
do not grow within a process lifetime beyond a margin, and the logs hold no ERROR or panic line
that the test did not provoke.

Duration: FERROMQ_SOAK_SECS (default 120; 3600 for the hour-long run). Sampling period:
FERROMQ_SOAK_SAMPLE_SECS (default 10).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from cpp_client import ClientRegistry, Collector, SendStatus, make_message
from harness import Cluster, bin_dir, wait_until

SOAK_SECS = int(os.environ.get("FERROMQ_SOAK_SECS") or 120)
SAMPLE_SECS = float(os.environ.get("FERROMQ_SOAK_SAMPLE_SECS") or 10)
# Restarts alternate SIGTERM / SIGKILL; at least two per run (one of each).
RESTART_SECS = max(40.0, SOAK_SECS / 12)
RETENTION_SECS = max(30.0, SOAK_SECS / 20)
CATCH_UP_SECS = 120

pytestmark = pytest.mark.timeout(SOAK_SECS + 900)

# Log lines the test provokes on purpose and may therefore contain ERROR: none so far. A new
# entry needs a reason.
PROVOKED = []


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


@pytest.fixture
def soak_cluster(bins):
    """Name server in a private temp dir. Not pytest's tmp_path: pytest prunes old base temp
    dirs when another session starts, which would delete the store under a long run."""
    root = tempfile.mkdtemp(prefix="ferromq-soak-")
    c = Cluster(root, bins)
    c.start_namesrv()
    ok = False
    try:
        yield c
        ok = True
    finally:
        codes = c.stop_all()
        if ok or not os.environ.get("FERROMQ_KEEP_SOAK_DIR"):
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"soak directory kept: {root} (exit codes {codes})")


@pytest.fixture
def soak_clients(soak_cluster):
    reg = ClientRegistry()
    yield reg
    reg.shutdown_all()


def proc_stats(pid):
    """(RSS in KiB, open descriptors) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return rss, fds
    except (OSError, StopIteration, ValueError):
        return None


def store_files(store):
    """Segment files of the store (commit log, consume queues, index): the broker keeps one
    descriptor open per mapped segment, so its descriptor count follows this number up while
    segments fill and down when retention deletes them."""
    n = 0
    for sub in ("commitlog", "consumequeue", "index"):
        for _, _, files in os.walk(os.path.join(store, sub)):
            n += len(files)
    return n


class Sampler(threading.Thread):
    """Samples the broker and the name server every SAMPLE_SECS."""

    def __init__(self, broker, namesrv, t0):
        super().__init__(daemon=True)
        self.broker, self.namesrv, self.t0 = broker, namesrv, t0
        self.stop = threading.Event()
        self.rows = []  # (t, broker start #, broker stats or None, namesrv stats or None)

    def sample(self):
        b = self.broker.proc
        bs = proc_stats(b.p.pid) if b.alive() else None
        if bs is not None:
            bs = bs + (store_files(self.broker.store),)
        ns = proc_stats(self.namesrv.p.pid) if self.namesrv.alive() else None
        self.rows.append((time.time() - self.t0, b.starts, bs, ns))

    def run(self):
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(SAMPLE_SECS)


class CppSender(threading.Thread):
    """C++ producer: numbered sync sends to topic A; records what was acknowledged."""

    def __init__(self, producer, topic, prefix, gate):
        super().__init__(daemon=True)
        self.producer, self.topic, self.prefix, self.gate = producer, topic, prefix, gate
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = set()
        self.failures = 0

    def run(self):
        i = 0
        while not self.stop.is_set():
            self.gate.wait()
            body = f"{self.prefix}-{i} " + "s" * (200 + i % 300)
            msg = make_message(self.topic, body, tags="TagS", keys=f"k{i}", props={"seq": str(i)})
            try:
                r = self.producer.send_sync(msg)
                if r.status in (SendStatus.OK, SendStatus.FLUSH_DISK_TIMEOUT):
                    with self.lock:
                        self.acked.add(body.split(" ")[0])
            except Exception:  # noqa: BLE001 - the broker is restarted on purpose
                with self.lock:
                    self.failures += 1
                time.sleep(0.2)
            i += 1
            time.sleep(0.005)


class RustSender(threading.Thread):
    """Rust producer: `interop_client produce` in batches of 20 to topic B."""

    def __init__(self, exe, namesrv, topic, prefix, gate):
        super().__init__(daemon=True)
        self.exe, self.namesrv, self.topic, self.prefix, self.gate = exe, namesrv, topic, prefix, gate
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = set()
        self.failed_runs = 0

    def run(self):
        k = 0
        while not self.stop.is_set():
            self.gate.wait()
            r = subprocess.run([self.exe, "produce", "--namesrv", self.namesrv, "--topic", self.topic,
                                "--count", "20", "--prefix", f"{self.prefix}{k}", "--mode", "sync"],
                               capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
            with self.lock:
                for line in r.stdout.splitlines():
                    if line.startswith("{"):
                        self.acked.add(json.loads(line)["body"])
                if r.returncode != 0:
                    self.failed_runs += 1
            k += 1
            time.sleep(0.2)


class RustConsumer:
    """`interop_client consume` running for the whole soak; one JSON line per delivery."""

    def __init__(self, exe, namesrv, topic, group):
        self.p = subprocess.Popen([exe, "consume", "--namesrv", namesrv, "--topic", topic, "--group", group,
                                   "--expect", "1000000000", "--timeout-secs", str(SOAK_SECS + 900)],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                  stdin=subprocess.DEVNULL)
        self.lock = threading.Lock()
        self.seen = set()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            if line.startswith("{"):
                body = json.loads(line)["body"]
                with self.lock:
                    self.seen.add(body.split(" ")[0])

    def count(self):
        with self.lock:
            return len(self.seen)

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(timeout=10)


def commit_log_files(store):
    d = os.path.join(store, "commitlog")
    try:
        return sorted(f for f in os.listdir(d) if f.isdigit())
    except OSError:
        return []


def table(rows):
    out = [f"{'t (s)':>7} {'broker#':>7} {'broker RSS MiB':>14} {'broker fds':>10} "
           f"{'store files':>11} {'namesrv RSS MiB':>15} {'namesrv fds':>11}"]
    for t, start, bs, ns in rows:
        b_rss, b_fd, b_files = (f"{bs[0] / 1024:.1f}", str(bs[1]), str(bs[2])) if bs else ("-", "-", "-")
        n_rss, n_fd = (f"{ns[0] / 1024:.1f}", str(ns[1])) if ns else ("-", "-")
        out.append(f"{t:7.0f} {start:7d} {b_rss:>14} {b_fd:>10} {b_files:>11} {n_rss:>15} {n_fd:>11}")
    return "\n".join(out)


def plot(rows, pick, title, height=10, width=72):
    """A small ASCII plot of one series (None values are gaps)."""
    values = [pick(r) for r in rows]
    known = [v for v in values if v is not None]
    if not known:
        return f"{title}: no samples"
    step = max(1, -(-len(values) // width))
    cols = []
    for i in range(0, len(values), step):
        chunk = [v for v in values[i:i + step] if v is not None]
        cols.append(max(chunk) if chunk else None)
    lo, hi = min(known), max(known)
    span = (hi - lo) or 1
    lines = [f"{title} (min {lo:.1f}, max {hi:.1f})"]
    for level in range(height, 0, -1):
        cut = lo + span * (level - 0.5) / height
        lines.append(f"{lo + span * level / height:9.1f} |" +
                     "".join(" " if v is None else ("#" if v >= cut else " ") for v in cols))
    lines.append(" " * 10 + "+" + "-" * len(cols))
    return "\n".join(lines)


def lifetimes(rows, which):
    """Samples grouped per process lifetime: broker (by start number) or name server."""
    groups = {}
    for t, start, bs, ns in rows:
        s = bs if which == "broker" else ns
        if s is not None:
            groups.setdefault(start if which == "broker" else 0, []).append(s)
    return groups


def unprovoked_errors(text):
    bad = []
    for line in text.splitlines():
        if re.search(r"\bERROR\b|panicked at", line) and not any(re.search(p, line) for p in PROVOKED):
            bad.append(line)
    return bad


def test_soak(soak_cluster, soak_clients, uniq, rust):
    cluster, clients = soak_cluster, soak_clients
    try:
        run_soak(cluster, clients, uniq, rust)
    except BaseException:
        print(cluster.logs()[-20000:])
        raise


def run_soak(cluster, clients, uniq, rust):
    broker = cluster.add_broker("broker-a", start=False)
    usage_file = os.path.join(cluster.root, "disk-usage")
    with open(usage_file, "w") as f:
        f.write("0\n")
    with open(broker.conf, "a") as f:
        f.write("mappedFileSizeCommitLog=1048576\nmappedFileSizeConsumeQueue=6000\n"
                "maxHashSlotNum=1000\nmaxIndexNum=4000\n"
                "fileReservedTime=1\ncleanResourceInterval=1000\n"
                f"debugDiskUsageFile={usage_file}\n")
    broker.start()
    topic_a, topic_b = f"TSoakA_{uniq}", f"TSoakB_{uniq}"
    cluster.create_topic(topic_a, queues=4)
    cluster.create_topic(topic_b, queues=4)

    t0 = time.time()
    sampler = Sampler(broker, cluster.namesrv, t0)
    sampler.start()

    gate = threading.Event()
    gate.set()
    rust_consumer = RustConsumer(rust, cluster.namesrv_addr, topic_a, f"CG_soakA_{uniq}")
    cpp_seen = Collector("soak-b")
    clients.push_consumer(cluster.namesrv_addr, f"CG_soakB_{uniq}", topic_b, cpp_seen, "*")
    producer = clients.producer(cluster.namesrv_addr, f"PG_soak_{uniq}", timeout_ms=5000)
    cpp_sender = CppSender(producer, topic_a, f"cpp{uniq}", gate)
    rust_sender = RustSender(rust, cluster.namesrv_addr, topic_b, f"rs{uniq}_", gate)
    cpp_sender.start()
    rust_sender.start()

    def cpp_consumed():
        return {m["body"].split(" ")[0] for m in cpp_seen.snapshot_list()}

    def caught_up():
        with cpp_sender.lock:
            a = set(cpp_sender.acked)
        with rust_sender.lock:
            b = set(rust_sender.acked)
        with rust_consumer.lock:
            ra = set(rust_consumer.seen)
        return a <= ra and b <= cpp_consumed()

    admin_ok, admin_failed, admin_topics = 0, 0, 0
    restarts = {"SIGTERM": 0, "SIGKILL": 0}
    retention_rounds, skipped_rounds = 0, 0
    deleted_segments = set()
    first_files = None
    next_restart = t0 + RESTART_SECS
    next_retention = t0 + RETENTION_SECS
    next_admin = t0 + 3
    kill_next = False
    try:
        while time.time() - t0 < SOAK_SECS:
            now = time.time()
            files = commit_log_files(broker.store)
            if first_files is None and files:
                first_files = files
            if now >= next_admin:
                next_admin = now + 4
                k = admin_ok + admin_failed
                args = [
                    ("topicList",),
                    ("topicStatus", "-t", topic_a),
                    ("consumerProgress", "-g", f"CG_soakB_{uniq}"),
                    ("clusterList",),
                    ("updateTopic", "-b", broker.addr, "-t", f"TSoakAdm_{uniq}_{admin_topics}"),
                    ("brokerStatus", "-b", broker.addr),
                ][k % 6]
                if args[0] == "updateTopic":
                    admin_topics += 1
                r = cluster.admin(*args, check=False, timeout=60)
                if r.returncode == 0:
                    admin_ok += 1
                else:
                    admin_failed += 1
            if now >= next_retention:
                next_retention = now + RETENTION_SECS
                gate.clear()
                time.sleep(1)  # let sends in flight finish
                try:
                    wait_until(caught_up, CATCH_UP_SECS, interval=0.5, what="consumers caught up")
                except AssertionError:
                    skipped_rounds += 1
                else:
                    before = set(commit_log_files(broker.store))
                    with open(usage_file, "w") as f:
                        f.write("0.87\n")
                    time.sleep(3.5)
                    with open(usage_file, "w") as f:
                        f.write("0\n")
                    after = set(commit_log_files(broker.store))
                    deleted_segments |= before - after
                    retention_rounds += 1
                gate.set()
            if now >= next_restart:
                next_restart = now + RESTART_SECS
                sig = signal.SIGKILL if kill_next else signal.SIGTERM
                kill_next = not kill_next
                rc = broker.stop(sig)
                assert rc == (-signal.SIGKILL if sig == signal.SIGKILL else 0), \
                    f"broker exit {rc} after {sig.name}\n{broker.proc.log()}"
                restarts[sig.name] += 1
                time.sleep(1)
                broker.start()
            time.sleep(0.5)
    finally:
        cpp_sender.stop.set()
        rust_sender.stop.set()
        gate.set()
        cpp_sender.join(timeout=120)
        rust_sender.join(timeout=240)

    # Everything acknowledged must reach its consumer (duplicates after restarts are fine).
    try:
        wait_until(caught_up, CATCH_UP_SECS * 2, interval=1, what="consumers caught up at the end")
    except AssertionError:
        pass
    sampler.sample()
    sampler.stop.set()
    sampler.join(timeout=30)
    rust_consumer.stop()

    with cpp_sender.lock:
        acked_a = set(cpp_sender.acked)
    with rust_sender.lock:
        acked_b = set(rust_sender.acked)
    lost_a = acked_a - rust_consumer.seen
    lost_b = acked_b - cpp_consumed()
    rows = sampler.rows
    print(f"\nsoak {SOAK_SECS}s: C++ -> Rust: {len(acked_a)} acknowledged, {len(acked_a) - len(lost_a)} "
          f"consumed, {len(lost_a)} lost ({cpp_sender.failures} sends failed while the broker was down)")
    print(f"soak {SOAK_SECS}s: Rust -> C++: {len(acked_b)} acknowledged, {len(acked_b) - len(lost_b)} "
          f"consumed, {len(lost_b)} lost ({rust_sender.failed_runs} producer runs cut by restarts)")
    print(f"restarts: {restarts}; retention rounds: {retention_rounds} ({skipped_rounds} skipped), "
          f"commit-log segments deleted: {len(deleted_segments)}; mqadmin: {admin_ok} ok, "
          f"{admin_failed} failed")
    print(table(rows))
    print(plot(rows, lambda r: r[2][0] / 1024 if r[2] else None, "broker RSS MiB"))
    print(plot(rows, lambda r: r[2][1] if r[2] else None, "broker open fds"))
    print(plot(rows, lambda r: r[2][1] - r[2][2] if r[2] else None, "broker fds net of store files"))
    print(plot(rows, lambda r: r[3][0] / 1024 if r[3] else None, "namesrv RSS MiB"))

    assert not lost_a, f"{len(lost_a)} acknowledged C++ sends never consumed: {sorted(lost_a)[:10]}"
    assert not lost_b, f"{len(lost_b)} acknowledged Rust sends never consumed: {sorted(lost_b)[:10]}"
    assert len(acked_a) > 0 and len(acked_b) > 0, "no traffic"
    assert restarts["SIGTERM"] >= 1 and restarts["SIGKILL"] >= 1, restarts
    assert retention_rounds >= 1 and deleted_segments, \
        f"retention never deleted a segment ({retention_rounds} rounds, files {commit_log_files(broker.store)})"
    assert admin_ok > 0, "no mqadmin command succeeded"

    # Flat within each process lifetime: descriptors within a margin of the lifetime's first
    # sample, RSS within 1.5x + 64 MiB of its early level (the page cache of mapped segments
    # counts in RSS, so small growth while segments fill is expected). The broker holds one
    # descriptor per store segment, so its count is taken net of the segment files that exist
    # at the time: what is left over must not grow (in an hour-long run a lifetime fills many
    # segments between two retention rounds).
    for which in ("broker", "namesrv"):
        for life, samples in lifetimes(rows, which).items():
            if len(samples) < 3:
                continue
            # Net of store segment files for the broker (third field), as is for the name server.
            def net_fds(sample):
                return sample[1] - (sample[2] if len(sample) > 2 else 0)
            first_fds = net_fds(samples[0])
            early_rss = max(s[0] for s in samples[: max(2, len(samples) // 3)])
            last_rss, last_fds = samples[-1][0], net_fds(samples[-1])
            assert last_fds <= first_fds + 64, f"{which} #{life}: fds {first_fds} -> {last_fds}"
            assert last_rss <= early_rss * 1.5 + 64 * 1024, \
                f"{which} #{life}: RSS {early_rss} KiB -> {last_rss} KiB"

    broker_log = open(broker.proc.log_path, encoding="utf-8", errors="replace").read()
    ns_log = open(cluster.namesrv.log_path, encoding="utf-8", errors="replace").read()
    bad = unprovoked_errors(broker_log) + unprovoked_errors(ns_log)
    assert not bad, "unprovoked ERROR/panic lines:\n" + "\n".join(bad[:30])
