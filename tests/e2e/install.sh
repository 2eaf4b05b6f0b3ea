#!/bin/bash
# make install puts tools, man pages, library, headers and udpkit.pc under
# DESTDIR/PREFIX, and a program can build against it with pkg-config alone.
set -u
top=${UDPKIT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1"; }

if make -s -C "$top" BUILD="$BUILD" install DESTDIR="$tmp/root" PREFIX=/usr >"$tmp/log" 2>&1; then
	pass "make install DESTDIR PREFIX"
else
	fail "make install DESTDIR PREFIX"; cat "$tmp/log"
fi
r=$tmp/root/usr
missing=""
for f in lib/libudpkit.a lib/pkgconfig/udpkit.pc include/udpkit/udp_sock.h include/udpkit/udp_addr.h \
	bin/udpsend bin/udprecv share/man/man1/udpsend.1 share/man/man1/udprecv.1; do
	[ -e "$r/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && pass "installed files present" || fail "installed files present (missing:$missing)"

cat >"$tmp/t.c" <<'C'
#include <udp_addr.h>
#include <udp_err.h>
#include <stdio.h>
int main(void)
{
	struct udp_addr a;
	char s[UDP_ADDR_STRLEN];
	if (udp_addr_parse(&a, "[::1]:9", UDP_ADDR_NUMERIC) < 0)
		return 1;
	udp_addr_format(&a, s, sizeof s);
	puts(s);
	return 0;
}
C
extra=""
case "$BUILD" in *asan*) extra="-fsanitize=address,undefined" ;; esac
export PKG_CONFIG_SYSROOT_DIR="$tmp/root" PKG_CONFIG_PATH="$r/lib/pkgconfig"
if cc $extra $(pkg-config --cflags udpkit) -o "$tmp/t" "$tmp/t.c" $(pkg-config --libs --static udpkit) 2>"$tmp/cc" &&
	[ "$("$tmp/t")" = "[::1]:9" ]; then
	pass "program builds with pkg-config udpkit"
else
	fail "program builds with pkg-config udpkit"; cat "$tmp/cc"
fi
