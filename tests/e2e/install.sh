#!/bin/bash
# make install puts tools, man pages, both libraries, the public headers
# and udpkit.pc under DESTDIR/PREFIX, nothing internal; the README's
# example (examples/c/hello.c) builds against that copy with pkg-config
# alone, as C and as C++, dynamically and statically, and runs over
# 127.0.0.1; libudpkit.so exports exactly the public names.
set -u
top=${UDPKIT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
source "$top/tests/e2e/public_names.bash"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { # name, ok(0/1), detail
	if [ "$2" = 0 ]; then
		echo "PASS: $1"; pass=$((pass + 1))
	else
		echo "FAIL: $1${3:+ -- $3}"; fail=$((fail + 1))
	fi
}

make -s -C "$top" BUILD="$BUILD" install DESTDIR="$tmp/root" PREFIX=/usr >"$tmp/log" 2>&1
check "make install DESTDIR PREFIX" $? "$(tail -5 "$tmp/log")"
r=$tmp/root/usr
missing=""
for f in lib/libudpkit.a lib/libudpkit.so lib/libudpkit.so.0 lib/pkgconfig/udpkit.pc \
	include/udpkit.h include/udpkit/udp_sock.h include/udpkit/udp_addr.h include/udpkit/rel.h \
	include/udpkit/rel_drv.h include/udpkit/udpkit_version.h bin/udpsend bin/udprecv \
	share/man/man1/udpsend.1 share/man/man1/udprecv.1 share/man/man3/udpkit.3 \
	share/man/man3/udp_sock.3 share/man/man3/rel.3 share/man/man3/rel_drv.3 \
	share/man/man3/netsim.3 share/man/man3/seal.3 share/man/man3/rel_ident.3; do
	[ -e "$r/$f" ] || missing="$missing $f"
done
check "installed files present" "$([ -z "$missing" ]; echo $?)" "missing:$missing"

# the Python module, where the interpreter has its headers (else skipped)
PY=${PYTHON:-python3}
if grep -q "python module in" "$tmp/log"; then
	init=$(find "$tmp/root" -path '*/udpkit/__init__.py' | head -n 1)
	out=$(PYTHONPATH=$(dirname "$(dirname "$init")") timeout 20 "$PY" -c '
import udpkit
s = udpkit.socket(udpkit.AF_INET, udpkit.SOCK_RDM); s.bind(("127.0.0.1", 0))
print(udpkit.__file__); s.close()' 2>&1)
	case $out in "$tmp/root"*) ok=0 ;; *) ok=1 ;; esac
	check "make install: the python module imports from the install and opens a socket" "$ok" "$out"
else
	echo "SKIP: python module install -- $(grep 'python module skipped' "$tmp/log")"
fi

# The headers installed are the public ones, all and only: no rel_int.h
# (the core's struct layout), rel_wire.h, rel_hash.h, udp_sock_int.h ...
inst=$(cd "$r/include" 2>/dev/null && find . -type f | sort | tr '\n' ' ')
want=$(cd "$top/include" && find . -type f -name '*.h' | sort | tr '\n' ' ')
check "installed headers are exactly include/udpkit.h and include/udpkit/" \
	"$([ "$inst" = "$want" ]; echo $?)" "installed: $inst"
internal=$(find "$r/include" -name 'rel_int.h' -o -name 'rel_wire.h' -o -name 'rel_hash.h' -o -name '*_int.h' | tr '\n' ' ')
check "no internal header installed" "$([ -z "$internal" ]; echo $?)" "$internal"

# The shared library: soname, links, what it needs.
so=$(readlink -f "$r/lib/libudpkit.so")
soname=$(readelf -d "$so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libudpkit.so.0 ] && [ "$(readlink "$r/lib/libudpkit.so")" = libudpkit.so.0 ] &&
	[ "$(readlink "$r/lib/libudpkit.so.0")" = "$(basename "$so")" ]
check "libudpkit.so -> libudpkit.so.0 -> $(basename "$so"), soname libudpkit.so.0" $? "soname=$soname"

# nm -D: exactly the names the public headers declare UDPKIT_API, so no
# internal function is reachable (nor interposable) from outside.
public_names "$r/include/udpkit" >"$tmp/public"
nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVWiu]$/ {print $3}' | sort -u >"$tmp/exported"
extra=$(comm -13 "$tmp/public" "$tmp/exported" | head -8 | tr '\n' ' ')
check "nm -D lists no name outside the public headers ($(wc -l <"$tmp/exported") exported)" \
	"$([ -z "$extra" ]; echo $?)" "$extra"
absent=$(comm -23 "$tmp/public" "$tmp/exported" | head -8 | tr '\n' ' ')
check "nm -D lists every UDPKIT_API name of the headers ($(wc -l <"$tmp/public"))" \
	"$([ -z "$absent" ]; echo $?)" "declared but not exported (UDPKIT_API missing?): $absent"
leak=$(grep -E '^(rel_malloc|rel_emit|udp_sock_sys_|rel_wire_|rel_hash|chat_)' "$tmp/exported" | head -5 | tr '\n' ' ')
check "no known internal (rel_malloc, rel_emit, udp_sock_sys_*, rel_wire_*, chat_*) exported" \
	"$([ -z "$leak" ]; echo $?)" "$leak"

# The tools stay statically linked to libudpkit.a.
readelf -d "$r/bin/udpsend" | grep -q 'NEEDED.*libudpkit'
check "installed udpsend does not need libudpkit.so" "$([ $? != 0 ]; echo $?)"

# Build the README's example with pkg-config alone against the staging
# root: PKG_CONFIG_SYSROOT_DIR puts $tmp/root before every -I and -L, and
# the ALLOW_SYSTEM pair keeps pkg-config from dropping -I/usr/include and
# -L/usr/lib, which under a real PREFIX=/usr the compiler searches anyway.
export PKG_CONFIG_SYSROOT_DIR="$tmp/root" PKG_CONFIG_PATH="$r/lib/pkgconfig" \
	PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
extra=""
case "$BUILD" in *asan*) extra="-fsanitize=address,undefined" ;; esac
libs=$(pkg-config --libs udpkit)
case " $libs " in
*sodium* | *" -lm "*) check "pkg-config --libs udpkit names libudpkit alone" 1 "$libs" ;;
*) check "pkg-config --libs udpkit names libudpkit alone" 0 ;;
esac
pkg-config --libs --static udpkit | grep -q -- '-lsodium'
check "pkg-config --libs --static udpkit adds libsodium" $? "$(pkg-config --libs --static udpkit)"

hello=$top/examples/c/hello.c
# The README shows this very program (from its first #include on).
readme_c=$(awk '/^```c$/ { on = 1; next } on && /^```$/ { exit } on' "$top/README.md")
[ -n "$readme_c" ] && [ "$readme_c" = "$(sed -n '/^#include <stdio.h>/,$p' "$hello")" ]
check "README's library example is examples/c/hello.c" $? "they differ: copy hello.c into the README"
# run_hello NAME BINARY: runs it over 127.0.0.1 (the installed library
# found through LD_LIBRARY_PATH, as ldconfig would find it in PREFIX)
run_hello() {
	local out
	out=$(LD_LIBRARY_PATH="$r/lib" timeout 10 "$2" "installed $1" 2>&1)
	[[ $out =~ ^127\.0\.0\.1:[1-9][0-9]*\ says:\ (.*)$ ]] && [ "${BASH_REMATCH[1]}" = "installed $1" ]
	check "hello ($1) runs over 127.0.0.1" $? "$out"
}
CC_=${CC:-cc} CXX_=${CXX:-c++}
$CC_ $extra -std=c11 -Wall -Wextra -Werror -o "$tmp/hello-c" "$hello" $(pkg-config --cflags --libs udpkit) >"$tmp/cc" 2>&1
check "hello.c builds as C with pkg-config --cflags --libs udpkit" $? "$(head -5 "$tmp/cc")"
LD_LIBRARY_PATH="$r/lib" ldd "$tmp/hello-c" 2>/dev/null | grep -q "libudpkit.so.0 => $r/lib/"
check "hello (C) is linked to the installed libudpkit.so.0" $? "$(ldd "$tmp/hello-c" 2>&1 | grep udpkit)"
run_hello C "$tmp/hello-c"
$CXX_ $extra -x c++ -std=c++17 -Wall -Wextra -Werror -o "$tmp/hello-cxx" "$hello" $(pkg-config --cflags --libs udpkit) >"$tmp/cxx" 2>&1
check "hello.c builds as C++ with pkg-config --cflags --libs udpkit" $? "$(head -5 "$tmp/cxx")"
run_hello C++ "$tmp/hello-cxx"
# Static: libudpkit.a and, from Requires.private, libsodium.  -static
# makes the linker take the archives; a sanitizer runtime cannot be
# linked that way, so a sanitizer build takes libudpkit.a by -Bstatic.
if [ -z "$extra" ]; then
	$CC_ -static -o "$tmp/hello-static" "$hello" $(pkg-config --cflags --libs --static udpkit) >"$tmp/st" 2>&1
else
	$CC_ $extra -o "$tmp/hello-static" "$hello" $(pkg-config --cflags udpkit) \
		$(pkg-config --libs --static udpkit | sed 's/-ludpkit/-Wl,-Bstatic -ludpkit -Wl,-Bdynamic/') >"$tmp/st" 2>&1
fi
check "hello.c builds with pkg-config --static" $? "$(grep -v warning "$tmp/st" | head -5)"
readelf -d "$tmp/hello-static" 2>/dev/null | grep -q 'NEEDED.*libudpkit'
check "static hello does not need libudpkit.so" "$([ $? != 0 ]; echo $?)"
run_hello static "$tmp/hello-static"

# The version: macros at compile time, udpkit_version() at run time, and
# the .pc agree.
cat >"$tmp/v.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <udpkit/udpkit_version.h>
int main(void)
{
	printf("%s %s %d\n", UDPKIT_VERSION, udpkit_version(),
	       UDPKIT_VERSION_NUMBER == ((UDPKIT_VERSION_MAJOR << 16) | (UDPKIT_VERSION_MINOR << 8) | UDPKIT_VERSION_PATCH));
	return strcmp(UDPKIT_VERSION, udpkit_version()) != 0;
}
C
v=$(pkg-config --modversion udpkit)
$CC_ $extra -o "$tmp/v" "$tmp/v.c" $(pkg-config --cflags --libs udpkit) 2>"$tmp/vcc" &&
	out=$(LD_LIBRARY_PATH="$r/lib" "$tmp/v") && [ "$out" = "$v $v 1" ]
check "UDPKIT_VERSION, udpkit_version() and udpkit.pc agree ($v)" $? "${out:-} $(head -3 "$tmp/vcc")"

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
