#!/usr/bin/env python3
"""Echo server: every message goes back to its sender, unchanged."""
from _common import args, udpkit

a = args(__doc__, server=True)
with udpkit.socket(a.family, a.type, netsim=a.netsim, timeout=30) as s:
    s.bind((a.host, a.port))
    print("listening on %s:%d" % s.getsockname()[:2], flush=True)
    n = 0
    while not a.count or n < a.count:
        data, addr = s.recvfrom(65536)
        s.sendto(data, addr)
        n += 1
    s.flush(10)
