#!/bin/bash
# make bench: datagram throughput on loopback, as ratios against a raw
# sendto/recvfrom baseline measured in the same run (machines here are
# shared and noisy, so only same-run ratios mean anything).  Each case is
# run REPS times and the median is reported.
#
# Every receiver writes its payloads to stdout and bench_sink measures the
# bytes from first to last, so all cases are measured the same way.
set -u
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN="$top/$BUILD/bin"
HELP="$top/$BUILD/helpers"
MB=${BENCH_MB:-200}
REPS=${BENCH_REPS:-3}
CHUNK=1200
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

if ! command -v iperf3 >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 </dev/null >/dev/null 2>&1 ||
	{ apt-get update -qq </dev/null >/dev/null 2>&1 &&
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 </dev/null >/dev/null 2>&1; }
fi

head -c $((MB * 1024 * 1024)) /dev/urandom >"$tmp/input"
size=$(stat -c %s "$tmp/input")
dgrams=$(( (size + CHUNK - 1) / CHUNK ))

# wait_port FILE REGEX: the port a receiver printed on stderr (bounded wait).
wait_port() {
	for _ in $(seq 1 200); do
		p=$(sed -n "$2" "$1" | head -n 1)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.02
	done
	return 1
}

# run_pair NAME RECV_CMD PORT_SED SEND_CMD: prints "bytes seconds".
run_pair() {
	local recv=$2 sed_re=$3 send=$4
	: >"$tmp/err"
	bash -c "$recv" 2>"$tmp/err" | "$HELP/bench_sink" >"$tmp/sink" &
	local rp=$!
	pids+=("$rp")
	local port
	port=$(wait_port "$tmp/err" "$sed_re") || { echo "0 0"; kill $rp 2>/dev/null; return; }
	timeout 120 bash -c "${send//PORT/$port}" <"$tmp/input" >/dev/null 2>>"$tmp/senderr"
	wait $rp
	sed -n 's/bytes=\([0-9]*\) seconds=\([0-9.]*\)/\1 \2/p' "$tmp/sink"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}'; }

declare -A rate loss
measure() { # NAME RECV PORT_SED SEND
	local rs=() ls=()
	for _ in $(seq 1 "$REPS"); do
		read -r b s <<<"$(run_pair "$@")"
		rs+=("$(awk -v b="$b" -v s="$s" -v c=$CHUNK 'BEGIN { printf "%.0f", (s > 0 ? b / c / s : 0) }')")
		ls+=("$(awk -v b="$b" -v t="$size" 'BEGIN { printf "%.2f", 100 * (t - b) / t }')")
	done
	rate[$1]=$(printf '%s\n' "${rs[@]}" | median)
	loss[$1]=$(printf '%s\n' "${ls[@]}" | median)
}

iperf() {
	command -v iperf3 >/dev/null 2>&1 || { rate[iperf3]=0; loss[iperf3]=NA; return; }
	local rs=() ls=()
	for _ in $(seq 1 "$REPS"); do
		local port=$((20000 + RANDOM % 30000))
		iperf3 -s -1 -B 127.0.0.1 -p $port >/dev/null 2>&1 &
		local sp=$!
		pids+=("$sp")
		# Wait (bounded) until the server listens, then run the client once:
		# a retry loop around a 20 s client could run for half an hour.
		local ok=0
		for _ in $(seq 1 100); do
			ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && break
			sleep 0.02
		done
		timeout 15 iperf3 -c 127.0.0.1 -p $port -u -b 0 -l $CHUNK -t 3 -J >"$tmp/ip.json" 2>/dev/null && ok=1
		kill $sp 2>/dev/null
		wait $sp 2>/dev/null
		[ $ok = 1 ] || continue
		read -r r l <<<"$(python3 - "$tmp/ip.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["end"]["sum"]
got = s["packets"] - s["lost_packets"]
print("%.0f %.2f" % (got / s["seconds"], s["lost_percent"]))
PY
)"
		rs+=("$r"); ls+=("$l")
	done
	rate[iperf3]=$(printf '%s\n' "${rs[@]:-0}" | median)
	loss[iperf3]=$(printf '%s\n' "${ls[@]:-0}" | median)
}

echo "udpkit bench $(date -u +%Y-%m-%dT%H:%MZ): ${MB} MiB in ${CHUNK}-byte datagrams ($dgrams), loopback, median of $REPS"
measure raw "'$HELP/bench_raw_recv' 127.0.0.1 0 1000" 's/^port \([0-9]*\)$/\1/p' \
	"'$HELP/bench_raw_send' 127.0.0.1 PORT $CHUNK"
measure udpkit "'$BIN/udprecv' --raw -w 1 127.0.0.1 0" 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	"'$BIN/udpsend' --chunk $CHUNK 127.0.0.1 PORT"
# Sealed: the same pair with a key (every datagram sealed and opened).
"$BIN/udpkey" genkey -o "$tmp/key" 2>/dev/null
measure sealed "'$BIN/udprecv' -k '$tmp/key' --raw -w 1 127.0.0.1 0" 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	"'$BIN/udpsend' -k '$tmp/key' --chunk $CHUNK 127.0.0.1 PORT"
# The relay case: the sender starts udprelay in front of the receiver.
relayed() { # PORT: udprelay -> 127.0.0.1:PORT, then udpsend --chunk into it
	local err; err=$(mktemp)
	"$BIN/udprelay" -w 2 127.0.0.1:0 "127.0.0.1:$1" 2>"$err" >/dev/null </dev/null &
	local p; p=$(wait_port "$err" 's/.*listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p') &&
		"$BIN/udpsend" --chunk $CHUNK 127.0.0.1 "$p"
	rm -f "$err"
}
{ declare -p BIN CHUNK; declare -f wait_port relayed; echo 'relayed "$1"'; } >"$tmp/relayed.sh"
measure relay "'$BIN/udprecv' --raw -w 1 127.0.0.1 0" 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	"bash '$tmp/relayed.sh' PORT"
iperf

base=${rate[raw]}
printf '%-40s %12s %9s %8s %10s\n' case datagrams/s MB/s lost% "vs raw"
for c in raw udpkit sealed relay iperf3; do
	printf '%-40s %12s %9s %8s %10s\n' \
		"$(case $c in raw) echo 'raw sendto/recvfrom (baseline)';; udpkit) echo 'udpsend --chunk | udprecv --raw';; sealed) echo 'udpsend -k | udprecv -k --raw (sealed)';; relay) echo 'udpsend | udprelay | udprecv --raw';; iperf3) echo 'iperf3 -u -b 0 -l 1200';; esac)" \
		"${rate[$c]}" \
		"$(awk -v r="${rate[$c]}" -v c=$CHUNK 'BEGIN { printf "%.1f", r * c / 1e6 }')" \
		"${loss[$c]}" \
		"$(awk -v r="${rate[$c]}" -v b="$base" 'BEGIN { printf "%.2fx", (b > 0 ? r / b : 0) }')"
done
awk -v s="${rate[sealed]}" -v u="${rate[udpkit]}" 'BEGIN { if (u > 0) printf "sealed vs plaintext udpkit: %.2fx\n", s / u }'
awk -v u="${rate[udpkit]}" -v i="${rate[iperf3]}" 'BEGIN { if (i > 0) printf "udpkit vs iperf3: %.2fx\n", u / i }'
