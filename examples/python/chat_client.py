#!/usr/bin/env python3
"""Chat client: a thread prints what the room says, the main thread sends
each line of stdin.  Ends at end of input once the room echoed every line
it sent (or after 10 s without a word)."""
import sys
import threading

from _common import args, udpkit

a = args(__doc__, server=False)
s = udpkit.socket(a.family, a.type, netsim=a.netsim, timeout=30)
s.settimeout(10)
mine = threading.Semaphore(0)
me = []


def reader():
    while True:
        try:
            data = s.recv(65536)
        except (TimeoutError, OSError):
            return
        print(data.decode(), flush=True)
        if me and data.startswith(me[0]):
            mine.release()


s.connect((a.host, a.port))
host, port = s.getsockname()[:2]
me.append(b"%s:%d: " % (host.encode(), port))
t = threading.Thread(target=reader, daemon=True)
t.start()
sent = 0
for line in sys.stdin:
    s.send(line.rstrip("\n").encode())
    sent += 1
for _ in range(sent):
    if not mine.acquire(timeout=10):
        break
s.close()
