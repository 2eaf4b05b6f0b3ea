#!/bin/bash
# udpbench server and client over 127.0.0.1 / ::1: reliable transfers arrive
# whole (with loss both ways, and under each --cc), raw mode reports what
# arrived, --json is valid JSON, bad options are usage errors.
. "$(dirname "$0")/lib.bash"
BENCH=$BIN/udpbench

# start_srv NAME ARGS...: a --once server in the background; sets SPID, SPORT.
start_srv() {
	local name=$1; shift
	: >"$T/$name.serr"
	"$BENCH" -s -1 "$@" >"$T/$name.sout" 2>"$T/$name.serr" &
	SPID=$!
	PIDS+=("$SPID")
	SPORT=
	for _ in $(seq 250); do
		grep -q 'listening on' "$T/$name.serr" && break
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.02
	done
	SPORT=$(sed -n 's/^udpbench: listening on .*:\([0-9]*\)$/\1/p' "$T/$name.serr" | head -n 1)
}

# run NAME 'SERVER ARGS' 'CLIENT ARGS' HOST: client output in $T/NAME.cout
run() {
	start_srv "$1" $2
	[ -n "$SPORT" ] || { fail "$1" "no port"; return 1; }
	timeout 60 "$BENCH" $3 -w 20 "$4" "$SPORT" >"$T/$1.cout" 2>"$T/last.err"
	local rc=$?
	wait_pid "$SPID" 10
	return $rc
}

num() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }

if run rel "" "--json -n 2M" 127.0.0.1; then
	okx "rel: all bytes acked" '[ "$(num "$T/rel.cout" bytes)" = $(( (2 * 1048576 / 1200) * 1200 )) ]'
	okx "rel: server got them all" 'grep -q "rel server: $(( (2 * 1048576 / 1200) * 1200 )) bytes" "$T/rel.sout"'
	okx "rel: latency percentiles" 'python3 -c "import json,sys; l=json.load(open(sys.argv[1]))[\"latency_us\"]; assert 0 < l[\"p50\"] <= l[\"p99\"] <= l[\"max\"]" "$T/rel.cout"'
else
	fail "rel: transfer" "$(cat "$T/last.err")"
fi

# netsim specs have blanks: pass them through an array
lossy() { # NAME LOSS CC
	local ln=$1
	start_srv "$1" --netsim-in "loss $2 seed 1"
	timeout 60 "$BENCH" --json --cc "$3" --netsim-in "loss $2 seed 2" -n 1M -w 30 127.0.0.1 "$SPORT" \
		>"$T/$1.cout" 2>"$T/last.err"
	local rc=$?
	wait_pid "$SPID" 10
	okx "rel, $2 loss both ways, --cc $3: whole" \
		'[ $rc = 0 ] && [ "$(num "$T/$ln.cout" bytes)" = $(( (1048576 / 1200) * 1200 )) ] && [ "$(num "$T/$ln.cout" retransmits)" -gt 0 ]'
}
lossy l5bbr 5% bbr
lossy l20bbr 20% bbr
lossy l5reno 5% reno
lossy l5none 5% none

if run v6 "::1 0" "-n 1M" ::1; then
	okx "rel over ::1" 'grep -q "^rel client: 1047600 bytes" "$T/v6.cout"'
else
	fail "rel over ::1" "$(cat "$T/last.err")"
fi

if run raw "-m raw" "-m raw --json -n 1M" 127.0.0.1; then
	okx "raw: report" '[ "$(num "$T/raw.cout" sent)" = 873 ] && [ "$(num "$T/raw.cout" msgs)" -le 873 ]'
else
	fail "raw: report" "$(cat "$T/last.err")"
fi

# sealed: a client without the key gets no answer, one with it gets through
"$BIN/udpkey" genkey -o "$T/key" 2>"$T/last.err"
start_srv sealed -k "$T/key" 127.0.0.1 0
timeout 20 "$BENCH" -n 1M -w 1 127.0.0.1 "$SPORT" >/dev/null 2>"$T/last.err"
okx "plaintext client of a sealed server: exit 3" '[ $? = 3 ]'
timeout 60 "$BENCH" --json -k "$T/key" -n 1M -w 20 127.0.0.1 "$SPORT" >"$T/sealed.cout" 2>"$T/last.err"
okx "sealed rel: whole" '[ $? = 0 ] && [ "$(num "$T/sealed.cout" bytes)" = 1047600 ] && [ "$(num "$T/sealed.cout" sealed)" = True ]'
kill "$SPID" 2>/dev/null

"$BENCH" --cc cubic 127.0.0.1 1 >/dev/null 2>"$T/last.err"
okx "bad --cc is a usage error" '[ $? = 2 ] && grep -q "cubic" "$T/last.err"'
"$BENCH" -m sealed 127.0.0.1 1 >/dev/null 2>"$T/last.err"
okx "bad --mode is a usage error" '[ $? = 2 ]'
"$BENCH" --netsim-in "loss 150%" 127.0.0.1 1 >/dev/null 2>"$T/last.err"
okx "bad --netsim-in is a usage error" '[ $? = 2 ] && grep -q "150" "$T/last.err"'
timeout 20 "$BENCH" -w 0.5 127.0.0.1 9 >/dev/null 2>"$T/last.err"
okx "no server: exit 3 after -w" '[ $? = 3 ]'
"$BENCH" --help | grep -q -- '--netsim'
okx "--help" '[ $? = 0 ]'

echo "udpbench: $NPASS passed, $NFAIL failed"
[ "$NFAIL" -eq 0 ]
