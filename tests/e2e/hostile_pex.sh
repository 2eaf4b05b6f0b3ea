#!/bin/bash
# udpchat's peer lists and group beacons under attack (docs/CHAT.md,
# "Hostile peer lists"), inside a fresh network namespace (unshare -n) with
# only lo, where 127.0.0.2-.251 and .252/.253 play third parties:
#  - a group of 8 peers meets on the group;
#  - a hostile peer (tests/helpers/chat_pex_hostile) completes a handshake
#    with each of them and sends each a PEERS list of 250 victims;
#  - hostile_beacon.py pex forges 40 padded beacons from two other victims;
#  - meanwhile a ninth peer joins and meets all eight;
# and asserts: the list victims got no more bytes than the hostile peer
# sent, the beacon victims no more than the forged beacons (the group as a
# whole: one member answers each), each peer started at most
# CHAT_PEX_PER_PEER (8) sessions from the lists, and everyone exits 0.
if [ "${E2E_IN_NETNS:-}" != 1 ]; then
	if ! unshare -n true 2>/dev/null; then
		echo "SKIP: hostile_pex -- cannot create a network namespace (need root)"
		exit 0
	fi
	exec unshare -n env E2E_IN_NETNS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.bash"
HB=$TOP/tests/e2e/hostile_beacon.py
HOST=$TOP/${BUILD:-build}/helpers/chat_pex_hostile
cd "$T" || exit 1
if ! command -v python3 >/dev/null 2>&1 || [ ! -x "$HOST" ]; then
	skip "hostile peer lists" "no python3 or no $HOST (make check builds it)"
	e2e_summary
	exit
fi
ip link set lo up && ip link set lo multicast on || { fail "netns set-up" "ip link"; exit 1; }
ip route add 224.0.0.0/4 dev lo
GROUP=239.255.42.42
py() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($1)" "$2"; }
field() { sed -n "s/.*$2:.* $1=\([0-9]*\).*/\1/p" "$3" | head -n 1; }

ARGS=(--stats --beacon 0.2 --port 4401 --gone 10 --linger 2)
PEERS=(p1 p2 p3 p4 p5 p6 p7 p8)
TARGETS=()
for p in "${PEERS[@]}"; do
	chat_start "$p" "${ARGS[@]}"
	TARGETS+=("127.0.0.1:$CPORT")
done
met=0
for p in "${PEERS[@]}"; do
	wait_grep "$p.out" '"type":"join"' 7 20 || met=1
done
ok "8 peers meet on the group" [ "$met" = 0 ]

timeout 40 python3 "$HB" pex --group $GROUP --port 4401 --vport 45000 --nvict 250 \
	--count 40 --secs 16 --report pex.json 2>pex.perr &
vpid=$!; PIDS+=("$vpid")
wait_grep pex.perr 'victims ready' 1 10
timeout 40 "$HOST" 14 45000 250 "${TARGETS[@]}" >hostile.out 2>hostile.err &
hpid=$!; PIDS+=("$hpid")
seen=0
for p in "${PEERS[@]}"; do
	wait_grep "$p.out" '"from":"mallory#' 1 10 || seen=1
done
ok "the hostile peer completes a handshake with all 8 (its lists are believed)" [ "$seen" = 0 ]
# a real peer joins while the lists' sessions wait (--gone 10)
chat_start late "${ARGS[@]}"
okx "a real peer joins while the hostile entries are pending: it meets all 8" \
	'wait_grep late.out "\"type\":\"join\",.*\"from\":\"p[1-8]#" 8 20 &&
	 wait_grep p1.out "\"type\":\"join\",.*\"from\":\"late#" 1 5'
for p in "${PEERS[@]}" late; do chat_say "$p" /who; done
wait_pid "$hpid" 45; HRC=$RC
wait_pid "$vpid" 45; VRC=$RC
rcs=0
for p in "${PEERS[@]}" late; do chat_stop "$p" 15; [ "$RC" = 0 ] || rcs=1; done
ok "hostile peer, victims and all 9 peers exit 0" [ "$HRC" = 0 -a "$VRC" = 0 -a "$rcs" = 0 ]

hb=$(sed -n 's/.*bytes_out=\([0-9]*\).*/\1/p' hostile.out)
lb=$(py 'r["list_got"][1]' pex.json) ln=$(py 'r["list_got"][0]' pex.json)
fb=$(py 'r["forged_bytes"]' pex.json) fn=$(py 'r["forged"]' pex.json)
bb=$(py 'r["beacon_got"][1]' pex.json) bn=$(py 'r["beacon_got"][0]' pex.json)
conn=0 held=0
maxc=$(py 'max([v[0] for v in r["senders"].values()] or [0])' pex.json)
for p in "${PEERS[@]}"; do
	conn=$((conn + $(field connect peers "$p.err")))
	held=$((held + $(field held gate "$p.err")))
	echo "# $p: $(sed -n 's/.*\(peers: .*\)/\1/p' "$p.err") | $(sed -n 's/.*\(gate: .*\)/\1/p' "$p.err")"
done
echo "# lists: the hostile peer sent $hb bytes (8 lists of 250 entries); the 250 list victims got $ln datagrams, $lb bytes; the peers started $conn sessions (lists, genuine ones too); at most $maxc datagrams from one peer to the list victims, held $held retransmissions"
echo "# beacons: $fn forged ($fb bytes); the 2 beacon victims got $bn datagrams, $bb bytes from the group of 8"
okx "peer lists: amplification <= 1 ($lb bytes to the list victims <= $hb sent by the hostile peer), at most $maxc <= 32 HELLOs from one peer (8 sessions, 4 HELLOs each)" \
	'[ -n "$hb" ] && [ "$lb" -le "$hb" ] && [ "$maxc" -le 32 ] && [ "$ln" -ge 1 ]'
okx "forged beacons: the group answers each once at most ($bn HELLOs, $bb bytes <= $fb forged)" \
	'[ "$bb" -le "$fb" ] && [ "$bn" -le "$fn" ]'
okx "the group as a whole: $((lb + bb)) bytes to third parties <= $((hb + fb)) sent by the attacker" \
	'[ $((lb + bb)) -le $((hb + fb)) ]'
e2e_summary
