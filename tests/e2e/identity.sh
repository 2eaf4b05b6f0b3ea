#!/bin/bash
# Identity sessions end to end (udpsend -r / udprecv -r --identity, over
# 127.0.0.1): a listed key delivers a file byte for byte and is named with
# its messages; an unlisted key, a server that cannot prove --peer-key and
# a wrong group key are refused, counted, and said in one line; a group-key
# holder without an allowed identity cannot inject into a session (forged
# packets with counter 2^64-2 from the client's own address do not stop the
# transfer); keys turn over mid-transfer without loss; and a capture of a
# session stays closed to both long-term private keys and the group key
# (tests/helpers/fs_attack.c), while the same program given the session's
# ephemeral key opens it (the capture is complete).
. "$(dirname "$0")/lib.bash"
HELP=${UDPKIT_HELPERS:-$TOP/build/helpers}
KEY=$BIN/udpkey
cd "$T" || exit 1

# rsnd SECS ARGS...: udpsend -r bounded by SECS; stderr in $T/last.err, sets SRC.
rsnd() {
	local secs=$1; shift
	timeout -k 2 "$secs" "$SEND" -r "$@" 2>"$T/last.err"
	SRC=$?
}
# stat_of FILE NAME: the value of NAME= in the identity line of FILE
stat_of() { sed -n "s/.* identity: .* $2=\([0-9]*\).*/\1/p" "$1" | tail -n 1; }
lines() { wc -l <"$1" | tr -d ' '; }

for n in server alice bob; do
	"$KEY" genkey --identity -o "$n.key" >"$n.pub" || exit 1
done
"$KEY" genkey -o group.key && "$KEY" genkey -o other.key || exit 1
printf '# who may send\n%s alice\n\n' "$(cat alice.pub)" >allowed
spub=$(cat server.pub) apub=$(cat alice.pub)
sfpr=$("$KEY" fingerprint "$spub") afpr=$("$KEY" fingerprint "$apub")
head -c 3000000 /dev/urandom >file3m

ID_S=(--identity server.key --allowed-keys allowed)
ID_A=(--identity alice.key --peer-key @server.pub)

# --- the command line -----------------------------------------------------------
bad=0
while IFS='|' read -r tool args want; do
	# shellcheck disable=SC2086
	timeout 5 "$BIN/$tool" $args >/dev/null 2>"$T/u.err" </dev/null
	rc=$?
	if [ $rc != 2 ] || [ "$(lines "$T/u.err")" != 1 ] || ! grep -q -- "$want" "$T/u.err"; then
		bad=1; echo "  $tool $args: rc=$rc $(cat "$T/u.err")"
	fi
done <<USAGE
udpsend|--identity alice.key --peer-key $spub 127.0.0.1 9 x|needs -r
udpsend|-r --peer-key $spub 127.0.0.1 9 x|--peer-key needs --identity
udpsend|-r --rekey-after 10 127.0.0.1 9 x|--rekey-after needs --identity
udpsend|-r --identity alice.key 127.0.0.1 9 x|needs --peer-key
udpsend|-r --identity alice.key --peer-key nokey 127.0.0.1 9 x|not a public key
udpsend|-r --identity alice.key --peer-key $spub --allowed-keys allowed 127.0.0.1 9 x|for the receiver
udpsend|-r --identity alice.key --peer-key $spub --rekey-after 0 127.0.0.1 9 x|--rekey-after
udpsend|-r --identity alice.key --peer-key $spub -k group.key --cipher aes256gcm 127.0.0.1 9 x|does not apply
udprecv|--identity server.key --allowed-keys allowed 0|needs -r
udprecv|-r --allowed-keys allowed 0|needs --identity
udprecv|-r --identity server.key 0|needs --allowed-keys
udprecv|-r --identity server.key --allowed-keys allowed --peer-key $spub 0|for the sender
USAGE
okx "identity options: bad combinations exit 2 with one line" '[ $bad = 0 ]'
printf '%s alice\nnot a key\n' "$apub" >allowed.bad
printf '%s alice\n%s again\n' "$apub" "$apub" >allowed.dup
cp allowed allowed.open && chmod 664 allowed.open
for f in bad:'line 2: not' dup:'line 2: this key is listed twice' open:'writable by group or other'; do
	timeout 5 "$RECV" -r --identity server.key --allowed-keys "allowed.${f%%:*}" 127.0.0.1 0 \
		>/dev/null 2>"$T/u.err" </dev/null
	rc=$?
	okx "--allowed-keys ${f%%:*}: exit 1, one line (${f#*:})" \
		'[ $rc = 1 ] && [ "$(lines "$T/u.err")" = 1 ] && grep -q "${f#*:}" "$T/u.err"'
done
chmod 644 server.key
timeout 5 "$SEND" -r --identity server.key --peer-key "$apub" 127.0.0.1 9 x >/dev/null 2>"$T/u.err"
rc=$?
okx "--identity file open to others: exit 1, one line" \
	'[ $rc = 1 ] && [ "$(lines "$T/u.err")" = 1 ] && grep -q "permissions too open" "$T/u.err"'
chmod 600 server.key

# --- a listed identity ---------------------------------------------------------
start_recv ok -r --raw --once -v --stats "${ID_S[@]}" 127.0.0.1 0
rpid=$RPID
rsnd 20 --whole --stats "${ID_A[@]}" 127.0.0.1 "$PORT" <file3m
wait_pid "$rpid" 10
okx "listed identity: 3 MB byte for byte, both exit 0" \
	'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s file3m "$T/ok.out"'
okx "-v names the sender with every message: alice ($afpr)" \
	'n=$(grep -c "bytes from " "$T/ok.err"); [ "$n" -ge 1 ] &&
	 [ "$(grep -c "bytes from 127.0.0.1:[0-9]*: alice ($afpr)\$" "$T/ok.err")" = "$n" ] &&
	 grep -q "session from 127.0.0.1:[0-9]*: alice ($afpr), key $apub" "$T/ok.err"'
okx "--stats: peer key and name on both sides, one handshake each" \
	'grep -q "peer=.* peer_key=$apub peer_fpr=$afpr peer_name=alice rekeys=" "$T/ok.err" &&
	 grep -q "peer=.* peer_key=$spub peer_fpr=$sfpr peer_name=- rekeys=" "$T/last.err" &&
	 [ "$(stat_of "$T/ok.err" handshakes)" = 1 ] && [ "$(stat_of "$T/last.err" handshakes)" = 1 ] &&
	 grep -q "identity: key=$spub psk=no" "$T/ok.err"'

# not -c 2: a receiver that closes on the second message can beat a loaded
# sender to its EOF, which then reports input left unsent; the sender's
# exit 0 says both were delivered, then SIGINT ends the receiver
start_recv js -r --json -w 60 "${ID_S[@]}" 127.0.0.1 0
rpid=$RPID
printf 'one\ntwo\n' | rsnd 10 "${ID_A[@]}" 127.0.0.1 "$PORT"
kill -INT "$rpid"
wait_pid "$rpid" 10
okx "--json: peer_key and peer_name in every message" \
	'[ "$SRC" = 0 ] && [ "$(grep -cF "\"peer_key\":\"$apub\",\"peer_name\":\"alice\",\"len\":3," "$T/js.out")" = 2 ]'

# --- refused: unlisted key, unproven server key, no identity ------------------
start_recv ref -r -w 4 --stats "${ID_S[@]}" 127.0.0.1 0
rpid=$RPID
rsnd 10 --timeout 1 --identity bob.key --peer-key "$spub" 127.0.0.1 "$PORT" secret
okx "unlisted identity: exit 1, one line, nothing delivered" \
	'[ "$SRC" = 1 ] && [ "$(lines "$T/last.err")" = 1 ] &&
	 grep -q "no session with 127.0.0.1:$PORT: .*--peer-key $sfpr" "$T/last.err"'
rsnd 10 --timeout 1 --identity alice.key --peer-key @bob.pub 127.0.0.1 "$PORT" secret
okx "server cannot prove --peer-key: exit 1, one line naming the key" \
	'[ "$SRC" = 1 ] && [ "$(lines "$T/last.err")" = 1 ] &&
	 grep -q "$("$KEY" fingerprint @bob.pub)" "$T/last.err"'
rsnd 10 --timeout 1 127.0.0.1 "$PORT" secret
plain=$SRC
kill -INT "$rpid"; wait_pid "$rpid" 5
okx "plain -r sender to an identity server: exit 1" '[ "$plain" = 1 ]'
okx "receiver: refused and counted (refused_unknown=1, refused_auth=1), no output" \
	'[ "$(stat_of "$T/ref.err" refused_unknown)" = 1 ] && [ "$(stat_of "$T/ref.err" refused_auth)" -ge 1 ] &&
	 [ ! -s "$T/ref.out" ] && grep -q "refusing a sender whose key is not on --allowed-keys" "$T/ref.err"'

# --- with a group key as admission ---------------------------------------------
start_recv grp -r --raw -w 6 --stats -k group.key "${ID_S[@]}" 127.0.0.1 0
rpid=$RPID
rsnd 10 --whole -k group.key "${ID_A[@]}" 127.0.0.1 "$PORT" <file3m
ga=$SRC
rsnd 10 --timeout 1 -k group.key --identity bob.key --peer-key @server.pub 127.0.0.1 "$PORT" secret
gb=$SRC
rsnd 10 --timeout 1 -k other.key "${ID_A[@]}" 127.0.0.1 "$PORT" secret
go=$SRC; gomsg=$(cat "$T/last.err")
rsnd 10 --timeout 1 "${ID_A[@]}" 127.0.0.1 "$PORT" secret
gn=$SRC
kill -INT "$rpid"; wait_pid "$rpid" 5
okx "group key + listed identity: delivered byte for byte, psk=yes, socket not sealed twice" \
	'[ "$ga" = 0 ] && cmp -s file3m "$T/grp.out" && grep -q "identity: key=$spub psk=yes" "$T/grp.err" &&
	 ! grep -q "^udprecv: seal: key_id" "$T/grp.err"'
okx "group key holder with an unlisted identity: refused and counted" \
	'[ "$gb" = 1 ] && [ "$(stat_of "$T/grp.err" refused_unknown)" = 1 ]'
okx "listed identity with another group key, or none: refused (exit 1)" \
	'[ "$go" = 1 ] && [ "$gn" = 1 ] && echo "$gomsg" | grep -q "$sfpr"'
okx "the receiver wrote only alice's file" 'cmp -s file3m "$T/grp.out"'

# --- a key holder's forgeries cannot touch a session ---------------------------
# A relay in the middle (python) passes the genuine session through and, for
# the first 50 client packets and every 200th after, sends from the client's
# own forwarded address: SEALED packets with the session's ids and counter
# 2^64-2 or 2^64-1 and random bytes, genuine ones with the counter changed
# or one byte flipped, and plaintext DATA with the session's ids and a
# valid CRC.  Before identity sessions a group-key holder's authentic
# high-counter packet moved the replay window past every later genuine one.
cat >forge.py <<'EOF'
import json, os, select, socket, struct, sys, time
sys.path.insert(0, sys.argv[3])
from hostile_peer import crc32c
target = ("127.0.0.1", int(sys.argv[1]))
lst = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); lst.bind(("127.0.0.1", 0))
fwd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); fwd.bind(("127.0.0.1", 0))
for s in (lst, fwd):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
print("port %d" % lst.getsockname()[1], flush=True)  # one write (PYTHONUNBUFFERED)
client = None; n_sealed = 0; forged = {}; last = time.time(); start = last
def forge(kind, d):
    forged[kind] = forged.get(kind, 0) + 1
    fwd.sendto(d, target)
while time.time() - last < 3 and time.time() - start < 60:
    r, _, _ = select.select([lst, fwd], [], [], 0.5)
    for s in r:
        d, a = s.recvfrom(70000)
        last = time.time()
        if s is lst:
            client = a
            fwd.sendto(d, target)
            if len(d) >= 36 and d[0] == 0x75 and d[1] == 1 and d[2] == 12:
                n_sealed += 1
                if n_sealed <= 50 or n_sealed % 200 == 0:
                    hdr = d[:12]
                    for c in (2**64 - 2, 2**64 - 1):
                        forge("high_counter", hdr + struct.pack(">Q", c) + os.urandom(len(d) - 20))
                    forge("counter_changed", d[:12] + struct.pack(">Q", 2**64 - 2) + d[20:])
                    b = bytearray(d); b[len(b) // 2] ^= 0x40
                    forge("bitflip", bytes(b))
                    body = bytes([0x75, 1, 5, 0]) + d[4:12] + os.urandom(40)
                    forge("plain_data", body + struct.pack(">I", crc32c(body)))
        elif client:
            lst.sendto(d, client)
json.dump({"sealed_seen": n_sealed, "forged": forged}, open(sys.argv[2], "w"))
EOF
start_recv inj -r --raw --once --stats -k group.key "${ID_S[@]}" 127.0.0.1 0
rpid=$RPID
head -c 20000000 /dev/urandom >file20m
python3 forge.py "$PORT" forge.json "$TOP/tests/e2e" >forge.port 2>forge.err &
fpid=$!; PIDS+=($fpid)
for _ in $(seq 100); do grep -q '^port [0-9]' forge.port && break; sleep 0.05; done
fport=$(sed -n 's/^port //p' forge.port)
rsnd 40 --whole --stats -k group.key "${ID_A[@]}" 127.0.0.1 "$fport" <file20m
wait_pid "$rpid" 10
wait_pid "$fpid" 10
nforged=$(python3 -c 'import json; print(sum(json.load(open("forge.json"))["forged"].values()))' 2>/dev/null)
okx "forged packets at the session (counter 2^64-2, $nforged in all): 20 MB delivered byte for byte" \
	'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s file20m "$T/inj.out" && [ "${nforged:-0}" -ge 250 ]'
okx "the forgeries were dropped and counted (drop_auth), not delivered" \
	'[ "$(stat_of "$T/inj.err" drop_auth)" -ge 150 ]'

# --- keys turn over mid-transfer -----------------------------------------------
# (--whole on loopback: ~64 KiB datagrams, about 330 packets each way for 20 MB)
start_recv rk -r --raw --once --stats --rekey-after 30 "${ID_S[@]}" 127.0.0.1 0
rpid=$RPID
rsnd 40 --whole --stats --rekey-after 30 "${ID_A[@]}" 127.0.0.1 "$PORT" <file20m
wait_pid "$rpid" 10
rks=$(stat_of "$T/last.err" rekeys) rkr=$(stat_of "$T/rk.err" rekeys)
okx "rekey every 30 packets: 20 MB byte for byte, keys turned ($rks / $rkr times)" \
	'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s file20m "$T/rk.out" && [ "${rks:-0}" -ge 10 ] && [ "${rkr:-0}" -ge 10 ] &&
	 [ "$(stat_of "$T/rk.err" drop_auth)" = 0 ]'
start_recv rkl -r --raw --once --rekey-after 20,0.05 --netsim-in 'reorder 10% delay 1ms seed 4' \
	"${ID_S[@]}" 127.0.0.1 0
rpid=$RPID
rsnd 40 --whole --stats --rekey-after 20,0.05 --netsim 'loss 2% seed 5' "${ID_A[@]}" 127.0.0.1 "$PORT" <file3m
wait_pid "$rpid" 10
okx "rekey by count and time under loss and reordering: 3 MB byte for byte" \
	'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s file3m "$T/rkl.out" && [ "$(stat_of "$T/last.err" rekeys)" -ge 5 ]'

# --- forward secrecy ------------------------------------------------------------
if [ -x "$HELP/fs_attack" ]; then
	head -c 200000 /dev/urandom >file200k
	fs_run() { # NAME ENV...: one captured session with the group key
		local name=$1; shift
		start_recv "$name" -r --raw --once -k group.key "${ID_S[@]}" 127.0.0.1 0
		rpid=$RPID
		env "$@" timeout -k 2 20 "$SEND" -r --whole -k group.key "${ID_A[@]}" \
			--pcap "$name.pcap" 127.0.0.1 "$PORT" <file200k 2>"$T/last.err"
		SRC=$?
		wait_pid "$rpid" 10
	}
	fs_run fs
	"$HELP/fs_attack" fs.pcap --server-priv server.key --client-priv alice.key \
		--psk-key group.key >fs.txt 2>&1
	okx "capture of a session: message 1's static key opens with the server's private key" \
		'[ "$SRC" = 0 ] && grep -q "^msg1_client_static=$apub\$" fs.txt && grep -q "^msg1_client_static_matches=1$" fs.txt'
	okx "both static private keys and the group key open none of its $(sed -n 's/^sealed=//p' fs.txt) sealed packets" \
		'grep -q "^static_opened=0$" fs.txt && grep -q "^static_msg2_opened=0$" fs.txt &&
		 [ "$(sed -n "s/^sealed=//p" fs.txt)" -ge 20 ]'
	# The control: a TESTS-ONLY hook makes the client's ephemeral key
	# reproducible, so the same program can be given it.
	fs_run fsc UDPKIT_TEST_IDENT_SEED=77
	eph=$("$HELP/fs_attack" --print-ephemeral 77 2>/dev/null)
	"$HELP/fs_attack" fsc.pcap --server-priv server.key --client-priv alice.key \
		--psk-key group.key --client-ephemeral "$eph" >fsc.txt 2>&1
	total=$(sed -n 's/^sealed=//p' fsc.txt)
	okx "control: with the session's ephemeral key the same program rebuilds message 1 and opens all $total" \
		'[ "$SRC" = 0 ] && grep -q "^eph_msg1_identical=1$" fsc.txt && grep -q "^eph_msg2_opened=1$" fsc.txt &&
		 [ "$(sed -n "s/^eph_opened=//p" fsc.txt)" = "$total" ] && [ "$total" -ge 20 ] &&
		 grep -q "^static_opened=0$" fsc.txt'
else
	skip "forward secrecy" "no $HELP/fs_attack (make helpers)"
fi

e2e_summary
