#!/usr/bin/env python3
"""hostile_peer.py - a man in the middle and a hostile sender, for hostile.sh.

  hostile_peer.py tee --target H:P [--hostile-target H:P] --report FILE
                      [--count N] [--per-genuine R] [--sockets K] [--pool FILE]
                      [--secs S] [--idle S] [--seed N] [--proto chunk|rel]
  hostile_peer.py capture --report FILE --count N [--secs S]

tee: binds 127.0.0.1:0 and prints "port N" on stdout.  Every datagram the
genuine sender sends there is forwarded to --target from one "forward"
socket, and what comes back to that socket goes back to the genuine sender:
the genuine transfer passes through untouched.  While it runs, K hostile
sockets (each its own source port) send N hostile datagrams to
--hostile-target (default --target), R per genuine datagram forwarded, of
these kinds in turn:

  random     "HOSTILE" + random bytes, 1..1400 bytes
  oversized  "HOSTILE" + random bytes, 1401..65507 bytes
  truncated  a genuine datagram seen so far, cut short (0..len-1 bytes)
  bitflip    a genuine datagram with one byte changed
  replay     a genuine datagram seen so far, exactly
  forged     a genuine header (first 8 bytes) + random session id, counter,
             "HOSTILE" and random bytes: valid magic/version, a key id of
             another session (the id is per session: dropped as wrong key)
  pool       a datagram from --pool (e.g. sealed with a wrong key)
  empty      a 0-byte datagram

With --proto rel (the reliable protocol, docs/PROTOCOL.md) the forgeries
carry a valid CRC-32C trailer, so they pass the checksum and reach the
session and handshake checks; "forged" and "pool" are replaced by:

  sid        a genuine session packet (DATA/ACK/PING/DGRAM) with random
             dst/src session ids, CRC fixed
  hello      a HELLO (64..200 bytes, random client sid), CRC valid: the
             receiver may answer it with a COOKIE (28 bytes)
  connect    a CONNECT with a random bucket and cookie, CRC valid

Replays and truncated/bit-flipped copies come from the hostile sockets,
i.e. genuine packets re-sent from a foreign source mid-transfer.  The
report also counts the genuine datagrams by reliable packet type.

Every byte received on each hostile socket is counted: the report (JSON)
gives per socket what it sent and got back, so the caller can assert that
nothing answers an unverified source with more than it sent.

capture: binds 127.0.0.1:0, prints "port N", keeps up to N datagrams and
writes them (hex, one per line) to --report; the pool of the tee mode.

Only 127.0.0.1 is ever used; every loop is bounded by counts and --secs.
"""
import argparse
import json
import os
import random
import select
import socket
import sys
import time

KINDS = ["random", "oversized", "truncated", "bitflip", "replay", "forged", "pool", "empty"]
REL_KINDS = ["random", "oversized", "truncated", "bitflip", "replay", "sid", "hello", "connect",
             "empty"]
MARK = b"HOSTILE"


def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


CRC_T = _crc_table()


def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = CRC_T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def rel_seal(body):
    """body (header + fields) + its CRC-32C trailer."""
    return body + crc32c(body).to_bytes(4, "big")


def rel_type(d):
    return d[2] if len(d) >= 16 and d[0] == 0x75 and d[1] == 1 else 0


def addr(s):
    h, p = s.rsplit(":", 1)
    assert h in ("127.0.0.1", "localhost"), "loopback only"
    return ("127.0.0.1", int(p))


def udp(bufsize=4 << 20):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, bufsize)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, bufsize)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    return s


def capture(a):
    s = udp()
    # one write: with PYTHONUNBUFFERED (CI sets it) print("port", N) is
    # four, and a shell polling the file can read "port" alone
    print("port %d" % s.getsockname()[1], flush=True)
    got = []
    end = time.monotonic() + a.secs
    while len(got) < a.count and time.monotonic() < end:
        r, _, _ = select.select([s], [], [], 0.1)
        if r:
            got.append(s.recv(65536))
    with open(a.report, "w") as f:
        for g in got:
            f.write(g.hex() + "\n")
    return 0


def tee(a):
    rng = random.Random(a.seed)
    target = addr(a.target)
    htarget = addr(a.hostile_target or a.target)
    pool = []
    if a.pool:
        with open(a.pool) as f:
            pool = [bytes.fromhex(l.strip()) for l in f if l.strip()]
    lst = udp()
    fwd = udp()
    hs = [udp() for _ in range(a.sockets)]
    print("port %d" % lst.getsockname()[1], flush=True)  # one write, as above
    stats = [{"port": h.getsockname()[1], "sent": 0, "sent_bytes": 0, "got": 0, "got_bytes": 0}
             for h in hs]
    kl = REL_KINDS if a.proto == "rel" else KINDS
    kinds = {k: 0 for k in kl}
    gtypes = {}
    lens = []
    seen = []          # genuine datagrams forwarded so far (a sample)
    genuine_from = None
    g_in = g_back = 0
    sent = 0
    first = last = None
    t0 = time.monotonic()

    def hostile_one():
        nonlocal sent
        kind = kl[sent % len(kl)]
        if kind in ("truncated", "bitflip", "replay", "forged", "sid") and not seen:
            kind = "random"
        if kind == "pool" and not pool:
            kind = "random"
        if kind == "random":
            d = MARK + rng.randbytes(rng.randint(0, 1393))
        elif kind == "oversized":
            n = min(65507, int(1401 * (65507 / 1401) ** rng.random()))
            d = MARK + rng.randbytes(n - len(MARK))
        elif kind == "truncated":
            g = rng.choice(seen)
            d = g[:rng.randrange(len(g))] if g else b""
        elif kind == "bitflip":
            g = bytearray(rng.choice(seen) or b"\0")
            g[rng.randrange(len(g))] ^= rng.randint(1, 255)
            d = bytes(g)
        elif kind == "replay":
            d = rng.choice(seen)
        elif kind == "forged":
            g = rng.choice(seen)
            d = g[:8] + rng.randbytes(24) + MARK + rng.randbytes(rng.randint(16, 1200))
        elif kind == "sid":
            ses = [g for g in seen if rel_type(g) >= 5] or [bytes([0x75, 1, 6, 0]) + bytes(29)]
            g = rng.choice(ses)
            d = rel_seal(g[:4] + rng.randbytes(8) + g[12:-4])
        elif kind == "hello":
            d = rel_seal(bytes([0x75, 1, 1, 0]) + bytes(4) + rng.randbytes(4) +
                         bytes(rng.randint(48, 184)))
        elif kind == "connect":
            d = rel_seal(bytes([0x75, 1, 3, 0]) + bytes(4) + rng.randbytes(16) +
                         (1000).to_bytes(4, "big") + (1024).to_bytes(4, "big") +
                         (1 << 20).to_bytes(4, "big") + (1 << 20).to_bytes(4, "big"))
        elif kind == "pool":
            d = rng.choice(pool)
        else:
            d = b""
        i = sent % len(hs)
        try:
            hs[i].sendto(d, htarget)
        except (BlockingIOError, ConnectionRefusedError):
            return False
        sent += 1
        kinds[kind] += 1
        lens.append(len(d))
        stats[i]["sent"] += 1
        stats[i]["sent_bytes"] += len(d)
        return True

    while time.monotonic() - t0 < a.secs:
        now = time.monotonic()
        if last is not None and now - last > a.idle and sent >= a.count:
            break
        r, _, _ = select.select([lst, fwd] + hs, [], [], 0.02)
        for s in r:
            while True:
                try:
                    d, src = s.recvfrom(65536)
                except BlockingIOError:
                    break
                except ConnectionRefusedError:
                    continue  # ICMP for an earlier send (the sender exited)
                if s is lst:
                    genuine_from = src
                    try:
                        fwd.sendto(d, target)
                    except ConnectionRefusedError:
                        fwd.sendto(d, target)  # the error was an earlier send's
                    g_in += 1
                    gtypes[rel_type(d)] = gtypes.get(rel_type(d), 0) + 1
                    first = first or time.monotonic()
                    last = time.monotonic()
                    if len(seen) < 64 or rng.random() < 0.05:
                        seen.append(d)
                elif s is fwd:
                    g_back += 1
                    last = time.monotonic()
                    if genuine_from:
                        try:
                            lst.sendto(d, genuine_from)
                        except OSError:
                            pass  # the genuine sender is gone: fine
                else:
                    st = stats[hs.index(s)]
                    st["got"] += 1
                    st["got_bytes"] += len(d)
        # the burst: R hostile datagrams per genuine one, the rest once the
        # genuine sender went quiet
        want = min(a.count, int(g_in * a.per_genuine))
        if last is not None and time.monotonic() - last > a.idle / 2:
            want = a.count
        while sent < want:
            if not hostile_one():
                break
    time.sleep(0.3)
    for i, h in enumerate(hs):  # late answers
        while True:
            try:
                d = h.recv(65536)
            except BlockingIOError:
                break
            except ConnectionRefusedError:
                continue
            stats[i]["got"] += 1
            stats[i]["got_bytes"] += len(d)
    sent_b = sum(s["sent_bytes"] for s in stats)
    got_b = sum(s["got_bytes"] for s in stats)
    rep = {
        "forward_port": fwd.getsockname()[1],
        "genuine_in": g_in, "genuine_back": g_back,
        "hostile_sent": sent, "hostile_bytes": sent_b, "hostile_got_bytes": got_b,
        "factor_total": got_b / sent_b if sent_b else 0.0,
        "factor_max_socket": max((s["got_bytes"] / s["sent_bytes"]) if s["sent_bytes"] else
                                 (float("inf") if s["got_bytes"] else 0.0) for s in stats),
        "kinds": kinds, "lens": lens, "genuine_types": {str(k): v for k, v in gtypes.items()}, "sockets": stats,
        "seconds": round(time.monotonic() - t0, 3),
    }
    with open(a.report, "w") as f:
        json.dump(rep, f)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["tee", "capture"])
    p.add_argument("--target")
    p.add_argument("--hostile-target")
    p.add_argument("--report", required=True)
    p.add_argument("--pool")
    p.add_argument("--count", type=int, default=3000)
    p.add_argument("--per-genuine", type=float, default=1.0)
    p.add_argument("--sockets", type=int, default=16)
    p.add_argument("--secs", type=float, default=20.0)
    p.add_argument("--idle", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--proto", choices=["chunk", "rel"], default="chunk")
    a = p.parse_args()
    return capture(a) if a.mode == "capture" else tee(a)


if __name__ == "__main__":
    sys.exit(main())
