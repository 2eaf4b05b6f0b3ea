#!/bin/bash
# udpchat under loss before discovery has settled (issue 14): 8 peers in a
# fresh network namespace, each with --netsim 'loss 20%', each typing 5
# lines 1 s after start, before most have met.  Every peer must show every
# line of every other peer exactly once, in its sender's order (the lines
# said before two peers met come by catch-up, marked late).  Prints the
# time to a full mesh.  A peer started after the lines gets none of them,
# until /history.  Every wait is bounded; the whole script takes < 90 s.
if [ "${E2E_IN_NETNS:-}" != 1 ]; then
	if ! unshare -n true 2>/dev/null; then
		echo "SKIP: chat_mesh -- cannot create a network namespace (need root)"
		exit 0
	fi
	exec unshare -n env E2E_IN_NETNS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.bash"

ip link set lo up && ip link set lo multicast on || { fail "netns set-up" "ip link"; exit 1; }
ip route add 224.0.0.0/4 dev lo

N=8 L=5
SEEDS=${CHAT_MESH_SEEDS:-1 2 3}
CHAT_CMD=(timeout -k 2 40)

# check_round PREFIX: every other peer's L lines exactly once, in order
check_round() {
	python3 - "$T" "$1" "$N" "$L" <<'PY'
import json, sys
t, pre, n, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
bad, late = [], 0
for i in range(1, n + 1):
    seen = {}
    for line in open(f"{t}/{pre}{i}.out"):
        ev = json.loads(line)
        if ev["type"] != "msg":
            continue
        late += ev.get("late", False)
        _, s, j = ev["text"].split()
        seen.setdefault(int(s), []).append(int(j))
        if not ev["from"].startswith(f"{pre}{s}#"):
            bad.append(f"{pre}{i}: '{ev['text']}' from {ev['from']}")
    for s in range(1, n + 1):
        want = [] if s == i else list(range(1, k + 1))
        if seen.get(s, []) != want:
            bad.append(f"{pre}{i} from {pre}{s}: {seen.get(s, [])}")
print("\n".join(bad) if bad else f"late={late}")
sys.exit(1 if bad else 0)
PY
}

# count PREFIX TYPE: the smallest number of TYPE events any peer has shown
count_min() {
	local i c min=999999
	for i in $(seq "$N"); do
		c=$(grep -c "\"type\":\"$2\"" "$T/$1$i.out" 2>/dev/null)
		[ "${c:-0}" -lt "$min" ] && min=${c:-0}
	done
	echo "$min"
}

for seed in $SEEDS; do
	pre="s${seed}p"
	t0=$(date +%s.%N)
	for i in $(seq "$N"); do
		chat_start "$pre$i" --netsim "loss 20% seed $((seed * 100 + i))" --linger 2
	done
	sleep 1 # the scenario: lines typed 1 s after start, discovery not settled
	for i in $(seq "$N"); do
		for j in $(seq "$L"); do chat_say "$pre$i" "m $i $j"; done
	done
	mesh="" all=0
	for _ in $(seq 500); do # 25 s at most
		[ -z "$mesh" ] && [ "$(count_min "$pre" join)" -ge $((N - 1)) ] &&
			mesh=$(python3 -c "import sys,time; print(f'{time.time()-float(sys.argv[1]):.2f}')" "$t0")
		[ "$(count_min "$pre" msg)" -ge $(((N - 1) * L)) ] && { all=1; [ -n "$mesh" ] && break; }
		sleep 0.05
	done
	got=$(python3 -c "import sys,time; print(f'{time.time()-float(sys.argv[1]):.2f}')" "$t0")
	check_round "$pre" >"$T/last.err" 2>&1
	rc=$?
	echo "seed $seed: full mesh of $N after ${mesh:-(not within 25)} s, all lines after $got s, $(tail -n 1 "$T/last.err")"
	okx "seed $seed: $N peers, 20 % loss, lines typed 1 s after start: every line to every peer once, in order" \
		'[ $rc = 0 ] && [ $all = 1 ]'
	if [ "$seed" = "${SEEDS%% *}" ]; then
		# a latecomer: none of the lines said before it started ...
		chat_start "${pre}late" --netsim "loss 20% seed 9"
		wait_grep "$T/${pre}late.out" '"type":"join"' "$N" 15
		sleep 1 # catch-up, if it wrongly came, would be here by now
		okx "a peer started after the lines gets none of them" \
			'[ "$(grep -c "\"type\":\"msg\"" "$T/${pre}late.out")" = 0 ]'
		# ... until /history 3: the last 3 of each, marked, once
		chat_say "${pre}late" "/history 3"
		wait_grep "$T/${pre}late.out" '"history":true' $((N * 3)) 10
		okx "/history 3: the last 3 lines of each peer, marked history" \
			'[ "$(grep -c "\"type\":\"msg\".*\"text\":\"m [0-9] [345]\".*\"history\":true" "$T/${pre}late.out")" = $((N * 3)) ] &&
			 [ "$(grep -c "\"type\":\"msg\"" "$T/${pre}late.out")" = $((N * 3)) ]'
		chat_stop "${pre}late" 5
	fi
	for i in $(seq "$N"); do fd=${CFD[$pre$i]}; exec {fd}>&-; done # end of input: they leave
	for i in $(seq "$N"); do wait_pid "${CPID[$pre$i]}" 6; done
done
e2e_summary
