#!/usr/bin/env python3
"""Small UDP/TCP peers for tests/e2e/udpnetsim.sh, on 127.0.0.1 only.

Every mode is bounded by its own timeouts; servers print their port on the
first line of stdout so the script can find them.

  count IDLE          count datagrams "i" until IDLE s without one (the
                      first awaited 15 s); print
                      the indexes seen, one line
  send PORT N         send "0".."N-1" to 127.0.0.1:PORT, one datagram each
  echo SECS [HOST]    UDP echo server on HOST (127.0.0.1) for at most SECS
  threads PORT        4 threads, 10 round trips each to [::1]:PORT; "ok"
  client PORT N WAIT  N round trips to the echo server; WAIT is how a reply
                      is awaited: block, select, poll, epoll, timeout, early
                      (checks it is not readable before due); prints
                      one line: the round trip times in ms
  tcpecho SECS        TCP echo server (one connection) for at most SECS
  tcpclient PORT      one line through the TCP echo server, prints it
"""
import select
import socket
import sys
import time


def serve_port(s):
    print(s.getsockname()[1], flush=True)


def count(idle):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    serve_port(s)
    # the first datagram may be long in coming (the sender is a Python
    # started under udpnetsim, seconds on a loaded box); IDLE seconds of
    # silence after one end the count
    s.settimeout(15)
    seen = []
    try:
        while True:
            seen.append(int(s.recv(100)))
            s.settimeout(float(idle))
    except socket.timeout:
        pass
    print(" ".join(map(str, seen)), flush=True)


def send(port, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(int(n)):
        s.sendto(str(i).encode(), ("127.0.0.1", int(port)))


def echo(secs, host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((host, 0))
    serve_port(s)
    end = time.monotonic() + float(secs)
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            d, a = s.recvfrom(2000)
        except socket.timeout:
            break
        s.sendto(d, a)


def wait_reply(s, how):
    """One reply, awaited the way `how` says; None after 3 s."""
    if how == "block":
        s.settimeout(None)
        return s.recv(2000)
    if how == "timeout":
        s.settimeout(3)
        return s.recv(2000)
    s.setblocking(False)
    if how == "early":
        # held by a 50 ms delay: not readable 20 ms after sending, in any call
        if select.select([s], [], [], 0.02)[0]:
            raise SystemExit("select: readable before the datagram was due")
        p = select.poll()
        p.register(s, select.POLLIN)
        if p.poll(0):
            raise SystemExit("poll: readable before the datagram was due")
        try:
            s.recv(2000)
            raise SystemExit("recv: a datagram before it was due")
        except BlockingIOError:
            pass
        how = "select"
    if how == "select":
        r, _, _ = select.select([s], [], [], 3)
        ready = bool(r)
    elif how == "poll":
        p = select.poll()
        p.register(s, select.POLLIN)
        ready = bool(p.poll(3000))
    elif how == "epoll":
        with select.epoll() as ep:
            ep.register(s.fileno(), select.EPOLLIN)
            ready = bool(ep.poll(3))
    else:
        raise SystemExit("unknown wait " + how)
    if not ready:
        return None
    # readiness must be truthful: a readable socket has a datagram now
    try:
        return s.recv(2000)
    except BlockingIOError:
        raise SystemExit("readable but recv said EAGAIN")


def client(port, n, how):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", int(port)))
    rtts = []
    for i in range(int(n)):
        t0 = time.monotonic()
        s.send(b"ping %d" % i)
        d = wait_reply(s, how)
        if d != b"ping %d" % i:
            raise SystemExit("bad or no reply %r" % (d,))
        rtts.append((time.monotonic() - t0) * 1000)
    print(" ".join("%.1f" % r for r in rtts), flush=True)


def threads(port):
    """4 threads, each with its own ::1 socket, 10 blocking round trips."""
    import threading
    bad = []

    def worker(k):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.connect(("::1", int(port)))
        s.settimeout(3)
        for i in range(10):
            s.send(b"%d-%d" % (k, i))
            if s.recv(100) != b"%d-%d" % (k, i):
                bad.append(k)
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("bad" if bad else "ok", flush=True)


def tcpecho(secs):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    serve_port(ls)
    ls.settimeout(float(secs))
    c, _ = ls.accept()
    c.settimeout(float(secs))
    with c:
        while True:
            d = c.recv(2000)
            if not d:
                break
            c.sendall(d)


def tcpclient(port):
    with socket.create_connection(("127.0.0.1", int(port)), timeout=3) as c:
        c.sendall(b"over tcp\n")
        print(c.recv(2000).decode().strip(), flush=True)


if __name__ == "__main__":
    modes = {"count": count, "send": send, "echo": echo, "client": client, "threads": threads,
             "tcpecho": tcpecho, "tcpclient": tcpclient}
    modes[sys.argv[1]](*sys.argv[2:])
