#!/bin/bash
# udpchat end to end, inside a fresh network namespace (unshare -n) with
# only lo (multicast on): peers driven through stdin (FIFOs) and read on
# stdout (--json), every wait bounded.
if [ "${E2E_IN_NETNS:-}" != 1 ]; then
	if ! unshare -n true 2>/dev/null; then
		echo "SKIP: udpchat -- cannot create a network namespace (need root)"
		exit 0
	fi
	exec unshare -n env E2E_IN_NETNS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.bash"
CHAT=$BIN/udpchat

ip link set lo up && ip link set lo multicast on || { fail "netns set-up" "ip link"; exit 1; }
ip route add 224.0.0.0/4 dev lo
ip -6 route add local ff00::/8 dev lo table local

# --- command line ------------------------------------------------------------------
"$CHAT" --help >"$T/help" 2>&1
ok "--help: exit 0, usage" [ $? = 0 -a -n "$(grep -c '^Usage: udpchat' "$T/help")" ]
"$CHAT" --bogus >/dev/null 2>"$T/last.err"
okx "bad option: exit 2, one line" '[ $? = 2 ] && [ "$(wc -l <"$T/last.err")" = 1 ] && grep -q "unknown option" "$T/last.err"'
"$CHAT" --away 3 --gone 2 >/dev/null 2>"$T/last.err"
ok "--gone not above --away: exit 2" [ $? = 2 ]
"$CHAT" --nick 'a b' </dev/null >/dev/null 2>"$T/last.err"
ok "bad nickname: exit 2" [ $? = 2 ]

# start_peer NAME ARGS...: udpchat with stdin from a FIFO held open in fd
# slot FD_NAME, stdout to $T/NAME.out; waits for its "listening on" line
# and sets CPORT (its data port).
declare -A FD PID
start_peer() {
	local name=$1; shift
	mkfifo "$T/$name.in"
	# the child must not hold the other peers' FIFOs open (their EOF)
	( for f in "${FD[@]}"; do eval "exec $f>&-"; done
	  exec timeout -k 2 50 "$CHAT" --json --nick "$name" "$@" <"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" ) &
	PID[$name]=$!
	PIDS+=("${PID[$name]}")
	exec {fd}>"$T/$name.in"
	FD[$name]=$fd
	for _ in $(seq 250); do
		grep -q 'listening on' "$T/$name.err" && break
		sleep 0.02
	done
	CPORT=$(sed -n 's/.* listening on .*:\([0-9]*\).*/\1/p' "$T/$name.err" | head -n 1)
}
say() { echo "$2" >&"${FD[$1]}"; }
# stop_peer NAME: end of input, then a bounded wait for exit 0
stop_peer() { local fd=${FD[$1]}; exec {fd}>&-; wait_pid "${PID[$1]}" 10; }
# wait_grep FILE PATTERN COUNT SECS
wait_grep() {
	for _ in $(seq $(( $4 * 20 ))); do
		[ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
		sleep 0.05
	done
	return 1
}

# --- two peers over --peer, no discovery -----------------------------------------------
start_peer ann --no-discovery
start_peer ben --no-discovery --peer "127.0.0.1:$CPORT"
okx "--peer: both see the join" 'wait_grep "$T/ann.out" "\"type\":\"join\",.*\"from\":\"ben#" 1 5 && wait_grep "$T/ben.out" "\"type\":\"join\",.*\"from\":\"ann#" 1 5'
say ann "hello ben"
say ben "/me waves"
okx "--peer: message and /me arrive" 'wait_grep "$T/ben.out" "\"type\":\"msg\".*\"text\":\"hello ben\"" 1 5 && wait_grep "$T/ann.out" "\"type\":\"me\".*\"text\":\"waves\"" 1 5'
stop_peer ann
okx "end of input: exit 0" '[ "$RC" = 0 ]'
okx "... and the other side sees the leave" 'wait_grep "$T/ben.out" "\"type\":\"leave\",.*\"from\":\"ann#" 1 5'
stop_peer ben

e2e_summary
