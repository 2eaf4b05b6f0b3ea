#!/usr/bin/env python3
"""hostile_beacon.py - hostile beacons for udpchat's discovery port
(hostile_chat.sh).  Run only inside the network namespace the test makes:
it sends to a multicast group and from 127.0.0.2.

  hostile_beacon.py burst  --group G --port P --report FILE [--count N]
                           [--victims K] [--secs S] [--linger S] [--seed N]
  hostile_beacon.py single --group G --port P --report FILE --len L [--linger S]
  hostile_beacon.py pex    --group G --port P --report FILE --vport V [--nvict K]
                           [--count N] [--secs S]

Both modes bind K "victim" sockets on 127.0.0.2 and count every byte that
arrives there, per sender (ip:port).  A forged beacon "from a victim" is
sent from a socket bound on 127.0.0.2 and names a victim socket's port as
its data port: udpchat sees a beacon whose source address is the victim.

burst: joins the group (to sample genuine beacons), then sends N datagrams
to the group, these kinds in turn:

  random     "HOSTILE" + random bytes, 1..1400 (not a chat packet)
  oversized  "HOSTILE" + random bytes, 4100..65507 (longer than any chat packet)
  truncated  a genuine beacon cut short (0..len-1 bytes)
  badver     a beacon with version 9
  wrongtype  a well-formed MSG with text "HOSTILE ..." (no beacon)
  short      a forged unpadded beacon (20..40 bytes) from a victim
  padded     a forged beacon padded to 64..200 bytes from a victim
  leave      a forged LEAVE from a victim
  replay     a genuine beacon sampled so far, exactly, from a foreign source

Short ones name the last 4 victims, padded ones the others, so that a short
one never adds to the credit of a session that a padded one started.
Forged beacons carry fresh random ids above 2^64 - 2^32, so that a genuine
peer (random id) is almost surely the smaller one and connects.

single: sends one forged padded (or short, --len < 64) beacon from a victim,
then only counts for --linger seconds: the bytes a single beacon draws.

pex (hostile_pex.sh): binds K victims on 127.0.0.2, 127.0.0.3, ... port V
(the addresses chat_pex_hostile names in its peer lists) and two more on
127.0.0.252 and .253 port V+1, from which it forges N padded beacons (a
fresh id each, 0.1 s apart); then counts for S seconds what reaches the
list victims and the beacon victims.

The report (JSON) gives per kind how many were sent, the bytes sent from
victim addresses, and per sender the bytes the victims received.
"""
import argparse
import json
import random
import select
import socket
import struct
import sys
import time

MAGIC = 0x55434854
KINDS = ["random", "oversized", "truncated", "badver", "wrongtype", "short", "padded", "leave",
         "replay"]
MARK = b"HOSTILE"


def chat_pkt(typ, pid, port, nick, text=b"", ver=2, ext=b""):
    """ext: the per-type fields of version 2 (a line's seq, ts, flags)"""
    n = nick.encode()
    return (struct.pack(">IBBQHB", MAGIC, ver, typ, pid, port, len(n)) + n + ext +
            struct.pack(">H", len(text)) + text)


def udp(host, port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((host, port))
    s.setblocking(False)
    return s


def group_listener(group, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("0.0.0.0", port))
    mreq = socket.inet_aton(group) + socket.inet_aton("127.0.0.1")
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    s.setblocking(False)
    return s


class Victims:
    def __init__(self, k):
        self.socks = [udp("127.0.0.2") for _ in range(k)]
        self.ports = [v.getsockname()[1] for v in self.socks]
        self.got = {}  # "ip:port" of the sender -> [datagrams, bytes]

    def drain(self, wait):
        r, _, _ = select.select(self.socks, [], [], wait)
        for v in r:
            while True:
                try:
                    d, src = v.recvfrom(65536)
                except BlockingIOError:
                    break
                except ConnectionRefusedError:
                    continue
                g = self.got.setdefault("%s:%d" % src, [0, 0])
                g[0] += 1
                g[1] += len(d)


def burst(a):
    rng = random.Random(a.seed)
    vic = Victims(a.victims)
    forger = udp("127.0.0.2")    # source address: the victims'
    hostile = udp("127.0.0.1")   # source address: a foreign one
    cap = group_listener(a.group, a.port)
    mine = {("127.0.0.1", hostile.getsockname()[1])}
    npad = max(1, len(vic.ports) - 4)  # short beacons name the last 4 victims
    to = (a.group, a.port)
    kinds = {k: 0 for k in KINDS}
    forged_bytes = 0
    seen = []
    sent = 0
    t0 = time.monotonic()
    end = t0 + a.secs
    while sent < a.count and time.monotonic() < end:
        while True:
            try:
                d, src = cap.recvfrom(65536)
            except BlockingIOError:
                break
            if src in mine or src[0] != "127.0.0.1" and src[0] != "0.0.0.0":
                continue  # ours, not a genuine peer's
            if len(d) >= 19 and d[:4] == struct.pack(">I", MAGIC) and d[5] == 1 and len(seen) < 64:
                seen.append(d)
        kind = KINDS[sent % len(KINDS)]
        if kind in ("truncated", "replay") and not seen:
            kind = "random"
        vport = vic.ports[rng.randrange(npad)]
        fid = (1 << 64) - 1 - rng.randrange(1 << 32)
        src = hostile
        if kind == "random":
            d = MARK + rng.randbytes(rng.randint(0, 1393))
        elif kind == "oversized":
            d = MARK + rng.randbytes(rng.randint(4100, 65507) - len(MARK))
        elif kind == "truncated":
            g = rng.choice(seen)
            d = g[:rng.randrange(len(g))]
        elif kind == "badver":
            d = chat_pkt(1, fid, vport, "HOSTILE", bytes(64), ver=9)
        elif kind == "wrongtype":
            d = chat_pkt(4, fid, vport, "HOSTILE", b"HOSTILE message %d" % sent,
                         ext=struct.pack(">QQB", sent + 1, 0, 0))
        elif kind == "short":
            d = chat_pkt(1, fid, vic.ports[rng.randrange(npad, len(vic.ports))],
                         "H" * rng.randint(1, 21))
            src = forger
        elif kind == "padded":
            d = chat_pkt(1, fid, vport, "HOSTILE", bytes(rng.randint(64, 200) - 26))
            src = forger
        elif kind == "leave":
            d = chat_pkt(2, fid, vport, "HOSTILE")
            src = forger
        else:
            d = rng.choice(seen)
        try:
            src.sendto(d, to)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        sent += 1
        kinds[kind] += 1
        if src is forger:
            forged_bytes += len(d)
        vic.drain(0)
        if sent % 50 == 0:
            vic.drain(0.01)  # paced: the receivers' buffers keep up
    t1 = time.monotonic()
    while time.monotonic() < t1 + a.linger:
        vic.drain(0.05)
    rep = {"sent": sent, "kinds": kinds, "forged_bytes": forged_bytes,
           "victim_ports": vic.ports, "victims_got": vic.got,
           "seconds": round(time.monotonic() - t0, 3), "genuine_sampled": len(seen)}
    with open(a.report, "w") as f:
        json.dump(rep, f)
    return 0


def single(a):
    rng = random.Random(a.seed)
    vic = Victims(1)
    forger = udp("127.0.0.2")
    fid = (1 << 64) - 1 - rng.randrange(1 << 32)
    nick = "victim"
    pad = max(0, a.len - len(chat_pkt(1, fid, 0, nick)))
    d = chat_pkt(1, fid, vic.ports[0], nick, bytes(pad))
    forger.sendto(d, (a.group, a.port))
    t0 = time.monotonic()
    while time.monotonic() < t0 + a.linger:
        vic.drain(0.05)
    rep = {"sent": 1, "forged_bytes": len(d), "victim_ports": vic.ports, "victims_got": vic.got}
    with open(a.report, "w") as f:
        json.dump(rep, f)
    return 0


def pex(a):
    lv = [udp("127.0.0.%d" % (2 + i), a.vport) for i in range(a.nvict)]
    bv = [udp("127.0.0.%d" % i, a.vport + 1) for i in (252, 253)]
    got = {"list": [0, 0], "beacon": [0, 0]}
    senders = {}  # "ip:port" -> [datagrams, bytes] to the list victims
    print("victims ready", file=sys.stderr, flush=True)

    def drain(wait):
        r, _, _ = select.select(lv + bv, [], [], wait)
        for v in r:
            while True:
                try:
                    d, src = v.recvfrom(65536)
                except BlockingIOError:
                    break
                except ConnectionRefusedError:
                    continue
                g = got["beacon" if v in bv else "list"]
                g[0] += 1
                g[1] += len(d)
                if v not in bv:
                    n = senders.setdefault("%s:%d" % src, [0, 0])
                    n[0] += 1
                    n[1] += len(d)
    forged = 0
    t0 = time.monotonic()
    for i in range(a.count):
        fid = (1 << 64) - (1 << 40) - i * 7919
        d = chat_pkt(1, fid, a.vport + 1, "victim", bytes(64))
        bv[i % 2].sendto(d, (a.group, a.port))
        forged += len(d)
        drain(0.1)
    while time.monotonic() < t0 + a.secs:
        drain(0.05)
    rep = {"forged": a.count, "forged_bytes": forged, "list_got": got["list"],
           "beacon_got": got["beacon"], "senders": senders}
    with open(a.report, "w") as f:
        json.dump(rep, f)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["burst", "single", "pex"])
    p.add_argument("--group", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--report", required=True)
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--victims", type=int, default=24)
    p.add_argument("--secs", type=float, default=20.0)
    p.add_argument("--linger", type=float, default=3.0)
    p.add_argument("--len", type=int, default=84)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--vport", type=int, default=45000)
    p.add_argument("--nvict", type=int, default=250)
    a = p.parse_args()
    return {"burst": burst, "single": single, "pex": pex}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
