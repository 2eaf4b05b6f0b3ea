#!/usr/bin/env python3
"""rebind_relay.py - a UDP relay that behaves like a NAT that rebinds.

    rebind_relay.py --target HOST:PORT --every N [--mode port|ip]

Listens on 127.0.0.1 (a port of its own, printed as "listening on
127.0.0.1:P" on stderr) for one client and forwards its datagrams to the
target from an upstream socket that it replaces every N datagrams: a new
source port each time (--mode port), or also a new source address,
alternating 127.0.0.1 and 127.0.0.2 (--mode ip).  The old upstream socket
is closed at once, as a NAT whose mapping expired: what the target still
sends there is lost.  What the target sends to the current upstream socket
goes back to the client.  Loopback only.  On SIGTERM it prints its counts
("rebind_relay: up=... down=... rebinds=...") and exits 0.
"""
import argparse
import selectors
import signal
import socket
import sys

BUF = 4 << 20


def bigbuf(s):
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, BUF)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--every", type=int, required=True)
    ap.add_argument("--mode", choices=("port", "ip"), default="port")
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    target = (host, int(port))
    if not host.startswith("127.") or a.every < 1:
        sys.exit("rebind_relay: loopback targets only, --every >= 1")

    down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    down.bind(("127.0.0.1", 0))
    bigbuf(down)
    sel = selectors.DefaultSelector()
    sel.register(down, selectors.EVENT_READ)
    counts = {"up": 0, "down": 0, "rebinds": 0, "lost": 0}
    state = {"up": None, "n": 0, "client": None}
    ips = ["127.0.0.1", "127.0.0.2"] if a.mode == "ip" else ["127.0.0.1"]

    def rebind():
        old = state["up"]
        if old is not None:
            sel.unregister(old)
            old.close()
            counts["rebinds"] += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((ips[counts["rebinds"] % len(ips)], 0))
        bigbuf(s)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        state["up"] = s

    def stop(*_):
        print("rebind_relay: up=%d down=%d rebinds=%d lost=%d"
              % (counts["up"], counts["down"], counts["rebinds"], counts["lost"]),
              file=sys.stderr, flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    down.setblocking(False)
    rebind()
    print("rebind_relay: listening on 127.0.0.1:%d" % down.getsockname()[1],
          file=sys.stderr, flush=True)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            while True:  # drain: one select per batch, not per datagram
                try:
                    data, src = s.recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                if s is down:
                    if state["client"] is None:
                        state["client"] = src
                    if src != state["client"]:
                        continue
                    if state["n"] == a.every:
                        state["n"] = 0
                        rebind()
                    state["n"] += 1
                    try:
                        state["up"].sendto(data, target)
                        counts["up"] += 1
                    except OSError:
                        counts["lost"] += 1
                else:
                    if s is not state["up"] or src != target:
                        break
                    try:
                        down.sendto(data, state["client"])
                        counts["down"] += 1
                    except OSError:
                        counts["lost"] += 1
                if s is not state["up"] and s is not down:
                    break  # closed by a rebind in this batch


if __name__ == "__main__":
    main()
