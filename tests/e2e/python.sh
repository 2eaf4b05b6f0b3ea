#!/bin/bash
# The Python module: builds it for $PYTHON (make python) and runs
# tests/python/test_udpkit.py, one PASS:/FAIL:/SKIP: line per test case.
# Only 127.0.0.1 and ::1; bounded by timeout.
TOP=${UDPKIT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
PYTHON=${PYTHON:-python3}
export UDPKIT_TOP=$TOP UDPKIT_BIN=${UDPKIT_BIN:-$TOP/build/bin}
if ! inc=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null); then
	echo "SKIP: python -- no interpreter $PYTHON"
	exit 0
fi
if [ ! -f "$inc/Python.h" ]; then
	echo "SKIP: python -- no $inc/Python.h for $PYTHON (Debian: apt-get install python3-dev)"
	exit 0
fi
if ! make -s -C "$TOP" -j2 python PYTHON="$PYTHON" BUILD="${BUILD:-build}" >/tmp/udpkit-python-build.$$ 2>&1; then
	cat /tmp/udpkit-python-build.$$
	rm -f /tmp/udpkit-python-build.$$
	echo "FAIL: python/build -- make python"
	exit 1
fi
rm -f /tmp/udpkit-python-build.$$
echo "PASS: python/build"
timeout -k 5 240 "$PYTHON" "$TOP/tests/python/test_udpkit.py"
