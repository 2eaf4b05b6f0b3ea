#!/usr/bin/env python3
"""The classic UDP server: every message is answered with "thank you!"."""
from _common import args, udpkit

a = args(__doc__, server=True)
with udpkit.socket(a.family, a.type, netsim=a.netsim, timeout=30) as s:
    s.bind((a.host, a.port))
    print("listening on %s:%d" % s.getsockname()[:2], flush=True)
    n = 0
    while not a.count or n < a.count:
        data, addr = s.recvfrom(65536)
        print("from %s:%d: %s" % (addr[0], addr[1], data.decode(errors="replace")), flush=True)
        s.sendto(b"thank you!", addr)
        n += 1
    s.flush(10)  # every answer acknowledged before close
