"""The C++ remoting client's side of the cross-protocol tests, run with the C++ suite's venv
(its `rocketmq` module is not the v5 client's).

  cpp_side.py send NAMESRV TOPIC BODY...      prints one message id per body
  cpp_side.py receive NAMESRV TOPIC GROUP N   prints the bodies of N messages (push consumer)
"""
import sys
import threading
import time
import uuid

from rocketmq.client import Message, Producer, PushConsumer


def send(namesrv, topic, bodies):
    p = Producer("PID_grpc_cross_" + uuid.uuid4().hex[:6], timeout=10000)
    p.set_namesrv_addr(namesrv)
    p.start()
    try:
        for body in bodies:
            m = Message(topic)
            m.set_body(body)
            m.set_tags("cpp")
            r = p.send_sync(m)
            print(r.msg_id, flush=True)
    finally:
        p.shutdown()


def receive(namesrv, topic, group, n, timeout=60):
    got, done = [], threading.Event()
    lock = threading.Lock()

    def on_message(msg):
        with lock:
            got.append(msg.body.decode())
            if len(got) >= n:
                done.set()
        return None  # success (the binding acks unless the callback raises)

    c = PushConsumer(group)
    c.set_namesrv_addr(namesrv)
    c.subscribe(topic, on_message, "*")
    c.start()
    try:
        done.wait(timeout)
        time.sleep(0.5)
    finally:
        c.shutdown()
    for body in got:
        print(body, flush=True)


if __name__ == "__main__":
    cmd, namesrv, topic = sys.argv[1], sys.argv[2], sys.argv[3]
    if cmd == "send":
        send(namesrv, topic, sys.argv[4:])
    elif cmd == "receive":
        receive(namesrv, topic, sys.argv[4], int(sys.argv[5]))
    else:
        sys.exit(f"unknown command {cmd}")
