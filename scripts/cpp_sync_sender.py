#!/usr/bin/env python3
"""Times synchronous sends of the official RocketMQ C++ client (PyPI `rocketmq`, the interop
suite's client): one producer sends `--count` messages one after the other and prints the send
rate and the latency percentiles, to compare a broker with and without connection noise
(scripts/flow_noise.py).

    scripts/cpp_sync_sender.py --namesrv 127.0.0.1:9876 --topic BenchmarkTest --count 3000
"""
import argparse
import time
import uuid

from rocketmq.client import Message, Producer


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--namesrv", required=True)
    ap.add_argument("--topic", default="BenchmarkTest")
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--size", type=int, default=128)
    a = ap.parse_args()
    p = Producer("PG_cpp_sender_" + uuid.uuid4().hex[:8])
    p.set_namesrv_addr(a.namesrv)
    p.start()
    body = "x" * a.size
    # One send first: the route lookup is not part of the timing.
    warm = Message(a.topic)
    warm.set_body(body)
    p.send_sync(warm)
    lat = []
    failed = 0
    start = time.perf_counter()
    for _ in range(a.count):
        m = Message(a.topic)
        m.set_body(body)
        t = time.perf_counter()
        try:
            p.send_sync(m)
        except Exception:  # noqa: BLE001 - counted, the run goes on
            failed += 1
        lat.append(time.perf_counter() - t)
    took = time.perf_counter() - start
    p.shutdown()
    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    print(f"cpp sync sends: {a.count} in {took:.2f} s = {a.count / took:.0f} TPS, "
          f"failed {failed}, p50 {pct(0.5):.2f} ms, p99 {pct(0.99):.2f} ms, max {lat[-1] * 1000:.1f} ms",
          flush=True)


if __name__ == "__main__":
    main()
