#!/bin/bash
# The ABI of libudpkit.so against the baseline kept in the repository
# (abi/libudpkit.abi, written by `make abi-update`): any change to what the
# public headers reach -- a function added, removed or changed, a struct
# field moved -- fails here until the baseline is updated on purpose (and
# the soname bumped when the change is incompatible).  Needs abidiff
# (Debian: abigail-tools); SKIP without it.
set -u
top=${UDPKIT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
cd "$top" || exit 1
pass=0 fail=0
check() { # name, ok(0/1), detail
	if [ "$2" = 0 ]; then
		echo "PASS: $1"; pass=$((pass + 1))
	else
		echo "FAIL: $1${3:+ -- $3}"; fail=$((fail + 1))
	fi
}
if ! command -v abidiff >/dev/null || ! command -v abidw >/dev/null; then
	echo "SKIP: abi -- abidiff/abidw not installed (Debian: apt-get install abigail-tools)"
	exit 0
fi
# The same flags as the Makefile's abi-check and abi-update.
flags() { make -s --no-print-directory -f Makefile -f - "$1" <<<'print-%: ; @echo $($*)'; }
ABIDIFF_FLAGS=$(flags print-ABIDIFF_FLAGS)
ABIDW_FLAGS=$(flags print-ABIDW_FLAGS)
so=$BUILD/lib/libudpkit.so.0
base=abi/libudpkit.abi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ -f "$so" ]; check "libudpkit.so.0 is built ($so)" $? "build first (make all)"
[ -f "$base" ]; check "the baseline $base exists" $? "make abi-update, then commit it"
[ -f "$so" ] && [ -f "$base" ] || { echo "abi: $pass passed, $fail failed"; exit 1; }

n=$(grep -c '<elf-symbol ' "$base")
[ "$n" -gt 50 ]
check "the baseline holds the public symbols ($n)" $? "too few: was it written from a .so without debug info?"

abidiff $ABIDIFF_FLAGS "$base" "$so" >"$tmp/diff" 2>&1
rc=$?
check "libudpkit.so matches $base (abidiff exit $rc)" $rc \
	"$(head -n 30 "$tmp/diff"); after a deliberate change: make abi-update (bump SOMAJOR if incompatible)"

# The check can fail: the same objects plus one more exported function
# make a library that abidiff must call different.
objs=$(make -s --no-print-directory -f Makefile -f - print-SO_OBJ BUILD="$BUILD" <<<'print-%: ; @echo $($*)')
printf '__attribute__((visibility("default"))) int udpkit_abi_probe(void) { return 1; }\n' >"$tmp/probe.c"
if ${CC:-cc} -g -fPIC -c -o "$tmp/probe.o" "$tmp/probe.c" &&
	${CC:-cc} -shared -Wl,-soname,libudpkit.so.0 -o "$tmp/libprobe.so" $objs "$tmp/probe.o" \
		$(pkg-config --libs libsodium) -lm 2>"$tmp/ld"; then
	abidiff $ABIDIFF_FLAGS "$base" "$tmp/libprobe.so" >"$tmp/pdiff" 2>&1
	prc=$?
	[ "$prc" -ne 0 ] && grep -q udpkit_abi_probe "$tmp/pdiff"
	check "abidiff sees a function added to the library" $? "exit $prc: $(head -5 "$tmp/pdiff")"
else
	check "abidiff sees a function added to the library" 1 "probe library did not link: $(head -3 "$tmp/ld")"
fi

echo "abi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
