#!/bin/bash
# tools/wireshark/udpkit.lua on a real capture: the tools talk inside a
# fresh network namespace (only lo), dumpcap records lo, and tshark with the
# dissector must name every field of a handshake, data, an ack, a sealed
# header and chat packets (a beacon, and a line inside a reliable message).
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

# libpcap hands packets over in blocks: wait (bounded) until the last ones
# are in the file, or a SIGINT could end dumpcap before their block does
for _ in $(seq 100); do
	tshark -r "$T/cap.pcapng" -Y 'udp contains "hi from ann"' 2>/dev/null | grep -q . && break
	sleep 0.1
done
kill -INT "$DPID" 2>/dev/null
wait_pid "$DPID" 10

# --- read it back with the dissector ----------------------------------------------
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

FILTER='udpkit.type == 3'
okx "dissector: CONNECT fields" \
	'fields udpkit.dst_sid udpkit.src_sid udpkit.bucket udpkit.cookie udpkit.init_seq udpkit.window_pkts udpkit.max_msg udpkit.budget udpkit.crc | head -n 1 >"$T/c" && [ "$(wc -w <"$T/c")" = 9 ]'
FILTER='udpkit.type == 2'
okx "dissector: COOKIE fields" \
	'fields udpkit.dst_sid udpkit.bucket udpkit.cookie udpkit.crc | head -n 1 >"$T/k" && [ "$(wc -w <"$T/k")" = 4 ]'
FILTER='udpkit.type == 4'
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

okx "tshark read the capture without Lua errors" '! grep -qi "lua.*error\|error.*lua" "$T/tshark.err"'
e2e_summary
