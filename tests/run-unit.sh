#!/bin/bash
# Run native cmocka unit-test binaries with TAP output and count the results.
#
# Usage: tests/run-unit.sh TEST_BINARY...
# Prints each binary's TAP output (indented under its name) and ends with
# "N passed, N failed, N skipped".  A TAP "# SKIP" line (cmocka prints
# "not ok N # SKIP name") counts as skipped, not failed.  Exits non-zero if
# any test failed, a binary exited non-zero without reporting a failure
# (crash, sanitizer error), or no test ran.  With UNIT_SUMMARY_FILE set,
# writes "PASS FAIL SKIP" there instead of printing the summary line (used
# by tests/check.sh).
set -uo pipefail

export CMOCKA_MESSAGE_OUTPUT=TAP
# sanitizer reports go to stderr and fail the binary
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

pass=0
fail=0
skip=0
for bin in "$@"; do
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		echo "not ok - $name: not built"
		fail=$((fail + 1))
		continue
	fi
	out=$("$bin" 2>&1)
	st=$?
	s=$(grep -cE '^(not )?ok [0-9]+.*# SKIP' <<<"$out")
	p=$(grep -E '^ok ' <<<"$out" | grep -cv '# SKIP')
	f=$(grep -E '^not ok ' <<<"$out" | grep -cv '# SKIP')
	sed -e "s/^\(not \)\{0,1\}ok [0-9]* - /&$name: /" <<<"$out"
	if [ "$st" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $name: exited with status $st"
		f=1
	fi
	if [ $((p + f + s)) = 0 ]; then
		echo "not ok - $name: ran no test"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
done

if [ -n "${UNIT_SUMMARY_FILE:-}" ]; then
	echo "$pass $fail $skip" >"$UNIT_SUMMARY_FILE"
else
	echo "$pass passed, $fail failed, $skip skipped"
fi
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
