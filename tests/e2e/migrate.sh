#!/bin/bash
# Connection migration end to end: udpsend -r --whole of 20 MB through
# tests/e2e/rebind_relay.py, a relay that forwards the sender's datagrams
# from a new source port every N datagrams (a NAT that rebinds, the old
# mapping closed at once), or from alternating source addresses 127.0.0.1
# and 127.0.0.2.  The receiver follows the sender each time (PATH_CHALLENGE
# / PATH_RESPONSE, docs/PROTOCOL.md 4.1): the file arrives byte for byte
# and both exit 0, plain and sealed (-k).  Loopback only; about 25 s.
. "$(dirname "$0")/lib.bash"
RELAY_PY=$TOP/tests/e2e/rebind_relay.py

command -v python3 >/dev/null || { skip "migration" "no python3"; exit 0; }
head -c 20000000 /dev/urandom >"$T/f20"
KEY=()
if "$BIN/udpkey" genkey -o "$T/key" 2>"$T/last.err"; then :; else fail "udpkey genkey -o"; fi

# one NAME N MODE [-k KEY]: a transfer through the relay.  The sender's
# path is an Ethernet one (netsim `mtu 1472`): on loopback path MTU
# discovery would carry 20 MB in ~300 datagrams of 64 KiB and the relay
# would never rebind at N = 5000.
one() {
	local name=$1 n=$2 mode=$3; shift 3
	start_recv "$name" -r --raw -c 20 -v --stats "$@" 127.0.0.1 0
	local rpid=$RPID
	: >"$T/$name.relay"
	python3 "$RELAY_PY" --target "127.0.0.1:$PORT" --every "$n" --mode "$mode" 2>"$T/$name.relay" &
	local xpid=$!
	PIDS+=("$xpid")
	for _ in $(seq 250); do grep -q 'listening on' "$T/$name.relay" && break; sleep 0.02; done
	local rport
	rport=$(sed -n 's/^rebind_relay: listening on 127.0.0.1://p' "$T/$name.relay")
	timeout -k 2 30 "$SEND" -r --whole --stats -v --netsim 'mtu 1472' "$@" 127.0.0.1 "$rport" <"$T/f20" 2>"$T/last.err"
	SRC=$?
	wait_pid "$rpid" 10
	kill "$xpid" 2>/dev/null
	wait "$xpid" 2>/dev/null
	local moves
	moves=$(grep -c 'udprecv: peer moved from 127\.0\.0\.[12]:[0-9]* to 127\.0\.0\.[12]:[0-9]*' "$T/$name.err")
	local mig
	mig=$(sed -n 's/.* migrations=\([0-9]*\) path_failures=\([0-9]*\).*/\1/p' "$T/$name.err" | head -n 1)
	okx "$name: 20 MB through a relay rebinding every $n datagrams ($mode): identical, exit 0/0, $moves moves, migrations=$mig" \
		'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s "$T/f20" "$T/$name.out" && [ "$moves" -ge 1 ] && [ "${mig:-0}" -ge "$moves" ]'
}

for n in 50 800 5000; do
	one "port-$n" "$n" port
	[ -f "$T/key" ] && one "sealed-port-$n" "$n" port -k "$T/key"
done
one ip-50 50 ip
one ip-800 800 ip
[ -f "$T/key" ] && one sealed-ip-800 800 ip -k "$T/key"
ok "the ip mode really changed the source address (127.0.0.2 seen)" grep -q 'to 127\.0\.0\.2:' "$T/ip-800.err"

echo "migrate: $NPASS passed, $NFAIL failed"
[ "$NFAIL" = 0 ]
