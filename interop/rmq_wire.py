"""Minimal RocketMQ remoting codec (JSON headers only) for the interop harness.

Used by the tests to ask a name server or broker something directly (route data, cluster info)
without going through the C++ client, and by tools/fake_cluster.py. Not a client library.
"""
import json
import socket
import struct
import zlib

RESPONSE_FLAG = 1
ONEWAY_FLAG = 2


def encode_frame(header: dict, body: bytes = b"") -> bytes:
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return struct.pack(">ii", 4 + len(h) + len(body), len(h) & 0xFFFFFF) + h + (body or b"")


def decode_frame(frame: bytes):
    """frame = the bytes after the 4-byte length field. Returns (header dict, body bytes)."""
    word = struct.unpack(">i", frame[:4])[0]
    kind, hlen = (word >> 24) & 0xFF, word & 0xFFFFFF
    raw = frame[4:4 + hlen]
    body = frame[4 + hlen:]
    if kind == 0:
        return json.loads(raw.decode("utf-8")), body
    return decode_binary_header(raw), body


def decode_binary_header(raw: bytes) -> dict:
    code, lang, ver, opaque, flag, rlen = struct.unpack(">hbhiii", raw[:17])
    pos = 17
    remark = raw[pos:pos + rlen].decode() if rlen else None
    pos += rlen
    elen = struct.unpack(">i", raw[pos:pos + 4])[0]
    pos += 4
    ext, end = {}, pos + elen
    while pos < end:
        kl = struct.unpack(">h", raw[pos:pos + 2])[0]
        k = raw[pos + 2:pos + 2 + kl].decode()
        pos += 2 + kl
        vl = struct.unpack(">i", raw[pos:pos + 4])[0]
        ext[k] = raw[pos + 4:pos + 4 + vl].decode()
        pos += 4 + vl
    return {"code": code, "language": lang, "version": ver, "opaque": opaque, "flag": flag,
            "remark": remark, "extFields": ext}


def read_frame(sock: socket.socket) -> bytes:
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("connection closed")
            buf += chunk
        return buf
    n = struct.unpack(">i", exact(4))[0]
    return exact(n)


_opaque = [1000]


def request(addr: str, code: int, ext=None, body: bytes = b"", timeout: float = 5.0):
    """One synchronous request on a fresh connection. Returns (header, body)."""
    host, port = addr.rsplit(":", 1)
    _opaque[0] += 1
    hdr = {"code": code, "language": "PYTHON", "version": 401, "opaque": _opaque[0], "flag": 0,
           "extFields": {k: str(v) for k, v in (ext or {}).items()}}
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(encode_frame(hdr, body))
        while True:
            h, b = decode_frame(read_frame(s))
            if h.get("flag", 0) & RESPONSE_FLAG and h.get("opaque") == hdr["opaque"]:
                return h, b


def loads_lenient(body: bytes):
    """Parse RocketMQ JSON bodies, tolerating fastjson's bare number keys ({0:"addr"})."""
    text = body.decode("utf-8")
    try:
        return json.loads(text)
    except ValueError:
        import re
        return json.loads(re.sub(r'([{,])(-?\d+):', r'\1"\2":', text))


def get_route(namesrv: str, topic: str):
    """GET_ROUTEINFO_BY_TOPIC (105). Returns the route dict, or None for TOPIC_NOT_EXIST."""
    h, b = request(namesrv, 105, {"topic": topic})
    if h["code"] == 17:
        return None
    if h["code"] != 0:
        raise RuntimeError(f"route query failed: {h}")
    return loads_lenient(b)


def get_cluster_info(namesrv: str):
    """GET_BROKER_CLUSTER_INFO (106)."""
    h, b = request(namesrv, 106)
    if h["code"] != 0:
        raise RuntimeError(f"cluster info failed: {h}")
    return loads_lenient(b)


# ---- helpers shared with the fake cluster ----

def java_hash(s: str) -> int:
    h = 0
    for unit in _utf16_units(s):
        h = (31 * h + unit) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def _utf16_units(s: str):
    b = s.encode("utf-16-be")
    for i in range(0, len(b), 2):
        yield (b[i] << 8) | b[i + 1]


def parse_properties(s: str) -> dict:
    out = {}
    for seg in s.split("\x02"):
        if "\x01" in seg:
            k, v = seg.split("\x01", 1)
            if k and v:
                out[k] = v
    return out


def format_properties(props: dict) -> str:
    return "".join(f"{k}\x01{v}\x02" for k, v in props.items())


def body_crc(b: bytes) -> int:
    return zlib.crc32(b) & 0x7FFFFFFF


def decode_records(body: bytes):
    """Decode stored message records (pull/query/view bodies). IPv4 hosts only; magic picks the
    topic-length width. Returns a list of dicts."""
    out, pos = [], 0
    while pos + 4 <= len(body):
        size, magic, crc, qid, flag, qoff, phys, sysflag, born = struct.unpack(
            ">iiiiiqqiq", body[pos:pos + 48])
        p = pos + 48
        born_host = body[p:p + 8]
        p += 8
        store_ts = struct.unpack(">q", body[p:p + 8])[0]
        p += 8
        store_host = body[p:p + 8]
        p += 8
        reconsume, prep, blen = struct.unpack(">iqi", body[p:p + 16])
        p += 16
        mbody = body[p:p + blen]
        p += blen
        if magic == -626843477:  # v2: i16 topic length
            tlen = struct.unpack(">h", body[p:p + 2])[0]
            p += 2
        else:
            tlen = body[p]
            p += 1
        topic = body[p:p + tlen].decode()
        p += tlen
        plen = struct.unpack(">h", body[p:p + 2])[0]
        props = parse_properties(body[p + 2:p + 2 + plen].decode())
        p += 2 + plen
        out.append({"size": size, "computed_size": p - pos, "magic": magic, "body_crc": crc,
                    "queue_id": qid, "flag": flag, "queue_offset": qoff, "phys_offset": phys,
                    "sysflag": sysflag, "born_timestamp": born, "born_host": born_host,
                    "store_timestamp": store_ts, "store_host": store_host, "reconsume_times": reconsume,
                    "body": mbody, "topic": topic, "properties": props})
        pos += size
    return out


def pull(broker: str, group: str, topic: str, queue_id: int, offset: int, subscription: str = "*",
         max_msgs: int = 32):
    """PULL_MESSAGE shaped like the C++ PullConsumer's (sysFlag 4, no suspend)."""
    h, b = request(broker, 11, {"consumerGroup": group, "topic": topic, "queueId": queue_id,
                                "queueOffset": offset, "maxMsgNums": max_msgs, "sysFlag": 4,
                                "commitOffset": 0, "suspendTimeoutMillis": 0,
                                "subscription": subscription, "subVersion": 0})
    return h, (decode_records(b) if h["code"] == 0 else [])
