#!/bin/bash
# The README's examples, run as written, inside a fresh network namespace
# (unshare -n: only lo, so the fixed ports cannot collide and the multicast
# example sends nothing outside).  If an example changes, change it here.
if [ -z "${E2E_IN_NETNS:-}" ]; then
	if ! unshare -n true 2>/dev/null; then
		echo "SKIP: README examples -- unshare -n not permitted"
		exit 0
	fi
	exec unshare -n env E2E_IN_NETNS=1 bash "$0" "$@"
fi
source "$(dirname "$0")/lib.bash"
PATH="$BIN:$PATH"
ip link set lo up && ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo
ip -6 route add local ff00::/8 dev lo table local
cd "$T" || exit 1

# wait_listening ERRFILE: bounded wait for a receiver's "listening on" line
wait_listening() {
	for _ in $(seq 250); do grep -q 'listening on' "$1" 2>/dev/null && return 0; sleep 0.02; done
	return 1
}

udprecv -c 1 127.0.0.1 9999 >ex1.out 2>ex1.err &
p=$!; PIDS+=($p); wait_listening ex1.err
udpsend 127.0.0.1 9999 hello world
wait_pid $p 5
okx "README: udprecv -c 1 / udpsend hello world" '[ "$RC" = 0 ] && [ "$(cat ex1.out)" = "hello world" ]'

timeout 1 udprecv 127.0.0.1 0 2>ex2.err
okx "README: port 0 says where it listens" 'grep -Eq "^udprecv: listening on 127\.0\.0\.1:[1-9][0-9]*$" ex2.err'

udprecv --reply 'thank you!' -c 1 127.0.0.1 9998 >/dev/null 2>ex3.err &
p=$!; PIDS+=($p); wait_listening ex3.err
out=$(udpsend -w 1 127.0.0.1 9998 ping)
wait_pid $p 5
okx "README: --reply and udpsend -w" '[ "$out" = "thank you!" ]'

head -c 3000000 /dev/urandom >file.bin
udprecv --raw --stats -w 1 -o copy.bin 127.0.0.1 9997 2>ex4.err &
p=$!; PIDS+=($p); wait_listening ex4.err
udpsend --chunk 1200 127.0.0.1 9997 < file.bin
wait_pid $p 10
okx "README: file as 1200-byte datagrams, byte for byte" 'cmp -s file.bin copy.bin && grep -q "datagrams=2500 " ex4.err'

udprecv --json -c 2 ::1 9996 >ex5.out 2>ex5.err &
p=$!; PIDS+=($p); wait_listening ex5.err
printf 'one\ntwo\n' | udpsend ::1 9996
wait_pid $p 5
okx "README: --json over ::1" 'grep -q "\"from\":\"\[::1\]:[0-9]*\",\"len\":3,\"data\":\"one\"" ex5.out && grep -q "\"data\":\"two\"" ex5.out'

udprecv -c 1 --join 239.1.2.3 0.0.0.0 5000 >ex6.out 2>ex6.err &
p=$!; PIDS+=($p); wait_listening ex6.err
udpsend --ttl 1 239.1.2.3 5000 'to the group'
wait_pid $p 5
okx "README: IPv4 multicast --join" '[ "$(cat ex6.out)" = "to the group" ]'

udprecv -c 1 --join ff15::1234 :: 5000 >ex7.out 2>ex7.err &
p=$!; PIDS+=($p); wait_listening ex7.err
udpsend --ttl 1 ff15::1234 5000 'to the v6 group'
wait_pid $p 5
okx "README: IPv6 multicast --join" '[ "$(cat ex7.out)" = "to the v6 group" ]'

rm -f /tmp/udpkit.sock
udprecv unix:/tmp/udpkit.sock >ex8.out 2>ex8.err &
p=$!; PIDS+=($p); wait_listening ex8.err
udpsend unix:/tmp/udpkit.sock 'hi over AF_UNIX'
wait_lines ex8.out 1 5
kill -INT $p; wait_pid $p 5
okx "README: AF_UNIX path" '[ "$(cat ex8.out)" = "hi over AF_UNIX" ] && [ ! -e /tmp/udpkit.sock ]'

# GRO: a GSO run arrives coalesced, yet -c counts datagrams, not receives.
head -c 120000 /dev/zero >zeros
udprecv --raw -c 40 -w 2 127.0.0.1 9995 >ex9.out 2>ex9.err &
p=$!; PIDS+=($p); wait_listening ex9.err
udpsend --chunk 1000 127.0.0.1 9995 <zeros
wait_pid $p 5
okx "udprecv -c counts datagrams of a coalesced (GRO) run" '[ "$RC" = 0 ] && [ "$(stat -c %s ex9.out)" = 40000 ]'

udpkey genkey -o k                       # 32 random bytes, mode 0600
udprecv -k k -c 1 127.0.0.1 9994 >ex10.out 2>ex10.err &
p=$!; PIDS+=($p); wait_listening ex10.err
udpsend -k k 127.0.0.1 9994 'for members only'
wait_pid $p 5
okx "README: sealed messages (udpkey genkey -o k, -k k)" '[ "$RC" = 0 ] && [ "$(cat ex10.out)" = "for members only" ] && [ "$(stat -c %a k)" = 600 ]'

# identity sessions
head -c 3000000 /dev/urandom >file
udpkey genkey --identity -o server.key > server.pub   # prints the public key
udpkey genkey --identity -o alice.key > alice.pub
echo "$(cat alice.pub) alice" > allowed                # who may send, by key
udprecv -r --raw --once -v --identity server.key --allowed-keys allowed 127.0.0.1 5001 > copy 2>ex11.err &
p=$!; PIDS+=($p); wait_listening ex11.err
udpsend -r --whole --identity alice.key --peer-key @server.pub 127.0.0.1 5001 < file
src=$?
wait_pid $p 10
okx "README: identity session (genkey --identity, --peer-key, --allowed-keys)" \
	'[ "$src" = 0 ] && [ "$RC" = 0 ] && cmp -s file copy && grep -q "from 127.0.0.1:[0-9]*: alice (" ex11.err'
