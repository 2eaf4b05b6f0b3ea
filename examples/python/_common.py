"""Shared by the examples: command line and the import of udpkit from the
source tree when it is not installed."""
import argparse
import os
import sys

try:
    import udpkit
except ImportError:  # run from the source tree after `make python`
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
    import udpkit


def args(doc, server):
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("host", nargs="?", default="127.0.0.1")
    p.add_argument("port", nargs="?", type=int, default=0 if server else 9999)
    p.add_argument("--ordered", action="store_true", help="SOCK_SEQPACKET instead of SOCK_RDM")
    p.add_argument("--netsim", help="loss simulation words, e.g. 'loss 20%%'")
    p.add_argument("--count", type=int, default=0, help="stop after this many (0: never)")
    a = p.parse_args()
    a.type = udpkit.SOCK_SEQPACKET if a.ordered else udpkit.SOCK_RDM
    a.family = udpkit.AF_INET6 if ":" in a.host else udpkit.AF_INET
    return a
