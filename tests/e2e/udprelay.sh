#!/bin/bash
# udpsend -> udprelay -> udprecv over 127.0.0.1 / ::1: seeded loss matches the
# library model exactly, corruption and duplication show, replies come back,
# an arbitrary (python3) program works through it, bad specs are refused.
. "$(dirname "$0")/lib.bash"
RELAY=$BIN/udprelay
HELP=${UDPKIT_HELPERS:-$TOP/build/helpers}
N=1000


seq -f 'line %04g' 1 $N >"$T/lines"

# relay_run NAME SPEC: udpsend (the N lines) -> udprelay --netsim SPEC -> udprecv
relay_run() {
	start_recv "$1" -w 2 127.0.0.1 0
	local rpid=$RPID
	start_relay "$1" --stats -w 3 --netsim "$2" 127.0.0.1:0 "127.0.0.1:$PORT"
	snd --rate 20000 127.0.0.1 "$XPORT" <"$T/lines"
	wait_pid "$rpid" 20
	wait_pid "$XPID" 10
}

field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }

# --- loss: exactly the model's count -----------------------------------------
relay_run loss 'loss 30% seed 7'
want=$("$HELP/netsim_expect" 'loss 30% seed 7' $N 9 | field passed)
got=$(wc -l <"$T/loss.out")
ok "loss 30% seed 7: received count is the model's ($want of $N)" [ -n "$want" -a "$got" = "$want" ]
okx "received lines are sent lines, in order" '[ "$(grep -vxF -f "$T/lines" "$T/loss.out" | wc -l)" = 0 ] && sort -c "$T/loss.out"'
okx "relay exits 0 and its --stats show the losses" \
	'[ "$RC" = 0 ] && grep -q "client->target: $N received, $want forwarded, $((N - want)) lost" "$T/loss.rerr"'

# --- corruption: the differing lines are the model's count --------------------
relay_run corrupt 'corrupt 50% seed 3'
want=$("$HELP/netsim_expect" 'corrupt 50% seed 3' $N 9 | field corrupted)
differ=$(paste -d '\n' "$T/lines" "$T/corrupt.out" | paste - - | awk -F '\t' '$1 != $2' | wc -l)
ok "corrupt 50% seed 3: all $N arrive" [ "$(wc -l <"$T/corrupt.out")" = $N ]
ok "corrupted lines differ from the originals ($want of them)" [ -n "$want" -a "$want" -gt 0 -a "$differ" = "$want" ]

# --- duplication: every line twice -------------------------------------------
relay_run dup 'duplicate 100%'
okx "duplicate 100%: every line arrives twice" \
	'[ "$(wc -l <"$T/dup.out")" = $((2 * N)) ] && [ "$(uniq -c "$T/dup.out" | awk "\$1 != 2" | wc -l)" = 0 ] && [ "$(uniq "$T/dup.out")" = "$(cat "$T/lines")" ]'

# --- replies flow back through the relay -------------------------------------
start_recv echo --echo -w 5 127.0.0.1 0
echo_pid=$RPID
start_relay echo -w 5 127.0.0.1:0 "127.0.0.1:$PORT"
reply=$(snd -w 1 127.0.0.1 "$XPORT" ping through)
ok "reply from udprecv --echo comes back through the relay" [ "$reply" = "ping through" ]
reply=$(snd -w 1 "[::1]:$XPORT" x 2>/dev/null)
ok "a client the listening address does not cover gets nothing" [ -z "$reply" ]
kill "$XPID" "$echo_pid" 2>/dev/null

start_recv echo6 --echo -w 5 ::1 0
start_relay echo6 -w 5 --netsim-in 'delay 50ms' "[::1]:0" "[::1]:$PORT"
t0=$(date +%s%N)
reply=$(snd -w 1 "[::1]:$XPORT" six)
t1=$(date +%s%N)
ok "IPv6 both sides, --netsim-in delays the reply (>= 50 ms)" [ "$reply" = six -a $(( (t1 - t0) / 1000000 )) -ge 50 ]

# --- an arbitrary program: python3 client and server, 10% loss (README) -------
if command -v python3 >/dev/null 2>&1; then
	cat >"$T/server.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(5)
try:
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(b"re: " + data, peer)
except socket.timeout:
    pass
PY
	cat >"$T/client.py" <<'PY'
import socket, sys
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(0.3)
got = 0
for i in range(int(sys.argv[2])):
    c.sendto(b"hello %d" % i, ("127.0.0.1", int(sys.argv[1])))
    try:
        if c.recv(2048) == b"re: hello %d" % i:
            got += 1
    except socket.timeout:
        pass
print(got)
PY
	python3 "$T/server.py" >"$T/py.port" &
	PIDS+=("$!")
	for _ in $(seq 250); do [ -s "$T/py.port" ] && break; sleep 0.02; done
	start_relay py -w 5 --netsim 'loss 10% seed 1' 127.0.0.1:0 "127.0.0.1:$(cat "$T/py.port")"
	got=$(timeout 30 python3 "$T/client.py" "$XPORT" 50)
	want=$("$HELP/netsim_expect" 'loss 10% seed 1' 50 | field passed)
	ok "python3 client/server through the relay at loss 10% ($want of 50 answered)" [ "$got" = "$want" -a "$want" -lt 50 ]
else
	skip "python3 client/server through the relay" "no python3"
fi

# --- malformed specs: exit 2, one line naming the word and the reason ---------
bad() { # NAME EXPECTED-TEXT ARGS...
	local name=$1 want=$2; shift 2
	timeout 5 "$RELAY" "$@" 127.0.0.1:0 127.0.0.1:9 >/dev/null 2>"$T/last.err"
	local rc=$?
	okx "$name" '[ "$rc" = 2 ] && [ "$(wc -l <"$T/last.err")" -le 2 ] && grep -qF -- "$want" "$T/last.err"'
}
bad "unknown word refused" "--netsim: unknown word 'lose'" --netsim 'lose 5%'
bad "bad percentage refused" "--netsim-in: loss: '150%'" --netsim-in 'loss 150%'
bad "missing value refused" "delay" --netsim 'delay'
bad "word given twice refused" "'loss' given twice" --netsim 'loss 1% loss 2%'
bad "reorder without delay refused" "reorder" --netsim 'reorder 5%'
bad "bad rate refused" "rate" --netsim-both 'rate fast'
UDPKIT_NETSIM='lose 1%' bad "bad UDPKIT_NETSIM refused, named" "UDPKIT_NETSIM: unknown word 'lose'"
timeout 5 "$RELAY" --help >"$T/help.out" 2>&1
okx "--help prints usage and exits 0" '[ $? = 0 ] && grep -q "^usage: udprelay" "$T/help.out"'
timeout 5 "$RELAY" --bogus 127.0.0.1:0 127.0.0.1:9 2>"$T/last.err"
okx "unknown option: exit 2" '[ $? = 2 ] && grep -q "unknown option .--bogus." "$T/last.err"'
timeout 5 "$RELAY" 127.0.0.1:0 2>"$T/last.err"
okx "one address: exit 2" '[ $? = 2 ] && grep -q "expected LISTEN and TARGET" "$T/last.err"'
timeout 5 "$RELAY" 127.0.0.1:0 127.0.0.1 2>"$T/last.err"
okx "target without port: exit 2" '[ $? = 2 ] && grep -q "bad target address .127.0.0.1." "$T/last.err"'
timeout 5 "$RELAY" --version >"$T/ver.out"
okx "--version" '[ $? = 0 ] && grep -q "^udprelay (udpkit) " "$T/ver.out"'

e2e_summary
