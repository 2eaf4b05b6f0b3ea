#!/bin/bash
# make bench: datagram throughput on loopback, as ratios against a raw
# sendto/recvfrom baseline measured in the same run (machines here are
# shared and noisy, so only same-run ratios mean anything).  Each case is
# run REPS times and the median is reported.
#
# Every receiver writes its payloads to stdout and bench_sink measures the
# bytes from first to last, so all cases are measured the same way.
#
# BENCH_ROWS picks row groups (space or comma separated; all when unset):
# raw (datagram table), rel (reliable vs ENet), sealrel, cpu (callgrind),
# srt, veth, python.  E.g. BENCH_ROWS="srt veth" make bench.
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
want() { [ -z "${BENCH_ROWS:-}" ] || [[ " ${BENCH_ROWS//,/ } " == *" $1 "* ]]; }

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

# --- Identity sessions (issue 18): a self-contained block.  Handshakes per
# second per core (tests/helpers/ident_bench when built: both ends of Noise
# IK in one process, so its CPU time is one core's), and reliable
# file goodput - udpsend -r --whole | udprecv -r --raw --once | bench_sink -
# plaintext, group-key sealed (-k), identity, identity + group key as
# admission, the cases taking turns in each repetition.  Goal: identity
# within 5 % of group-key sealing.  BENCH_ONLY=identity runs only this
# block (with BENCH_MB=1 the shared input above stays small).
bench_identity() {
	local imb=${BENCH_IDENT_MB:-100} d="$tmp/ident" c r
	mkdir -p "$d"
	head -c $((imb * 1024 * 1024)) /dev/urandom >"$d/in"
	"$BIN/udpkey" genkey -o "$d/g.key" 2>/dev/null
	"$BIN/udpkey" genkey --identity -o "$d/s.key" >"$d/s.pub" 2>/dev/null
	"$BIN/udpkey" genkey --identity -o "$d/c.key" >"$d/c.pub" 2>/dev/null
	echo "$(cat "$d/c.pub") bench" >"$d/allowed"
	echo
	if [ -x "$HELP/ident_bench" ]; then
		echo "identity sessions on one core (tests/helpers/ident_bench: both ends in one process), median of $REPS"
		local hs=() so=()
		for _ in $(seq 1 "$REPS"); do
			"$HELP/ident_bench" 1 >"$d/ib" 2>>"$tmp/senderr"
			hs+=("$(sed -n 's/^handshakes_per_sec=//p' "$d/ib")")
			so+=("$(sed -n 's/^seal_open_per_sec=//p' "$d/ib")")
		done
		printf '%-44s %12s\n' "handshakes/s/core (Noise IK, both ends)" "$(printf '%s\n' "${hs[@]}" | median)"
		printf '%-44s %12s\n' "1200-byte SEALED seal+open/s/core" "$(printf '%s\n' "${so[@]}" | median)"
	else
		echo "identity handshakes: no $HELP/ident_bench (make helpers)"
	fi
	# ident_run CASE: one transfer; prints MB/s (0 on failure)
	ident_run() {
		local err="$d/r.err" port rcv=() snd=()
		case $1 in
		group) rcv=(-k "$d/g.key"); snd=(-k "$d/g.key") ;;
		identity*)
			rcv=(--identity "$d/s.key" --allowed-keys "$d/allowed")
			snd=(--identity "$d/c.key" --peer-key "@$d/s.pub") ;;
		esac
		if [ "$1" = identity_psk ]; then
			rcv+=(-k "$d/g.key"); snd+=(-k "$d/g.key")
		fi
		: >"$err"
		"$BIN/udprecv" -r --raw --once "${rcv[@]}" 127.0.0.1 0 2>"$err" |
			"$HELP/bench_sink" >"$d/sink" &
		local rp=$!
		pids+=("$rp")
		port=$(wait_port "$err" 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p') ||
			{ echo 0; kill $rp 2>/dev/null; return; }
		timeout 120 "$BIN/udpsend" -r --whole "${snd[@]}" 127.0.0.1 "$port" <"$d/in" 2>>"$tmp/senderr"
		wait $rp
		awk -v t=$((imb * 1024 * 1024)) '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
		     END { printf "%.1f\n", (v["bytes"] == t && v["seconds"] > 0 ? v["bytes"] / v["seconds"] / 1e6 : 0) }' "$d/sink"
	}
	local -A ig
	local cases=(plain group identity identity_psk)
	for _ in $(seq 1 "$REPS"); do
		for c in "${cases[@]}"; do
			r=$(ident_run "$c")
			ig[$c]+=" ${r:-0}"
		done
	done
	echo "identity-sealed reliable goodput, udpsend -r --whole of ${imb} MiB, loopback, median of $REPS"
	printf '%-44s %9s %10s %10s\n' case MB/s "vs plain" "vs -k"
	for c in "${cases[@]}"; do
		ig[$c]=$(printf '%s\n' ${ig[$c]} | median)
	done
	for c in "${cases[@]}"; do
		printf '%-44s %9s %10s %10s\n' "$(case $c in plain) echo 'udpsend -r | udprecv -r (plaintext)';;
			group) echo '-k (group key seals, seal_sock)';; identity) echo '--identity (Noise IK sessions)';;
			identity_psk) echo '--identity -k (IKpsk2: the key admits)';; esac)" "${ig[$c]}" \
			"$(awk -v s="${ig[$c]}" -v p="${ig[plain]}" 'BEGIN { printf "%.2fx", (p > 0 ? s / p : 0) }')" \
			"$(awk -v s="${ig[$c]}" -v p="${ig[group]}" 'BEGIN { printf "%.2fx", (p > 0 ? s / p : 0) }')"
	done
	awk -v i="${ig[identity]}" -v g="${ig[group]}" \
		'BEGIN { if (g > 0) printf "identity vs group-key sealed reliable: %.2fx (goal >= 0.95x)\n", i / g }'
}
bench_identity
[ "${BENCH_ONLY:-}" = identity ] && exit 0
# --- end of the identity block

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
"$BIN/udpkey" genkey -o "$tmp/key" 2>/dev/null
rate[raw]=0; base=0
if want raw; then
measure raw "'$HELP/bench_raw_recv' 127.0.0.1 0 1000" 's/^port \([0-9]*\)$/\1/p' \
	"'$HELP/bench_raw_send' 127.0.0.1 PORT $CHUNK"
measure udpkit "'$BIN/udprecv' --raw -w 1 127.0.0.1 0" 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	"'$BIN/udpsend' --chunk $CHUNK 127.0.0.1 PORT"
# Sealed: the same pair with a key (every datagram sealed and opened).
measure sealed "'$BIN/udprecv' -k '$tmp/key' --raw -w 1 127.0.0.1 0" 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	"'$BIN/udpsend' -k '$tmp/key' --chunk $CHUNK 127.0.0.1 PORT"
measure sealed_gcm "'$BIN/udprecv' -k '$tmp/key' --raw -w 1 127.0.0.1 0" 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	"'$BIN/udpsend' -k '$tmp/key' --cipher aes256gcm --chunk $CHUNK 127.0.0.1 PORT"
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

base=${rate[raw]:-0}
printf '%-40s %12s %9s %8s %10s\n' case datagrams/s MB/s lost% "vs raw"
for c in raw udpkit sealed sealed_gcm relay iperf3; do
	printf '%-40s %12s %9s %8s %10s\n' \
		"$(case $c in raw) echo 'raw sendto/recvfrom (baseline)';; udpkit) echo 'udpsend --chunk | udprecv --raw';; sealed) echo 'udpsend -k | udprecv -k --raw (sealed)';; sealed_gcm) echo 'udpsend -k --cipher aes256gcm (sealed)';; relay) echo 'udpsend | udprelay | udprecv --raw';; iperf3) echo 'iperf3 -u -b 0 -l 1200';; esac)" \
		"${rate[$c]}" \
		"$(awk -v r="${rate[$c]}" -v c=$CHUNK 'BEGIN { printf "%.1f", r * c / 1e6 }')" \
		"${loss[$c]}" \
		"$(awk -v r="${rate[$c]}" -v b="$base" 'BEGIN { printf "%.2fx", (b > 0 ? r / b : 0) }')"
done
awk -v s="${rate[sealed]}" -v u="${rate[udpkit]}" 'BEGIN { if (u > 0) printf "sealed vs plaintext udpkit: %.2fx\n", s / u }'
awk -v s="${rate[sealed_gcm]}" -v u="${rate[udpkit]}" 'BEGIN { if (u > 0) printf "sealed (aes256gcm) vs plaintext udpkit: %.2fx\n", s / u }'
awk -v u="${rate[udpkit]}" -v i="${rate[iperf3]}" 'BEGIN { if (i > 0) printf "udpkit vs iperf3: %.2fx\n", u / i }'
# The relay's cost: the same pair with udprelay (nothing to impair) in the
# middle, against the direct udpkit pair of this run (issue 17).
awk -v r="${rate[relay]}" -v u="${rate[udpkit]}" -v l="${loss[relay]}" \
	'BEGIN { if (u > 0) printf "relay vs direct udpkit: %.2fx (relay lost %s%%)\n", r / u, l }'
fi

# --- Reliable goodput under loss (issue 5): udpkit's reliable layer
# (udpbench, loss on both directions: --netsim-in on both ends) against
# ENet's reliable channel (tests/helpers/enet_bench.c: the same loss through
# ENet's intercept hook on both hosts), next to the raw baseline above.
RMB=${BENCH_REL_MB:-100}
ENET_TIMEOUT=${BENCH_ENET_TIMEOUT:-20}
rel_bytes=$((RMB * 1024 * 1024))
# udpbench_run LOSS [ARGS...]: prints the client's goodput in MB/s (0 on
# failure); ARGS go to both ends (a key, a cipher).
udpbench_run() {
	local spec="loss $1%" err="$tmp/ub.err" port
	shift
	: >"$err"
	"$BIN/udpbench" -s -1 --netsim-in "$spec" "$@" 127.0.0.1 0 >/dev/null 2>"$err" &
	local sp=$!
	pids+=("$sp")
	port=$(wait_port "$err" 's/.*listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p') || { echo 0; return; }
	timeout 120 "$BIN/udpbench" --json -w 30 --netsim-in "$spec" "$@" -n "$rel_bytes" 127.0.0.1 "$port" \
		2>>"$tmp/senderr" | sed -n 's/.*"goodput_MBps":\([0-9.]*\).*/\1/p' | grep . || echo 0
	wait $sp 2>/dev/null
}
# enet_run LOSS: prints "MB/s finished" (goodput so far when it did not finish).
enet_run() {
	"$HELP/enet_bench" "$rel_bytes" "$1" "$ENET_TIMEOUT" "$RANDOM" 2>>"$tmp/senderr" |
		awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		       printf "%.1f %d\n", (v["seconds"] > 0 ? v["bytes"] / v["seconds"] / 1e6 : 0), v["finished"] }'
}
raw_mbs=$(awk -v r="$base" -v c=$CHUNK 'BEGIN { printf "%.1f", r * c / 1e6 }')
declare -A rel_u rel_e
if want rel; then
echo
echo "reliable goodput, ${RMB} MiB in ${CHUNK}-byte messages, loss on both directions, median of $REPS"
printf '%-7s %12s %12s %12s %12s\n' loss udpkit_MB/s ENet_MB/s "vs ENet" "vs raw"
for L in 0 1 5 20; do
	us=() es=() fin=1
	for _ in $(seq 1 "$REPS"); do
		us+=("$(udpbench_run "$L")")
		read -r e f <<<"$(enet_run "$L")"
		es+=("${e:-0}")
		[ "${f:-0}" = 1 ] || fin=0
	done
	rel_u[$L]=$(printf '%s\n' "${us[@]}" | median)
	rel_e[$L]=$(printf '%s\n' "${es[@]}" | median)
	printf '%-7s %12s %12s %12s %12s\n' "$L%" "${rel_u[$L]}" \
		"${rel_e[$L]}$([ $fin = 1 ] || echo ' (dnf)')" \
		"$(awk -v u="${rel_u[$L]}" -v e="${rel_e[$L]}" 'BEGIN { printf "%.1fx", (e > 0 ? u / e : 0) }')" \
		"$(awk -v u="${rel_u[$L]}" -v r="$raw_mbs" 'BEGIN { printf "%.2fx", (r > 0 ? u / r : 0) }')"
done
echo "(dnf: ENet had not delivered everything after ${ENET_TIMEOUT} s; its goodput until then)"
fi

# --- Sealed vs plaintext reliable goodput (issue 6): udpbench at 0 % loss
# with and without a key; the cases take turns within each repetition so
# that they share the machine's moods, and the medians are compared.
if want sealrel; then
echo
echo "sealed reliable goodput, ${RMB} MiB in ${CHUNK}-byte messages, no loss, median of $REPS"
declare -A srel
seal_rel_cases=(plain xchacha20 aes256gcm)
for _ in $(seq 1 "$REPS"); do
	for c in "${seal_rel_cases[@]}"; do
		case $c in
		plain) srel[$c]+=" $(udpbench_run 0)" ;;
		xchacha20) srel[$c]+=" $(udpbench_run 0 -k "$tmp/key")" ;;
		*) srel[$c]+=" $(udpbench_run 0 -k "$tmp/key" --cipher "$c")" ;;
		esac
	done
done
printf '%-40s %9s %10s\n' case MB/s "vs plain"
for c in "${seal_rel_cases[@]}"; do
	srel[$c]=$(printf '%s\n' ${srel[$c]} | median)
	printf '%-40s %9s %10s\n' "udpbench$([ $c = plain ] || echo " -k, $c")" "${srel[$c]}" \
		"$(awk -v s="${srel[$c]}" -v p="${srel[plain]}" 'BEGIN { printf "%.2fx", (p > 0 ? s / p : 0) }')"
done
for c in "${seal_rel_cases[@]}"; do
	[ $c = plain ] && continue
	awk -v s="${srel[$c]}" -v p="${srel[plain]}" -v c="$c" \
		'BEGIN { if (p > 0) printf "sealed vs plaintext reliable%s: %.2fx\n", (c == "xchacha20" ? "" : " (" c ")"), s / p }'
done
fi

# CPU cost per delivered message at 0 % loss: user-space instructions of
# both udpbench ends under callgrind for a fixed 10 MiB transfer, divided
# by the messages delivered (the same work every run, unlike timings).
if want cpu && command -v valgrind >/dev/null 2>&1; then
	msgs=$(( (10 * 1048576) / 1200 ))
	err="$tmp/cg.err"
	: >"$err"
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.srv" "$BIN/udpbench" -s -1 127.0.0.1 0 \
		>/dev/null 2>"$err" &
	sp=$!
	pids+=("$sp")
	if port=$(wait_port "$err" 's/.*listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p'); then
		valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.cli" "$BIN/udpbench" -w 60 -n 10M \
			127.0.0.1 "$port" >/dev/null 2>&1
		wait $sp
		ir=$(cat "$tmp/cg.srv" "$tmp/cg.cli" | awk '/^totals:/ { s += $2 } END { print s + 0 }')
		echo "CPU cost at 0% loss: $(( ir / msgs )) instructions per delivered message" \
			"(callgrind, client + server, ${msgs} messages of 1200 bytes)"
	fi
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.enet" "$HELP/enet_bench" $((10 * 1048576)) 0 60 \
		>/dev/null 2>&1 &&
		echo "ENet, the same transfer: $(awk -v m="$msgs" '/^totals:/ { s += $2 } END { printf "%d", s / m }' "$tmp/cg.enet") instructions per message (both hosts)"
fi

# A plot of goodput against loss: BENCH_PLOT=FILE.png (installs gnuplot-nox).
if [ -n "${BENCH_PLOT:-}" ] && want rel; then
	if ! command -v gnuplot >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox </dev/null >/dev/null 2>&1 ||
		{ apt-get update -qq </dev/null >/dev/null 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox </dev/null >/dev/null 2>&1; }
	fi
	for L in 0 1 5 20; do echo "$L ${rel_u[$L]} ${rel_e[$L]}"; done >"$tmp/plot.dat"
	if command -v gnuplot >/dev/null 2>&1; then
		gnuplot <<GP && echo "plot: $BENCH_PLOT"
set terminal pngcairo size 800,500 noenhanced
set output '$BENCH_PLOT'
set title 'Reliable goodput vs loss (both directions), 1200-byte messages, loopback'
set xlabel 'loss, % each direction'
set ylabel 'goodput, MB/s'
set key top right
set grid
set xtics (0, 1, 5, 20)
set yrange [0:*]
plot '$tmp/plot.dat' using 1:2 with linespoints lw 2 pt 7 title 'udpkit (udpbench, rel_cc_bbr)', \
     '$tmp/plot.dat' using 1:3 with linespoints lw 2 pt 5 title 'ENet 1.3.17 reliable channel'
GP
	else
		echo "plot: gnuplot not available" >&2
	fi
fi

# --- SRT's file mode beside udpkit's reliable layer (issue 16): the same
# file, the same machine, the same run; SRT measured on its API
# (tests/helpers/srt_bench.c), not its CLI; median of $REPS.  At 0 % both
# run directly over loopback (nothing to impair, so no relay in the way of
# either); with loss both go through the same udprelay, the loss on both
# directions (SRT has no loss hook of its own).  A run that has not
# delivered the whole file after BENCH_SRT_TIMEOUT seconds is "dnf"; its
# goodput is then below SIZE / TIMEOUT, which gives a lower bound of the
# ratio.
SMB=${BENCH_SRT_MB:-50}
STIMEOUT=${BENCH_SRT_TIMEOUT:-30}
if want srt; then
head -c $((SMB * 1024 * 1024)) "$tmp/input" >"$tmp/sinput"
srel() { # LOSS RECV SEND PORT_SED: prints "MB/s bytes" (MB/s 0: not whole in time)
	local spec="loss $1% seed $RANDOM" err="$tmp/s.err" rerr="$tmp/s.rerr" port rport xp=
	: >"$err"; : >"$rerr"; : >"$tmp/ssink"
	: >"$tmp/rpid"
	{ bash -c "exec $2" 2>"$err" & echo $! >"$tmp/rpid"; wait; } | "$HELP/bench_sink" >"$tmp/ssink" &
	local sp=$! rp
	pids+=("$sp")
	for _ in $(seq 1 100); do rp=$(cat "$tmp/rpid"); [ -n "$rp" ] && break; sleep 0.02; done
	pids+=("$rp")
	port=$(wait_port "$err" "$4") || { echo "0 0"; kill $rp 2>/dev/null; return; }
	rport=$port
	if [ "$1" != 0 ]; then
		"$BIN/udprelay" -w "$STIMEOUT" --netsim "$spec" --netsim-in "$spec" 127.0.0.1:0 \
			"127.0.0.1:$port" 2>"$rerr" >/dev/null </dev/null &
		xp=$!
		pids+=("$xp")
		rport=$(wait_port "$rerr" 's/.*listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p') ||
			{ echo "0 0"; kill $rp $xp 2>/dev/null; return; }
	fi
	timeout "$STIMEOUT" bash -c "${3//PORT/$rport}" <"$tmp/sinput" >/dev/null 2>>"$tmp/senderr"
	# the receiver ends at the close; the sink reports at its EOF
	for _ in $(seq 1 500); do kill -0 $rp 2>/dev/null || break; sleep 0.02; done
	kill $rp $xp 2>/dev/null # the sink sees EOF and reports what came
	wait $sp $xp 2>/dev/null
	awk -v want=$((SMB * 1024 * 1024)) '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
		END { printf "%.1f %d\n", (v["bytes"] == want && v["seconds"] > 0 ? v["bytes"] / v["seconds"] / 1e6 : 0), v["bytes"] }' "$tmp/ssink"
}
echo
echo "reliable file transfer beside SRT, ${SMB} MiB; 0 %: direct over loopback; loss: both directions through udprelay; median of $REPS"
printf '%-7s %12s %22s %14s\n' loss udpkit_MB/s SRT_MB/s "vs SRT"
for L in 0 1 5 20; do
	us=() ss=() sbytes=0
	for _ in $(seq 1 "$REPS"); do
		read -r u b <<<"$(srel "$L" "'$BIN/udprecv' -r --raw --once 127.0.0.1 0" \
			"'$BIN/udpsend' -r --whole --no-progress 127.0.0.1 PORT" \
			's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p')"
		us+=("${u:-0}")
		read -r v b <<<"$(srel "$L" "'$HELP/srt_bench' recv" "'$HELP/srt_bench' send 127.0.0.1 PORT" \
			's/^port \([0-9]*\)$/\1/p')"
		ss+=("${v:-0}")
		[ "${b:-0}" -gt "$sbytes" ] && sbytes=${b:-0}
	done
	u=$(printf '%s\n' "${us[@]}" | median); s=$(printf '%s\n' "${ss[@]}" | median)
	awk -v L="$L%" -v u="$u" -v s="$s" -v b="$sbytes" -v t="$STIMEOUT" -v want=$((SMB * 1024 * 1024)) 'BEGIN {
		if (s > 0) { printf "%-7s %12s %22s %13.1fx\n", L, u, s, u / s; exit }
		# dnf: SRT is below want / t; the ratio above u / (want / t)
		printf "%-7s %12s %22s %14s\n", L, u, sprintf("dnf (%.1f MiB in %d s)", b / 1048576, t),
			(u > 0 ? sprintf("> %.0fx", u / (want / t / 1e6)) : "-") }'
done
echo "(dnf: SRT had not delivered the whole file within ${STIMEOUT} s, so its goodput is below $(awk -v m=$SMB -v t=$STIMEOUT 'BEGIN { printf "%.2f", m * 1.048576 / t }') MB/s: the ratio is a lower bound)"
fi

# --- Jumbo frames (issue 16): goodput over a veth pair between two network
# namespaces this bench creates (nothing leaves them), MTU 1500 against
# MTU 9000, the 9000:1500 ratio for each of:
#   raw     bench_raw_send | bench_raw_recv: one sendto/recvfrom per
#           datagram of the path's largest size (MTU - 28), no flow control
#           (lost% is what the receiver did not keep up with);
#   udpkit  udpsend -r --whole | udprecv -r --raw --once: PMTUD finds the
#           datagram size, GSO/GRO carry runs of datagrams;
#   nooffl  the same with --no-offload at both ends: one datagram per
#           kernel crossing, as raw.
# One namespace pair per MTU for the whole block; every case and MTU takes
# its turn in each repetition.  The namespaces go on every way out.
VNS=ukbench$$
vnses=()
veth_clean() { local n; for n in "${vnses[@]}"; do ip netns del "$n" 2>/dev/null; done; vnses=(); }
veth_up() { # MTU: namespaces ${VNS}a$MTU and ${VNS}b$MTU, 10.201.0.1 and .2
	local a=${VNS}a$1 b=${VNS}b$1
	ip netns add "$a" || return 1
	vnses+=("$a")
	ip netns add "$b" || return 1
	vnses+=("$b")
	ip link add "v${1}x" netns "$a" mtu "$1" type veth peer name "v${1}y" netns "$b" mtu "$1" &&
	ip -n "$a" addr add 10.201.0.1/24 dev "v${1}x" && ip -n "$b" addr add 10.201.0.2/24 dev "v${1}y" &&
	ip -n "$a" link set "v${1}x" up && ip -n "$b" link set "v${1}y" up &&
	ip -n "$a" link set lo up && ip -n "$b" link set lo up
}
udp_rcvbuf_errors() { # NS: the namespace's UdpRcvbufErrors (/proc/net/snmp)
	ip netns exec "$1" awk '/^Udp:/ { if (!n++) for (i = 1; i <= NF; i++) k[i] = $i; else
		for (i = 1; i <= NF; i++) if (k[i] == "RcvbufErrors") print $i }' /proc/net/snmp
}
veth_run() { # CASE MTU: prints "MB/s lost% retransmits rcvbuf_errors" (MB/s 0: failed)
	local a=${VNS}a$2 b=${VNS}b$2 err="$tmp/v.err" serr="$tmp/v.serr" port sp opt=() e0
	: >"$err"; : >"$serr"; : >"$tmp/vsink"
	e0=$(udp_rcvbuf_errors "$b")
	[ "$1" = nooffl ] && opt=(--no-offload)
	if [ "$1" = raw ]; then
		ip netns exec "$b" "$HELP/bench_raw_recv" 10.201.0.2 0 1000 2>"$err" |
			"$HELP/bench_sink" >"$tmp/vsink" &
		sp=$!
		pids+=("$sp")
		port=$(wait_port "$err" 's/^port \([0-9]*\)$/\1/p') || { echo "0 100 0 0"; kill $sp; return; }
		head -c "$rel_bytes" "$tmp/input" |
			timeout 120 ip netns exec "$a" "$HELP/bench_raw_send" 10.201.0.2 "$port" $(($2 - 28)) 2>>"$tmp/senderr"
	else
		ip netns exec "$b" "$BIN/udprecv" -r --raw --once "${opt[@]}" 10.201.0.2 0 2>"$err" |
			"$HELP/bench_sink" >"$tmp/vsink" &
		sp=$!
		pids+=("$sp")
		port=$(wait_port "$err" 's/.*listening on 10\.201\.0\.2:\([0-9]*\).*/\1/p') || { echo "0 100 0 0"; kill $sp; return; }
		head -c "$rel_bytes" "$tmp/input" |
			timeout 120 ip netns exec "$a" "$BIN/udpsend" -r --whole --no-progress --stats "${opt[@]}" \
			10.201.0.2 "$port" 2>"$serr" >/dev/null
		cat "$serr" >>"$tmp/senderr"
	fi
	for _ in $(seq 1 250); do kill -0 $sp 2>/dev/null || break; sleep 0.02; done
	kill $sp 2>/dev/null
	wait $sp 2>/dev/null
	local rx=$(sed -n 's/.* retransmits=\([0-9]*\) .*/\1/p' "$serr" | head -n 1)
	awk -v t="$rel_bytes" -v rx="${rx:-0}" -v e=$(($(udp_rcvbuf_errors "$b") - e0)) \
		'{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
		END { printf "%.1f %.2f %d %d\n", (v["seconds"] > 0 ? v["bytes"] / v["seconds"] / 1e6 : 0),
			100 * (t - v["bytes"]) / t, rx, e }' "$tmp/vsink"
}
echo
if ! want veth; then
	:
elif [ "$(id -u)" = 0 ] && ip netns add "${VNS}p" 2>/dev/null; then
	ip netns del "${VNS}p"
	trap 'veth_clean; cleanup' EXIT
	trap 'exit 1' INT TERM
	if veth_up 1500 && veth_up 9000; then
		echo "veth pair between two namespaces, ${RMB} MiB, median of $REPS (cases and MTUs interleaved)"
		declare -A vg vl vr ve
		vcases=(raw udpkit nooffl)
		for _ in $(seq 1 "$REPS"); do
			for c in "${vcases[@]}"; do
				for M in 1500 9000; do
					read -r g l r e <<<"$(veth_run "$c" "$M")"
					vg[$c$M]+=" $g"; vl[$c$M]+=" $l"; vr[$c$M]+=" $r"; ve[$c$M]=$(( ${ve[$c$M]:-0} + e ))
				done
			done
		done
		printf '%-36s %9s %9s %10s %13s %13s %11s\n' case "1500_MB/s" "9000_MB/s" "9000:1500" \
			"lost%_1500/9000" "rexmit_1500/9000" "rcvbuf_errs"
		for c in "${vcases[@]}"; do
			for M in 1500 9000; do
				vg[$c$M]=$(printf '%s\n' ${vg[$c$M]} | median)
				vl[$c$M]=$(printf '%s\n' ${vl[$c$M]} | median)
				vr[$c$M]=$(printf '%s\n' ${vr[$c$M]} | median)
			done
			printf '%-36s %9s %9s %10s %13s %13s %11s\n' \
				"$(case $c in raw) echo 'raw sendto/recvfrom (MTU-28 bytes)';; udpkit) echo 'udpkit -r --whole';;
				   nooffl) echo 'udpkit -r --whole --no-offload';; esac)" \
				"${vg[${c}1500]}" "${vg[${c}9000]}" \
				"$(awk -v a="${vg[${c}9000]}" -v b="${vg[${c}1500]}" 'BEGIN { printf (b > 0 ? "%.2fx" : "-"), (b > 0 ? a / b : 0) }')" \
				"${vl[${c}1500]}/${vl[${c}9000]}" "${vr[${c}1500]}/${vr[${c}9000]}" "${ve[${c}1500]}/${ve[${c}9000]}"
		done
		echo "(raw: the ceiling of what 9000-byte frames give one datagram per system call; lost% and"
		echo " retransmits are medians, rcvbuf_errs the receiving namespace's UdpRcvbufErrors over all runs)"
	else
		echo "veth rows: could not set up the namespaces"
	fi
	veth_clean
	trap cleanup EXIT
	trap - INT TERM
else
	echo "veth rows: skipped (needs root and ip netns)"
fi

# --- Python (make python, for $PYTHON): the udpkit module's SOCK_RDM
# goodput Python -> Python against udpbench's reliable goodput measured
# here too, and udpkit's SOCK_DGRAM against the standard socket module's
# (messages/s delivered, each end in its own process).  Same message size
# and count for every case; each run is bounded by timeout.
PYTHON=${PYTHON:-python3}
PMB=${BENCH_PY_MB:-20}
if want python; then
pmsgs=$(( (PMB * 1048576 + CHUNK - 1) / CHUNK ))
echo
echo "python ($PYTHON), ${PMB} MiB in ${CHUNK}-byte messages ($pmsgs), loopback, median of $REPS"
if ! timeout 300 make -s -C "$top" -j2 python PYTHON="$PYTHON" >"$tmp/py.build" 2>&1; then
	echo "python: skipped -- make python failed: $(tail -n 1 "$tmp/py.build")"
else
cat >"$tmp/pybench.py" <<'PY'
"""recv KIND N | send KIND PORT N SIZE; KIND: rdm, dgram (udpkit), std."""
import socket, sys, time
sys.path.insert(0, sys.argv[1])
import udpkit
role, kind = sys.argv[2], sys.argv[3]
def sock():
    if kind == "std":
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return udpkit.socket(udpkit.AF_INET, udpkit.SOCK_RDM if kind == "rdm" else udpkit.SOCK_DGRAM)
s = sock()
if role == "recv":
    n = int(sys.argv[4])
    s.bind(("127.0.0.1", 0))
    print("port %d" % s.getsockname()[1], file=sys.stderr, flush=True)
    s.settimeout(30)
    got = nbytes = 0
    t0 = t1 = None
    try:
        while got < n:
            d = s.recv(65536)
            t1 = time.monotonic()
            if t0 is None:
                t0 = t1
                s.settimeout(2)  # datagrams may be lost: idle 2 s ends it
            got += 1
            nbytes += len(d)
    except (TimeoutError, socket.timeout):
        pass
    secs = (t1 - t0) if got > 1 else 0
    print("msgs=%d bytes=%d seconds=%.6f" % (got, nbytes, secs))
else:
    port, n, size = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    msg, dst = b"x" * size, ("127.0.0.1", port)
    for _ in range(n):
        s.sendto(msg, dst)
    if kind == "rdm":
        s.flush(60)
    s.close()
PY
# py_run KIND: prints "msgs/s MB/s lost%" delivered, from the receiver's
# first message to its last (0 0 100 on failure).
py_run() {
	local err="$tmp/py.err" port
	: >"$err"
	timeout 120 "$PYTHON" "$tmp/pybench.py" "$top/python" recv "$1" "$pmsgs" >"$tmp/py.out" 2>"$err" &
	local rp=$!
	pids+=("$rp")
	port=$(wait_port "$err" 's/^port \([0-9]*\)$/\1/p') || { echo "0 0 100"; kill $rp 2>/dev/null; return; }
	timeout 120 "$PYTHON" "$tmp/pybench.py" "$top/python" send "$1" "$port" "$pmsgs" $CHUNK \
		2>>"$tmp/senderr"
	wait $rp
	awk -v n="$pmsgs" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
	     END { s = v["seconds"]; printf "%.0f %.1f %.2f\n", (s > 0 ? v["msgs"] / s : 0),
	           (s > 0 ? v["bytes"] / s / 1e6 : 0), 100 * (n - v["msgs"]) / n }' "$tmp/py.out"
}
declare -A pyr
for _ in $(seq 1 "$REPS"); do
	# the cases take turns within each repetition (the machine's moods)
	for c in rdm dgram std; do
		read -r m b l <<<"$(py_run $c)"
		pyr[$c.m]+=" ${m:-0}"
		pyr[$c.b]+=" ${b:-0}"
		pyr[$c.l]+=" ${l:-100}"
	done
	pyr[ub]+=" $(rel_bytes=$((pmsgs * CHUNK)) udpbench_run 0)"
done
for k in rdm.m rdm.b rdm.l dgram.m dgram.b dgram.l std.m std.b std.l ub; do
	pyr[$k]=$(printf '%s\n' ${pyr[$k]} | median)
done
printf '%-44s %10s %9s %8s\n' case msgs/s MB/s lost%
printf '%-44s %10s %9s %8s\n' "udpbench (C, reliable, no loss)" "$(awk -v b="${pyr[ub]}" -v c=$CHUNK 'BEGIN { printf "%.0f", b * 1e6 / c }')" "${pyr[ub]}" 0
printf '%-44s %10s %9s %8s\n' "udpkit SOCK_RDM, Python -> Python" "${pyr[rdm.m]}" "${pyr[rdm.b]}" "${pyr[rdm.l]}"
printf '%-44s %10s %9s %8s\n' "udpkit SOCK_DGRAM, Python -> Python" "${pyr[dgram.m]}" "${pyr[dgram.b]}" "${pyr[dgram.l]}"
printf '%-44s %10s %9s %8s\n' "socket SOCK_DGRAM (standard), Python" "${pyr[std.m]}" "${pyr[std.b]}" "${pyr[std.l]}"
awk -v p="${pyr[rdm.b]}" -v u="${pyr[ub]}" 'BEGIN { if (u > 0) printf "python SOCK_RDM vs udpbench reliable: %.2fx\n", p / u }'
awk -v d="${pyr[dgram.m]}" -v s="${pyr[std.m]}" 'BEGIN { if (s > 0) printf "udpkit SOCK_DGRAM vs socket SOCK_DGRAM (messages/s): %.2fx\n", d / s }'
fi
fi
