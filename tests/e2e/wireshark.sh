#!/bin/bash
# tools/wireshark/udpkit.lua on a real capture: the tools talk inside a
# fresh network namespace (only lo), dumpcap records lo, and tshark with the
# dissector must name every field of a handshake, data, an ack, a sealed
# header and chat packets (a beacon, and a line inside a reliable message);
# of identity sessions (udpchat --identity, and udpsend/udprecv -r
# --identity when the tools have it) the NOISE flag and Noise messages of
# CONNECT/ACCEPT, SEALED packets with rising counters and no DATA in clear,
# and chat version 3 beacons with their key; hand-made malformed packets get
# expert info, the tools' own packets none.
if [ "${E2E_IN_NETNS:-}" != 1 ]; then
	if ! command -v tshark >/dev/null 2>&1 || ! command -v dumpcap >/dev/null 2>&1; then
		echo "SKIP: wireshark -- tshark/dumpcap not installed (Debian: tshark)"
		exit 0
	fi
	if ! unshare -n true 2>/dev/null; then
		echo "SKIP: wireshark -- cannot create a network namespace (need root)"
		exit 0
	fi
	exec unshare -n env E2E_IN_NETNS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.bash"
LUA=$TOP/tools/wireshark/udpkit.lua
GEN=${UDPKIT_HELPERS:-$TOP/build/helpers}/ident_gen
# mkid NAME: identity key file $T/NAME.id; prints its public key (base64)
mkid() {
	if "$BIN/udpkey" genkey --identity -o "$T/$1.id" >/dev/null 2>&1; then
		"$BIN/udpkey" pub "$T/$1.id"
	elif [ -x "$GEN" ]; then
		"$GEN" "$T/$1.id" | { read -r k _ && echo "$k"; }
	fi
}
# identity sessions in udpsend/udprecv come with --peer-key (tools/tool_ident.h)
ID_TOOLS=0
"$SEND" --help 2>&1 | grep -q -- --peer-key && ID_TOOLS=1

ip link set lo up && ip link set lo multicast on || { fail "netns set-up" "ip link"; exit 1; }
ip route add 224.0.0.0/4 dev lo

# --- capture what the tools send ------------------------------------------------
dumpcap -q -a duration:60 -i lo -f udp -w "$T/cap.pcapng" 2>"$T/dumpcap.err" &
DPID=$!
PIDS+=("$DPID")
for _ in $(seq 250); do
	grep -q 'Capturing on' "$T/dumpcap.err" && break
	sleep 0.02
done

start_recv rel -r --raw -c 1 127.0.0.1 0
printf 'hello wireshark' | snd -r "127.0.0.1:$PORT"
wait_pid "$RPID" 10
ok "reliable transfer captured" [ "$(cat "$T/rel.out")" = "hello wireshark" ]

"$BIN/udpkey" genkey -o "$T/key" 2>"$T/last.err"
KEYID=$("$BIN/udpkey" id "$T/key" 2>/dev/null)
# wire_kid SESSION_HEX: the key id a session's packets carry (docs/SEALING.md,
# "Key id"), computed here from the key file with Python's BLAKE2b
wire_kid() {
	python3 - "$T/key" "$1" <<'PY'
import base64, hashlib, struct, sys
k = base64.b64decode(open(sys.argv[1]).read().strip())
idkey = hashlib.blake2b(b"", digest_size=32, key=k, salt=struct.pack("<Q", 3) + bytes(8),
                        person=b"udpkit01" + bytes(8)).digest()
sid = bytes.fromhex(sys.argv[2].replace(":", ""))
print(hashlib.blake2b(sid, digest_size=16, key=idkey, person=b"udpkit key id").digest()[:4].hex())
PY
}
start_recv sealed -k "$T/key" -c 1 127.0.0.1 0
printf 'secret words' | snd -k "$T/key" "127.0.0.1:$PORT"
wait_pid "$RPID" 10
ok "sealed datagram captured" [ "$(cat "$T/sealed.out")" = "secret words" ]

CHAT_CMD=(timeout -k 2 30)
chat_start ann --beacon 0.2
chat_start bob --beacon 0.2
okx "chat peers meet" 'wait_grep "$T/bob.out" "\"type\":\"join\",.*\"from\":\"ann#" 1 10'
chat_say ann "hi from ann"
okx "chat line arrives" 'wait_grep "$T/bob.out" "hi from ann" 1 10'
chat_stop ann
chat_stop bob

# identity peers: version 3 beacons with the key, sessions by Noise, SEALED
CPUB=$(mkid cid) DPUB=$(mkid dee)
if [ -n "$CPUB" ] && [ -n "$DPUB" ]; then
	chat_start cid --identity "$T/cid.id" --known-peers "$T/cid.known" --beacon 0.2
	chat_start dee --identity "$T/dee.id" --known-peers "$T/dee.known" --beacon 0.2
	okx "identity chat peers meet" 'wait_grep "$T/dee.out" "\"type\":\"join\",.*\"from\":\"cid#" 1 10'
	chat_say cid "sealed from cid"
	okx "identity chat line arrives" 'wait_grep "$T/dee.out" "sealed from cid" 1 10'
	chat_stop cid
	chat_stop dee
else
	skip "identity chat capture" "no udpkey genkey --identity nor $GEN"
fi

# identity sessions of the reliable tools (SEALED from the client's first packet)
IDPORT=
if [ "$ID_TOOLS" = 1 ] && [ -n "$CPUB" ]; then
	SPUB=$(mkid srv)
	printf '%s cid\n' "$CPUB" >"$T/allowed"
	printf 'identity words %04d\n' $(seq 400) >"$T/idmsg"
	start_recv ident -r --raw --once --identity "$T/srv.id" --allowed-keys "$T/allowed" 127.0.0.1 0
	IDPORT=$PORT
	snd -r --whole --identity "$T/cid.id" --peer-key "$SPUB" 127.0.0.1 "$PORT" <"$T/idmsg"
	wait_pid "$RPID" 10
	ok "identity transfer captured (8000 bytes)" cmp -s "$T/idmsg" "$T/ident.out"
else
	skip "udpsend/udprecv --identity capture" "this build's udpsend has no --peer-key"
fi

# malformed packets made by hand, to a port nobody uses: each must get expert info
BAD=64999
bad() { printf "$1" >/dev/udp/127.0.0.1/$BAD; }
Z8='\x00\x00\x00\x00\x00\x00\x00\x00'
bad "\x75\x01\x0c\x00\x00\x00\x00\x01\x00\x00\x00\x02$Z8$Z8"   # SEALED with no room for a tag
bad "\x75\x01\x03\x10\x00\x00\x00\x00\x00\x00\x00\x07$Z8$Z8$Z8$Z8$Z8$Z8$Z8$Z8" # NOISE CONNECT, 20 bytes of Noise
bad "\x75\x01\x06\x10\x00\x00\x00\x01\x00\x00\x00\x02$Z8$Z8$Z8$Z8"    # ACK with NOISE
bad "UCHT\x03\x01$Z8\x00\x01\x01x$Z8$Z8$Z8$Z8\x00\x00"                   # v3 BEACON, zero key
K8='\x01\x01\x01\x01\x01\x01\x01\x01'
# and a good one: a v3 PEERS listing 127.0.0.1:4660 with key 01 01 ... 01
bad "UCHT\x03\x09$Z8\x00\x00\x01x\x00\x2f\x00\x00\x00\x00\x00\x00\x00\x07\x04\x7f\x00\x00\x01\x12\x34$K8$K8$K8$K8"

# libpcap hands packets over in blocks: wait (bounded) until the last ones
# are in the file, or a SIGINT could end dumpcap before their block does
for _ in $(seq 100); do
	tshark -r "$T/cap.pcapng" -Y "udp.dstport == $BAD && udp contains \"UCHT\"" 2>/dev/null | grep -q . && break
	sleep 0.1
done
kill -INT "$DPID" 2>/dev/null
wait_pid "$DPID" 10

# --- read it back with the dissector ----------------------------------------------
# WS_KEEP=FILE keeps a copy of the capture, to look at with the dissector
[ -n "${WS_KEEP:-}" ] && cp "$T/cap.pcapng" "$WS_KEEP"
fields() { # tshark -T fields for the given -e fields, of udpkit frames only
	local args=()
	for f in "$@"; do args+=(-e "$f"); done
	timeout 60 tshark -X "lua_script:$LUA" -r "$T/cap.pcapng" -Y "$FILTER" \
		-T fields -E separator=' ' -E occurrence="${OCC:-f}" "${args[@]}" 2>>"$T/tshark.err"
}
FILTER=udpkit
fields udpkit.type >"$T/types"
for t in 1:HELLO 2:COOKIE 3:CONNECT 4:ACCEPT 5:DATA 6:ACK; do
	okx "dissector: a ${t#*:} packet" "grep -qx '${t%%:*}' '$T/types'"
done

FILTER='udpkit.type == 3 && udpkit.flags.noise == 0'
okx "dissector: CONNECT fields" \
	'fields udpkit.dst_sid udpkit.src_sid udpkit.bucket udpkit.cookie udpkit.init_seq udpkit.window_pkts udpkit.max_msg udpkit.budget udpkit.crc | head -n 1 >"$T/c" && [ "$(wc -w <"$T/c")" = 9 ]'
FILTER='udpkit.type == 2'
okx "dissector: COOKIE fields" \
	'fields udpkit.dst_sid udpkit.bucket udpkit.cookie udpkit.crc | head -n 1 >"$T/k" && [ "$(wc -w <"$T/k")" = 4 ]'
FILTER='udpkit.type == 4 && udpkit.flags.noise == 0'
okx "dissector: ACCEPT fields" \
	'fields udpkit.dst_sid udpkit.src_sid udpkit.init_seq udpkit.window_pkts udpkit.max_msg udpkit.budget | head -n 1 >"$T/x" && [ "$(wc -w <"$T/x")" = 6 ]'
FILTER='udpkit.type == 1'
okx "dissector: HELLO is padded to 64 bytes" \
	'fields udpkit.src_sid udpkit.padding | head -n 1 >"$T/h" && read -r sid pad <"$T/h" && [ ${#pad} = $(( (64 - 16) * 2 )) ]'
FILTER='udpkit.type == 5 && udpkit.msg_len == 15'
# all occurrences: a GSO frame may put the FIN (no payload) first
okx "dissector: DATA fields and payload" \
	'OCC=a fields udpkit.ts udpkit.cum_ack udpkit.seq udpkit.frag_index udpkit.frag_count udpkit.payload | head -n 1 >"$T/d" && [ "$(wc -w <"$T/d")" = 6 ] && grep -q "68656c6c6f2077697265736861726b" "$T/d"'
FILTER='udpkit.type == 6'
okx "dissector: ACK has its ack block" \
	'fields udpkit.ts udpkit.window udpkit.cum_ack udpkit.nsack | head -n 1 >"$T/a" && [ "$(wc -w <"$T/a")" = 4 ]'

FILTER=udpkit_seal
okx "dissector: sealed header, the session's key id (not udpkey's), body opaque" \
	'fields udpkit_seal.version udpkit_seal.flags.sealed udpkit_seal.key_id udpkit_seal.session_id udpkit_seal.counter udpkit_seal.ciphertext_len udpkit_seal.tag | head -n 1 >"$T/s" && read -r v sealed kid sid ctr n tag <"$T/s" && [ "$v" = 1 ] && [ "$sealed" = 1 ] && [ "$((kid))" = "$((0x$(wire_kid "$sid")))" ] && [ "$((kid))" != "$((0x$KEYID))" ] && [ "$n" = 12 ] && [ -n "$tag" ]'
okx "dissector: no plaintext of the sealed datagram shows" \
	'! timeout 60 tshark -X "lua_script:$LUA" -r "$T/cap.pcapng" -V 2>/dev/null | grep -q "secret words"'

FILTER='udpkit_chat.type == 1'
okx "dissector: a chat beacon with its nick and port" \
	'fields udpkit_chat.id udpkit_chat.port udpkit_chat.nick | grep -q " ann$"'
FILTER='udpkit_chat.text == "hi from ann" && udpkit.type == 5'
okx "dissector: a chat line inside a reliable DATA packet" \
	'fields udpkit.seq udpkit_chat.type udpkit_chat.nick >"$T/m" && grep -q "^[0-9][0-9,]* [0-9,]*4[0-9,]* [a-z,]*ann" "$T/m"'

# --- identity sessions ---------------------------------------------------------------
# rising: the counters on stdin (one a line, capture order) never repeat and
# go up, 2 at least. Gaps and neighbours swapped are allowed: a core spends a
# counter on an ACK it then replaces with a newer one still queued, or on a
# probe larger than the path takes, and may send a fresh ACK ahead of a
# packet sealed just before it.
rising() {
	awk '$1 in seen { bad = 1 } { seen[$1] = 1; v[NR] = $1 }
	     NR > 2 && (m == "" || v[NR - 2] > m) { m = v[NR - 2] }
	     NR > 2 && $1 <= m { bad = 1 }
	     END { exit bad || NR < 2 }'
}
# sealed_ctrs PORTFILTER: the SEALED counters in capture order, one a line
sealed_ctrs() { FILTER="udpkit.type == 12 && $1" OCC=a fields udpkit.counter | tr , '\n'; }
# noise_ok PORTFILTER: every CONNECT there is NOISE with 96 bytes of Noise
# (140 in all), every ACCEPT NOISE with message 2 of 48 + 28 (108 in all)
noise_ok() {
	FILTER="udpkit.type == 3 && $1" fields udpkit.flags.noise udpkit.noise.len udpkit.noise.msg udp.length >"$T/nc" &&
	FILTER="udpkit.type == 4 && $1" fields udpkit.flags.noise udpkit.noise.len udpkit.noise.payload_len udp.length >"$T/na" &&
	[ -s "$T/nc" ] && [ -s "$T/na" ] &&
	! grep -vqx "1 96 1 148" "$T/nc" && ! grep -vqx "1 76 28 116" "$T/na"
}
if [ -n "$CPUB" ]; then
	FILTER='udpkit_chat.type == 1 && udpkit_chat.nick == "cid"'
	okx "dissector: chat v3 beacon with cid's key (base64, as udpkey pub)" \
		'fields udpkit_chat.version udpkit_chat.key_b64 | sort -u >"$T/cb" && [ "$(cat "$T/cb")" = "3 $CPUB" ]'
	FILTER='udpkit.type == 3 && udpkit.flags.noise == 1'
	fields udp.srcport udp.dstport | head -n 1 >"$T/cp"
	read -r ca cb <"$T/cp"
	CHATF="udp.port == ${ca:-0} && udp.port == ${cb:-0}"
	okx "dissector: identity chat session: NOISE CONNECT (96 bytes of Noise) and ACCEPT" 'noise_ok "$CHATF"'
	okx "dissector: identity chat session: SEALED both ways, counters rising, no DATA in clear" \
		'sealed_ctrs "$CHATF && udp.srcport == $ca" | rising && sealed_ctrs "$CHATF && udp.srcport == $cb" | rising &&
		 [ -z "$(FILTER="$CHATF && udpkit.type >= 5 && udpkit.type <= 11" fields frame.number)" ] &&
		 ! tshark -r "$T/cap.pcapng" -Y "frame contains \"sealed from cid\"" 2>/dev/null | grep -q .'
fi
if [ -n "$IDPORT" ]; then
	IDF="udp.port == $IDPORT"
	okx "dissector: udpsend --identity: CONNECT with NOISE and 96 bytes of Noise, ACCEPT with message 2" 'noise_ok "$IDF"'
	okx "dissector: udpsend --identity: 8 or more SEALED to the receiver, counters rising, none repeated" \
		'sealed_ctrs "udp.dstport == $IDPORT" >"$T/sc" && [ "$(wc -l <"$T/sc")" -ge 8 ] && rising <"$T/sc" &&
		 sealed_ctrs "udp.srcport == $IDPORT" | rising'
	okx "dissector: udpsend --identity: SEALED fields (sids, key phase, ciphertext length, tag)" \
		'FILTER="udpkit.type == 12 && $IDF" fields udpkit.dst_sid udpkit.src_sid udpkit.flags.key_phase udpkit.ciphertext_len udpkit.tag | head -n 1 >"$T/sf" &&
		 read -r d s ph n tag <"$T/sf" && [ "$ph" = 0 ] && [ "$n" -ge 16 ] && [ ${#tag} = 32 ] && [ "$((d))" != 0 ] && [ "$((s))" != 0 ]'
	okx "dissector: udpsend --identity: only HELLO, COOKIE, CONNECT, ACCEPT and SEALED on the wire, no plaintext" \
		'FILTER="$IDF" OCC=a fields udpkit.type | tr , "\n" | sort -un | tr "\n" " " >"$T/it" && [ "$(cat "$T/it")" = "1 2 3 4 12 " ] &&
		 ! tshark -r "$T/cap.pcapng" -Y "frame contains \"identity words\"" 2>/dev/null | grep -q .'
fi

# --- expert info: on the hand-made packets, and nowhere else ------------------------
FILTER="udp.dstport == $BAD && (udpkit.malformed || udpkit_chat.malformed)"
okx "dissector: malformed SEALED, NOISE CONNECT, flags and chat key flagged (4)" \
	'[ "$(fields frame.number | wc -l)" = 4 ]'
FILTER="udp.dstport == $BAD && udpkit_chat.type == 9"
okx "dissector: a v3 peer list entry with its address, port and key (base64)" \
	'[ "$(fields udpkit_chat.peer.ipv4 udpkit_chat.peer.port udpkit_chat.peer.key_b64)" = "127.0.0.1 4660 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=" ]'
FILTER="udp.dstport != $BAD && (udpkit.malformed || udpkit_chat.malformed || _ws.malformed)"
okx "dissector: no expert info on the tools' packets" '[ -z "$(fields frame.number)" ]'

# every truncation of every (small) captured packet: flagged or not claimed,
# never a Lua error (text2pcap comes with tshark)
if command -v text2pcap >/dev/null 2>&1; then
	timeout 60 tshark -r "$T/cap.pcapng" -Y 'udp.length < 400' -T fields -e udp.payload 2>/dev/null | sort -u |
		awk '{ for (n = 2; n < length($1); n += 2) { printf "0000";
			for (i = 1; i < n; i += 2) printf " %s", substr($1, i, 2); print "" } }' >"$T/trunc.txt"
	text2pcap -q -u 1000,2000 "$T/trunc.txt" "$T/trunc.pcap" 2>>"$T/tshark.err"
	okx "dissector: $(wc -l <"$T/trunc.txt") truncated packets, no Lua error, the short ones flagged" \
		'timeout 120 tshark -X "lua_script:$LUA" -r "$T/trunc.pcap" -V >"$T/trunc.out" 2>&1 &&
		 ! grep -qi "lua error" "$T/trunc.out" && grep -q "Error/Malformed): SEALED shorter" "$T/trunc.out"'
fi

# --- the tools' own --pcap captures: the same dissector on what they wrote --------
PC=$T/pc
start_recv prel -r --raw -c 1 --pcap "$PC.recv.pcap" 127.0.0.1 0
printf 'hello pcap' | snd -r --pcap "$PC.send.pcap" "127.0.0.1:$PORT"
wait_pid "$RPID" 10
RELPORT=$PORT
ok "--pcap: reliable transfer done" [ "$(cat "$T/prel.out")" = "hello pcap" ]
start_recv psealed -k "$T/key" -c 1 --pcap "$PC.sealed.pcap" 127.0.0.1 0
printf 'pcap secret' | snd -k "$T/key" "127.0.0.1:$PORT"
wait_pid "$RPID" 10
start_recv prelay -w 2 127.0.0.1 0
rpid=$RPID
start_relay prelay -w 2 --pcap "$PC.relay.pcap" --stats --netsim 'loss 30% seed 3' 127.0.0.1:0 "127.0.0.1:$PORT"
seq 100 | snd "127.0.0.1:$XPORT"
wait_pid "$rpid" 10
wait_pid "$XPID" 10
pf() { # FILE FILTER FIELDS...: tshark -T fields on a --pcap file
	local f=$1 flt=$2 args=(); shift 2
	for x in "$@"; do args+=(-e "$x"); done
	timeout 60 tshark -X "lua_script:$LUA" -r "$f" -Y "$flt" -T fields -E separator=' ' \
		-o udp.check_checksum:TRUE "${args[@]}" 2>>"$T/tshark.err"
}
okx "--pcap (sender): both ways, HELLO to ACK, DATA with the payload, good UDP checksums" \
	'pf "$PC.send.pcap" udpkit udpkit.type | tr , "\n" | sort -un >"$T/ptypes" &&
	 [ "$(grep -cx "[1-6]" "$T/ptypes")" = 6 ] &&
	 pf "$PC.send.pcap" "udpkit.type == 5 && udpkit.msg_len == 10" udpkit.payload | grep -q "68656c6c6f2070636170" &&
	 [ -z "$(pf "$PC.send.pcap" "udp.checksum.status != 1" frame.number)" ]'
okx "--pcap (receiver): COOKIE and ACCEPT it sent, from its port to the sender's" \
	'pf "$PC.recv.pcap" "udpkit.type == 4" ip.src udp.srcport | grep -q "^127.0.0.1 $RELPORT$" &&
	 pf "$PC.recv.pcap" "udpkit.type == 2" udpkit.cookie | grep -q .'
okx "--pcap: a sealed datagram as sealed bytes (the session's key id), no plaintext" \
	'pf "$PC.sealed.pcap" udpkit_seal udpkit_seal.key_id udpkit_seal.session_id | head -n 1 | { read -r k sid && [ "$((k))" = "$((0x$(wire_kid "$sid")))" ]; } &&
	 ! timeout 60 tshark -X "lua_script:$LUA" -r "$PC.sealed.pcap" -V 2>/dev/null | grep -q "pcap secret"'
lost=$(sed -n 's/.*client->target: 100 received, \([0-9]*\) forwarded, \([0-9]*\) lost.*/\2/p' "$T/prelay.rerr")
okx "--pcap (relay): 100 in on the client side, forwarded and dropped ($lost) on the target side" \
	'[ -n "$lost" ] && [ "$lost" -gt 0 ] &&
	 [ "$(pf "$PC.relay.pcap" "eth.src == 02:75:6b:00:00:01 && udp.dstport == $XPORT" frame.number | wc -l)" = 100 ] &&
	 [ "$(pf "$PC.relay.pcap" "eth.src == 02:75:6b:00:00:02 && eth.dst == 02:75:6b:00:00:dd && udp.dstport == $PORT" frame.number | wc -l)" = "$lost" ] &&
	 [ "$(pf "$PC.relay.pcap" "eth.src == 02:75:6b:00:00:02 && eth.dst == 02:75:6b:00:00:00 && udp.dstport == $PORT" frame.number | wc -l)" = $((100 - lost)) ]'

if [ -n "$IDPORT" ]; then
	start_recv pident -r --raw --once --pcap "$PC.ident.pcap" --identity "$T/srv.id" --allowed-keys "$T/allowed" 127.0.0.1 0
	snd -r --whole --identity "$T/cid.id" --peer-key "$SPUB" 127.0.0.1 "$PORT" <"$T/idmsg"
	wait_pid "$RPID" 10
	okx "--pcap (identity receiver): NOISE CONNECT in (96 bytes of Noise), SEALED both ways, nothing else" \
		'cmp -s "$T/idmsg" "$T/pident.out" &&
		 [ "$(pf "$PC.ident.pcap" "udpkit.type == 3" udpkit.flags.noise udpkit.noise.len | sort -u)" = "1 96" ] &&
		 pf "$PC.ident.pcap" udpkit udpkit.type | tr , "\n" | sort -un | tr "\n" " " | grep -qx "1 2 3 4 12 " &&
		 [ -n "$(pf "$PC.ident.pcap" "udpkit.type == 12 && udp.srcport == $PORT" frame.number)" ] &&
		 [ -n "$(pf "$PC.ident.pcap" "udpkit.type == 12 && udp.dstport == $PORT" frame.number)" ]'
fi
okx "tshark read the capture without Lua errors" '! grep -qi "lua.*error\|error.*lua" "$T/tshark.err"'
e2e_summary
