#!/bin/bash
# udpsend -r -> udprecv -r over 127.0.0.1 / ::1: messages arrive exactly once
# (in order with --ordered) under seeded loss and reordering, many senders at
# once, files byte-identical (also through udprelay with loss, duplication
# and reordering), udpsend's exit status tells delivery truthfully (nobody
# listening, receiver killed), --stats/--json, the progress bar on a pty,
# and the embedding example (tests/helpers/rel_example.c).
. "$(dirname "$0")/lib.bash"
RELAY=$BIN/udprelay
HELP=${UDPKIT_HELPERS:-$TOP/build/helpers}
BIG_MB=100


# rsnd SECS ARGS...: udpsend -r bounded by SECS; stderr in $T/last.err, sets SRC.
rsnd() {
	local secs=$1; shift
	timeout -k 2 "$secs" "$SEND" -r "$@" 2>"$T/last.err"
	SRC=$?
}

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

seq -f 'line %04g' 1 1000 >"$T/lines"

# --- text messages, v4 and v6 ---------------------------------------------------
start_recv v4 -r -c 1000 127.0.0.1 0
rpid=$RPID
rsnd 20 --ordered 127.0.0.1 "$PORT" <"$T/lines"
wait_pid "$rpid" 10
okx "v4: 1000 lines delivered in order, both exit 0" \
	'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s "$T/lines" "$T/v4.out"'

start_recv v6 -r -c 3 ::1 0
rpid=$RPID
rsnd 10 "[::1]:$PORT" "hello six"
rsnd 10 ::1 "$PORT" two words
printf 'x\ty\n' | rsnd 10 ::1 "$PORT"
wait_pid "$rpid" 10
okx "v6: three sessions, each message printed once (text format)" \
	'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && [ "$(sort "$T/v6.out")" = "$(printf "hello six\ntwo words\nx\\\\ty\n" | sort)" ]'

# --- loss on the way out, reordering on the way in -----------------------------
start_recv ord -r -c 1000 --netsim-in 'delay 2ms reorder 30% seed 2' 127.0.0.1 0
rpid=$RPID
rsnd 30 --ordered --stats --netsim 'loss 20% seed 1' 127.0.0.1 "$PORT" <"$T/lines"
wait_pid "$rpid" 10
okx "--ordered under 'loss 20%' out and 'reorder 30%' in: all, in order" \
	'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s "$T/lines" "$T/ord.out"'
retr=$(sed -n 's/.* retransmits=\([0-9]*\).*/\1/p' "$T/last.err")
ok "sender --stats: per-peer rtt/rto/retransmits/goodput, retransmits > 0 ($retr)" \
	grep -q 'peer=127.0.0.1:[0-9]* state=closed messages=1000 .*goodput_mbps=.*rtt_ms=.*rto_ms=.*retransmits=[1-9]' "$T/last.err"

start_recv rdm -r -c 1000 127.0.0.1 0
rpid=$RPID
rsnd 30 --netsim 'loss 20% seed 3' 127.0.0.1 "$PORT" <"$T/lines"
wait_pid "$rpid" 10
okx "rdm (no --ordered) under loss: every line exactly once" \
	'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && [ "$(sort "$T/rdm.out")" = "$(cat "$T/lines")" ]'

# --- many senders at once ---------------------------------------------------------
start_recv many -r -c 250 --stats --json 127.0.0.1 0
rpid=$RPID
spids=()
for i in 1 2 3 4 5; do
	seq -f "s$i %03g" 1 50 | timeout 30 "$SEND" -r --netsim "loss 10% seed $i" 127.0.0.1 "$PORT" 2>"$T/s$i.err" &
	spids+=($!)
done
src=0
for p in "${spids[@]}"; do wait "$p" || src=1; done
wait_pid "$rpid" 10
lines=$(python3 -c 'import json,sys; [print(json.loads(l)["data"]) for l in open(sys.argv[1])]' "$T/many.out" 2>/dev/null)
okx "5 senders x 50 at once: 250 received, no duplicate, all senders exit 0" \
	'[ "$src" = 0 ] && [ "$RC" = 0 ] && [ "$(printf "%s\n" "$lines" | wc -l)" = 250 ] && [ -z "$(printf "%s\n" "$lines" | sort | uniq -d)" ] && [ "$(printf "%s\n" "$lines" | sort)" = "$(for i in 1 2 3 4 5; do seq -f "s$i %03g" 1 50; done | sort)" ]'
okx "receiver --stats --json: one JSON object per sender with rtt/rto/retransmits/goodput" \
	'python3 -c "
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith(\"{\")]
assert len(objs) == 5, objs
for o in objs:
    # closing: our FIN was delivered but the sender, done, exited before
    # its ack of it got through the seeded 10 % loss (which draws fall on
    # which packet moved when PMTU probes joined the traffic)
    assert o[\"messages\"] == 50 and o[\"state\"] in (\"closed\", \"closing\")
    for k in (\"rtt_ms\", \"rto_ms\", \"retransmits\", \"goodput_bps\", \"loss_pct\", \"dups\"):
        assert k in o, k
" "$T/many.err"'

# --- sealed (-k): the reliable protocol inside sealed datagrams -----------------
if "$BIN/udpkey" genkey -o "$T/key" 2>/dev/null; then
	start_recv sealed -r -k "$T/key" -c 1000 --stats 127.0.0.1 0
	rpid=$RPID
	rsnd 30 -k "$T/key" --ordered --netsim 'loss 10% seed 8' 127.0.0.1 "$PORT" <"$T/lines"
	wait_pid "$rpid" 10
	okx "-r with -k under 'loss 10%': all in order, sealed on the wire" \
		'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s "$T/lines" "$T/sealed.out" && grep -q "seal: .*opened=[1-9]" "$T/sealed.err"'
else
	fail "udpkey genkey"
fi

# --- files ------------------------------------------------------------------------
head -c 5000000 /dev/urandom >"$T/f5"
start_recv f5 -r --raw -w 5 127.0.0.1 0
rpid=$RPID
rsnd 60 --whole --stats --json --netsim 'loss 10% seed 4' 127.0.0.1 "$PORT" <"$T/f5"
kill "$rpid" 2>/dev/null; wait_pid "$rpid" 5
okx "5 MB file with 'loss 10%': exit 0, sha256 identical" \
	'[ "$SRC" = 0 ] && [ "$(sha256sum <"$T/f5")" = "$(sha256sum <"$T/f5.out")" ]'
okx "sender --stats --json: retransmits > 0, 6 messages (64 KiB, then 1 MiB or less)" \
	'python3 -c "
import json, sys
o = [json.loads(l) for l in open(sys.argv[1]) if l.startswith(\"{\")][0]
assert o[\"retransmits\"] > 0 and o[\"messages\"] == 6 and o[\"bytes\"] == 5000000, o
" "$T/last.err"'

# through udprelay: loss, duplication and reordering (reorder needs a delay),
# with each congestion control (bbr is the default)
head -c $((BIG_MB * 1000000)) /dev/urandom >"$T/big"
big_sum=$(sha256sum <"$T/big")
relay_file() { # NAME CC
	start_recv "$1" -r --raw 127.0.0.1 0
	local rpid=$RPID
	start_relay "$1" --netsim 'loss 5% duplicate 1% reorder 5% delay 1ms seed 5' \
		127.0.0.1:0 "127.0.0.1:$PORT"
	local t0=$(date +%s%N)
	rsnd 240 --whole --stats --cc "$2" 127.0.0.1 "$XPORT" <"$T/big"
	MS=$(ms_since "$t0")
	kill "$rpid" "$XPID" 2>/dev/null; wait_pid "$rpid" 5
	echo "# $BIG_MB MB through udprelay, --cc $2: $MS ms,$(grep -o ' retransmits=[0-9]*' "$T/last.err")"
}
for cc in bbr reno none; do
	relay_file "big_$cc" $cc
	okx "$BIG_MB MB through udprelay 'loss 5% duplicate 1% reorder 5% delay 1ms', --cc $cc: sha256 identical" \
		'[ "$SRC" = 0 ] && [ "$(sha256sum <"$T/big_$cc.out")" = "$big_sum" ]'
	rm -f "$T/big_$cc.out"
done
rm -f "$T/big"

# --- exit status tells the truth ----------------------------------------------------
start_recv gone -w 0.1 127.0.0.1 0 # a port that was free a moment ago
wait_pid "$RPID" 5
t0=$(date +%s%N)
rsnd 10 --timeout 2 127.0.0.1 "$PORT" hello
ms=$(ms_since "$t0")
okx "nobody listening: exit 1 within --timeout 2 ($ms ms) with a clear message" \
	'[ "$SRC" = 1 ] && [ "$ms" -le 3500 ] && grep -qx "udpsend: no answer from 127.0.0.1:$PORT (is udprecv -r listening?)" "$T/last.err"'

head -c 30000000 /dev/urandom >"$T/f30"
start_recv kill -r --raw 127.0.0.1 0
rpid=$RPID
timeout 60 "$SEND" -r --whole --timeout 2 --netsim 'delay 2ms' 127.0.0.1 "$PORT" <"$T/f30" 2>"$T/kill.serr" &
spid=$!
for _ in $(seq 500); do [ "$(stat -c %s "$T/kill.out")" -ge 2000000 ] && break; sleep 0.02; done
kill -9 "$rpid"
wait "$rpid" 2>/dev/null # reaped here, without the shell's "Killed" notice
t0=$(date +%s%N)
wait_pid "$spid" 10
ms=$(ms_since "$t0")
okx "receiver killed mid-transfer: exit 1 with 'peer gone' ($ms ms after the kill)" \
	'[ "$RC" = 1 ] && [ "$ms" -le 4000 ] && grep -q "udpsend: peer gone: 127.0.0.1:$PORT stopped answering" "$T/kill.serr"'

start_recv happy -r --raw -c 1 127.0.0.1 0
rpid=$RPID
rsnd 10 --whole 127.0.0.1 "$PORT" <"$T/lines"
wait_pid "$rpid" 5
okx "happy path: exit 0 after the close, receiver -c 1 exits 0" \
	'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s "$T/lines" "$T/happy.out"'

start_recv early -r -c 3 127.0.0.1 0
rpid=$RPID
(for i in 1 2 3 4 5 6; do echo "$i"; sleep 0.2; done) | rsnd 10 --ordered 127.0.0.1 "$PORT"
wait_pid "$rpid" 5
okx "receiver -c 3 closes early: it exits 0, the sender exits 1 saying 3 were delivered" \
	'[ "$SRC" = 1 ] && [ "$RC" = 0 ] && [ "$(cat "$T/early.out")" = "$(seq 3)" ] && grep -q "closed the session: 3 message(s) delivered" "$T/last.err"'

start_recv idle -r -w 0.3 127.0.0.1 0
wait_pid "$RPID" 5
ok "udprecv -r -w with nothing received: exit 3" [ "$RC" = 3 ]
rsnd 5 -w 1 127.0.0.1 9 x
ok "udpsend -r -w (no replies in reliable mode): usage error 2" [ "$SRC" = 2 ]
start_recv foreign -r -w 1 127.0.0.1 0
rpid=$RPID
snd 127.0.0.1 "$PORT" not reliable
wait_pid "$rpid" 5
okx "udprecv -r says when plain datagrams arrive, prints nothing, exit 3" \
	'[ "$RC" = 3 ] && [ ! -s "$T/foreign.out" ] && grep -q "is the sender using -r?" "$T/foreign.err"'
snd --ordered 127.0.0.1 9 x
okx "--ordered without -r: usage error 2 naming it" '[ "$SRC" = 2 ] && grep -q -- "--ordered needs -r" "$T/last.err"'

# --- --once: the file receiver (README), and its failures ----------------------------
head -c 3000000 /dev/urandom >"$T/f3"
start_recv once -r --raw --once 127.0.0.1 0
rpid=$RPID
rsnd 30 --whole --netsim 'loss 10% seed 9' 127.0.0.1 "$PORT" <"$T/f3" && echo delivered >"$T/once.ok"
wait_pid "$rpid" 5
okx "udprecv -r --raw --once: exits 0 after the sender's close, file identical" \
	'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && [ -s "$T/once.ok" ] && cmp -s "$T/f3" "$T/once.out"'
# --whole maps a regular file in 16 MiB windows: a file over two windows,
# read from an offset that is no page boundary (the part before it is not
# sent), arrives whole; and so does an empty one.
head -c 35000123 /dev/urandom >"$T/f35"
start_recv mapped -r --raw --once 127.0.0.1 0
rpid=$RPID
{ dd bs=4097 count=1 of=/dev/null status=none && rsnd 60 --whole 127.0.0.1 "$PORT"; } <"$T/f35"
wait_pid "$rpid" 10
tail -c +4098 "$T/f35" >"$T/f35.tail"
okx "--whole from a file at an odd offset, over two map windows: the rest arrives identical" \
	'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s "$T/f35.tail" "$T/mapped.out"'
: >"$T/empty"
start_recv mapped0 -r --raw --once 127.0.0.1 0
rpid=$RPID
rsnd 20 --whole 127.0.0.1 "$PORT" <"$T/empty"
wait_pid "$rpid" 10
okx "--whole from an empty file: exit 0, nothing written" \
	'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && [ -e "$T/mapped0.out" ] && [ ! -s "$T/mapped0.out" ]'
start_recv once2 -r --once 127.0.0.1 0
rpid=$RPID
(echo first; sleep 1; echo last) | timeout 20 "$SEND" -r 127.0.0.1 "$PORT" 2>"$T/once2.serr" &
spid=$!
wait_lines "$T/once2.out" 1 5
rsnd 10 --timeout 1 127.0.0.1 "$PORT" intruder
src2=$SRC
wait_pid "$spid" 10
src1=$RC
wait_pid "$rpid" 5
okx "--once serves one sender: a second gets no ACCEPT (exit 1), the first's lines only" \
	'[ "$src2" = 1 ] && [ "$src1" = 0 ] && [ "$RC" = 0 ] && [ "$(cat "$T/once2.out")" = "$(printf "first\nlast")" ]'
start_recv once3 -r --once --timeout 1 127.0.0.1 0
rpid=$RPID
mkfifo "$T/once3.in"
"$SEND" -r 127.0.0.1 "$PORT" <"$T/once3.in" 2>/dev/null & # killed below (or by the trap)
spid=$!
PIDS+=("$spid")
exec {ofd}>"$T/once3.in"
echo one >&"$ofd"
wait_lines "$T/once3.out" 1 5
kill -9 "$spid" 2>/dev/null # as if it crashed
exec {ofd}>&-
wait "$spid" 2>/dev/null # reaped here, without the shell's "Killed" notice
wait_pid "$rpid" 5
okx "--once: the sender dies, exit 1 with one line saying what is missing" \
	'[ "$RC" = 1 ] && [ "$(grep -c "went silent for 1 s before closing the session: 1 message(s)" "$T/once3.err")" = 1 ]'
"$RECV" --once 127.0.0.1 0 2>"$T/last.err"
urc=$?
okx "--once without -r: usage error 2" '[ "$urc" = 2 ] && grep -q -- "--once needs -r" "$T/last.err"'
"$RECV" -r --once -c 1 127.0.0.1 0 2>"$T/last.err"
urc=$?
okx "--once with -c: usage error 2" '[ "$urc" = 2 ]'

# --- the closing handshake does not hold the shell ----------------------------------
# 20% loss into both ends: the receiver exits at most FIN_QUIET (0.3 s) after
# the sender when the last acks are lost, at once otherwise.  A loaded box
# may delay one run, so 8 of 10 within 0.5 s.
seq 100 >"$T/l100"
fast=0
lat=()
for i in $(seq 10); do
	start_recv fin -r -c 100 --netsim-in "loss 20% seed $((20 + i))" 127.0.0.1 0
	rpid=$RPID
	rsnd 20 --netsim-in "loss 20% seed $((40 + i))" 127.0.0.1 "$PORT" <"$T/l100"
	t0=$(date +%s%N)
	for _ in $(seq 250); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.01; done
	ms=$(ms_since "$t0")
	wait_pid "$rpid" 5
	lat+=("$ms")
	[ "$SRC" = 0 ] && [ "$RC" = 0 ] && [ "$ms" -le 500 ] && fast=$((fast + 1))
done
echo "# receiver exit after the sender's, 20% loss both ways (ms): ${lat[*]}"
ok "closing under 20% loss: receiver within 0.5 s of the sender in $fast of 10 runs (>= 8)" [ "$fast" -ge 8 ]

# --- progress bar on a terminal ------------------------------------------------------
if command -v script >/dev/null 2>&1; then
	start_recv pty -r --raw -w 5 127.0.0.1 0
	rpid=$RPID
	timeout 30 script -qec "'$SEND' -r --whole --netsim 'loss 5% seed 6' 127.0.0.1 $PORT <'$T/f5'" /dev/null >"$T/pty.txt" 2>&1
	src=$?
	kill "$rpid" 2>/dev/null; wait_pid "$rpid" 5
	okx "progress bar on a pty: bytes, total, 100%, rate, retransmissions" \
		'[ "$src" = 0 ] && tr "\r" "\n" <"$T/pty.txt" | grep -q "4.8 MiB / 4.8 MiB  100%  .*B/s  retrans [0-9]"'
	start_recv nopty -r --raw -w 5 127.0.0.1 0
	rpid=$RPID
	rsnd 30 --whole 127.0.0.1 "$PORT" <"$T/f5"
	kill "$rpid" 2>/dev/null; wait_pid "$rpid" 5
	ok "no progress bar when stderr is not a tty" [ "$SRC" = 0 -a ! -s "$T/last.err" ]
else
	skip "progress bar on a pty" "no script(1)"
fi

# --- the embedding example ------------------------------------------------------------
: >"$T/ex.err"
"$HELP/rel_example" server 127.0.0.1:0 2>"$T/ex.err" &
xpid=$!
PIDS+=("$xpid")
for _ in $(seq 250); do grep -q 'listening on' "$T/ex.err" && break; sleep 0.02; done
xport=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$T/ex.err")
out=$(timeout 10 "$HELP/rel_example" client "127.0.0.1:$xport" one two "three four")
exrc=$?
okx "rel_example: echo over the driver in its own poll loop" \
	'[ "$exrc" = 0 ] && [ "$out" = "$(printf "one\ntwo\nthree four")" ]'

e2e_summary
