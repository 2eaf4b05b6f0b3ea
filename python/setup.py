"""Builds udpkit._udpkit from the C library's sources in the tree around
this directory (no network): `python3 setup.py build_ext --inplace`, or
`pip install --no-build-isolation --no-index .`.  `make python` at the top
does the same for one interpreter, $(PYTHON)."""
import glob
import os
import subprocess

from setuptools import Extension, setup

here = os.path.dirname(os.path.abspath(__file__))
top = os.path.dirname(here)
dirs = ["udp", "netsim", "seal", "reliable", "chat"]
lib = sorted(f for d in dirs for f in glob.glob(os.path.join(top, d, "*.c")))
ours = sorted(glob.glob(os.path.join(here, "*.c")))


def pkg(flag):
    try:
        return subprocess.run(["pkg-config", flag, "libsodium"], capture_output=True,
                              text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return ["-lsodium"] if flag == "--libs" else []


setup(ext_modules=[Extension(
    "udpkit._udpkit",
    sources=[os.path.relpath(f, here) for f in ours + lib],
    # include/udpkit: the public headers; the folders: the internal ones.
    include_dirs=[here, os.path.join(top, "include", "udpkit"), os.path.join(top, "include")]
    + [os.path.join(top, d) for d in dirs],
    define_macros=[("_GNU_SOURCE", None)],
    extra_compile_args=["-std=c11", "-Wall", "-Wextra"] + pkg("--cflags"),
    extra_link_args=pkg("--libs") + ["-lm", "-lpthread"],
)])
