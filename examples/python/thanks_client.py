#!/usr/bin/env python3
"""Sends each line of stdin to the thank-you server and prints its answers."""
import sys

from _common import args, udpkit

a = args(__doc__, server=False)
with udpkit.socket(a.family, a.type, netsim=a.netsim, timeout=30) as s:
    s.settimeout(10)
    lines = [line.rstrip("\n") for line in sys.stdin]
    for line in lines:
        s.sendto(line.encode(), (a.host, a.port))
    for _ in lines:  # the answers, as they come
        data, addr = s.recvfrom(65536)
        print(data.decode())
