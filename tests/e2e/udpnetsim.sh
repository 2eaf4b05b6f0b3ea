#!/bin/bash
# udpnetsim: unmodified python3 programs through the preload library, on
# 127.0.0.1 only: the seeded loss pattern of udpsend, delays measured by
# round trips under every way of waiting, TCP untouched, the report, and
# the launcher's errors.  Every command is bounded by `timeout`.
. "$(dirname "$0")/lib.bash"
NS=$BIN/udpnetsim
PEER=$TOP/tests/e2e/netsim_peer.py

if ! command -v python3 >/dev/null; then
	skip "udpnetsim" "no python3"
	exit 0
fi

# peer NAME MODE ARGS...: a server in the background; waits (bounded) for
# the port on its first line; sets PORT.
peer() {
	local name=$1; shift
	timeout 20 python3 "$PEER" "$@" >"$T/$name.out" 2>"$T/$name.err" &
	PIDS+=("$!")
	PORT=
	for _ in $(seq 250); do
		PORT=$(head -n 1 "$T/$name.out" 2>/dev/null)
		[ -n "$PORT" ] && return 0
		sleep 0.02
	done
}

# --- the launcher ------------------------------------------------------------
timeout 5 "$NS" --version >"$T/v.out" 2>&1
ok "--version" grep -q '^udpnetsim (udpkit) ' "$T/v.out"
timeout 5 "$NS" --help >"$T/h.out" 2>&1
ok "--help shows the usage" grep -q '^usage: udpnetsim' "$T/h.out"

timeout 5 "$NS" --netsim 'lose 5%' -- true >"$T/bad.out" 2>&1
RC=$?
okx "bad spec: exit 2, one line naming the option and the word" \
	'[ $RC = 2 ] && [ "$(wc -l <"$T/bad.out")" = 1 ] && grep -q "^udpnetsim: --netsim: unknown word .lose." "$T/bad.out"'
timeout 5 "$NS" --netsim-in 'loss 150%' -- true >"$T/bad2.out" 2>&1
RC=$?
okx "bad --netsim-in: exit 2, one line" '[ $RC = 2 ] && [ "$(wc -l <"$T/bad2.out")" = 1 ] && grep -q "^udpnetsim: --netsim-in: loss" "$T/bad2.out"'
timeout 5 "$NS" --netsim 'loss 1%' -- no-such-program-here >"$T/miss.out" 2>&1
RC=$?
okx "missing program: exit 127, one line" \
	'[ $RC = 127 ] && [ "$(wc -l <"$T/miss.out")" = 1 ] && grep -q "^udpnetsim: no-such-program-here: No such file" "$T/miss.out"'
timeout 5 "$NS" --netsim 'loss 1%' >"$T/none.out" 2>&1
RC=$?
okx "no program: exit 2, one line" '[ $RC = 2 ] && [ "$(wc -l <"$T/none.out")" = 1 ]'
timeout 5 "$NS" --bogus -- true >"$T/opt.out" 2>&1
RC=$?
okx "unknown option: exit 2" '[ $RC = 2 ] && grep -q "unknown option" "$T/opt.out"'
timeout 5 "$NS" --netsim 'loss 50%' -- sh -c 'exit 7'
RC=$?
ok "the program's exit status is udpnetsim's" [ "$RC" = 7 ]

# --- the seeded loss pattern is udpsend's --------------------------------------
N=60
peer c1 count 1
timeout 20 "$NS" --stats --netsim 'loss 30% seed 7' -- python3 "$PEER" send "$PORT" "$N" 2>"$T/s1.err"
wait "${PIDS[-1]}"
peer c2 count 1
seq 0 $((N - 1)) | timeout 20 "$SEND" --netsim 'loss 30% seed 7' 127.0.0.1 "$PORT" 2>"$T/s2.err"
wait "${PIDS[-1]}"
got1=$(sed -n 2p "$T/c1.out") got2=$(sed -n 2p "$T/c2.out")
n1=$(echo "$got1" | wc -w)
okx "loss 30% seed 7: same datagrams arrive as with udpsend ($n1 of $N)" \
	'[ -n "$got1" ] && [ "$got1" = "$got2" ] && [ "$n1" -lt "$N" ] && [ "$n1" -gt $((N / 2)) ]'
okx "--stats: counters of the outgoing model at exit" \
	'grep -Eq "^udpnetsim: socket 0 \(fd [0-9]+\) out: in=$N passed=$n1 lost=$((N - n1)) .* seed=7$" "$T/s1.err"'

# --- delays, measured by round trips, under every way of waiting ---------------
for how in block timeout select poll epoll early; do
	peer "e_$how" echo 10
	timeout 20 "$NS" --netsim-in 'delay 50ms' -- python3 "$PEER" client "$PORT" 4 "$how" \
		>"$T/rtt_$how.out" 2>"$T/rtt_$how.err"
	RC=$?
	rtts=$(cat "$T/rtt_$how.out")
	okx "--netsim-in 'delay 50ms', $how receiver: every round trip 50..400 ms ($rtts)" \
		'[ $RC = 0 ] && [ -n "$rtts" ] && echo "$rtts" | awk "{for(i=1;i<=NF;i++) if(\$i<50||\$i>400) exit 1; exit NF!=4}"'
	kill "${PIDS[-1]}" 2>/dev/null
done

# threads, IPv6, both directions delayed: 4 sockets, one model pair each
peer e6 echo 10 ::1
timeout 20 "$NS" --stats --netsim 'delay 10ms 5ms' --netsim-in 'delay 10ms' -- \
	python3 "$PEER" threads "$PORT" >"$T/thr.out" 2>"$T/thr.err"
RC=$?
okx "4 threads on ::1, both directions delayed: every reply right" \
	'[ $RC = 0 ] && [ "$(cat "$T/thr.out")" = ok ] && [ "$(grep -c " in: in=10 passed=10 " "$T/thr.err")" = 4 ]'
kill "${PIDS[-1]}" 2>/dev/null

# outgoing delay: the program exits at once; the library still sends them
peer c3 count 1
timeout 20 "$NS" --stats --netsim 'delay 50ms' -- python3 "$PEER" send "$PORT" 20 2>"$T/s3.err"
wait "${PIDS[-1]}"
okx "--netsim 'delay 50ms': datagrams delayed at exit still leave (20 of 20)" \
	'[ "$(sed -n 2p "$T/c3.out" | wc -w)" = 20 ]'
okx "--stats: delayed=20 and a random seed shown in the spec" \
	'grep -Eq "out: in=20 passed=20 lost=0 delayed=20 .* seed=[0-9]+$" "$T/s3.err" && grep -q "out .delay 50ms seed [0-9]*." "$T/s3.err"'

# --- TCP passes untouched -------------------------------------------------------
peer t tcpecho 10
timeout 20 "$NS" --stats --netsim 'loss 100%' --netsim-in 'loss 100%' -- \
	python3 "$PEER" tcpclient "$PORT" >"$T/tcp.out" 2>"$T/tcp.err"
RC=$?
okx "TCP is untouched by 'loss 100%' both ways" '[ $RC = 0 ] && [ "$(cat "$T/tcp.out")" = "over tcp" ]'
okx "--stats with no UDP socket says so" 'grep -q "used no UDP socket" "$T/tcp.err"'

# and UDP with loss 100% really loses: the client times out
peer e_loss echo 5
timeout 20 "$NS" --netsim 'loss 100%' -- python3 "$PEER" client "$PORT" 1 select >/dev/null 2>&1
RC=$?
ok "UDP under 'loss 100%' gets no reply" [ "$RC" != 0 ]

# --- the man page ---------------------------------------------------------------
if command -v man >/dev/null; then
	w=$(MANWIDTH=80 man --warnings -l "$TOP/docs/man/udpnetsim.1" 2>&1 >"$T/man.txt")
	miss=
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" ENVIRONMENT LIMITATIONS EXAMPLES "SEE ALSO"; do
		grep -q "^$s" "$T/man.txt" || miss="$miss $s"
	done
	ok "man -l udpnetsim.1 renders cleanly with all sections" [ -z "$w$miss" ]
else
	skip "man page udpnetsim.1" "no man"
fi

e2e_summary
