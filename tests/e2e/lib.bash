# lib.bash - shared by the udpsend/udprecv end-to-end scripts (sourced;
# not run by tests/run.sh itself, which runs tests/e2e/*.sh).
#
# Every wait is bounded, every background process is killed on exit, and
# the receivers' ports are read from their "listening on" lines.
set -u
shopt -s lastpipe # so "producer | snd" sets SRC in this shell
TOP=${UDPKIT_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${UDPKIT_BIN:-$TOP/build/bin}
SEND=$BIN/udpsend
RECV=$BIN/udprecv
T=$(mktemp -d)
PIDS=()
NPASS=0
NFAIL=0

e2e_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.02; done
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap e2e_cleanup EXIT

pass() { echo "PASS: $1"; NPASS=$((NPASS + 1)); }
fail() { echo "FAIL: $1${2:+ -- $2}"; NFAIL=$((NFAIL + 1)); }
skip() { echo "SKIP: $1${2:+ -- $2}"; }
# ok NAME COMMAND...: PASS if the command succeeds
ok() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n" "$(tail -c 400 "$T"/last.err 2>/dev/null)"; fi; }

# okx NAME 'SHELL CONDITION': the same for a compound condition (eval'd)
okx() { if eval "$2"; then pass "$1"; else fail "$1" "$(tail -c 400 "$T"/last.err 2>/dev/null)"; fi; }

# start_recv NAME ARGS...: udprecv in the background, stdout in $T/NAME.out,
# stderr in $T/NAME.err; waits (bounded) for "listening on"; sets RPID,
# PORT and LADDR (the text after "listening on ").
start_recv() {
	local name=$1; shift
	: >"$T/$name.err"
	"$RECV" "$@" >"$T/$name.out" 2>"$T/$name.err" &
	RPID=$!
	PIDS+=("$RPID")
	PORT= LADDR=
	for _ in $(seq 250); do
		grep -q 'listening on' "$T/$name.err" && break
		kill -0 "$RPID" 2>/dev/null || break
		sleep 0.02
	done
	LADDR=$(sed -n 's/^udprecv: listening on //p' "$T/$name.err" | head -n 1)
	PORT=${LADDR##*:}
}

# wait_pid PID SECS: waits at most SECS for PID; sets RC (124 and kills it
# when it did not end in time).
wait_pid() {
	local pid=$1 n=$(( $2 * 50 ))
	for _ in $(seq "$n"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		RC=124
	else
		wait "$pid"
		RC=$?
	fi
}

# wait_catches PID SIGNUM SECS: until PID handles signal SIGNUM (its SigCgt
# mask in /proc), so a signal sent next is the tool's to handle, not one
# that kills it by default before it got that far (bounded)
wait_catches() {
	local m
	for _ in $(seq $(( $3 * 50 ))); do
		m=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
		[ -n "$m" ] && (( (16#$m >> ($2 - 1)) & 1 )) && return 0
		sleep 0.02
	done
	return 1
}

# udp_drained PORT: the 127.0.0.1:PORT UDP socket exists and its receive
# queue is empty: its owner has read every datagram the kernel kept
udp_drained() {
	awk -v p="$(printf '0100007F:%04X' "$1")" '$2 == p { split($5, q, ":"); e = (q[2] + 0 == 0) } END { exit !e }' /proc/net/udp
}
# stop_drained PID PORT: once PORT is drained (bounded), SIGINT to PID and
# wait for it (sets RC): ends a receiver that must not end on its own
# (a short -w runs out while a loaded box is still starting the sender)
stop_drained() {
	for _ in $(seq 250); do udp_drained "$2" && break; sleep 0.02; done
	kill -INT "$1" 2>/dev/null
	wait_pid "$1" 10
}

# wait_lines FILE N SECS: until FILE has at least N lines (bounded).
wait_lines() {
	for _ in $(seq $(( $3 * 50 ))); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.02
	done
	return 1
}

# snd ARGS...: udpsend with a bound, stderr kept in $T/last.err; sets SRC.
# The bound is for hangs: a passphrase's Argon2id under ASan on a loaded
# box took more than 10 s.
snd() {
	timeout -k 2 30 "$SEND" "$@" 2>"$T/last.err"
	SRC=$?
	return $SRC
}

e2e_summary() {
	echo "# $NPASS passed, $NFAIL failed"
	[ "$NFAIL" -eq 0 ]
}

# start_relay NAME ARGS...: udprelay in the background (stderr in $T/NAME.rerr),
# bounded wait for its "listening on" line; sets XPID and XPORT.
start_relay() {
	local name=$1; shift
	: >"$T/$name.rerr"
	"$BIN/udprelay" "$@" 2>"$T/$name.rerr" &
	XPID=$!
	PIDS+=("$XPID")
	XPORT=
	for _ in $(seq 250); do
		grep -q 'listening on' "$T/$name.rerr" && break
		kill -0 "$XPID" 2>/dev/null || break
		sleep 0.02
	done
	XPORT=$(sed -n 's/^udprelay: listening on [^,]*:\([0-9]*\),.*/\1/p' "$T/$name.rerr" | head -n 1)
}

# udpchat peers fed through FIFOs (udpchat.sh, hostile.sh, hostile_chat.sh).
# chat_start NAME [ARGS...]: starts "$CHAT_CMD... udpchat --json --nick NAME
# ARGS" with stdin from $T/NAME.in (kept open on slot CFD[NAME]), stdout and
# stderr to $T/NAME.out and $T/NAME.err; waits (bounded) for its "listening
# on" line and sets CPORT to its data port. CHAT_CMD (an array) may prefix
# the command, e.g. (timeout -k 2 40).
declare -A CFD CPID
CHAT_CMD=()
chat_start() {
	local name=$1; shift
	mkfifo "$T/$name.in"
	# the child must not hold the other peers' FIFOs open (their EOF)
	( for f in "${CFD[@]}"; do eval "exec $f>&-"; done
	  exec "${CHAT_CMD[@]}" "$BIN/udpchat" --json --nick "$name" "$@" \
		<"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" ) &
	CPID[$name]=$!
	PIDS+=("${CPID[$name]}")
	exec {fd}>"$T/$name.in"
	CFD[$name]=$fd
	for _ in $(seq 250); do
		grep -q 'listening on' "$T/$name.err" && break
		sleep 0.02
	done
	CPORT=$(sed -n 's/.* listening on .*:\([0-9]*\).*/\1/p' "$T/$name.err" | head -n 1)
}
chat_say() { echo "$2" >&"${CFD[$1]}"; }
# chat_stop NAME [SECS]: end of input, then a bounded wait for its exit status
chat_stop() { local fd=${CFD[$1]}; exec {fd}>&-; wait_pid "${CPID[$1]}" "${2:-10}"; }
# wait_grep FILE PATTERN COUNT SECS: until FILE has COUNT lines matching
wait_grep() {
	for _ in $(seq $(( $4 * 20 ))); do
		[ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
		sleep 0.05
	done
	return 1
}
