#!/usr/bin/env python3
"""Connection noise for a broker: idle connections and slow readers.

    scripts/flow_noise.py --broker 127.0.0.1:10911 --idle 1000 --slow 100 --seconds 30

Opens `--idle` connections that send nothing, and `--slow` connections that keep sending
GET_ALL_TOPIC_CONFIG requests (code 21, an answer of a few KiB each) without ever reading an
answer. A broker with write-side back-pressure stops reading a slow connection once its answers
are not being read (serverMaxInFlightPerConnection), so its memory stays bounded; run a send
benchmark meanwhile to see whether the noise slows producers. Prints how many requests the slow
readers managed to write before the broker stopped reading them.
"""
import argparse
import json
import socket
import struct
import threading
import time


def frame(code, opaque):
    header = json.dumps({"code": code, "language": "JAVA", "version": 479, "opaque": opaque,
                         "flag": 0, "extFields": {}}).encode()
    return struct.pack(">ii", 4 + len(header), len(header)) + header


def slow_socket(host, port):
    """A connection with a small receive buffer, set before connecting so that the window the
    broker sees is small from the start (set afterwards, the kernel may already have offered
    a large one)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # A small send buffer too: once the broker stops reading, a reader blocks after a few KiB
    # of requests instead of spending the machine's CPU filling megabytes of kernel buffers
    # with tiny frames, which would slow the benchmark beside it for reasons of its own.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    s.settimeout(5)
    s.connect((host, port))
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--broker", required=True, help="host:port")
    ap.add_argument("--idle", type=int, default=1000)
    ap.add_argument("--slow", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=30)
    a = ap.parse_args()
    host, port = a.broker.rsplit(":", 1)
    port = int(port)

    idle = []
    for _ in range(a.idle):
        idle.append(socket.create_connection((host, port), timeout=5))
    written = [0] * a.slow
    slow = [slow_socket(host, port) for _ in range(a.slow)]

    def slow_reader(i):
        s = slow[i]
        s.settimeout(None)  # block once the broker stops reading; main() shuts us down
        opaque = 1
        while True:
            try:
                s.sendall(frame(21, opaque))
            except OSError:
                return
            opaque += 1
            written[i] += 1

    threads = [threading.Thread(target=slow_reader, args=(i,), daemon=True) for i in range(a.slow)]
    for t in threads:
        t.start()
    print(f"noise: {a.idle} idle connections and {a.slow} slow readers on {a.broker}", flush=True)
    time.sleep(a.seconds)
    for s in slow:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
    for t in threads:
        t.join(2)
    print(f"noise: slow readers wrote {sum(written)} requests in total "
          f"(max {max(written) if written else 0} on one connection) without reading an answer",
          flush=True)
    for s in idle:
        s.close()


if __name__ == "__main__":
    main()
