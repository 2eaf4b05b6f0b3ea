#!/bin/bash
# Sealed traffic end to end: udpkey keys and passphrases in udpsend/udprecv,
# what a keyed receiver drops (plaintext, other keys, replays, garbage), what
# a keyless one says, --echo never answering the unauthenticated, key-file
# permission checks, sealed traffic through udprelay, a sealed file transfer.
. "$(dirname "$0")/lib.bash"
RELAY=$BIN/udprelay
KEY=$BIN/udpkey
cd "$T" || exit 1
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" | head -n 1; }

"$KEY" genkey -o k 2>"$T/last.err"
"$KEY" genkey -o k2 2>>"$T/last.err"
ok "udpkey genkey -o k: mode 0600" [ "$(stat -c %a k)" = 600 ]

# --- key file roundtrip --------------------------------------------------------
start_recv rt -k k --stats -c 3 -w 5 127.0.0.1 0
snd -k k 127.0.0.1 "$PORT" one
snd -k k 127.0.0.1 "$PORT" two
snd -k k 127.0.0.1 "$PORT" three
wait_pid "$RPID" 10
ok "-k k: udpsend -> udprecv roundtrip" [ "$RC" = 0 -a "$(cat rt.out)" = $'one\ntwo\nthree' ]
okx "--stats counts opened=3" '[ "$(field opened <rt.err)" = 3 ]'

# --- passphrases (file on one side, environment on the other) ------------------
printf 'correct horse\n' >pw; chmod 600 pw
printf 'battery staple\n' >pw2; chmod 600 pw2
# -c 1: the receiver ends on the datagram; the sender's Argon2id can take
# seconds on a loaded box, which a short -w must not count as idle
start_recv pf --passphrase-file pw --group lab --stats -c 1 -w 60 127.0.0.1 0
SEAL_PW='correct horse' snd --passphrase-env SEAL_PW --group lab 127.0.0.1 "$PORT" hi
wait_pid "$RPID" 10
ok "passphrase file and env, same group: delivered" [ "$(cat pf.out)" = hi ]

# Argon2id (moderate) costs most of a second a run: the receivers below use
# the key udpkey derives from the same passphrase and group, once.
"$KEY" derive --group lab --passphrase-file pw -o pwk 2>>"$T/last.err"
start_recv pk -k pwk --stats -w 2 127.0.0.1 0
snd -k pwk 127.0.0.1 "$PORT" hi
wait_pid "$RPID" 10
okx "udpkey derive -o: the same key as the tools derive" \
	'[ "$(cat pk.out)" = hi ] && [ "$(sed -n "s/.*key_id=\([0-9a-f]*\).*/\1/p" pk.err)" = "$(sed -n "s/.*key_id=\([0-9a-f]*\).*/\1/p" pf.err)" ]'

# the wrong keys are derived before the receivers start, so the receivers'
# -w 2 times only the silence after the datagrams, not the sender's Argon2id
"$KEY" derive --group lab --passphrase-file pw2 -o pw2k 2>>"$T/last.err"
"$KEY" derive --group b --passphrase-file pw -o pwbk 2>>"$T/last.err"
start_recv pw2 -k pwk --stats -w 2 127.0.0.1 0
snd -k pw2k -c 3 127.0.0.1 "$PORT" hi
wait_pid "$RPID" 10
okx "different passphrase: nothing delivered, exit 3" '[ "$RC" = 3 ] && [ ! -s pw2.out ]'
okx "different passphrase: --stats counts wrong-key drops" '[ "$(field drop_wrongkey <pw2.err)" = 3 ]'

start_recv grp -k pwk --stats -w 2 127.0.0.1 0
snd -k pwbk 127.0.0.1 "$PORT" hi
wait_pid "$RPID" 10
okx "same passphrase, other group: nothing delivered" '[ ! -s grp.out ] && [ "$(field drop_wrongkey <grp.err)" = 1 ]'

# no default group, no short passphrase: one line each, before any Argon2 work
"$SEND" --passphrase-file pw 127.0.0.1 9 x 2>ng.err
rc=$?
okx "--passphrase-file without --group: one line naming both, exit 2" \
	'[ $rc = 2 ] && [ "$(wc -l <ng.err)" = 1 ] && grep -q -- "--passphrase-file needs --group NAME" ng.err'
SEAL_PW='correct horse' "$RECV" --passphrase-env SEAL_PW 127.0.0.1 0 2>ng2.err
rc=$?
okx "--passphrase-env without --group: one line, exit 2" \
	'[ $rc = 2 ] && [ "$(wc -l <ng2.err)" = 1 ] && grep -q -- "--passphrase-env needs --group NAME" ng2.err'
printf 'eleven char\n' >pws; chmod 600 pws
"$SEND" --passphrase-file pws --group lab 127.0.0.1 9 x 2>ps.err
rc=$?
okx "11-byte passphrase: one line, exit 1" \
	'[ $rc = 1 ] && [ "$(wc -l <ps.err)" = 1 ] && grep -q "passphrase file '"'"'pws'"'"': passphrase too short: at least 12 bytes" ps.err'

# --- keyless receiver, plaintext sender ---------------------------------------
start_recv nokey --stats -w 2 127.0.0.1 0
snd -k k -c 5 127.0.0.1 "$PORT" secret
wait_pid "$RPID" 10
okx "keyless udprecv prints no data" '[ ! -s nokey.out ]'
okx "keyless udprecv says so once" \
	'[ "$(grep -c "received sealed packets but no key was given (-k/--passphrase-file)" nokey.err)" = 1 ]'
okx "keyless --stats counts the sealed drops" '[ "$(field sealed_dropped <nokey.err)" = 5 ]'

start_recv plain -k k --stats -w 2 127.0.0.1 0
snd -c 4 127.0.0.1 "$PORT" plaintext
wait_pid "$RPID" 10
okx "plaintext to a keyed udprecv: nothing printed, drops counted" \
	'[ ! -s plain.out ] && [ "$(field drop_plaintext <plain.err)" = 4 ]'

# --- replay: captured sealed bytes sent twice -> one delivery -------------------
start_recv rep -k k --stats -w 60 127.0.0.1 0 # ended below, once drained
timeout 10 python3 - "$PORT" "$BIN/udpsend" <<'PY' 2>"$T/last.err"
import socket, subprocess, sys
port = int(sys.argv[1])
cap = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
cap.bind(("127.0.0.1", 0)); cap.settimeout(5)
subprocess.run([sys.argv[2], "-k", "k", "127.0.0.1", str(cap.getsockname()[1]), "only once"], check=True)
pkt, _ = cap.recvfrom(65536)
assert pkt[:3] == b"\xc5\x53\x01" and len(pkt) == 9 + 48, pkt
for _ in range(2):
    cap.sendto(pkt, ("127.0.0.1", port))
PY
pyrc=$?
stop_drained "$RPID" "$PORT"
okx "replayed sealed datagram delivered exactly once" \
	'[ $pyrc = 0 ] && [ "$(cat rep.out)" = "only once" ] && [ "$(field drop_replay <rep.err)" = 1 ]'

# --- --echo never answers what did not authenticate ----------------------------
start_recv echo -k k --echo --stats -w 60 127.0.0.1 0 # ended below, once drained
timeout 10 python3 - "$PORT" <<'PY' >echo.py.out 2>"$T/last.err"
import os, socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.5)
s.sendto(b"plain hello", ("127.0.0.1", port))
s.sendto(b"\xc5\x53\x01\x01" + os.urandom(80), ("127.0.0.1", port))  # forged
s.sendto(os.urandom(200), ("127.0.0.1", port))
try:
    data, _ = s.recvfrom(65536)
    print("ANSWERED", len(data))
except socket.timeout:
    print("silent")
PY
stop_drained "$RPID" "$PORT"
okx "--echo sends nothing back to plaintext/forged/garbage" '[ "$(cat echo.py.out)" = silent ] && [ ! -s echo.out ]'
okx "--echo receiver counted the drops" \
	'[ $(( $(field drop_plaintext <echo.err) + $(field drop_auth <echo.err) + $(field drop_wrongkey <echo.err) )) = 3 ]'
start_recv echo2 -k k --echo -c 1 -w 3 127.0.0.1 0
snd -k k -w 2 127.0.0.1 "$PORT" ping >echo2.reply
wait_pid "$RPID" 10
ok "--echo answers a sealed datagram, sealed" [ "$(cat echo2.reply)" = ping ]

# --- key file checks, no passphrase on the command line ------------------------
cp k k644; chmod 644 k644
"$RECV" -k k644 127.0.0.1 0 >/dev/null 2>perm.err
rc=$?
okx "key file mode 0644 refused: one line naming the file, exit 1" \
	'[ $rc = 1 ] && [ "$(wc -l <perm.err)" = 1 ] && grep -q "^udprecv: key file '"'"'k644'"'"': permissions too open.*chmod 600" perm.err'
"$SEND" --passphrase secret 127.0.0.1 9 x 2>pp.err
rc=$?
okx "--passphrase on the command line does not exist (exit 2)" '[ $rc = 2 ] && grep -q passphrase-file pp.err'
"$SEND" -k nonexistent 127.0.0.1 9 x 2>ne.err
rc=$?
okx "missing key file: exit 1 naming it" '[ $rc = 1 ] && grep -q "key file '"'"'nonexistent'"'"'" ne.err'

# --- through udprelay with loss: what arrives authenticated ---------------------
seq -f 'line %04g' 1 500 >lines
start_recv rel -k k --stats -w 2 127.0.0.1 0
rpid=$RPID
: >rel.rerr
"$RELAY" --stats -w 3 --netsim 'loss 10% seed 3' 127.0.0.1:0 "127.0.0.1:$PORT" 2>rel.rerr &
XPID=$!; PIDS+=("$XPID")
for _ in $(seq 250); do grep -q 'listening on' rel.rerr && break; sleep 0.02; done
XPORT=$(sed -n 's/^udprelay: listening on [^,]*:\([0-9]*\),.*/\1/p' rel.rerr | head -n 1)
snd -k k --rate 20000 127.0.0.1 "$XPORT" <lines
wait_pid "$rpid" 20
wait_pid "$XPID" 10
got=$(wc -l <rel.out)
okx "sealed traffic through udprelay (loss 10% seed 3): ~90% arrive, all authentic" \
	'[ "$got" -gt 400 ] && [ "$got" -lt 500 ] && [ "$(grep -vxF -f lines rel.out | wc -l)" = 0 ] && [ "$(field opened <rel.err)" = "$got" ]'
okx "nothing dropped at the receiver" \
	'[ "$(field drop_auth <rel.err)" = 0 ] && [ "$(field drop_plaintext <rel.err)" = 0 ]'

# --- sealed file transfer, byte exact -------------------------------------------
head -c 300000 /dev/urandom >blob
start_recv file -k k --raw -w 2 127.0.0.1 0
snd -k k --chunk 1200 --rate 20000 127.0.0.1 "$PORT" <blob
wait_pid "$RPID" 10
ok "sealed --chunk 1200 transfer is byte-exact (cmp)" cmp -s blob file.out

# --- --cipher aes256gcm: sent with it, opened by any keyed receiver -----------
"$SEND" --cipher aes256gcm 127.0.0.1 9 x 2>ck.err
rc=$?
okx "--cipher without a key: exit 2" '[ $rc = 2 ] && grep -q "needs a key" ck.err'
"$SEND" -k k --cipher aes128 127.0.0.1 9 x 2>cn.err
rc=$?
okx "--cipher with an unknown name: exit 2" '[ $rc = 2 ] && grep -q "not xchacha20 or aes256gcm" cn.err'
if grep -qw aes /proc/cpuinfo && grep -qw pclmulqdq /proc/cpuinfo; then
	timeout 10 python3 - "$BIN/udpsend" <<'PY' >gcm.py.out 2>"$T/last.err"
import socket, subprocess, sys
cap = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
cap.bind(("127.0.0.1", 0)); cap.settimeout(5)
subprocess.run([sys.argv[1], "-k", "k", "--cipher", "aes256gcm", "127.0.0.1",
                str(cap.getsockname()[1]), "gcm"], check=True)
pkt, _ = cap.recvfrom(65536)
print(pkt[:4].hex(), len(pkt))
PY
	ok "--cipher aes256gcm: header flags 0x03 (sealed, aes256gcm)" [ "$(cat gcm.py.out)" = "c5530103 51" ]
	start_recv gcm -k k --raw --stats -w 2 127.0.0.1 0
	snd -k k --cipher aes256gcm --chunk 1200 --rate 20000 127.0.0.1 "$PORT" <blob
	wait_pid "$RPID" 10
	okx "aes256gcm --chunk 1200 transfer to a default receiver is byte-exact" \
		'cmp -s blob gcm.out && [ "$(field drop_auth <gcm.err)" = 0 ]'
	start_recv gcmr -r -k k --cipher aes256gcm --stats -w 5 127.0.0.1 0
	snd -r -k k 127.0.0.1 "$PORT" <lines
	wait_pid "$RPID" 15
	okx "reliable: aes256gcm one way, xchacha20 the other, byte-exact" \
		'cmp -s lines gcmr.out && grep -q "seal: key_id=[0-9a-f]* cipher=aes256gcm" gcmr.err'
	start_recv gcmk -k k2 --stats -w 2 127.0.0.1 0
	snd -k k --cipher aes256gcm -c 2 127.0.0.1 "$PORT" hi
	wait_pid "$RPID" 10
	okx "aes256gcm from another key: wrong-key drops, nothing printed" \
		'[ ! -s gcmk.out ] && [ "$(field drop_wrongkey <gcmk.err)" = 2 ]'
else
	skip "--cipher aes256gcm transfers" "no AES-NI/PCLMUL on this CPU"
fi

e2e_summary
