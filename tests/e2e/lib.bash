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

# wait_lines FILE N SECS: until FILE has at least N lines (bounded).
wait_lines() {
	for _ in $(seq $(( $3 * 50 ))); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.02
	done
	return 1
}

# snd ARGS...: udpsend with a bound, stderr kept in $T/last.err; sets SRC.
snd() {
	timeout -k 2 10 "$SEND" "$@" 2>"$T/last.err"
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
