#!/bin/bash
# Timelines (--netsim-schedule): a paced sender through a timeline with an
# outage loses exactly one contiguous run of datagrams (the outage), about
# as long as the outage, and nothing else; the same through udprelay with
# the timeline read from a file; bad timelines are one-line usage errors.
. "$(dirname "$0")/lib.bash"
RELAY=$BIN/udprelay
N=300 # at 200/s: 1.5 s, the outage from 0.5 s to 1 s covers about 100

seq -f 'seq %03g' 1 $N >"$T/lines"

# gaps FILE: the missing sequence numbers of 1..N as runs "first-last"
gaps() {
	sed -n 's/^seq 0*\([0-9][0-9]*\)$/\1/p' "$1" | sort -n | awk -v n=$N '
		BEGIN { last = 0 }
		{ if ($1 > last + 1) printf "%d-%d\n", last + 1, $1 - 1; last = $1 }
		END { if (last < n) printf "%d-%d\n", last + 1, n }'
}
# one_outage FILE: exactly one run missing, 60..140 long (the pacing of a
# loaded machine moves its edges, not its being one run)
one_outage() {
	local g; g=$(gaps "$1")
	[ "$(printf '%s\n' "$g" | grep -c .)" = 1 ] || { echo "runs missing: $g" >"$T/last.err"; return 1; }
	local a=${g%-*} b=${g#*-}
	[ $((b - a + 1)) -ge 60 ] && [ $((b - a + 1)) -le 140 ] || { echo "run $g" >"$T/last.err"; return 1; }
}

SCHED='0s loss 0%; 500ms loss 100%; 1s loss 0%'
start_recv direct -w 3 127.0.0.1 0
snd --rate 200 --netsim-schedule "$SCHED" --stats 127.0.0.1 "$PORT" <"$T/lines"
wait_pid "$RPID" 10
okx "udpsend --netsim-schedule: the outage loses one run of about 100, nothing else" \
	'[ "$SRC" = 0 ] && one_outage "$T/direct.out"'

cat >"$T/sched" <<EOF
# a link that goes down for half a second
0s                      # nothing yet
500ms loss 100%         # the outage
1s    delay 1ms
EOF
start_recv relayed -w 3 127.0.0.1 0
rpid=$RPID
start_relay relayed --stats -w 2 --netsim-schedule "@$T/sched" 127.0.0.1:0 "127.0.0.1:$PORT"
snd --rate 200 127.0.0.1 "$XPORT" <"$T/lines"
wait_pid "$rpid" 10
wait_pid "$XPID" 10
okx "udprelay --netsim-schedule @FILE: the same outage, in order" \
	'one_outage "$T/relayed.out" && sort -c "$T/relayed.out"'

"$SEND" --netsim-schedule '0s loss 1%; 5x loss 2%' 127.0.0.1 9 </dev/null >/dev/null 2>"$T/last.err"
okx "a bad entry: exit 2, one line naming it" \
	'[ $? = 2 ] && [ "$(wc -l <"$T/last.err")" = 1 ] && grep -q "entry 2: .5x. is not a time" "$T/last.err"'
"$SEND" --netsim 'loss 1%' --netsim-schedule '0s loss 2%' 127.0.0.1 9 </dev/null >/dev/null 2>"$T/last.err"
okx "--netsim and --netsim-schedule together: exit 2" \
	'[ $? = 2 ] && grep -q "both set the same direction" "$T/last.err"'
"$RELAY" --netsim-schedule "@$T/missing" 127.0.0.1:0 127.0.0.1:9 </dev/null >/dev/null 2>"$T/last.err"
okx "a missing @FILE: exit 2, says which" '[ $? = 2 ] && grep -q "cannot open" "$T/last.err"'

e2e_summary
