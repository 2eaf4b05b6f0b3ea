#!/bin/bash
# Hostile peers end to end (docs/HARDENING.md).  Each tool receives a genuine
# transfer (udpsend --chunk of a random file) through a python man in the
# middle (hostile_peer.py tee) while 16 hostile sockets on other source ports
# send a bounded burst of random, oversized, truncated, bit-flipped, replayed
# and forged datagrams and datagrams sealed with another key.  Asserted per
# tool: the genuine bytes arrive byte-identical, nothing hostile is printed
# as data (where the mode can promise it), every hostile datagram is counted
# under a drop reason, and no hostile (unverified) source gets back more
# bytes than it sent (the amplification factor, measured, <= 1).
. "$(dirname "$0")/lib.bash"
RELAY=$BIN/udprelay
KEY=$BIN/udpkey
PEER=$TOP/tests/e2e/hostile_peer.py
cd "$T" || exit 1
if ! command -v python3 >/dev/null 2>&1; then
	skip "hostile peers" "no python3"
	e2e_summary
	exit
fi
SIZE=2000000 CHUNK=1152 NHOST=3000
NGEN=$(( (SIZE + CHUNK - 1) / CHUNK ))
head -c $SIZE /dev/urandom >blob
"$KEY" genkey -o k 2>"$T/last.err"
"$KEY" genkey -o k2 2>>"$T/last.err"

# field NAME FILE: the number after NAME= in FILE (first match)
field() { sed -n "s/.*[ :]$1=\([0-9]*\).*/\1/p" "$2" | head -n 1; }
# jq-less JSON: py EXPR REPORT
py() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($1)" "$2"; }

# The pool: 64 datagrams sealed with the wrong key k2, plaintext "HOSTILE ...".
python3 "$PEER" capture --report pool --count 64 --secs 5 >cap.port &
cpid=$!; PIDS+=("$cpid")
# "port N" whole: a Python without buffering writes "port" first
for _ in $(seq 250); do grep -q '^port [0-9]' cap.port && break; sleep 0.02; done
seq -f 'HOSTILE wrong key %g' 1 64 | snd -k k2 127.0.0.1 "$(sed -n 's/^port //p' cap.port)"
wait_pid "$cpid" 10
ok "wrong-key pool captured (64 sealed datagrams)" [ "$(wc -l <pool)" = 64 ]

# tee NAME TARGET [ARGS...]: the man in the middle in the background; sets
# TPID and TPORT.  The report goes to NAME.json.
tee_start() {
	local name=$1 target=$2; shift 2
	: >"$name.tport"
	timeout 40 python3 "$PEER" tee --target "$target" --report "$name.json" --pool pool \
		--count $NHOST --per-genuine 1.2 --sockets 16 --secs 30 "$@" \
		>"$name.tport" 2>"$name.perr" &
	TPID=$!; PIDS+=("$TPID")
	for _ in $(seq 250); do grep -q '^port [0-9]' "$name.tport" && break; sleep 0.02; done
	TPORT=$(sed -n 's/^port //p' "$name.tport")
}

# genuine NAME SENDER-ARGS...: the file through the tee, then waits for the
# tee and the receiver (bounded).
genuine() {
	local name=$1; shift
	snd "$@" --chunk $CHUNK --rate 4000 127.0.0.1 "$TPORT" <blob
	wait_pid "$TPID" 40
	TRC=$RC
	wait_pid "$RPID" 10
}

amp() { py 'r["hostile_got_bytes"], r["hostile_bytes"], "%.3f" % r["factor_max_socket"]' "$1"; }

# --- udprecv -k (sealed): nothing hostile gets through, nothing answered ------
start_recv sealed -k k --echo --raw --stats -w 3 127.0.0.1 0
tee_start sealed "127.0.0.1:$PORT"
genuine sealed -k k
sent=$(py 'r["hostile_sent"]' sealed.json)
ok "sealed: man in the middle ran ($sent hostile datagrams, $NGEN genuine)" \
	[ "$TRC" = 0 -a "$sent" = $NHOST -a "$(py 'r["genuine_in"]' sealed.json)" = $NGEN ]
ok "sealed: genuine transfer byte-identical (cmp)" cmp -s blob sealed.out
okx "sealed: no hostile byte printed (no HOSTILE marker)" '! grep -q HOSTILE sealed.out'
drops=0
for f in drop_plaintext drop_short drop_header drop_wrongkey drop_auth drop_replay drop_old drop_reflect drop_nospace; do
	drops=$((drops + $(field $f sealed.err)))
done
okx "sealed: every hostile datagram dropped under a reason ($drops of $sent)" \
	'[ "$drops" = "$sent" ] && [ "$(field opened sealed.err)" = $NGEN ]'
okx "sealed: each kind lands on its reason (wrong key: pool and forged, replay/old, short)" \
	'[ "$(field drop_wrongkey sealed.err)" -ge $(( $(py "r[\"kinds\"][\"pool\"]" sealed.json) + $(py "r[\"kinds\"][\"forged\"]" sealed.json) )) ] &&
	 [ $(( $(field drop_replay sealed.err) + $(field drop_old sealed.err) )) -ge "$(py "r[\"kinds\"][\"replay\"]" sealed.json)" ] &&
	 [ "$(field drop_short sealed.err)" -ge "$(py "r[\"kinds\"][\"empty\"]" sealed.json)" ]'
okx "sealed: forged packets made no session (sessions=1)" '[ "$(field sessions sealed.err)" = 1 ]'
read -r got bytes factor < <(amp sealed.json)
echo "# sealed udprecv --echo: hostile sent $bytes bytes, got back $got (max factor per source $factor)"
okx "sealed: amplification 0 <= 1 (--echo answers no unverified source)" '[ "$got" = 0 ]'

# --- udprecv plain: every datagram is data; attribution, truncation, 1:1 -------
start_recv plain --json --max 4096 --echo --stats -w 3 127.0.0.1 0
tee_start plain "127.0.0.1:$PORT"
genuine plain
sent=$(py 'r["hostile_sent"]' plain.json)
python3 - plain.out plain.json blob >plain.check 2>&1 <<'PY'
import base64, json, sys
out, rep, blob = sys.argv[1], json.load(open(sys.argv[2])), open(sys.argv[3], "rb").read()
fwd = "127.0.0.1:%d" % rep["forward_port"]
hostile = {"127.0.0.1:%d" % s["port"] for s in rep["sockets"]}
gen, nh, ntrunc, other = [], 0, 0, 0
for line in open(out):
    o = json.loads(line)
    d = o["data"].encode() if "data" in o else base64.b64decode(o["data_base64"])
    if o["from"] == fwd:
        gen.append(d)
    elif o["from"] in hostile:
        nh += 1
        ntrunc += bool(o.get("truncated"))
        assert len(d) == min(o["len"], 4096), o
    else:
        other += 1
print("genuine_exact", int(b"".join(gen) == blob))
print("hostile_records", nh)
print("truncated", ntrunc)
print("other", other)
PY
chk() { sed -n "s/^$1 //p" plain.check; }
want_trunc=$(py 'sum(1 for n in r["lens"] if n > 4096)' plain.json)
pool=$(py 'r["kinds"]["pool"]' plain.json)
ok "plain: genuine source's datagrams byte-identical (from the JSON records)" [ "$(chk genuine_exact)" = 1 ]
okx "plain: every hostile datagram printed as data of its own source ($(chk hostile_records) + $pool sealed-looking dropped = $sent)" \
	'[ $(( $(chk hostile_records) + pool )) = "$sent" ] && [ "$(chk other)" = 0 ]'
okx "plain: oversized ones reported truncated ($want_trunc), in --stats too" \
	'[ "$(chk truncated)" = "$want_trunc" ] && [ "$(field truncated plain.err)" = "$want_trunc" ]'
okx "plain: the wrong-key pool dropped as sealed without a key" '[ "$(field sealed_dropped plain.err)" = "$pool" ]'
read -r got bytes factor < <(amp plain.json)
echo "# plain udprecv --echo --max 4096: hostile sent $bytes bytes, got back $got (max factor per source $factor)"
okx "plain: amplification <= 1 per source (--echo is 1:1, truncated ones less)" \
	'python3 -c "import sys; sys.exit(not float(sys.argv[1]) <= 1.0)" "$factor" && [ "$got" -le "$bytes" ]'
ok "plain: exit 0, no crash" [ "$RC" = 0 ]

# --- udprelay in front of udprecv -k, with a full client table ----------------
start_recv relayed -k k --echo --raw --stats -w 4 127.0.0.1 0
rpid=$RPID
: >relay.err
"$RELAY" --stats --max-clients 8 -w 5 127.0.0.1:0 "127.0.0.1:$PORT" 2>relay.err &
XPID=$!; PIDS+=("$XPID")
for _ in $(seq 250); do grep -q 'listening on' relay.err && break; sleep 0.02; done
XPORT=$(sed -n 's/^udprelay: listening on [^,]*:\([0-9]*\),.*/\1/p' relay.err | head -n 1)
tee_start relay "127.0.0.1:$XPORT"
RPID=$rpid
genuine relay -k k
wait_pid "$XPID" 10
sent=$(py 'r["hostile_sent"]' relay.json)
# the genuine forward socket is client 1; hostile sockets 0..6 fill the table
admitted=$(py 'sum(s["sent"] for s in r["sockets"][:7])' relay.json)
refused=$(py 'sum(s["sent"] for s in r["sockets"][7:])' relay.json)
ok "relay: genuine transfer byte-identical through udprelay (cmp)" cmp -s blob relayed.out
okx "relay: no hostile byte printed" '! grep -q HOSTILE relayed.out'
okx "relay: counts every datagram, refuses clients past --max-clients 8 ($refused)" \
	'grep -q "client->target: $((NGEN + sent)) received" relay.err &&
	 grep -q "clients: .* 8 seen, .* $refused refused" relay.err'
drops=0
for f in drop_plaintext drop_short drop_header drop_wrongkey drop_auth drop_replay drop_old drop_reflect drop_nospace; do
	drops=$((drops + $(field $f relayed.err)))
done
okx "relay: the receiver dropped every admitted hostile datagram ($drops of $admitted)" \
	'[ "$drops" = "$admitted" ] && [ "$(field opened relayed.err)" = $NGEN ]'
read -r got bytes factor < <(amp relay.json)
echo "# udprelay -> udprecv -k --echo: hostile sent $bytes bytes, got back $got (max factor per source $factor)"
okx "relay: amplification 0 <= 1 (nothing comes back to hostile sources)" '[ "$got" = 0 ]'

# --- udprecv -r (reliable): forgeries with valid CRCs, foreign sources ---------
# A genuine udpsend -r --whole transfer through the tee; the hostile sockets
# send random/oversized/empty datagrams, truncated and bit-flipped copies and
# exact replays of genuine packets (a genuine packet from a foreign source),
# session packets with forged session ids, HELLOs and CONNECTs, all with a
# valid CRC-32C (hostile_peer.py --proto rel).  Every one of them reaches
# rel_input() (the driver's buffer holds any UDP datagram) and is counted in
# the core's counters (udprecv -r --stats, the "core:" line): either under a
# drop_* reason or, for a HELLO, as a COOKIE answered (cookies_sent, which
# also counts the genuine sender's HELLOs, taken from the tee's count).  The
# only datagrams that can escape the count are those the kernel drops on a
# full receive buffer: read from the socket's "drops" in /proc/net/udp while
# the receiver still runs, and allowed for exactly.
# kdrops PORT: the kernel's drop count of the 127.0.0.1:PORT UDP socket
kdrops() {
	awk -v p="$(printf '0100007F:%04X' "$1")" '$2 == p { print $NF; f = 1 } END { if (!f) print 0 }' /proc/net/udp
}
head -c 3000000 /dev/urandom >rblob
# no short -w: a receiver that left on its own (idle while a loaded box
# starved the tee) takes its socket's drop count with it, and misses what
# comes later; it runs until everything is read and counted, then SIGINT
start_recv rel -r --raw --stats -w 60 127.0.0.1 0
tee_start rel "127.0.0.1:$PORT" --proto rel
timeout -k 2 20 "$SEND" -r --whole --no-progress 127.0.0.1 "$TPORT" <rblob 2>"$T/last.err"
SRC=$?
wait_pid "$TPID" 40
TRC=$RC
for _ in $(seq 250); do udp_drained "$PORT" && break; sleep 0.02; done
kd=$(kdrops "$PORT")
kill -INT "$RPID"
wait_pid "$RPID" 10
sent=$(py 'r["hostile_sent"]' rel.json)
ghello=$(py 'r["genuine_types"].get("1", 0)' rel.json)
ok "reliable: man in the middle ran ($sent hostile datagrams, $(py 'r["genuine_in"]' rel.json) genuine), sender exit 0" \
	[ "$TRC" = 0 -a "$SRC" = 0 -a "$sent" = $NHOST -a "$RC" = 0 ]
ok "reliable: genuine transfer byte-identical (cmp)" cmp -s rblob rel.out
okx "reliable: no hostile byte printed (no HOSTILE marker)" '! grep -q HOSTILE rel.out'
drops=0
for f in drop_magic drop_checksum drop_malformed drop_session drop_cookie drop_peers drop_unexpected drop_busy drop_truncated; do
	drops=$((drops + $(field $f rel.err)))
done
hcookies=$(( $(field cookies_sent rel.err) - ghello ))
counted=$((drops + hcookies))
echo "# reliable: $sent hostile sent, $drops dropped by reason + $hcookies HELLOs answered, kernel dropped $kd"
okx "reliable: every hostile datagram counted ($counted = $sent - $kd kernel drops)" \
	'[ "$counted" = $((sent - kd)) ]'
k() { py "r[\"kinds\"][\"$1\"]" rel.json; }
okx "reliable: kinds land on their reasons (magic, session, cookie, checksum, HELLO answered)" \
	'[ $(($(field drop_magic rel.err) + kd)) -ge $(( $(k random) + $(k oversized) + $(k empty) )) ] &&
	 [ $(($(field drop_session rel.err) + kd)) -ge "$(k sid)" ] &&
	 [ $(($(field drop_cookie rel.err) + kd)) -ge "$(k connect)" ] &&
	 [ $(($(field drop_checksum rel.err) + $(field drop_malformed rel.err) + $(field drop_magic rel.err) + kd)) -ge $(( $(k truncated) + $(k bitflip) )) ] &&
	 [ $((hcookies + kd)) -ge "$(k hello)" ]'
okx "reliable: forged packets made no session (one peer)" \
	'[ "$(grep -c "peer=" rel.err)" = 1 ] && grep -q "peers=1 " rel.err'
read -r got bytes factor < <(amp rel.json)
echo "# udprecv -r: hostile sent $bytes bytes, got back $got (max factor per source $factor)"
okx "reliable: amplification <= 1 per source (a COOKIE, 28 bytes, per HELLO of >= 64)" \
	'python3 -c "import sys; sys.exit(not float(sys.argv[1]) <= 1.0)" "$factor" && [ "$got" -le "$bytes" ]'

# --- udpchat: a hostile source floods a peer's data port -----------------------
# ann and ben (--no-discovery; ben names ann through the tee with --peer, so
# the tee sees their session's packets to replay and forge from) chat 20
# lines each while the hostile sockets send the reliable-protocol mix at
# ann's data port.  Asserted: each genuine line is seen exactly once by the
# other, no marker anywhere, no hostile "peer" in join events or /who, every
# hostile datagram counted in ann's --stats "core:" line (as above), and
# amplification <= 1.
CHAT=$BIN/udpchat
CHAT_CMD=(timeout -k 2 40)
CHAT_ARGS=(--stats --no-discovery --linger 2)
chat_start ann "${CHAT_ARGS[@]}"
aport=$CPORT
# the tee must outlive the chat (it carries ben's session): bounded by --secs
NHOST=1500 tee_start chat "127.0.0.1:$aport" --proto rel --secs 6 --idle 9 --per-genuine 40
chat_start ben "${CHAT_ARGS[@]}" --peer "127.0.0.1:$TPORT"
wait_grep ann.out '"type":"join"' 1 5 && wait_grep ben.out '"type":"join"' 1 5
joined=$?
for i in $(seq 20); do
	chat_say ann "from ann $i"; chat_say ben "from ben $i"
	sleep 0.05
done
wait_grep ann.out '"text":"from ben 20"' 1 10
wait_grep ben.out '"text":"from ann 20"' 1 10
chat_say ann /who; chat_say ben /who
wait_grep ann.out '"type":"who"' 1 5; wait_grep ben.out '"type":"who"' 1 5
wait_pid "$TPID" 20
TRC=$RC
for _ in $(seq 250); do udp_drained "$aport" && break; sleep 0.02; done
kd=$(kdrops "$aport")
chat_stop ben 15; brc=$RC
chat_stop ann 15; arc=$RC
sent=$(py 'r["hostile_sent"]' chat.json)
ok "chat: both joined, the man in the middle ran ($sent hostile), exit 0 both" \
	[ "$joined" = 0 -a "$TRC" = 0 -a "$sent" -gt 0 -a "$arc" = 0 -a "$brc" = 0 ]
python3 - ann.out ben.out >chat.check 2>&1 <<'PY'
import json, sys
bad = []
for f, me, other in ((sys.argv[1], "ann", "ben"), (sys.argv[2], "ben", "ann")):
    msgs, joins, who = [], set(), set()
    for line in open(f):
        e = json.loads(line)
        if e["type"] == "msg":
            msgs.append(e["text"])
            if not e["from"].startswith(other + "#"):
                bad.append("%s: msg from %s" % (me, e["from"]))
        elif e["type"] == "join":
            joins.add(e["from"].split("#")[0])
        elif e["type"] == "who":
            who.add(e["from"].split("#")[0])
    if msgs != ["from %s %d" % (other, i) for i in range(1, 21)]:
        bad.append("%s: msgs %s" % (me, msgs[:30]))
    if joins != {other} or who != {other}:
        bad.append("%s: joins %s who %s" % (me, joins, who))
print("\n".join(bad) or "ok")
PY
ok "chat: every genuine line seen exactly once by the other, in order" [ "$(cat chat.check)" = ok ]
okx "chat: no hostile byte printed by either peer (no HOSTILE marker)" '! grep -q HOSTILE ann.out ben.out'
okx "chat: no hostile peer joined or listed in /who" '! grep -q "joins\|who" chat.check'
drops=0
for f in drop_magic drop_checksum drop_malformed drop_session drop_cookie drop_peers drop_unexpected drop_busy drop_truncated; do
	drops=$((drops + $(field $f ann.err)))
done
ghello=$(py 'r["genuine_types"].get("1", 0)' chat.json)
hcookies=$(( $(field cookies_sent ann.err) - ghello ))
counted=$((drops + hcookies))
echo "# chat: $sent hostile sent at ann, $drops dropped by reason + $hcookies HELLOs answered, kernel dropped $kd"
okx "chat: every hostile datagram counted in ann's --stats ($counted = $sent - $kd kernel drops)" \
	'[ "$counted" = $((sent - kd)) ]'
read -r got bytes factor < <(amp chat.json)
echo "# udpchat: hostile sent $bytes bytes, got back $got (max factor per source $factor)"
okx "chat: amplification <= 1 per source" \
	'python3 -c "import sys; sys.exit(not float(sys.argv[1]) <= 1.0)" "$factor" && [ "$got" -le "$bytes" ]'

e2e_summary
