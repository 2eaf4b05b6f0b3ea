#!/bin/bash
# udpchat files end to end (docs/CHAT.md, "Files"), inside a fresh network
# namespace (unshare -n) with only lo: /send to one peer and to all, 10 %
# loss on every sender, byte-for-byte and sha256 checks; hostile names;
# refusal and a sender killed mid-file leave nothing under the final name.
if [ "${E2E_IN_NETNS:-}" != 1 ]; then
	if ! unshare -n true 2>/dev/null; then
		echo "SKIP: chat_files -- cannot create a network namespace (need root)"
		exit 0
	fi
	exec unshare -n env E2E_IN_NETNS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.bash"
ip link set lo up || { fail "netns set-up" "ip link"; exit 1; }

MB=${CHAT_FILES_MB:-50}
head -c $((MB * 1000 * 1000)) /dev/urandom >"$T/big.bin"
SUM=$(sha256sum "$T/big.bin" | cut -d' ' -f1)
TIMERS=(--no-discovery --beacon 0.2 --away 1 --gone 2 --linger 2)
LOSS=(--netsim "loss 10% seed 7")
for p in a b c d; do mkdir -p "$T/dl_$p"; done

# --- 4 peers, 10 % loss on each -------------------------------------------------------
# each names every earlier one with --peer: with --no-discovery under loss,
# peer lists alone left b and c apart for seconds (the same on main)
chat_start a "${TIMERS[@]}" "${LOSS[@]}" --accept-files --downloads "$T/dl_a"
AP=$CPORT
PEERS=(--peer "127.0.0.1:$CPORT")
for p in b c d; do
	chat_start $p "${TIMERS[@]}" --netsim "loss 10% seed ${#p}$RANDOM" --accept-files \
		--downloads "$T/dl_$p" "${PEERS[@]}"
	[ $p = c ] && CP_C=$CPORT
	PEERS+=(--peer "127.0.0.1:$CPORT")
done
mesh=1
for p in a b c d; do wait_grep "$T/$p.out" '"type":"join"' 3 20 || mesh=0; done
ok "4 peers meet" [ "$mesh" = 1 ]

# --- one peer -------------------------------------------------------------------------
t0=$(date +%s.%N)
chat_say a "/send b $T/big.bin"
okx "$MB MB to one peer under 10 % loss: done" 'wait_grep "$T/b.out" "\"type\":\"file_done\"" 1 60'
t1=$(date +%s.%N)
okx "... byte for byte" 'cmp -s "$T/big.bin" "$T/dl_b/big.bin"'
okx "... the sha256 shown is sha256sum's" 'grep "\"type\":\"file_done\"" "$T/b.out" | grep -q "\"sha256\":\"$SUM\""'
okx "... and the sender hears it was done" 'wait_grep "$T/a.out" "\"type\":\"file_done\",.*\"dir\":\"out\"" 1 10'
echo "# one peer: $MB MB in $(echo "$t1 - $t0" | bc) s"

# --- every peer, the name taken already: "big (1).bin" at b ---------------------------
t0=$(date +%s.%N)
chat_say a "/send * $T/big.bin"
all=1
for p in b c d; do wait_grep "$T/$p.out" '"type":"file_done"' $([ $p = b ] && echo 2 || echo 1) 90 || all=0; done
t1=$(date +%s.%N)
ok "$MB MB to all 3 other peers under 10 % loss: done" [ "$all" = 1 ]
okx "... byte for byte at each" 'cmp -s "$T/big.bin" "$T/dl_c/big.bin" && cmp -s "$T/big.bin" "$T/dl_d/big.bin" && cmp -s "$T/big.bin" "$T/dl_b/big (1).bin"'
okx "... no overwrite: the second copy is 'big (1).bin'" '[ -f "$T/dl_b/big (1).bin" ] && cmp -s "$T/big.bin" "$T/dl_b/big.bin"'
echo "# all peers: 3 x $MB MB in $(echo "$t1 - $t0" | bc) s"
okx "... no temporary files left" '[ -z "$(ls -A "$T"/dl_* | grep "\.part$")" ]'

# --- a hostile name, raw on the wire (udpchat's /send offers only a last
# component, so a helper built on chat/ offers it) ---------------------------------------
OFFER=$TOP/${BUILD:-build}/helpers/chat_file_offer
if [ -x "$OFFER" ]; then
	rm -f /tmp/etc/x "$T/etc/x"
	"$OFFER" "127.0.0.1:$CP_C" ../../etc/x 10 >"$T/offer.out" 2>"$T/last.err"
	okx "'../../etc/x' lands as 'x' in the downloads folder" \
		'grep -q "^end=1$" "$T/offer.out" && [ "$(cat "$T/dl_c/x")" = owned ] && [ ! -e "$T/etc/x" ] && [ ! -e /tmp/etc/x ]'
	okx "... and the offer line shows both names" \
		'grep "\"type\":\"file_offer\".*\"from\":\"mallory#" "$T/c.out" | grep "\"name\":\"x\"" | grep -q "\"offered_name\":\"../../etc/x\""'
else
	skip "hostile name" "no $OFFER (make all tests/helpers)"
fi
printf 'dots\n' >"$T/..hidden"
chat_say a "/send c $T/..hidden"
# (wait for file_done: offer and progress lines carry the name before the
# file is renamed from its .part)
okx "a leading-dot name lands as a plain visible file" 'wait_grep "$T/c.out" "\"type\":\"file_done\".*\"name\":\"hidden\"" 1 10 && [ -f "$T/dl_c/hidden" ]'

# --- refusal, and a sender killed mid-file -------------------------------------------
chat_start e --no-discovery --beacon 0.2 --away 1 --gone 2 --downloads "$T/dl_e" \
	--max-file 1K --peer "127.0.0.1:$AP"
mkdir -p "$T/dl_e"
wait_grep "$T/e.out" '"type":"join"' 1 10
chat_say a "/send e $T/big.bin"
okx "over --max-file: refused, and the sender hears it" 'wait_grep "$T/e.out" "\"type\":\"file_refused\"" 1 10 && wait_grep "$T/a.out" "\"type\":\"file_refused\",.*\"by\":\"peer\"" 1 10'
chat_say a "/send e $T/..hidden"
wait_grep "$T/e.out" '"type":"file_offer".*"name":"hidden"' 1 10
chat_say e "/refuse"
okx "/refuse: the sender hears it" 'wait_grep "$T/a.out" "\"type\":\"file_refused\",.*\"name\":\"hidden\",.*\"reason\":\"refused\",\"by\":\"peer\"" 1 10'
okx "... nothing written" '[ -z "$(ls -A "$T/dl_e")" ]'

chat_say c "/send d $T/big.bin"
# mid-file: the temporary file has bytes (a bounded poll)
for _ in $(seq 600); do
	[ -n "$(find "$T/dl_d" -name '.*.part' -size +0 2>/dev/null)" ] && break
	sleep 0.05
done
kill -9 "${CPID[c]}"
if grep -q '"type":"file_done".*"from":"c#' "$T/d.out"; then
	skip "sender killed mid-file" "the file was in before the kill (CHAT_FILES_MB=$MB)"
else
	okx "sender killed mid-file: the receiver says failed" 'wait_grep "$T/d.out" "\"type\":\"file_failed\".*\"from\":\"c#" 1 10'
	okx "... and leaves no file, final or temporary" '[ "$(ls -A "$T/dl_d")" = big.bin ]'
fi

[ "${CHAT_FILES_DEBUG:-}" ] && for p in a b c d; do echo "== $p"; grep -v file_progress "$T/$p.out" | cut -c1-200 | tail -12; tail -3 "$T/$p.err"; done
[ "${CHAT_FILES_KEEP:-}" ] && cat "$T"/*.err >"$CHAT_FILES_KEEP"
e2e_summary
