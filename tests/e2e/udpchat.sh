#!/bin/bash
# udpchat end to end, inside a fresh network namespace (unshare -n) with
# only lo (multicast on): peers driven through stdin (FIFOs) and read on
# stdout (--json), every wait bounded.
if [ "${E2E_IN_NETNS:-}" != 1 ]; then
	if ! unshare -n true 2>/dev/null; then
		echo "SKIP: udpchat -- cannot create a network namespace (need root)"
		exit 0
	fi
	exec unshare -n env E2E_IN_NETNS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.bash"
CHAT=$BIN/udpchat

ip link set lo up && ip link set lo multicast on || { fail "netns set-up" "ip link"; exit 1; }
ip route add 224.0.0.0/4 dev lo
ip -6 route add local ff00::/8 dev lo table local

# --- command line ------------------------------------------------------------------
"$CHAT" --help >"$T/help" 2>&1
ok "--help: exit 0, usage" [ $? = 0 -a -n "$(grep -c '^Usage: udpchat' "$T/help")" ]
"$CHAT" --bogus >/dev/null 2>"$T/last.err"
okx "bad option: exit 2, one line" '[ $? = 2 ] && [ "$(wc -l <"$T/last.err")" = 1 ] && grep -q "unknown option" "$T/last.err"'
"$CHAT" --away 3 --gone 2 >/dev/null 2>"$T/last.err"
ok "--gone not above --away: exit 2" [ $? = 2 ]
"$CHAT" --nick 'a b' </dev/null >/dev/null 2>"$T/last.err"
ok "bad nickname: exit 2" [ $? = 2 ]

# --- two peers over --peer, no discovery -----------------------------------------------
chat_start ann --no-discovery
chat_start ben --no-discovery --peer "127.0.0.1:$CPORT"
okx "--peer: both see the join" 'wait_grep "$T/ann.out" "\"type\":\"join\",.*\"from\":\"ben#" 1 5 && wait_grep "$T/ben.out" "\"type\":\"join\",.*\"from\":\"ann#" 1 5'
chat_say ann "hello ben"
chat_say ben "/me waves"
okx "--peer: message and /me arrive" 'wait_grep "$T/ben.out" "\"type\":\"msg\".*\"text\":\"hello ben\"" 1 5 && wait_grep "$T/ann.out" "\"type\":\"me\".*\"text\":\"waves\"" 1 5'
printf 'esc \033[31m red \377 \303\266 end\n' >&"${CFD[ann]}"
wait_grep "$T/ben.out" 'end"' 1 5
okx "control bytes and bad UTF-8 from a peer: valid JSON, escaped" \
	'python3 -c "import json,sys; e=json.loads(sys.stdin.readlines()[-1]); sys.exit(e[\"text\"] != \"esc \x1b[31m red \ufffd \u00f6 end\")" <"$T/ben.out"'
chat_stop ann
okx "end of input: exit 0" '[ "$RC" = 0 ]'
okx "... and the other side sees the leave" 'wait_grep "$T/ben.out" "\"type\":\"leave\",.*\"from\":\"ann#" 1 5'
chat_stop ben

# --- five peers by multicast discovery, 20 % loss on every one -------------------------
K=${CHAT_K:-25}
TIMERS=(--beacon 0.2 --away 1 --gone 2)
for i in 1 2 3 4 5; do
	chat_start "p$i" --netsim "loss 20% seed $((i * 7))" "${TIMERS[@]}" --linger 3
done
all_joined=1
for i in 1 2 3 4 5; do
	wait_grep "$T/p$i.out" '"type":"join"' 4 10 || all_joined=0
done
ok "5 peers, 20 % loss: everyone sees 4 joins" [ "$all_joined" = 1 ]
for j in $(seq "$K"); do
	for i in 1 2 3 4 5; do chat_say "p$i" "m $i $j"; done
done
all_in=1
for i in 1 2 3 4 5; do
	wait_grep "$T/p$i.out" '"type":"msg"' $((4 * K)) 20 || all_in=0
done
# check_msgs: every other peer's K messages exactly once, in order per sender
check_msgs() {
	python3 - "$T" "$K" <<'PY'
import json, sys
t, k = sys.argv[1], int(sys.argv[2])
bad = []
for i in range(1, 6):
    seen = {}
    for line in open(f"{t}/p{i}.out"):
        ev = json.loads(line)
        if ev["type"] != "msg":
            continue
        _, s, n = ev["text"].split()
        seen.setdefault(int(s), []).append(int(n))
        if not ev["from"].startswith(f"p{s}#"):
            bad.append(f"p{i}: '{ev['text']}' from {ev['from']}")
    for s in range(1, 6):
        want = [] if s == i else list(range(1, k + 1))
        if seen.get(s, []) != want:
            bad.append(f"p{i} from p{s}: {seen.get(s, [])[:40]}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}
check_msgs >"$T/last.err" 2>&1
okx "every message of every peer seen by every other exactly once, in sender order ($K each)" \
	'[ $? = 0 ] && [ "$all_in" = 1 ]'

# private: p1 to p2 only
chat_say p1 "/msg p2 for your eyes only"
wait_grep "$T/p2.out" '"type":"private".*"from":"p1#.*"text":"for your eyes only"' 1 5
ok "/msg reaches its target" [ $? = 0 ]
sleep 1
okx "/msg reaches no one else" '! grep -q "for your eyes only" "$T/p1.out" "$T/p3.out" "$T/p4.out" "$T/p5.out"'

# /who lists the four others with address and last seen
chat_say p3 "/who"
wait_grep "$T/p3.out" '"type":"who"' 4 5
okx "/who lists 4 peers with addr and last_seen" \
	'[ "$(grep "\"type\":\"who\"" "$T/p3.out" | grep -c "\"addr\":\"127.0.0.1:[0-9]*\",\"state\":\"[a-z]*\",\"last_seen\":[0-9.]*")" = 4 ]'

# /nick: the others see the rename, and the id suffix stays
chat_say p3 "/nick carol"
okx "/nick: the others see p3#x become carol#x" \
	'wait_grep "$T/p1.out" "\"type\":\"nick\",.*\"from\":\"p3#\([0-9a-f]*\)\".*\"to\":\"carol#" 1 5'

# a killed peer goes away, then gone within --gone (2 s) of silence
t_kill=$(date +%s.%N)
kill -9 "${CPID[p5]}"; wait "${CPID[p5]}" 2>/dev/null
gone_ok=1
for i in 1 2 3 4; do
	wait_grep "$T/p$i.out" '"type":"gone",.*"from":"p5#' 1 6 || gone_ok=0
done
late=$(python3 -c '
import json, sys
t0 = float(sys.argv[1]); worst = 0
for f in sys.argv[2:]:
    for l in open(f):
        e = json.loads(l)
        if e["type"] == "gone" and e["from"].startswith("p5#"):
            worst = max(worst, e["ts"] - t0)
print("%.2f" % worst)' "$t_kill" "$T"/p[1-4].out)
okx "kill -9: all 4 see p5 gone within --gone + 1 s (took ${late}s)" \
	'[ "$gone_ok" = 1 ] && python3 -c "import sys; sys.exit(not 0 < $late <= 3.0)"'
okx "... after it was marked away" 'grep -q "\"type\":\"away\",.*\"from\":\"p5#" "$T/p1.out"'

# a peer that ends its input leaves: exit 0, the others see "leave"
chat_stop p4
rc4=$RC
leave_ok=1
for i in 1 2 3; do
	wait_grep "$T/p$i.out" '"type":"leave",.*"from":"p4#' 1 5 || leave_ok=0
done
okx "end of input: p4 exits 0, the 3 others see it leave" '[ "$rc4" = 0 ] && [ "$leave_ok" = 1 ]'
okx "no false gone (only p5 went)" '! grep "\"type\":\"gone\"" "$T"/p[1-4].out | grep -qv "p5#"'
for i in 1 2 3; do chat_stop "p$i"; done

okx "no escape sequences on stdout when it is not a terminal" '! grep -q $'"'"'\033'"'"' "$T"/p[1-4].out "$T"/ann.out'

# --- a terminal, under tmux: a message arriving mid-line keeps the typed text ---------
if ! command -v tmux >/dev/null 2>&1; then
	skip "tmux: typed text survives an incoming message" "tmux not installed"
else
	# a private server (-S): a tmux of the user's outside the namespace must
	# not run our chat
	TM=(tmux -S "$T/tmux.sock" -f /dev/null)
	chat_start q1 --beacon 0.2
	"${TM[@]}" new-session -d -x 120 -y 20 \
		"env TERM=xterm NO_COLOR= '$CHAT' --nick tt --beacon 0.2 2>'$T/tt.err'; sleep 5"
	wait_grep "$T/q1.out" '"type":"join",.*"from":"tt#' 1 5
	ok "tmux: the terminal peer joins" [ $? = 0 ]
	pane() { "${TM[@]}" capture-pane -p "$@" -t 0 >"$T/pane" 2>/dev/null; }
	for _ in $(seq 50); do pane; grep -q 'joined from' "$T/pane" && break; sleep 0.1; done
	"${TM[@]}" send-keys -t 0 -l 'half typ'
	for _ in $(seq 50); do pane; grep -q '^> half typ' "$T/pane" && break; sleep 0.1; done
	chat_say q1 "incoming while you type"
	for _ in $(seq 50); do pane; grep -q 'incoming while you type' "$T/pane" && break; sleep 0.1; done
	# the message above, the prompt with the typed text intact below it
	okx "tmux: incoming line printed above, '> half typ' intact on the prompt line" \
		'grep -q "<q1#[0-9a-f]*> incoming while you type" "$T/pane" &&
		 [ "$(grep -v "^$" "$T/pane" | tail -n 1)" = "> half typ" ] &&
		 [ "$(grep -n "incoming while" "$T/pane" | cut -d: -f1)" -lt "$(grep -n "^> half typ" "$T/pane" | cut -d: -f1)" ]'
	pane -e
	okx "tmux: colours on a terminal" 'grep -q $'"'"'\033\[3[1-6]m'"'"' "$T/pane"'
	"${TM[@]}" send-keys -t 0 -l 'ed'
	"${TM[@]}" send-keys -t 0 Enter
	okx "tmux: finishing the line sends it whole" 'wait_grep "$T/q1.out" "\"text\":\"half typed\"" 1 5'
	# a typed line longer than the terminal (120 columns) covers two rows
	long=$(printf 'x%.0s' $(seq 150))
	"${TM[@]}" send-keys -t 0 -l "$long"
	for _ in $(seq 50); do pane -J; grep -q "^> $long" "$T/pane" && break; sleep 0.1; done
	chat_say q1 "over a long line"
	for _ in $(seq 50); do pane -J; grep -q 'over a long line' "$T/pane" && break; sleep 0.1; done
	okx "tmux: a line wrapped over two rows survives an incoming message whole" \
		'[ "$(grep -v "^$" "$T/pane" | tail -n 1)" = "> $long" ] && [ "$(grep -c "xxxxxxxxxx" "$T/pane")" = 1 ]'
	"${TM[@]}" send-keys -t 0 C-u
	printf '\033[2J\033[H wiped?\n' >&"${CFD[q1]}"
	for _ in $(seq 50); do pane; grep -q 'wiped?' "$T/pane" && break; sleep 0.1; done
	okx "tmux: a peer's escape sequence is shown as text, not obeyed" \
		'grep -q "> ?\[2J?\[H wiped?" "$T/pane" && grep -q "incoming while you type" "$T/pane"'
	"${TM[@]}" send-keys -t 0 -l '/quit'
	"${TM[@]}" send-keys -t 0 Enter
	okx "tmux: /quit leaves" 'wait_grep "$T/q1.out" "\"type\":\"leave\",.*\"from\":\"tt#" 1 5'
	"${TM[@]}" new-session -d -s nc -x 120 -y 20 \
		"env TERM=xterm NO_COLOR=1 '$CHAT' --nick nc --beacon 0.2 2>/dev/null; sleep 5"
	for _ in $(seq 50); do
		"${TM[@]}" capture-pane -p -e -t nc >"$T/pane" 2>/dev/null
		grep -q 'joined from' "$T/pane" && break
		sleep 0.1
	done
	okx "tmux: NO_COLOR=1: no colours" 'grep -q "joined from" "$T/pane" && ! grep -q $'"'"'\033\[3[1-6]m'"'"' "$T/pane"'
	"${TM[@]}" kill-server 2>/dev/null
	chat_stop q1
fi

# --- IPv6 group, broadcast, and a foreign group stay apart -----------------------------
chat_start v6a -6 --beacon 0.2
chat_start v6b -6 --beacon 0.2
okx "IPv6 discovery (-6: default group ff15::4242)" \
	'wait_grep "$T/v6a.out" "\"type\":\"join\",.*\"from\":\"v6b#.*\"addr\":\"\[::1\]:" 1 5'
chat_start bca -b -g 127.255.255.255 --port 4343 --beacon 0.2
chat_start bcb -b -g 127.255.255.255 --port 4343 --beacon 0.2
wait_grep "$T/bca.out" '"type":"join"' 1 5
chat_say bca "by broadcast"
okx "broadcast discovery (-b -g 127.255.255.255)" \
	'wait_grep "$T/bcb.out" "\"type\":\"msg\",.*\"from\":\"bca#.*\"text\":\"by broadcast\"" 1 5'
sleep 0.5
okx "other groups and ports are other chats (v6, broadcast, 4242 never meet)" \
	'[ "$(grep -c "\"type\":\"join\"" "$T/v6a.out")" = 1 ] && [ "$(grep -c "\"type\":\"join\"" "$T/bca.out")" = 1 ]'
for n in v6a v6b bca bcb; do chat_stop "$n"; done

# --- one nickname twice: told apart, /msg needs the suffix --------------------------------
chat_start tw0 --port 4444 --beacon 0.2
for n in tw1 tw2; do
	mkfifo "$T/$n.in"
	( for f in "${CFD[@]}"; do eval "exec $f>&-"; done
	  exec "$CHAT" --json --nick twin --port 4444 --beacon 0.2 <"$T/$n.in" >"$T/$n.out" 2>"$T/$n.err" ) &
	CPID[$n]=$!; PIDS+=("${CPID[$n]}"); exec {fd}>"$T/$n.in"; CFD[$n]=$fd
done
wait_grep "$T/tw0.out" '"type":"join"' 2 5
names=$(sed -n 's/.*"type":"join",.*"from":"\([^"]*\)".*/\1/p' "$T/tw0.out" | sort -u)
okx "two peers named twin are shown apart ($(echo $names))" \
	'[ "$(echo "$names" | wc -l)" = 2 ] && [ "$(echo "$names" | grep -c "^twin#[0-9a-f]\{4,\}$")" = 2 ]'
chat_say tw0 "/msg twin which one?"
wait_grep "$T/tw0.err" 'ambiguous' 1 3
ok "/msg twin: ambiguous, refused" [ $? = 0 ]
first=$(echo "$names" | head -n 1)
chat_say tw0 "/msg $first only you"
okx "/msg twin#suffix reaches that one only" \
	'{ wait_grep "$T/tw1.out" "only you" 1 3 || wait_grep "$T/tw2.out" "only you" 1 1; } &&
	 [ "$(cat "$T"/tw[12].out | grep -c "only you")" = 1 ] && ! grep -q "which one" "$T"/tw[12].out'
for n in tw0 tw1 tw2; do chat_stop "$n"; done

# --- peer exchange: h2 and h3 only know h1, yet meet each other -------------------------
chat_start h1 --no-discovery --beacon 0.2
h1port=$CPORT
chat_start h2 --no-discovery --beacon 0.2 --peer "127.0.0.1:$h1port"
chat_start h3 --no-discovery --beacon 0.2 --peer "127.0.0.1:$h1port"
okx "peer exchange: h2 and h3 (each --peer h1 only) see each other join" \
	'wait_grep "$T/h2.out" "\"type\":\"join\",.*\"from\":\"h3#" 1 5 && wait_grep "$T/h3.out" "\"type\":\"join\",.*\"from\":\"h2#" 1 5'
chat_say h2 "mesh hello"
okx "... and h2's message reaches both h1 and h3 once" \
	'wait_grep "$T/h3.out" "\"text\":\"mesh hello\"" 1 5 && wait_grep "$T/h1.out" "\"text\":\"mesh hello\"" 1 5 &&
	 sleep 0.5 && [ "$(cat "$T"/h[13].out | grep -c "mesh hello")" = 2 ]'
for n in h1 h2 h3; do chat_stop "$n"; done

# --- sealed: a group with a passphrase, a wrong passphrase and no key stay apart -----------
if "$CHAT" --help | grep -q -- '--passphrase-file'; then
	umask 077
	echo 'correct horse battery staple' >"$T/pass"
	echo 'wrong horse battery' >"$T/wrong"
	timeout 10 "$CHAT" --port 4545 --passphrase-file "$T/pass" </dev/null >/dev/null 2>"$T/nogroup.err"
	rc=$?
	okx "--passphrase-file without --key-group: one line naming it, exit 2" \
		'[ $rc = 2 ] && [ "$(wc -l <"$T/nogroup.err")" = 1 ] && grep -q -- "--passphrase-file needs --key-group NAME" "$T/nogroup.err"'
	SEAL=(--port 4545 --beacon 0.2 --key-group lab)
	KEYLESS=(--port 4545 --beacon 0.2)
	chat_start s1 "${SEAL[@]}" --passphrase-file "$T/pass" --netsim 'loss 20% seed 11'
	# s2 seals with AES-256-GCM where the CPU can: peers open either suite
	GCM=(); grep -qw aes /proc/cpuinfo && GCM=(--cipher aes256gcm)
	chat_start s2 "${SEAL[@]}" "${GCM[@]}" --passphrase-file "$T/pass" --netsim 'loss 20% seed 12'
	export CHAT_PASS='correct horse battery staple'
	chat_start s3 "${SEAL[@]}" --passphrase-env CHAT_PASS --netsim 'loss 20% seed 13'
	unset CHAT_PASS
	chat_start sw "${SEAL[@]}" --passphrase-file "$T/wrong"
	chat_start sp "${KEYLESS[@]}"
	okx "sealed group: s1, s2, s3 (file, file, env) see 2 joins each" \
		'wait_grep "$T/s1.out" "\"type\":\"join\"" 2 10 && wait_grep "$T/s2.out" "\"type\":\"join\"" 2 10 && wait_grep "$T/s3.out" "\"type\":\"join\"" 2 10'
	for j in $(seq 10); do chat_say s1 "sealed $j"; chat_say sw "wrong $j"; chat_say sp "plain $j"; done
	okx "sealed messages arrive exactly once under 20 % loss" \
		'wait_grep "$T/s2.out" "\"text\":\"sealed 10\"" 1 10 && wait_grep "$T/s3.out" "\"text\":\"sealed 10\"" 1 10 &&
		 [ "$(grep -c "\"text\":\"sealed " "$T/s2.out")" = 10 ] && [ "$(grep -c "\"text\":\"sealed " "$T/s3.out")" = 10 ]'
	chat_say s2 "from s2 ${GCM[*]:-xchacha20}"
	okx "s2's messages (${GCM[*]:-xchacha20}) reach s1 and s3" \
		'wait_grep "$T/s1.out" "\"text\":\"from s2 " 1 10 && wait_grep "$T/s3.out" "\"text\":\"from s2 " 1 10'
	sleep 1
	okx "the group never sees the wrong-key or keyless peer, nor they it" \
		'[ "$(grep -c "\"type\":\"join\"" "$T/s1.out")" = 2 ] && ! grep -q "\"from\":\"s[wp]#\|wrong \|plain " "$T"/s[123].out &&
		 ! grep -q "\"from\":\"s[123]#\|sealed " "$T/sw.out" "$T/sp.out"'
	okx "the keyless peer is told that sealed packets are dropped" 'grep -q "sealed packets but no key" "$T/sp.err"'
	for n in s1 s2 s3 sw sp; do chat_stop "$n"; done
	okx "sealed peers leave with exit 0" '[ "$RC" = 0 ]'
else
	skip "sealed group" "udpchat built without sealing"
fi

# --- both name each other with --peer: two sessions, one kept, nothing twice -------------
chat_start m1 --no-discovery --beacon 0.2 --data-port 47301 --peer 127.0.0.1:47302
chat_start m2 --no-discovery --beacon 0.2 --data-port 47302 --peer 127.0.0.1:47301
wait_grep "$T/m1.out" '"type":"join"' 1 5 && wait_grep "$T/m2.out" '"type":"join"' 1 5
for j in $(seq 20); do chat_say m1 "a $j"; chat_say m2 "b $j"; done
wait_grep "$T/m1.out" '"text":"b 20"' 1 5; wait_grep "$T/m2.out" '"text":"a 20"' 1 5
sleep 0.5
okx "mutual --peer: one join each, 20 messages each way exactly once" \
	'[ "$(grep -c "\"type\":\"join\"" "$T/m1.out")" = 1 ] && [ "$(grep -c "\"type\":\"join\"" "$T/m2.out")" = 1 ] &&
	 [ "$(grep -c "\"text\":\"b " "$T/m1.out")" = 20 ] && [ "$(grep -c "\"text\":\"a " "$T/m2.out")" = 20 ] &&
	 ! grep -q "\"type\":\"leave\"" "$T/m1.out" "$T/m2.out"'
for n in m1 m2; do chat_stop "$n"; done

# --- the README's examples, as written (PATH finds udpchat) --------------------------------
(
	cd "$T" && PATH="$BIN:$PATH"
	sleep 30 | udpchat --json --nick log >chat.jsonl 2>/dev/null &
	echo 'build finished' | timeout 15 udpchat --nick ci --wait-peers 1 >ci.out 2>/dev/null
	echo "rc=$?" >readme.rc
	grep '"text":"build finished"' chat.jsonl >readme.grep
	kill %1 2>/dev/null; wait
) 2>/dev/null
okx "README: echo | udpchat --wait-peers 1 reaches the --json logger" \
	'[ "$(cat "$T/readme.rc")" = rc=0 ] && grep -q "\"from\":\"ci#" "$T/readme.grep"'

e2e_summary
