#!/usr/bin/env python3
"""A chat room: whoever sends a message joins; each message goes to every
member (its sender included, so a client sees the room's order).  A thread
per member sends, so one slow member cannot hold up the others."""
import queue
import threading

from _common import args, udpkit

a = args(__doc__, server=True)
s = udpkit.socket(a.family, a.type, netsim=a.netsim, timeout=30)
s.bind((a.host, a.port))
print("listening on %s:%d" % s.getsockname()[:2], flush=True)
members = {}  # address -> queue of its outgoing messages
threads = []
lock = threading.Lock()


def member(addr, q):
    while True:
        msg = q.get()
        if msg is None:
            return
        try:
            s.sendto(msg, addr)
        except OSError:  # the member went away
            with lock:
                members.pop(addr, None)
            return


n = 0
while not a.count or n < a.count:
    data, addr = s.recvfrom(65536)
    n += 1
    with lock:
        if addr not in members:
            members[addr] = queue.Queue()
            t = threading.Thread(target=member, args=(addr, members[addr]), daemon=True)
            t.start()
            threads.append(t)
        line = b"%s:%d: %s" % (addr[0].encode(), addr[1], data)
        for q in members.values():
            q.put(line)
with lock:
    for q in members.values():
        q.put(None)
for t in threads:
    t.join(30)
s.close()  # lingers: what the member threads queued is delivered
