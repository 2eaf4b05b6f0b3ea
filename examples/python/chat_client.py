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
        if not data:  # the room closed (end of stream: we are connected)
            return
        print(data.decode(), flush=True)
        # "host:port: text"; the room sees our port (our host may differ)
        if me and data.split(b": ", 1)[0].rsplit(b":", 1)[-1] == me[0]:
            mine.release()


s.connect((a.host, a.port))
me.append(b"%d" % s.getsockname()[1])
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
