#!/bin/bash
# udpchat with identities (docs/CHAT.md, "Identities") end to end, inside a
# fresh network namespace with only lo (multicast on): two identity peers
# meet and record each other (known-peers file, 0600); an impostor with a
# known nick is flagged and refused until /trust; /msg reaches only its
# addressee; a peer without identity and one with never meet and both say
# so; identities with a group key (PSK). Every wait is bounded.
if [ "${E2E_IN_NETNS:-}" != 1 ]; then
	if ! unshare -n true 2>/dev/null; then
		echo "SKIP: chat_ident -- cannot create a network namespace (need root)"
		exit 0
	fi
	exec unshare -n env E2E_IN_NETNS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.bash"
CHAT=$BIN/udpchat
GEN=${UDPKIT_HELPERS:-$TOP/build/helpers}/ident_gen
if [ ! -x "$GEN" ]; then
	echo "SKIP: chat_ident -- no $GEN (make check builds it)"
	exit 0
fi

ip link set lo up && ip link set lo multicast on || { fail "netns set-up" "ip link"; exit 1; }
ip route add 224.0.0.0/4 dev lo

declare -A KEY FPR
for n in ann ben cat imp; do
	read -r KEY[$n] FPR[$n] < <("$GEN" "$T/$n.id") || { fail "identity for $n"; exit 1; }
done
TIMERS=(--beacon 0.2 --away 1 --gone 2 --linger 2)
idchat() { # NAME [ARGS...]: an identity peer with its own known-peers file
	local n=$1; shift
	chat_start "$n" --identity "$T/${ID_OF[$n]:-$n}.id" --known-peers "$T/$n.known" \
		"${TIMERS[@]}" "$@"
}
declare -A ID_OF
# An absence ("no join") is only worth checking once the thing that would
# have caused it has happened, several times: the peer is asked (SIGUSR1,
# peers started with --stats) for its counters until one shows it.
# counter NAME FIELD: FIELD's value in NAME's newest "beacons:" line
counter() {
	local n=$1 k
	k=$(grep -c "beacons: " "$T/$n.err")
	kill -USR1 "${CPID[$n]}" 2>/dev/null || return 1
	wait_grep "$T/$n.err" "beacons: " $((k + 1)) 3 || return 1
	grep "beacons: " "$T/$n.err" | tail -n 1 | sed -n "s/.*[: ]$2=\([0-9]*\).*/\1/p"
}
# wait_counter NAME FIELD MIN SECS: until FIELD reaches MIN (bounded)
wait_counter() {
	local v end=$((SECONDS + $4))
	while [ $SECONDS -le $end ]; do
		v=$(counter "$1" "$2")
		[ -n "$v" ] && [ "$v" -ge "$3" ] && return 0
		sleep 0.2
	done
	echo "# $1: $2=${v:-?} after $4 s, wanted >= $3"
	return 1
}

# --- command line ------------------------------------------------------------------
"$CHAT" --known-peers "$T/x" </dev/null >/dev/null 2>"$T/last.err"
okx "--known-peers without --identity: exit 2, one line" \
	'[ $? = 2 ] && [ "$(wc -l <"$T/last.err")" = 1 ]'
"$CHAT" --identity "$T/none.id" </dev/null >/dev/null 2>"$T/last.err"
okx "--identity FILE missing: exit 1, names it" '[ $? = 1 ] && grep -q "none.id" "$T/last.err"'
"$CHAT" --identity "$T/ann.id" --no-discovery --peer 127.0.0.1:9 </dev/null >/dev/null 2>"$T/last.err"
okx "--identity --peer without a key: exit 2" '[ $? = 2 ] && grep -q "KEY@HOST:PORT" "$T/last.err"'
printf 'ok %s\nbad line\n' "${KEY[ben]}" >"$T/bad.known"
"$CHAT" --identity "$T/ann.id" --known-peers "$T/bad.known" </dev/null >/dev/null 2>"$T/last.err"
okx "known peers with a bad line: exit 1, the line named" '[ $? = 1 ] && grep -q "line 2" "$T/last.err"'
# an identity build without identity sessions (before the library has them)
"$CHAT" --identity "$T/ann.id" --known-peers "$T/probe.known" --no-discovery --linger 0 \
	</dev/null >/dev/null 2>"$T/last.err"
if grep -q "identity sessions:" "$T/last.err"; then
	skip "chat_ident sessions" "this build has no identity sessions: $(cat "$T/last.err")"
	e2e_summary
	exit
fi

# --- two identity peers by discovery ------------------------------------------------
idchat ann --stats
idchat ben
okx "identities: both see the join" \
	'wait_grep "$T/ann.out" "\"type\":\"join\",.*\"from\":\"ben#" 1 8 && wait_grep "$T/ben.out" "\"type\":\"join\",.*\"from\":\"ann#" 1 8'
okx "first contact: key_new with the peer's fingerprint, both sides" \
	'wait_grep "$T/ann.out" "\"type\":\"key_new\".*\"nick\":\"ben\",\"fingerprint\":\"${FPR[ben]}\"" 1 3 && wait_grep "$T/ben.out" "\"type\":\"key_new\".*\"fingerprint\":\"${FPR[ann]}\"" 1 3'
okx "known-peers file written: 'ben KEY', mode 0600" \
	'grep -qx "ben ${KEY[ben]}" "$T/ann.known" && [ "$(stat -c %a "$T/ann.known")" = 600 ] && grep -qx "ann ${KEY[ann]}" "$T/ben.known"'
chat_say ann "/who"
okx "/who shows the fingerprint" \
	'wait_grep "$T/ann.out" "\"type\":\"who\".*\"from\":\"ben#.*\"fingerprint\":\"${FPR[ben]}\"" 1 3'
chat_say ann "hello ben"
okx "a line arrives over the identity session" \
	'wait_grep "$T/ben.out" "\"type\":\"msg\".*\"text\":\"hello ben\"" 1 5'

# --- /msg reaches only the addressee --------------------------------------------------
idchat cat
okx "a third peer joins both" \
	'wait_grep "$T/cat.out" "\"type\":\"join\"" 2 8 && wait_grep "$T/ann.out" "\"type\":\"join\",.*\"from\":\"cat#" 1 5'
chat_say ann "/msg ben just for ben"
chat_say ann "for everyone"
okx "/msg: the addressee gets it as private" \
	'wait_grep "$T/ben.out" "\"type\":\"private\".*\"text\":\"just for ben\"" 1 5'
okx "/msg: the third peer gets the line to all, never the private one" \
	'wait_grep "$T/cat.out" "\"text\":\"for everyone\"" 1 5 && ! grep -q "just for ben" "$T/cat.out"'
chat_stop cat 5

# --- an impostor with a known nick ----------------------------------------------------
chat_stop ben 5
okx "ann sees ben leave" 'wait_grep "$T/ann.out" "\"type\":\"leave\",.*\"from\":\"ben#" 1 5'
ID_OF[ben2]=imp
chat_start ben2 --identity "$T/imp.id" --known-peers "$T/imp.known" "${TIMERS[@]}" --nick ben
okx "a known nick with another key: key_changed, both fingerprints" \
	'wait_grep "$T/ann.out" "\"type\":\"key_changed\".*\"nick\":\"ben\",\"fingerprint\":\"${FPR[imp]}\".*\"known_fingerprint\":\"${FPR[ben]}\"" 1 8'
# five more of the impostor's beacons (a second at --beacon 0.2) refused
okx "... its beacons keep coming and are refused (refused_key)" \
	'wait_counter ann refused_key 5 10'
okx "... refused: no join, warned once, the file unchanged" \
	'[ "$(grep -c "\"type\":\"join\",.*\"from\":\"ben#" "$T/ann.out")" = 1 ] && [ "$(grep -c key_changed "$T/ann.out")" = 1 ] && grep -qx "ben ${KEY[ben]}" "$T/ann.known"'
chat_say ann "/trust ben"
okx "/trust ben: key_trusted, the file has the new key" \
	'wait_grep "$T/ann.out" "\"type\":\"key_trusted\".*\"fingerprint\":\"${FPR[imp]}\"" 1 3 && grep -qx "ben ${KEY[imp]}" "$T/ann.known" && [ "$(stat -c %a "$T/ann.known")" = 600 ]'
okx "... and the peer is met" \
	'wait_grep "$T/ann.out" "\"type\":\"join\",.*\"from\":\"ben#" 2 8'
chat_stop ben2 5

# --- a peer without identity ----------------------------------------------------------
chat_start dan "${TIMERS[@]}" --stats
okx "identity peer: 'no_identity' for a plain peer" \
	'wait_grep "$T/ann.out" "\"type\":\"no_identity\".*\"from\":\"dan#" 1 5'
okx "plain peer: 'identity_only' for an identity peer, with its fingerprint" \
	'wait_grep "$T/dan.out" "\"type\":\"identity_only\".*\"fingerprint\":\"${FPR[ann]}\"" 1 5'
okx "... both keep seeing the other's beacons (mixed)" \
	'wait_counter ann mixed 5 10 && wait_counter dan mixed 5 10'
okx "... they never meet, and each says it once" \
	'! grep -q "\"type\":\"join\",.*\"from\":\"dan#" "$T/ann.out" && ! grep -q "\"type\":\"join\"" "$T/dan.out" && [ "$(grep -c no_identity "$T/ann.out")" = 1 ]'
chat_stop dan 5
chat_stop ann 5
okx "identity peer: exit 0" '[ "$RC" = 0 ]'

# --- identities with a group key: PSK for sessions, sealed beacons -----------------------
head -c 32 /dev/urandom | base64 >"$T/group.key"
chmod 600 "$T/group.key"
rm -f "$T/ann.known" "$T/ben.known"
ID_OF[annk]=ann ID_OF[benk]=ben
idchat annk -k "$T/group.key" --nick ann -p 4343 --stats
idchat benk -k "$T/group.key" --nick ben -p 4343
okx "group key + identities: both join, keys recorded" \
	'wait_grep "$T/annk.out" "\"type\":\"join\"" 1 8 && wait_grep "$T/benk.out" "\"type\":\"key_new\".*\"fingerprint\":\"${FPR[ann]}\"" 1 5'
chat_say annk "sealed and keyed"
okx "group key + identities: a line arrives" \
	'wait_grep "$T/benk.out" "\"text\":\"sealed and keyed\"" 1 5'
# a peer with the right identity setup but without the group key sees nothing
ID_OF[catk]=cat
idchat catk -p 4343 --stats
# catk's beacon socket counts sealed packets only as "seen" (warned once)
okx "without the group key: each drops the other's beacons (warned; drop_plaintext)" \
	'wait_grep "$T/catk.err" "received sealed packets but no key" 1 10 && wait_counter annk drop_plaintext 5 10'
okx "without the group key: no beacon seen, no session" \
	'! grep -q "\"type\":\"join\"" "$T/catk.out" && ! grep -q "catk\|\"from\":\"cat" "$T/annk.out"'
chat_stop catk 5
chat_stop benk 5
chat_stop annk 5

e2e_summary
