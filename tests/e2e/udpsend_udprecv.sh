#!/bin/bash
# udpsend -> udprecv over 127.0.0.1, ::1 and AF_UNIX: framing, formats,
# limits, truncation, counts, timeouts, answers, many senders.
. "$(dirname "$0")/lib.bash"

# --- round trips on every kind of address -----------------------------------
start_recv v4 -c 1 127.0.0.1 0
snd 127.0.0.1 "$PORT" hello
wait_pid "$RPID" 5
ok "text roundtrip 127.0.0.1" [ "$RC" = 0 -a "$(cat "$T/v4.out")" = hello ]

start_recv v6 -c 1 ::1 0
snd ::1 "$PORT" hello six
wait_pid "$RPID" 5
ok "text roundtrip ::1 (words joined into one datagram)" [ "$RC" = 0 -a "$(cat "$T/v6.out")" = "hello six" ]

start_recv v6b -c 1 "[::1]:0"
snd "[::1]:$PORT" bracketed
wait_pid "$RPID" 5
ok "[v6]:PORT form on both sides" [ "$RC" = 0 -a "$(cat "$T/v6b.out")" = bracketed ]

start_recv un -c 1 "unix:$T/sock"
snd "unix:$T/sock" over a path
wait_pid "$RPID" 5
ok "text roundtrip unix path" [ "$RC" = 0 -a "$(cat "$T/un.out")" = "over a path" ]
ok "unix path removed at exit" [ ! -e "$T/sock" ]

name="udpkit-e2e-$$"
start_recv ab -c 1 "unix:@$name"
snd "unix:@$name" abstract
wait_pid "$RPID" 5
ok "text roundtrip unix abstract" [ "$RC" = 0 -a "$(cat "$T/ab.out")" = abstract ]

# README usage: listener on the wildcard, HOST PORT and HOST:PORT senders
start_recv readme -c 2 0
snd 127.0.0.1 "$PORT" hello
snd "localhost:$PORT" world
wait_pid "$RPID" 5
ok "README example (wildcard listener, HOST PORT and HOST:PORT)" \
	[ "$RC" = 0 -a "$(printf 'hello\nworld')" = "$(cat "$T/readme.out")" ]

# --- framing ---------------------------------------------------------------
start_recv lines -c 3 --json 127.0.0.1 0
printf 'one\ntwo\nthree\n' | snd 127.0.0.1 "$PORT"
wait_pid "$RPID" 5
ok "line framing keeps boundaries (3 lines, 3 json objects)" [ "$RC" = 0 -a "$(grep -c '"len":' "$T/lines.out")" = 3 ]
ok "line framing drops the newline" grep -q '"data":"three"}' "$T/lines.out"

start_recv keep -c 1 --json 127.0.0.1 0
echo kept | snd --keep-newline 127.0.0.1 "$PORT"
wait_pid "$RPID" 5
ok "--keep-newline sends the newline" grep -q '"len":5,"data":"kept\\n"' "$T/keep.out"

start_recv nul -c 3 127.0.0.1 0
printf 'a b\0c\nd\0e' | snd -0 127.0.0.1 "$PORT"
wait_pid "$RPID" 5
ok "-0 NUL framing (newline inside a message escaped)" \
	[ "$RC" = 0 -a "$(cat "$T/nul.out")" = "$(printf 'a b\nc\\nd\ne')" ]

start_recv whole -c 1 127.0.0.1 0
printf 'l1\nl2\n' | snd --whole 127.0.0.1 "$PORT"
wait_pid "$RPID" 5
ok "--whole sends all input as one datagram" [ "$RC" = 0 -a "$(cat "$T/whole.out")" = 'l1\nl2\n' ]

head -c 600000 /dev/urandom >"$T/bin"
start_recv raw -c 500 --raw 127.0.0.1 0
snd --chunk 1200 127.0.0.1 "$PORT" <"$T/bin"
wait_pid "$RPID" 10
ok "--chunk 1200 | --raw is byte-exact (cmp)" cmp -s "$T/bin" "$T/raw.out"

head -c 1000 /dev/urandom >"$T/bin2"
start_recv rawu -c 3 --raw "unix:$T/rawsock"
snd --chunk 400 "unix:$T/rawsock" <"$T/bin2"
wait_pid "$RPID" 5
ok "--chunk over unix, last chunk short, byte-exact" cmp -s "$T/bin2" "$T/rawu.out"

# --- limits and truncation ---------------------------------------------------
start_recv big -w 0.5 127.0.0.1 0
head -c 70000 /dev/zero | snd --whole 127.0.0.1 "$PORT"
wait_pid "$RPID" 5
ok "oversize --whole: exit 1, names 70000 and 65507" \
	[ "$SRC" = 1 -a "$(grep -c '70000.*65507' "$T/last.err")" = 1 ]
ok "oversize: nothing of it sent (receiver exits 3)" [ "$RC" = 3 -a ! -s "$T/big.out" ]

start_recv big2 -c 2 -w 1 127.0.0.1 0
{ echo before; head -c 70000 /dev/zero | tr '\0' x; echo; echo after; } | snd 127.0.0.1 "$PORT"
wait_pid "$RPID" 5
okx "oversize line: earlier lines sent, then exit 1" \
	'[ "$SRC" = 1 -a "$(cat "$T/big2.out")" = before ] && grep -q 70000 "$T/last.err"' 

snd 127.0.0.1 9 "$(head -c 65508 /dev/zero | tr '\0' y)"
okx "oversize MESSAGE argument: exit 1" '[ "$SRC" = 1 ] && grep -q "65508.*65507" "$T/last.err"' 

start_recv trunc -c 1 --max 100 127.0.0.1 0
head -c 2000 /dev/zero | tr '\0' z | snd --whole 127.0.0.1 "$PORT"
wait_pid "$RPID" 5
ok "truncation reported on stderr with the real size" grep -q 'truncated: 2000 bytes, kept 100' "$T/trunc.err"
ok "truncated text keeps the first 100 bytes" [ "$(head -c 100 /dev/zero | tr '\0' z)" = "$(cat "$T/trunc.out")" ]

start_recv truncj -c 1 --max 100 --json 127.0.0.1 0
head -c 2000 /dev/zero | snd --whole 127.0.0.1 "$PORT"
wait_pid "$RPID" 5
ok "--json marks truncated:true with len 2000" grep -q '"len":2000,.*"truncated":true,"stored":100' "$T/truncj.out"

# --- counts, timeouts --------------------------------------------------------
start_recv cnt -c 2 127.0.0.1 0
printf '1\n2\n3\n4\n' | snd -i 0.05 127.0.0.1 "$PORT"
wait_pid "$RPID" 5
ok "-c 2 exits after two datagrams" [ "$RC" = 0 -a "$(cat "$T/cnt.out")" = "$(printf '1\n2')" ]

start=$(date +%s%N)
start_recv idle -w 0.3 127.0.0.1 0
wait_pid "$RPID" 5
ms=$(( ($(date +%s%N) - start) / 1000000 ))
ok "-w with nothing received: exit 3 after the timeout" [ "$RC" = 3 -a "$ms" -ge 250 ]

start_recv idle2 -w 0.4 127.0.0.1 0
snd 127.0.0.1 "$PORT" one
wait_pid "$RPID" 5
ok "-w after a datagram: exit 0" [ "$RC" = 0 -a "$(cat "$T/idle2.out")" = one ]

start_recv rep -c 3 127.0.0.1 0
start=$(date +%s%N)
snd -c 3 -i 0.1 127.0.0.1 "$PORT" tick
ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait_pid "$RPID" 5
ok "-c 3 -i 0.1 repeats the message, paced" [ "$RC" = 0 -a "$(grep -c tick "$T/rep.out")" = 3 -a "$ms" -ge 180 ]

# --- answers ----------------------------------------------------------------
start_recv echo -c 1 --echo 127.0.0.1 0
out=$(snd -w 1 127.0.0.1 "$PORT" ping)
ok "--echo answered, udpsend -w prints it" [ "$SRC" = 0 -a "$out" = ping ]

start_recv thanks -c 1 --reply 'thank you!' ::1 0
out=$(snd -w 1 --json ::1 "$PORT" 'my request')
okx "--reply TEXT, udpsend -w --json" '[ "$SRC" = 0 ] && [ "$out" = "{\"from\":\"[::1]:$PORT\",\"len\":10,\"data\":\"thank you!\"}" ]' 

start_recv uecho -c 1 --echo "unix:$T/esock"
out=$(snd -w 1 "unix:$T/esock" "via unix")
ok "--echo over unix (sender binds an abstract name)" [ "$SRC" = 0 -a "$out" = "via unix" ]

start_recv silent -c 1 127.0.0.1 0
snd -w 0.3 127.0.0.1 "$PORT" anyone
ok "udpsend -w with no reply: exit 3" [ "$SRC" = 3 ]
wait_pid "$RPID" 5

snd -w 1 127.0.0.1 9 nobody
okx "udpsend to a closed port: exit 1, connection refused" '[ "$SRC" = 1 ] && grep -qi refused "$T/last.err"' 

# --- many senders at once ---------------------------------------------------
start_recv many -c 100 -w 5 127.0.0.1 0
spids=()
for s in 1 2 3 4 5; do
	( for m in $(seq 1 20); do echo "s$s m$m"; done | "$SEND" --rate 2000 127.0.0.1 "$PORT" ) &
	spids+=($!)
done
for p in "${spids[@]}"; do wait_pid "$p" 10; done
wait_pid "$RPID" 10
good=1
for s in 1 2 3 4 5; do
	[ "$(grep "^s$s " "$T/many.out" | sort -u | wc -l)" = 20 ] || good=0
done
ok "5 concurrent senders x 20: all 100 received" [ "$RC" = 0 -a "$good" = 1 ]

# --- more framing, flow control -----------------------------------------------
start_recv cap -c 3 -w 1 127.0.0.1 0
seq 1 10 | snd -c 3 127.0.0.1 "$PORT"
wait_pid "$RPID" 5
ok "stdin with -c 3: stops after three datagrams" [ "$SRC" = 0 -a "$(cat "$T/cap.out")" = "$(seq 1 3)" ]

start_recv empty -c 1 --json 127.0.0.1 0
snd --whole 127.0.0.1 "$PORT" </dev/null
wait_pid "$RPID" 5
ok "--whole on empty input: one empty datagram" grep -q '"len":0,"data":""' "$T/empty.out"

start_recv paced -c 20 127.0.0.1 0
start=$(date +%s%N)
seq 1 20 | snd --rate 100 127.0.0.1 "$PORT"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait_pid "$RPID" 5
ok "--rate 100: 20 datagrams take about 0.2 s" [ "$RC" = 0 -a "$ms" -ge 170 ]

start_recv flow -c 20000 -w 5 -o "$T/flow.txt" "unix:$T/flowsock"
seq 1 20000 | snd "unix:$T/flowsock"
wait_pid "$RPID" 10
ok "20000 lines to a unix socket: sender waits for room, none lost, in order" \
	[ "$SRC" = 0 -a "$RC" = 0 ]
ok "... output identical (-o FILE)" cmp -s "$T/flow.txt" <(seq 1 20000)

start_recv mapped -c 1 --json 0
snd 127.0.0.1 "$PORT" v4 to dual stack
wait_pid "$RPID" 5
ok "dual-stack listener shows an IPv4 sender as IPv4" grep -q '^{"from":"127.0.0.1:[0-9]*","len":16,' "$T/mapped.out"

# netsim's mtu word: the long datagram vanishes, the others arrive, counted
start_recv mtu -c 2 -w 5 127.0.0.1 0
{ echo first; head -c 1500 /dev/zero | tr '\0' x; echo; echo third; } |
	snd --netsim 'mtu 1000' --stats 127.0.0.1 "$PORT"
wait_pid "$RPID" 5
okx "--netsim 'mtu 1000': datagrams above 1000 bytes dropped and counted" \
	'[ "$RC" = 0 ] && [ "$(cat "$T/mtu.out")" = "$(printf "first\nthird")" ] && grep -q "too_big=1 " "$T/last.err"'

e2e_summary
