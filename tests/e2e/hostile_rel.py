#!/usr/bin/env python3
"""hostile_rel.py - one host opening many real sessions, for hostile_rel.sh.

  hostile_rel.py --target 127.0.0.1:PORT --report FILE [--sessions N]
                 [--msg-len BYTES] [--frag BYTES] [--hold SECS] [--secs SECS]
                 [--go FILE]

Issue 13's attack on udprecv -r: from N sockets of 127.0.0.1 (one source
host, N source ports) it completes the cookie handshake of the reliable
protocol (docs/PROTOCOL.md 2.2-2.5: HELLO, COOKIE, CONNECT, ACCEPT) for N
sessions, then in every accepted session sends one DATA fragment of FRAG
bytes ("HOSTILE" + random) announcing a message of MSG_LEN bytes (64 MiB by
default) that never continues.  Before the fix the receiver charged the
announced size at once, so a few such sessions held its whole budget.

A session without an ACCEPT gets its CONNECT again (--retries times, apart
by --gap), so a refusal is told from a lost packet.  Then it keeps the
sockets open for --hold seconds and counts what comes back.

The report (JSON): sessions tried, cookies received, accepted, refused,
fragments sent and acknowledged (an ACK whose cum_ack passed the
fragment: the receiver took it), bytes sent and received, and
connect_done_ns: the wall clock (ns since the epoch, as date +%s%N) when
the last CONNECT round ended, every announcement sent.

Only 127.0.0.1 is ever used; every loop is bounded by counts and --secs.
"""
import argparse
import json
import os
import random
import select
import socket
import time

from hostile_peer import crc32c  # the reliable protocol's CRC-32C, one copy

MAGIC, VERSION = 0x75, 1
HELLO, COOKIE, CONNECT, ACCEPT, DATA, ACK = 1, 2, 3, 4, 5, 6
HELLO_LEN = 64


def u32(v):
    return (v & 0xFFFFFFFF).to_bytes(4, "big")


def get32(d, off):
    return int.from_bytes(d[off:off + 4], "big")


def packet(ptype, dst, src, body, flags=0):
    """Common header, body, CRC-32C trailer (PROTOCOL.md 2.1)."""
    b = bytes([MAGIC, VERSION, ptype, flags]) + u32(dst) + u32(src) + body
    return b + u32(crc32c(b))


def valid(d):
    return (len(d) >= 16 and d[0] == MAGIC and d[1] == VERSION and
            get32(d, len(d) - 4) == crc32c(d[:-4]))


class Session:
    def __init__(self, rng):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.sid = rng.randrange(1, 1 << 32)
        self.init_seq = rng.randrange(0, 1 << 32)
        self.cookie = None     # (bucket, cookie bytes)
        self.server = None     # (server sid, server init_seq)
        self.acked = False
        self.sent = self.got = 0

    def send(self, target, d):
        try:
            self.sent += self.sock.sendto(d, target)
        except OSError:
            pass


def pump(sessions, until, on_packet):
    """Reads every socket until the deadline or until on_packet says done."""
    by_fd = {s.sock.fileno(): s for s in sessions}
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return
        r, _, _ = select.select(list(by_fd), [], [], min(left, 0.05))
        for fd in r:
            s = by_fd[fd]
            while True:
                try:
                    d = s.sock.recv(65536)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                s.got += len(d)
                if valid(d) and get32(d, 4) == s.sid:
                    on_packet(s, d[2], d)
        if on_packet(None, 0, b""):
            return


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--target", required=True)
    p.add_argument("--report", required=True)
    p.add_argument("--sessions", type=int, default=80)
    p.add_argument("--msg-len", type=int, default=64 << 20)
    p.add_argument("--frag", type=int, default=1000)
    p.add_argument("--retries", type=int, default=3)
    p.add_argument("--gap", type=float, default=0.2)
    p.add_argument("--hold", type=float, default=1.0)
    p.add_argument("--secs", type=float, default=15.0)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--go", help="after the cookies, wait until this file exists")
    a = p.parse_args()
    host, port = a.target.rsplit(":", 1)
    assert host == "127.0.0.1", "loopback only"
    target = (host, int(port))
    assert 1 <= a.sessions <= 1000 and 16 <= a.frag <= 1200 and a.frag < a.msg_len
    end = time.monotonic() + a.secs
    rng = random.Random(a.seed)
    sessions = [Session(rng) for _ in range(a.sessions)]

    # HELLO -> COOKIE (stateless at the server: one HELLO per session, again
    # for the ones still without a cookie)
    def on_cookie(s, t, d):
        if s is None:
            return all(x.cookie for x in sessions)
        if t == COOKIE and len(d) == 28 and not s.cookie:
            s.cookie = (get32(d, 12), d[16:24])
        return False

    for _ in range(1 + a.retries):
        for s in sessions:
            if not s.cookie:
                s.send(target, packet(HELLO, 0, s.sid, bytes(HELLO_LEN - 16)))
        pump(sessions, min(end, time.monotonic() + a.gap), on_cookie)
        if all(s.cookie for s in sessions):
            break

    # the cookies are good for 10..20 s: with --go, say so and wait (bounded)
    # for the go-ahead, so that the sessions open at a moment the caller
    # chooses (while a genuine transfer runs)
    if a.go:
        print("ready %d cookies" % sum(1 for s in sessions if s.cookie), flush=True)
        while not os.path.exists(a.go) and time.monotonic() < end:
            time.sleep(0.005)

    # CONNECT -> ACCEPT, or nothing (the per-source cap); at its ACCEPT a
    # session sends at once its one fragment announcing a huge message
    nfrag = (a.msg_len + a.frag - 1) // a.frag

    def announce(s):
        ssid, sseq = s.server
        ackblk = u32(int(time.monotonic() * 1e6)) + u32(0) + u32(1 << 20) + u32(sseq) + bytes([0])
        payload = b"HOSTILE" + os.urandom(a.frag - 7)
        body = ackblk + u32(s.init_seq) + u32(a.msg_len) + u32(0) + u32(0) + u32(nfrag) + payload
        s.send(target, packet(DATA, ssid, s.sid, body))

    def on_accept(s, t, d):
        if s is None:
            return all(x.server for x in sessions if x.cookie)
        if t == ACCEPT and len(d) == 32 and not s.server:
            s.server = (get32(d, 8), get32(d, 12))
            announce(s)
        return on_ack(s, t, d)

    def on_ack(s, t, d):
        if s is None:
            return False  # hold the sessions for the whole --hold
        if t in (ACK, DATA) and len(d) >= 33 and s.server and get32(d, 24) == (s.init_seq + 1) & 0xFFFFFFFF:
            s.acked = True
        return False

    for _ in range(1 + a.retries):
        for s in sessions:
            if s.cookie and not s.server:
                bucket, ck = s.cookie
                body = u32(bucket) + ck + u32(s.init_seq) + u32(1024) + u32(64 << 20) + u32(1 << 24)
                s.send(target, packet(CONNECT, 0, s.sid, body))
        pump(sessions, min(end, time.monotonic() + a.gap), on_accept)
    accepted = [s for s in sessions if s.server]
    # wall clock, for the caller's "did the attack land while the genuine
    # transfer ran": every CONNECT (retries too) and announcement is out
    connect_done_ns = time.time_ns()

    pump(sessions, min(end, time.monotonic() + a.hold), on_ack)
    rep = {
        "sessions": len(sessions),
        "cookies": sum(1 for s in sessions if s.cookie),
        "accepted": len(accepted),
        "refused": sum(1 for s in sessions if s.cookie and not s.server),
        "fragments": len(accepted),
        "fragments_acked": sum(1 for s in accepted if s.acked),
        "announced_bytes": a.msg_len * len(accepted),
        "bytes_sent": sum(s.sent for s in sessions),
        "bytes_received": sum(s.got for s in sessions),
        "connect_done_ns": connect_done_ns,
    }
    with open(a.report, "w") as f:
        json.dump(rep, f)
    for s in sessions:
        s.sock.close()


if __name__ == "__main__":
    main()
