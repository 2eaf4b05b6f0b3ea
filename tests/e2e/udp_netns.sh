#!/bin/bash
# Broadcast and IPv4/IPv6 multicast with udpsend/udprecv, inside a fresh
# network namespace (unshare -n) that holds only lo: no traffic leaves it.
if [ "${E2E_IN_NETNS:-}" != 1 ]; then
	if ! unshare -n true 2>/dev/null; then
		for n in broadcast "IPv4 multicast" "IPv6 multicast"; do
			echo "SKIP: $n -- cannot create a network namespace (need root)"
		done
		exit 0
	fi
	exec unshare -n env E2E_IN_NETNS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.bash"

ip link set lo up && ip link set lo multicast on || { fail "netns set-up" "ip link"; exit 1; }
# IPv4 groups through lo; IPv6 groups need a route of type local on lo
ip route add 224.0.0.0/4 dev lo
ip -6 route add local ff00::/8 dev lo table local

# --- broadcast -------------------------------------------------------------------
start_recv bc -c 1 -4 0
snd 127.255.255.255 "$PORT" no flag
ok "broadcast without -b: exit 1, permission denied" grep -q 'Permission denied' "$T/last.err"
snd -b 127.255.255.255 "$PORT" to everyone
wait_pid "$RPID" 5
ok "broadcast with -b reaches a 0.0.0.0 listener" [ "$SRC" = 0 -a "$(cat "$T/bc.out")" = "to everyone" ]

# --- IPv4 multicast ----------------------------------------------------------------
start_recv m4 -c 1 --join 239.1.1.1 -4 0
snd --ttl 1 239.1.1.1 "$PORT" group four
wait_pid "$RPID" 5
ok "IPv4 multicast: --join 239.1.1.1, udpsend --ttl 1" [ "$RC" = 0 -a "$(cat "$T/m4.out")" = "group four" ]

start_recv m4b -c 2 --join 239.1.1.2 --join 239.1.1.3 --mcast-if lo 0
snd --mcast-if lo 239.1.1.2 "$PORT" first
snd --mcast-if lo 239.1.1.3 "$PORT" second
wait_pid "$RPID" 5
ok "two v4 groups on one dual-stack listener (--join twice, --mcast-if lo)" \
	[ "$RC" = 0 -a "$(sort "$T/m4b.out" | tr '\n' ' ')" = "first second " ]

# two members of one group on one port (SO_REUSEADDR/REUSEPORT) both get it
start_recv m4c -c 1 --join 239.1.1.4 -4 0
p1=$RPID
port=$PORT
start_recv m4d -c 1 --join 239.1.1.4 -4 "$port"
snd 239.1.1.4 "$port" both
wait_pid "$p1" 5
r1=$RC
wait_pid "$RPID" 5
ok "two receivers in one group on one port both receive" \
	[ "$r1" = 0 -a "$RC" = 0 -a "$(cat "$T/m4c.out" "$T/m4d.out")" = "$(printf 'both\nboth')" ]

# --- IPv6 multicast ------------------------------------------------------------------
start_recv m6 -c 1 --join ff15::1 --json 0
snd ff15::1 "$PORT" group six
wait_pid "$RPID" 5
ok "IPv6 multicast: --join ff15::1" grep -q '"from":"\[::1\]:[0-9]*","len":9,"data":"group six"' "$T/m6.out"

start_recv m6b -c 1 --join ff02::1 --mcast-if lo 0
snd --mcast-if lo --ttl 1 "[ff02::1%lo]:$PORT" link local
wait_pid "$RPID" 5
ok "IPv6 link-local group ff02::1%lo with --mcast-if lo" [ "$RC" = 0 -a "$(cat "$T/m6b.out")" = "link local" ]

start_recv m6c -c 1 ff15::2 0
ok "udprecv GROUP PORT binds the group and joins it" [ "$LADDR" = "[ff15::2]:$PORT" ]
snd ff15::2 "$PORT" bound
wait_pid "$RPID" 5
ok "... and receives" [ "$(cat "$T/m6c.out")" = bound ]

start_recv m6d -c 1 --join ff15::3 --echo 0
out=$(snd -w 1 ff15::3 "$PORT" who is there)
ok "multicast request, unicast answer (udpsend -w)" [ "$SRC" = 0 -a "$out" = "who is there" ]

e2e_summary
