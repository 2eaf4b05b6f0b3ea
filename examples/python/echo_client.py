#!/usr/bin/env python3
"""Echo client: connects, sends each line of stdin, prints what comes back
(with --ordered, in the same order)."""
import sys

from _common import args, udpkit

a = args(__doc__, server=False)
with udpkit.socket(a.family, a.type, netsim=a.netsim, timeout=30) as s:
    s.settimeout(10)
    s.connect((a.host, a.port))
    lines = [line.rstrip("\n") for line in sys.stdin]
    for line in lines:
        s.send(line.encode())
    for _ in lines:
        print(s.recv(65536).decode())
