#!/bin/bash
# udpchat's discovery (beacon) port under attack (docs/HARDENING.md), inside a
# fresh network namespace (unshare -n) with only lo (multicast on), where
# 127.0.0.2 plays the victim of a reflection:
#  1. a single forged beacon "from" a victim (source 127.0.0.2, naming a
#     victim's port as its data port): the bytes udpchat sends the victim,
#     per forged byte (the amplification factor), for a short and a padded one;
#  2. a burst of random, oversized, truncated, wrong-version, wrong-type,
#     forged (short and padded) beacons, forged LEAVEs and replays at the
#     group while two genuine peers chat: every line arrives exactly once,
#     nothing hostile is shown, every beacon is counted under its reason,
#     and no peer sends the victims more than was forged in their name;
#  3. the same forged beacons at a sealed group (-k): 0 bytes to the victim.
if [ "${E2E_IN_NETNS:-}" != 1 ]; then
	if ! unshare -n true 2>/dev/null; then
		echo "SKIP: hostile_chat -- cannot create a network namespace (need root)"
		exit 0
	fi
	exec unshare -n env E2E_IN_NETNS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.bash"
CHAT=$BIN/udpchat
KEY=$BIN/udpkey
HB=$TOP/tests/e2e/hostile_beacon.py
cd "$T" || exit 1
if ! command -v python3 >/dev/null 2>&1; then
	skip "hostile beacons" "no python3"
	e2e_summary
	exit
fi
ip link set lo up && ip link set lo multicast on || { fail "netns set-up" "ip link"; exit 1; }
ip route add 224.0.0.0/4 dev lo
GROUP=239.255.42.42

py() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($1)" "$2"; }
# field NAME FILE: the number after NAME= on the LINE-prefixed line
field() { sed -n "s/.*$2:.* $1=\([0-9]*\).*/\1/p" "$3" | head -n 1; }
# kdrops PID PORT: the kernel's drop count of PID's UDP socket on PORT
kdrops() {
	local inodes
	inodes=$(ls -l /proc/"$1"/fd 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p' | tr '\n' ' ')
	awk -v p="$(printf ':%04X' "$2")" -v ino=" $inodes" '
		substr($2, length($2) - 4) == p && index(ino, " " $10 " ") { s += $NF }
		END { print s + 0 }' /proc/net/udp
}

CHAT_ARGS=(--stats --beacon 0.2 --linger 2)
# victim_bytes REPORT PORT: bytes the victims got from 127.0.0.1:PORT
victim_bytes() { py "sum(v[1] for k, v in r['victims_got'].items() if k.endswith(':$2'))" "$1"; }

# --- 1. one forged beacon: what it draws -----------------------------------
# --gone 3: without the gate, a session's HELLO (64 bytes) is retried on the
# RTO timer (250 ms, doubling) until the session is dead after --gone.
single() { # NAME LEN [ARGS...]
	local name=$1 len=$2; shift 2
	chat_start "$name" "${CHAT_ARGS[@]}" --port 4301 --away 1 --gone 3 "$@"
	local port=$CPORT
	timeout 20 python3 "$HB" single --group $GROUP --port 4301 --len "$len" --linger 4 \
		--report "$name.json" 2>"$name.perr"
	chat_stop "$name" 15
	SB=$(victim_bytes "$name.json" "$port")
	SF=$(py 'r["forged_bytes"]' "$name.json")
	SRC=$RC
}
single s84 84
echo "# one forged padded beacon ($SF bytes): the victim got $SB bytes in 4 s"
okx "one padded forged beacon: at most one HELLO to the victim (amplification $SB/$SF <= 1)" \
	'[ "$SRC" = 0 ] && [ "$SB" -le "$SF" ] && [ "$(field held gate s84.err)" -ge 1 ]'
single s20 20
echo "# one forged short beacon ($SF bytes): the victim got $SB bytes"
okx "one short forged beacon: nothing to the victim, counted drop_short" \
	'[ "$SRC" = 0 ] && [ "$SB" = 0 ] && [ "$(field drop_short beacons s20.err)" = 1 ]'

# --- 2. a burst at the group while ann and ben chat --------------------------
chat_start ann "${CHAT_ARGS[@]}" --port 4302
aport=$CPORT apid=${CPID[ann]}
chat_start ben "${CHAT_ARGS[@]}" --port 4302
bport=$CPORT bpid=${CPID[ben]}
wait_grep ann.out '"type":"join"' 1 5 && wait_grep ben.out '"type":"join"' 1 5
joined=$?
NB=2700
timeout 40 python3 "$HB" burst --group $GROUP --port 4302 --count $NB --victims 24 --secs 25 \
	--linger 3 --report burst.json 2>burst.perr &
hpid=$!; PIDS+=("$hpid")
for i in $(seq 20); do
	chat_say ann "from ann $i"; chat_say ben "from ben $i"
	sleep 0.1
done
wait_grep ann.out '"text":"from ben 20"' 1 10
wait_grep ben.out '"text":"from ann 20"' 1 10
chat_say ann /who; chat_say ben /who
wait_grep ann.out '"type":"who"' 1 5; wait_grep ben.out '"type":"who"' 1 5
wait_pid "$hpid" 45
HRC=$RC
akd=$(kdrops "$apid" 4302) bkd=$(kdrops "$bpid" 4302)
chat_stop ben 15; brc=$RC
chat_stop ann 15; arc=$RC
sent=$(py 'r["sent"]' burst.json)
ok "burst: both joined, $sent hostile beacons sent, exit 0 both" \
	[ "$joined" = 0 -a "$HRC" = 0 -a "$sent" = $NB -a "$arc" = 0 -a "$brc" = 0 ]
python3 - ann.out ben.out >burst.check 2>&1 <<'PY'
import json, sys
bad = []
for f, me, other in ((sys.argv[1], "ann", "ben"), (sys.argv[2], "ben", "ann")):
    msgs, peers = [], set()
    for line in open(f):
        e = json.loads(line)
        if e["type"] == "msg":
            msgs.append(e["text"])
        if "from" in e:
            peers.add(e["from"].split("#")[0])
    if msgs != ["from %s %d" % (other, i) for i in range(1, 21)]:
        bad.append("%s: msgs %s" % (me, msgs[:30]))
    if peers != {other}:
        bad.append("%s: lines from %s" % (me, sorted(peers)))
print("\n".join(bad) or "ok")
PY
ok "burst: every genuine line seen exactly once by the other, in order" [ "$(cat burst.check)" = ok ]
okx "burst: no hostile text or peer shown (no HOSTILE, every line from the other peer)" \
	'! grep -q HOSTILE ann.out ben.out'
k() { py "r[\"kinds\"][\"$1\"]" burst.json; }
for who in ann ben; do
	e=$who.err
	kd=$([ $who = ann ] && echo "$akd" || echo "$bkd")
	sum=0
	for f in own known wait connect credit leave drop_trunc drop_bad drop_type drop_short drop_busy elsewhere; do
		sum=$((sum + $(field $f beacons $e)))
	done
	in=$(field in beacons $e)
	echo "# $who: beacon port read $in datagrams (kernel dropped $kd): $(sed -n 's/.*beacons: //p' $e)"
	echo "# $who: $(sed -n 's/.*\(gate: .*\)/\1/p' $e)"
	okx "burst: $who counts each beacon under one reason ($sum of $in), none lost uncounted" \
		'[ "$sum" = "$in" ] && [ $((in + kd)) -ge "$sent" ]'
	okx "burst: $who: each hostile kind on its reason (trunc, bad, type, short, leave, forged)" \
		'[ $(( $(field drop_trunc beacons $e) + kd )) -ge "$(k oversized)" ] &&
		 [ "$(field drop_trunc beacons $e)" -le "$(k oversized)" ] &&
		 [ $(( $(field drop_bad beacons $e) + kd )) -ge $(( $(k random) + $(k truncated) + $(k badver) )) ] &&
		 [ "$(field drop_bad beacons $e)" -le $(( $(k random) + $(k truncated) + $(k badver) )) ] &&
		 [ $(( $(field drop_type beacons $e) + kd )) -ge "$(k wrongtype)" ] &&
		 [ "$(field drop_type beacons $e)" -le "$(k wrongtype)" ] &&
		 [ $(( $(field drop_short beacons $e) + kd )) -ge "$(k short)" ] &&
		 [ "$(field drop_short beacons $e)" -le "$(k short)" ] &&
		 [ $(( $(field leave beacons $e) + kd )) -ge "$(k leave)" ] &&
		 [ $(( $(field connect beacons $e) + $(field credit beacons $e) + $(field wait beacons $e) + $(field drop_busy beacons $e) + $(field elsewhere beacons $e) + kd )) -ge "$(k padded)" ]'
done
fb=$(py 'r["forged_bytes"]' burst.json)
ab=$(victim_bytes burst.json "$aport") bb=$(victim_bytes burst.json "$bport")
other=$(py "sum(v[1] for k, v in r['victims_got'].items() if not k.endswith(':$aport') and not k.endswith(':$bport'))" burst.json)
echo "# burst: $fb bytes forged from the victims' address; the victims got $ab bytes from ann, $bb from ben, $other from elsewhere"
okx "burst: amplification <= 1 per peer (ann $ab, ben $bb <= $fb forged bytes), nothing else reached the victims" \
	'[ "$ab" -le "$fb" ] && [ "$bb" -le "$fb" ] && [ "$other" = 0 ]'

# --- 3. a sealed group: forged plaintext beacons draw nothing ----------------
"$KEY" genkey -o k 2>last.err
single sealed 84 -k k
echo "# sealed group: one forged padded beacon ($SF bytes), the victim got $SB bytes"
okx "sealed: a forged beacon draws 0 bytes, dropped as plaintext by the beacon socket's seal" \
	'[ "$SRC" = 0 ] && [ "$SB" = 0 ] && [ "$(field drop_plaintext beacons sealed.err)" -ge 1 ] &&
	 [ "$(field connect beacons sealed.err)" = 0 ]'
chat_start sa "${CHAT_ARGS[@]}" --port 4303 -k k
sapid=${CPID[sa]}
chat_start sb "${CHAT_ARGS[@]}" --port 4303 -k k
wait_grep sa.out '"type":"join"' 1 5 && wait_grep sb.out '"type":"join"' 1 5
sj=$?
timeout 30 python3 "$HB" burst --group $GROUP --port 4303 --count 900 --victims 24 --secs 15 \
	--linger 2 --report sburst.json 2>sburst.perr
SRC2=$?
chat_say sa "sealed hello"
wait_grep sb.out '"text":"sealed hello"' 1 5
sh=$?
skd=$(kdrops "$sapid" 4303)
chat_stop sb 15; chat_stop sa 15
vb=$(py 'sum(v[1] for v in r["victims_got"].values())' sburst.json)
fb=$(py 'r["forged_bytes"]' sburst.json)
echo "# sealed burst: $fb bytes forged from the victims' address, the victims got $vb bytes"
okx "sealed burst: peers joined and chat, the victims got 0 bytes, the seal counts the plaintext" \
	'[ "$sj" = 0 -a "$SRC2" = 0 -a "$sh" = 0 -a "$vb" = 0 ] &&
	 [ $(( $(field drop_plaintext beacons sa.err) + skd )) -ge 900 ] && [ "$(field connect beacons sa.err)" -le 1 ]'

e2e_summary
