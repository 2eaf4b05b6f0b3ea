#!/bin/bash
# The public headers (include/udpkit.h and include/udpkit/*.h) as a program
# of someone else meets them: each compiles alone, and twice, as C11 and as
# C++17 with every warning an error; the functions and objects they declare
# keep their C names from C++ (extern "C"), so a C++ program links against
# libudpkit.  Compiles only; no network.
set -u
top=${UDPKIT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
source tests/e2e/public_names.bash
CC_=${CC:-cc} CXX_=${CXX:-g++}
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
if ! command -v "$CXX_" >/dev/null; then
	echo "SKIP: headers -- no C++ compiler ($CXX_)"
	exit 0
fi

# No _GNU_SOURCE or other feature macro: a header must bring what it needs.
# The typedef keeps a macro-only header from being an empty unit (pedantic).
WARN="-Wall -Wextra -Werror -pedantic"
headers=(include/udpkit.h include/udpkit/*.h)
for h in "${headers[@]}"; do
	n=${h#include/}
	printf '#include <%s>\n#include <%s>\ntypedef int header_test_unit;\n' "$n" "$n" >"$tmp/t.c"
	cp "$tmp/t.c" "$tmp/t.cpp"
	$CC_ -std=c11 $WARN -Iinclude -c -o "$tmp/c.o" "$tmp/t.c" >"$tmp/c.log" 2>&1
	check "headers: <$n> alone (twice) as C11" $? "$(head -3 "$tmp/c.log")"
	$CXX_ -std=c++17 $WARN -Iinclude -c -o "$tmp/cpp.o" "$tmp/t.cpp" >"$tmp/cpp.log" 2>&1
	check "headers: <$n> alone (twice) as C++17" $? "$(head -3 "$tmp/cpp.log")"
done

# Every public name, referenced from C++: the object must ask for exactly
# those names, unmangled.  A header without extern "C" would make g++ ask
# for _Z... names, which libudpkit does not have.
# refs FILE_TO_WRITE NAMES...: a C++ unit that takes each name's address
refs() {
	local out=$1; shift
	{
		echo '#include <udpkit.h>'
		[ -z "${EXTRA:-}" ] || echo "$EXTRA"
		echo 'extern "C" const void *const header_test_refs[] = {'
		for n in "$@"; do echo "	reinterpret_cast<const void *>(&$n),"; done
		echo '};'
	} >"$out"
}
# undefined_names OBJECT: what it needs from elsewhere
undefined_names() { nm -u "$1" | awk '{print $NF}' | sort -u; }

# A function or object a public header declares without UDPKIT_API would
# be hidden in libudpkit.so (and missing from the lists below): every
# declaration at file scope must carry it.
unmarked() { # headers... -> "file:line: text" of declarations without UDPKIT_API
	awk '/^[A-Za-z_][A-Za-z0-9_ *]*[A-Za-z0-9_*][[:space:]]*\(/ || /^extern[[:space:]]/ {
		if ($0 !~ /UDPKIT_API/ && $0 !~ /^(typedef|static|extern "C")/) print FILENAME ":" FNR ": " $0
	}' "$@"
}
bad=$(unmarked include/udpkit/*.h | head -5)
check "headers: every public declaration carries UDPKIT_API" "$([ -z "$bad" ]; echo $?)" "$bad"
printf 'int rel_probe_unmarked(void);\nextern int rel_probe_var;\n' >"$tmp/unmarked.h"
[ "$(unmarked "$tmp/unmarked.h" | wc -l)" = 2 ]
check "headers: the UDPKIT_API check sees an unmarked declaration" $?

mapfile -t names < <(public_names include/udpkit)
[ "${#names[@]}" -gt 50 ]
check "headers: the public headers declare ${#names[@]} UDPKIT_API names" $? "too few: the parser lost them"
refs "$tmp/all.cpp" "${names[@]}"
$CXX_ -std=c++17 -Wall -Wextra -Werror -Iinclude -c -o "$tmp/all.o" "$tmp/all.cpp" >"$tmp/all.log" 2>&1
check "headers: every public name is usable from C++" $? "$(head -3 "$tmp/all.log")"
if [ -f "$tmp/all.o" ]; then
	undefined_names "$tmp/all.o" >"$tmp/undef"
	printf '%s\n' "${names[@]}" | sort -u >"$tmp/names"
	bad=$(comm -3 "$tmp/undef" "$tmp/names" | head -5 | tr -s ' \t\n' ' ')
	check "headers: from C++ they keep their C names (extern \"C\")" "$([ -z "$bad" ]; echo $?)" "$bad"
fi

# The check can fail: a declaration outside extern "C" is seen mangled.
EXTRA='int header_test_probe(void);' refs "$tmp/probe.cpp" header_test_probe
$CXX_ -std=c++17 -Iinclude -c -o "$tmp/probe.o" "$tmp/probe.cpp" 2>/dev/null
undefined_names "$tmp/probe.o" | grep -q '^_Z.*header_test_probe'
check "headers: the C++ check sees a name declared without extern \"C\"" $?

echo "headers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
