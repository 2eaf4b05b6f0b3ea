#!/bin/bash
# Each program links only the code it uses (the kit is an archive, see the
# Makefile): the symbols of udpkey and udprelay hold no chat or reliable
# code, udpkey (no sockets) no loss simulator, and udpbench's own parts
# are in udpbench alone.  No network traffic.
set -u
top=${UDPKIT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${UDPKIT_BIN:-$top/build/bin}
pass=0 fail=0

check() { # name, ok(0/1), detail
	if [ "$2" = 0 ]; then
		echo "PASS: $1"; pass=$((pass + 1))
	else
		echo "FAIL: $1${3:+ -- $3}"; fail=$((fail + 1))
	fi
}

# syms PROGRAM: its symbol names, defined or not, one a line
syms() { nm "$BIN/$1" 2>/dev/null | awk '{print $NF}'; }

# none PROGRAM REGEX: no symbol of PROGRAM matches REGEX
none() {
	local hits
	hits=$(syms "$1" | grep -E "$2" | head -n 5 | tr '\n' ' ')
	[ -z "$hits" ]; check "$1 links no $2 symbols" $? "$hits"
}

# some PROGRAM REGEX: at least one does (so the search can see symbols)
some() {
	syms "$1" | grep -qE "$2"; check "$1 has $2 symbols" $?
}

if ! command -v nm >/dev/null; then
	echo "SKIP: tool_links -- no nm"
	exit 0
fi
for p in udpkey udprelay udpbench udpchat udpsend udprecv; do
	[ -x "$BIN/$p" ] || { check "$p is built" 1 "$BIN/$p"; }
done

some udpchat '^(chat_|rel_)'
some udpbench '^tool_bench_'
some udprelay '^netsim_'
none udpkey '^(chat_|tool_chat|rel_)'
none udprelay '^(chat_|tool_chat|rel_)'
none udpkey '^(netsim_|tool_netsim)'
for p in udpkey udprelay udpsend udprecv udpchat; do
	none "$p" '^tool_bench_'
done

echo "tool_links: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
