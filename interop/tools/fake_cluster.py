#!/usr/bin/env python3
"""A throw-away, in-memory stand-in for RocketMQ's name server, broker and mqadmin.

Purpose: (1) give the C++ client something to talk to so its frames can be captured
(see WIRE_NOTES.md), and (2) let the interop suite check its own harness logic before the
FerroMQ binaries exist: `FERROMQ_BIN_DIR=interop/tools/fakebin interop/run.sh`.
It is NOT a reference implementation: it implements only what the C++ client 0.4.4 needs,
JSON headers only, one commit "log" kept in memory and pickled to the store dir on SIGTERM.

usage:
  fake_cluster.py namesrv -c namesrv.conf
  fake_cluster.py broker -n 127.0.0.1:9876 -c broker.conf
  fake_cluster.py admin updateTopic -n NS (-b ADDR | -c CLUSTER) -t TOPIC [-r R] [-w W]
  fake_cluster.py admin clusterList -n NS
  fake_cluster.py admin topicRoute -n NS -t TOPIC
"""
import asyncio
import json
import os
import pickle
import random
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import rmq_wire as w  # noqa: E402

VERSION = 401


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def read_conf(path):
    conf = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            conf[k.strip()] = v.strip()
    return conf


def response(req, code=0, ext=None, remark=None):
    h = {"code": code, "language": "JAVA", "version": VERSION, "opaque": req["opaque"],
         "flag": w.RESPONSE_FLAG, "extFields": {k: str(v) for k, v in (ext or {}).items()}}
    if remark is not None:
        h["remark"] = remark
    return h


class Conn:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.peer = writer.get_extra_info("peername")
        self.closed = False

    def send(self, header, body=b""):
        if self.closed:
            return
        try:
            self.writer.write(w.encode_frame(header, body))
        except Exception:
            self.closed = True


async def serve(port, handler, on_close=None):
    async def client(reader, writer):
        conn = Conn(reader, writer)
        try:
            while True:
                n = struct.unpack(">i", await reader.readexactly(4))[0]
                frame = await reader.readexactly(n)
                hdr, body = w.decode_frame(frame)
                if hdr.get("flag", 0) & w.RESPONSE_FLAG:
                    continue
                asyncio.ensure_future(dispatch(conn, hdr, body, handler))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            conn.closed = True
            if on_close:
                on_close(conn)
            writer.close()

    return await asyncio.start_server(client, "127.0.0.1", port, reuse_address=True)


async def dispatch(conn, hdr, body, handler):
    oneway = hdr.get("flag", 0) & w.ONEWAY_FLAG
    try:
        res = await handler(conn, hdr, hdr.get("extFields") or {}, body)
    except Exception as e:  # noqa: BLE001
        log("handler error", hdr.get("code"), repr(e))
        res = (response(hdr, 1, remark=repr(e)), b"")
    if res is None:
        res = (response(hdr, 3, remark=f" request type {hdr.get('code')} not supported"), b"")
    if not oneway:
        conn.send(*res)


# ---------------------------------------------------------------- name server

class NameServer:
    def __init__(self, port):
        self.port = port
        self.brokers = {}  # addr -> dict(cluster, name, id, topics, last, conn)

    def route(self, topic):
        qds, bds = [], {}
        for addr, b in self.brokers.items():
            t = b["topics"].get(topic)
            if t is None:
                continue
            if b["id"] == 0:
                qds.append({"brokerName": b["name"], "perm": t["perm"], "readQueueNums": t["r"],
                            "writeQueueNums": t["w"], "topicSysFlag": 0})
            bd = bds.setdefault(b["name"], {"brokerAddrs": {}, "brokerName": b["name"],
                                            "cluster": b["cluster"], "enableActingMaster": False})
            bd["brokerAddrs"][str(b["id"])] = addr
        if not qds:
            return None
        return {"brokerDatas": list(bds.values()), "filterServerTable": {}, "queueDatas": qds}

    def cluster_info(self):
        bat, cat = {}, {}
        for addr, b in self.brokers.items():
            bd = bat.setdefault(b["name"], {"brokerAddrs": {}, "brokerName": b["name"],
                                            "cluster": b["cluster"], "enableActingMaster": False})
            bd["brokerAddrs"][str(b["id"])] = addr
            names = cat.setdefault(b["cluster"], [])
            if b["name"] not in names:
                names.append(b["name"])
        return {"brokerAddrTable": bat, "clusterAddrTable": cat}

    async def handle(self, conn, req, ext, body):
        code = req["code"]
        if code == 103:
            data = w.loads_lenient(body) if body else {}
            tcw = data.get("topicConfigSerializeWrapper", {})
            addr = ext["brokerAddr"]
            b = self.brokers.get(addr)
            topics = {n: {"perm": c.get("perm", 6), "r": c.get("readQueueNums", 4),
                          "w": c.get("writeQueueNums", 4)}
                      for n, c in tcw.get("topicConfigTable", {}).items()}
            if b is None:
                log("register broker", ext["brokerName"], addr)
                b = self.brokers[addr] = {"cluster": ext["clusterName"], "name": ext["brokerName"],
                                          "id": int(ext["brokerId"]), "topics": {}}
            b["topics"].update(topics)
            b["last"] = time.time()
            b["conn"] = conn
            return response(req, 0, {"haServerAddr": "", "masterAddr": ""}), b""
        if code == 104:
            if self.brokers.pop(ext.get("brokerAddr"), None):
                log("unregister broker", ext.get("brokerAddr"))
            return response(req), b""
        if code == 105:
            r = self.route(ext.get("topic", ""))
            if r is None:
                return response(req, 17, remark=f"No topic route info in name server for the topic: {ext.get('topic')}"), b""
            return response(req), json.dumps(r).encode()
        if code == 106:
            return response(req), json.dumps(self.cluster_info()).encode()
        if code == 206:
            names = sorted({t for b in self.brokers.values() for t in b["topics"]})
            return response(req), json.dumps({"topicList": names}).encode()
        return None

    def on_close(self, conn):
        for addr in [a for a, b in self.brokers.items() if b.get("conn") is conn]:
            log("broker connection closed, dropping", addr)
            del self.brokers[addr]

    async def sweep(self):
        while True:
            await asyncio.sleep(5)
            now = time.time()
            for addr in [a for a, b in self.brokers.items() if now - b["last"] > 120]:
                log("broker expired", addr)
                del self.brokers[addr]


# ---------------------------------------------------------------- broker

SYSTEM_TOPICS = ("TBW102",)


class Broker:
    def __init__(self, conf, namesrv):
        self.conf = conf
        self.namesrv = namesrv
        self.port = int(conf.get("listenPort", "10911"))
        self.ip = conf.get("brokerIP1", "127.0.0.1")
        # fakeAdvertiseAddr: register another address (a wire-record.py proxy) with the name server
        self.addr = conf.get("fakeAdvertiseAddr", f"{self.ip}:{self.port}")
        self.name = conf.get("brokerName", "broker-a")
        self.cluster = conf.get("brokerClusterName", "DefaultCluster")
        self.auto_create = conf.get("autoCreateTopicEnable", "true").lower() == "true"
        self.store_dir = conf.get("storePathRootDir", "/tmp/fake-store")
        os.makedirs(self.store_dir, exist_ok=True)
        self.state_file = os.path.join(self.store_dir, "fake_state.pickle")
        self.topics = {"TBW102": {"perm": 7, "r": 8, "w": 8}, self.cluster: {"perm": 7, "r": 16, "w": 16},
                       self.name: {"perm": 7, "r": 1, "w": 1}}
        self.queues = {}  # (topic, qid) -> list of (phys, tagcode, record bytes)
        self.phys = 0
        self.offsets = {}  # group -> {(topic, qid): offset}
        if os.path.exists(self.state_file):
            with open(self.state_file, "rb") as f:
                st = pickle.load(f)
            self.topics.update(st["topics"])
            self.queues, self.phys, self.offsets = st["queues"], st["phys"], st["offsets"]
            log("recovered", sum(len(q) for q in self.queues.values()), "messages")
        self.groups = {}  # group -> {clientId: {"conn", "subs": {topic: set(tags) or None}, "model"}}
        self.waiters = {}  # (topic, qid) -> asyncio.Event
        self.ns_conn = None
        self.ns_opaque = 0

    def save(self):
        tmp = self.state_file + ".tmp"
        with open(tmp, "wb") as f:
            pickle.dump({"topics": self.topics, "queues": self.queues, "phys": self.phys,
                         "offsets": self.offsets}, f)
        os.replace(tmp, self.state_file)

    # --- name server registration (one persistent connection, like the Java broker)
    async def register(self):
        body = json.dumps({"filterServerList": [], "topicConfigSerializeWrapper": {
            "dataVersion": {"counter": 1, "stateVersion": 0, "timestamp": int(time.time() * 1000)},
            "topicConfigTable": {n: {"topicName": n, "perm": t["perm"], "readQueueNums": t["r"],
                                     "writeQueueNums": t["w"], "order": False, "topicSysFlag": 0,
                                     "topicFilterType": "SINGLE_TAG", "attributes": {}}
                                 for n, t in self.topics.items()}}}).encode()
        ext = {"brokerName": self.name, "brokerAddr": self.addr, "clusterName": self.cluster,
               "haServerAddr": f"{self.ip}:{self.port + 1}", "brokerId": 0, "compressed": "false",
               "bodyCrc32": 0}
        await self.ns_request(103, ext, body)

    async def ns_request(self, code, ext, body=b""):
        try:
            if self.ns_conn is None:
                host, port = self.namesrv.rsplit(":", 1)
                self.ns_conn = await asyncio.open_connection(host, int(port))
            r, wr = self.ns_conn
            self.ns_opaque += 1
            wr.write(w.encode_frame({"code": code, "language": "JAVA", "version": VERSION,
                                     "opaque": self.ns_opaque, "flag": 0,
                                     "extFields": {k: str(v) for k, v in ext.items()}}, body))
            await wr.drain()
            n = struct.unpack(">i", await asyncio.wait_for(r.readexactly(4), 5))[0]
            await r.readexactly(n)
        except Exception as e:  # noqa: BLE001
            log("name server request failed", code, repr(e))
            self.ns_conn = None

    async def register_loop(self):
        while True:
            await self.register()
            await asyncio.sleep(30)

    async def save_loop(self):
        while True:
            await asyncio.sleep(1)
            self.save()

    # --- helpers
    def create_topic(self, name, r, wq, perm=6):
        self.topics[name] = {"perm": perm, "r": r, "w": wq}
        asyncio.ensure_future(self.register())

    def max_offset(self, topic, qid):
        return len(self.queues.get((topic, qid), []))

    def store(self, conn, topic, qid, flag, sysflag, born_ts, props, body, reconsume=0):
        q = self.queues.setdefault((topic, qid), [])
        qoff = len(q)
        if "UNIQ_KEY" not in props:
            props["UNIQ_KEY"] = os.urandom(16).hex().upper()
        props.setdefault("CLUSTER", self.cluster)
        pstr = w.format_properties(props).encode()
        tb = topic.encode()
        born_ip, born_port = conn.peer[0], conn.peer[1]
        rec = struct.pack(">iiiiiqqiq", 0, -626843481, w.body_crc(body), qid, flag, qoff, self.phys,
                          sysflag, born_ts)
        rec += socket.inet_aton(born_ip) + struct.pack(">i", born_port)
        rec += struct.pack(">q", int(time.time() * 1000))
        rec += socket.inet_aton(self.ip) + struct.pack(">i", self.port)
        rec += struct.pack(">iqi", reconsume, 0, len(body)) + body
        rec += struct.pack(">b", len(tb)) + tb + struct.pack(">h", len(pstr)) + pstr
        rec = struct.pack(">i", len(rec)) + rec[4:]
        msg_id = (socket.inet_aton(self.ip) + struct.pack(">iq", self.port, self.phys)).hex().upper()
        tags = props.get("TAGS")
        q.append((self.phys, w.java_hash(tags) if tags else 0, rec))
        self.phys += len(rec)
        ev = self.waiters.pop((topic, qid), None)
        if ev:
            ev.set()
        return msg_id, qoff, props["UNIQ_KEY"]

    def resolve_topic(self, topic, default_qnums):
        if topic in self.topics:
            return self.topics[topic]
        if self.auto_create or topic.startswith("%RETRY%"):
            n = min(int(default_qnums or 4), 8) if not topic.startswith("%RETRY%") else 1
            self.create_topic(topic, n, n)
            return self.topics[topic]
        return None

    def notify_group(self, group):
        for cid, c in self.groups.get(group, {}).items():
            c["conn"].send({"code": 40, "language": "JAVA", "version": VERSION,
                            "opaque": random.randint(1, 1 << 30), "flag": w.ONEWAY_FLAG,
                            "extFields": {"consumerGroup": group}})

    def on_close(self, conn):
        for g, members in self.groups.items():
            gone = [cid for cid, c in members.items() if c["conn"] is conn]
            for cid in gone:
                del members[cid]
            if gone:
                self.notify_group(g)

    async def handle(self, conn, req, ext, body):
        code = req["code"]
        if code in (10, 310, 320):
            if code == 10:
                g = ext.get
            else:
                m = {"a": "producerGroup", "b": "topic", "c": "defaultTopic", "d": "defaultTopicQueueNums",
                     "e": "queueId", "f": "sysFlag", "g": "bornTimestamp", "h": "flag", "i": "properties",
                     "j": "reconsumeTimes", "k": "unitMode", "l": "maxReconsumeTimes", "m": "batch"}
                ext2 = {m.get(k, k): v for k, v in ext.items()}
                g = ext2.get
            topic = g("topic")
            t = self.resolve_topic(topic, g("defaultTopicQueueNums"))
            if t is None:
                return response(req, 17, remark=f"topic[{topic}] not exist"), b""
            qid = int(g("queueId", "-1"))
            if qid < 0:
                qid = random.randrange(t["w"])
            if qid >= max(t["r"], t["w"]):
                return response(req, 29, remark="queueId out of range"), b""
            sysflag, flag = int(g("sysFlag", "0")), int(g("flag", "0"))
            born = int(g("bornTimestamp", "0"))
            props = w.parse_properties(g("properties") or "")
            if code == 320 or g("batch") == "true":
                ids, first, uniqs, pos = [], None, [], 0
                while pos < len(body):
                    size, _, _, mflag, blen = struct.unpack(">iiiii", body[pos:pos + 20])
                    mbody = body[pos + 20:pos + 20 + blen]
                    plen = struct.unpack(">h", body[pos + 20 + blen:pos + 22 + blen])[0]
                    mprops = w.parse_properties(body[pos + 22 + blen:pos + 22 + blen + plen].decode())
                    mid, qoff, uk = self.store(conn, topic, qid, mflag, sysflag, born, mprops, mbody)
                    ids.append(mid)
                    uniqs.append(uk)
                    first = qoff if first is None else first
                    pos += size
                return response(req, 0, {"msgId": ",".join(ids), "queueId": qid, "queueOffset": first,
                                         "MSG_REGION": "DefaultRegion", "TRACE_ON": "true"}), b""
            mid, qoff, uk = self.store(conn, topic, qid, flag, sysflag, born, props, body,
                                       int(g("reconsumeTimes", "0") or 0))
            return response(req, 0, {"msgId": mid, "queueId": qid, "queueOffset": qoff,
                                     "transactionId": uk, "MSG_REGION": "DefaultRegion",
                                     "TRACE_ON": "true"}), b""
        if code == 34:
            hb = json.loads(body)
            cid = hb["clientID"]
            for cd in hb.get("consumerDataSet", []):
                group = cd["groupName"]
                subs = {}
                for sd in cd.get("subscriptionDataSet", []):
                    tags = sd.get("tagsSet") or []
                    sub = sd.get("subString", "*")
                    subs[sd["topic"]] = None if sub in ("*", "") else set(tags)
                members = self.groups.setdefault(group, {})
                new = cid not in members or members[cid]["subs"] != subs or members[cid]["conn"] is not conn
                members[cid] = {"conn": conn, "subs": subs, "model": cd.get("messageModel")}
                self.resolve_topic(f"%RETRY%{group}", 1)
                # the C++ client sends enum ordinals (0 = BROADCASTING), Java sends names
                if new and cd.get("messageModel") not in ("BROADCASTING", 0):
                    self.notify_group(group)
            return response(req), b""
        if code == 35:
            cid = ext.get("clientID")
            for g, members in self.groups.items():
                if members.pop(cid, None) is not None:
                    self.notify_group(g)
            return response(req), b""
        if code == 38:
            ids = sorted(self.groups.get(ext.get("consumerGroup"), {}))
            if not ids:
                return response(req, 1, remark="no consumer for this group"), b""
            return response(req), json.dumps({"consumerIdList": ids}).encode()
        if code == 14:
            off = self.offsets.get(ext["consumerGroup"], {}).get((ext["topic"], int(ext["queueId"])))
            if off is None:
                if ext.get("setZeroIfNotFound", "true").lower() == "false":
                    return response(req, 22, remark="Not found"), b""
                off = 0
            return response(req, 0, {"offset": off}), b""
        if code == 15:
            self.offsets.setdefault(ext["consumerGroup"], {})[(ext["topic"], int(ext["queueId"]))] = \
                int(ext["commitOffset"])
            return response(req), b""
        if code == 30:
            return response(req, 0, {"offset": self.max_offset(ext["topic"], int(ext["queueId"]))}), b""
        if code == 31:
            return response(req, 0, {"offset": 0}), b""
        if code == 11:
            return await self.pull(conn, req, ext)
        if code == 17:
            self.create_topic(ext["topic"], int(ext["readQueueNums"]), int(ext["writeQueueNums"]),
                              int(ext.get("perm", 6)))
            return response(req), b""
        if code == 36:
            return response(req), b""
        if code == 41:
            data = json.loads(body)
            return response(req), json.dumps({"lockOKMQSet": data.get("mqSet", [])}).encode()
        if code == 42:
            return response(req), b""
        if code == 28:
            return response(req), json.dumps({"table": {"brokerVersionDesc": "FAKE", "brokerActive": "true"}}).encode()
        return None

    async def pull(self, conn, req, ext):
        topic, qid, group = ext["topic"], int(ext["queueId"]), ext["consumerGroup"]
        off = int(ext["queueOffset"])
        sysflag = int(ext.get("sysFlag", "0"))
        if sysflag & 1 and int(ext.get("commitOffset", "-1")) >= 0:
            self.offsets.setdefault(group, {})[(topic, qid)] = int(ext["commitOffset"])
        t = self.topics.get(topic)
        if t is None:
            return response(req, 17, remark="topic not exist"), b""
        if sysflag & 4:
            sub = ext.get("subscription", "*").strip()
            tags = None if sub in ("*", "") else {x.strip() for x in sub.split("||")}
        else:
            member = next((c for c in self.groups.get(group, {}).values() if c["conn"] is conn), None)
            if member is None or topic not in member["subs"]:
                return response(req, 24, remark="subscription not exist"), b""
            tags = member["subs"][topic]
        codes = None if tags is None else {w.java_hash(x) for x in tags}
        deadline = time.time() + int(ext.get("suspendTimeoutMillis", "0")) / 1000.0 if sysflag & 2 else 0
        while True:
            q = self.queues.get((topic, qid), [])
            mx = len(q)
            hdr = {"suggestWhichBrokerId": 0, "minOffset": 0, "maxOffset": mx}
            if off > mx or (mx == 0 and off != 0):
                return response(req, 21, dict(hdr, nextBeginOffset=mx), "OFFSET_OVERFLOW_BADLY"), b""
            if off < mx:
                found, pos = [], off
                while pos < mx and len(found) < int(ext.get("maxMsgNums", "32")):
                    _, tc, rec = q[pos]
                    pos += 1
                    if codes is None or tc in codes:
                        found.append(rec)
                if found:
                    return response(req, 0, dict(hdr, nextBeginOffset=pos), "FOUND"), b"".join(found)
                return response(req, 20, dict(hdr, nextBeginOffset=pos), "NO_MATCHED_MESSAGE"), b""
            left = deadline - time.time()
            if left <= 0:
                return response(req, 19, dict(hdr, nextBeginOffset=off), "OFFSET_OVERFLOW_ONE"), b""
            ev = self.waiters.setdefault((topic, qid), asyncio.Event())
            try:
                await asyncio.wait_for(ev.wait(), min(left, 1.0))
            except asyncio.TimeoutError:
                pass
            if conn.closed:
                return None


async def run_namesrv(conf):
    ns = NameServer(int(conf.get("listenPort", "9876")))
    await serve(ns.port, ns.handle, ns.on_close)
    log("name server listening on", ns.port)
    await ns.sweep()


async def run_broker(conf, namesrv):
    b = Broker(conf, namesrv)
    server = await serve(b.port, b.handle, b.on_close)
    log("broker", b.name, "listening on", b.addr)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    tasks = [asyncio.ensure_future(b.register_loop()), asyncio.ensure_future(b.save_loop())]
    await stop.wait()
    log("shutting down")
    for t in tasks:
        t.cancel()
    server.close()
    b.save()
    await b.ns_request(104, {"brokerName": b.name, "brokerAddr": b.addr, "clusterName": b.cluster,
                             "brokerId": 0})


def admin(argv):
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("cmd")
    p.add_argument("-n")
    p.add_argument("-b", action="append")
    p.add_argument("-c")
    p.add_argument("-t")
    p.add_argument("-r", type=int, default=8)
    p.add_argument("-w", type=int, default=8)
    a = p.parse_args(argv)
    if a.cmd == "updateTopic":
        addrs = list(a.b or [])
        if a.c:
            ci = w.get_cluster_info(a.n)
            for bn in ci["clusterAddrTable"].get(a.c, []):
                addrs.append(ci["brokerAddrTable"][bn]["brokerAddrs"]["0"])
        for addr in addrs:
            h, _ = w.request(addr, 17, {"topic": a.t, "defaultTopic": "TBW102", "readQueueNums": a.r,
                                        "writeQueueNums": a.w, "perm": 6, "topicFilterType": "SINGLE_TAG",
                                        "topicSysFlag": 0, "order": "false"})
            if h["code"] != 0:
                print("update topic failed", addr, h)
                return 1
            print(f"create topic to {addr} success.")
        return 0
    if a.cmd == "clusterList":
        ci = w.get_cluster_info(a.n)
        print("#Cluster Name     #Broker Name            #BID  #Addr                  #Version")
        for cl, names in ci["clusterAddrTable"].items():
            for bn in names:
                for bid, addr in ci["brokerAddrTable"][bn]["brokerAddrs"].items():
                    print(f"{cl:<18}{bn:<24}{bid:<6}{addr:<23}FAKE")
        return 0
    if a.cmd == "topicRoute":
        print(json.dumps(w.get_route(a.n, a.t), indent=2))
        return 0
    print("unknown command", a.cmd)
    return 2


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    role, rest = sys.argv[1], sys.argv[2:]
    if role == "admin":
        return admin(rest)
    conf, ns = {}, None
    it = iter(rest)
    for arg in it:
        if arg == "-c":
            conf = read_conf(next(it))
        elif arg == "-n":
            ns = next(it)
    if role == "namesrv":
        asyncio.run(run_namesrv(conf))
    elif role == "broker":
        asyncio.run(run_broker(conf, ns or conf.get("namesrvAddr", "127.0.0.1:9876")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
