#!/bin/bash
# --no-offload (udpsend, udprecv): a reliable file transfer over loopback
# arrives byte for byte with segmentation offload off at both ends, and
# the system calls show it off.  strace is the witness: without the option
# udpsend's sends carry UDP_SEGMENT control messages (cmsg_type 0x67, a
# GSO run) and udprecv turns UDP_GRO on; with it no send carries one and
# UDP_GRO is never set to 1.  The first transfer checks that the witness
# sees offload when it is there, so the second's "none" means something.
# Needs strace (SKIP otherwise).  A few seconds.
. "$(dirname "$0")/lib.bash"

# LeakSanitizer cannot run under ptrace and aborts the traced program at
# exit; the same transfer's leaks are checked untraced by reliable.sh.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

head -c 3000000 /dev/urandom >"$T/in"

# xfer NAME [OPTION]: udprecv -r --once and udpsend -r --whole, both under
# strace (sendmsg/sendmmsg/setsockopt), OPTION given to both; sets RC (the
# sender's exit), output in $T/NAME.out, traces in $T/NAME.{r,s}trace.
xfer() {
	local name=$1; shift
	: >"$T/$name.err"
	strace -f -qq -v -s 0 -e trace=setsockopt -o "$T/$name.rtrace" \
		"$RECV" -r --raw --once "$@" 127.0.0.1 0 >"$T/$name.out" 2>"$T/$name.err" &
	local rpid=$!
	PIDS+=("$rpid")
	for _ in $(seq 250); do
		grep -q 'listening on' "$T/$name.err" && break
		kill -0 "$rpid" 2>/dev/null || break
		sleep 0.02
	done
	local port
	port=$(sed -n 's/^udprecv: listening on .*:\([0-9]*\)$/\1/p' "$T/$name.err" | head -n 1)
	timeout -k 2 20 strace -f -qq -v -s 0 -e trace=sendmsg,sendmmsg -o "$T/$name.strace" \
		"$SEND" -r --whole --no-progress "$@" 127.0.0.1 "${port:-9}" <"$T/in" 2>"$T/last.err"
	RC=$?
	local sc=$RC
	wait_pid "$rpid" 10
	RC=$sc
}
gso_sends() { grep -c 'cmsg_level=SOL_UDP, cmsg_type=0x67' "$1"; }
gro_on() { grep -c 'SOL_UDP, UDP_GRO, \[1\]' "$1"; }

if ! command -v strace >/dev/null || ! strace -qq -e trace=none true 2>/dev/null; then
	skip "--no-offload transfer" "no working strace"
	skip "--no-offload: no GSO send, no GRO" "no working strace"
	e2e_summary
	exit
fi

xfer base
okx "offload on: file arrives byte for byte" '[ $RC = 0 ] && cmp -s "$T/in" "$T/base.out"'
okx "offload on: strace sees GSO sends ($(gso_sends "$T/base.strace")) and UDP_GRO on ($(gro_on "$T/base.rtrace"))" \
	'[ "$(gso_sends "$T/base.strace")" -gt 0 ] && [ "$(gro_on "$T/base.rtrace")" -gt 0 ]'

xfer off --no-offload
okx "--no-offload: file arrives byte for byte" '[ $RC = 0 ] && cmp -s "$T/in" "$T/off.out"'
okx "--no-offload: no GSO send ($(gso_sends "$T/off.strace")), UDP_GRO never on ($(gro_on "$T/off.rtrace"))" \
	'[ "$(grep -c sendm "$T/off.strace")" -gt 0 ] && [ "$(gso_sends "$T/off.strace")" = 0 ] &&
	 [ "$(gro_on "$T/off.rtrace")" = 0 ]'

e2e_summary
