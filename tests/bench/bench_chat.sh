#!/bin/bash
# make bench-chat: udpchat meshes in a fresh network namespace, every peer
# with --netsim 'loss 20%' (on what it sends; each datagram between two
# peers thus crosses one lossy hop).  For 4, 16 and 50 peers (BENCH_CHAT_PEERS)
# it reports the time from the first start to a full mesh (every peer has
# shown a join of every other) and, for BENCH_CHAT_LINES lines typed by
# every peer once the mesh is full, how many of the lines reached every
# peer and the p50/p99/max delivery latency (shown - said, one clock: one
# host).  Goal (issue 14): 50 peers, every line to every peer, p99 < 1 s.
if [ "${E2E_IN_NETNS:-}" != 1 ]; then
	if ! unshare -n true 2>/dev/null; then
		echo "bench-chat: cannot create a network namespace (need root)" >&2
		exit 1
	fi
	exec unshare -n env E2E_IN_NETNS=1 bash "$0" "$@"
fi
top=$(cd "$(dirname "$0")/../.." && pwd)
export UDPKIT_BIN=${UDPKIT_BIN:-$top/${BUILD:-build}/bin}
. "$top/tests/e2e/lib.bash"
ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo || exit 1

SIZES=${BENCH_CHAT_PEERS:-4 16 50}
LINES=${BENCH_CHAT_LINES:-5}
CHAT_CMD=(timeout -k 2 150)
now() { date +%s.%N; }

min_count() { # PREFIX N TYPE: the fewest TYPE events any of the N peers shows
	local i c min=999999
	for i in $(seq "$2"); do
		c=$(grep -c "\"type\":\"$3\"" "$T/$1$i.out" 2>/dev/null)
		[ "${c:-0}" -lt "$min" ] && min=${c:-0}
	done
	echo "$min"
}

printf '%-6s %-10s %-14s %-9s %-9s %-9s\n' peers mesh_s lines_all p50_ms p99_ms max_ms
for n in $SIZES; do
	pre="b${n}p"
	t0=$(now)
	for i in $(seq "$n"); do
		chat_start "$pre$i" --netsim "loss 20% seed $((n * 1000 + i))" --linger 2
	done
	mesh=""
	for _ in $(seq 1200); do # 60 s at most
		[ "$(min_count "$pre" "$n" join)" -ge $((n - 1)) ] && { mesh=$(echo "$(now) - $t0" | bc); break; }
		sleep 0.05
	done
	for i in $(seq "$n"); do
		for j in $(seq "$LINES"); do chat_say "$pre$i" "m $i $j"; done
	done
	for _ in $(seq 600); do # 30 s at most
		[ "$(min_count "$pre" "$n" msg)" -ge $(((n - 1) * LINES)) ] && break
		sleep 0.05
	done
	python3 - "$T" "$pre" "$n" "$LINES" "${mesh:-none}" <<'PY'
import json, sys
t, pre, n, k, mesh = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
lat, per_line = [], {}
for i in range(1, n + 1):
    for line in open(f"{t}/{pre}{i}.out"):
        ev = json.loads(line)
        if ev["type"] != "msg" or not ev["text"].startswith("m "):
            continue
        per_line[ev["text"]] = per_line.get(ev["text"], 0) + 1
        lat.append((ev.get("shown", ev["ts"]) - ev["said"]) * 1000)
full = sum(1 for v in per_line.values() if v == n - 1)
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
mesh = f"{float(mesh):.2f}" if mesh != "none" else "none(60s)"
print(f"{n:<6} {mesh:<10} {f'{full}/{n * k}':<14} {q(0.5):<9.0f} {q(0.99):<9.0f} {(lat[-1] if lat else float('nan')):<9.0f}")
PY
	for i in $(seq "$n"); do fd=${CFD[$pre$i]}; exec {fd}>&-; done
	for i in $(seq "$n"); do wait_pid "${CPID[$pre$i]}" 8; done
done
