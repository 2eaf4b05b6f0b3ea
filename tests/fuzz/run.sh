#!/bin/sh
# Runs libFuzzer targets; called by tests/fuzz/fuzz.mk.
#   run.sh smoke BUILD SECONDS target...   each target on a throw-away copy of
#                                           its seeds (the CI pass)
#   run.sh long  BUILD SECONDS target...   each target on BUILD/corpus/TARGET,
#                                           which keeps growing between runs
# Prints "PASS: fuzz_x (N execs)" or "FAIL: fuzz_x" per target, then
# "N passed, N failed"; exits non-zero if any target crashed.  Both modes
# run tests/fuzz/regress/TARGET-* besides the seeds.  Writes only
# under BUILD: the checked-in corpus is read, never modified.
mode=$1 build=$2 secs=$3
shift 3
top=$(cd "$(dirname "$0")/../.." && pwd)
passed=0 failed=0
# A leak is a finding too, but LeakSanitizer needs ptrace, which some
# containers forbid; the ASan suite (make asan-check) covers leaks there.
# So leaks are looked for only where LeakSanitizer works (the first
# target's empty run says so), and a run that cannot look says it.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
if [ -z "${ASAN_OPTIONS:-}" ] && [ $# -gt 0 ]; then
	ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
	probe=$(ASAN_OPTIONS=$ASAN_OPTIONS "$top/$build/$1" -runs=0 2>&1 </dev/null)
	if echo "$probe" | grep -q "LeakSanitizer has encountered a fatal error"; then
		echo "# LeakSanitizer cannot run here (no ptrace?): fuzzing without leak checks"
		ASAN_OPTIONS=abort_on_error=1:detect_leaks=0
	fi
fi
export ASAN_OPTIONS
# The per-input -timeout tells a hang from a slow input: the slowest inputs
# of the slowest targets (fuzz_rel_pair, fuzz_rel_ident, fuzz_noise_msg: a
# few thousand inputs in 4 s, the worst well under a second) can take ten
# times that under ASan on a loaded 2-core CI machine, which is not a
# finding; a hang never ends, so 30 s still catches every one.
unit_timeout=${FUZZ_UNIT_TIMEOUT:-30}

for t in "$@"; do
	bin="$top/$build/$t"
	seeds="$top/tests/fuzz/corpus/$t"
	if [ "$mode" = smoke ]; then
		corpus="$top/$build/smoke/$t"
		artifacts="$top/$build/smoke-artifacts"
		rm -rf "$corpus"
	else
		corpus="$top/$build/corpus/$t"
		artifacts="$top/$build/artifacts"
	fi
	mkdir -p "$corpus" "$artifacts"
	# -n: a long run keeps what it found; seeds only fill in what is missing
	[ -d "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null
	# inputs that found a bug once (tests/fuzz/regress/TARGET-*) run first
	# with the seeds, so the bug cannot come back unseen
	for r in "$top/tests/fuzz/regress/$t"-*; do
		[ -f "$r" ] && cp -n "$r" "$corpus"/
	done
	dict=""
	[ -f "$top/tests/fuzz/$t.dict" ] && dict="-dict=$top/tests/fuzz/$t.dict"
	log="$top/$build/$t.$mode.log"
	# timeout: a hang in libFuzzer itself must not hang CI (it outlasts
	# -timeout, which is per input and turns a hang into a reported finding)
	timeout -k 5 $((secs + unit_timeout + 60)) "$bin" -max_total_time="$secs" -rss_limit_mb=1024 \
		-timeout="$unit_timeout" -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
		$dict "$corpus" </dev/null >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
		echo "PASS: $t (${execs} execs)"
		passed=$((passed + 1))
	else
		echo "---- $t (exit $rc), log $log ----"
		tail -n 40 "$log"
		echo "FAIL: $t"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
