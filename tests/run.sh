#!/bin/sh
# Runs every cmocka test program and every end-to-end script, then prints
# one summary line "N passed, N failed".  Counts individual test cases:
# cmocka's own "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)" lines,
# and "PASS: name" / "FAIL: name" lines from the end-to-end scripts.
# A program that crashes or times out without its summary counts as failed.
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
export UDPKIT_BIN="$top/$BUILD/bin" UDPKIT_HELPERS="$top/$BUILD/helpers" UDPKIT_TOP="$top"
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
passed=0 failed=0 skipped=0

count() { # file -> sets p f s
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
	p=$((p + $(grep -c '^PASS: ' "$1")))
	f=$((f + $(grep -c '^FAIL: ' "$1")))
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
	s=$((s + $(grep -c '^SKIP: ' "$1")))
}

run_one() { # name, command...
	name=$1; shift
	log="$logdir/$(basename "$name").log"
	timeout -k 5 ${UDPKIT_TEST_TIMEOUT:-600} "$@" >"$log" 2>&1
	rc=$?
	count "$log"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed, timed out or failed without saying which case
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	if [ "$f" -ne 0 ]; then
		echo "---- $name (exit $rc) ----"
		tail -n 60 "$log"
		echo "FAILED  $name: $p passed, $f failed"
	else
		if [ "$s" -ne 0 ]; then echo "ok      $name: $p passed, $s skipped"; else echo "ok      $name: $p passed"; fi
	fi
}

for t in "$top/$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.d|*.o) continue ;; esac
	run_one "$(basename "$t")" "$t"
done
for t in "$top"/tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	run_one "e2e/$(basename "$t")" bash "$t"
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
