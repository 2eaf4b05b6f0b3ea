#!/bin/bash
# Path MTU discovery (docs/PROTOCOL.md, "Path MTU discovery") end to end,
# in network namespaces this script creates and deletes (veth pairs; no
# traffic leaves them).  udpsend -r --whole sends a file to udprecv -r
# --once over:
#   1. a veth pair with MTU 9000: byte for byte, and the sender's packets
#      grow to the jumbo size (pmtu > 8000);
#   2. a veth pair with MTU 1280 over IPv6 (ULA addresses): byte for byte,
#      pmtu at most 1232 (1280 less 48 header bytes);
#   3. two veth pairs through a router namespace, MTU 1500, whose inner
#      link drops to 1280 mid-transfer while the router drops the ICMP
#      "fragmentation needed" it would send (nftables): a black hole.  The
#      file still arrives byte for byte, and the sender fell back to the
#      base (a "path MTU 1200" line after the change) and ends at <= 1252.
#   4. the same router without the nftables rule: its ICMP "fragmentation
#      needed" reaches the sender (IP_RECVERR), is validated against the
#      packets in flight (ptb_valid > 0 in --stats) and brings it to the
#      hop's size; the time from the change to the smaller size is printed
#      (not asserted), the file arrives byte for byte.
# Goodput is printed, never asserted.  About 15 s; needs root, ip netns
# and (case 3) nft: SKIP lines otherwise.
. "$(dirname "$0")/lib.bash"

NS=ukpm$$
NSES=()
pm_cleanup() {
	e2e_cleanup # processes first: they hold the namespaces' sockets
	local n
	for n in "${NSES[@]}"; do ip netns del "$n" 2>/dev/null; done
}
trap pm_cleanup EXIT
trap 'exit 1' INT TERM

CASES=("veth MTU 9000" "veth MTU 1280 IPv6" "router black hole" "router with ICMP")
if [ "$(id -u)" != 0 ] || ! ip netns add "${NS}p" 2>/dev/null; then
	for c in "${CASES[@]}"; do skip "$c" "cannot create network namespaces (need root and ip netns)"; done
	exit 0
fi
ip netns del "${NS}p"

# ns NAME: a namespace with lo up, deleted at exit.
ns() {
	ip netns add "$NS$1" || return 1
	NSES+=("$NS$1")
	ip -n "$NS$1" link set lo up
}
# veth A IFA B IFB MTU: a veth pair between namespaces A and B, up.
veth() {
	ip link add "$2" netns "$NS$1" mtu "$5" type veth peer name "$4" netns "$NS$3" mtu "$5" &&
		ip -n "$NS$1" link set dev "$2" up && ip -n "$NS$3" link set dev "$4" up
}

# xfer NAME SRC_NS DST_NS ADDR FILE SENDER_ARGS...: udprecv -r --once in DST_NS
# on ADDR, udpsend -r --whole from SRC_NS; sets SRC/RC, GOODPUT (MB/s),
# PMTU (the sender's, from --stats).  Output in $T/NAME.out, stderr in
# $T/NAME.err (receiver) and $T/NAME.serr (sender).
xfer() {
	local name=$1 src=$2 dst=$3 addr=$4 file=$5
	shift 5
	local rpid t0 t1 port=
	ip netns exec "$NS$dst" "$RECV" -r --raw --once --stats "$addr" 0 >"$T/$name.out" 2>"$T/$name.err" &
	rpid=$!
	PIDS+=("$rpid")
	for _ in $(seq 250); do
		grep -q 'listening on' "$T/$name.err" && break
		kill -0 "$rpid" 2>/dev/null || break
		sleep 0.02
	done
	port=$(sed -n 's/^udprecv: listening on .*:\([0-9]*\)$/\1/p' "$T/$name.err" | head -n 1)
	[ -n "$port" ] || { SRC=1 RC=1 PMTU=0 GOODPUT=0; return; }
	t0=$(date +%s.%N)
	timeout -k 2 60 ip netns exec "$NS$src" "$SEND" -r --whole --no-progress --stats -v "$@" \
		"$addr" "$port" <"$file" 2>"$T/$name.serr" &
	SPID=$!
	PIDS+=("$SPID")
	[ -z "${XFER_DURING:-}" ] || $XFER_DURING "$name"
	wait "$SPID"
	SRC=$?
	t1=$(date +%s.%N)
	wait_pid "$rpid" 10
	PMTU=$(sed -n 's/^udpsend: peer=.* pmtu=\([0-9]*\).*/\1/p' "$T/$name.serr" | tail -n 1)
	GOODPUT=$(awk -v a="$t0" -v b="$t1" -v n="$(stat -c %s "$file")" 'BEGIN { printf "%.1f", n / (b - a) / 1e6 }')
	echo "# $name: pmtu=${PMTU:-?}, goodput ${GOODPUT} MB/s (sender's wall clock; not asserted)"
}

head -c 25000000 /dev/urandom >"$T/f25"

# --- 1. veth MTU 9000 -------------------------------------------------------------
if ns j1 && ns j2 && veth j1 j1x j2 j2x 9000 &&
	ip -n "${NS}j1" addr add 10.161.0.1/24 dev j1x && ip -n "${NS}j2" addr add 10.161.0.2/24 dev j2x; then
	xfer jumbo j1 j2 10.161.0.2 "$T/f25"
	okx "veth MTU 9000: 25 MB byte for byte, exit 0/0, pmtu ${PMTU:-?} > 8000" \
		'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s "$T/f25" "$T/jumbo.out" && [ "${PMTU:-0}" -gt 8000 ]'
else
	fail "${CASES[0]}" "namespace set-up"
fi

# --- 2. veth MTU 1280, IPv6 ----------------------------------------------------------
# nodad: the addresses are usable at once (no duplicate address detection)
if ns s1 && ns s2 && veth s1 s1x s2 s2x 1280 &&
	ip -n "${NS}s1" -6 addr add fd00:16::1/64 dev s1x nodad &&
	ip -n "${NS}s2" -6 addr add fd00:16::2/64 dev s2x nodad; then
	xfer small6 s1 s2 fd00:16::2 "$T/f25"
	okx "veth MTU 1280 over IPv6: 25 MB byte for byte, exit 0/0, pmtu ${PMTU:-?} in 1200..1232" \
		'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s "$T/f25" "$T/small6.out" && [ "${PMTU:-0}" -ge 1200 ] && [ "${PMTU:-9999}" -le 1232 ]'
else
	fail "${CASES[1]}" "namespace set-up"
fi

# --- 3. a router that shrinks its inner link and drops the ICMP ---------------------
# a (10.162.1.1) -- r (10.162.1.254 | 10.162.2.254) -- b (10.162.2.1); the
# r-b link goes from 1500 to 1280 once a quarter of the file has arrived.
# The link shrink changes: "ROUTER-NS ROUTER-DEV RECEIVER-NS RECEIVER-DEV".
SHRINK_LINK="r r1 b b0"
shrink() { # NAME: bounded poll on the receiver's progress, then the change
	local name=$1 quarter=$(( $(stat -c %s "$T/f25") / 4 )) rns rdev bns bdev
	read -r rns rdev bns bdev <<<"$SHRINK_LINK"
	for _ in $(seq 1500); do
		[ "$(stat -c %s "$T/$name.out" 2>/dev/null || echo 0)" -ge "$quarter" ] && break
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.01
	done
	SHRUNK_AT=$(stat -c %s "$T/$name.out" 2>/dev/null || echo 0)
	ip -n "${NS}$rns" link set dev "$rdev" mtu 1280 && ip -n "${NS}$bns" link set dev "$bdev" mtu 1280 && SHRUNK=1
}
if ! command -v nft >/dev/null; then
	skip "${CASES[2]}" "nft not installed (tools/deps.sh installs nftables)"
elif ns a && ns r && ns b && veth a a0 r r0 1500 && veth r r1 b b0 1500 &&
	ip -n "${NS}a" addr add 10.162.1.1/24 dev a0 && ip -n "${NS}r" addr add 10.162.1.254/24 dev r0 &&
	ip -n "${NS}r" addr add 10.162.2.254/24 dev r1 && ip -n "${NS}b" addr add 10.162.2.1/24 dev b0 &&
	ip -n "${NS}a" route add default via 10.162.1.254 && ip -n "${NS}b" route add default via 10.162.2.254 &&
	ip netns exec "${NS}r" sysctl -qw net.ipv4.ip_forward=1 &&
	ip netns exec "${NS}r" nft -f - <<'EOF'
table inet blackhole {
	chain out {
		type filter hook output priority 0; policy accept;
		icmp type destination-unreachable counter drop
		icmpv6 type packet-too-big counter drop
	}
}
EOF
then
	SHRUNK=0 SHRUNK_AT=0
	# 100 Mbit/s at the sender (netsim): the transfer lasts long enough
	# for the change to land mid-way on any machine
	XFER_DURING=shrink xfer hole a b 10.162.2.1 "$T/f25" --netsim 'rate 100mbit'
	icmp=$(ip netns exec "${NS}r" nft list chain inet blackhole out 2>/dev/null |
		sed -n 's/.*destination-unreachable counter packets \([0-9]*\).*/\1/p')
	# the sender's -v lines: "path MTU N" at each change; after the shrink
	# the fallback to the 1200-byte base must be among them
	fell=$(grep -c 'path MTU 1200$' "$T/hole.serr")
	echo "# hole: link shrunk after ${SHRUNK_AT} bytes had arrived; router dropped ${icmp:-?} ICMP; path MTU changes: $(sed -n 's/.*path MTU \([0-9]*\)$/\1/p' "$T/hole.serr" | tr '\n' ' ')"
	okx "router black hole (1500 -> 1280 mid-transfer, ICMP dropped): 25 MB byte for byte, exit 0/0" \
		'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s "$T/f25" "$T/hole.out"'
	okx "... the change came mid-transfer and the router dropped its ICMP (${icmp:-0} packets)" \
		'[ "$SHRUNK" = 1 ] && [ "$SHRUNK_AT" -lt 25000000 ] && [ "${icmp:-0}" -gt 0 ]'
	okx "... the sender fell back to the base ($fell times) and ends at pmtu ${PMTU:-?} <= 1252" \
		'[ "$fell" -ge 1 ] && [ "${PMTU:-9999}" -le 1252 ] && [ "${PMTU:-0}" -ge 1200 ]'
else
	fail "${CASES[2]}" "namespace or nftables set-up"
fi

# --- 4. the same router, its ICMP let through ------------------------------------
# shrink, then a bounded poll for the sender's first "path MTU" line at or
# below 1252 after it: the time to recover, printed only
shrink_watch() {
	local name=$1 before t0 t1
	shrink "$name"
	t0=$(date +%s.%N)
	before=$(grep -c 'path MTU' "$T/$name.serr")
	RECOVER=?
	for _ in $(seq 1000); do
		if tail -n +"$((before + 1))" "$T/$name.serr" | grep -Eq 'path MTU (1[01][0-9][0-9]|12[0-4][0-9]|125[0-2])$'; then
			t1=$(date +%s.%N)
			RECOVER=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
			break
		fi
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.01
	done
}
if ns c && ns q && ns d && veth c c0 q q0 1500 && veth q q1 d d0 1500 &&
	ip -n "${NS}c" addr add 10.163.1.1/24 dev c0 && ip -n "${NS}q" addr add 10.163.1.254/24 dev q0 &&
	ip -n "${NS}q" addr add 10.163.2.254/24 dev q1 && ip -n "${NS}d" addr add 10.163.2.1/24 dev d0 &&
	ip -n "${NS}c" route add default via 10.163.1.254 && ip -n "${NS}d" route add default via 10.163.2.254 &&
	ip netns exec "${NS}q" sysctl -qw net.ipv4.ip_forward=1; then
	SHRUNK=0 SHRUNK_AT=0 RECOVER=?
	SHRINK_LINK="q q1 d d0"
	XFER_DURING=shrink_watch xfer icmp c d 10.163.2.1 "$T/f25" --netsim 'rate 100mbit'
	valid=$(sed -n 's/^udpsend: peer=.* ptb_valid=\([0-9]*\).*/\1/p' "$T/icmp.serr" | tail -n 1)
	ignored=$(sed -n 's/^udpsend: peer=.* ptb_ignored=\([0-9]*\).*/\1/p' "$T/icmp.serr" | tail -n 1)
	echo "# icmp: link shrunk after ${SHRUNK_AT} bytes; data at <= 1252 ${RECOVER} ms later (not asserted); ptb_valid=${valid:-?} ptb_ignored=${ignored:-?}; path MTU changes: $(sed -n 's/.*path MTU \([0-9]*\)$/\1/p' "$T/icmp.serr" | tr '\n' ' ')"
	okx "router with ICMP (1500 -> 1280 mid-transfer): 25 MB byte for byte, exit 0/0" \
		'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s "$T/f25" "$T/icmp.out"'
	okx "... the change came mid-transfer, the sender counted ${valid:-0} valid ICMP hints and ends at pmtu ${PMTU:-?} <= 1252" \
		'[ "$SHRUNK" = 1 ] && [ "$SHRUNK_AT" -lt 25000000 ] && [ "${valid:-0}" -gt 0 ] && [ "${PMTU:-9999}" -le 1252 ] && [ "${PMTU:-0}" -ge 1200 ]'
else
	fail "${CASES[3]}" "namespace set-up"
fi

e2e_summary
