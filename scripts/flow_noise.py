#!/usr/bin/env python3
"""Connection noise for a broker: idle connections and slow readers.

    scripts/flow_noise.py --broker 127.0.0.1:10911 --idle 1000 --slow 100 --seconds 30

Opens `--idle` connections that send nothing, and `--slow` connections that send
GET_ALL_TOPIC_CONFIG requests (code 21, an answer of a few KiB each) and never read an answer.
A broker with write-side back-pressure stops reading a slow connection once its answers are not
being read (serverMaxInFlightPerConnection and the byte bound), so its memory stays bounded; run
a send benchmark meanwhile to see whether the noise slows producers.

A slow reader writes while its socket takes the bytes, then trickles one request a second: a
peer that never reads, not a flood. The kernel holds some megabytes of requests per connection
before the writer would block (the broker's receive buffer grows while it still reads), and
filling that with one small write per request from many threads would spend a core of the
machine on the generator itself and slow the benchmark beside it for reasons of its own. So one
thread writes to every slow socket without blocking, 64 requests per write. Prints how many
requests the slow readers managed to write.
"""
import argparse
import json
import selectors
import socket
import struct
import time

BATCH = 64


def frame(code, opaque):
    header = json.dumps({"code": code, "language": "JAVA", "version": 479, "opaque": opaque,
                         "flag": 0, "extFields": {}}).encode()
    return struct.pack(">ii", 4 + len(header), len(header)) + header


def slow_socket(host, port):
    """A connection with small buffers, set before connecting so that the window the broker sees
    is small from the start (set afterwards, the kernel may already have offered a large one)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    s.settimeout(5)
    s.connect((host, port))
    s.setblocking(False)
    return s


class SlowReader:
    def __init__(self, sock):
        self.sock = sock
        self.opaque = 1
        self.pending = b""
        self.written = 0
        self.blocked = False  # set once the socket stopped taking bytes: from then on, trickle

    def next_batch(self, count):
        out = []
        for _ in range(count):
            out.append(frame(21, self.opaque))
            self.opaque += 1
        self.written += count
        return b"".join(out)

    def write(self, count):
        """Writes what is pending, then `count` more requests; False when the socket is full."""
        if not self.pending:
            self.pending = self.next_batch(count)
        try:
            n = self.sock.send(self.pending)
        except BlockingIOError:
            n = 0
        except OSError:
            self.pending = b""
            return False
        self.pending = self.pending[n:]
        return not self.pending


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--broker", required=True, help="host:port")
    ap.add_argument("--idle", type=int, default=1000)
    ap.add_argument("--slow", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=30)
    a = ap.parse_args()
    host, port = a.broker.rsplit(":", 1)
    port = int(port)

    idle = [socket.create_connection((host, port), timeout=5) for _ in range(a.idle)]
    readers = [SlowReader(slow_socket(host, port)) for _ in range(a.slow)]
    print(f"noise: {a.idle} idle connections and {a.slow} slow readers on {a.broker}", flush=True)

    sel = selectors.DefaultSelector()
    for r in readers:
        sel.register(r.sock, selectors.EVENT_WRITE, r)
    end = time.monotonic() + a.seconds
    next_trickle = time.monotonic() + 1
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if now >= next_trickle:
            next_trickle = now + 1
            for r in readers:
                if r.blocked and not r.pending:
                    r.write(1)
        if not sel.get_map():
            time.sleep(min(end, next_trickle) - now)
            continue
        for key, _ in sel.select(timeout=max(0.0, min(end, next_trickle) - now)):
            r = key.data
            if not r.write(BATCH):
                # The socket is full: the broker has stopped reading (or the kernel's buffers
                # are full). Stop flooding it.
                r.blocked = True
                sel.unregister(r.sock)

    for r in readers:
        try:
            r.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        r.sock.close()
    written = [r.written for r in readers]
    print(f"noise: slow readers wrote {sum(written)} requests in total "
          f"(max {max(written) if written else 0} on one connection) without reading an answer",
          flush=True)
    for s in idle:
        s.close()


if __name__ == "__main__":
    main()
