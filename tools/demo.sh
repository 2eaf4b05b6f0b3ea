#!/bin/bash
# make demo: udpkit at work on loopback in a few seconds.
set -u
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
PATH="$top/$BUILD/bin:$PATH"
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then b=$'\033[1m' e=$'\033[0m'; else b= e=; fi
say() { printf '\n%s== %s%s\n' "$b" "$*" "$e"; }
# start_recv OUT ERR ARGS...: runs udprecv in the background; sets rpid and
# port (the port it bound: udprecv says "listening on ADDR" on stderr).
start_recv() {
	local out=$1 err=$2; shift 2
	udprecv "$@" >"$out" 2>"$err" &
	rpid=$!
	pids+=($rpid)
	for _ in $(seq 1 250); do
		if grep -q 'listening on' "$err"; then
			port=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\)$/\1/p' "$err" | head -n 1)
			return 0
		fi
		sleep 0.02
	done
	echo "demo: udprecv did not start" >&2
	cat "$err" >&2
	exit 1
}

say "one datagram per line: udpsend -> udprecv over 127.0.0.1"
start_recv "$tmp/out" "$tmp/err" --from -c 3 -w 5 127.0.0.1 0
printf 'hello\nfrom\nudpkit\n' | udpsend 127.0.0.1 "$port"
wait "$rpid"
cat "$tmp/out"

say "JSON, over IPv6 ::1"
start_recv "$tmp/out" "$tmp/err" --json -c 2 -w 5 ::1 0
udpsend "[::1]:$port" "a message with spaces"
printf 'tab\there' | udpsend --whole ::1 "$port"
wait "$rpid"
cat "$tmp/out"

say "request/response: udprecv --reply answers, udpsend -w prints the reply"
start_recv "$tmp/out" "$tmp/err" --reply "thank you!" -c 1 -w 5 127.0.0.1 0
udpsend -w 1 127.0.0.1 "$port" "ping"
wait "$rpid"

say "a 4 MiB file in 1200-byte datagrams, byte-exact (sha256)"
head -c 4194304 /dev/urandom >"$tmp/file"
n=$(( (4194304 + 1199) / 1200 ))
start_recv "$tmp/copy" "$tmp/err" --raw --stats -c $n -w 5 127.0.0.1 0
udpsend --chunk 1200 --stats 127.0.0.1 "$port" <"$tmp/file"
wait "$rpid"
tail -n 1 "$tmp/err"
sha256sum "$tmp/file" "$tmp/copy" | sed "s|$tmp/||"
cmp -s "$tmp/file" "$tmp/copy" && echo "identical" || echo "differ (UDP may drop on a busy machine)"

say "a datagram too big for the receiver's buffer is reported, not silently cut"
start_recv "$tmp/out" "$tmp/err" --max 100 -c 1 -w 5 127.0.0.1 0
head -c 2000 /dev/zero | tr '\0' x | udpsend --whole 127.0.0.1 "$port"
wait "$rpid"
grep -i trunc "$tmp/err"

say "AF_UNIX datagram socket"
sock="unix:@udpkit-demo-$$"
start_recv "$tmp/out" "$tmp/err" -c 1 -w 5 "$sock"
udpsend "$sock" "over a unix datagram socket"
wait "$rpid"
cat "$tmp/out"

say "reliable: a 4 MiB file with 20% of the sender's datagrams lost on the way (udpsend -r)"
start_recv "$tmp/rcopy" "$tmp/err" -r --raw -c 4 -w 10 127.0.0.1 0
udpsend -r --whole --netsim 'loss 20% seed 1' --stats 127.0.0.1 "$port" <"$tmp/file"
echo "udpsend exit status $? (0: the receiver acknowledged everything)"
wait "$rpid"
cmp -s "$tmp/file" "$tmp/rcopy" && echo "received byte for byte despite the loss"

say "sealed: only a holder of the key reads it; others are told, not shown"
udpkey genkey -o "$tmp/key"
echo "key id: $(udpkey id "$tmp/key")"
start_recv "$tmp/out" "$tmp/err" -k "$tmp/key" -c 1 -w 5 127.0.0.1 0
udpsend -k "$tmp/key" 127.0.0.1 "$port" 'for key holders only'
wait "$rpid"
cat "$tmp/out"
start_recv "$tmp/out" "$tmp/err" -w 1 127.0.0.1 0
udpsend -k "$tmp/key" 127.0.0.1 "$port" 'for key holders only'
wait "$rpid"
grep -i 'sealed' "$tmp/err"

say "chat: two peers on loopback (no discovery: the demo sends no multicast)"
(sleep 3; echo '/quit') | udpchat --json --nick bob --no-discovery >"$tmp/bob" 2>"$tmp/bob.err" &
bpid=$!; pids+=($bpid)
for _ in $(seq 250); do
	bport=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$tmp/bob.err" | head -n 1)
	[ -n "$bport" ] && break
	sleep 0.02
done
echo 'hello bob, from alice' | udpchat --nick alice --no-discovery --peer "127.0.0.1:$bport" --wait-peers 1 >/dev/null 2>&1
wait "$bpid"
grep '"type":"msg"' "$tmp/bob" | head -n 1
echo
