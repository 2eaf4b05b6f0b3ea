#!/bin/bash
# The handshake rate limits end to end (docs/PROTOCOL.md 9.1): an identity
# server (udprecv -r --identity --allowed-keys) flooded from 127.0.0.1 by
# tests/helpers/hs_flood (real cookie exchanges, then CONNECTs with the
# NOISE flag and a fresh garbage message 1 each: every one passes the
# cookie and would cost the server an X25519 and more without the limit)
# for about 2.5 s.  Asserted: drop_hs_rate counts the flood and
# drop_hs_global stays 0 (what the source's limit refuses costs the
# ceiling nothing); the handshakes the server ran for the attacker (the
# identity line's refused_auth: each is one hook call) are at least the
# burst and at most burst + rate * T + slack; none was answered; the
# server's CPU per packet stays within half an X25519 per CONNECT of its
# cost when the same flood is all dropped at the cookie check (a baseline
# run with --bad-cookie), and its CPU time in all under half of that
# baseline's cost of the same packets plus an X25519 for each CONNECT
# past the cookie, the least an unlimited server would spend (the tools
# have no option to lift the limits: the comparison is with the counts
# and the cost of an X25519 measured here, in CPU time); and a listed
# identity sending from 127.0.0.2 during the flood delivers its message
# byte for byte.  All on 127.0.0.0/8, bounded (about 8 s).
. "$(dirname "$0")/lib.bash"
HELP=${UDPKIT_HELPERS:-$TOP/build/helpers}
FLOOD=$HELP/hs_flood
KEY=$BIN/udpkey
RATE=10 BURST=64 # rel_config hs_rate, hs_burst (defaults)
SECS=2.5         # the flood
cd "$T" || exit 1
[ -x "$FLOOD" ] || { fail "hs_flood helper built" "$FLOOD missing"; e2e_summary; exit 1; }

# the field NAME= of the last line of FILE matching PATTERN
field() { sed -n "/$3/s/.* $1=\([0-9.]*\).*/\1/p" "$2" | tail -n 1; }
# CPU time (utime + stime) of PID in ms
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$1/stat"; }

for n in server alice; do
	"$KEY" genkey --identity -o "$n.key" >"$n.pub" || exit 1
done
printf '%s alice\n' "$(cat alice.pub)" >allowed
head -c 200000 /dev/urandom >msg
ID_S=(--identity server.key --allowed-keys allowed)
dh_us=$("$FLOOD" --dh-cost | sed -n 's/^dh_us=//p')

# flood NAME ARGS...: hs_flood at the server on $PORT in the background,
# stdout in $T/NAME.fl; waits (bounded) for its first COOKIE; sets FPID.
flood() {
	local name=$1; shift
	timeout -k 2 10 "$FLOOD" --target "127.0.0.1:$PORT" --secs "$SECS" --per-cookie 4 "$@" \
		>"$T/$name.fl" 2>&1 &
	FPID=$!
	PIDS+=("$FPID")
	wait_grep "$T/$name.fl" "^hs_flood: flooding" 1 5
}

# --- baseline: the same flood, every CONNECT dropped at the cookie check -------
start_recv ctl -r --raw --stats "${ID_S[@]}" 127.0.0.1 0
cpid=$RPID
c0=$(cpu_ms "$cpid")
flood ctl --bad-cookie
wait_pid "$FPID" 10
c1=$(cpu_ms "$cpid")
kill -INT "$cpid"; wait_pid "$cpid" 5
ctl_ms=$((c1 - c0))
ctl_pkts=$(field pkts_in "$T/ctl.err" ' core: ')
okx "baseline: bad cookies all dropped (drop_cookie), no handshake run" \
	'[ "$(field drop_cookie "$T/ctl.err" " core: ")" -ge 1000 ] &&
	 [ "$(field drop_hs_rate "$T/ctl.err" " core: ")" = 0 ] &&
	 [ "$(field refused_auth "$T/ctl.err" " identity: ")" = 0 ]'

# --- the flood, and a listed sender from another address during it ------------
start_recv fl -r --raw -v --stats "${ID_S[@]}" 127.0.0.1 0
rpid=$RPID
c0=$(cpu_ms "$rpid")
flood fl
timeout -k 2 15 "$SEND" -r --whole --no-progress --source 127.0.0.2 --identity alice.key \
	--peer-key @server.pub 127.0.0.1 "$PORT" <msg 2>"$T/last.err"
SRC=$?
during=no; kill -0 "$FPID" 2>/dev/null && during=yes
wait_pid "$FPID" 10
frc=$RC
c1=$(cpu_ms "$rpid")
kill -INT "$rpid"; wait_pid "$rpid" 5
fl_ms=$((c1 - c0))

fsecs=$(field secs "$T/fl.fl" '^hs_flood: secs')
connects=$(field connects "$T/fl.fl" '^hs_flood: secs')
accepts=$(field accepts "$T/fl.fl" '^hs_flood: secs')
hs_rate=$(field drop_hs_rate "$T/fl.err" ' core: ')
hs_global=$(field drop_hs_global "$T/fl.err" ' core: ')
pkts=$(field pkts_in "$T/fl.err" ' core: ')
ran=$(field refused_auth "$T/fl.err" ' identity: ')
handshakes=$(field handshakes "$T/fl.err" ' identity: ')
# T: the flood's own time, and 0.5 s for the server to finish its backlog
# (its socket buffer) on a loaded machine
limit=$(awk -v b=$BURST -v r=$RATE -v s="${fsecs:-0}" 'BEGIN {print int(b + r * (s + 0.5) + 0.999) + 2}')
valid=$((${hs_rate:-0} + ${hs_global:-0} + ${ran:-0}))
echo "# flood: $connects CONNECTs in ${fsecs}s; server: drop_hs_rate=$hs_rate drop_hs_global=$hs_global" \
	"handshakes run for the attacker=$ran (limit $limit), cpu ${fl_ms} ms for $pkts packets;" \
	"baseline cpu ${ctl_ms} ms for $ctl_pkts packets; X25519 ${dh_us} us"

okx "the flood ran: exit 0, over 10 times the limit in CONNECTs, none answered" \
	'[ "$frc" = 0 ] && [ "${connects:-0}" -ge $((10 * limit)) ] && [ "$accepts" = 0 ]'
okx "drop_hs_rate counts the flood, drop_hs_global stays 0" \
	'[ "${hs_rate:-0}" -ge $((${connects:-0} / 2)) ] && [ "$hs_global" = 0 ]'
okx "handshakes run for the attacker: burst <= $ran <= burst + rate * (${fsecs} + 0.5) s + 2 = $limit" \
	'[ "${ran:-0}" -ge $BURST ] && [ "${ran:-0}" -le "$limit" ]'
# per packet: the flood's cost over the baseline's, against half of the
# X25519s the CONNECTs among those packets would each have cost
okx "server CPU per packet: within half an X25519 per CONNECT of the baseline" \
	'awk -v f="$fl_ms" -v fp="${pkts:-0}" -v c="$ctl_ms" -v cp="${ctl_pkts:-0}" -v v="$valid" -v dh="$dh_us" \
	 "BEGIN { if (fp < 1 || cp < 1 || dh <= 0) exit 1;
		  extra = f * 1000 / fp - c * 1000 / cp; allow = 0.5 * dh * v / fp;
		  printf \"# extra %.2f us per packet, allowed %.2f\\n\", extra, allow; exit !(extra < allow) }"'
# in all: unlimited, the server would have spent the baseline's cost of its
# packets and at least an X25519 for each CONNECT past the cookie
unl_ms=$(awk -v fp="${pkts:-0}" -v c="$ctl_ms" -v cp="${ctl_pkts:-1}" -v v="$valid" -v dh="${dh_us:-0}" \
	'BEGIN { printf "%d", c * fp / (cp > 0 ? cp : 1) + v * dh / 1000 }')
okx "server CPU ${fl_ms} ms: under half the least an unlimited server spends (${unl_ms} ms)" \
	'[ "$unl_ms" -gt 0 ] && [ $((2 * fl_ms)) -lt "$unl_ms" ]'
okx "a listed sender from 127.0.0.2 during the flood: byte for byte, exit 0, one handshake" \
	'[ "$SRC" = 0 ] && [ "$during" = yes ] && cmp -s msg "$T/fl.out" && [ "$handshakes" = 1 ] &&
	 grep -q "session from 127.0.0.2:[0-9]*: alice " "$T/fl.err"'
e2e_summary
