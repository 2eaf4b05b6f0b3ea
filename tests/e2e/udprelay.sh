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

# --- per-client rules: two clients (source 127.0.0.1 and 127.0.0.2) through
# one relay, each meets its own rule's model; a third matches none and gets
# the global --netsim ------------------------------------------------------------
start_recv rules -w 3 127.0.0.1 0
rpid=$RPID
start_relay rules --stats --json -w 3 --netsim 'loss 50% seed 5' \
	--client '127.0.0.1 loss 10% seed 7' --client '127.0.0.2/32 loss 30% seed 7' \
	127.0.0.1:0 "127.0.0.1:$PORT"
sed 's/^/a /' "$T/lines" | snd --rate 20000 -s 127.0.0.1 127.0.0.1 "$XPORT"
sed 's/^/b /' "$T/lines" | snd --rate 20000 -s 127.0.0.2 127.0.0.1 "$XPORT"
sed 's/^/c /' "$T/lines" | snd --rate 20000 -s 127.0.0.3 127.0.0.1 "$XPORT"
wait_pid "$rpid" 20
wait_pid "$XPID" 10
want_a=$("$HELP/netsim_expect" 'loss 10% seed 7' $N 9 | field passed)
want_b=$("$HELP/netsim_expect" 'loss 30% seed 7' $N 9 | field passed)
want_c=$("$HELP/netsim_expect" 'loss 50% seed 5' $N 9 | field passed)
got_a=$(grep -c '^a line' "$T/rules.out")
got_b=$(grep -c '^b line' "$T/rules.out")
got_c=$(grep -c '^c line' "$T/rules.out")
ok "--client 127.0.0.1 'loss 10% seed 7': the model's count ($want_a of $N)" [ -n "$want_a" -a "$got_a" = "$want_a" ]
ok "--client 127.0.0.2/32 'loss 30% seed 7': the model's count ($want_b of $N)" [ -n "$want_b" -a "$got_b" = "$want_b" ]
ok "no rule for 127.0.0.3: the global 'loss 50% seed 5' ($want_c of $N)" [ -n "$want_c" -a "$got_c" = "$want_c" ]
okx "rates bounded: 10% rule loses 5-15%, 30% rule 25-35%" \
	'[ $((N - got_a)) -ge 50 -a $((N - got_a)) -le 150 -a $((N - got_b)) -ge 250 -a $((N - got_b)) -le 350 ]'
okx "--stats --json: one object per client with its rule and counters" \
	'grep -q "^{\"client\":\"127.0.0.1:[0-9]*\",\"rule\":\"127.0.0.1\",\"c2t\":{\"netsim\":\"loss 10% seed 7\",\"received\":$N,\"forwarded\":$want_a,\"lost\":$((N - want_a))," "$T/rules.rerr" &&
	 grep -q "^{\"client\":\"127.0.0.2:[0-9]*\",\"rule\":\"127.0.0.2/32\",\"c2t\":{\"netsim\":\"loss 30% seed 7\",\"received\":$N,\"forwarded\":$want_b," "$T/rules.rerr" &&
	 grep -q "^{\"client\":\"127.0.0.3:[0-9]*\",\"rule\":null,\"c2t\":{\"netsim\":\"loss 50% seed 5\",\"received\":$N,\"forwarded\":$want_c," "$T/rules.rerr" &&
	 grep -q "^{\"direction\":\"client->target\",\"received\":$((3 * N)),\"forwarded\":$((want_a + want_b + want_c))," "$T/rules.rerr"'
start_recv rules6 --echo -w 5 ::1 0
start_relay rules6 -w 5 --client '::1/128 delay 50ms' --client '::/0 loss 100%' "[::1]:0" "[::1]:$PORT"
t0=$(date +%s%N)
reply=$(snd -w 1 "[::1]:$XPORT" six)
t1=$(date +%s%N)
ok "IPv6 rule: first match wins, delay both ways (>= 100 ms)" [ "$reply" = six -a $(( (t1 - t0) / 1000000 )) -ge 100 ]
kill "$XPID" "$RPID" 2>/dev/null

# --- keeping up: a paced 1200-byte stream at a rate the relay must carry on
# a loaded 2-core machine, with nothing to impair: not one datagram lost ------
KN=20000
head -c $((KN * 1200)) /dev/urandom >"$T/kin"
start_recv keep --raw -w 3 127.0.0.1 0
rpid=$RPID
start_relay keep --stats -w 3 127.0.0.1:0 "127.0.0.1:$PORT"
timeout -k 2 30 "$SEND" --chunk 1200 --rate 40000 127.0.0.1 "$XPORT" <"$T/kin" 2>"$T/last.err"
wait_pid "$rpid" 20
wait_pid "$XPID" 10
okx "paced 40000 datagrams/s of 1200 bytes through the relay: zero loss" \
	'cmp -s "$T/kin" "$T/keep.out" && grep -q "client->target: $KN received, $KN forwarded, 0 lost.*0 send errors" "$T/keep.rerr"'

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
bad "--client: bad address refused" "--client: 'localhost' is not a numeric IPv4 or IPv6 address" --client 'localhost loss 1%'
bad "--client: bad prefix refused" "--client: bad prefix length '/33'" --client '127.0.0.1/33 loss 1%'
bad "--client: bad spec refused, naming the rule" "--client 10.0.0.0/8: unknown word 'lose'" --client '10.0.0.0/8 lose 1%'
many=()
for i in $(seq 1 256); do many+=(--client "10.$((i / 256)).$((i % 256)).0/24 loss 1%"); done
start_relay many "${many[@]}" 127.0.0.1:0 127.0.0.1:9
ok "256 --client rules accepted (the limit)" [ -n "$XPORT" ]
kill "$XPID" 2>/dev/null; wait "$XPID" 2>/dev/null
bad "--client: more than 256 rules refused, naming the limit" "--client: too many rules (at most 256)" \
	"${many[@]}" --client '10.9.9.0/24 loss 1%'
okx "... in one line of stderr" '[ "$(wc -l <"$T/last.err")" = 1 ]'
UDPKIT_NETSIM='lose 1%' bad "bad UDPKIT_NETSIM refused, named" "UDPKIT_NETSIM: unknown word 'lose'"
timeout 5 "$RELAY" --pcap /nonexistent/dir/x.pcap 127.0.0.1:0 127.0.0.1:9 2>"$T/last.err"
okx "--pcap to an unwritable path: exit 1, one line" '[ $? = 1 ] && [ "$(wc -l <"$T/last.err")" = 1 ] && grep -q "^udprelay: --pcap /nonexistent/dir/x.pcap: " "$T/last.err"'
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
